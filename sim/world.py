"""The global state of a system and the one step function both runtimes share.

A :class:`World` is an immutable value: every node's state as canonical JSON,
which nodes are up, the messages in flight (a multiset), the armed timers, the
position in the workload and the fault budgets left. :meth:`System.apply`
takes a world and an :data:`Action` and returns the next world together with
the record of the step (what ran, what it emitted). The checker explores
worlds with it, and ``replay`` re-executes traces with it, whichever runtime
wrote them.

Actions are plain tuples, so they can be stored, compared and enumerated:

- ``("input", k)``            workload input ``k`` reaches its node
- ``("deliver", dst, src, m)``  message ``m`` (canonical JSON) reaches ``dst``
- ``("drop", dst, src, m)``     it is lost (a fault budget, or ``dst`` is down)
- ``("duplicate", dst, src, m)``  the network makes one more copy of it
- ``("timer", node, name)``   an armed timer fires
- ``("crash", node)`` / ``("restart", node)``
"""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_left, insort
from dataclasses import dataclass, replace
from typing import Any

from mxsim.sim.model import Model, Property
from mxsim.sim.node import WORKLOAD, Node
from mxsim.sim.scenario import Scenario

__all__ = [
    "World",
    "System",
    "Action",
    "Effects",
    "canonical",
    "StepError",
    "digest_states",
    "effects_record",
]

Action = tuple[Any, ...]


def canonical(value: Any) -> str:
    """Canonical JSON: sorted keys, no spaces, ASCII only.

    >>> canonical({"b": 1, "a": [True, None]})
    '{"a":[true,null],"b":1}'
    """
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


class StepError(Exception):
    """An action that is not enabled in the world it was applied to."""


@dataclass(frozen=True, slots=True)
class World:
    states: tuple[str, ...]
    up: tuple[bool, ...]
    inflight: tuple[tuple[str, str, str], ...]  # sorted (dst, src, msg json); repeats = copies
    timers: tuple[tuple[str, str, int], ...]  # sorted (node, name, delay µs)
    workload: int
    budget: tuple[int, int, int]  # drops, duplicates, crashes left

    def fingerprint(self) -> bytes:
        """16 bytes that identify the world (not Python's salted ``hash``)."""
        h = hashlib.blake2b(digest_size=16)
        for s in self.states:
            h.update(s.encode())
            h.update(b"\x00")
        h.update(repr((self.up, self.inflight, self.timers, self.workload, self.budget)).encode())
        return h.digest()


def digest_states(states: tuple[str, ...] | list[str], up: tuple[bool, ...] | list[bool]) -> str:
    """Hex digest of the nodes' states (canonical JSON) and which are up.

    The end line of every trace carries it, so replay can confirm it reached
    the very same node states.
    """
    h = hashlib.sha256()
    for s, u in zip(states, up, strict=True):
        h.update(s.encode())
        h.update(b"\x01" if u else b"\x00")
    return h.hexdigest()


class Effects:
    """Collects what a handler emits; it is the :class:`sim.node.Context` of a step."""

    __slots__ = ("node", "switches", "sends", "timer_ops", "metrics")

    def __init__(self, node: str, switches: dict[str, Any]) -> None:
        self.node = node
        self.switches = switches
        self.sends: list[list[Any]] = []
        self.timer_ops: list[tuple[str, str, int]] = []  # in the order the handler made them
        self.metrics: list[list[Any]] = []

    def send(self, dst: str, msg: dict[str, Any]) -> None:
        self.sends.append([dst, msg])

    def set_timer(self, name: str, delay_ms: float) -> None:
        self.timer_ops.append(("set", name, round(delay_ms * 1000)))

    def cancel_timer(self, name: str) -> None:
        self.timer_ops.append(("cancel", name, 0))

    def metric(self, name: str, value: int = 1) -> None:
        self.metrics.append([name, value])

    def record(self) -> dict[str, Any]:
        return effects_record(self.sends, self.timer_ops, self.metrics)


def effects_record(sends: list, timer_ops: list, metrics: list) -> dict[str, Any]:
    """A step's effects as trace data (only the kinds that occurred)."""
    out: dict[str, Any] = {}
    if sends:
        out["send"] = sends
    sets = [[name, delay] for op, name, delay in timer_ops if op == "set"]
    if sets:
        out["set"] = sets
    cancels = [name for op, name, _ in timer_ops if op == "cancel"]
    if cancels:
        out["cancel"] = cancels
    if metrics:
        out["metric"] = metrics
    return out


