"""Matrix state resolution v2, as Synapse runs it for room versions 2 to 11.

Given several state sets (maps from ``(type, state_key)`` to event ID), the
algorithm:

1. splits the keys into *unconflicted* (every set holds the same event, and
   every set holds the key) and *conflicted* ones;
2. computes the *auth difference*: the events in the auth chain of some but
   not all sets, where a set's auth chain holds its state events and all
   their auth ancestors; with the conflicted events it forms the *full
   conflicted set*;
3. takes the *power events* in it (``m.room.create``, ``m.room.power_levels``,
   ``m.room.join_rules``, and ``m.room.member`` leaves and bans whose sender
   is not the target, i.e. kicks and bans) together with their auth
   ancestors inside the full conflicted set, and sorts them in *reverse
   topological power order*: auth events first, ties broken by the sender's
   power level (descending, from the event's own auth events), then
   ``origin_server_ts``, then event ID;
4. applies them in that order to the unconflicted state, each one only if it
   passes the auth rules against the state built so far (*iterative auth
   checks*);
5. sorts the remaining events by their position on the *mainline* of the
   resolved power levels (the chain of power-levels events reached through
   auth events), then ``origin_server_ts``, then event ID, and applies them
   with iterative auth checks again;
6. lays the unconflicted state over the result.

This is the algorithm of the Matrix specification's "State resolution v2",
with Synapse's readings where the text leaves room: a key is conflicted also
when some set lacks it, and an event's own auth events, overridden by the
state being built, authorize it during iterative auth checks.

The proposal of 2015 predates it (see :mod:`models.stateres_depth` for the
rule of its time); mxsim models it because today's homeservers run it.
"""

from __future__ import annotations

import heapq
from collections.abc import Container, Mapping, Sequence
from typing import Any

from mxsim.models.auth import auth_allows
from mxsim.models.auth_events import auth_types_for_event
from mxsim.models.event_graph import post_order
from mxsim.models.events import (
    CREATE_KEY,
    JOIN_RULES_KEY,
    MEMBER,
    POWER_LEVELS_KEY,
    Event,
    StateKey,
    content_of,
    is_state,
    membership_of,
)
from mxsim.models.power_levels import creator_of
from mxsim.models.state_keys import state_key_tuple

__all__ = [
    "separate",
    "auth_depth",
    "auth_difference",
    "is_power_event",
    "sender_power_level",
    "reverse_topological_power_sort",
    "mainline_sort",
    "iterative_auth_checks",
    "resolve_v2",
]

StateMap = dict[StateKey, str]


def separate(
    state_sets: Sequence[Mapping[StateKey, str]],
) -> tuple[StateMap, dict[StateKey, list[str]]]:
    """Split state sets into unconflicted state and conflicted candidates.

    A key is unconflicted when every set holds it with the same event.
    Conflicted keys map to the sorted distinct event IDs the sets hold.

    >>> separate([{("t", ""): "$a", ("n", ""): "$n"}, {("t", ""): "$b", ("n", ""): "$n"}])
    ({('n', ''): '$n'}, {('t', ''): ['$a', '$b']})
    """
    unconflicted: StateMap = {}
    conflicted: dict[StateKey, list[str]] = {}
    keys: set[StateKey] = set()
    for state in state_sets:
        keys.update(state)
    for key in sorted(keys):
        ids = {state.get(key) for state in state_sets}
        if len(ids) == 1:
            (only,) = ids
            assert only is not None
            unconflicted[key] = only
        else:
            conflicted[key] = sorted(i for i in ids if i is not None)
    return unconflicted, conflicted


def auth_depth(event_id: str, events: Mapping[str, Event], memo: dict[str, int]) -> int:
    """Length of the longest auth-event path below an event, memoised.

    An event without (known) auth events has auth depth 0; otherwise it is
    one more than the deepest of its auth events. Every auth event thus has
    a smaller auth depth than the events it authorizes, which is what the
    walk in :func:`auth_difference` relies on.

    Raises
    ------
    ValueError
        If the auth events form a cycle.
    """
    if event_id in memo:
        return memo[event_id]

    def auth(eid: str) -> list[str]:
        return [a for a in events[eid].get("auth_events", ()) if a in events]

    def visit(eid: str, below: Sequence[str]) -> None:
        memo[eid] = 1 + max((memo[a] for a in below), default=-1)

    post_order(event_id, auth, memo, visit, set(), "auth events form a cycle through")
    return memo[event_id]


