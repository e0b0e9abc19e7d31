"""A scenario's ``[check]``: the explorer's bounds, fault budgets, timers, symmetry."""

from __future__ import annotations

import math

from mxsim.sim import renaming
from mxsim.sim.scenario import CheckSpec, Input, NodeSpec, ScenarioError
from mxsim.sim.scenario_reader import (
    _ARRAY,
    _NUMBER,
    _STR,
    _one_of,
    _Reader,
)


def _check(r: _Reader, nodes: tuple[NodeSpec, ...], workload: tuple[Input, ...]) -> CheckSpec:
    r.only(
        "max_depth",
        "max_states",
        "max_seconds",
        "drops",
        "duplicates",
        "crashes",
        "timers",
        "symmetry",
    )
    d = CheckSpec()
    max_seconds = r.opt("max_seconds", _NUMBER, d.max_seconds)
    try:
        seconds = float(max_seconds)
    except OverflowError:  # an integer too large for a float
        seconds = math.inf
    if not (math.isfinite(seconds) and seconds > 0):
        r.fail("max_seconds", "a finite number > 0", max_seconds)
    timers = r.opt("timers", _STR, d.timers)
    if timers not in ("any", "idle"):
        r.fail("timers", _one_of(("any", "idle")), timers)
    return CheckSpec(
        max_depth=r.integer("max_depth", d.max_depth, minimum=1),
        max_states=r.integer("max_states", d.max_states, minimum=1),
        max_seconds=seconds,
        drops=r.integer("drops", d.drops, minimum=0),
        duplicates=r.integer("duplicates", d.duplicates, minimum=0),
        crashes=r.integer("crashes", d.crashes, minimum=0),
        timers=timers,
        symmetry=_symmetry(r, nodes, workload),
    )


def _symmetry(
    r: _Reader, nodes: tuple[NodeSpec, ...], workload: tuple[Input, ...]
) -> tuple[tuple[str, ...], ...]:
    """Groups of interchangeable nodes: each maps the scenario to itself."""
    groups = r.opt("symmetry", _ARRAY, [])
    names = tuple(n.name for n in nodes)
    specs = [(n.name, n.kind, n.config) for n in nodes]
    inputs = [(i.node, i.data) for i in workload]
    out: list[tuple[str, ...]] = []
    seen: list[str] = []
    for g, group in enumerate(groups):
        at = f"{r.at('symmetry')}[{g}]"
        if not isinstance(group, list) or len(group) < 2:
            raise ScenarioError(r.source, at, "an array of at least two node names", group)
        for name in group:
            if not isinstance(name, str) or name not in names:
                raise ScenarioError(r.source, at, "node names, " + _one_of(names), name)
            if not renaming.TOKEN.fullmatch(name):
                raise ScenarioError(r.source, at, "names matching [A-Za-z_][A-Za-z0-9_]*", name)
            if name in seen:
                raise ScenarioError(r.source, at, "each node in at most one group, once", name)
            seen.append(name)
        problem = renaming.interchangeable(group, specs, inputs)
        if problem is not None:
            raise ScenarioError(r.source, at, f"interchangeable nodes ({problem})", group)
        out.append(tuple(group))
    return tuple(out)
