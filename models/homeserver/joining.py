"""Joining a room, and invites (proposal: "Joining a room", "Rejecting an invite").

A user joins by room ID, by alias (resolved by the alias's server when this
one does not know it) or by an invite. A server not in the room joins
through a resident server (``fed.make_join`` / ``fed.join_state`` /
``fed.join_denied``): it gets the current state, its auth chain and only the
last ``JOIN_HISTORY`` events; older history comes by backfill. With the
``partial_state`` part and ``partial_state_join`` on, the state comes without
most members and the rest afterwards (:mod:`~mxsim.models.homeserver.partial_state`). A user
rejects the invite of a room its server is not in through the inviter's
server (``fed.reject`` / ``fed.rejected``).
"""

from __future__ import annotations

from typing import Any

from mxsim.models import room as R
from mxsim.models import room_history as H
from mxsim.models.homeserver.partial_state import partial_payload
from mxsim.models.homeserver.rooms import result
from mxsim.sim.model import Switch
from mxsim.sim.node import Context
from mxsim.sim.parts import Part

__all__ = ["Joining", "JOIN_HISTORY"]

#: Events (of any kind) a resident server sends a joining server besides the
#: current state and its auth chain.
JOIN_HISTORY = 4


JOIN_KEEPS_EARLY_EVENTS = Switch(
    "join_keeps_early_events",
    False,
    'Joining a room: "Room ID (with list of servers to join from)": a server joining '
    "through another is sent the room's new events (its user is invited) before the "
    "room's state reaches it. false: it drops them, as a server not in the room; true: "
    "it keeps them while a join is pending and takes them once it has the room.",
)

JOIN_RETURNS_EVENTS = Switch(
    "join_returns_events",
    False,
    'Joining a room: "the join response should return events *instead of* to the '
    'event stream, depending on the client." (true: a join that names no filter is '
    "answered with the room's events, outside the stream; false, since the proposal "
    "leaves it to the client: the joining device, too, gets the room down its stream, "
    "in stream order; a join whose filter does not ask for the stream is answered "
    "with the events at a stream position either way).",
)


