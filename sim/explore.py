"""The exhaustive runtime: breadth-first search over worlds, and random walks.

Time is abstracted away: in each world any in-flight message may be
delivered next, any armed timer may fire (or, with ``timers = "idle"``, only
when nothing is in flight), and within the scenario's budgets a message may
be dropped or duplicated and a node may crash. Worlds are deduplicated by
fingerprint; breadth-first order makes the first counterexample found for
each property a shortest one.

Successors come from :meth:`Explorer.successors`, the one place a state-space
reduction (partial order, symmetry) would plug in.
"""

from __future__ import annotations

import random
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from mxsim.sim.reduce import Reduction
from mxsim.sim.verdict import PASSING
from mxsim.sim.world import Action, System, World

__all__ = ["Explorer", "Report", "Counterexample"]


@dataclass
class Counterexample:
    property: str
    actions: list[Action]


@dataclass
class Report:
    """What a search found. ``complete`` is True when no bound cut it short."""

    verdicts: dict[str, str]
    states: int
    depth: int
    complete: bool
    stopped: str | None  # which bound stopped the search, if any
    seconds: float
    counterexamples: list[Counterexample] = field(default_factory=list)
    witnesses: dict[str, list[Action]] = field(default_factory=dict)
    walks: int = 0
    quiescent_ends: int = 0  # random walks that ended in a quiescent world

    @property
    def verdict(self) -> str:
        vs = self.verdicts.values()
        if any(v == "violated" for v in vs):
            return "violated"
        if any(v == "vacuous" for v in vs):
            return "vacuous"
        if all(v in PASSING for v in vs):
            return "holds"
        return "undecided"


