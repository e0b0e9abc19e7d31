"""Events that update other events (proposal: "Updates (Events)", "Bundling").

"Events may update other events. This is represented by the ``updates``
key." A child is a room event like any other: it is made on top of the
room, accepted through the auth rules and state resolution, federated and
streamed. Because the parent was in the graph when the child was made, the
parent is an ancestor of the child on every server, so every device is
streamed the parent before the child, and a device only shows a child
whose parent it holds ("never shown without it").

A request carries the device's action ID; the event keeps it (``txn``:
device and action ID), so a request the device sends again after a loss
makes no second event. An accepted event is answered by the echo in the
device's own stream (one message, not a result and a push); a refused one
by a ``result``. The VoIP
signalling (proposal, "VoIP": "This uses the ``updates`` key to handle
signalling") rides on this part; see :mod:`mxsim.models.device.calls`.
"""

from __future__ import annotations

from typing import Any

from mxsim.models.homeserver.rooms import result
from mxsim.sim.node import Context
from mxsim.sim.parts import Part

__all__ = ["Updates", "children"]


class Updates(Part):
    """No state of its own: the children live in the room's event graph."""

    name = "updates"
    section = "Updates (Events); Bundling"
    handles = ("send_event",)

    def on_send_event(self, ctx: Context, state: dict, device: Any, msg: dict) -> None:
        rooms = self.node.part("rooms")
        aid, room_id = msg.get("aid"), msg["room"]
        user = rooms.user(state, device, msg)
        store = rooms.stores(state).get(room_id)
        if store is None:
            rooms.answer(ctx, device, result(aid, False, error="not in room"))
            return
        txn = None if device is None else f"{device}/{aid}"
        if txn is not None:
            for eid in reversed(store["recent"]):
                if store["events"][eid].get("txn") == txn:
                    return  # a re-sent request: its event is made once

        parent = msg.get("updates")
        if parent is not None and parent not in store["after"]:
            rooms.answer(ctx, device, result(aid, False, error="unknown parent event"))
            return
        content = msg.get("content", {})
        ev = rooms.new_event(state, store, room_id, msg["event_type"], user, content)
        if parent is not None:
            ev["updates"] = parent
        if txn is not None:
            ev["txn"] = txn
        reason, changed = rooms.accept(store, ev)
        if reason is not None or ev["event_id"] in store["soft_failed"]:
            rooms.answer(ctx, device, result(aid, False, error=reason or "not allowed now"))
            return
        # Accepted: the device's own stream echoes the event, which answers it.
        rooms.federate(ctx, state, store, ev)
        rooms.accepted(ctx, state, store, ev, changed)


def children(store: dict, parent: str) -> list[dict]:
    """The children of ``parent`` this server shows, in the order it accepted them."""
    events, hidden = store["events"], store["soft_failed"]
    return [
        events[e] for e in store["recent"] if events[e].get("updates") == parent and e not in hidden
    ]
