"""Federation: new events to every server in the room, resent until acknowledged.

Each new event goes to the room's other servers over a reliable link
(:mod:`mxsim.sim.reliable`): resent every ``RETRY_MS`` until acknowledged,
applied once, so a partition delays events but loses none. A received event
that refers to events this server lacks waits while it fetches them
(``fed.get`` / ``fed.events``; proposal, "Message Events Ordering Notes":
events arrive out of order). Pushed events are held against the room as it
is now (soft failure); fetched ones are history.
"""

from __future__ import annotations

from typing import Any

from mxsim.models import room as R
from mxsim.sim.model import Switch, View, always, sometimes
from mxsim.sim.node import Context
from mxsim.sim.parts import Part
from mxsim.sim.reliable import Link

__all__ = ["Federation", "RETRY_MS"]

#: How often a server sends unacknowledged events again (ms).
RETRY_MS = 500

LINK = Link("fed.event", "fed.ack", "federation:retry", RETRY_MS)

SOFT_FAIL = Switch(
    "soft_fail",
    "current_state",
    'Message Events Ordering Notes: events arrive late and out of order ("current_state": '
    "an event pushed to a server that its auth allows where it sits in the graph but the "
    'room\'s current state refuses is soft-failed, never shown; "off": shown).',
    ("current_state", "off"),
)