class Explorer:
    """Explores the worlds of ``system`` within its scenario's bounds."""

    def __init__(
        self,
        system: System,
        max_depth: int | None = None,
        max_states: int | None = None,
        max_seconds: float | None = None,
        progress: Callable[[int, float, int], None] | None = None,
        reduce: str = "none",
    ) -> None:
        c = system.scenario.check
        self.system = system
        self.max_depth = c.max_depth if max_depth is None else max_depth
        self.max_states = c.max_states if max_states is None else max_states
        self.max_seconds = c.max_seconds if max_seconds is None else max_seconds
        self.progress = progress
        props = system.properties
        self.always = [p for p in props if p.kind == "always"]
        self.eventually = [p for p in props if p.kind == "eventually"]
        self.sometimes = [p for p in props if p.kind == "sometimes"]
        self.quiescent_judged = 0
        # State-space reductions (sim/reduce.py): "none", "por", "symmetry", "both".
        self.reduction = None if reduce == "none" else Reduction(system, reduce, self._seen)
        if self.reduction is not None and not self.reduction.active:
            self.reduction = None
        self._visited: dict[bytes, object] = {}

    def successors(self, world: World) -> list[tuple[Action, World]]:
        if self.reduction is not None:
            return self.reduction.successors(world)
        apply = self.system.apply
        return [(a, apply(world, a)[0]) for a in self.system.enabled(world)]

    def _seen(self, fp: bytes) -> bool:
        """Whether breadth-first search has met the world ``fp`` (reductions ask)."""
        return fp in self._visited

    # -- breadth-first search ------------------------------------------------

    def bfs(self) -> Report:
        system = self.system
        start = time.monotonic()
        init, _ = system.initial()
        root = init
        if self.reduction is not None:
            init = self.reduction.root(init)
        f0 = system.fingerprint(init)
        parent: dict[bytes, tuple[bytes, Action] | None] = {f0: None}
        self._visited = parent
        depth_of = {f0: 0}
        violated: dict[str, bytes] = {}
        reached: dict[str, bytes] = {}
        self._judge(init, f0, violated, reached)
        queue: deque[tuple[World, bytes]] = deque([(init, f0)])
        max_depth_seen = 0
        stopped = None
        last_report = start
        states = 1
        while queue:
            world, fp = queue.popleft()
            depth = depth_of[fp]
            max_depth_seen = max(max_depth_seen, depth)
            if any(fp == v for v in violated.values()):
                continue  # a violating world is reported, not expanded
            succ = self.successors(world)
            # Fix: judge ``eventually`` in every quiescent world, not only in
            # worlds without successors. A crash budget left unspent keeps
            # ("crash", n) enabled, so the run that never crashes used to end
            # in no judged world and its violations went unreported.
            if not succ or self._settled(world):
                self._judge_final(world, fp, violated)
                if not succ or fp in violated.values():
                    continue
            if depth >= self.max_depth:
                stopped = stopped or "max_depth"
                continue
            for action, nxt in succ:
                f = system.fingerprint(nxt)
                if f in parent:
                    continue
                parent[f] = (fp, action)
                depth_of[f] = depth + 1
                states += 1
                self._judge(nxt, f, violated, reached)
                queue.append((nxt, f))
                if states >= self.max_states:
                    break  # the bound is exact: no world beyond it is admitted
            if self._all_decided(violated, reached):
                stopped = stopped or "all decided"
                break
            if states >= self.max_states:
                stopped = "max_states"
                break
            now = time.monotonic()
            if now - start > self.max_seconds:
                stopped = "max_seconds"
                break
            if self.progress is not None and now - last_report > 0.25:
                last_report = now
                self.progress(states, states / (now - start), depth)
        seconds = time.monotonic() - start
        complete = stopped is None or (stopped == "all decided" and not queue)
        verdicts = self._verdicts(violated, reached, complete)
        report = Report(
            verdicts=verdicts,
            states=states,
            depth=max_depth_seen,
            complete=complete,
            stopped=None if complete else stopped,
            seconds=seconds,
        )

        def path(f: bytes) -> list[Action]:
            actions = _path(parent, f)
            return actions if self.reduction is None else self.reduction.concrete(root, actions)

        for name, f in violated.items():
            report.counterexamples.append(Counterexample(name, path(f)))
        for name, f in reached.items():
            report.witnesses[name] = path(f)
        return report

    def _judge(self, world: World, fp: bytes, violated: dict, reached: dict) -> None:
        view = None
        for p in self.always:
            if p.name not in violated:
                view = view or self.system.view(world)
                if not p.predicate(view):
                    violated[p.name] = fp
        for p in self.sometimes:
            if p.name not in reached:
                view = view or self.system.view(world)
                if p.predicate(view):
                    reached[p.name] = fp

    def _settled(self, world: World) -> bool:
        """A run may end here: quiescent with every node up (budgets are upper bounds)."""
        return self.system.quiescent(world) and all(world.up)

    def _judge_final(self, world: World, fp: bytes, violated: dict) -> None:
        self.quiescent_judged += 1
        view = self.system.view(world)
        for p in self.eventually:
            if p.name not in violated and not p.predicate(view):
                violated[p.name] = fp

    def _all_decided(self, violated: dict, reached: dict) -> bool:
        """Stop early once every property has an answer no search could change."""
        checks = self.always + self.eventually
        return (
            bool(checks)
            and all(p.name in violated for p in checks)
            and all(p.name in reached for p in self.sometimes)
        )

    def _verdicts(self, violated: dict, reached: dict, complete: bool) -> dict[str, str]:
        out = {}
        for p in self.system.properties:
            if p.kind == "sometimes":
                out[p.name] = "reached" if p.name in reached else "vacuous"
            elif p.name in violated:
                out[p.name] = "violated"
            elif p.kind == "eventually" and not self.quiescent_judged:
                # No quiescent world was ever reached within the bounds: the
                # property was never put to the test, which is not a pass.
                out[p.name] = "undecided"
            else:
                out[p.name] = "holds"
        return out

    # -- random walks ----------------------------------------------------------

    def walks(self, walks: int, seed: int, first: int = 0) -> Report:
        """``walks`` seeded random walks (walk ``i`` uses stream ``seed/walk/i``).

        Walks are independent, so any split of the indices over worker
        processes gives the same report once merged with :func:`merge_walks`.
        """
        start = time.monotonic()
        system = self.system
        init, _ = system.initial()
        best: dict[str, list[Action]] = {}
        reached: dict[str, list[Action]] = {}
        visited = 0
        max_depth = 0
        quiescent_ends = 0
        for i in range(first, first + walks):
            rng = random.Random(f"mxsim/{seed}/walk/{i}")
            world, path = init, []
            self._walk_judge(world, path, best, reached)
            while True:
                visited += 1
                acts = system.enabled(world)
                # Fix (as in bfs): a quiescent world ends a run even with crash budget left.
                if not acts or self._settled(world):
                    quiescent_ends += 1
                    view = system.view(world)
                    broke = False
                    for p in self.eventually:
                        if not p.predicate(view):
                            _keep_shorter(best, p.name, path)
                            broke = True
                    if not acts or broke:
                        break
                if len(path) >= self.max_depth:
                    break
                action = acts[rng.randrange(len(acts))]
                world, _ = system.apply(world, action)
                path = path + [action]
                if self._walk_judge(world, path, best, reached):
                    break
            max_depth = max(max_depth, len(path))
            if time.monotonic() - start > self.max_seconds:
                break
        verdicts = _walk_verdicts(system.properties, best, reached, quiescent_ends)
        report = Report(
            verdicts=verdicts,
            states=visited,  # worlds visited, repeats included: independent of the split
            depth=max_depth,
            complete=False,
            stopped="random walks",
            seconds=time.monotonic() - start,
            walks=walks,
            quiescent_ends=quiescent_ends,
        )
        report.counterexamples = [Counterexample(n, a) for n, a in sorted(best.items())]
        report.witnesses = dict(sorted(reached.items()))
        return report

    def _walk_judge(self, world: World, path: list, best: dict, reached: dict) -> bool:
        view = self.system.view(world)
        broke = False
        for p in self.always:
            if not p.predicate(view):
                _keep_shorter(best, p.name, path)
                broke = True
        for p in self.sometimes:
            if p.predicate(view):
                _keep_shorter(reached, p.name, path)
        return broke


