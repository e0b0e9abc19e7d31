"""Pluggable state resolution, and the state of a room at any point of its graph.

Two algorithms, chosen by name (the DESIGN's "pluggable state resolution"):

``"depth"``
    the rule of the proposal's time: the deepest event wins
    (:mod:`models.stateres_depth`);
``"v2"``
    Matrix state resolution v2 as Synapse runs it for room versions 2 to 11
    (:mod:`models.stateres_v2`).

State at a point of the graph is computed as Synapse does for room version 2:
the state *before* an event is the resolution of the states *after* each of
its ``prev_events``; the state after an event is the state before it plus the
event itself when it is a state event that is accepted. An event is accepted
when its own ``auth_events`` are all accepted, pass
:func:`models.auth_events.check_auth_events`, and the event passes
:func:`models.auth.check_auth` both against those auth events and against
the state before it; otherwise it is *rejected* and changes nothing.

State maps are ``dict[(type, state_key), event_id]``. Node state must be
JSON-able, so :func:`to_nested` / :func:`from_nested` convert them to and
from ``{type: {state_key: event_id}}``.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping, Sequence

from mxsim.models.auth import check_auth
from mxsim.models.auth_events import (
    AuthError,
    auth_state_from,
    auth_types_for_event,
    check_auth_events,
)
from mxsim.models.event_graph import post_order
from mxsim.models.events import Event, StateKey, is_state
from mxsim.models.state_keys import state_key_tuple
from mxsim.models.stateres_depth import resolve_depth
from mxsim.models.stateres_v2 import resolve_v2

__all__ = [
    "ALGORITHMS",
    "StateMap",
    "resolve",
    "StateCalculator",
    "state_at",
    "forward_extremities",
    "to_nested",
    "from_nested",
]

#: Names :func:`resolve` accepts.
ALGORITHMS: tuple[str, ...] = ("depth", "v2")

StateMap = dict[StateKey, str]


def resolve(
    algorithm: str,
    state_sets: Sequence[Mapping[StateKey, str]],
    events: Mapping[str, Event],
    *,
    rejected: Container[str] = (),
    depths: dict[str, int] | None = None,
) -> StateMap:
    """Resolve several state sets into one with the named algorithm.

    ``algorithm`` is ``"depth"`` or ``"v2"`` (:data:`ALGORITHMS`); the other
    arguments and the result are those of :func:`models.stateres_v2.resolve_v2`
    (``depth`` reads only ``state_sets`` and ``events``).

    Raises
    ------
    ValueError
        For an unknown algorithm.

    Examples
    --------
    >>> events = {"$a": {"event_id": "$a", "depth": 4}, "$b": {"event_id": "$b", "depth": 3}}
    >>> resolve("depth", [{("m.room.topic", ""): "$a"}, {("m.room.topic", ""): "$b"}], events)
    {('m.room.topic', ''): '$a'}
    """
    if algorithm == "v2":
        return resolve_v2(state_sets, events, rejected=rejected, depths=depths)
    if algorithm == "depth":
        return resolve_depth(state_sets, events)
    raise ValueError(f"unknown state resolution algorithm {algorithm!r}; known: {ALGORITHMS}")


class StateCalculator:
    """State before and after each event of one room, computed on demand and memoised.

    The calculator reads ``events`` (a mapping it does not copy; it may grow
    between calls, but events must not change) and remembers, per event,
    the state after it and whether it was rejected. Asking for an event
    computes its missing ancestors first, without recursion. State maps it
    returns are fresh copies.

    Examples
    --------
    >>> from mxsim.models.events import make_event
    >>> room, alice = "!r:a.test", "@alice:a.test"
    >>> create = make_event(room_id=room, type="m.room.create", sender=alice, state_key="",
    ...                     content={"creator": alice})
    >>> join = make_event(room_id=room, type="m.room.member", sender=alice, state_key=alice,
    ...                   content={"membership": "join"}, prev_events=[create["event_id"]],
    ...                   auth_events=[create["event_id"]], depth=2)
    >>> calc = StateCalculator({e["event_id"]: e for e in (create, join)})
    >>> sorted(calc.state_after(join["event_id"]))
    [('m.room.create', ''), ('m.room.member', '@alice:a.test')]
    """

    #: How many multi-extremity :meth:`state_at` answers are remembered.
    AT_MEMO = 64

    def __init__(self, events: Mapping[str, Event], algorithm: str = "v2") -> None:
        if algorithm not in ALGORITHMS:
            raise ValueError(f"unknown state resolution algorithm {algorithm!r}")
        self.events = events
        self.algorithm = algorithm
        self._before: dict[str, StateMap] = {}
        self._after: dict[str, StateMap] = {}
        self._rejected: dict[str, str] = {}
        self._depths: dict[str, int] = {}
        # Recent state_at answers for several extremities, oldest first.
        self._at: dict[tuple[str, ...], StateMap] = {}
        # Events whose computation is under way (for cycle detection).
        self._grey: set[str] = set()

    def state_before(self, event_id: str) -> StateMap:
        """The state before the event: its prev events' states, resolved."""
        self._ensure(event_id)
        return dict(self._before[event_id])

    def state_after(self, event_id: str) -> StateMap:
        """The state after the event (the state before, if it is rejected)."""
        self._ensure(event_id)
        return dict(self._after[event_id])

    def rejection(self, event_id: str) -> str | None:
        """Why the event was rejected, or ``None`` if it was accepted."""
        self._ensure(event_id)
        return self._rejected.get(event_id)

    def is_rejected(self, event_id: str) -> bool:
        """True if the event fails the auth rules (see the module docstring)."""
        return self.rejection(event_id) is not None

    def state_at(self, extremities: Iterable[str]) -> StateMap:
        """The state after all the given events (forward extremities), resolved.

        No extremities give the empty state.
        """
        ids = sorted(set(extremities))
        for eid in ids:
            self._ensure(eid)
        key = tuple(ids)
        state = self._at.get(key)
        if state is None:
            state = self._merge([self._after[eid] for eid in ids])
            if len(ids) > 1:
                if len(self._at) >= self.AT_MEMO:
                    del self._at[next(iter(self._at))]  # the oldest entry
                self._at[key] = state
        return dict(state)

    def resolve(self, state_sets: Sequence[Mapping[StateKey, str]]) -> StateMap:
        """Resolve state sets with this calculator's algorithm and memo."""
        return resolve(
            self.algorithm, state_sets, self.events, rejected=self._rejected, depths=self._depths
        )

    def _merge(self, states: list[StateMap]) -> StateMap:
        unique: list[StateMap] = []
        for state in states:
            if not any(state is seen for seen in unique):
                unique.append(state)
        if not unique:
            return {}
        if len(unique) == 1:
            return unique[0]
        return self.resolve(unique)

    def _ensure(self, event_id: str) -> None:
        if event_id in self._after:
            return
        try:
            self._walk(event_id)
        except BaseException:
            self._grey.clear()
            raise

    def _walk(self, event_id: str) -> None:
        # Post-order over prev_events with an explicit stack; an event met
        # again while its computation is under way closes a cycle.
        def prevs(eid: str) -> Sequence[str]:
            if eid not in self.events:
                raise KeyError(f"unknown event {eid}")
            return self.events[eid].get("prev_events", ())

        cycle = "prev_events and auth_events form a cycle through"
        post_order(event_id, prevs, self._after, self._compute, self._grey, cycle)

    def _compute(self, eid: str, prevs: Sequence[str]) -> None:
        ev = self.events[eid]
        before = self._merge([self._after[p] for p in prevs])
        self._before[eid] = before
        reason = self._check(ev, before)
        if reason is not None:
            self._rejected[eid] = reason
            self._after[eid] = before
        elif is_state(ev):
            after = dict(before)
            after[state_key_tuple(ev)] = eid
            self._after[eid] = after
        else:
            self._after[eid] = before

    def _check(self, ev: Event, before: StateMap) -> str | None:
        auth_events = []
        for aid in ev.get("auth_events", ()):
            if aid not in self.events:
                raise KeyError(f"unknown auth event {aid} of {ev.get('event_id')}")
            self._ensure(aid)
            auth_events.append(self.events[aid])
        try:
            own = check_auth_events(ev, auth_events, self._rejected)
            check_auth(ev, own)
            check_auth(ev, auth_state_from(auth_types_for_event(ev), before, self.events))
        except AuthError as err:
            return str(err)
        return None


