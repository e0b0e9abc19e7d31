"""Shrinking a violating walk to a short trace that breaks the same property.

Delta debugging (Zeller and Hildebrandt, "Simplifying and Isolating
Failure-Inducing Input", 2002: the ``ddmin`` algorithm) over the walk's
choices: try subsets and complements of ever smaller chunks of the action
list, keep any candidate that still violates the property, until no single
action can be left out.

A candidate is a list of actions, and an action names its message by the
message's JSON: leaving out an earlier step can change a later message (an
action ID, a counter) or never send it. So a candidate is *re-executed*
from the initial world, and an action that is not enabled where it comes is
skipped; what the candidate yields is the list of actions that did run, up
to the first world that breaks the property (an ``always`` property false,
or an ``eventually`` property false where a run may end: quiescent, every
node up). Every shrunk list is verified at the end by :func:`verify`: each
action enabled where it occurs, and the trace it makes judged violated by
:func:`mxsim.sim.trace.path_lines` — the same judge ``mxsim replay`` uses.
"""

from __future__ import annotations

from collections.abc import Callable

from mxsim.sim.model import Property
from mxsim.sim.system import System
from mxsim.sim.trace import path_lines
from mxsim.sim.world import Action, StepError

__all__ = ["shrink", "ddmin", "violating_run", "verify"]

Test = Callable[[list[Action]], list[Action] | None]


def _property(system: System, name: str) -> Property:
    for p in system.properties:
        if p.name == name:
            return p
    raise KeyError(name)


def violating_run(system: System, actions: list[Action], name: str) -> list[Action] | None:
    """Run ``actions`` (skipping those not enabled); the ones that ran, up to the
    first world that breaks property ``name``, or None if none does."""
    prop = _property(system, name)
    world, _ = system.initial()

    def broken() -> bool:
        if prop.kind == "always":
            return not prop.predicate(system.view(world))
        if prop.kind == "eventually":
            settled = system.quiescent(world) and all(world.up)
            return settled and not prop.predicate(system.view(world))
        return False  # a sometimes guard is not violated by a run

    ran: list[Action] = []
    if broken():
        return ran
    for action in actions:
        if action not in system.enabled(world):
            continue
        world, _ = system.apply(world, action)
        ran.append(action)
        if broken():
            return ran
    if prop.kind != "eventually":
        return None
    # An ``eventually`` property is judged only where a run may end, and a
    # candidate without some step of the walk often stops short of that: let
    # the run finish the plainest way (the first enabled step that is not a
    # fault), so that leaving out a drop, a duplicate or a reordering can
    # still be tried. Bounded by the scenario's depth.
    for _ in range(system.scenario.check.max_depth):
        acts = [a for a in system.enabled(world) if not _fault(system, world, a)]
        if not acts:
            return None
        world, _ = system.apply(world, acts[0])
        ran.append(acts[0])
        if broken():
            return ran
    return None


def _fault(system: System, world, action: Action) -> bool:
    kind = action[0]
    if kind == "drop":
        return world.up[system.index[action[1]]]  # a drop to a down node is no fault
    return kind in ("duplicate", "crash")


def verify(system: System, actions: list[Action], name: str) -> bool:
    """True if ``actions`` replay exactly (each enabled where it occurs) and the
    trace they make has property ``name`` violated."""
    world, _ = system.initial()
    for action in actions:
        if action not in system.enabled(world):
            return False
        try:
            world, _ = system.apply(world, action)
        except StepError:
            return False
    _, _, judge = path_lines(system, actions)
    return judge.verdicts.get(name) == "violated"


def ddmin(actions: list[Action], test: Test, max_tests: int = 5000) -> list[Action]:
    """A 1-minimal list: ``test`` keeps it failing, and leaving out any single
    action makes ``test`` return None. ``test`` returns the list that ran (its
    canonical form), or None; ``max_tests`` bounds the work (deterministically).

    >>> must = {2, 5, 7}
    >>> ddmin(list(range(10)), lambda c: c if must <= set(c) else None)
    [2, 5, 7]
    """
    current = test(list(actions))
    if current is None:
        raise ValueError("the list to shrink does not fail the test")
    seen: dict[tuple, list[Action] | None] = {}
    tests = 0

    def attempt(candidate: list[Action]) -> list[Action] | None:
        """What ``candidate`` runs, if it fails and is shorter than the current list."""
        nonlocal tests
        key = tuple(candidate)
        if key not in seen:
            tests += 1
            seen[key] = test(candidate)
        got = seen[key]
        return got if got is not None and len(got) < len(current) else None

    if attempt([]) is not None:
        return seen[()]
    n = 2
    while len(current) >= 2 and tests < max_tests:
        chunks = _split(current, n)
        smaller = None
        for k in range(len(chunks)):  # a chunk alone, then everything but a chunk
            smaller = attempt(chunks[k])
            if smaller is not None:
                n = 2
                break
        else:
            for k in range(len(chunks)):
                rest = [a for j, c in enumerate(chunks) if j != k for a in c]
                smaller = attempt(rest)
                if smaller is not None:
                    n = max(n - 1, 2)
                    break
        if smaller is not None:
            current = smaller
            continue
        if n >= len(current):
            break
        n = min(2 * n, len(current))
    return current


def _split(items: list, n: int) -> list[list]:
    size, extra = divmod(len(items), n)
    out, start = [], 0
    for k in range(n):
        end = start + size + (1 if k < extra else 0)
        if end > start:
            out.append(items[start:end])
        start = end
    return out


def shrink(system: System, actions: list[Action], name: str, max_tests: int = 5000) -> list[Action]:
    """The shortest violating list found by :func:`ddmin` from ``actions``, verified;
    ``actions`` themselves if shrinking found nothing that verifies."""
    shrunk = ddmin(actions, lambda c: violating_run(system, c, name), max_tests)
    if len(shrunk) < len(actions) and verify(system, shrunk, name):
        return shrunk
    return list(actions)