def auth_difference(
    state_sets: Sequence[Mapping[StateKey, str]],
    events: Mapping[str, Event],
    depths: dict[str, int] | None = None,
) -> set[str]:
    """Events in the auth chain of some, but not all, of the state sets.

    A set's auth chain holds its state events and, recursively, their auth
    events (as Synapse computes it). The walk visits events from the highest
    auth depth down, carrying a bit mask of the sets that reach each event,
    and stops once every event still to visit is reached by all sets, so it
    only reads the part of the auth graph where the sets differ. Auth events
    that ``events`` lacks are skipped.
    """
    if depths is None:
        depths = {}
    full = (1 << len(state_sets)) - 1
    masks: dict[str, int] = {}
    for i, state in enumerate(state_sets):
        bit = 1 << i
        for eid in state.values():
            masks[eid] = masks.get(eid, 0) | bit
    heap = [(-auth_depth(eid, events, depths), eid) for eid in masks if eid in events]
    heapq.heapify(heap)
    partial = sum(1 for _, eid in heap if masks[eid] != full)
    while heap and partial:
        _, eid = heapq.heappop(heap)
        mask = masks[eid]
        if mask != full:
            partial -= 1
        for aid in events[eid].get("auth_events", ()):
            if aid not in events:
                continue
            old = masks.get(aid)
            if old is None:
                masks[aid] = mask
                heapq.heappush(heap, (-auth_depth(aid, events, depths), aid))
                if mask != full:
                    partial += 1
            elif old | mask != old:
                masks[aid] = old | mask
                if old | mask == full:
                    partial -= 1
    return {eid for eid, mask in masks.items() if mask != full}


def is_power_event(ev: Mapping[str, Any]) -> bool:
    """True for the events state resolution v2 orders first.

    >>> is_power_event({"type": "m.room.member", "state_key": "@b:x", "sender": "@a:x",
    ...                 "content": {"membership": "ban"}})
    True
    """
    if not is_state(ev):
        return False
    key = state_key_tuple(ev)
    if key in (POWER_LEVELS_KEY, JOIN_RULES_KEY, CREATE_KEY):
        return True
    if key[0] == MEMBER and membership_of(ev) in ("leave", "ban"):
        return ev.get("sender") != ev["state_key"]
    return False


def _auth_event_id(ev: Mapping[str, Any], key: StateKey, events: Mapping[str, Event]) -> str | None:
    # The first of the event's auth events that holds ``key``.
    for aid in ev.get("auth_events", ()):
        aev = events.get(aid)
        if aev is not None and is_state(aev) and state_key_tuple(aev) == key:
            return aid
    return None


def sender_power_level(ev: Mapping[str, Any], events: Mapping[str, Event]) -> int:
    """The sender's power level by the event's own auth events.

    From the power-levels auth event (``users[sender]``, else
    ``users_default``, else 0); without one, 100 for the room creator and 0
    for others. A level that is not an integer counts as 0.
    """
    sender = ev.get("sender")
    pl_id = _auth_event_id(ev, POWER_LEVELS_KEY, events)
    if pl_id is None:
        create_id = _auth_event_id(ev, CREATE_KEY, events)
        return 100 if create_id is not None and creator_of(events[create_id]) == sender else 0
    content = content_of(events[pl_id])
    users = content.get("users")
    level = users.get(sender) if isinstance(users, dict) else None
    if level is None:
        level = content.get("users_default", 0)
    try:
        return int(level) if level is not None else 0
    except (TypeError, ValueError, OverflowError):
        return 0


def reverse_topological_power_sort(
    power_ids: Sequence[str], full_conflicted: Container[str], events: Mapping[str, Event]
) -> list[str]:
    """Sort power events and their auth ancestors in the full conflicted set.

    Kahn's algorithm over the auth graph restricted to the full conflicted
    set, emitting auth events before the events they authorize; among the
    events ready, the smallest ``(-sender power, origin_server_ts, event_id)``
    comes first.
    """
    graph: dict[str, set[str]] = {}
    for start in sorted(power_ids):
        todo = [start]
        while todo:
            eid = todo.pop()
            if eid in graph:
                continue
            edges = {a for a in events[eid].get("auth_events", ()) if a in full_conflicted}
            graph[eid] = edges
            todo.extend(sorted(a for a in edges if a not in graph))
    children: dict[str, list[str]] = {eid: [] for eid in graph}
    for eid in sorted(graph):
        for aid in graph[eid]:
            children[aid].append(eid)
    outdegree = {eid: len(edges) for eid, edges in graph.items()}

    def order(eid: str) -> tuple[int, int, str]:
        ev = events[eid]
        return (-sender_power_level(ev, events), _ts(ev), eid)

    ready = [(order(eid), eid) for eid in sorted(graph) if not outdegree[eid]]
    heapq.heapify(ready)
    out: list[str] = []
    while ready:
        _, eid = heapq.heappop(ready)
        out.append(eid)
        for child in children[eid]:
            outdegree[child] -= 1
            if not outdegree[child]:
                heapq.heappush(ready, (order(child), child))
    return out


