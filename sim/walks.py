"""Random search: seeded random walks over the worlds of a system.

Walk ``i`` of seed ``s`` draws every choice from its own stream
``mxsim/{s}/walk/{i}``, so it is the same walk however the indices are split
over worker processes, and :func:`merge` of the batches gives the same
report in any split: the counterexample kept for a property is the shortest
walk that broke it, the earliest on a tie.

A walk ends where a run may end (a quiescent world with every node up:
``eventually`` properties are judged there), at the first ``always``
violation, or at ``max_depth``. A search ends when its walks are done or at
its deadline (``max_seconds``); which walks a deadline leaves undone depends
on the machine's speed, so such a report says it is timing-dependent.

With ``swarm`` each walk first draws its own choice policy
(:class:`mxsim.sim.swarm.Swarm`); without it every choice is uniform among
the enabled actions (the walks mxsim made before swarm testing).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from mxsim.sim.swarm import Swarm
from mxsim.sim.system import System
from mxsim.sim.verdict import overall
from mxsim.sim.world import Action

__all__ = ["Walker", "Batch", "WalkReport", "WalkCounterexample", "merge", "walk_verdicts"]

Found = tuple[int, list[Action]]  # (walk index, actions)


@dataclass
class Batch:
    """What the walks ``first .. first + done - 1`` found (one worker's share)."""

    first: int
    done: int = 0
    visited: int = 0
    depth: int = 0
    quiescent_ends: int = 0
    best: dict[str, Found] = field(default_factory=dict)  # shortest violating walk
    reached: dict[str, Found] = field(default_factory=dict)  # shortest witness prefix
    found: dict[str, tuple[int, float]] = field(default_factory=dict)  # first walk, seconds
    deadline_hit: bool = False


@dataclass
class WalkCounterexample:
    """A violating walk, and (once shrunk) the trace written for it."""

    property: str
    actions: list[Action]  # what the trace holds: shrunk, or the walk itself
    walk: int
    walk_length: int  # actions of the walk before shrinking
    shrunk: bool = False


@dataclass
class WalkReport:
    """What a random search found; the fields a BFS ``Report`` has, and more."""

    verdicts: dict[str, str]
    states: int  # worlds visited, repeats included
    depth: int
    stopped: str  # "walks": all requested walks done; "max_seconds": the deadline
    seconds: float
    walks: int  # walks done
    walks_requested: int
    quiescent_ends: int
    swarm: bool
    counterexamples: list[WalkCounterexample] = field(default_factory=list)
    witnesses: dict[str, list[Action]] = field(default_factory=dict)
    first: dict[str, dict] = field(default_factory=dict)  # property -> walk, seconds
    complete: bool = False
    shrink_seconds: float = 0.0

    @property
    def verdict(self) -> str:
        return overall(self.verdicts)

    @property
    def timing_dependent(self) -> bool:
        """True if the deadline, not the walk count, decided which walks ran."""
        return self.stopped == "max_seconds"


class Walker:
    """Makes the walks of one system."""

    def __init__(self, system: System, max_depth: int | None = None, swarm: bool = True) -> None:
        self.system = system
        self.max_depth = system.scenario.check.max_depth if max_depth is None else max_depth
        self.swarm = swarm
        props = system.properties
        self.always = [p for p in props if p.kind == "always"]
        self.eventually = [p for p in props if p.kind == "eventually"]
        self.sometimes = [p for p in props if p.kind == "sometimes"]
        self.init, _ = system.initial()

    def policy(self, seed: int, i: int) -> tuple[random.Random, Swarm | None]:
        """Walk ``i``'s stream, and its swarm configuration (drawn first from it)."""
        rng = random.Random(f"mxsim/{seed}/walk/{i}")
        return rng, Swarm.draw(rng, self.system.names) if self.swarm else None

    def walk(self, seed: int, i: int) -> tuple[list[Action], list[str], dict[str, int], int, bool]:
        """Walk ``i``: (actions, properties broken at its end, witness lengths,
        worlds visited, ended quiescent)."""
        system = self.system
        rng, swarm = self.policy(seed, i)
        world, path = self.init, []
        reached: dict[str, int] = {}
        ages: dict = {}
        broke = self._judge(world, 0, reached)
        visited = 0
        quiescent = False
        while not broke:
            visited += 1
            acts = system.enabled(world)
            # A quiescent world ends a run even with crash budget left (as in bfs).
            if not acts or (system.quiescent(world) and all(world.up)):
                quiescent = True
                view = system.view(world)
                broke = [p.name for p in self.eventually if not p.predicate(view)]
                if not acts or broke:
                    break
                quiescent = False
            if len(path) >= self.max_depth:
                break
            if swarm is None:
                action = acts[rng.randrange(len(acts))]
            else:
                action = swarm.choose(system, world, acts, ages, rng)
            world, _ = system.apply(world, action)
            path.append(action)
            if swarm is not None and swarm.order != "random":
                _age(ages, world.inflight, len(path))
            broke = self._judge(world, len(path), reached)
        return path, broke, reached, visited, quiescent

    def run(
        self,
        seed: int,
        first: int,
        count: int,
        deadline: float | None = None,
        start: float | None = None,
        on_walk: Callable[[Batch], None] | None = None,
    ) -> Batch:
        """Walks ``first .. first + count - 1``, stopping early at ``deadline``
        (``time.time()``); ``start`` is when the whole search began."""
        start = time.time() if start is None else start
        batch = Batch(first)
        for i in range(first, first + count):
            if deadline is not None and time.time() >= deadline:
                batch.deadline_hit = True
                break
            path, broke, reached, visited, quiescent = self.walk(seed, i)
            batch.done += 1
            batch.visited += visited
            batch.depth = max(batch.depth, len(path))
            batch.quiescent_ends += quiescent
            for name in broke:
                _keep(batch.best, name, i, path)
                batch.found.setdefault(name, (i, round(time.time() - start, 3)))
            for name, n in reached.items():
                _keep(batch.reached, name, i, path[:n])
            if on_walk is not None:
                on_walk(batch)
        return batch

    def _judge(self, world, steps: int, reached: dict[str, int]) -> list[str]:
        view = self.system.view(world)
        broke = [p.name for p in self.always if not p.predicate(view)]
        for p in self.sometimes:
            if p.name not in reached and p.predicate(view):
                reached[p.name] = steps
        return broke


def _age(ages: dict, inflight: tuple, step: int) -> None:
    """Note when each message now in flight was first seen; forget those gone."""
    live = set(inflight)
    for entry in list(ages):
        if entry not in live:
            del ages[entry]
    for entry in inflight:
        ages.setdefault(entry, step)


def _keep(table: dict[str, Found], name: str, i: int, path: list[Action]) -> None:
    """Keep the shorter path; on a tie the lower walk index (any merge order)."""
    old = table.get(name)
    if old is None or (len(path), i) < (len(old[1]), old[0]):
        table[name] = (i, list(path))


def walk_verdicts(properties, best: dict, reached: dict, quiescent_ends: int) -> dict[str, str]:
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


def merge(
    system: System, batches: list[Batch], requested: int, seconds: float, swarm: bool
) -> WalkReport:
    """One report from the batches of any split of the walk indices."""
    best: dict[str, Found] = {}
    reached: dict[str, Found] = {}
    found: dict[str, tuple[int, float]] = {}
    for b in sorted(batches, key=lambda b: b.first):
        for name, (i, path) in b.best.items():
            _keep(best, name, i, path)
        for name, (i, path) in b.reached.items():
            _keep(reached, name, i, path)
        for name, hit in b.found.items():
            if name not in found or hit < found[name]:
                found[name] = hit
    done = sum(b.done for b in batches)
    quiescent_ends = sum(b.quiescent_ends for b in batches)
    order = {p.name: k for k, p in enumerate(system.properties)}
    report = WalkReport(
        verdicts=walk_verdicts(system.properties, best, reached, quiescent_ends),
        states=sum(b.visited for b in batches),
        depth=max((b.depth for b in batches), default=0),
        stopped="walks" if done >= requested else "max_seconds",
        seconds=seconds,
        walks=done,
        walks_requested=requested,
        quiescent_ends=quiescent_ends,
        swarm=swarm,
    )
    for name in sorted(best, key=order.__getitem__):
        i, path = best[name]
        report.counterexamples.append(WalkCounterexample(name, path, i, len(path)))
    report.witnesses = {n: reached[n][1] for n in sorted(reached, key=order.__getitem__)}
    report.first = {
        n: {"walk": found[n][0], "seconds": found[n][1]}
        for n in sorted(found, key=order.__getitem__)
    }
    return report


def walks(
    system: System,
    count: int,
    seed: int,
    first: int = 0,
    max_depth: int | None = None,
    max_seconds: float | None = None,
    swarm: bool = True,
) -> WalkReport:
    """``count`` walks in this process (no shrinking): the whole search in one call.

    >>> # see tests/sim/test_walks.py
    """
    start = time.time()
    limit = system.scenario.check.max_seconds if max_seconds is None else max_seconds
    batch = Walker(system, max_depth, swarm).run(seed, first, count, start + limit, start)
    return merge(system, [batch], count, time.time() - start, swarm)
