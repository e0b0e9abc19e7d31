"""A homeserver: rooms as event graphs, federation, and the event stream to its devices.

Proposal sections (``general_api.rst``): "Room Creation", "Joining a room",
the room-changing "Action APIs" (inviting, rejecting an invite, leaving,
kicking, banning, sending message and state events, deleting state), and
"Event Stream API" with its state ordering notes (superseded state is
omitted), message ordering notes (out-of-order events) and rejected events.

Messages a device sends: ``{"type": "action", "aid": n, "op": ..., ...}``;
the server answers ``{"type": "result", "aid": n, "ok": bool, ...}`` and
streams ``{"type": "stream", "pos": n, "room": r, "event": ev}`` (plus
``"after"`` for an out-of-order message, ``"local": true`` for events the
server made up for this device alone).

Between servers: ``fed.event`` (a new event for every server in the room),
``fed.get`` / ``fed.events`` (fetch events a received one refers to and this
server lacks), ``fed.make_join`` / ``fed.join_state`` / ``fed.join_denied``
(a remote join through a resident server, by room ID or alias; the joining
server gets the current state, its auth chain and only the last
``JOIN_HISTORY`` events), ``fed.backfill`` / ``fed.history`` (older events,
for "Scrolling back" over federation), ``fed.reject`` / ``fed.rejected`` (a
user rejects the invite of a room its server is not in, through the inviter's
server).
"""

from __future__ import annotations

from typing import Any

from mxsim.models import room as R
from mxsim.models.events import is_state
from mxsim.sim.node import WORKLOAD, ConfigError, Context, Node

__all__ = ["Homeserver"]

#: How often a server sends unacknowledged events again (ms).
RETRY_MS = 500

#: Messages a device gets with a room it is new to.
INITIAL_LIMIT = 10

#: Events (of any kind) a resident server sends a joining server besides the
#: current state and its auth chain; older history comes by backfill.
JOIN_HISTORY = 4

#: Events one page of history may walk (a scrollback answers with fewer
#: events and a token for more rather than walk a long run of state events).
WALK_BUDGET = 256

POWER_TYPES = ("m.room.power_levels", "m.room.join_rules")


def _is_power_event(ev: dict[str, Any]) -> bool:
    if ev["type"] in POWER_TYPES:
        return True
    if ev["type"] == "m.room.member":
        membership = ev.get("content", {}).get("membership")
        return membership in ("ban", "leave") and ev["state_key"] != ev["sender"]
    return False