def _ts(ev: Mapping[str, Any]) -> int:
    ts = ev.get("origin_server_ts", 0)
    return ts if isinstance(ts, int) else 0


def mainline_sort(
    event_ids: Sequence[str], power_levels_id: str | None, events: Mapping[str, Event]
) -> list[str]:
    """Sort events by mainline position, then ``origin_server_ts``, then ID.

    The mainline is the resolved power-levels event and the chain of
    power-levels events beneath it through auth events; the oldest is
    position 1. An event's position is that of the first mainline event met
    by following power-levels auth events from the event itself (0 if none).
    """
    if not event_ids:
        return []
    mainline: list[str] = []
    pl_id = power_levels_id if power_levels_id in events else None
    while pl_id is not None and pl_id not in mainline:  # (a cycle would loop)
        mainline.append(pl_id)
        pl_id = _auth_event_id(events[pl_id], POWER_LEVELS_KEY, events)
    position = {eid: i + 1 for i, eid in enumerate(reversed(mainline))}
    memo: dict[str, int] = {}

    def depth_of(eid: str) -> int:
        path: dict[str, None] = {}  # ordered, with fast membership
        cur: str | None = eid
        found = 0
        while cur is not None:
            if cur in position:
                found = position[cur]
                break
            if cur in memo:
                found = memo[cur]
                break
            if cur in path:
                break  # an auth cycle: no mainline event below
            path[cur] = None
            cur = _auth_event_id(events[cur], POWER_LEVELS_KEY, events)
        for p in path:
            memo[p] = found
        return found

    keys = {eid: (depth_of(eid), _ts(events[eid]), eid) for eid in event_ids}
    return sorted(event_ids, key=keys.__getitem__)


def iterative_auth_checks(
    order: Sequence[str],
    base: Mapping[StateKey, str],
    events: Mapping[str, Event],
    rejected: Container[str] = (),
) -> StateMap:
    """Apply events in order, each only if it passes auth against the state so far.

    An event is checked against its own (non-rejected) auth events,
    overridden by the state being built for the keys
    :func:`models.auth_events.auth_types_for_event` names. Rejected events are
    skipped.
    """
    state: StateMap = dict(base)
    for eid in order:
        if eid in rejected:
            continue
        ev = events[eid]
        auth: dict[StateKey, Event] = {}
        for aid in ev.get("auth_events", ()):
            aev = events.get(aid)
            if aev is not None and aid not in rejected and is_state(aev):
                auth[state_key_tuple(aev)] = aev
        for key in auth_types_for_event(ev):
            sid = state.get(key)
            if sid is not None and sid not in rejected:
                auth[key] = events[sid]
        if auth_allows(ev, auth):
            state[state_key_tuple(ev)] = eid
    return state


def resolve_v2(
    state_sets: Sequence[Mapping[StateKey, str]],
    events: Mapping[str, Event],
    *,
    rejected: Container[str] = (),
    depths: dict[str, int] | None = None,
) -> StateMap:
    """Resolve state sets with state resolution v2 (see the module docstring).

    Parameters
    ----------
    state_sets
        Maps from ``(type, state_key)`` to event ID.
    events
        Every event the sets name, and their auth ancestors.
    rejected
        IDs of rejected events; they never enter the result.
    depths
        Memo of :func:`auth_depth`, reused across calls if given.

    Returns
    -------
    dict
        The resolved state, keys sorted.
    """
    unconflicted, conflicted = separate(state_sets)
    if not conflicted:
        return unconflicted
    full: set[str] = set()
    for ids in conflicted.values():
        full.update(ids)
    full |= auth_difference(state_sets, events, depths)
    full = {eid for eid in full if eid in events}

    power = [eid for eid in sorted(full) if is_power_event(events[eid])]
    sorted_power = reverse_topological_power_sort(power, full, events)
    state = iterative_auth_checks(sorted_power, unconflicted, events, rejected)

    done = set(sorted_power)
    leftover = [eid for eid in sorted(full) if eid not in done]
    leftover = mainline_sort(leftover, state.get(POWER_LEVELS_KEY), events)
    state = iterative_auth_checks(leftover, state, events, rejected)

    state.update(unconflicted)
    return dict(sorted(state.items()))
