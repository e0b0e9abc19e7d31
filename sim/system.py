"""The fixed part of a run: the nodes a scenario builds, its properties, and the
questions asked of a world (what is enabled, its key, its view).

:meth:`System.apply` takes a world and an action and returns the next world
and the step's record (sim.step); the checker explores worlds with it and
``replay`` re-executes traces with it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from mxsim.sim.fingerprint import MASK, Digests
from mxsim.sim.model import Model, Property
from mxsim.sim.node import Node
from mxsim.sim.scenario import Scenario
from mxsim.sim.step import DECODED_LIMIT, Steps
from mxsim.sim.world import Action, World, _set, canonical

__all__ = ["System", "WorldView"]


class WorldView:
    """:class:`sim.model.View` of a world; node states decoded on demand."""

    __slots__ = ("system", "world", "_cache", "nodes", "switches", "_kinds")

    def __init__(self, system: System, world: World) -> None:
        self.system = system
        self.world = world
        self.nodes = system.names
        self.switches = system.switches
        self._cache: dict[str, dict[str, Any]] = {}
        self._kinds = system.kinds

    def state(self, node: str) -> dict[str, Any]:
        s = self._cache.get(node)
        if s is None:
            s = self._cache[node] = self.system.decoded(self.world.states[self.system.index[node]])
        return s

    def kind(self, node: str) -> str:
        return self._kinds[node]

    def config(self, node: str) -> dict[str, Any]:
        return self.system.nodes[self.system.index[node]].config

    def up(self, node: str) -> bool:
        return self.world.up[self.system.index[node]]

    def inflight(self) -> list[tuple[str, str, dict[str, Any]]]:
        return [(src, dst, json.loads(m)) for dst, src, m in self.world.inflight]


class System(Steps):
    """The fixed part of a run: nodes built from a scenario, its properties.

    >>> # see tests/sim/test_world.py for worked examples
    """

    def __init__(self, scenario: Scenario, model: Model) -> None:
        self.scenario = scenario
        self.model = model
        self.switches = dict(scenario.switches)
        self.names: tuple[str, ...] = tuple(spec.name for spec in scenario.nodes)
        self.index = {name: i for i, name in enumerate(self.names)}
        self.nodes: tuple[Node, ...] = tuple(
            model.kinds[spec.kind](spec.name, spec.config, self.switches) for spec in scenario.nodes
        )
        self.kinds = {n.name: n.kind for n in self.nodes}
        self.inputs = scenario.workload
        props = []
        for name in scenario.properties:
            prop = model.property(name)
            assert prop is not None, name  # the scenario loader checked the names
            props.append(prop)
        self.properties: tuple[Property, ...] = tuple(props)
        self._decoded: dict[str, Any] = {}
        self._transitions: dict[tuple, tuple] = {}
        self._digests: dict[str, bytes] = {}
        self.digests = Digests(self.names, len(self.inputs))

    # -- the start -------------------------------------------------------

    def initial(self) -> tuple[World, list[dict[str, Any]]]:
        """The world after every node's ``on_start``, in node order, and those steps."""
        world = self.unstarted()
        records = []
        for i in range(len(self.nodes)):
            world, rec = self.start(world, i)
            records.append(rec)
        return world, records

    # Fix: ``unstarted`` and ``start`` split :meth:`initial` into its steps so
    # that replay can follow a timed trace, where the network's notes about
    # a start's sends (loss, duplication) come before the next node starts,
    # and where an ``always`` violation can end the run before all started.

    def unstarted(self) -> World:
        """The world before any node's ``on_start``."""
        c = self.scenario.check
        return World(
            states=tuple(canonical(n.initial_state()) for n in self.nodes),
            up=(True,) * len(self.nodes),
            inflight=(),
            timers=(),
            workload=0,
            budget=(c.drops, c.duplicates, c.crashes),
        )

    def start(self, world: World, i: int) -> tuple[World, dict[str, Any]]:
        """Run node ``i``'s ``on_start`` (the ``i``-th step of :meth:`initial`)."""
        return self._run(world, i, "start", lambda n, ctx, st: n.on_start(ctx, st), ("start",))

    # -- what may happen next --------------------------------------------

    def enabled(self, world: World) -> list[Action]:
        """Every action possible in ``world``, in a fixed order."""
        acts: list[Action] = []
        if world.workload < len(self.inputs):
            acts.append(("input", world.workload))
        drops, dups, crashes = world.budget
        previous = None
        for entry in world.inflight:
            if entry == previous:
                continue  # copies of one message give the same successors
            previous = entry
            dst, src, msg = entry
            if not world.up[self.index[dst]]:
                acts.append(("drop", dst, src, msg))
                continue
            acts.append(("deliver", dst, src, msg))
            if drops:
                acts.append(("drop", dst, src, msg))
            if dups:
                acts.append(("duplicate", dst, src, msg))
        if self.scenario.check.timers == "any" or not world.inflight:
            for node, name, _delay in world.timers:
                acts.append(("timer", node, name))
        for i, name in enumerate(self.names):
            if not world.up[i]:
                acts.append(("restart", name))
            elif crashes:
                acts.append(("crash", name))
        return acts

    def quiescent(self, world: World) -> bool:
        """Nothing left to happen: no message in flight, timer armed or input pending.

        A node that crashed and never restarts does not prevent quiescence in
        a timed run; in exploration a restart is always enabled, so terminal
        worlds have every node up.
        """
        return not world.inflight and not world.timers and world.workload >= len(self.inputs)

    # -- one step --------------------------------------------------------

    def apply(self, world: World, action: Action) -> tuple[World, dict[str, Any]]:
        """The world after ``action`` and the step's record; StepError if not enabled.

        The new world carries its key, derived from ``world``'s by the
        digests of what the step removed and added (sim.fingerprint).
        """
        return self._step(world, action, True)

    def next(self, world: World, action: Action) -> World:
        """The world after ``action``, as :meth:`apply` gives it, without the record.

        The search's hot path: a record is a few dicts per step that a
        search which keeps no trace would build only to drop.
        """
        return self._step(world, action, False)[0]

    def peek_key(self, world: World, action: Action) -> int | None:
        """The key of the world after an *enabled* ``action``, without building
        that world, when the step's handler is already in the memo; else None.

        Breadth-first search meets most successors again (seen worlds), and
        this lets it drop those before paying for their tuples.
        """
        key = world._key
        kind = action[0]
        if key is None:
            return None
        d = self.digests
        if kind == "deliver":
            _, dst, src, msg = action
            i = self.index[dst]
            hit = self._transitions.get((i, "deliver", world.states[i], (src, msg)))
            if hit is None:
                return None
            key -= d.message((dst, src, msg))
        elif kind == "timer":
            _, node, name = action
            i = self.index[node]
            hit = self._transitions.get((i, "timer", world.states[i], (name,)))
            if hit is None:
                return None
            for t in world.timers:
                if t[0] == node and t[1] == name:
                    key -= d.timer(t)
                    break
            else:
                return None
        else:
            return None  # input, drop, duplicate, crash, restart: rarer; build them
        timer_ops = hit[2]
        key += hit[4]
        if timer_ops:
            key += _timers_delta(world.timers, self.nodes[i].name, timer_ops, d, action)
        return key & MASK

    def key(self, world: World) -> int:
        """The world's incremental key (60 bits, sim.fingerprint); the search's dedup key."""
        k = world._key
        if k is None:
            w = world
            k = self.digests.key(w.states, w.up, w.inflight, w.timers, w.workload, w.budget)
            _set[-1](world, k)
        return k

    def view(self, world: World) -> WorldView:
        return WorldView(self, world)

    # -- caches of the exhaustive runtime ----------------------------------------
    #
    # Worlds share the strings of the node states they did not change, so a
    # state is decoded and digested once, however many worlds hold it.

    def decoded(self, text: str) -> Any:
        """The value of a canonical JSON string, shared: treat it as read-only."""
        value = self._decoded.get(text)
        if value is None:
            if len(self._decoded) >= DECODED_LIMIT:
                self._decoded.clear()  # bounded: a value is re-decoded when met again
            value = self._decoded[text] = json.loads(text)
        return value

    def fingerprint(self, world: World) -> bytes:
        """Same role as :meth:`World.fingerprint`, using per-string digests."""
        digests = self._digests
        h = hashlib.blake2b(digest_size=16)
        for text in world.states:
            d = digests.get(text)
            if d is None:
                d = digests[text] = hashlib.blake2b(text.encode(), digest_size=16).digest()
            h.update(d)
        for dst, src, msg in world.inflight:
            d = digests.get(msg)
            if d is None:
                d = digests[msg] = hashlib.blake2b(msg.encode(), digest_size=16).digest()
            h.update(f"{dst}\x00{src}\x00".encode())
            h.update(d)
        h.update(repr((world.up, world.timers, world.workload, world.budget)).encode())
        return h.digest()


def _timers_delta(timers: tuple, node: str, ops: tuple, digests: Digests, fired: Action) -> int:
    """The key change of :func:`_timers_after`, without building the timers.

    ``fired`` is the timer action being taken, whose timer is already gone
    from the world the handler sees.
    """
    gone = fired[2] if fired[0] == "timer" else None
    if len(ops) == 1:  # the common case: one timer set or cancelled
        op, name, delay = ops[0]
        delta = digests.timer((node, name, delay)) if op == "set" else 0
        if name != gone:
            for t in timers:
                if t[1] == name and t[0] == node:
                    return delta - digests.timer(t)
        return delta
    armed = {name: delay for n, name, delay in timers if n == node}
    armed.pop(gone, None)
    delta = 0
    for op, name, delay in ops:
        if name in armed:
            delta -= digests.timer((node, name, armed.pop(name)))
        if op == "set":
            armed[name] = delay
            delta += digests.timer((node, name, delay))
    return delta
