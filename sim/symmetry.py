"""Symmetry reduction: worlds equal up to renaming interchangeable nodes are one.

A scenario declares groups of interchangeable nodes (``[check] symmetry =
[["bob1", "bob2", "bob3"]]``, validated by :mod:`sim.scenario` with
:func:`sim.renaming.interchangeable`). A permutation ``p`` of a group acts on
a world by moving each member's state, up flag, timers and messages to its
image and renaming the members' names inside every node state, message and
timer name (:mod:`sim.renaming` says how and why that is sound). The search
explores one representative per orbit, :meth:`Symmetry.canonical`.

The representative is chosen by sorting each group's members by a key that
does not depend on their names (their own state, timers and messages with
every member's name abstracted); members whose keys tie are tried in every
order (up to :attr:`Symmetry.limit` candidates in all) and the candidate with
the smallest fingerprint wins. Any member of the orbit would be a sound
representative; this choice maps most of an orbit to one world, and all of
it when the ties are within the limit.

Counterexamples are found as paths of the quotient: each action is taken in
a representative. :meth:`Symmetry.concrete` maps such a path back onto the
real system, step by step, by composing the inverses of the permutations the
search applied, so it replays on the unpermuted scenario.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import replace

from mxsim.sim.renaming import rename, rename_string
from mxsim.sim.system import System
from mxsim.sim.world import Action, World, canonical

__all__ = ["Symmetry"]

Renaming = dict[str, str]


class Symmetry:
    """Canonical representatives of worlds of ``system`` under its symmetry groups."""

    #: At most this many candidate orders are compared for one world.
    limit = 120

    def __init__(self, system: System, groups: tuple[tuple[str, ...], ...] | None = None) -> None:
        self.system = system
        self.groups = system.scenario.check.symmetry if groups is None else groups
        self._member = {m: g for g, group in enumerate(self.groups) for m in group}
        self._texts: dict[tuple[str, tuple[str, ...]], str] = {}
        self._abstract: dict[tuple[str, str], str] = {}

    # -- the representative ------------------------------------------------

    def canonical(self, world: World) -> World:
        """The representative of ``world``'s orbit."""
        return self.canonical_with(world)[0]

    def canonical_with(self, world: World) -> tuple[World, Renaming]:
        """The representative and the renaming that maps ``world`` onto it."""
        keys = self._keys(world)
        choices: list[list[list[str]]] = []  # per group: its members in key order, by tie class
        for group in self.groups:
            keyed = sorted((keys[m], i) for i, m in enumerate(group))
            classes: list[list[str]] = []
            previous = None
            for key, i in keyed:
                if classes and key == previous:
                    classes[-1].append(group[i])
                else:
                    classes.append([group[i]])
                previous = key
            choices.append(classes)
        count = math.prod(math.factorial(len(c)) for classes in choices for c in classes)
        best: tuple[bytes, World, Renaming] | None = None
        for orders in self._orders(choices, count <= self.limit):
            mapping: Renaming = {}
            for group, order in zip(self.groups, orders, strict=True):
                for old, new in zip(order, group, strict=True):
                    if old != new:
                        mapping[old] = new
            if count == 1 or count > self.limit:
                return self.rename_world(world, mapping), mapping
            candidate = self.rename_world(world, mapping)
            fp = self.system.fingerprint(candidate)
            if best is None or fp < best[0]:
                best = (fp, candidate, mapping)
        assert best is not None
        return best[1], best[2]

    @staticmethod
    def _orders(choices: list[list[list[str]]], every: bool):
        """Member orders per group: every order within tie classes, or the first only."""
        per_group = []
        for classes in choices:
            if every:
                options = itertools.product(*(itertools.permutations(c) for c in classes))
                per_group.append([[m for part in opt for m in part] for opt in options])
            else:
                per_group.append([[m for c in classes for m in c]])
        return itertools.product(*per_group)

    def _keys(self, world: World) -> dict[str, tuple]:
        """What each member looks like with every member's name abstracted."""
        system = self.system
        boxes: dict[str, tuple[list, list, list]] = {m: ([], [], []) for m in self._member}
        for dst, src, msg in world.inflight:
            if dst in boxes:
                boxes[dst][0].append((self._peer(src, dst), self._abstracted(msg, dst)))
            if src in boxes:
                boxes[src][1].append((self._peer(dst, src), self._abstracted(msg, src)))
        for node, name, delay in world.timers:
            if node in boxes:
                boxes[node][2].append((self._abstracted(name, node), delay))
        out = {}
        for m, (inbox, outbox, timers) in boxes.items():
            i = system.index[m]
            state = self._abstracted(world.states[i], m)
            out[m] = (state, world.up[i], sorted(timers), sorted(inbox), sorted(outbox))
        return out

    def _peer(self, name: str, member: str) -> str:
        if name == member:
            return "\x00self"
        return "\x00peer" if name in self._member else name

    def _abstracted(self, text: str, member: str) -> str:
        hit = self._abstract.get((text, member))
        if hit is None:
            # Text-level is enough for a sorting key: it needs to be a function
            # of the world that renaming the group does not change.
            mapping = {m: ("_self_" if m == member else "_peer_") for m in self._member}
            hit = self._abstract[(text, member)] = rename_string(text, mapping)
        return hit

    # -- renaming worlds and actions ---------------------------------------

    def rename_world(self, world: World, mapping: Renaming) -> World:
        """``world`` with node ``n`` now called ``mapping.get(n, n)`` throughout."""
        if not mapping:
            return world
        system = self.system
        key = tuple(mapping.get(m, m) for m in self._member)
        states = list(world.states)
        up = list(world.up)
        for i, name in enumerate(system.names):
            j = system.index[mapping.get(name, name)]
            states[j] = self._rename_text(world.states[i], mapping, key)
            up[j] = world.up[i]
        inflight = sorted(
            (mapping.get(d, d), mapping.get(s, s), self._rename_text(m, mapping, key))
            for d, s, m in world.inflight
        )
        timers = sorted(
            (mapping.get(n, n), rename_string(name, mapping), delay)
            for n, name, delay in world.timers
        )
        return replace(
            world,
            states=tuple(states),
            up=tuple(up),
            inflight=tuple(inflight),
            timers=tuple(timers),
        )

    def rename_action(self, action: Action, mapping: Renaming) -> Action:
        """``action`` as it reads after renaming its world by ``mapping``."""
        kind = action[0]
        if not mapping or kind == "input":
            return action
        if kind in ("deliver", "drop", "duplicate"):
            _, dst, src, msg = action
            key = tuple(mapping.get(m, m) for m in self._member)
            return (
                kind,
                mapping.get(dst, dst),
                mapping.get(src, src),
                self._rename_text(msg, mapping, key),
            )
        if kind == "timer":
            return ("timer", mapping.get(action[1], action[1]), rename_string(action[2], mapping))
        return (kind, mapping.get(action[1], action[1]))

    def _rename_text(self, text: str, mapping: Renaming, key: tuple[str, ...]) -> str:
        """A canonical JSON string renamed (decoded, so keys are sorted again)."""
        hit = self._texts.get((text, key))
        if hit is None:
            hit = text
            if any(name in text for name in mapping):
                hit = canonical(rename(json.loads(text), mapping))
            self._texts[(text, key)] = hit
        return hit

    # -- paths of the quotient on the real system --------------------------

    def concrete(self, root: World, path: list[Action]) -> list[Action]:
        """The actions of the real system from ``root`` that follow ``path``.

        ``path`` starts at ``canonical(root)`` and each of its actions was
        taken in the representative the previous one led to.
        """
        apply = self.system.apply
        rep, to_rep = self.canonical_with(root)
        back = _inverse(to_rep)  # representative's names -> the real world's
        out = []
        for action in path:
            out.append(self.rename_action(action, back))
            rep, to_rep = self.canonical_with(apply(rep, action)[0])
            inverse = _inverse(to_rep)
            back = {n: back.get(inverse.get(n, n), inverse.get(n, n)) for n in self._member}
            back = {n: m for n, m in back.items() if n != m}
        return out

    def generators(self) -> list[Renaming]:
        """Transpositions of each group's first member with each other one."""
        return [{g[0]: m, m: g[0]} for g in self.groups for m in g[1:]]


def _inverse(mapping: Renaming) -> Renaming:
    return {new: old for old, new in mapping.items()}