class WorldView:
    """:class:`sim.model.View` of a world; node states decoded on demand."""

    __slots__ = ("system", "world", "_cache", "nodes", "switches")

    def __init__(self, system: System, world: World) -> None:
        self.system = system
        self.world = world
        self.nodes = system.names
        self.switches = system.switches
        self._cache: dict[str, dict[str, Any]] = {}

    def state(self, node: str) -> dict[str, Any]:
        s = self._cache.get(node)
        if s is None:
            s = self._cache[node] = self.system.decoded(self.world.states[self.system.index[node]])
        return s

    def kind(self, node: str) -> str:
        return self.system.nodes[self.system.index[node]].kind

    def config(self, node: str) -> dict[str, Any]:
        return self.system.nodes[self.system.index[node]].config

    def up(self, node: str) -> bool:
        return self.world.up[self.system.index[node]]

    def inflight(self) -> list[tuple[str, str, dict[str, Any]]]:
        return [(src, dst, json.loads(m)) for dst, src, m in self.world.inflight]


class System:
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
        """The world after ``action`` and the step's record; StepError if not enabled."""
        kind = action[0]
        if kind == "input":
            k = action[1]
            if k != world.workload or k >= len(self.inputs):
                raise StepError(f"workload input {k} is not next (next is {world.workload})")
            inp = self.inputs[k]
            i = self.index[inp.node]
            if not world.up[i]:
                # An input to a crashed node is lost, like a request to a dead host.
                world = replace(world, workload=k + 1)
                rec = {"act": "input", "node": inp.node, "input": k, "msg": inp.data}
                rec["reason"] = "down"
                return world, rec
            world = replace(world, workload=k + 1)
            data = inp.data
            world, rec = self._run(
                world, i, "input", lambda n, ctx, st: n.on_message(ctx, st, WORKLOAD, data), (k,)
            )
            rec["input"] = k
            rec["msg"] = data
            return world, rec
        if kind in ("deliver", "drop", "duplicate"):
            _, dst, src, msg = action
            entry = (dst, src, msg)
            pos = _find(world.inflight, entry)
            if pos < 0:
                raise StepError(f"no message from {src} to {dst} in flight: {msg}")
            rest = world.inflight[:pos] + world.inflight[pos + 1 :]
            i = self.index[dst]
            drops, dups, crashes = world.budget
            base = {"act": kind, "node": dst, "src": src, "msg": self.decoded(msg)}
            if kind == "drop":
                if not world.up[i]:
                    base["reason"] = "down"
                elif drops:
                    base["reason"] = "budget"
                    drops -= 1
                else:
                    raise StepError("no drop budget left")
                return replace(world, inflight=rest, budget=(drops, dups, crashes)), base
            if kind == "duplicate":
                if not dups or not world.up[i]:
                    raise StepError("no duplicate budget left")
                return replace(
                    world,
                    inflight=_insert(world.inflight, entry),
                    budget=(drops, dups - 1, crashes),
                ), base
            if not world.up[i]:
                raise StepError(f"{dst} is down")
            world = replace(world, inflight=rest)
            payload = base["msg"]
            world, rec = self._run(
                world,
                i,
                "deliver",
                lambda n, ctx, st: n.on_message(ctx, st, src, payload),
                (src, msg),
            )
            rec["src"] = src
            rec["msg"] = base["msg"]
            return world, rec
        if kind == "timer":
            _, node, name = action
            pos = next((j for j, t in enumerate(world.timers) if t[0] == node and t[1] == name), -1)
            if pos < 0:
                raise StepError(f"timer {name} is not armed at {node}")
            world = replace(world, timers=world.timers[:pos] + world.timers[pos + 1 :])
            world, rec = self._run(
                world,
                self.index[node],
                "timer",
                lambda n, ctx, st: n.on_timer(ctx, st, name),
                (name,),
            )
            rec["timer"] = name
            return world, rec
        if kind == "crash":
            node = action[1]
            i = self.index[node]
            drops, dups, crashes = world.budget
            if not world.up[i]:
                raise StepError(f"{node} is already down")
            up = world.up[:i] + (False,) + world.up[i + 1 :]
            timers = tuple(t for t in world.timers if t[0] != node)
            world = replace(world, up=up, timers=timers, budget=(drops, dups, max(crashes - 1, 0)))
            return world, {"act": "crash", "node": node}
        if kind == "restart":
            node = action[1]
            i = self.index[node]
            if world.up[i]:
                raise StepError(f"{node} is not down")
            n = self.nodes[i]
            fresh = n.restart_state(json.loads(world.states[i]))
            states = world.states[:i] + (canonical(fresh),) + world.states[i + 1 :]
            up = world.up[:i] + (True,) + world.up[i + 1 :]
            world = replace(world, states=states, up=up)
            return self._run(
                world, i, "restart", lambda n, ctx, st: n.on_start(ctx, st), ("restart",)
            )
        raise StepError(f"unknown action {kind!r}")

    def network(self, world: World, action: Action, reason: str | None) -> tuple[World, dict]:
        """Replay a loss (``drop`` for ``reason`` "loss" or "partition") or a
        ``duplicate`` that the timed runtime's network decided.

        Fix: these are the network's choices, made when the message was sent,
        not the checker's faults: they take no budget and do not depend on
        whether the destination is up. :meth:`apply` refused them (no budget
        left), so timed traces with loss or duplication did not replay.
        """
        kind, dst, src, msg = action
        if kind == "drop" and reason in ("loss", "partition"):
            pos = _find(world.inflight, (dst, src, msg))
            if pos < 0:
                raise StepError(f"no message from {src} to {dst} in flight: {msg}")
            inflight = world.inflight[:pos] + world.inflight[pos + 1 :]
        elif kind == "duplicate" and reason is None:
            if _find(world.inflight, (dst, src, msg)) < 0:
                raise StepError(f"no message from {src} to {dst} in flight: {msg}")
            inflight = _insert(world.inflight, (dst, src, msg))
        else:
            raise StepError(f"{kind} for reason {reason!r} is not the network's choice")
        rec = {"act": kind, "node": dst, "src": src, "msg": self.decoded(msg)}
        if reason is not None:
            rec["reason"] = reason
        return replace(world, inflight=inflight), rec

    def _run(
        self, world: World, i: int, act: str, call, key: tuple | None = None
    ) -> tuple[World, dict[str, Any]]:
        """Run one handler of node ``i`` on its state in ``world``.

        Handlers are pure functions of (state, input), so a transition met
        again (the same node state and input in another world, which breadth-
        first search meets all the time) is taken from a memo keyed by
        ``key`` instead of being run and re-encoded.
        """
        node = self.nodes[i]
        memo_key = None if key is None else (i, act, world.states[i], key)
        hit = self._transitions.get(memo_key) if memo_key is not None else None
        if hit is None:
            state = json.loads(world.states[i])
            ctx = Effects(node.name, self.switches)
            call(node, ctx, state)
            sends = tuple((dst, canonical(msg)) for dst, msg in ctx.sends)
            hit = (canonical(state), sends, ctx, ctx.record())
            if memo_key is not None:
                self._transitions[memo_key] = hit
        new_state, sends, ctx, record = hit
        states = world.states[:i] + (new_state,) + world.states[i + 1 :]
        inflight = world.inflight
        for dst, msg in sends:
            inflight = _insert(inflight, (dst, node.name, msg))
        timers = world.timers
        if ctx.timer_ops:
            timers = _timers_after(timers, node.name, ctx)
        world = replace(world, states=states, inflight=inflight, timers=timers)
        return world, {"act": act, "node": node.name, "effects": record}

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


