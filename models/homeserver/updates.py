"""Events that update or relate to other events (proposal: "Updates (Events)",
"Relates to (Events)", and their "Bundling").

"Events may update other events. This is represented by the ``updates``
key"; "Events may be in response to other events, e.g. comments. This is
represented by the ``relates_to`` key." A child is a room event like any
other: it is made on top of the room, accepted through the auth rules and
state resolution, federated and streamed. Because the parent was in the
graph when the child was made, the parent is an ancestor of the child on
every server. How children come down to devices (inside their parent, or
held back) is :mod:`mxsim.models.homeserver.bundling`'s.

A request carries the device's action ID; the event keeps it (``txn``:
device and action ID), so a request the device sends again after a loss
makes no second event. An accepted event is answered by the echo in the
device's own stream (one message, not a result and a push); a refused one
by a ``result``. The VoIP signalling (proposal, "VoIP": "This uses the
``updates`` key to handle signalling") rides on this part; see
:mod:`mxsim.models.device.calls`.
"""

from __future__ import annotations

from typing import Any

from mxsim.models.homeserver.rooms import result
from mxsim.sim.node import Context
from mxsim.sim.parts import Part

__all__ = ["Updates", "RELATIONS", "children", "parent_of"]

#: The keys by which a child names its parent: "Updates (Events)", "Relates to (Events)".
RELATIONS = ("updates", "relates_to")


class Updates(Part):
    """No state of its own: the children live in the room's event graph."""

    name = "updates"
    section = "Updates (Events); Relates to (Events)"
    handles = ("send_event",)

    def on_send_event(self, ctx: Context, state: dict, device: Any, msg: dict) -> None:
        relation = {k: msg[k] for k in RELATIONS if msg.get(k) is not None}
        self.send(ctx, state, device, msg.get("aid"), msg, **relation)

    def send(
        self,
        ctx: Context,
        state: dict,
        device: Any,
        aid: Any,
        msg: dict,
        updates: str | None = None,
        relates_to: str | None = None,
    ) -> dict | None:
        """Make the event ``msg`` asks for (``room``, ``event_type``, ``content``;
        ``whoami`` where ``device`` is None) as a child of ``updates`` or
        ``relates_to`` (at most one), accept, federate and stream it.

        Returns the event, or None if it was refused (the device was answered)
        or made before (a re-sent request).
        """
        rooms = self.node.part("rooms")
        room_id = msg["room"]
        user = rooms.user(state, device, msg)
        store = rooms.stores(state).get(room_id)
        if store is None:
            rooms.answer(ctx, device, result(aid, False, error="not in room"))
            return None
        txn = None if device is None else f"{device}/{aid}"
        if txn is not None:
            for eid in reversed(store["recent"]):
                if store["events"][eid].get("txn") == txn:
                    return None  # a re-sent request: its event is made once
        relation = [(k, p) for k, p in (("updates", updates), ("relates_to", relates_to)) if p]
        if any(p not in store["after"] for _, p in relation) or len(relation) > 1:
            rooms.answer(ctx, device, result(aid, False, error="unknown parent event"))
            return None
        content = msg.get("content", {})
        ev = rooms.new_event(state, store, room_id, msg["event_type"], user, content)
        for key, parent in relation:
            ev[key] = parent
        if txn is not None:
            ev["txn"] = txn
        reason, changed = rooms.accept(store, ev)
        if reason is not None or ev["event_id"] in store["soft_failed"]:
            rooms.answer(ctx, device, result(aid, False, error=reason or "not allowed now"))
            return None
        # Accepted: the device's own stream echoes the event, which answers it.
        rooms.federate(ctx, state, store, ev)
        rooms.accepted(ctx, state, store, ev, changed)
        return ev


def parent_of(ev: dict) -> str | None:
    """The event a child names (``updates`` or ``relates_to``); None for a top-level event."""
    return ev.get("updates") or ev.get("relates_to")


def children(store: dict, parent: str, key: str = "updates") -> list[dict]:
    """The children of ``parent`` by ``key`` this server shows, in the order it accepted them."""
    events, hidden = store["events"], store["soft_failed"]
    return [events[e] for e in store["recent"] if events[e].get(key) == parent and e not in hidden]
