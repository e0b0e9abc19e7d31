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
from dataclasses import dataclass, field
from typing import Any

from mxsim.sim.fingerprint import MASK, Digests
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

# Entries in each of System's memos (transitions, decoded states) before it is
# emptied: they are pure functions of their keys, so the bound costs only speed.
MEMO_LIMIT = 100_000
DECODED_LIMIT = 20_000  # decoded states are several times their JSON's size


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
    # The incremental key (see sim.fingerprint), filled in by System.apply
    # from the world it stepped from, or on demand by System.key. Not an
    # init field, so dataclasses.replace leaves it unset, never stale.
    _key: int | None = field(default=None, init=False, repr=False, compare=False, hash=False)

    def fingerprint(self) -> bytes:
        """16 bytes that identify the world (not Python's salted ``hash``)."""
        h = hashlib.blake2b(digest_size=16)
        for s in self.states:
            h.update(s.encode())
            h.update(b"\x00")
        h.update(repr((self.up, self.inflight, self.timers, self.workload, self.budget)).encode())
        return h.digest()


_new = object.__new__
_set = [World.__dict__[f].__set__ for f in World.__slots__]


def _world(states, up, inflight, timers, workload, budget, key) -> World:
    """A World without the dataclass constructor's cost (the search's hot path)."""
    w = _new(World)
    s_states, s_up, s_inflight, s_timers, s_workload, s_budget, s_key = _set
    s_states(w, states)
    s_up(w, up)
    s_inflight(w, inflight)
    s_timers(w, timers)
    s_workload(w, workload)
    s_budget(w, budget)
    s_key(w, key)
    return w


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

    def _step(self, world: World, action: Action, recording: bool) -> tuple[World, Any]:
        kind = action[0]
        key = world._key
        d = self.digests
        if kind == "input":
            k = action[1]
            if k != world.workload or k >= len(self.inputs):
                raise StepError(f"workload input {k} is not next (next is {world.workload})")
            inp = self.inputs[k]
            i = self.index[inp.node]
            if key is not None:
                key = (key - d.workload[k] + d.workload[k + 1]) & MASK
            world = _world(
                world.states, world.up, world.inflight, world.timers, k + 1, world.budget, key
            )
            if not world.up[i]:
                # An input to a crashed node is lost, like a request to a dead host.
                if not recording:
                    return world, None
                rec = {"act": "input", "node": inp.node, "input": k, "msg": inp.data}
                rec["reason"] = "down"
                return world, rec
            data = inp.data
            world, rec = self._run(
                world,
                i,
                "input",
                lambda n, ctx, st: n.on_message(ctx, st, WORKLOAD, data),
                (k,),
                recording,
            )
            if recording:
                rec["input"] = k
                rec["msg"] = data
            return world, rec
        if kind in ("deliver", "drop", "duplicate"):
            _, dst, src, msg = action
            entry = (dst, src, msg)
            inflight = world.inflight
            pos = _find(inflight, entry)
            if pos < 0:
                raise StepError(f"no message from {src} to {dst} in flight: {msg}")
            rest = inflight[:pos] + inflight[pos + 1 :]
            i = self.index[dst]
            budget = world.budget
            drops, dups, crashes = budget
            base = None
            if recording:
                base = {"act": kind, "node": dst, "src": src, "msg": self.decoded(msg)}
            if kind == "drop":
                if not world.up[i]:
                    reason = "down"
                elif drops:
                    reason = "budget"
                    drops -= 1
                else:
                    raise StepError("no drop budget left")
                if recording:
                    base["reason"] = reason
                after = (drops, dups, crashes)
                if key is not None:
                    key = (key - d.message(entry) - d.budget(budget) + d.budget(after)) & MASK
                w = _world(world.states, world.up, rest, world.timers, world.workload, after, key)
                return w, base
            if kind == "duplicate":
                if not dups or not world.up[i]:
                    raise StepError("no duplicate budget left")
                after = (drops, dups - 1, crashes)
                if key is not None:
                    key = (key + d.message(entry) - d.budget(budget) + d.budget(after)) & MASK
                more = _insert(inflight, entry)
                w = _world(world.states, world.up, more, world.timers, world.workload, after, key)
                return w, base
            if not world.up[i]:
                raise StepError(f"{dst} is down")
            if key is not None:
                key = (key - d.message(entry)) & MASK
            world = _world(world.states, world.up, rest, world.timers, world.workload, budget, key)
            world, rec = self._run(
                world,
                i,
                "deliver",
                lambda n, ctx, st: n.on_message(ctx, st, src, self.decoded(msg)),
                (src, msg),
                recording,
            )
            if recording:
                rec["src"] = src
                rec["msg"] = base["msg"]
            return world, rec
        if kind == "timer":
            _, node, name = action
            timers = world.timers
            pos = next((j for j, t in enumerate(timers) if t[0] == node and t[1] == name), -1)
            if pos < 0:
                raise StepError(f"timer {name} is not armed at {node}")
            if key is not None:
                key = (key - d.timer(timers[pos])) & MASK
            timers = timers[:pos] + timers[pos + 1 :]
            world = _world(
                world.states, world.up, world.inflight, timers, world.workload, world.budget, key
            )
            world, rec = self._run(
                world,
                self.index[node],
                "timer",
                lambda n, ctx, st: n.on_timer(ctx, st, name),
                (name,),
                recording,
            )
            if recording:
                rec["timer"] = name
            return world, rec
        if kind == "crash":
            node = action[1]
            i = self.index[node]
            budget = world.budget
            drops, dups, crashes = budget
            if not world.up[i]:
                raise StepError(f"{node} is already down")
            up = world.up[:i] + (False,) + world.up[i + 1 :]
            timers = tuple(t for t in world.timers if t[0] != node)
            after = (drops, dups, max(crashes - 1, 0))
            if key is not None:
                lost = sum(d.timer(t) for t in world.timers if t[0] == node)
                key = (key + d.down[i] - lost - d.budget(budget) + d.budget(after)) & MASK
            world = _world(world.states, up, world.inflight, timers, world.workload, after, key)
            return world, {"act": "crash", "node": node} if recording else None
        if kind == "restart":
            node = action[1]
            i = self.index[node]
            if world.up[i]:
                raise StepError(f"{node} is not down")
            n = self.nodes[i]
            fresh = canonical(n.restart_state(json.loads(world.states[i])))
            states = world.states[:i] + (fresh,) + world.states[i + 1 :]
            up = world.up[:i] + (True,) + world.up[i + 1 :]
            if key is not None:
                old = d.state(i, world.states[i])
                key = (key - d.down[i] - old + d.state(i, fresh)) & MASK
            world = _world(
                states, up, world.inflight, world.timers, world.workload, world.budget, key
            )
            return self._run(
                world,
                i,
                "restart",
                lambda n, ctx, st: n.on_start(ctx, st),
                ("restart",),
                recording,
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
        key = world._key
        if kind == "drop" and reason in ("loss", "partition"):
            pos = _find(world.inflight, (dst, src, msg))
            if pos < 0:
                raise StepError(f"no message from {src} to {dst} in flight: {msg}")
            inflight = world.inflight[:pos] + world.inflight[pos + 1 :]
            if key is not None:
                key = (key - self.digests.message((dst, src, msg))) & MASK
        elif kind == "duplicate" and reason is None:
            if _find(world.inflight, (dst, src, msg)) < 0:
                raise StepError(f"no message from {src} to {dst} in flight: {msg}")
            inflight = _insert(world.inflight, (dst, src, msg))
            if key is not None:
                key = (key + self.digests.message((dst, src, msg))) & MASK
        else:
            raise StepError(f"{kind} for reason {reason!r} is not the network's choice")
        rec = {"act": kind, "node": dst, "src": src, "msg": self.decoded(msg)}
        if reason is not None:
            rec["reason"] = reason
        w = world
        return _world(w.states, w.up, inflight, w.timers, w.workload, w.budget, key), rec

    def _run(
        self, world: World, i: int, act: str, call, key: tuple | None = None, recording=True
    ) -> tuple[World, Any]:
        """Run one handler of node ``i`` on its state in ``world``.

        Handlers are pure functions of (state, input), so a transition met
        again (the same node state and input in another world, which breadth-
        first search meets all the time) is taken from a memo keyed by
        ``key`` instead of being run and re-encoded. The memo also holds the
        step's change to the world's key (the node's state and the messages
        it sent), which depends only on the same things.
        """
        node = self.nodes[i]
        old = world.states[i]
        memo_key = None if key is None else (i, act, old, key)
        hit = self._transitions.get(memo_key) if memo_key is not None else None
        if hit is None or (recording and hit[3] is None):
            # A search keeps no records, and a record may hold parts of the
            # handler's decoded state, so the memo holds one only once a
            # step that records (a trace, a replay) has asked for it.
            state = json.loads(old)
            ctx = Effects(node.name, self.switches)
            call(node, ctx, state)
            new = canonical(state)
            sends = tuple((dst, node.name, canonical(msg)) for dst, msg in ctx.sends)
            d = self.digests
            delta = d.state(i, new) - d.state(i, old) + sum(d.message(e) for e in sends)
            record = ctx.record() if recording else None
            hit = (new, sends, tuple(ctx.timer_ops), record, delta)
            if memo_key is not None:
                if len(self._transitions) >= MEMO_LIMIT:
                    self._transitions.clear()  # pure values: a smaller memo is only slower
                self._transitions[memo_key] = hit
        new, sends, timer_ops, record, delta = hit
        states = world.states[:i] + (new,) + world.states[i + 1 :]
        inflight = world.inflight
        if len(sends) == 1:
            inflight = _insert(inflight, sends[0])
        elif sends:
            inflight = tuple(sorted(inflight + sends))
        timers = world.timers
        wkey = world._key
        if timer_ops:
            timers, moved = _timers_after(timers, node.name, timer_ops, self.digests)
            delta += moved
        if wkey is not None:
            wkey = (wkey + delta) & MASK
        world = _world(states, world.up, inflight, timers, world.workload, world.budget, wkey)
        if not recording:
            return world, None
        return world, {"act": act, "node": node.name, "effects": record}

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


def _timers_after(timers: tuple, node: str, ops: tuple, digests: Digests) -> tuple[tuple, int]:
    """Apply a handler's timer effects in the order it made them; also the key's change."""
    out = list(timers)
    delta = 0
    for op, name, delay in ops:
        for j, t in enumerate(out):
            if t[0] == node and t[1] == name:
                delta -= digests.timer(t)
                del out[j]
                break
        if op == "set":
            entry = (node, name, delay)
            delta += digests.timer(entry)
            insort(out, entry)
    return tuple(out), delta


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
