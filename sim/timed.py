"""The timed runtime: the nodes of a :class:`~sim.system.System` on simpy.

Links draw latencies from their distribution, so jitter reorders messages;
they lose and duplicate messages with their probabilities; partitions open
and heal, and nodes crash and restart, at the times the scenario gives.

Every random draw comes from a stream of its own component: one
``random.Random`` per directed link, seeded from the run's seed and the link's
name (string seeds are hashed with SHA-512 by :mod:`random`, so they do not
depend on ``PYTHONHASHSEED``). Adding a node or a link leaves the draws of the
others unchanged.

Times are integer microseconds. Same-time simpy events run in scheduling
order, which is itself determined by the trace so far.

Nodes run on their live state (no copying), which is what keeps this runtime
fast; a handler must therefore treat messages it sent or received as
read-only. ``mxsim replay`` catches a handler that does not.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from typing import Any

import simpy
from simpy.events import Timeout

from mxsim.sim.effects import Effects
from mxsim.sim.links import _Link, _partition_pairs
from mxsim.sim.live_view import _View
from mxsim.sim.node import WORKLOAD
from mxsim.sim.scenario import Fault
from mxsim.sim.system import System
from mxsim.sim.verdict import PathJudge

__all__ = ["TimedRun", "RunResult"]


@dataclass
class RunResult:
    verdicts: dict[str, str]
    violation: dict[str, Any] | None
    quiescent: bool
    time: int  # µs at the end of the run
    steps: list[tuple]  # raw step records, see TimedRun._record
    counts: dict[str, int] = field(default_factory=dict)
    metrics: dict[str, int] = field(default_factory=dict)


class _Stop(Exception):
    """Ends a run from inside simpy's loop: a violation, or the deadline."""


class _Ctx(Effects):
    """The :class:`sim.node.Context` of one node in a timed run.

    One per node, reused for every step: after each step the runtime takes
    the lists it filled and gives it fresh ones only if they were used, which
    spares an allocation per delivery on the hot path.
    """

    __slots__ = ()


