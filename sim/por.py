"""Partial-order reduction: expand a persistent subset of a world's actions.

In a world ``s`` the search may follow only a subset ``T`` of the enabled
actions (an *ample* set) instead of all of them, when these hold:

- **C0** ``T`` is empty only if nothing is enabled. Here ``T`` is every
  enabled action that involves one node ``p`` (deliveries, drops and
  duplicates of messages to ``p``, ``p``'s timers, a workload input to ``p``,
  crashing or restarting ``p``), for some ``p`` with something enabled.
- **C1, persistence.** Along every path from ``s`` made of actions outside
  ``T``, each action is independent of every action of ``T`` in the world
  where it is taken (:func:`independent`: they involve different nodes and
  do not compete for a fault budget or for the network going idle). A
  black-box handler may send ``p`` a message later, and a delivery to ``p``
  does not commute with another one, so this cannot be decided from ``s``
  alone: :meth:`PartialOrder._persistent` explores the worlds reachable from
  ``s`` by actions outside ``T`` and accepts ``T`` only if that exploration
  ends within :attr:`PartialOrder.horizon` worlds with no dependent action.
- **C2, visibility.** No action of ``T`` changes the value of an ``always``
  or ``sometimes`` property, or whether the world is settled (quiescent with
  every node up, where ``eventually`` properties are judged), in ``s`` or in
  any world of that exploration. And no world of it is settled.
- **C3, the cycle proviso, as breadth-first search needs it.** ``T`` is used
  only if every world it leads to is new (not met before by the search).
  Then a reduced world's successors are all discovered after it, so along
  a cycle of the reduced graph discovery times would increase forever: every
  cycle has a fully expanded world, and no action is postponed forever.

What this preserves (the standard argument: move the first action of ``T``
on a path to its front, or append one; C3 makes the process end): every
world where an ``always`` property fails or a ``sometimes`` guard holds has
a reduced-graph counterpart with the same property values, and every settled
world of the full graph is itself in the reduced graph, so every verdict and
the set of settled worlds are the same. Not preserved: path lengths (a
shortest counterexample of the reduced graph can be longer; with a
``max_depth`` the reduced search can stop where the full one did not, which
it then reports as incomplete).
"""

from __future__ import annotations

from collections.abc import Callable

from mxsim.sim.system import System
from mxsim.sim.world import Action, World

__all__ = ["PartialOrder", "independent", "involves"]


def involves(system: System, action: Action) -> str:
    """The one node whose state or mailbox ``action`` touches."""
    kind = action[0]
    if kind == "input":
        return system.inputs[action[1]].node
    return action[1]  # deliver/drop/duplicate: the destination; timer, crash, restart: the node


def _budget_kind(system: System, world: World, action: Action) -> int | None:
    """Which fault budget ``action`` spends in ``world`` (index into ``budget``), if any."""
    kind = action[0]
    if kind == "drop":
        return 0 if world.up[system.index[action[1]]] else None  # a down node's are free
    if kind == "duplicate":
        return 1
    if kind == "crash":
        return 2
    return None


def independent(system: System, world: World, a: Action, b: Action) -> bool:
    """Whether ``a`` and ``b``, both enabled in ``world``, commute there.

    Actions at different nodes touch disjoint node states and disjoint
    in-flight entries; what they can still share is a fault budget (one of
    them could spend the last of it), the order of the workload (one input
    is enabled at a time) and, with ``timers = "idle"``, whether the network
    is empty, which decides whether timers may fire.
    """
    if involves(system, a) == involves(system, b):
        return False
    ka = _budget_kind(system, world, a)
    if ka is not None and ka == _budget_kind(system, world, b) and world.budget[ka] < 2:
        return False
    if system.scenario.check.timers == "idle" and "timer" in (a[0], b[0]):
        return False
    return True


class PartialOrder:
    """Ample-set successors of worlds of ``system`` (see the module docstring).

    ``seen(world)`` tells whether the search met a world; ``canonical``
    maps a world to the one the search stores (symmetry, or the identity).
    """

    #: At most this many worlds are explored to establish that a set is persistent.
    horizon = 4

    def __init__(
        self, system: System, seen: Callable[[World], bool], canonical: Callable[[World], World]
    ) -> None:
        self.system = system
        self.seen = seen
        self.canonical = canonical
        self.visible = tuple(p for p in system.properties if p.kind in ("always", "sometimes"))
        self.reduced = 0  # worlds expanded with a proper subset of their actions
        self.decided: dict[int, tuple[Action, ...]] = {}  # key -> ample set chosen

    def successors(self, world: World) -> list[tuple[Action, World]]:
        system = self.system
        # The cycle proviso depends on what the search has seen, so a
        # reduction chosen when a world is first expanded is kept: the search
        # rebuilds paths by calling this again and must get the same list.
        k = system.key(world)
        chosen = self.decided.get(k)
        if chosen is not None:
            return [(a, self.canonical(system.apply(world, a)[0])) for a in chosen]
        enabled = system.enabled(world)
        ample = self._ample(world, enabled)
        if ample is not None:
            succ = [(a, self.canonical(system.apply(world, a)[0])) for a in ample]
            if not any(self.seen(w) for _, w in succ):
                self.reduced += 1
                self.decided[k] = tuple(ample)
                return succ
        # A full expansion needs no record: `_ample` is a function of the
        # world, and a successor once seen stays seen.
        return [(a, self.canonical(system.apply(world, a)[0])) for a in enabled]

    def _ample(self, world: World, enabled: list[Action]) -> list[Action] | None:
        """A persistent, invisible proper subset of ``enabled``, or None."""
        by_node: dict[str, list[Action]] = {}
        for a in enabled:
            by_node.setdefault(involves(self.system, a), []).append(a)
        if len(by_node) < 2:
            return None
        # Smallest first: the fewer the actions, the bigger the saving.
        for node in sorted(by_node, key=lambda n: (len(by_node[n]), self.system.index[n])):
            ample = by_node[node]
            if self._persistent(world, node, ample):
                return ample
        return None

    def _persistent(self, world: World, node: str, ample: list[Action]) -> bool:
        """C1 and C2 for ``ample`` (every enabled action at ``node``) in ``world``."""
        system = self.system
        region = [world]  # the worlds reachable from ``world`` by actions outside ``ample``
        met = {system.fingerprint(world)}
        k = 0
        while k < len(region):
            u = region[k]
            k += 1
            for b in system.enabled(u):
                if involves(system, b) == node:
                    if b in ample:
                        continue
                    return False  # something new for ``node`` to do: dependent on the set
                if not all(independent(system, u, a, b) for a in ample):
                    return False
                nxt = system.apply(u, b)[0]
                f = system.fingerprint(nxt)
                if f not in met:
                    if len(met) >= self.horizon:
                        return False
                    met.add(f)
                    region.append(nxt)
        # Visibility last: judging properties costs more than the steps above.
        if any(self._settled(u) for u in region[1:]):
            return False
        return all(self._invisible(u, ample) for u in region)

    def _invisible(self, u: World, ample: list[Action]) -> bool:
        """No action of ``ample`` changes a property's value or settledness in ``u``."""
        system = self.system
        before = self._labels(u)
        for a in ample:
            if self._labels(system.apply(u, a)[0]) != before:
                return False
        return True

    def _labels(self, world: World) -> tuple[bool, ...]:
        view = self.system.view(world)
        return (self._settled(world), *(p.predicate(view) for p in self.visible))

    def _settled(self, world: World) -> bool:
        return self.system.quiescent(world) and all(world.up)
