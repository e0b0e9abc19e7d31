"""A client device: requests with sessions and action IDs, local echo, the event stream.

Proposal sections: "Sessions" (send the session ID in all requests; on a new
session ID "re-establish its typing status and presence status"), "Action
IDs" (from 0 per session), "Action APIs" and its local-echo diagram (echo
shown when the request is sent, "Sent" on the response, placed when it
appears in the event stream, in either order), "Filter API" (request a new
token when one expired), "Global /initialSync API" and "Event Stream API"
(apply stream responses in position order), "Capabilities" (provide the
capability set when a session starts, upload it when its hash is refused,
look up hashes of others).

Workload inputs: ``{"op": "send", "room", "body"}``, ``{"op": "join",
"room"}``, ``{"op": "leave", "room"}``, ``{"op": "send_state", "room",
"event_type", "state_key", "content"}``, ``{"op": "scrollback", "room",
"limit"}``, ``{"op": "typing", "room", "typing": bool}``, ``{"op":
"presence", "presence"}``, ``{"op": "offline"}``.

Local echo ("Action APIs"): a send shows ``~txn`` in the room's timeline; a
leave or state change is an echo over the room's state (``room_state``: the
state the device was told, key ``type|state_key`` -> event ID) until its event
comes down the stream. A device learns it left a room from its own leave event
in the stream (in stream order, so no earlier event of the room comes after
it). Scrollback asks for messages before the earliest event of the room's
timeline (or, knowing none, before its stream position) and inserts them at the
timeline's start, skipping any it has.

Random workload (issue 4, "random steps drawn from the device's seeded
stream"): with ``random_steps = N`` the device takes N steps of its own, one
every ``random_every_ms`` (a device timer ``step``, so the checker fires it per
the scenario's timer policy). Step k is drawn from ``ops`` (default: send,
join, typing, presence, sync; also leave, state: a topic change, scrollback,
offline) and ``rooms`` by hashing ``seed``, the device's
name and k with SHA-256: the device's seeded stream lives in its own state
(the step counter), never in a global generator or Python's salted ``hash``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from mxsim.models.clientapi import filters as F
from mxsim.models.clientapi.capabilities import capability_hash
from mxsim.models.clientapi.server import ACTIONS, ECHOED
from mxsim.models.clientapi.session import number
from mxsim.sim.node import WORKLOAD, ConfigError, Context, Node

__all__ = ["Device", "INPUTS"]

#: Workload ops and their fields (name -> type).
INPUTS: dict[str, dict[str, type]] = {
    "send": {"room": str, "body": str},
    "join": {"room": str},
    "leave": {"room": str},
    "send_state": {"room": str, "event_type": str, "state_key": str, "content": dict},
    "scrollback": {"room": str, "limit": int},
    "typing": {"room": str, "typing": bool},
    "presence": {"presence": str},
    "offline": {},
}

CONFIG = ("server", "user", "filter", "caps", "retransmit_ms", "max_tries", "sync")
CONFIG = CONFIG + ("random_steps", "random_every_ms", "seed", "ops", "rooms", "poll_ms")

#: Ops a random step may take ("sync": look at the stream again from the last position).
RANDOM_OPS = ("send", "join", "typing", "presence", "offline", "sync")
RANDOM_OPS = RANDOM_OPS + ("leave", "state", "scrollback")

#: How many messages a random ``scrollback`` step asks for.
RANDOM_SCROLLBACK = 2

#: Presence values a random ``presence`` step picks from.
RANDOM_PRESENCE = ("online", "busy", "away")


def draw(seed: int, device: str, k: int, salt: str) -> int:
    """A number from the device's seeded stream: step ``k``, purpose ``salt``.

    >>> draw(1, "alice1", 0, "op") == draw(1, "alice1", 0, "op")
    True
    """
    digest = hashlib.sha256(f"{seed}/{device}/{k}/{salt}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


class Device(Node):
    """Config: ``server``, ``user``, ``filter`` (a filter definition, default
    all), ``caps`` (capability names), ``retransmit_ms`` (100, doubling),
    ``max_tries`` (3), ``sync`` (true: open the event stream at start),
    ``poll_ms`` (0: off; else poll the stream again that long after it moved on),
    ``random_steps``, ``random_every_ms``, ``seed``, ``ops``, ``rooms`` (the
    random workload, see the module doc)."""

    kind = "device"

    @classmethod
    def check_config(cls, config: dict[str, Any], node_names: tuple[str, ...]) -> None:
        for key in config:
            if key not in CONFIG:
                raise ConfigError(key, "one of: " + ", ".join(CONFIG), key)
        if config.get("server") not in node_names:
            raise ConfigError("server", "the name of a homeserver node", config.get("server"))
        user = config.get("user")
        if not isinstance(user, str) or not user.startswith("@"):
            raise ConfigError("user", "a user ID @name:server", user)
        F.check(config.get("filter", {}))
        caps = config.get("caps", [])
        if not isinstance(caps, list) or not all(isinstance(c, str) for c in caps):
            raise ConfigError("caps", "a list of capability names", caps)
        ms = config.get("retransmit_ms", 100)
        if isinstance(ms, bool) or not isinstance(ms, int | float) or ms <= 0:
            raise ConfigError("retransmit_ms", "a positive number of milliseconds", ms)
        tries = config.get("max_tries", 3)
        if isinstance(tries, bool) or not isinstance(tries, int) or tries < 1:
            raise ConfigError("max_tries", "an integer >= 1", tries)
        if not isinstance(config.get("sync", True), bool):
            raise ConfigError("sync", "a boolean", config.get("sync"))
        for key, default, low in (
            ("random_steps", 0, 0),
            ("random_every_ms", 100, 1),
            ("poll_ms", 0, 0),
        ):
            value = config.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(key, f"an integer >= {low}", value)
        seed = config.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError("seed", "an integer", seed)
        ops = config.get("ops", ["send", "join", "typing", "presence", "sync"])
        if not isinstance(ops, list) or not ops or any(o not in RANDOM_OPS for o in ops):
            raise ConfigError("ops", "a non-empty list of: " + ", ".join(RANDOM_OPS), ops)
        rooms = config.get("rooms", [])
        if not isinstance(rooms, list) or not all(isinstance(r, str) for r in rooms):
            raise ConfigError("rooms", "a list of room IDs", rooms)
        roomed = {"send", "join", "typing", "leave", "state", "scrollback"}
        if config.get("random_steps", 0) and not rooms and set(ops) & roomed:
            raise ConfigError("rooms", "room IDs for random room steps", rooms)

    @classmethod
    def check_input(cls, data: dict[str, Any]) -> None:
        op = data.get("op")
        if op not in INPUTS:
            raise ConfigError("op", "one of: " + ", ".join(INPUTS), op)
        for key, want in INPUTS[op].items():
            if not isinstance(data.get(key), want) or isinstance(data.get(key), bool) != (
                want is bool
            ):
                raise ConfigError(key, f"a {want.__name__}", data.get(key))
        for key in data:
            if key != "op" and key not in INPUTS[op]:
                raise ConfigError(key, "a field of op " + op, key)

    def initial_state(self) -> dict[str, Any]:
        state = self._initial()
        if self.config.get("random_steps", 0):
            state["steps"] = 0  # random steps taken: the position in the seeded stream
        return state

    def _initial(self) -> dict[str, Any]:
        return {
            "session": None,
            "next_aid": 0,
            "next_rid": 0,
            "next_txn": 0,
            "inflight": {},  # rid -> request fields + "tries", "session", "aid", "queued"
            # txn -> {"room", "body" | "kind" + "key" + "content", "status", "sent_id",
            # "placed_id"}: "kind" "state" or "leave" (an echo over the room's state)
            "echoes": {},
            "timeline": {},  # room -> [event_id or "~txn" (a local echo)]: messages
            "room_state": {},  # room -> {"type|state_key": event_id}: state it was told
            "scroll": {},  # room -> {"start", "more"}: the last scrollback's answer
            "wants": {"presence": None, "typing": []},
            "token": None,
            "start": None,  # the position of the initial sync
            "last_pos": None,
            "buffer": {},  # prev position -> stream batch that arrived ahead of its turn
            "got": [],  # orders of the stream entries applied
            "rooms": [],  # rooms the device knows
            "presence": {},  # user -> [presence, caps hash]
            "known_caps": {},  # hash -> capability set
            "typing": {},  # room -> users typing
            # What the properties look for, as flags (seen once stays seen; a count
            # would make new states of old ones).
            "seen": {"resp_after_stream": False, "stream_after_resp": False, "unknown_room": False},
            "seen_more": {
                "foreign_action_id": False,
                "renewed": False,
                "joined_elsewhere": False,
                "scrolled_back": False,
                "left": False,
            },
            "behind": 0,  # the furthest stream position a response named
        }

    def _caps_hash(self) -> str | None:
        caps = self.config.get("caps")
        return capability_hash(caps) if caps else None

    # -- entry points ---------------------------------------------------------------

    def on_start(self, ctx: Context, state: dict) -> None:
        if self.config.get("random_steps", 0):
            ctx.set_timer("step", self.config.get("random_every_ms", 100))
        if not self.config.get("sync", True):
            return
        if "filter" in self.config:
            self._request(ctx, state, "filter", filter=self.config["filter"])
        else:
            # "Omitting the token on APIs results in ALL THE THINGS coming down."
            self._request(ctx, state, "sync", filter=None, since=None)

    def on_message(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        if src == WORKLOAD:
            self._input(ctx, state, msg)
        elif msg["type"] == "resp":
            self._response(ctx, state, msg)
        elif msg["type"] == "stream":
            self._batch(ctx, state, msg)

    def on_timer(self, ctx: Context, state: dict, name: str) -> None:
        if name == "catchup":
            self._catch_up(ctx, state)
            return
        if name == "step":
            self._random_step(ctx, state)
            return
        if name == "poll":
            self._poll(ctx, state)
            return
        rid = name.split(":", 1)[1]
        entry = state["inflight"].get(rid)
        if entry is None:
            return
        if entry["tries"] >= self.config.get("max_tries", 3):
            del state["inflight"][rid]
            echo = state["echoes"].get(str(entry.get("txn")))
            if entry["op"] in ECHOED and echo is not None:
                echo["status"] = "failed"
            return
        entry["tries"] += 1
        ctx.metric("retransmissions")
        self._transmit(ctx, state, rid)

    def _input(self, ctx: Context, state: dict, msg: dict) -> None:
        op = msg["op"]
        fields = {k: v for k, v in msg.items() if k != "op"}
        if op in ACTIONS:
            txn = state["next_txn"]
            state["next_txn"] += 1
            fields["txn"] = txn
            # "1: Can display local echo at this point."
            echo = {"room": msg["room"], "status": "pending", "sent_id": None, "placed_id": None}
            if op == "send":
                state["echoes"][str(txn)] = {**echo, "body": msg["body"]}
                state["timeline"].setdefault(msg["room"], []).append(f"~{txn}")
            elif op == "leave":
                key = ["m.room.member", self.config["user"]]
                leave = {"kind": "leave", "key": key, "content": {"membership": "leave"}}
                state["echoes"][str(txn)] = {**echo, **leave}
            elif op == "send_state":
                key = [msg["event_type"], msg["state_key"]]
                state["echoes"][str(txn)] = {
                    **echo,
                    "kind": "state",
                    "key": key,
                    "content": msg["content"],
                }
        elif op == "scrollback":
            if state["last_pos"] is None:
                # No view of the room yet (no initial sync): nothing to scroll back
                # from, and what came back could be newer than the sync to come.
                return
            # "Identifier for the earliest event" (None: before the stream position).
            before = next((x for x in state["timeline"].get(msg["room"], []) if x[0] != "~"), None)
            fields.update(before=before, pos=state["last_pos"])
        elif op == "typing":
            rooms = [r for r in state["wants"]["typing"] if r != msg["room"]]
            state["wants"]["typing"] = sorted(rooms + [msg["room"]] if msg["typing"] else rooms)
        elif op == "presence":
            state["wants"]["presence"] = msg["presence"]
        elif op == "offline":
            state["wants"] = {"presence": None, "typing": []}
        self._request(ctx, state, op, **fields)

    def random_input(self, state: dict) -> dict[str, Any]:
        """The input of the device's next random step (a function of its state)."""
        k, seed = state["steps"], self.config.get("seed", 0)
        ops = self.config.get("ops", ["send", "join", "typing", "presence", "sync"])
        rooms = self.config.get("rooms", [])
        op = ops[draw(seed, self.name, k, "op") % len(ops)]
        room = rooms[draw(seed, self.name, k, "room") % len(rooms)] if rooms else None
        if op == "send":
            return {"op": "send", "room": room, "body": f"{self.name}#{k}"}
        if op == "join":
            return {"op": "join", "room": room}
        if op == "leave":
            return {"op": "leave", "room": room}
        if op == "state":
            topic = {"topic": f"{self.name}#{k}"}
            return {
                "op": "send_state",
                "room": room,
                "event_type": "m.room.topic",
                "state_key": "",
                "content": topic,
            }
        if op == "scrollback":
            return {"op": "scrollback", "room": room, "limit": RANDOM_SCROLLBACK}
        if op == "typing":
            return {"op": "typing", "room": room, "typing": room not in state["wants"]["typing"]}
        if op == "presence":
            pick = RANDOM_PRESENCE[draw(seed, self.name, k, "presence") % len(RANDOM_PRESENCE)]
            return {"op": "presence", "presence": pick}
        return {"op": op}

    def _random_step(self, ctx: Context, state: dict) -> None:
        inp = self.random_input(state)
        state["steps"] += 1
        ctx.metric("random_steps")
        if state["steps"] < self.config.get("random_steps", 0):
            ctx.set_timer("step", self.config.get("random_every_ms", 100))
        if inp["op"] == "sync":
            # Look at the stream again from the last position (a long poll's return).
            if state["last_pos"] is not None and not any(
                e["op"] == "sync" for e in state["inflight"].values()
            ):
                self._request(ctx, state, "sync", filter=state["token"], since=state["last_pos"])
            return
        self._input(ctx, state, inp)

    # -- requests ---------------------------------------------------------------------

    def _request(self, ctx: Context, state: dict, op: str, **fields: Any) -> None:
        rid = str(state["next_rid"])
        state["next_rid"] += 1
        entry = {"op": op, **fields, "tries": 1, "session": None, "aid": None}
        waiting = state["session"] is None and any(
            not e.get("queued") for e in state["inflight"].values()
        )
        state["inflight"][rid] = entry
        if waiting:
            # No session ID yet: wait for the response that brings it.
            entry["queued"] = True
            return
        self._transmit(ctx, state, rid)

    def _transmit(self, ctx: Context, state: dict, rid: str) -> None:
        entry = state["inflight"][rid]
        entry.pop("queued", None)
        if entry["aid"] is None or entry["session"] != state["session"]:
            entry["session"] = state["session"]
            if entry["op"] in ACTIONS:
                # "The first action ID for a session should be 0 [...] incremented by 1."
                entry["aid"] = state["next_aid"]
                state["next_aid"] += 1
        req = {k: v for k, v in entry.items() if k not in ("tries", "aid")}
        req.update(type="req", rid=int(rid), user=self.config["user"])
        if entry["op"] in ACTIONS:
            req["aid"] = entry["aid"]
            # Which transmission this is (1: the first), so that a retransmission
            # is a message of its own, not a network copy of the first.
            req["try"] = entry["tries"]
        else:
            req.pop("txn", None)
        ctx.send(self.config["server"], req)
        backoff = self.config.get("retransmit_ms", 100) * 2 ** (entry["tries"] - 1)
        ctx.set_timer(f"retry:{rid}", backoff)

    def _adopt(self, ctx: Context, state: dict, session: str | None) -> None:
        if state["session"] is None and session is not None:
            # Actions sent without a session ID were numbered from 0 in the session
            # the server started for them: that is this one, so keep counting.
            for entry in state["inflight"].values():
                if entry["aid"] is not None and entry["session"] is None:
                    entry["session"] = session
        else:
            state["next_aid"] = 0
            if session is not None and self.switches["renewal_order"] == "as_made":
                # Renumber the unanswered actions of the old session in the order the
                # user made them (their transaction numbers), so the new session's
                # action IDs, and the server's hold, keep that order.
                stale = [
                    e
                    for e in state["inflight"].values()
                    if e["op"] in ACTIONS and e["aid"] is not None and e["session"] != session
                ]
                for entry in sorted(stale, key=lambda e: e["txn"]):
                    entry["session"] = session
                    entry["aid"] = state["next_aid"]
                    state["next_aid"] += 1
        state["session"] = session
        for rid in sorted((r for r, e in state["inflight"].items() if e.get("queued")), key=int):
            self._transmit(ctx, state, rid)

    def _reestablish(self, ctx: Context, state: dict, skip: str) -> None:
        """Proposal, "Sessions": "If the client receives a new session ID mid-session,
        it must re-establish its typing status and presence status"; a new session
        also needs the capability set ("Capabilities": "When a session is started")
        and, here, the event stream opened again from the last position."""
        state["seen_more"]["renewed"] = True
        wants = state["wants"]
        if wants["presence"] is not None and skip != "presence":
            self._request(ctx, state, "presence", presence=wants["presence"])
        for room in wants["typing"]:
            self._request(ctx, state, "typing", room=room, typing=True)
        if self._caps_hash() is not None and skip != "caps":
            self._request(ctx, state, "caps", hash=self._caps_hash())
        if state["last_pos"] is not None and skip != "sync":
            self._request(ctx, state, "sync", filter=state["token"], since=state["last_pos"])

    def _response(self, ctx: Context, state: dict, msg: dict) -> None:
        rid = str(msg["rid"])
        entry = state["inflight"].pop(rid, None)
        if entry is None:
            return  # an answer to a request already answered
        ctx.cancel_timer(f"retry:{rid}")
        sid = msg["session"]
        if not msg["ok"] and msg.get("error") == "stale session":
            renewed = number(sid) > number(state["session"])
            if renewed:
                state["inflight"][rid] = entry  # (renumbered with the others)
                self._adopt(ctx, state, sid)
                del state["inflight"][rid]
                self._reestablish(ctx, state, entry["op"])
            if entry["op"] in ("typing", "caps") and renewed:
                return  # re-established already
            entry["tries"] = 1
            state["inflight"][rid] = entry
            self._transmit(ctx, state, rid)
            return
        if msg.get("ended"):
            self._adopt(ctx, state, None)
        elif number(sid) > number(state["session"]):
            first = state["session"] is None
            self._adopt(ctx, state, sid)
            if first and self._caps_hash() is not None:
                self._request(ctx, state, "caps", hash=self._caps_hash())
        getattr(self, f"_on_{entry['op']}")(ctx, state, entry, msg)

    # -- responses, by op ---------------------------------------------------------------

    def _on_filter(self, ctx, state, entry, msg) -> None:
        state["token"] = msg["token"]
        self._request(ctx, state, "sync", filter=msg["token"], since=state["last_pos"])

    def _on_sync(self, ctx, state, entry, msg) -> None:
        if not msg["ok"]:
            if msg.get("error") == "unknown filter token":
                # "The token may expire, in which case you would need to request another one."
                state["token"] = None
                self._request(ctx, state, "filter", filter=self.config["filter"])
            return
        if "rooms" in msg:
            if state["last_pos"] is not None:
                return  # a full sync answered twice
            for room, info in sorted(msg["rooms"].items()):
                self._know(state, room)
                for e in info["events"]:
                    self._entry(ctx, state, e)
            for e in msg["presence"]:
                self._entry(ctx, state, e)
            state["start"] = state["last_pos"] = msg["pos"]
            self._arm_poll(ctx)
            self._drain(ctx, state)
        else:
            self._batch(ctx, state, msg)

    def _on_caps(self, ctx, state, entry, msg) -> None:
        if not msg["ok"] and msg.get("error") == "unknown capability hash":
            # "The client will then have to upload the full capability set."
            self._request(ctx, state, "caps_upload", caps=sorted(self.config.get("caps", [])))

    def _on_caps_upload(self, ctx, state, entry, msg) -> None:
        state["known_caps"][msg["hash"]] = sorted(set(self.config.get("caps", [])))

    def _on_caps_lookup(self, ctx, state, entry, msg) -> None:
        if msg["ok"]:
            state["known_caps"][msg["hash"]] = msg["caps"]

    def _on_send(self, ctx, state, entry, msg) -> None:
        """Send, leave and state changes: the local echo's "Sent" (2a)."""
        echo = state["echoes"][str(entry["txn"])]
        if not msg["ok"]:
            if echo["placed_id"] is None:
                echo["status"] = "failed"
            return
        # "2a: The request has been successfully processed and can be displayed as Sent."
        if echo["placed_id"] is not None:
            state["seen"]["resp_after_stream"] = True
        echo["status"] = "sent"
        echo["sent_id"] = msg["event_id"]
        echo["pos"] = msg["pos"]
        self._behind(ctx, state, msg["pos"])
        if "kind" in echo:
            shown = state["room_state"].get(echo["room"], {}).values()
            if echo["placed_id"] is None and msg["event_id"] in shown:
                echo["placed_id"] = msg["event_id"]  # came as state without an action ID
            return
        timeline = state["timeline"][echo["room"]]
        if echo["placed_id"] is None and msg["event_id"] in timeline:
            # The event came without an action ID (an initial sync's messages, a
            # scrollback): the response's event ID says it is this echo.
            echo["placed_id"] = msg["event_id"]
            timeline.remove(f"~{entry['txn']}")

    def _on_join(self, ctx, state, entry, msg) -> None:
        if msg["ok"]:
            if "events" not in msg:
                self._behind(ctx, state, msg["pos"])
            self._know(state, msg["room"])
            for e in msg.get("events", []):
                self._entry(ctx, state, e)

    _on_leave = _on_send_state = _on_send

    def _on_scrollback(self, ctx, state, entry, msg) -> None:
        """Insert the older messages at the start of the room's timeline, oldest
        first, skipping any it has ("new identifier for the earliest event")."""
        if not msg["ok"]:
            return
        room = msg["room"]
        timeline = state["timeline"].setdefault(room, [])
        new = []
        for e in msg["events"]:
            eid = e["event_id"]
            txn = self._match(state, e)
            if txn is not None:
                echo = state["echoes"][txn]
                echo["placed_id"] = eid
                if f"~{txn}" in timeline:
                    timeline.remove(f"~{txn}")
            if eid not in timeline and eid not in new:
                new.append(eid)
        if new:
            state["seen_more"]["scrolled_back"] = True
        timeline[:0] = new
        state["scroll"][room] = {"start": msg["start"], "more": msg["more"]}

    def _on_presence(self, ctx, state, entry, msg) -> None:
        pass

    _on_typing = _on_offline = _on_presence

    # -- the event stream -------------------------------------------------------------------

    def _batch(self, ctx: Context, state: dict, msg: dict) -> None:
        """A stream response: applied when it continues from the last position, else kept."""
        last = state["last_pos"]
        if last is not None and msg["pos"] <= last:
            return  # everything in it was applied already
        if last is None or msg["prev"] > last:
            held = state["buffer"].get(str(msg["prev"]))
            if held is None or held["pos"] < msg["pos"]:
                state["buffer"][str(msg["prev"])] = msg
            if last is not None:
                self._arm_poll(ctx)  # a gap: an earlier batch is late or lost
            return
        for e in msg["events"]:
            if e.get("snapshot") or e["order"] > last:
                self._entry(ctx, state, e)
        state["last_pos"] = msg["pos"]
        self._arm_poll(ctx)
        self._drain(ctx, state)

    def _drain(self, ctx: Context, state: dict) -> None:
        while True:
            last = state["last_pos"]
            for prev in sorted(state["buffer"], key=int):
                if int(prev) <= last:
                    msg = state["buffer"].pop(prev)
                    if msg["pos"] > last:
                        self._batch(ctx, state, msg)
                        break
            else:
                return

    def _behind(self, ctx: Context, state: dict, pos: int) -> None:
        """A response said where in the stream an action happened; if the stream has
        not got there, look again later (as a long poll's timeout would)."""
        if state["last_pos"] is not None and pos > state["last_pos"]:
            state["behind"] = max(state["behind"], pos)
            ctx.set_timer("catchup", 2 * self.config.get("retransmit_ms", 100))

    def _catch_up(self, ctx: Context, state: dict) -> None:
        if state["last_pos"] is None or state["behind"] <= state["last_pos"]:
            return
        if any(e["op"] == "sync" for e in state["inflight"].values()):
            return
        self._request(ctx, state, "sync", filter=state["token"], since=state["last_pos"])

    def _arm_poll(self, ctx: Context) -> None:
        """With ``poll_ms``: the stream is a long poll whose answer may be lost, so
        after each batch that moved the stream on, poll again from the last position
        once ``poll_ms`` later; a poll that brings nothing new arms no further one
        (so runs still end)."""
        if self.config.get("poll_ms", 0):
            ctx.set_timer("poll", self.config["poll_ms"])

    def _poll(self, ctx: Context, state: dict) -> None:
        if state["last_pos"] is None or state["session"] is None:
            return
        if any(e["op"] == "sync" for e in state["inflight"].values()):
            return
        self._request(ctx, state, "sync", filter=state["token"], since=state["last_pos"])

    def _know(self, state: dict, room: str) -> None:
        if room not in state["rooms"]:
            state["rooms"] = sorted(state["rooms"] + [room])

    def _entry(self, ctx: Context, state: dict, e: dict) -> None:
        etype = e["type"]
        if not e.get("snapshot"):
            state["got"].append(e["order"])
        if etype == "m.presence":
            state["presence"][e["user"]] = [e["presence"], e["caps"]]
            h = e["caps"]
            if h is not None and h not in state["known_caps"]:
                pending = any(
                    x["op"] == "caps_lookup" and x["hash"] == h for x in state["inflight"].values()
                )
                if not pending:
                    # "the client will either recognise the hash or will have to request
                    # the capability set from their home server"
                    self._request(ctx, state, "caps_lookup", hash=h, of=e["user"])
            return
        room = e["room"]
        if etype == "m.typing":
            state["typing"][room] = e["users"]
            return
        own = etype == "m.room.member" and e.get("state_key") == self.config["user"]
        own_join = own and e.get("membership") == "join"
        if own_join and "action_id" not in e and not e.get("snapshot"):
            state["seen_more"]["joined_elsewhere"] = True
        if room not in state["rooms"] and not own and not e.get("snapshot"):
            # Proposal TODO: "Receiving events for unknown rooms. How do you handle this?"
            state["seen"]["unknown_room"] = True
        if own and not own_join and not e.get("snapshot"):
            # "Data required when you leave a room on another device": the room's
            # events end here (its later events are not the user's to see).
            if room in state["rooms"]:
                state["seen_more"]["left"] = True
                state["rooms"] = [r for r in state["rooms"] if r != room]
        else:
            self._know(state, room)
        if "state_key" in e:
            shown = state["room_state"].setdefault(room, {})
            shown[f"{etype}|{e['state_key']}"] = e["event_id"]
            txn = self._match(state, e)
            if txn is not None:
                _place(state, state["echoes"][txn], e["event_id"])
            return
        if etype != "m.room.message":
            return
        timeline = state["timeline"].setdefault(room, [])
        eid = e["event_id"]
        echo_txn = self._match(state, e)
        if echo_txn is not None:
            # "2b/3: [...] the client knows its position in the event stream."
            echo = state["echoes"][echo_txn]
            _place(state, echo, eid)
            if f"~{echo_txn}" in timeline:
                timeline.remove(f"~{echo_txn}")
        elif "action_id" in e and not any(
            echo["placed_id"] == eid for echo in state["echoes"].values()
        ):
            # (An echo already placed by a snapshot copy of this event is our own.)
            state["seen_more"]["foreign_action_id"] = True
        if eid not in timeline:
            timeline.append(eid)

    def _match(self, state: dict, e: dict) -> str | None:
        """The local echo a stream event is: by the event ID a response gave, else by
        the action ID ("so that they can match up the event in the event stream to
        the request which they made")."""
        unplaced = [(int(t), t) for t, echo in state["echoes"].items() if echo["placed_id"] is None]
        for _, t in sorted(unplaced):
            if state["echoes"][t]["sent_id"] == e["event_id"]:
                return t
        if "action_id" not in e:
            return None
        for entry in state["inflight"].values():
            if entry["op"] in ECHOED and entry["aid"] == e["action_id"]:
                if entry["session"] == state["session"]:
                    return str(entry["txn"])
        return None


def _place(state: dict, echo: dict, event_id: str) -> None:
    """Place a local echo at its event, which came from the server (3)."""
    if echo["status"] == "sent":
        # The guard stream_after_response: the event came after the response (2a,
        # then 3). Seen here, when it comes, and not when the response does: a
        # device whose stream never brings the event has not shown that order.
        state["seen"]["stream_after_resp"] = True
    echo["placed_id"] = event_id
