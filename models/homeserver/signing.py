"""The E2E signing round trip on the homeserver (proposal, "E2E Notes").

"For signing: You send the original message to the HS and it will return the
full event JSON which will be sent. This full event is then signed and sent to
the HS again to send the message." Two requests, each with its action ID:

- ``prepare`` (room, event_type, content): the server makes the full event
  (its ID, ``prev_events`` on the room's forward extremities, depth, auth
  events), remembers it, and answers with it without placing it;
- ``send_signed`` (room, event): the signed event, placed as signed.

Between the two, other events may arrive, so the prepared ``prev_events`` are
no longer the room's forward extremities. The switch ``prepared_prevs`` says
what the server does then: ``"as_prepared"`` places the event as signed (a
fork in the graph, which the next event joins); ``"refresh"`` moves it onto
the current extremities, which changes what the user signed.
"""

from __future__ import annotations

from typing import Any

from mxsim.models import room as R
from mxsim.models.homeserver.rooms import result
from mxsim.models.signatures import verifies
from mxsim.sim.model import Switch, View, always, sometimes
from mxsim.sim.node import Context
from mxsim.sim.parts import Part

__all__ = ["Signing"]

PREPARED_PREVS = Switch(
    "prepared_prevs",
    "as_prepared",
    'E2E Notes: "This full event is then signed and sent to the HS again" ("refresh": a '
    "prepared event that other events overtook is moved onto the current extremities).",
    ("as_prepared", "refresh"),
)


class Signing(Part):
    """State: ``prepared`` (event ID -> the device it was prepared for) and ``seen``
    (``stale``: a signed event came back after other events had arrived)."""

    name = "signing"
    section = "E2E Notes"
    handles = ("prepare", "send_signed")
    switches = (PREPARED_PREVS,)

    def initial(self) -> dict[str, Any]:
        return {"prepared": {}, "seen": {}}

    def bind(self) -> None:
        self.rooms = self.node.part("rooms")

    def on_prepare(self, ctx: Context, state: dict, device: Any, msg: dict) -> None:
        rooms, aid = self.rooms, msg.get("aid")
        store = rooms.stores(state).get(msg["room"])
        if store is None:
            rooms.answer(ctx, device, result(aid, False, error="no such room"))
            return
        user = rooms.user(state, device, msg)
        ev = rooms.new_event(
            state, store, msg["room"], msg["event_type"], user, msg.get("content") or {}
        )
        self.of(state)["prepared"][ev["event_id"]] = device
        rooms.answer(ctx, device, result(aid, True, event=ev, room=msg["room"]))

    def on_send_signed(self, ctx: Context, state: dict, device: Any, msg: dict) -> None:
        rooms, aid, ev = self.rooms, msg.get("aid"), dict(msg["event"])
        store = rooms.stores(state).get(msg["room"])
        prepared = self.of(state)["prepared"]
        eid = ev.get("event_id")
        if store is None or prepared.get(eid) != device:
            rooms.answer(ctx, device, result(aid, False, error="not prepared here"))
            return
        if not verifies(ev):
            rooms.answer(ctx, device, result(aid, False, error="bad signature"))
            return
        if sorted(ev["prev_events"]) != sorted(store["extremities"]):
            # Other events arrived between the two requests.
            self.of(state)["seen"]["stale"] = True
            if self.node.switches["prepared_prevs"] == "refresh":
                fresh = R.next_event(
                    store, ev["room_id"], ev["type"], ev["sender"], ev["content"], None, eid
                )
                ev.update(prev_events=fresh["prev_events"], depth=fresh["depth"])
                ev["auth_events"] = fresh["auth_events"]
        del prepared[eid]
        rooms.local(ctx, state, device, aid, store, ev)


# -- properties ------------------------------------------------------------------------


def _servers(view: View) -> list[str]:
    return [n for n in view.nodes if view.kind(n) == "homeserver" and "signing" in view.state(n)]


@always("signatures_verify")
def signatures_verify(view: View) -> bool:
    """Every signed event a server holds is the event its sender signed."""
    for hs in view.nodes:
        if view.kind(hs) != "homeserver":
            continue
        for store in view.state(hs)["rooms"]["stores"].values():
            for ev in store["events"].values():
                if "signatures" in ev and not verifies(ev):
                    return False
    return True


@sometimes("prepared_went_stale")
def prepared_went_stale(view: View) -> bool:
    """A signed event came back after other events had moved the room on."""
    return any(view.state(s)["signing"]["seen"].get("stale") for s in _servers(view))


Signing.properties = (signatures_verify, prepared_went_stale)
