"""The homeserver as its clients see it: sessions, action IDs, filters, sync, presence.

Proposal sections: "Sessions", "Action IDs", "Action APIs" ("Send a
message" with its ordering notes, "Joining a room", "Leaving a room",
"Sending state events"), "Scrolling back", "Filter API", "Global
/initialSync API", "Event Stream API", "Presence", "Typing", "Capabilities".
One server; its rooms live here only (federation is the ``rooms`` model).

A device sends ``{"type": "req", "rid", "session", "user", "op", ...}``
(``rid`` names the request for the device; actions add ``aid``, the action
ID, and ``txn``, the device's own number of the action). The server answers
``{"type": "resp", "rid", "session", "ok", ...}`` and pushes the event stream
as ``{"type": "stream", "prev", "pos", "events"}``, one per device per step.

The event stream is modelled as a push over an open stream (as
``models.device`` does); it does not keep a session alive, so sessions here
expire as those of a client that stopped polling. A session's end closes the
device's stream; the device opens it again (a delta initial sync from its
last position) when it renews its session.
"""

from __future__ import annotations

from typing import Any

from mxsim.models import room as R
from mxsim.models.clientapi import filters as F
from mxsim.models.clientapi import session as S
from mxsim.models.clientapi import sync as Y
from mxsim.models.clientapi.capabilities import capability_hash, union
from mxsim.models.clientapi.presence import typing_users, user_presence
from mxsim.sim.node import ConfigError, Context, Node

__all__ = ["Homeserver", "ACTIONS", "ECHOED", "OPS"]

#: Requests that are actions (they carry an action ID): "a request which alters
#: the state of a room you are already joined to" (and joining it).
ACTIONS = ("send", "join", "leave", "send_state")

#: Actions whose event the device shows as a local echo before it is confirmed.
ECHOED = ("send", "leave", "send_state")

#: Every request op ("scrollback" reads history: no action ID, see ``_op_scrollback``).
OPS = ACTIONS + ("filter", "sync", "caps", "caps_upload", "caps_lookup", "presence", "typing")
OPS = OPS + ("offline", "scrollback")

CONFIG = ("genesis", "session_timeout_ms", "hold_timeout_ms", "filter_ttl_ms")


def _ms(config: dict, key: str, default: float) -> float:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(key, "a number of milliseconds >= 0 (0: never)", value)
    return value