class Federation(Part):
    """State: the reliable ``link``, events ``pending`` (event ID -> [event,
    pushed]) until what they refer to arrives, and ``seen``: whether an event
    ever arrived before one it refers to, and (``resent``, once it happened)
    whether one was sent again unacknowledged (flags, so they multiply no
    states)."""

    name = "federation"
    section = "Federation; Message Events Ordering Notes"
    handles = ("fed.event", "fed.ack", "fed.get", "fed.events")
    switches = (SOFT_FAIL,)
    durable = ("link",)

    def bind(self) -> None:
        self.rooms = self.node.part("rooms")
        self.joining = self.node.part("joining")

    def initial(self) -> dict[str, Any]:
        return {
            "link": LINK.initial(),
            "pending": {},
            "seen": {"out_of_order": False},
        }

    def federate(self, ctx: Context, state: dict, store: dict, ev: dict, extra=()) -> None:
        """Send a new event to every other server in the room (and ``extra`` ones)."""
        targets = set(R.servers_in_room(store)) | set(extra)
        link = self.of(state)["link"]
        for server in sorted(targets - {self.node.name}):
            LINK.send(ctx, link, server, {"event": ev})

    def on_timer(self, ctx: Context, state: dict, name: str) -> None:
        mine = self.of(state)
        if mine["link"]["out"].get(name.split(":", 1)[1]):
            # Sent again: unacknowledged (a partition, a lost event or ack).
            mine["seen"]["resent"] = True
        LINK.retry(ctx, mine["link"], name.split(":", 1)[1])

    def on_fed_ack(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        LINK.acked(ctx, self.of(state)["link"], src, msg["seq"])

    def on_fed_event(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        def apply(payload: dict) -> None:
            self.receive(ctx, state, src, payload["event"])

        LINK.receive(ctx, self.of(state)["link"], src, msg, apply)

    def on_fed_get(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        store = self.rooms.stores(state).get(msg["room"])
        if store is None:
            return
        events = [store["events"][i] for i in msg["ids"] if R.placed(store, i)]
        ctx.send(src, {"type": "fed.events", "events": events})

    def on_fed_events(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        for ev in sorted(msg["events"], key=lambda e: (e["depth"], e["event_id"])):
            self.receive(ctx, state, src, ev, fetched=True)

    def receive(self, ctx: Context, state: dict, src: str, ev: dict, fetched=False) -> None:
        rooms = self.rooms
        room_id, eid = ev["room_id"], ev["event_id"]
        store = rooms.stores(state).get(room_id)
        mine = self.of(state)
        if store is None:
            joining = self.joining
            if joining is not None and _is_invite(ev):
                joining.invited(ctx, state, ev)
            if joining is not None and joining.keeps(state):
                mine["pending"][eid] = [ev, not fetched]  # taken once the join has the room
                mine["seen"]["early_event"] = True
            return
        if R.placed(store, eid) or eid in mine["pending"]:
            return
        redactions = self.node.part("redactions")
        if redactions is not None and not redactions.received(state, store, ev):
            return  # a redaction whose target is not here, discarded (early_redactions)
        missing = R.missing_prevs(store, ev)
        if missing:
            # Proposal, "Message Events Ordering Notes": events arrive out of
            # order; fetch what this one refers to before accepting it.
            mine["seen"]["out_of_order"] = True
            mine["pending"][eid] = [ev, not fetched]
            wanted = [m for m in missing if m not in mine["pending"]]
            if wanted:
                ctx.send(src, {"type": "fed.get", "room": room_id, "ids": wanted})
            return
        self.ingest(ctx, state, store, ev, pushed=not fetched)
        self.drain(ctx, state)

    def take_early(self, ctx: Context, state: dict, src: str, room_id: str) -> None:
        """The join has the room: take the events of it kept while it had not
        (switch ``join_keeps_early_events``), fetching what they refer to."""
        if not self.node.switches["join_keeps_early_events"]:
            return
        pending = self.of(state)["pending"]
        early = [pending.pop(e)[0] for e in sorted(pending) if pending[e][0]["room_id"] == room_id]
        for ev in sorted(early, key=lambda e: (e["depth"], e["event_id"])):
            self.receive(ctx, state, src, ev)

    def drain(self, ctx: Context, state: dict) -> None:
        pending = self.of(state)["pending"]
        stores = self.rooms.stores(state)
        progress = True
        while progress:
            progress = False
            for eid in sorted(pending):
                ev, pushed = pending[eid]
                store = stores.get(ev["room_id"])
                if store is not None and not R.missing_prevs(store, ev):
                    del pending[eid]
                    self.ingest(ctx, state, store, ev, pushed)
                    progress = True

    def ingest(self, ctx: Context, state: dict, store: dict, ev: dict, pushed: bool) -> None:
        # Only events pushed to this server are held against the room as it is
        # now (soft failure); events it fetched to fill a gap are history.
        rooms = self.rooms
        soft = pushed and self.node.switches["soft_fail"] == "current_state"
        if pushed and not soft and store["current"] and not R.passes_current(store, ev):
            # Shown although the room as it is now refuses it (a message from a
            # user banned meanwhile): what soft failure exists to prevent.
            self.of(state).setdefault("late", []).append(ev["event_id"])
        reason, changed = rooms.accept(store, ev, soft_fail=soft)
        if reason is None:
            rooms.accepted(ctx, state, store, ev, changed)


@sometimes("federation_resent")
def federation_resent(view: View) -> bool:
    """A server sent an event again to a server that had not acknowledged it
    (the first copy or its acknowledgement was lost: a partition, a drop)."""
    return any(
        view.state(s).get("federation", {}).get("seen", {}).get("resent")
        for s in view.nodes
        if view.kind(s) == "homeserver"
    )


@always("late_events_hidden")
def late_events_hidden(view: View) -> bool:
    """No device is shown an event that its server's room refused when it arrived
    (the room's state then, e.g. its sender banned meanwhile)."""
    for d in view.nodes:
        if view.kind(d) != "device":
            continue
        late = view.state(view.config(d)["server"]).get("federation", {}).get("late")
        if not late:
            continue
        shown = {e for eids in view.state(d)["timeline"]["timeline"].values() for e in eids}
        if shown & set(late):
            return False
    return True


@sometimes("soft_failed_somewhere")
def soft_failed_somewhere(view: View) -> bool:
    """A server soft-failed an event pushed to it (its room refused it by then)."""
    return any(
        R.SOFT_FAILED in store["soft_failed"].values()
        for s in view.nodes
        if view.kind(s) == "homeserver" and "federation" in view.state(s)
        for store in view.state(s)["rooms"]["stores"].values()
    )


Federation.properties = (federation_resent, late_events_hidden, soft_failed_somewhere)


def _is_invite(ev: dict) -> bool:
    return ev["type"] == "m.room.member" and ev.get("content", {}).get("membership") == "invite"
