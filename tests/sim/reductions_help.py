"""Helpers of the reduction tests: run a search, collect the quiescent worlds it judged.

The quiescent worlds are compared as fingerprints, of the representative
under the scenario's symmetry (if it declares one) whatever the reduction, so
a search with and one without symmetry can be compared.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from mxsim.sim.explore import Explorer
from mxsim.sim.explore_report import Report
from mxsim.sim.symmetry import Symmetry
from mxsim.sim.system import System
from mxsim.sim.trace import path_lines
from mxsim.sim.world import World

__all__ = ["Recorder", "search", "without_properties", "replays"]


class Recorder(Explorer):
    """An explorer that keeps every world it judged as the end of a run."""

    def __init__(self, system: System, **kw: Any) -> None:
        super().__init__(system, **kw)
        self.finals: list[World] = []

    def _judge_final(self, world: World, fp: bytes, violated: dict) -> None:
        self.finals.append(world)
        super()._judge_final(world, fp, violated)


def search(system: System, reduce: str, **bounds: Any) -> tuple[Report, set[bytes]]:
    """The report of a search and the fingerprints of its quiescent worlds."""
    explorer = Recorder(system, reduce=reduce, **bounds)
    report = explorer.bfs()
    canon = Symmetry(system) if system.scenario.check.symmetry else None
    finals = {
        system.fingerprint(w if canon is None else canon.canonical(w)) for w in explorer.finals
    }
    return report, finals


def without_properties(system: System) -> System:
    """The same system judging nothing: every quiescent world is then reached.

    (A search does not expand a world where a property first fails, so with
    properties the quiescent worlds behind it depend on which one that was.)
    """
    scenario = dataclasses.replace(system.scenario, properties=())
    return System(scenario, system.model)


def replays(system: System, report: Report) -> bool:
    """Every counterexample runs on the real system and violates its property."""
    for cex in report.counterexamples:
        _, _, judge = path_lines(system, cex.actions)
        if judge.verdicts.get(cex.property) != "violated":
            return False
    return True
