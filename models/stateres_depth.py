"""The depth rule: state resolution as the proposal's time knew it.

In 2015 (proposal commit 494a691) a homeserver that saw several state sets
for a room kept, for each piece of state they disagreed on, the event with
the greatest ``depth``: the one furthest from the room's creation along
``prev_events``. mxsim models that rule so that it can be compared with
state resolution v2 (:mod:`models.stateres_v2`).

The rule runs no auth checks and trusts the depth each sender claims, so it
can "reset" state: a banned user's older membership, written deeper in a
long fork, beats the ban. That is the behaviour the comparison is meant to
show.

Ties (equal depth) go to the smallest event ID, so the result is the same on
every server and in every process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mxsim.models.events import Event, StateKey

__all__ = ["resolve_depth"]


def resolve_depth(
    state_sets: Sequence[Mapping[StateKey, str]], events: Mapping[str, Event]
) -> dict[StateKey, str]:
    """For each key, the event with the greatest depth among the sets holding it.

    A key some sets lack is taken from those that hold it. Ties in depth go
    to the smallest event ID.

    >>> events = {"$a": {"depth": 3}, "$b": {"depth": 5}, "$c": {"depth": 5}}
    >>> resolve_depth([{("t", ""): "$a"}, {("t", ""): "$c"}, {("t", ""): "$b"}], events)
    {('t', ''): '$b'}
    """
    keys: set[StateKey] = set()
    for state in state_sets:
        keys.update(state)
    out: dict[StateKey, str] = {}
    for key in sorted(keys):
        ids = sorted({state[key] for state in state_sets if key in state})
        out[key] = min(ids, key=lambda eid: (-_depth(events[eid]), eid))
    return out


def _depth(ev: Mapping[str, object]) -> int:
    depth = ev.get("depth", 0)
    return depth if isinstance(depth, int) else 0