class TimedRun:
    """One timed run of ``system`` with ``seed`` until quiescence or ``until`` µs.

    ``judge``: judge the system's properties after every step (True), not at
    all (False), or with the given :class:`~sim.verdict.PathJudge` (an
    experiment's subclass that also measures each step's state).
    """

    def __init__(
        self, system: System, seed: int, until: int, judge: bool | PathJudge = True
    ) -> None:
        self.system = system
        self.seed = seed
        self.until = until
        self.env = simpy.Environment()
        n = len(system.nodes)
        self.states = [node.initial_state() for node in system.nodes]
        self.up = [True] * n
        self.ctxs = [_Ctx(name, system.switches) for name in system.names]
        self.index = system.index
        self.nodes = system.nodes
        self.names = system.names
        self.plain: list[dict[str, _Link]] = [{} for _ in range(n)]  # lossless links by source
        self._arrive_cb = self._arrive  # one bound method, not one per message
        self.receivers = [node.on_message for node in system.nodes]
        self.notes: list[tuple] = []
        self.timers: list[dict[str, int]] = [{} for _ in range(n)]
        self.links: dict[tuple[str, str], _Link] = {}
        self.blocked: dict[tuple[str, str], int] = {}
        self.armed = 0
        self.pending = 0
        self.token = 0
        self.steps: list[tuple] = []
        self.counts = {"sent": 0, "delivered": 0, "dropped": 0, "duplicated": 0, "timers": 0}
        self.metrics: dict[str, int] = {}
        if isinstance(judge, PathJudge):
            self.judge: PathJudge | None = judge
        else:
            self.judge = PathJudge(system.properties) if judge and system.properties else None
        self.view = _View(self)
        self.broken = False

    # -- recording -------------------------------------------------------

    def _record(self, act, node, src=None, msg=None, sent=None, extra=None, effects=None) -> int:
        """Append one step; the tuple layout is read by :func:`sim.trace.timed_lines`."""
        k = len(self.steps)
        self.steps.append((k, self.env._now, act, node, src, msg, sent, extra, effects))
        return k

    def _judge(self, k: int) -> None:
        if self.judge is not None and self.judge.observe(self.view, k):
            self.broken = True
            raise _Stop  # an ``always`` property broke: the trace ends here

    # -- effects -----------------------------------------------------------

    def _take(self, i: int, ctx: _Ctx) -> tuple | None:
        """Carry out what the handler emitted; return it for the trace."""
        sends, ops, metrics = ctx.sends, ctx.timer_ops, ctx.metrics
        if not (sends or ops or metrics):
            return None
        k = len(self.steps)  # the step about to be recorded sends these
        if sends:
            ctx.sends = []
            name = self.names[i]
            send = self._send
            for dst, msg in sends:
                send(name, dst, msg, k)
        if ops:
            ctx.timer_ops = []
            timers = self.timers[i]
            for op, tname, delay in ops:
                if op == "set":
                    if tname not in timers:
                        self.armed += 1
                    self.token += 1
                    timers[tname] = self.token
                    ev = Timeout(self.env, delay, (i, tname, self.token))
                    ev.callbacks.append(self._fire)
                elif timers.pop(tname, None) is not None:
                    self.armed -= 1
        if metrics:
            ctx.metrics = []
            m = self.metrics
            for mname, value in metrics:
                m[mname] = m.get(mname, 0) + value
        # A list left empty stays the context's own and must not be recorded.
        return (sends or (), ops or (), metrics or ())

    def _send(self, src: str, dst: str, msg: Any, sent: int) -> None:
        link = self.links.get((src, dst))
        if link is None:
            link = self.links[(src, dst)] = _Link(self.system, src, dst, self.seed)
            if not link.loss and not link.duplicate:
                self.plain[self.index[src]][dst] = link
        if self.blocked and self.blocked.get((src, dst)):
            self.counts["dropped"] += 1
            self._note("drop", dst, src, msg, sent, {"reason": "partition"})
            return
        if link.loss and link.rng.random() < link.loss:
            self.counts["dropped"] += 1
            self._note("drop", dst, src, msg, sent, {"reason": "loss"})
            return
        envelope = (src, dst, msg, sent, link.index)
        if link.duplicate and link.rng.random() < link.duplicate:
            self.counts["duplicated"] += 1
            self._note("duplicate", dst, src, msg, sent, None)
            Timeout(self.env, link.draw(), envelope).callbacks.append(self._arrive_cb)
        Timeout(self.env, link.draw(), envelope).callbacks.append(self._arrive_cb)

    def _note(self, act, dst, src, msg, sent, extra) -> None:
        """A loss or duplicate decided while step ``sent`` is being carried out.

        It is recorded right after that step (its index is not taken yet), so
        the notes are kept aside and flushed by :meth:`_record_step`.
        """
        self.notes.append((act, dst, src, msg, sent, extra))

    def _record_step(self, act, node, src, msg, sent, extra, effects) -> int:
        k = self._record(act, node, src, msg, sent, extra, effects)
        if self.notes:
            for note in self.notes:
                self._record(*note)
            self.notes = []
        return k

    # -- events ------------------------------------------------------------

    def _arrive(self, ev: Timeout) -> None:
        # The hot path of every run, kept flat on purpose (see `mxsim bench`):
        # sends over links without loss or duplication, while no partition is
        # open, skip the general `_take`/`_send` path. Counts of messages sent,
        # delivered and in flight are worked out from the steps and the event
        # queue when they are asked for, not kept up to date here.
        src, dst, msg, sent, i = ev._value
        if not self.up[i]:
            self.counts["dropped"] += 1
            self._record("drop", dst, src, msg, sent, {"reason": "down"})
            return
        ctx = self.ctxs[i]
        self.receivers[i](ctx, self.states[i], src, msg)
        steps = self.steps
        k = len(steps)
        sends = ctx.sends
        if ctx.timer_ops or ctx.metrics or self.blocked:
            effects = self._take(i, ctx)
        elif sends:
            ctx.sends = []
            effects = (sends, (), ())
            plain = self.plain[i]
            env, callback = self.env, self._arrive_cb
            for to, out in sends:
                link = plain.get(to)
                if link is None:
                    self._send(dst, to, out, k)
                    continue
                envelope = (dst, to, out, k, link.index)
                Timeout(env, link.draw(), envelope).callbacks.append(callback)
        else:
            effects = None
        steps.append((k, self.env._now, "deliver", dst, src, msg, sent, None, effects))
        if self.notes:
            for note in self.notes:
                self._record(*note)
            self.notes = []
        if self.judge is not None:
            self._judge(k)

    def _fire(self, ev: Timeout) -> None:
        i, name, token = ev._value
        timers = self.timers[i]
        if timers.get(name) != token:
            return  # cancelled or re-armed since
        del timers[name]
        self.armed -= 1
        self.counts["timers"] += 1
        ctx = self.ctxs[i]
        self.system.nodes[i].on_timer(ctx, self.states[i], name)
        effects = self._take(i, ctx)
        k = self._record_step("timer", ctx.node, None, None, None, {"timer": name}, effects)
        self._judge(k)

    def _input(self, k_input: int) -> None:
        self.pending -= 1
        inp = self.system.inputs[k_input]
        i = self.system.index[inp.node]
        if not self.up[i]:
            extra = {"input": k_input, "reason": "down"}
            self._record("input", inp.node, None, inp.data, None, extra)
            return
        ctx = self.ctxs[i]
        self.system.nodes[i].on_message(ctx, self.states[i], WORKLOAD, inp.data)
        effects = self._take(i, ctx)
        k = self._record_step("input", inp.node, None, inp.data, None, {"input": k_input}, effects)
        self._judge(k)

    def _start(self, i: int, act: str) -> None:
        ctx = self.ctxs[i]
        self.system.nodes[i].on_start(ctx, self.states[i])
        effects = self._take(i, ctx)
        self._judge(self._record_step(act, ctx.node, None, None, None, None, effects))

    def _fault(self, fault: Fault, begin: bool) -> None:
        self.pending -= 1
        if fault.kind == "crash":
            i = self.system.index[fault.node]
            if begin:
                if not self.up[i]:
                    return
                self.up[i] = False
                self.armed -= len(self.timers[i])
                self.timers[i] = {}
                self._judge(self._record("crash", fault.node))
            else:
                if self.up[i]:
                    return
                self.up[i] = True
                node = self.system.nodes[i]
                self.states[i] = node.restart_state(self.states[i])
                self._start(i, "restart")
            return
        pairs = _partition_pairs(fault)
        for pair in pairs:
            self.blocked[pair] = self.blocked.get(pair, 0) + (1 if begin else -1)
        groups = [list(g) for g in fault.groups]
        extra = {"groups": groups, "oneway": fault.oneway}
        self._record("partition" if begin else "heal", None, extra=extra)

    # -- the run -----------------------------------------------------------

    def run(self) -> RunResult:
        # The trace keeps every step alive until the end, so the cyclic
        # garbage collector would re-scan an ever longer list for nothing;
        # it is paused for the run (measured: about 2x on `mxsim bench`).
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return self._run()
        finally:
            if was_enabled:
                gc.enable()

    def _run(self) -> RunResult:
        env = self.env
        for fault in self.system.scenario.faults:
            self._schedule(fault.at, lambda _e, f=fault: self._fault(f, True))
            if fault.until is not None:
                self._schedule(fault.until, lambda _e, f=fault: self._fault(f, False))
        for k, inp in enumerate(self.system.inputs):
            self._schedule(inp.at, lambda _e, k=k: self._input(k))
        # The deadline is an event of its own, so the loop below is nothing
        # but simpy's: a violation or the deadline raises out of it.
        Timeout(env, self.until).callbacks.append(self._deadline)
        quiescent = False
        try:
            for i in range(len(self.system.nodes)):
                self._start(i, "start")
                if self.broken:
                    raise _Stop
            env.run()
        except _Stop:
            pass
        quiescent = self._quiet() and not self.broken
        if self.judge is not None:
            self.judge.finish(self.view, len(self.steps) - 1, quiescent)
        verdicts = dict(self.judge.verdicts) if self.judge is not None else {}
        return RunResult(
            verdicts=verdicts,
            violation=self.judge.first_violation if self.judge is not None else None,
            quiescent=quiescent,
            time=self.steps[-1][1] if self.steps else 0,
            steps=self.steps,
            counts={**self.counts, **self._traffic()},
            metrics=dict(sorted(self.metrics.items())),
        )

    def _quiet(self) -> bool:
        return not self.armed and not self.pending and not self._in_flight()

    def _in_flight(self) -> int:
        """Messages scheduled and not yet arrived: their Timeouts in the queue."""
        callback = self._arrive_cb
        return sum(1 for *_, ev in self.env._queue if ev.callbacks and ev.callbacks[0] == callback)

    def _traffic(self) -> dict[str, int]:
        """Messages sent and delivered, counted from the recorded steps."""
        sent = delivered = 0
        for step in self.steps:
            if step[2] == "deliver":
                delivered += 1
            effects = step[8]
            if effects:
                sent += len(effects[0])
        return {"sent": sent, "delivered": delivered}

    def _deadline(self, _ev: Timeout) -> None:
        raise _Stop

    def _schedule(self, at: int, callback) -> None:
        self.pending += 1
        ev = self.env.timeout(at)
        ev.callbacks.append(callback)
