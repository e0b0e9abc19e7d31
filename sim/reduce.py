"""The state-space reductions the breadth-first search can run with.

- ``symmetry`` (:mod:`sim.symmetry`): worlds equal up to renaming the
  scenario's interchangeable nodes are explored once, as one representative.
- ``por`` (:mod:`sim.por`): partial-order reduction; in a world, only a
  persistent subset of the enabled actions is expanded when that is sound.
- ``both``; ``none``.

What is preserved, with either or both: the verdict of every ``always``,
``eventually`` and ``sometimes`` property, and the set of quiescent worlds
(up to renaming, under symmetry) of a search that is complete. What is not:
the counterexample is a shortest path of the *reduced* graph, which can be
longer than the shortest one of the full graph (never under symmetry alone:
the quotient keeps every distance); the state counts, of course.
"""

from __future__ import annotations

from collections.abc import Callable

from mxsim.sim.system import System
from mxsim.sim.world import Action, World

__all__ = ["Reduction", "MODES"]

MODES = ("none", "por", "symmetry", "both")


class Reduction:
    """Successors of a world under the reductions of ``mode``.

    ``seen(world)`` tells whether the search already met a world; the
    partial-order reduction's cycle proviso needs it.
    """

    def __init__(self, system: System, mode: str, seen: Callable[[World], bool]) -> None:
        if mode not in MODES:
            raise ValueError(f"reduction {mode!r}: expected one of {', '.join(MODES)}")
        self.system = system
        self.mode = mode
        self.symmetry = None
        if mode in ("symmetry", "both") and system.scenario.check.symmetry:
            from mxsim.sim.symmetry import Symmetry

            self.symmetry = Symmetry(system)
        self.por = None
        if mode in ("por", "both"):
            from mxsim.sim.por import PartialOrder

            self.por = PartialOrder(system, seen, self._canonical)

    @property
    def active(self) -> bool:
        """False when nothing is reduced (e.g. ``symmetry`` and no groups declared)."""
        return self.symmetry is not None or self.por is not None

    def _canonical(self, world: World) -> World:
        return world if self.symmetry is None else self.symmetry.canonical(world)

    def root(self, world: World) -> World:
        """The world the search starts from, for the initial ``world``."""
        return self._canonical(world)

    def successors(self, world: World) -> list[tuple[Action, World]]:
        if self.por is not None:
            return self.por.successors(world)
        apply = self.system.apply
        canonical = self._canonical
        return [(a, canonical(apply(world, a)[0])) for a in self.system.enabled(world)]

    def concrete(self, root: World, path: list[Action]) -> list[Action]:
        """``path`` (from ``self.root(root)``) as actions of the real system from ``root``."""
        if self.symmetry is None:
            return path
        return self.symmetry.concrete(root, path)