class Homeserver(Node):
    """A homeserver named after its domain (``@alice:hs1`` lives on node ``hs1``)."""

    kind = "homeserver"
    durable = ("rooms", "invites", "clock", "outbound")

    @classmethod
    def check_config(cls, config: dict[str, Any], node_names: tuple[str, ...]) -> None:
        for key in config:
            if key != "genesis":
                raise ConfigError(key, "one of: genesis", key)
        genesis = config.get("genesis", [])
        if not isinstance(genesis, list):
            raise ConfigError("genesis", "a list of rooms", genesis)
        for i, spec in enumerate(genesis):
            if not isinstance(spec, dict):
                raise ConfigError(f"genesis[{i}]", "a table", spec)
            for key in spec:
                if key not in ("room", "creator", "members", "preset", "messages"):
                    raise ConfigError(
                        f"genesis[{i}].{key}",
                        "one of: room, creator, members, preset, messages",
                        key,
                    )
            for key in ("room", "creator"):
                if not isinstance(spec.get(key), str):
                    raise ConfigError(f"genesis[{i}].{key}", "a string", spec.get(key))
            members = spec.get("members", [])
            if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
                raise ConfigError(f"genesis[{i}].members", "a list of user IDs", members)
            bodies = spec.get("messages", [])
            if not isinstance(bodies, list) or not all(isinstance(b, str) for b in bodies):
                raise ConfigError(f"genesis[{i}].messages", "a list of message bodies", bodies)

    @classmethod
    def check_input(cls, data: dict[str, Any]) -> None:
        from mxsim.models.device import Device

        if data.get("op") != "as_user":
            raise ConfigError("op", '"as_user" (devices take the other ops)', data.get("op"))
        if not isinstance(data.get("user"), str):
            raise ConfigError("user", "a user ID of this server", data.get("user"))
        action = data.get("action")
        if not isinstance(action, dict):
            raise ConfigError("action", "a table: an action as a device would send it", action)
        try:
            Device.check_input(action)
        except ConfigError as e:
            raise ConfigError(f"action.{e.field}", e.expected, e.found) from None

    def on_start(self, ctx: Context, state: dict) -> None:
        """Build the configured genesis rooms: the same events on every server listing them.

        A scenario that is about what happens *in* a room starts with the room
        already made and joined, so exploration spends no states on setting it up.
        """
        if state["rooms"]:
            return  # a restart: the rooms are durable
        for spec in self.config.get("genesis", []):
            room_id, creator = spec["room"], spec["creator"]
            store = state["rooms"][room_id] = R.new_store()
            public = spec.get("preset", "public") == "public"
            steps = _initial_state(creator, public) + [
                ("m.room.member", {"membership": "join"}, m, m) for m in spec.get("members", [])
            ]
            # History that predates the scenario, sent by the creator.
            steps += [("m.room.message", {"body": b}, None) for b in spec.get("messages", [])]
            for n, (etype, content, key, *sender) in enumerate(steps, 1):
                who = sender[0] if sender else creator
                ev = R.next_event(
                    store, room_id, etype, who, content, key, f"$genesis.{n}.{room_id}"
                )
                reason, _ = R.accept(store, ev, self.switches["state_resolution"])
                assert reason is None, (etype, key, reason)

    def initial_state(self) -> dict[str, Any]:
        return {
            "rooms": {},  # room_id -> room store (models.room)
            "invites": {},  # invite event_id -> event, for rooms this server is not in
            "devices": {},  # device node -> {"user", "ooo", "sent": {room: {key: eid}},
            #                  "depth": {room: int}, "shown": {room: [eid]}}
            "pending": {},  # event_id -> [event, direct] waiting for missing prev/auth events
            "pending_joins": {},  # room ID or alias -> [device, aid, user, join filter]
            "backfills": {},  # "device/aid" -> the scrollback request awaiting history
            "outbound": {},  # server -> {event_id: event} sent and not yet acknowledged
            "clock": 0,
            "counters": {
                "out_of_order": 0,
                "clobbers": 0,
                "late_rejections": 0,
                "fetches": 0,
                "superseded": 0,
                "backfills": 0,
                "ooo_shown": 0,
            },
        }

    # -- entry points ------------------------------------------------------

    def on_message(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        self._handle(ctx, state, src, msg)
        self._flush(ctx, state)

    def _handle(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        if src == WORKLOAD:
            # A scenario acting for a user who has no device here (op "as_user").
            self._action(ctx, state, None, {**msg["action"], "whoami": msg["user"]})
            return
        kind = msg.get("type")
        if kind == "register":
            self._register(state, src, msg)
        elif kind == "action":
            self._action(ctx, state, src, msg)
        elif kind == "fed.event":
            self._receive(ctx, state, src, msg["event"])
            ctx.send(src, {"type": "fed.ack", "event_id": msg["event"]["event_id"]})
        elif kind == "fed.ack":
            pending = state["outbound"].get(src, {})
            pending.pop(msg["event_id"], None)
            if not pending:
                state["outbound"].pop(src, None)
                ctx.cancel_timer(f"fed.retry:{src}")
        elif kind == "fed.get":
            self._serve_get(ctx, state, src, msg)
        elif kind == "fed.events":
            for ev in sorted(msg["events"], key=lambda e: (e["depth"], e["event_id"])):
                self._receive(ctx, state, src, ev, fetched=True)
        elif kind == "fed.make_join":
            self._serve_join(ctx, state, src, msg)
        elif kind == "fed.join_state":
            self._joined_remotely(ctx, state, src, msg)
        elif kind == "fed.join_denied":
            pending = state["pending_joins"].pop(msg["key"], None)
            if pending:
                self._answer(ctx, pending[0], _result(pending[1], False, error=msg["error"]))
        elif kind == "fed.backfill":
            store = state["rooms"].get(msg["room"])
            if store is not None:
                history = R.history_payload(store, msg["frontier"], msg["limit"])
                ctx.send(src, {"type": "fed.history", "req": msg["req"], **history})
        elif kind == "fed.history":
            self._backfilled(ctx, state, msg)
        elif kind == "fed.reject":
            self._serve_reject(ctx, state, src, msg)
        elif kind == "fed.rejected":
            device, aid = msg["req"]
            if msg["ok"]:
                state["invites"].pop(msg["invite"], None)
            self._answer(ctx, device, _result(aid, msg["ok"], error=msg.get("error")))

    # -- actions from devices -----------------------------------------------

    def _register(self, state: dict, device: str, msg: dict) -> None:
        """A device makes itself known: its requests name its user, as an access token would."""
        if device in state["devices"]:
            return
        state["devices"][device] = {
            "user": msg.get("whoami", msg.get("user")),
            "ooo": bool(msg.get("out_of_order")),
            "sent": {},
            "depth": {},
            "shown": {},
            "pos": 0,
        }
        # A minimal initial sync: the rooms the user is in, as they are now.
        for room_id in sorted(state["rooms"]):
            store = state["rooms"][room_id]
            if R.membership(store, state["devices"][device]["user"]) == "join":
                self._snapshot(state, store, device, room_id)

    def _answer(self, ctx: Context, device: str | None, msg: dict) -> None:
        if device is not None:  # None: the scenario acted for a user directly
            ctx.send(device, msg)

    def _action(self, ctx: Context, state: dict, device: str | None, msg: dict) -> None:
        op, aid = msg["op"], msg.get("aid")
        if device is None:
            user = msg["whoami"]
        else:
            self._register(state, device, {"user": msg["whoami"], **msg})
            user = state["devices"][device]["user"]
        room_id = msg.get("room")
        if op == "create_room":
            self._create_room(ctx, state, device, msg, user)
            return
        if op == "join":
            self._join(ctx, state, device, msg, user)
            return
        if op == "reject_invite":
            invite = state["invites"].get(msg["invite"])
            if invite is None or invite["state_key"] != user:
                self._answer(ctx, device, _result(aid, False, error="unknown invite"))
                return
            room_id = invite["room_id"]
            store = state["rooms"].get(room_id)
            if store is None or not store["current"]:
                # Not in the room: the inviter's server makes the deletion.
                resident = invite["sender"].split(":", 1)[1]
                ctx.send(
                    resident,
                    {"type": "fed.reject", "invite": invite, "user": user, "req": [device, aid]},
                )
                return
            state["invites"].pop(msg["invite"], None)
            # Proposal, "Rejecting an invite": the member event is DELETEd.
            ev = self._new_event(state, store, room_id, "m.room.member", user, None, user)
            self._local(ctx, state, device, aid, store, ev)
            return
        if op == "scrollback":
            self._scrollback(ctx, state, device, msg, user)
            return
        if op == "context":
            self._context(ctx, state, device, msg, user)
            return
        store = state["rooms"].get(room_id)
        if store is None:
            self._answer(ctx, device, _result(aid, False, error="not in room"))
            return
        if op == "send":
            ev = self._new_event(
                state, store, room_id, "m.room.message", user, {"body": msg["body"]}
            )
        elif op in ("send_state", "delete_state"):
            content = msg.get("content", {}) if op == "send_state" else None
            ev = self._new_event(
                state, store, room_id, msg["event_type"], user, content, msg.get("state_key", "")
            )
        elif op in ("invite", "kick", "ban", "unban", "leave"):
            target = user if op == "leave" else msg["user"]
            membership = {"kick": "leave", "unban": "leave"}.get(op, op)
            ev = self._new_event(
                state, store, room_id, "m.room.member", user, {"membership": membership}, target
            )
        else:
            self._answer(ctx, device, _result(aid, False, error=f"unknown op {op}"))
            return
        self._local(ctx, state, device, aid, store, ev)

    def _new_event(self, state, store, room_id, etype, sender, content, state_key=None) -> dict:
        state["clock"] += 1
        event_id = f"${self.name}.{state['clock']}"
        return R.next_event(
            store, room_id, etype, sender, content, state_key, event_id, ts=state["clock"]
        )

    def _local(self, ctx, state, device, aid, store, ev, join_filter=None) -> None:
        """Accept a locally made event, answer the device, federate it.

        A join with a filter that does not ask for the stream answers with the
        room's state and recent messages (proposal, "Joining a room": "the join
        response should return events *instead of* to the event stream"); the
        response takes a position in the device's stream, so the device
        applies it in order with the stream.
        """
        reason, changed = R.accept(store, ev, self.switches["state_resolution"])
        if reason is not None or ev["event_id"] in store["soft_failed"]:
            self._answer(ctx, device, _result(aid, False, error=reason or "not allowed now"))
            return
        extra = {}
        if join_filter is not None and not join_filter.get("stream") and device is not None:
            dev = state["devices"][device]
            for room_of in list(dev["shown"]):
                if room_of == ev["room_id"]:
                    del dev["shown"][room_of]  # a re-join starts afresh
            dev["sent"].pop(ev["room_id"], None)
            entries: list = []
            self._snapshot(state, store, device, ev["room_id"], into=entries, flt=join_filter)
            extra = {"events": entries, "pos": self._next_pos(state, device)}
        self._answer(
            ctx, device, _result(aid, True, event_id=ev["event_id"], room=ev["room_id"], **extra)
        )
        invitee = ev["state_key"].split(":", 1)[1] if ev["type"] == "m.room.member" else ""
        self._federate(ctx, state, store, ev, (invitee,) if invitee else ())
        self._after_accept(ctx, state, store, ev, changed)

    def _federate(
        self, ctx: Context, state: dict, store: dict, ev: dict, extra: tuple[str, ...] = ()
    ) -> None:
        """Send a new event to every other server in the room, until each acknowledges it.

        Like a homeserver's federation queue, unacknowledged events are sent
        again every ``RETRY_MS``, so a partition delays events but loses none.
        """
        targets = set(R.servers_in_room(store)) | set(extra)
        outbound = state["outbound"]
        for server in sorted(targets - {self.name}):
            outbound.setdefault(server, {})[ev["event_id"]] = ev
            ctx.send(server, {"type": "fed.event", "event": ev})
            ctx.set_timer(f"fed.retry:{server}", RETRY_MS)

    def on_timer(self, ctx: Context, state: dict, name: str) -> None:
        server = name.split(":", 1)[1]
        pending = state["outbound"].get(server)
        if not pending:
            return
        for eid in sorted(pending, key=lambda e: (pending[e]["depth"], e)):
            ctx.send(server, {"type": "fed.event", "event": pending[eid]})
        ctx.set_timer(name, RETRY_MS)

    def _create_room(self, ctx, state, device, msg, user) -> None:
        room_id = msg["room"]
        aid = msg.get("aid")
        if room_id in state["rooms"]:
            self._answer(ctx, device, _result(aid, False, error="room exists"))
            return
        store = state["rooms"][room_id] = R.new_store()
        public = msg.get("preset", "public") == "public"
        initial = _initial_state(user, public, msg.get("power", {}))
        initial += [
            (s["type"], s.get("content", {}), s.get("state_key", "")) for s in msg.get("state", [])
        ]
        initial += [("m.room.member", {"membership": "invite"}, u) for u in msg.get("invite", [])]
        for etype, content, key in initial:
            ev = self._new_event(state, store, room_id, etype, user, content, key)
            reason, changed = R.accept(store, ev, self.switches["state_resolution"])
            if reason is not None:
                self._answer(ctx, device, _result(aid, False, error=f"{etype}: {reason}"))
                return
            invitee_server = key.split(":", 1)[1] if etype == "m.room.member" and ":" in key else ""
            self._federate(ctx, state, store, ev, (invitee_server,) if invitee_server else ())
            self._after_accept(ctx, state, store, ev, changed)
        self._answer(ctx, device, _result(aid, True, room=room_id))

    # -- joining ---------------------------------------------------------------

    def _join(self, ctx, state, device, msg, user) -> None:
        aid = msg.get("aid")
        room_id = msg.get("room")
        via = list(msg.get("via", []))
        join_filter = msg.get("filter")
        alias = msg.get("alias")
        if alias is not None:
            # Proposal, "Joining a room": by "room alias"; the alias's server
            # resolves it if this one does not know it.
            room_id = _resolve_alias(state, alias)
            if room_id is None:
                via = [alias.split(":", 1)[1]]
        if "invite" in msg:
            invite = state["invites"].get(msg["invite"])
            if invite is None:
                self._answer(ctx, device, _result(aid, False, error="unknown invite"))
                return
            room_id = invite["room_id"]
            via = [invite["sender"].split(":", 1)[1]]
        store = state["rooms"].get(room_id) if room_id else None
        if store is not None and store["current"]:
            self._invited_no_more(state, room_id, user)
            ev = self._new_event(
                state, store, room_id, "m.room.member", user, {"membership": "join"}, user
            )
            self._local(ctx, state, device, aid, store, ev, join_filter)
            return
        resident = next((s for s in via if s != self.name), None)
        if resident is None:
            self._answer(ctx, device, _result(aid, False, error="no server to join through"))
            return
        key = room_id or alias
        state["pending_joins"][key] = [device, aid, user, join_filter]
        ctx.send(
            resident,
            {"type": "fed.make_join", "room": room_id, "alias": alias, "key": key, "user": user},
        )

    def _invited_no_more(self, state, room_id, user) -> None:
        for eid in sorted(state["invites"]):
            inv = state["invites"][eid]
            if inv["room_id"] == room_id and inv["state_key"] == user:
                del state["invites"][eid]

    def _serve_join(self, ctx, state, src, msg) -> None:
        room_id = msg["room"]
        if room_id is None:
            room_id = _resolve_alias(state, msg["alias"])
        store = state["rooms"].get(room_id) if room_id else None
        if store is None or not store["current"]:
            ctx.send(src, {"type": "fed.join_denied", "key": msg["key"], "error": "unknown room"})
            return
        probe = {
            "type": "m.room.member",
            "state_key": msg["user"],
            "sender": msg["user"],
            "content": {"membership": "join"},
            "room_id": room_id,
        }
        if not R.passes_current(store, probe):
            ctx.send(src, {"type": "fed.join_denied", "key": msg["key"], "error": "forbidden"})
            return
        payload = R.join_payload(store, JOIN_HISTORY)
        ctx.send(src, {"type": "fed.join_state", "room": room_id, "key": msg["key"], **payload})

    def _joined_remotely(self, ctx, state, src, msg) -> None:
        room_id = msg["room"]
        pending = state["pending_joins"].pop(msg["key"], None)
        store = state["rooms"].setdefault(room_id, R.new_store())
        if store["current"]:
            R.insert_history(store, msg)
        else:
            R.adopt(store, msg)
        if pending is None:
            return
        device, aid, user, join_filter = pending
        self._invited_no_more(state, room_id, user)
        ev = self._new_event(
            state, store, room_id, "m.room.member", user, {"membership": "join"}, user
        )
        self._local(ctx, state, device, aid, store, ev, join_filter)

    def _serve_reject(self, ctx, state, src, msg) -> None:
        """Make the deletion of a remote user's invite (proposal, "Rejecting an invite")."""
        invite, user = msg["invite"], msg["user"]
        store = state["rooms"].get(invite["room_id"])
        ok, error = False, "unknown room"
        if store is not None and R.membership(store, user) == "invite":
            ev = self._new_event(state, store, invite["room_id"], "m.room.member", user, None, user)
            reason, changed = R.accept(store, ev, self.switches["state_resolution"])
            ok, error = reason is None, reason
            if ok:
                self._federate(ctx, state, store, ev, (src,))
                self._after_accept(ctx, state, store, ev, changed)
        reply = {"type": "fed.rejected", "invite": invite["event_id"], "req": msg["req"]}
        ctx.send(src, {**reply, "ok": ok, "error": error})

    # -- history: scrolling back, contextual windows ------------------------------

    def _scrollback(self, ctx, state, device, msg, user, backfilled: bool = False) -> None:
        """Proposal, "Scrolling back": events older than the device's earliest.

        Where the local history ends and the request allows it, ask a server
        in the room for older events ("backfill over federation"), then answer.
        """
        aid, room_id = msg.get("aid"), msg["room"]
        store = state["rooms"].get(room_id)
        if store is None or R.membership(store, user) != "join":
            self._answer(ctx, device, _result(aid, False, error="not in room"))
            return
        frontier = msg.get("from") or [
            [store["events"][e]["depth"], e] for e in store["extremities"]
        ]
        limit = msg.get("limit", INITIAL_LIMIT)
        wanted = _type_filter(msg.get("types"))
        ids, token, gap = R.walk_back(store, frontier, limit, wanted, budget=WALK_BUDGET)
        if gap and len(ids) < limit and msg.get("backfill") and not backfilled:
            others = [s for s in R.servers_in_room(store) if s != self.name]
            if others:
                req = f"{device}/{aid}"
                state["backfills"][req] = {**msg, "user": user, "device": device}
                state["counters"]["backfills"] += 1
                # Ask for enough events to fill the request, state events included.
                ctx.send(
                    others[0],
                    {
                        "type": "fed.backfill",
                        "room": room_id,
                        "frontier": token,
                        "limit": 2 * limit,
                        "req": req,
                    },
                )
                return
        chunk = []
        for eid in ids:
            ev = store["events"][eid]
            if is_state(ev):
                old = R.prev_content(store, eid)
                ev = {**ev, "prev_content": old} if old is not None else ev
            chunk.append(ev)
        more_local = bool(token) and not gap
        self._answer(
            ctx,
            device,
            _result(
                aid,
                True,
                room=room_id,
                chunk=chunk,
                token=token,
                more_local=more_local,
                more_remote=gap,
            ),
        )

    def _backfilled(self, ctx, state, msg) -> None:
        request = state["backfills"].pop(msg["req"], None)
        if request is None:
            return
        store = state["rooms"][request["room"]]
        R.insert_history(store, msg)
        self._scrollback(ctx, state, request["device"], request, request["user"], backfilled=True)

    def _context(self, ctx, state, device, msg, user) -> None:
        """Proposal, "Contextual windowing": messages around an event, pagination
        tokens, and the room state at the end of the chunk."""
        aid, eid = msg.get("aid"), msg["event_id"]
        room_id = next(
            (r for r in sorted(state["rooms"]) if eid in state["rooms"][r]["after"]), None
        )
        store = state["rooms"].get(room_id) if room_id else None
        if store is None or R.membership(store, user) != "join" or not R.visible(store, eid):
            self._answer(ctx, device, _result(aid, False, error="unknown event"))
            return
        wanted = _type_filter(msg.get("types"))
        ev = store["events"][eid]
        start = [
            [store["events"][p]["depth"] if R.placed(store, p) else ev["depth"] - 1, p]
            for p in ev["prev_events"]
        ]
        before, start_token, _ = R.walk_back(store, start, msg.get("before", 5), wanted)
        after = R.newer(store, eid, msg.get("after", 5), wanted)
        chunk = list(reversed(before)) + [eid] + after
        last = chunk[-1]
        self._answer(
            ctx,
            device,
            _result(
                aid,
                True,
                room=room_id,
                event_id=eid,
                chunk=[store["events"][e] for e in chunk],
                start=start_token,
                end=last,
                state=[store["events"][x] for _, x in sorted(store["after"][last].items())],
            ),
        )

    # -- federation --------------------------------------------------------

    def _receive(self, ctx, state, src, ev, fetched: bool = False) -> None:
        room_id, eid = ev["room_id"], ev["event_id"]
        store = state["rooms"].get(room_id)
        if store is None:
            if (
                ev["type"] == "m.room.member"
                and ev.get("content", {}).get("membership") == "invite"
            ):
                state["invites"][eid] = ev
                self._tell_invite(ctx, state, ev)
            return
        if R.placed(store, eid) or eid in state["pending"]:
            return
        missing = R.missing_prevs(store, ev)
        if missing:
            # Proposal, "Message Events Ordering Notes": events arrive out of
            # order; fetch what this one refers to before accepting it.
            state["counters"]["out_of_order"] += 1
            state["pending"][eid] = [ev, not fetched]
            wanted = [m for m in missing if m not in state["pending"]]
            if wanted:
                state["counters"]["fetches"] += 1
                ctx.send(src, {"type": "fed.get", "room": room_id, "ids": wanted})
            return
        self._ingest(ctx, state, store, ev, direct=not fetched)
        self._drain_pending(ctx, state)

    def _drain_pending(self, ctx, state) -> None:
        progress = True
        while progress:
            progress = False
            for eid in sorted(state["pending"]):
                ev, direct = state["pending"][eid]
                store = state["rooms"].get(ev["room_id"])
                if store is not None and not R.missing_prevs(store, ev):
                    del state["pending"][eid]
                    self._ingest(ctx, state, store, ev, direct)
                    progress = True

    def _ingest(self, ctx, state, store, ev, direct: bool) -> None:
        # Only events pushed to this server are held against the room as it is
        # now (soft failure); events it fetched to fill a gap are history.
        reason, changed = R.accept(store, ev, self.switches["state_resolution"], soft_fail=direct)
        if reason is None:
            self._after_accept(ctx, state, store, ev, changed)

    def _serve_get(self, ctx, state, src, msg) -> None:
        store = state["rooms"].get(msg["room"])
        if store is None:
            return
        events = [store["events"][i] for i in msg["ids"] if R.placed(store, i)]
        ctx.send(src, {"type": "fed.events", "events": events})

    # -- the event stream to devices ------------------------------------------

    def _after_accept(self, ctx, state, store, ev, changed: list[str]) -> None:
        """Tell devices what changed, and re-examine what they were shown."""
        if ev["event_id"] in store["soft_failed"]:
            return
        if is_state(ev) and store["current"].get(R.key_of(ev)) != ev["event_id"]:
            state["counters"]["superseded"] += 1
        if _is_power_event(ev):
            self._late_rejections(ctx, state, store, ev)
        for device in sorted(state["devices"]):
            self._stream_to(ctx, state, store, device, ev, changed)
        if ev["type"] == "m.room.member" and ev.get("content", {}).get("membership") == "invite":
            target_server = ev["state_key"].split(":", 1)[1]
            if target_server == self.name:
                state["invites"][ev["event_id"]] = ev
                self._tell_invite(ctx, state, ev)

    def _tell_invite(self, ctx, state, ev) -> None:
        for device in sorted(state["devices"]):
            if state["devices"][device]["user"] == ev["state_key"]:
                pos = self._next_pos(state, device)
                self._answer(ctx, device, {"type": "invite", "pos": pos, "event": ev})

    def _stream_to(self, ctx, state, store, device, ev, changed) -> None:
        dev = state["devices"][device]
        room_id = ev["room_id"]
        if R.membership(store, dev["user"]) != "join":
            return
        sent = dev["sent"].setdefault(room_id, {})
        if room_id not in dev["shown"]:
            self._snapshot(state, store, device, room_id, skip=ev["event_id"])
        if is_state(ev) or changed:
            if self.switches["omit_superseded_state"]:
                # Proposal, "State Events Ordering Notes": never send a state
                # event superseded already; send what the current state now
                # holds wherever it changed and differs from what this device
                # was sent (a merge can change keys other than the event's).
                current = store["current"]
                for key in changed:
                    eid = current.get(key)
                    if eid is not None and sent.get(key) != eid:
                        self._send_state(ctx, state, store, device, dev, room_id, key, eid)
            elif is_state(ev):
                self._send_state(
                    ctx, state, store, device, dev, room_id, R.key_of(ev), ev["event_id"]
                )
            if is_state(ev):
                return
            # A message that merged forks changed the state; it is shown too.
        depth = dev["depth"].get(room_id, 0)
        if ev["depth"] > depth:
            dev["depth"][room_id] = ev["depth"]
            self._push(ctx, state, device, room_id, ev)
            dev["shown"][room_id].append(ev["event_id"])
        elif dev["ooo"]:
            # Proposal: the out-of-order event "will indicate which event it comes after".
            after = sorted(ev["prev_events"])[0] if ev["prev_events"] else None
            state["counters"]["ooo_shown"] += 1
            self._push(ctx, state, device, room_id, ev, after=after)
            dev["shown"][room_id].append(ev["event_id"])

    def _snapshot(self, state, store, device, room_id, skip=None, into=None, flt=None) -> None:
        """Proposal, "Mapping messages to the event stream": a server-generated
        event gives a device that is new to the room its place in the stream
        and the token to scroll back from, followed by the room's current
        state (all but ``skip``, which follows) and its recent messages.

        ``into``: collect the entries there (a join response) instead of
        queueing them for the stream; ``flt``: the join's filter (``types``
        of state events, ``limit`` of messages).
        """
        dev = state["devices"][device]
        dev["shown"][room_id] = []
        flt = flt or {}
        frontier = [[store["events"][e]["depth"], e] for e in store["extremities"]]
        # Proposal, "Global /initialSync API": "max of limit= message events".
        recent, token, _ = R.walk_back(
            store, frontier, flt.get("limit", INITIAL_LIMIT), _type_filter(None), budget=WALK_BUDGET
        )
        marker = {"type": "m.server.joined", "room_id": room_id, "token": token}
        self._push(None, state, device, room_id, marker, into=into)
        types = flt.get("types")
        for key, eid in sorted(store["current"].items()):
            if eid != skip and (types is None or R.split_key(key)[0] in types):
                self._send_state(None, state, store, device, dev, room_id, key, eid, into)
        for eid in reversed(recent):
            if eid != skip:
                ev = store["events"][eid]
                self._push(None, state, device, room_id, ev, into=into)
                dev["shown"][room_id].append(eid)
                dev["depth"][room_id] = max(dev["depth"].get(room_id, 0), ev["depth"])

    def _send_state(self, ctx, state, store, device, dev, room_id, key, eid, into=None) -> None:
        sent = dev["sent"].setdefault(room_id, {})
        current = store["current"].get(key)
        if sent.get(key) == current and current is not None and eid != current:
            # The device holds the current value and would be handed an older one.
            state["counters"]["clobbers"] += 1
        sent[key] = eid
        ev = store["events"][eid]
        dev["depth"][room_id] = max(dev["depth"].get(room_id, 0), ev["depth"])
        self._push(ctx, state, device, room_id, ev, into=into)

    def _push(self, ctx, state, device, room_id, ev, after=None, local=False, into=None) -> None:
        """Queue an event for the device; :meth:`_flush` sends the step's batch."""
        entry = {"room": room_id, "event": ev}
        if after is not None:
            entry["after"] = after
        if local:
            entry["local"] = True
        if into is not None:
            into.append(entry)
            return
        state.setdefault("outbox", {}).setdefault(device, []).append(entry)

    def _flush(self, ctx, state) -> None:
        """Proposal, "Event Stream API": "0-N events the client hasn't seen" and a new position.

        One stream response per device per step, so a step's events reach a
        device together (the outbox is empty again between steps).
        """
        outbox = state.pop("outbox", {})
        for device in sorted(outbox):
            pos = self._next_pos(state, device)
            self._answer(ctx, device, {"type": "stream", "pos": pos, "events": outbox[device]})

    def _next_pos(self, state, device) -> int:
        """The device's next stream position (each device reads its own stream)."""
        dev = state["devices"][device]
        dev["pos"] += 1
        return dev["pos"]

    def _late_rejections(self, ctx, state, store, ev) -> None:
        """Proposal, "Rejected events": events shown that the room now refuses.

        A ban, kick or power change that arrives late can make recent events
        concurrent with it unacceptable. The server hides them and sends each
        device that was shown one a local ``m.room.redaction``; it is not
        federated.
        """
        candidates = [e for e in store["recent"] if e not in store["soft_failed"]]
        if not candidates:
            return
        older = R.ancestors(
            store, ev["event_id"], min(store["events"][e]["depth"] for e in candidates)
        )
        for eid in candidates:
            victim = store["events"][eid]
            if eid in older or is_state(victim) or R.passes_current(store, victim):
                continue
            state["counters"]["late_rejections"] += 1
            if not self.switches["rejected_events"]:
                continue  # the devices keep showing it
            store["soft_failed"][eid] = "rejected after it was shown"
            for device in sorted(state["devices"]):
                dev = state["devices"][device]
                if eid in dev["shown"].get(ev["room_id"], []):
                    redaction = {
                        "type": "m.room.redaction",
                        "redacts": eid,
                        "sender": self.name,
                        "room_id": ev["room_id"],
                        "event_id": f"~{self.name}.redacts.{eid}",
                    }
                    self._push(ctx, state, device, ev["room_id"], redaction, local=True)


def _initial_state(creator: str, public: bool, power: dict | None = None) -> list[tuple]:
    """Proposal, "Room Creation": the events every new room starts with."""
    levels = {
        "users": {creator: 100, **(power or {})},
        "users_default": 0,
        "events_default": 0,
        "state_default": 50,
        "events": {"m.room.topic": 0, "m.room.name": 50},
        "ban": 50,
        "kick": 50,
        "invite": 0,
        "redact": 50,
    }
    return [
        ("m.room.create", {"creator": creator}, ""),
        ("m.room.member", {"membership": "join"}, creator),
        ("m.room.power_levels", levels, ""),
        ("m.room.join_rules", {"join_rule": "public" if public else "invite"}, ""),
    ]


def _type_filter(types: list[str] | None):
    """A filter's event types (proposal, "Filter API"); by default, messages."""
    if types is None:
        return lambda ev: not is_state(ev)
    return lambda ev: ev["type"] in types


def _resolve_alias(state: dict, alias: str) -> str | None:
    """The room an alias names, by the ``m.room.aliases`` state of rooms held here."""
    for room_id in sorted(state["rooms"]):
        if alias in R.aliases(state["rooms"][room_id]):
            return room_id
    return None


def _result(aid: Any, ok: bool, **extra: Any) -> dict[str, Any]:
    return {"type": "result", "aid": aid, "ok": ok, **extra}
