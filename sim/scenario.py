"""Scenarios: topology, links, faults, workload, switches, properties, bounds.

A scenario is a TOML file; :func:`sim.scenario_load.load` turns it into a frozen
:class:`Scenario` or raises :class:`ScenarioError`, whose message is one line
naming the file, the field, what was expected and what was found.

Times in the file are milliseconds (int or float); inside the engine they are
integer microseconds, so that no float ever reaches a trace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Latency",
    "Link",
    "Fault",
    "Input",
    "NodeSpec",
    "RunSpec",
    "CheckSpec",
    "Scenario",
    "ScenarioError",
]


class ScenarioError(Exception):
    """Bad scenario input; ``str()`` is the one line shown to the user."""

    def __init__(self, source: str, field: str, expected: str, found: Any) -> None:
        shown = repr(found)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"{source}: {field}: expected {expected}, found {shown}")
        self.source = source
        self.field = field
        self.expected = expected
        self.found = found


@dataclass(frozen=True)
class Latency:
    """A latency distribution; parameters in microseconds.

    dist: "constant" (a), "uniform" (a..b), "exponential" (mean a),
    "lognormal" (median a, sigma b as a dimensionless shape in millionths).
    """

    dist: str = "constant"
    a: int = 1000
    b: int = 0


@dataclass(frozen=True)
class Link:
    latency: Latency = Latency()
    loss: float = 0.0
    duplicate: float = 0.0


@dataclass(frozen=True)
class Fault:
    """kind "partition" (groups, oneway, at, heal) or "crash" (node, at, restart)."""

    kind: str
    at: int
    until: int | None = None  # heal / restart time, None = never
    node: str | None = None
    groups: tuple[tuple[str, ...], ...] = ()
    oneway: bool = False


@dataclass(frozen=True)
class Input:
    at: int
    node: str
    data: dict[str, Any]


@dataclass(frozen=True)
class NodeSpec:
    name: str
    kind: str
    config: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunSpec:
    seed: int = 0
    until: int = 60_000_000


@dataclass(frozen=True)
class CheckSpec:
    max_depth: int = 40
    max_states: int = 200_000
    max_seconds: float = 120.0
    drops: int = 0
    duplicates: int = 0
    crashes: int = 0
    # "any": a timer may fire at any step; "idle": only when no message is in flight
    timers: str = "any"
    # groups of interchangeable nodes (sim/renaming.py): explored once up to renaming
    symmetry: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    model: str
    source: str
    switches: dict[str, Any]
    nodes: tuple[NodeSpec, ...]
    default_link: Link = Link()
    links: dict[tuple[str, str], Link] = field(default_factory=dict)
    faults: tuple[Fault, ...] = ()
    workload: tuple[Input, ...] = ()
    properties: tuple[str, ...] = ()
    run: RunSpec = RunSpec()
    check: CheckSpec = CheckSpec()

    def link(self, src: str, dst: str) -> Link:
        return self.links.get((src, dst), self.default_link)