def action_of(line: dict[str, Any], system: System) -> Action | None:
    """The action a trace step line records; None for steps that are only notes."""
    act = line.get("act")
    if act == "input":
        return ("input", line.get("input"))
    if act in ("deliver", "drop", "duplicate"):
        return (act, line.get("node"), line.get("src"), canonical(line.get("msg")))
    if act == "timer":
        return ("timer", line.get("node"), line.get("timer"))
    if act in ("crash", "restart"):
        return (act, line.get("node"))
    if act in ("start", "partition", "heal"):
        return None
    raise StepError(f"unknown act {act!r}")


def _find(entries: tuple, entry: tuple) -> int:
    pos = bisect_left(entries, entry)
    if pos < len(entries) and entries[pos] == entry:
        return pos
    return -1


def _insert(entries: tuple, entry: tuple) -> tuple:
    out = list(entries)
    insort(out, entry)
    return tuple(out)


def _timers_after(timers: tuple, node: str, ctx: Effects) -> tuple:
    """Apply a handler's timer effects in the order it made them."""
    mine = {name: delay for n, name, delay in timers if n == node}
    for op, name, delay in ctx.timer_ops:
        if op == "set":
            mine[name] = delay
        else:
            mine.pop(name, None)
    others = [t for t in timers if t[0] != node]
    return tuple(sorted(others + [(node, name, delay) for name, delay in mine.items()]))
