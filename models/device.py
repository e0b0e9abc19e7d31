"""A client device as the homeserver model needs it: acts, and keeps what the stream shows.

Proposal: "Event Stream API" (what a device receives), "Action APIs" (what it
asks for). The device applies the stream as a client would: a state event
replaces its view of that key (there is no state resolution on a client), a
message joins the timeline (after the event it names, for out-of-order
events it opted in to), a local redaction hides an event.

A device keeps, per room, the token of the earliest event it has (from the
server-generated join event, then from each scrollback). One configured with
``persist_scrollback`` keeps scrollback results at the start of its timeline
(proposal, "Message Events Ordering Notes": clients that "persist scrollback
for a room ... need to know about the message event and where to insert
it"); like such a client it holds each event once, by ID.

Workload inputs are the actions a user takes, e.g.
``{"op": "send", "room": "!r:hs1", "body": "hi"}``; see
:data:`OPS` for each op's fields.
"""

from __future__ import annotations

from typing import Any

from mxsim.models.room import SEP
from mxsim.sim.node import WORKLOAD, ConfigError, Context, Node

__all__ = ["Device", "OPS"]

#: Workload ops and the fields each needs (besides "op").
OPS: dict[str, tuple[str, ...]] = {
    "create_room": ("room",),
    "join": (),
    "send": ("room", "body"),
    "send_state": ("room", "event_type"),
    "delete_state": ("room", "event_type"),
    "invite": ("room", "user"),
    "kick": ("room", "user"),
    "ban": ("room", "user"),
    "unban": ("room", "user"),
    "leave": ("room",),
    "reject_invite": ("invite",),
    "scrollback": ("room",),
    "context": ("event_id",),
}
OPTIONAL = (
    "preset",
    "invite",
    "state",
    "via",
    "state_key",
    "content",
    "power",
    "alias",
    "filter",
    "limit",
    "backfill",
    "types",
    "before",
    "after",
)
#: Optional fields that are not strings, and the type each must have.
TYPED = {
    "limit": int,
    "before": int,
    "after": int,
    "backfill": bool,
    "types": list,
    "filter": dict,
    "state": list,
    "via": list,
    "content": dict,
    "power": dict,
}


