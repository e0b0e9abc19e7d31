"""Redactions that come with history (proposal: "Event Stream API": "Deleted
message events are ``m.room.redaction`` events"; "Scrolling back" (backfill
over federation); "Joining a room" (the join's state and recent history)).

Events a server places from another server's history (``fed.history``, a
``fed.join_state`` answer) enter its store without passing through
:meth:`Rooms.accepted`, so, unlike pushed and fetched events, they would
not apply the redactions among them, nor have the redactions waiting for
them applied. :func:`take_history` does both, in (depth, ID) order: a
redaction placed from history strips its target if the store holds it (and
goes down the streams of the devices that may have been shown the target
whole), or waits for it (``early_redactions``); a target placed from history
takes the redactions already waiting for it. A device takes the stripped
copy in a scrollback page as redacted (:mod:`mxsim.models.device.timeline`).
"""

from __future__ import annotations

from mxsim.models import room as R
from mxsim.models.events import REDACTION
from mxsim.sim.model import Switch
from mxsim.sim.node import Context

__all__ = ["HISTORY_REDACTIONS", "take_history", "applies"]

HISTORY_REDACTIONS = Switch(
    "history_redactions",
    "apply",
    'Event Stream API: "Deleted message events are m.room.redaction events"; Scrolling '
    'back: backfill over federation; Joining a room: the join\'s history. "apply": '
    "redactions that come with history (backfill, a join's answer) strip their targets "
    "and take effect on targets that come after them, and a device takes a stripped copy "
    'in a scrollback page as redacted; "ignore": history is placed as it comes, its '
    "redactions not applied.",
    choices=("apply", "ignore"),
)


def applies(switches) -> bool:
    """Are redactions that come with history applied (``history_redactions``)?"""
    return switches.get("history_redactions", "apply") == "apply"


def take_history(part, ctx: Context, state: dict, store: dict, new: list[str]) -> None:
    """Events ``new`` were placed in ``store`` from another server's history:
    apply the redactions among them and those waiting for them."""
    events = store["events"]
    for eid in sorted(new, key=lambda e: (events[e]["depth"], e)):
        ev = events[eid]
        if ev["type"] == REDACTION:
            part.saw(state, "history")
        hidden = eid in store["rejected"] or eid in store["soft_failed"]
        if hidden or not applies(part.node.switches):
            continue
        target = ev.get("redacts") if ev["type"] == REDACTION else None
        whole = isinstance(target, str) and R.placed(store, target)
        whole = whole and bool(events[target].get("content"))
        whole = whole and target not in store.get("redacted", {})
        shown = part.accepted(ctx, state, store, ev)
        if whole and shown is not None and target in store.get("redacted", {}):
            # Devices may have been shown the target whole: the redaction tells them.
            part.node.part("stream").accepted(ctx, state, store, ev, [])