class Joining(Part):
    """State: ``invites`` (event ID -> invite, for users of this server) and
    ``pending_joins`` (room ID or alias -> [device, aid, user, join filter,
    outside the stream])."""

    name = "joining"
    section = "Joining a room; Rejecting an invite"
    handles = (
        "join",
        "reject_invite",
        "fed.make_join",
        "fed.join_state",
        "fed.join_denied",
        "fed.reject",
        "fed.rejected",
    )
    durable = ("invites",)

    def keeps(self, state: dict) -> bool:
        """Does this server keep events of rooms it has not yet (a join is pending)?"""
        return self.node.switches["join_keeps_early_events"] and bool(
            self.of(state)["pending_joins"]
        )

    switches = (JOIN_RETURNS_EVENTS, JOIN_KEEPS_EARLY_EVENTS)

    def bind(self) -> None:
        self.rooms = self.node.part("rooms")
        self.stream = self.node.part("stream")

    def initial(self) -> dict[str, Any]:
        return {"invites": {}, "pending_joins": {}}

    def invited(self, ctx: Context, state: dict, ev: dict) -> None:
        """An invite for a user of this server: keep it, tell the user's devices."""
        self.of(state)["invites"][ev["event_id"]] = ev
        self.stream.tell_invite(ctx, state, ev)

    def _invited_no_more(self, state: dict, room_id: str, user: str) -> None:
        invites = self.of(state)["invites"]
        for eid in sorted(invites):
            if invites[eid]["room_id"] == room_id and invites[eid]["state_key"] == user:
                del invites[eid]

    # -- requests ----------------------------------------------------------------------

    def on_join(self, ctx: Context, state: dict, device: Any, msg: dict) -> None:
        rooms = self.rooms
        aid, user = msg.get("aid"), rooms.user(state, device, msg)
        room_id, alias = msg.get("room"), msg.get("alias")
        via = list(msg.get("via", []))
        if alias is not None:
            # Proposal, "Joining a room": by "room alias"; the alias's server
            # resolves it if this one does not know it.
            room_id = _resolve_alias(rooms.stores(state), alias)
            if room_id is None:
                via = [alias.split(":", 1)[1]]
        if "invite" in msg:
            invite = self.of(state)["invites"].get(msg["invite"])
            if invite is None:
                rooms.answer(ctx, device, result(aid, False, error="unknown invite"))
                return
            room_id = invite["room_id"]
            via = [invite["sender"].split(":", 1)[1]]
        store = rooms.stores(state).get(room_id) if room_id else None
        if store is not None and store["current"]:
            self._invited_no_more(state, room_id, user)
            content = {"membership": "join"}
            ev = rooms.new_event(state, store, room_id, "m.room.member", user, content, user)
            rooms.local(ctx, state, device, aid, store, ev, *self.response(state, device, msg))
            return
        resident = next((s for s in via if s != self.node.name), None)
        if resident is None:
            rooms.answer(ctx, device, result(aid, False, error="no server to join through"))
            return
        key = room_id or alias
        self.of(state)["pending_joins"][key] = [
            device,
            aid,
            user,
            *self.response(state, device, msg),
        ]
        ask = {"type": "fed.make_join", "room": room_id, "alias": alias, "key": key, "user": user}
        partial = self.node.part("partial_state")
        if partial is not None and partial.mode() != "off":
            ask["omit_members"] = True  # faster joins: the members come afterwards
        ctx.send(resident, ask)

    def response(self, state: dict, device: Any, msg: dict) -> tuple[dict | None, bool]:
        """The join response's filter, and whether it is outside the stream: a
        join naming no filter returns the events under ``join_returns_events``."""
        flt = msg.get("filter")
        if flt is None and self.node.switches.get("join_returns_events"):
            flt, outside = {}, True
        else:
            outside = False
        if flt is not None and not flt.get("stream") and device is not None:
            # The response holds the room's start for the device: known to it now.
            self.stream.register(state, device, msg["whoami"], msg["out_of_order"])
        return flt, outside

    def on_reject_invite(self, ctx: Context, state: dict, device: Any, msg: dict) -> None:
        rooms = self.rooms
        aid, user = msg.get("aid"), rooms.user(state, device, msg)
        invites = self.of(state)["invites"]
        invite = invites.get(msg["invite"])
        if invite is None or invite["state_key"] != user:
            rooms.answer(ctx, device, result(aid, False, error="unknown invite"))
            return
        room_id = invite["room_id"]
        store = rooms.stores(state).get(room_id)
        if store is None or not store["current"]:
            # Not in the room: the inviter's server makes the deletion.
            resident = invite["sender"].split(":", 1)[1]
            reject = {"type": "fed.reject", "invite": invite, "user": user, "req": [device, aid]}
            ctx.send(resident, reject)
            return
        invites.pop(msg["invite"], None)
        # Proposal, "Rejecting an invite": the member event is DELETEd.
        ev = rooms.new_event(state, store, room_id, "m.room.member", user, None, user)
        rooms.local(ctx, state, device, aid, store, ev)

    # -- between servers -----------------------------------------------------------------

    def on_fed_make_join(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        stores = self.rooms.stores(state)
        room_id = msg["room"]
        if room_id is None:
            room_id = _resolve_alias(stores, msg["alias"])
        store = stores.get(room_id) if room_id else None
        denied = {"type": "fed.join_denied", "key": msg["key"]}
        if store is None or not store["current"]:
            ctx.send(src, {**denied, "error": "unknown room"})
            return
        probe = {
            "type": "m.room.member",
            "state_key": msg["user"],
            "sender": msg["user"],
            "content": {"membership": "join"},
            "room_id": room_id,
        }
        if not R.passes_current(store, probe):
            ctx.send(src, {**denied, "error": "forbidden"})
            return
        payload = H.join_payload(store, JOIN_HISTORY)
        if msg.get("omit_members"):
            payload = partial_payload(store, payload, msg["user"])
        ctx.send(src, {"type": "fed.join_state", "room": room_id, "key": msg["key"], **payload})

    def on_fed_join_state(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        rooms = self.rooms
        room_id = msg["room"]
        pending = self.of(state)["pending_joins"].pop(msg["key"], None)
        store = rooms.stores(state).setdefault(room_id, R.new_store())
        before = set(store["after"])
        if store["current"]:
            R.insert_history(store, msg)
        else:
            R.adopt(store, msg)
            partial = self.node.part("partial_state")
            if msg.get("partial") and partial is not None:
                partial.joined(ctx, state, src, room_id, msg)
        redactions = self.node.part("redactions")
        if redactions is not None:
            redactions.placed(ctx, state, store, sorted(set(store["after"]) - before))
        self.node.part("federation").take_early(ctx, state, src, room_id)
        if pending is None:
            return
        device, aid, user, join_filter, outside = pending
        self._invited_no_more(state, room_id, user)
        ev = rooms.new_event(
            state, store, room_id, "m.room.member", user, {"membership": "join"}, user
        )
        self.rooms.answer_late(ctx, state, device, aid, lambda c: rooms.local(
            c, state, device, aid, store, ev, join_filter, outside
        ))  # fmt: skip

    def on_fed_join_denied(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        pending = self.of(state)["pending_joins"].pop(msg["key"], None)
        if pending:
            answer = result(pending[1], False, error=msg["error"])
            self.rooms.answer_late(
                ctx,
                state,
                pending[0],
                pending[1],
                lambda c: self.rooms.answer(c, pending[0], answer),
            )

    def on_fed_reject(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        """Make the deletion of a remote user's invite (proposal, "Rejecting an invite")."""
        rooms = self.rooms
        invite, user = msg["invite"], msg["user"]
        store = rooms.stores(state).get(invite["room_id"])
        ok, error = False, "unknown room"
        if store is not None and R.membership(store, user) == "invite":
            ev = rooms.new_event(state, store, invite["room_id"], "m.room.member", user, None, user)
            reason, changed = rooms.accept(store, ev)
            ok, error = reason is None, reason
            if ok:
                rooms.federate(ctx, state, store, ev, (src,))
                rooms.accepted(ctx, state, store, ev, changed)
        reply = {"type": "fed.rejected", "invite": invite["event_id"], "req": msg["req"]}
        ctx.send(src, {**reply, "ok": ok, "error": error})

    def on_fed_rejected(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        device, aid = msg["req"]
        if msg["ok"]:
            self.of(state)["invites"].pop(msg["invite"], None)
        answer = result(aid, msg["ok"], error=msg.get("error"))
        self.rooms.answer_late(
            ctx, state, device, aid, lambda c: self.rooms.answer(c, device, answer)
        )


def _resolve_alias(stores: dict, alias: str) -> str | None:
    """The room an alias names, by the ``m.room.aliases`` state of rooms held here."""
    for room_id in sorted(stores):
        if alias in R.aliases(stores[room_id]):
            return room_id
    return None