def state_at(
    events: Mapping[str, Event], extremities: Iterable[str], algorithm: str = "v2"
) -> StateMap:
    """The state after the given forward extremities.

    Shorthand for ``StateCalculator(events, algorithm).state_at(extremities)``;
    keep a :class:`StateCalculator` to reuse its memo across calls.
    """
    return StateCalculator(events, algorithm).state_at(extremities)


def forward_extremities(events: Mapping[str, Event] | Iterable[Event]) -> list[str]:
    """IDs of the events no other event names in ``prev_events``, sorted.

    >>> forward_extremities([{"event_id": "$a", "prev_events": []},
    ...                      {"event_id": "$b", "prev_events": ["$a"]}])
    ['$b']
    """
    evs = list(events.values()) if isinstance(events, Mapping) else list(events)
    referenced: set[str] = set()
    for ev in evs:
        referenced.update(ev.get("prev_events", ()))
    return sorted(ev["event_id"] for ev in evs if ev["event_id"] not in referenced)


def to_nested(state: Mapping[StateKey, str]) -> dict[str, dict[str, str]]:
    """A state map as JSON-able ``{type: {state_key: event_id}}``, sorted.

    >>> to_nested({("m.room.member", "@b:x"): "$2", ("m.room.create", ""): "$1"})
    {'m.room.create': {'': '$1'}, 'm.room.member': {'@b:x': '$2'}}
    """
    out: dict[str, dict[str, str]] = {}
    for (etype, skey), eid in sorted(state.items()):
        out.setdefault(etype, {})[skey] = eid
    return out


def from_nested(nested: Mapping[str, Mapping[str, str]]) -> StateMap:
    """The inverse of :func:`to_nested`."""
    return {(t, k): eid for t in sorted(nested) for k, eid in sorted(nested[t].items())}
