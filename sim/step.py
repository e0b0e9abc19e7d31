"""One step: what each :data:`sim.world.Action` does to a world, and its record.

Both runtimes and ``replay`` step worlds through here; handlers run in
:meth:`Steps._run`, whose memo makes a transition met again free.
"""

from __future__ import annotations

import json
from bisect import bisect_left, insort
from typing import TYPE_CHECKING, Any

from mxsim.sim.effects import Effects
from mxsim.sim.fingerprint import MASK, Digests
from mxsim.sim.node import WORKLOAD
from mxsim.sim.world import Action, StepError, World, _world, canonical

if TYPE_CHECKING:
    from mxsim.sim.system import System

__all__ = ["Steps", "action_of"]


# Entries in each of System's memos (transitions, decoded states) before it is
# emptied: they are pure functions of their keys, so the bound costs only speed.
MEMO_LIMIT = 100_000
DECODED_LIMIT = 20_000  # decoded states are several times their JSON's size


class Steps:
    """The step function of :class:`sim.system.System`: what each action does to a world.

    A mixin: it reads the system's nodes, inputs, digests and memos.
    """

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
