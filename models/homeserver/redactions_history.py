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

The join's window: a resident server answers ``fed.make_join`` with its
history, but counts the joining server in the room only once its join event
arrives; a redaction made between the two is sent to no one there. When a
server's first member joins, :func:`catch_up` sends it the redactions applied
here that its join does not descend from (as the resident's next event would
make it fetch them).
"""

from __future__ import annotations

from mxsim.models import room as R
from mxsim.models.events import REDACTION
from mxsim.models.homeserver.federation import LINK
from mxsim.sim.model import Switch
from mxsim.sim.node import Context

__all__ = ["HISTORY_REDACTIONS", "take_history", "applies", "catch_up"]

HISTORY_REDACTIONS = Switch(
    "history_redactions",
    "apply",
    'Event Stream API: "Deleted message events are m.room.redaction events"; Scrolling '
    'back: backfill over federation; Joining a room: the join\'s history. "apply": '
    "redactions that come with history (backfill, a join's answer) strip their targets "
    "and take effect on targets that come after them, a device takes a stripped copy "
    "in a scrollback page as redacted, and a server sends one newly in the room the "
    'redactions made in its join\'s window; "ignore" (as before): history is placed as '
    "it comes, its redactions not applied.",
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
        shown = part.accepted(ctx, state, store, ev, live=False)
        if whole and shown is not None and target in store.get("redacted", {}):
            # Devices may have been shown the target whole: the redaction tells them.
            part.node.part("stream").accepted(ctx, state, store, ev, [])


def _first_of_its_server(store: dict, ev: dict, server: str) -> bool:
    """Is ``ev`` the join of a user of ``server`` when none of its users was joined
    (in the state at every event it follows)?"""
    events, suffix = store["events"], f":{server}"
    for p in ev.get("prev_events", ()):
        for key, eid in store["after"].get(p, {}).items():
            user = R.split_key(key)[1] if key.startswith("m.room.member") else ""
            if user.endswith(suffix) and events[eid].get("content", {}).get("membership") == "join":
                return False
    return True


def catch_up(part, ctx: Context, state: dict, store: dict, ev: dict) -> None:
    """Accepted event ``ev``: if it is the first join of another server's users,
    send that server the redactions applied here that ``ev`` does not follow."""
    if ev["type"] != "m.room.member" or ev.get("content", {}).get("membership") != "join":
        return
    server = ev["state_key"].split(":", 1)[1]
    federation = part.node.part("federation")
    if server == part.node.name or federation is None or not applies(part.node.switches):
        return
    rids = sorted(set(store.get("redacted", {}).values()))
    if not rids or not _first_of_its_server(store, ev, server):
        return
    events = store["events"]
    older = R.ancestors(store, ev["event_id"], min(events[r]["depth"] for r in rids))
    for rid in rids:
        if rid not in older:
            LINK.send(ctx, federation.of(state)["link"], server, {"event": events[rid]})