class Device(Node):
    """Config: ``server`` (node), ``user`` (``@name:server``), ``out_of_order`` (bool),
    ``persist_scrollback`` (bool)."""

    kind = "device"

    @classmethod
    def check_config(cls, config: dict[str, Any], node_names: tuple[str, ...]) -> None:
        for key in config:
            if key not in ("server", "user", "out_of_order", "persist_scrollback"):
                raise ConfigError(
                    key, "one of: server, user, out_of_order, persist_scrollback", key
                )
        server = config.get("server")
        if server not in node_names:
            raise ConfigError("server", "the name of a homeserver node", server)
        user = config.get("user")
        if (
            not isinstance(user, str)
            or not user.startswith("@")
            or user.split(":", 1)[-1] != server
        ):
            raise ConfigError("user", f"a user ID @name:{server}", user)
        for key in ("out_of_order", "persist_scrollback"):
            if not isinstance(config.get(key, False), bool):
                raise ConfigError(key, "a boolean", config.get(key))

    @classmethod
    def check_input(cls, data: dict[str, Any]) -> None:
        op = data.get("op")
        if op not in OPS:
            raise ConfigError("op", "one of: " + ", ".join(OPS), op)
        for key in OPS[op]:
            if not isinstance(data.get(key), str):
                raise ConfigError(key, "a string", data.get(key))
        for key in data:
            if key not in ("op", *OPS[op], *OPTIONAL, "room", "user", "body"):
                raise ConfigError(key, "a field of op " + op, key)
            want = TYPED.get(key)
            if want is not None and key not in OPS[op]:
                ok = isinstance(data[key], want) and not (
                    want is int and isinstance(data[key], bool)
                )
                if not ok:
                    raise ConfigError(key, f"a {want.__name__}", data[key])

    def initial_state(self) -> dict[str, Any]:
        return {
            "view": {},  # room -> {type\x1fstate_key: event_id}
            "timeline": {},  # room -> [event_id] in display order
            "redacted": [],
            "invites": [],
            "joined": {},  # room -> stream position of the server-generated join event
            "results": {},  # action ID -> ok
            "next_aid": 0,
            "last_pos": 0,
            "buffer": {},  # stream position -> message that arrived ahead of its turn
            "positions_increase": True,
            "earliest": {},  # room -> scrollback token of the earliest event held
            "more": {},  # room -> [more on the server, more over federation]
            "contexts": {},  # event ID -> [chunk IDs, start token, end token]
            "duplicates": 0,  # events handed to this device that it already held
            "persisting": bool(self.config.get("persist_scrollback")),
        }

    def on_start(self, ctx: Context, state: dict) -> None:
        ctx.send(
            self.config["server"],
            {
                "type": "register",
                "user": self.config["user"],
                "out_of_order": self.config.get("out_of_order", False),
            },
        )

    def on_message(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        if src == WORKLOAD:
            if msg["op"] == "scrollback" and msg["room"] not in state["earliest"]:
                # No place in the room yet, so nothing to scroll back from: a
                # client only scrolls back a room it shows.
                return
            aid = state["next_aid"]
            state["next_aid"] = aid + 1
            # "whoami" identifies the user, as an access token would.
            action = {**msg, "type": "action", "aid": aid, "whoami": self.config["user"]}
            action["out_of_order"] = self.config.get("out_of_order", False)
            if msg["op"] == "scrollback":
                # Proposal, "Scrolling back": "Identifier for the earliest event".
                action["from"] = state["earliest"][msg["room"]]
            ctx.send(self.config["server"], action)
            return
        kind = msg.get("type")
        if kind == "result":
            state["results"][str(msg["aid"])] = msg["ok"]
            if msg["ok"] and "token" in msg:
                self._scrolled(state, msg)
            elif msg["ok"] and "end" in msg:
                state["contexts"][msg["event_id"]] = [
                    [ev["event_id"] for ev in msg["chunk"]],
                    msg["start"],
                    msg["end"],
                ]
            if msg["ok"] and "pos" in msg:
                # A join answered with the room's events instead of the stream:
                # they hold the stream position the server gave them.
                msg = {"type": "stream", "pos": msg["pos"], "events": msg["events"]}
                kind = "stream"
        if kind in ("stream", "invite"):
            # The stream is read in position order, as a client polling from
            # its last position would; the network may deliver pushes out of it.
            if msg["pos"] <= state["last_pos"] or str(msg["pos"]) in state["buffer"]:
                state["positions_increase"] = False  # a position seen twice
                return
            state["buffer"][str(msg["pos"])] = msg
            while str(state["last_pos"] + 1) in state["buffer"]:
                nxt = state["buffer"].pop(str(state["last_pos"] + 1))
                state["last_pos"] = nxt["pos"]
                if nxt["type"] == "invite":
                    state["invites"].append(nxt["event"]["event_id"])
                else:
                    for entry in nxt["events"]:
                        self._apply(state, entry)

    def _scrolled(self, state: dict, msg: dict) -> None:
        room = msg["room"]
        state["earliest"][room] = msg["token"]
        state["more"][room] = [msg["more_local"], msg["more_remote"]]
        if not self.config.get("persist_scrollback"):
            return
        timeline = state["timeline"].setdefault(room, [])
        held = set(timeline)
        older = []
        # The chunk is newest first; the oldest goes first in the timeline.
        for ev in reversed(msg["chunk"]):
            if "state_key" in ev:
                continue
            if ev["event_id"] in held:
                state["duplicates"] += 1
                continue
            older.append(ev["event_id"])
        timeline[:0] = older

    def _apply(self, state: dict, msg: dict) -> None:
        room, ev = msg["room"], msg["event"]
        if ev["type"] == "m.server.joined":
            state["joined"][room] = state["last_pos"]
            state["earliest"][room] = ev["token"]
            return
        if ev["type"] == "m.room.redaction" and msg.get("local"):
            state["redacted"].append(ev["redacts"])
            return
        if "state_key" in ev:
            state["view"].setdefault(room, {})[f"{ev['type']}{SEP}{ev['state_key']}"] = ev[
                "event_id"
            ]
            return
        timeline = state["timeline"].setdefault(room, [])
        if self.config.get("persist_scrollback") and ev["event_id"] in timeline:
            state["duplicates"] += 1
            return
        after = msg.get("after")
        if after is not None and after in timeline:
            timeline.insert(timeline.index(after) + 1, ev["event_id"])
        else:
            timeline.append(ev["event_id"])