def _walk_verdicts(properties, best: dict, reached: dict, quiescent_ends: int) -> dict[str, str]:
    verdicts = {}
    for p in properties:
        if p.kind == "sometimes":
            verdicts[p.name] = "reached" if p.name in reached else "vacuous"
        elif p.name in best:
            verdicts[p.name] = "violated"
        elif p.kind == "eventually" and not quiescent_ends:
            verdicts[p.name] = "undecided"  # no walk ever got to test it
        else:
            verdicts[p.name] = "holds"
    return verdicts


def _keep_shorter(table: dict[str, list], name: str, path: list) -> None:
    """Keep the shorter path; on a tie the earlier walk (deterministic merging)."""
    if name not in table or len(path) < len(table[name]):
        table[name] = list(path)


def merge_walks(reports: list[Report]) -> Report:
    """Merge reports of consecutive walk ranges, in index order."""
    first = reports[0]
    best: dict[str, list] = {}
    reached: dict[str, list] = {}
    for r in reports:
        for c in r.counterexamples:
            _keep_shorter(best, c.property, c.actions)
        for n, a in r.witnesses.items():
            _keep_shorter(reached, n, a)
    verdicts = {}
    for name, v in first.verdicts.items():
        if v in ("reached", "vacuous"):
            verdicts[name] = "reached" if name in reached else "vacuous"
        elif name in best:
            verdicts[name] = "violated"
        elif all(r.verdicts[name] == "undecided" for r in reports):
            verdicts[name] = "undecided"  # no walk in any range ended quiescent
        else:
            verdicts[name] = "holds"
    return Report(
        verdicts=verdicts,
        states=sum(r.states for r in reports),
        depth=max(r.depth for r in reports),
        complete=False,
        stopped="random walks",
        seconds=max(r.seconds for r in reports),
        counterexamples=[Counterexample(n, a) for n, a in sorted(best.items())],
        witnesses=dict(sorted(reached.items())),
        walks=sum(r.walks for r in reports),
        quiescent_ends=sum(r.quiescent_ends for r in reports),
    )


def _path(parent: dict, f: bytes) -> list[Action]:
    out = []
    link = parent[f]
    while link is not None:
        f, action = link
        out.append(action)
        link = parent[f]
    out.reverse()
    return out


def progress_printer(stream=None) -> Callable[[int, float, int], None] | None:
    """A one-line progress display on a terminal; None when not a terminal."""
    stream = stream or sys.stderr
    if not stream.isatty():
        return None

    def show(states: int, rate: float, depth: int) -> None:
        stream.write(f"\r  states {states:>10,}  {rate:>9,.0f}/s  depth {depth:>4}")
        stream.flush()

    return show
