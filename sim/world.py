"""The global state of a system: worlds, and the actions that step them.

A :class:`World` is an immutable value: every node's state as canonical JSON,
which nodes are up, the messages in flight (a multiset), the armed timers, the
position in the workload and the fault budgets left. :meth:`sim.system.System.apply`
takes a world and an :data:`Action` and returns the next world together with
the record of the step (what ran, what it emitted). The checker explores
worlds with it, and ``replay`` re-executes traces with it, whichever runtime
wrote them.

Actions are plain tuples, so they can be stored, compared and enumerated:

- ``("input", k)``            workload input ``k`` reaches its node
- ``("deliver", dst, src, m)``  message ``m`` (canonical JSON) reaches ``dst``
- ``("drop", dst, src, m)``     it is lost (a fault budget, or ``dst`` is down)
- ``("duplicate", dst, src, m)``  the network makes one more copy of it
- ``("timer", node, name)``   an armed timer fires
- ``("crash", node)`` / ``("restart", node)``
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "World",
    "Action",
    "canonical",
    "StepError",
    "digest_states",
]

Action = tuple[Any, ...]


def canonical(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, ASCII only.

    >>> canonical({"b": 1, "a": [True, None]})
    '{"a":[true,null],"b":1}'
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


class StepError(Exception):
    """An action that is not enabled in the world it was applied to."""


@dataclass(frozen=True, slots=True)
class World:
    states: tuple[str, ...]
    up: tuple[bool, ...]
    inflight: tuple[tuple[str, str, str], ...]  # sorted (dst, src, msg json); repeats = copies
    timers: tuple[tuple[str, str, int], ...]  # sorted (node, name, delay µs)
    workload: int
    budget: tuple[int, int, int]  # drops, duplicates, crashes left
    # The incremental key (see sim.fingerprint), filled in by System.apply
    # from the world it stepped from, or on demand by System.key. Not an
    # init field, so dataclasses.replace leaves it unset, never stale.
    _key: int | None = field(default=None, init=False, repr=False, compare=False, hash=False)

    def fingerprint(self) -> bytes:
        """16 bytes that identify the world (not Python's salted ``hash``)."""
        h = hashlib.blake2b(digest_size=16)
        for s in self.states:
            h.update(s.encode())
            h.update(b"\x00")
        h.update(repr((self.up, self.inflight, self.timers, self.workload, self.budget)).encode())
        return h.digest()


_new = object.__new__
_set = [World.__dict__[f].__set__ for f in World.__slots__]


def _world(states, up, inflight, timers, workload, budget, key) -> World:
    """A World without the dataclass constructor's cost (the search's hot path)."""
    w = _new(World)
    s_states, s_up, s_inflight, s_timers, s_workload, s_budget, s_key = _set
    s_states(w, states)
    s_up(w, up)
    s_inflight(w, inflight)
    s_timers(w, timers)
    s_workload(w, workload)
    s_budget(w, budget)
    s_key(w, key)
    return w


def digest_states(states: tuple[str, ...] | list[str], up: tuple[bool, ...] | list[bool]) -> str:
    """Hex digest of the nodes' states (canonical JSON) and which are up.

    The end line of every trace carries it, so replay can confirm it reached
    the very same node states.
    """
    h = hashlib.sha256()
    for s, u in zip(states, up, strict=True):
        h.update(s.encode())
        h.update(b"\x01" if u else b"\x00")
    return h.hexdigest()
