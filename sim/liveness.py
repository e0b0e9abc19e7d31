"""Bounded liveness: runs in which the progress an ``eventually`` property
demands never happens.

The breadth-first search judges ``eventually`` properties where a run may
end (quiescent worlds). A run can also go on for ever without ending: a
device that rings for ever, a request held for ever, a retry timer that
re-arms for ever. In a finite graph of worlds such a run is a *lasso*: a
path from the initial world (the prefix) to a cycle along which the
property is false in every world. This module explores the graph (within
the scenario's bounds, keeping every transition) and looks for lassos.

Fairness. Without it almost any model with a timer has a cycle: the timer
fires for ever while a message waits in flight and is never delivered. A
reported cycle is *weakly fair*: every step of progress (a delivery, a drop
to a node that is down, a timer, a workload input, a restart) that is
enabled in every world of the cycle is taken somewhere on it. Faults (drops
within budget, duplicates, crashes) are never owed.

Method: the strongly connected components of the subgraph of worlds where
the property is false (Tarjan's algorithm); a component with a cycle whose
fair-enabled steps are all taken inside it holds a fair cycle, and the
lasso is the breadth-first path to its world nearest the start followed by
a closed walk through it that takes every owed step (or passes a world
where that step is not enabled).

Bounded version: with ``bound``, also report a run in which the property
stays false for more than ``bound`` consecutive steps (the longest such
stretch outside the cycles), the finite shadow of a lasso.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from mxsim.sim.system import System
from mxsim.sim.world import Action

__all__ = ["Lasso", "LivenessReport", "explore", "verify_lasso"]


@dataclass
class Lasso:
    """``prefix`` leads from the initial world to a world that ``cycle`` returns to."""

    property: str
    prefix: list[Action]
    cycle: list[Action]


@dataclass
class LivenessReport:
    states: int
    transitions: int
    complete: bool
    stopped: str | None
    seconds: float
    lassos: list[Lasso] = field(default_factory=list)
    long_runs: dict[str, list[Action]] = field(default_factory=dict)  # property -> run
    bound: int | None = None
    unfair: dict[str, int] = field(default_factory=dict)  # property -> cyclic parts, all unfair


class _Graph:
    """Every explored world as an integer, with its transitions kept."""

    def __init__(self) -> None:
        self.parent: list[tuple[int, Action] | None] = []
        self.edges: list[list[tuple[int, Action, bool]]] = []  # (successor, action, owed)
        self.bad: dict[str, list[bool]] = {}  # property -> false in this world

    def path(self, node: int) -> list[Action]:
        out = []
        link = self.parent[node]
        while link is not None:
            node, action = link
            out.append(action)
            link = self.parent[node]
        out.reverse()
        return out


def _owed(system: System, world, action: Action) -> bool:
    """Progress that weak fairness demands; faults are never owed."""
    kind = action[0]
    if kind == "drop":
        return not world.up[system.index[action[1]]]
    return kind in ("deliver", "timer", "input", "restart")


def explore(
    system: System,
    max_states: int | None = None,
    max_depth: int | None = None,
    max_seconds: float | None = None,
    bound: int | None = None,
) -> LivenessReport:
    """Explore ``system`` keeping every transition; lassos (and long runs) per property."""
    c = system.scenario.check
    max_states = c.max_states if max_states is None else max_states
    max_depth = c.max_depth if max_depth is None else max_depth
    max_seconds = c.max_seconds if max_seconds is None else max_seconds
    props = [p for p in system.properties if p.kind == "eventually"]
    start = time.monotonic()
    g = _Graph()
    g.bad = {p.name: [] for p in props}
    ids: dict[bytes, int] = {}

    def add(world, link) -> int:
        n = ids[system.fingerprint(world)] = len(g.parent)
        g.parent.append(link)
        g.edges.append([])
        view = system.view(world)
        for p in props:
            g.bad[p.name].append(not p.predicate(view))
        return n

    init, _ = system.initial()
    queue = deque([(init, add(init, None), 0)])
    stopped = None
    transitions = 0
    while queue:
        world, n, depth = queue.popleft()
        if depth >= max_depth:
            stopped = stopped or "max_depth"
            continue  # its transitions are unknown: it is on no cycle found here
        out = g.edges[n]
        for action in system.enabled(world):
            nxt, _ = system.apply(world, action)
            f = system.fingerprint(nxt)
            m = ids.get(f)
            if m is None:
                if len(g.parent) >= max_states:
                    stopped = "max_states"
                    continue
                m = add(nxt, (n, action))
                queue.append((nxt, m, depth + 1))
            out.append((m, action, _owed(system, world, action)))
            transitions += 1
        if time.monotonic() - start > max_seconds:
            stopped = "max_seconds"
            break
    report = LivenessReport(
        states=len(g.parent),
        transitions=transitions,
        complete=stopped is None,
        stopped=stopped,
        seconds=0.0,
        bound=bound,
    )
    for p in props:
        bad = g.bad[p.name]
        comps = _sccs(g, bad)
        lasso, unfair = _lasso(g, bad, comps)
        if lasso is not None:
            report.lassos.append(Lasso(p.name, *lasso))
        elif unfair:
            report.unfair[p.name] = unfair
        if bound is not None:
            run = _long_run(g, bad, comps, bound)
            if run is not None:
                report.long_runs[p.name] = run
    report.seconds = time.monotonic() - start
    return report


def _sccs(g: _Graph, bad: list[bool]) -> list[list[int]]:
    """Strongly connected components of the worlds where ``bad``, in reverse
    topological order (Tarjan's algorithm, iterative)."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    comps: list[list[int]] = []
    counter = 0
    for root in range(len(g.parent)):
        if not bad[root] or root in index:
            continue
        work = [(root, 0)]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, k = work[-1]
            edges = g.edges[v]
            while k < len(edges) and not bad[edges[k][0]]:
                k += 1
            if k < len(edges):
                work[-1] = (v, k + 1)
                w = edges[k][0]
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, 0))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                u = work[-1][0]
                low[u] = min(low[u], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                comps.append(sorted(comp))
    return comps


def _cyclic(g: _Graph, comp: list[int]) -> bool:
    if len(comp) > 1:
        return True
    v = comp[0]
    return any(m == v for m, _, _ in g.edges[v])


def _lasso(g: _Graph, bad, comps) -> tuple[tuple[list[Action], list[Action]] | None, int]:
    """The fair lasso whose cycle's entry is nearest the start, if any; and how
    many cyclic components hold no fair cycle."""
    best = None
    unfair = 0
    for comp in comps:
        if not _cyclic(g, comp):
            continue
        members = set(comp)
        cycle = _fair_cycle(g, comp, members)
        if cycle is None:
            unfair += 1
            continue
        entry = comp[0]  # worlds are numbered in breadth-first order
        prefix = g.path(entry)
        if best is None or len(prefix) + len(cycle) < len(best[0]) + len(best[1]):
            best = (prefix, cycle)
    return best, unfair


def _fair_cycle(g: _Graph, comp: list[int], members: set[int]) -> list[Action] | None:
    """A closed walk from ``comp[0]`` inside the component taking every owed step."""
    entry = comp[0]
    walk = _route(g, entry, lambda v, a, m: m == entry, members)
    if walk is None:
        return None
    # Adding worlds and steps to a closed walk only shrinks what it owes, so
    # each detour settles one owed step for good.
    while owed := _unpaid(g, entry, walk):
        a = min(owed)

        def pays(v, act, m, a=a):  # takes ``a``, or reaches a world where it is not enabled
            return act == a or all(x != a for _, x, _ in g.edges[m])

        there = _route(g, entry, pays, members)
        if there is None:
            return None  # enabled everywhere here and never taken inside: unfair
        last = there[-1][0]
        home = [] if last == entry else _route(g, last, lambda v, act, m: m == entry, members)
        if home is None:
            return None
        walk = walk + there + home
    return [a for _, a in walk]


def _unpaid(g: _Graph, start: int, walk: list[tuple[int, Action]]) -> set[Action]:
    """Owed steps enabled in every world of the closed walk and taken nowhere on it."""
    nodes = [start] + [m for m, _ in walk]
    enabled = None
    for v in nodes:
        here = {a for _, a, owed in g.edges[v] if owed}
        enabled = here if enabled is None else enabled & here
    return (enabled or set()) - {a for _, a in walk}


def _route(g: _Graph, start: int, goal, members: set[int]) -> list[tuple[int, Action]] | None:
    """Shortest list of (successor, action) inside ``members`` from ``start`` whose
    last transition (v, action, successor) satisfies ``goal``."""
    prev: dict[int, tuple[int, Action] | None] = {start: None}
    queue = deque([start])
    while queue:
        v = queue.popleft()
        for m, a, _ in g.edges[v]:
            if m not in members:
                continue
            if goal(v, a, m):
                out = [(m, a)]
                while prev[v] is not None:
                    u, b = prev[v]
                    out.append((v, b))
                    v = u
                out.reverse()
                return out
            if m not in prev:
                prev[m] = (v, a)
                queue.append(m)
    return None


def _long_run(g: _Graph, bad, comps, bound: int) -> list[Action] | None:
    """A path ending in more than ``bound`` steps between worlds where ``bad``,
    outside the cyclic components (those are lassos already)."""
    longest: dict[int, int] = {}
    via: dict[int, tuple[int, Action] | None] = {}
    cyclic = {v for comp in comps if _cyclic(g, comp) for v in comp}
    # Tarjan's list is in reverse topological order: predecessors come later.
    for comp in reversed(comps):
        for v in comp:
            if v in cyclic:
                continue
            longest.setdefault(v, 0)
            via.setdefault(v, None)
            for m, a, _ in g.edges[v]:
                if bad[m] and m not in cyclic and longest[v] + 1 > longest.get(m, -1):
                    longest[m] = longest[v] + 1
                    via[m] = (v, a)
    over = [v for v, n in longest.items() if n > bound]
    if not over:
        return None
    end = min(over, key=lambda v: (longest[v], v))
    run: list[Action] = []
    v = end
    while via[v] is not None:
        u, a = via[v]
        run.append(a)
        v = u
    run.reverse()
    return g.path(v) + run


def verify_lasso(system: System, lasso: Lasso) -> bool:
    """True if the lasso replays step by step (each step enabled), its cycle
    returns to the world it starts from, the property is false in every world
    of the cycle, and the cycle is weakly fair."""
    prop = next(p for p in system.properties if p.name == lasso.property)
    world, _ = system.initial()
    for action in lasso.prefix:
        if action not in system.enabled(world):
            return False
        world, _ = system.apply(world, action)
    entry = system.fingerprint(world)
    owed_everywhere = None
    for action in lasso.cycle:
        acts = system.enabled(world)
        if action not in acts or prop.predicate(system.view(world)):
            return False
        here = {a for a in acts if _owed(system, world, a)}
        owed_everywhere = here if owed_everywhere is None else owed_everywhere & here
        world, _ = system.apply(world, action)
    if not lasso.cycle or system.fingerprint(world) != entry:
        return False
    return not ((owed_everywhere or set()) - set(lasso.cycle))
