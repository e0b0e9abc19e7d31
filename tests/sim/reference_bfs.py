"""The plain breadth-first search, kept as an oracle for the fast one.

This is the search as it was before incremental keys and compact visited
sets (sim/explore.py at fa60481), with the two later fixes the fast search
also has: a world that violates one property is still expanded, and the
"all decided" stop is checked before each world. It builds every successor
eagerly and keeps whole parent links; it is slow and obviously right.
"""

from __future__ import annotations

from collections import deque

from mxsim.sim.system import System


def reference_bfs(system: System, max_states: int, max_depth: int | None = None) -> dict:
    """states, depth, stopped, verdicts, and the action path of each verdict's world."""
    c = system.scenario.check
    max_depth = c.max_depth if max_depth is None else max_depth
    props = system.properties
    always = [p for p in props if p.kind == "always"]
    eventually = [p for p in props if p.kind == "eventually"]
    sometimes = [p for p in props if p.kind == "sometimes"]
    init, _ = system.initial()
    f0 = system.fingerprint(init)
    parent = {f0: None}
    depth_of = {f0: 0}
    violated: dict = {}
    reached: dict = {}
    quiescent = 0

    def judge(world, f):
        view = system.view(world)
        for p in always:
            if p.name not in violated and not p.predicate(view):
                violated[p.name] = f
        for p in sometimes:
            if p.name not in reached and p.predicate(view):
                reached[p.name] = f

    def decided():
        checks = always + eventually
        return (
            bool(checks)
            and all(p.name in violated for p in checks)
            and all(p.name in reached for p in sometimes)
        )

    judge(init, f0)
    queue = deque([(init, f0)])
    stopped, depth_cut, deepest = None, False, 0
    while queue:
        if len(parent) >= max_states:
            stopped = "max_states"
            break
        if decided():
            stopped = "all decided"
            break
        world, f = queue.popleft()
        depth = depth_of[f]
        deepest = max(deepest, depth)
        acts = system.enabled(world)
        if not acts or (system.quiescent(world) and all(world.up)):
            quiescent += 1
            view = system.view(world)
            for p in eventually:
                if p.name not in violated and not p.predicate(view):
                    violated[p.name] = f
            if not acts:
                continue
        if depth >= max_depth:
            depth_cut = True
            continue
        for a in acts:
            nxt = system.apply(world, a)[0]
            g = system.fingerprint(nxt)
            if g in parent:
                continue
            parent[g] = (f, a)
            depth_of[g] = depth + 1
            judge(nxt, g)
            queue.append((nxt, g))
            if len(parent) >= max_states:
                break
    if stopped is None and depth_cut:
        stopped = "max_depth"
    complete = not depth_cut and (stopped is None or (stopped == "all decided" and not queue))

    def path(f):
        out = []
        while parent[f] is not None:
            f, a = parent[f]
            out.append(a)
        return out[::-1]

    verdicts = {}
    for p in props:
        if p.kind == "sometimes":
            verdicts[p.name] = "reached" if p.name in reached else "vacuous"
        elif p.name in violated:
            verdicts[p.name] = "violated"
        elif p.kind == "eventually" and not quiescent:
            verdicts[p.name] = "undecided"
        else:
            verdicts[p.name] = "holds"
    return {
        "states": len(parent),
        "depth": deepest,
        "stopped": None if complete else stopped,
        "verdicts": verdicts,
        "counterexamples": {n: path(f) for n, f in sorted(violated.items())},
        "witnesses": {n: path(f) for n, f in sorted(reached.items())},
    }