class Homeserver(Node):
    """Config: ``genesis`` (rooms as in the ``rooms`` model: room, creator,
    members, messages), ``session_timeout_ms`` (0: sessions never time out),
    ``hold_timeout_ms`` (200), ``filter_ttl_ms`` (0: tokens never expire)."""

    kind = "homeserver"

    @classmethod
    def check_config(cls, config: dict[str, Any], node_names: tuple[str, ...]) -> None:
        for key in config:
            if key not in CONFIG:
                raise ConfigError(key, "one of: " + ", ".join(CONFIG), key)
        for key, default in (("session_timeout_ms", 0), ("hold_timeout_ms", 200)):
            _ms(config, key, default)
        _ms(config, "filter_ttl_ms", 0)
        genesis = config.get("genesis", [])
        if not isinstance(genesis, list):
            raise ConfigError("genesis", "a list of rooms", genesis)
        for i, spec in enumerate(genesis):
            if not isinstance(spec, dict) or not isinstance(spec.get("room"), str):
                raise ConfigError(f"genesis[{i}]", "a table with room, creator, members", spec)
            if not isinstance(spec.get("creator"), str):
                raise ConfigError(f"genesis[{i}].creator", "a user ID", spec.get("creator"))
            members = spec.get("members", [])
            if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
                raise ConfigError(f"genesis[{i}].members", "a list of user IDs", members)
            messages = spec.get("messages", [])
            if not isinstance(messages, list) or not all(isinstance(m, str) for m in messages):
                raise ConfigError(f"genesis[{i}].messages", "a list of message bodies", messages)

    def initial_state(self) -> dict[str, Any]:
        return {
            "rooms": {},  # room_id -> room store (models.room)
            "clock": 0,
            "order": 0,  # the last log order
            "log": [],  # see models.clientapi.sync
            "sessions": {},  # device -> session record (models.clientapi.session)
            "streams": {},  # device -> {"user", "filter": definition | None, "pos"}
            "filters": {},  # token -> definition
            "next_filter": 0,
            "caps": {},  # hash -> capability set
            "presence": {},  # user -> {"presence", "caps"}
            "txns": {},  # device -> {txn: response}, under txn_scope = "device"
            # What the guards look for, as flags: a race seen once stays seen, and
            # seeing it again does not make a new state.
            "seen": {"retransmit": False, "out_of_order": False, "stale": False, "expired": False},
            "seen_more": {
                "unknown_hash": False,
                "lookup": False,
                "filter_expired": False,
                "stale_action": False,
                "overtaken": False,
            },
        }

    def on_start(self, ctx: Context, state: dict) -> None:
        if state["rooms"]:
            return
        for spec in self.config.get("genesis", []):
            room_id, creator = spec["room"], spec["creator"]
            state["rooms"][room_id] = R.new_store()
            levels = {"users": {creator: 100}, "users_default": 0, "events_default": 0}
            levels.update(state_default=50, ban=50, kick=50, invite=0, redact=50)
            steps = [
                ("m.room.create", {"creator": creator}, "", creator),
                ("m.room.member", {"membership": "join"}, creator, creator),
                ("m.room.power_levels", levels, "", creator),
                ("m.room.join_rules", {"join_rule": "public"}, "", creator),
            ] + [("m.room.member", {"membership": "join"}, m, m) for m in spec.get("members", [])]
            # History to scroll back through, sent by the creator.
            steps += [
                ("m.room.message", {"body": b}, None, creator) for b in spec.get("messages", [])
            ]
            for etype, content, key, sender in steps:
                ev = self._event(state, room_id, etype, sender, content, key)
                assert ev is not None, (room_id, etype)

    # -- requests -------------------------------------------------------------

    def on_message(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        if msg.get("type") == "req":
            self._request(ctx, state, src, msg)
        self._flush(ctx, state)

    def on_timer(self, ctx: Context, state: dict, name: str) -> None:
        kind, _, rest = name.partition(":")
        if kind == "session":
            rec = state["sessions"].get(rest)
            if rec is not None and rec["live"]:
                state["seen"]["expired"] = True
                self._end_session(ctx, state, rest)
        elif kind == "hold":
            device, aid = rest.rsplit(":", 1)
            rec = state["sessions"][device]
            req = rec["held"].pop(aid, None)
            if req is not None:
                # "The block will expire after a timeout and reject the message."
                rec["rejected"].append(int(aid))
                self._answer(ctx, device, rec, req, False, error="missing sequence number")
        elif kind == "filter":
            # "The token may expire, in which case you would need to request another one."
            state["filters"].pop(rest, None)
        self._flush(ctx, state)

    def _request(self, ctx: Context, state: dict, device: str, msg: dict) -> None:
        sessions = state["sessions"]
        rec = sessions.get(device)
        live = rec is not None and rec["live"]
        sid = msg.get("session")
        if sid is None and not live:
            # "A session starts when the client makes any request."
            rec = self._start_session(ctx, state, device, msg["user"])
        elif sid is not None and (not live or rec["id"] != sid):
            # "If the server expires a session and the client uses an old session ID,
            # the server should fail the request with the old session ID and send a new
            # session ID in response."
            state["seen"]["stale"] = True
            if msg["op"] in ACTIONS:
                state["seen_more"]["stale_action"] = True
            once = self.switches["stale_session_renewal"] == "once"
            if not (once and live and S.number(rec["id"]) > S.number(sid)):
                if live:
                    self._end_session(ctx, state, device)
                rec = self._start_session(ctx, state, device, msg["user"])
            self._touch(ctx, device)
            self._answer(ctx, device, rec, msg, False, error="stale session")
            return
        self._touch(ctx, device)
        op = msg["op"]
        if op in ACTIONS:
            self._action(ctx, state, device, rec, msg)
        else:
            getattr(self, f"_op_{op}")(ctx, state, device, rec, msg)

    def _touch(self, ctx: Context, device: str) -> None:
        timeout = self.config.get("session_timeout_ms", 0)
        if timeout:
            # "Sessions time out after a short amount of time without any requests."
            ctx.set_timer(f"session:{device}", timeout)

    def _answer(self, ctx, device, rec, req, ok: bool, **fields) -> dict:
        resp = {"type": "resp", "rid": req["rid"], "ok": ok, "session": rec["id"], **fields}
        ctx.send(device, resp)
        return resp

    # -- sessions, presence, typing, capabilities --------------------------------

    def _start_session(self, ctx: Context, state: dict, device: str, user: str) -> dict:
        rec = S.start(state["sessions"], device, user)
        # "When a session starts, the home server can treat the user as online."
        self._presence_changed(ctx, state, device)
        return rec

    def _end_session(self, ctx: Context, state: dict, device: str) -> None:
        rec = state["sessions"][device]
        typing = list(rec["typing"])
        for aid in S.end(rec):
            ctx.cancel_timer(f"hold:{device}:{aid}")
        ctx.cancel_timer(f"session:{device}")
        stream = state["streams"].get(device)
        if stream is not None:
            stream["filter"] = None  # the stream closes with the session
        # "They are no longer typing when either the session ends or ..."
        for room in typing:
            self._typing_changed(state, room)
        # "When the session ends, the home server can treat the user as offline."
        self._presence_changed(ctx, state, device)

    def _presence_changed(self, ctx: Context, state: dict, device: str) -> None:
        """Recompute the user's presence and capability union; log it if it changed."""
        sessions = state["sessions"]
        user = sessions[device]["user"]
        old = state["presence"].get(user, {"presence": "offline", "caps": None})
        presence = user_presence(
            sessions, user, device, self.switches["presence_of_user"], old["presence"]
        )
        sets = [
            state["caps"][r["caps"]]
            for _, r in sorted(sessions.items())
            if r["user"] == user and r["live"] and r["caps"] is not None
        ]
        caps = None
        if sets:
            # "The server will take the union of all the user's connected clients'
            # capability sets and send the hash [...] as part of presence information."
            merged = union(sets)
            caps = capability_hash(merged)
            state["caps"][caps] = merged
        new = {"presence": presence, "caps": caps}
        if new == old:
            return
        state["presence"][user] = new
        everyone = sorted({r["user"] for r in sessions.values()} | set(state["presence"]))
        self._log(state, {"type": "m.presence", "user": user, **new}, everyone)

    def _typing_changed(self, state: dict, room: str) -> None:
        store = state["rooms"].get(room)
        if store is None:
            return
        members = R.members(store)
        users = typing_users(state["sessions"], room, members)
        self._log(state, {"type": "m.typing", "room": room, "users": users}, members)

    def _typing_now(self, state: dict, room: str) -> list[str]:
        store = state["rooms"].get(room)
        members = R.members(store) if store is not None else []
        return typing_users(state["sessions"], room, members)

    def _stale_wish(self, state: dict, rec: dict, key: str, msg: dict) -> bool:
        """Under ``presence_typing_order = "latest_request"``: True if the session
        already applied a later presence (or typing, per room) request of its device,
        so this one, overtaken or retransmitted late, must not undo it."""
        last = rec.setdefault("wish_rids", {})
        if msg["rid"] < last.get(key, -1):
            state["seen_more"]["overtaken"] = True
            return self.switches["presence_typing_order"] == "latest_request"
        last[key] = msg["rid"]
        return False

    def _op_presence(self, ctx, state, device, rec, msg) -> None:
        if self._stale_wish(state, rec, "presence", msg):
            self._answer(ctx, device, rec, msg, True)
            return
        rec["presence"] = msg["presence"]
        self._presence_changed(ctx, state, device)
        self._answer(ctx, device, rec, msg, True)

    def _op_offline(self, ctx, state, device, rec, msg) -> None:
        """Going "offline": "A session can also end when explicitly hitting a
        particular endpoint"."""
        self._answer(ctx, device, rec, msg, True, ended=True)
        self._end_session(ctx, state, device)

    def _op_typing(self, ctx, state, device, rec, msg) -> None:
        room = msg["room"]
        if self._stale_wish(state, rec, f"typing:{room}", msg):
            self._answer(ctx, device, rec, msg, True)
            return
        before = self._typing_now(state, room)
        if msg["typing"] and room not in rec["typing"]:
            rec["typing"] = sorted(rec["typing"] + [room])
        elif not msg["typing"] and room in rec["typing"]:
            rec["typing"].remove(room)
        if self._typing_now(state, room) != before:
            self._typing_changed(state, room)
        self._answer(ctx, device, rec, msg, True)

    def _op_caps(self, ctx, state, device, rec, msg) -> None:
        if msg["hash"] not in state["caps"]:
            # "be most likely refused by the home server as it does not know the
            # full capability set for that hash"
            state["seen_more"]["unknown_hash"] = True
            self._answer(ctx, device, rec, msg, False, error="unknown capability hash")
            return
        rec["caps"] = msg["hash"]
        self._presence_changed(ctx, state, device)
        self._answer(ctx, device, rec, msg, True)

    def _op_caps_upload(self, ctx, state, device, rec, msg) -> None:
        caps = union([msg["caps"]])
        h = capability_hash(caps)
        state["caps"][h] = caps
        rec["caps"] = h
        self._presence_changed(ctx, state, device)
        self._answer(ctx, device, rec, msg, True, hash=h)

    def _op_caps_lookup(self, ctx, state, device, rec, msg) -> None:
        state["seen_more"]["lookup"] = True
        caps = state["caps"].get(msg["hash"])
        if caps is None:
            self._answer(ctx, device, rec, msg, False, error="unknown capability hash")
        else:
            self._answer(ctx, device, rec, msg, True, hash=msg["hash"], caps=caps)

    # -- filters and sync ------------------------------------------------------------

    def _op_filter(self, ctx, state, device, rec, msg) -> None:
        defn = F.normalise(msg["filter"])
        if not self.switches["negative_filters"]:
            defn["not_types"] = []
        token = f"f{state['next_filter']}"
        state["next_filter"] += 1
        state["filters"][token] = defn
        ttl = self.config.get("filter_ttl_ms", 0)
        if ttl:
            ctx.set_timer(f"filter:{token}", ttl)
        self._answer(ctx, device, rec, msg, True, token=token)

    def _op_sync(self, ctx, state, device, rec, msg) -> None:
        token = msg["filter"]
        defn = F.normalise({}) if token is None else state["filters"].get(token)
        if defn is None:
            state["seen_more"]["filter_expired"] = True
            self._answer(ctx, device, rec, msg, False, error="unknown filter token")
            return
        user = rec["user"]
        since = msg.get("since")
        if since is None:
            self._answer(ctx, device, rec, msg, True, **Y.initial_sync(state, user, defn))
        else:
            events = Y.delta(
                state,
                device,
                user,
                defn,
                since,
                self.switches["negative_filters"],
                self.switches["join_returns_events"],
            )
            self._answer(ctx, device, rec, msg, True, prev=since, pos=state["order"], events=events)
        state["streams"][device] = {"user": user, "filter": defn, "pos": state["order"]}

    def _op_scrollback(self, ctx, state, device, rec, msg) -> None:
        """Proposal, "Scrolling back (infinite scrolling)": inputs "Identifier for
        the earliest event" (``before``; None: the device knows no event of the
        room yet, so its stream position ``pos`` bounds what it has) and "#
        requested events" (``limit``); outputs the events (here the room's
        messages, oldest first), "whether there are more events" (``more``) and
        a "new identifier for the earliest event" (``start``). Not an action: it
        alters nothing, so a retransmission is harmless and it needs no action
        ID. History is shared with members (as an initial sync's snapshot), so a
        joined user may scroll back past their join; a user not joined may not.
        Not modelled: the filter and the backfill flag (one server)."""
        room, user = msg["room"], rec["user"]
        store = state["rooms"].get(room)
        if store is None or R.membership(store, user) != "join":
            self._answer(ctx, device, rec, msg, False, error="not in room")
            return
        before = msg.get("before")
        if before is not None:
            bound = next((e["order"] for e in state["log"] if e.get("event_id") == before), None)
            if bound is None:
                self._answer(ctx, device, rec, msg, False, error="unknown event")
                return
        else:
            pos = msg.get("pos")
            bound = (state["order"] if pos is None else pos) + 1
        older = [
            e
            for e in state["log"]
            if e.get("room") == room and e["type"] == "m.room.message" and e["order"] < bound
        ]
        chunk = older[max(0, len(older) - msg["limit"]) :] if msg["limit"] else []
        events = [{**Y.stream_entry(e, False), "scrollback": True} for e in chunk]
        start = chunk[0]["event_id"] if chunk else before
        more = len(older) > len(chunk)
        self._answer(ctx, device, rec, msg, True, room=room, events=events, start=start, more=more)

    # -- actions ---------------------------------------------------------------------

    def _action(self, ctx: Context, state: dict, device: str, rec: dict, msg: dict) -> None:
        """Proposal, "Action APIs": "a transaction ID for idempotency as well as a
        sequence ID for ordering actions performed in parallel by that client"."""
        aid, key = msg["aid"], str(msg["aid"])
        if self.switches["txn_scope"] == "device":
            done = state["txns"].get(device, {}).get(str(msg["txn"]))
            if done is not None:
                if _resent(done, msg):
                    state["seen"]["retransmit"] = True
                resp = {**_reply(done), "rid": msg["rid"], "session": rec["id"]}
                if key not in rec["done"] and aid >= rec["next"]:
                    # The action ID is used up (as if applied), so that later ones of
                    # the session are not held waiting for it.
                    rec["done"][key] = {**resp, "applied": done["applied"]}
                    self._release(ctx, state, device, rec)
                ctx.send(device, resp)
                return
        if key in rec["done"]:
            if _resent(rec["done"][key], msg):
                state["seen"]["retransmit"] = True
            if self.switches["idempotent_retransmission"]:
                ctx.send(device, {**_reply(rec["done"][key]), "rid": msg["rid"]})
                return
        if aid in rec["rejected"]:
            self._answer(ctx, device, rec, msg, False, error="missing sequence number")
            return
        if key in rec["held"]:
            return  # a retransmission of a request already waiting
        if aid > rec["next"]:
            state["seen"]["out_of_order"] = True
            if self.switches["hold_out_of_order"]:
                # "it will block the request until it receives earlier seqnums"
                rec["held"][key] = msg
                ctx.set_timer(f"hold:{device}:{aid}", self.config.get("hold_timeout_ms", 200))
                return
        self._apply(ctx, state, device, rec, msg)
        self._release(ctx, state, device, rec)

    def _release(self, ctx: Context, state: dict, device: str, rec: dict) -> None:
        """Apply the held requests that are now next in action-ID order."""
        while True:
            while rec["next"] in rec["rejected"] or str(rec["next"]) in rec["done"]:
                rec["next"] += 1
            nxt = str(rec["next"])
            if nxt not in rec["held"]:
                break
            ctx.cancel_timer(f"hold:{device}:{nxt}")
            self._apply(ctx, state, device, rec, rec["held"].pop(nxt))

    def _apply(self, ctx: Context, state: dict, device: str, rec: dict, msg: dict) -> None:
        aid = msg["aid"]
        rec["next"] = max(rec["next"], aid + 1)
        user = rec["user"]
        room = msg["room"]
        store = state["rooms"].get(room)
        tag = {"device": device, "aid": aid, "txn": msg["txn"], "session": rec["id"]}
        if store is None:
            resp = self._answer(ctx, device, rec, msg, False, error="unknown room")
        elif msg["op"] in ECHOED:
            if msg["op"] == "send":
                etype, content, key = "m.room.message", {"body": msg["body"]}, None
            elif msg["op"] == "leave":
                # "Leaving a room": Room ID, Action ID; outputs none (here: as a send's).
                etype, content, key = "m.room.member", {"membership": "leave"}, user
            else:
                # "Sending state events" (the action IDs and echo of any action).
                etype, content, key = msg["event_type"], msg["content"], msg["state_key"]
            typing = self._typing_now(state, room)
            ev = self._event(state, room, etype, user, content, key, tag)
            if ev is None:
                resp = self._answer(ctx, device, rec, msg, False, error="not allowed")
            else:
                if self._typing_now(state, room) != typing:
                    self._typing_changed(state, room)  # a leave ends the user's typing
                # "When in the stream this action happened. (to correctly display local echo)"
                resp = self._answer(
                    ctx, device, rec, msg, True, event_id=ev["event_id"], pos=ev["order"]
                )
        else:  # join
            typing = self._typing_now(state, room)
            ev = self._event(state, room, "m.room.member", user, {"membership": "join"}, user, tag)
            if ev is None:
                resp = self._answer(ctx, device, rec, msg, False, error="not allowed")
            else:
                extra: dict[str, Any] = {"event_id": ev["event_id"], "pos": state["order"]}
                if self.switches["join_returns_events"]:
                    # "the join response should return events *instead of* to the event
                    # stream, depending on the client"
                    stream = state["streams"].get(device)
                    defn = stream["filter"] if stream and stream["filter"] else F.normalise({})
                    entry = Y.stream_entry(state["log"][-1], True)
                    extra["events"] = [entry] + Y.snapshot(state, room, defn, ev["event_id"])
                resp = self._answer(ctx, device, rec, msg, True, room=room, **extra)
                if self._typing_now(state, room) != typing:
                    self._typing_changed(state, room)  # a rejoin brings the wish back
        # Kept with the transmission that was applied (its session and try), so a
        # later one is told apart from a network copy of it (the guard).
        resp = {**resp, "applied": [msg.get("session"), msg.get("try", 1)]}
        rec["done"][str(aid)] = resp
        if self.switches["txn_scope"] == "device":
            state["txns"].setdefault(device, {})[str(msg["txn"])] = resp

    def _event(self, state, room_id, etype, sender, content, state_key, tag=None) -> dict | None:
        """Make, accept and log a room event; None if the auth rules refuse it."""
        store = state["rooms"][room_id]
        state["clock"] += 1
        event_id = f"${state['clock']}"
        ev = R.next_event(
            store, room_id, etype, sender, content, state_key, event_id, ts=state["clock"]
        )
        reason, _ = R.accept(store, ev, "v2")
        if reason is not None or ev["event_id"] in store["soft_failed"]:
            return None
        vis = set(R.members(store))
        if state_key is not None and etype == "m.room.member":
            vis.add(state_key)
        self._log(state, {**Y.room_entry(ev, 0), **(tag or {})}, sorted(vis))
        return {**ev, "order": state["order"]}

    # -- the event stream ----------------------------------------------------------------

    def _log(self, state: dict, entry: dict, vis: list[str]) -> None:
        """Append to the log and queue the entry on every open stream that may see it."""
        state["order"] += 1
        entry = {**entry, "order": state["order"], "vis": vis}
        state["log"].append(entry)
        negative = self.switches["negative_filters"]
        own_ids = self.switches["action_id_streams"]
        for device in sorted(state["streams"]):
            stream = state["streams"][device]
            defn = stream["filter"]
            if defn is None or stream["user"] not in vis or not F.matches(defn, entry, negative):
                continue
            joined = entry["type"] == "m.room.member" and entry.get("membership") == "join"
            joined = joined and entry["state_key"] == stream["user"]
            mine = entry.get("device") == device
            if joined and mine and self.switches["join_returns_events"]:
                continue  # returned in the join response instead
            if own_ids == "all_devices":
                mine = mine or entry.get("device") is not None and entry["sender"] == stream["user"]
            batch = state.setdefault("outbox", {}).setdefault(device, [])
            batch.append(Y.stream_entry(entry, mine))
            if joined:
                # Proposal, "Joining a room": the user's other devices learn of the room
                # from the stream ("Data required when you join a room on another device").
                batch.extend(Y.snapshot(state, entry["room"], defn, entry["event_id"]))

    def _flush(self, ctx: Context, state: dict) -> None:
        """Proposal, "Event Stream API": "0-N events the client hasn't seen" and
        "New position in the stream"; one stream response per device per step."""
        outbox = state.pop("outbox", {})
        for device in sorted(outbox):
            stream = state["streams"][device]
            msg = {"type": "stream", "prev": stream["pos"], "pos": state["order"]}
            stream["pos"] = state["order"]
            ctx.send(device, {**msg, "events": outbox[device]})


def _resent(done: dict, msg: dict) -> bool:
    """``msg`` is the device's own re-send of the applied action: a retransmission
    (a later try) or a re-send under a renewed session, not a network copy."""
    session, tried = done["applied"]
    return msg.get("session") != session or msg.get("try", 1) > tried


def _reply(done: dict) -> dict:
    """The stored response, as sent again."""
    return {k: v for k, v in done.items() if k != "applied"}
