"""Traces: a run as the list of its choices, in canonical JSON lines.

Format ``mxsim-trace/1``, one JSON object per line, keys sorted, no spaces:

- a ``header``: format, mode (run or check), scenario name and source, the
  scenario's parsed table (``raw``) and ``--set`` overrides, so a trace replays
  without its file; the seed; the node names in column order;
- one ``step`` per thing that happened: ``step`` (index), ``t`` (µs, or null
  when the checker made it), ``act``, ``node``, and as the act needs ``src``,
  ``msg``, ``sent`` (step that sent the message), ``timer``, ``input``,
  ``reason``, ``effects`` (``send``, ``set``, ``cancel``, ``metric``);
- an ``end``: steps, verdicts, the first violation, the final world's
  fingerprint, and ``trace_hash``: SHA-256 of every byte before the end line.

Nothing in a trace depends on the wall clock or on ``PYTHONHASHSEED``.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

from mxsim.sim.effects import effects_record
from mxsim.sim.files import write_atomic
from mxsim.sim.links import _partition_pairs
from mxsim.sim.step import action_of
from mxsim.sim.system import System
from mxsim.sim.verdict import PathJudge
from mxsim.sim.world import Action, StepError, World, canonical, digest_states

__all__ = [
    "FORMAT",
    "TraceError",
    "Mismatch",
    "header",
    "timed_lines",
    "path_lines",
    "finish",
    "encode",
    "write",
    "read",
    "replay",
]

FORMAT = "mxsim-trace/1"
_NET = ("loss", "partition")  # drop reasons that are the timed network's choice
_COMPARED = ("act", "node", "src", "msg", "timer", "input", "reason", "effects")


class TraceError(Exception):
    """The trace file is unreadable or not a trace (bad input, exit code 2)."""


class Mismatch(Exception):
    """Replay diverged: ``step`` is the first step that differs."""

    def __init__(self, step: int, why: str) -> None:
        super().__init__(f"step {step}: {why}")
        self.step = step
        self.why = why


def header(system: System, mode: str, raw: dict, overrides: dict, seed: int | None) -> dict:
    sc = system.scenario
    return {
        "kind": "header",
        "format": FORMAT,
        "mode": mode,
        "scenario": sc.name,
        "source": sc.source,
        "model": sc.model,
        "raw": raw,
        "overrides": dict(sorted(overrides.items())),
        "seed": seed,
        "nodes": list(system.names),
        "switches": dict(sorted(system.switches.items())),
    }


def _step_line(rec: dict[str, Any], k: int, t: int | None, sent: int | None) -> dict[str, Any]:
    line = {"kind": "step", "step": k, "t": t}
    line.update(rec)
    if rec.get("act") in ("deliver", "drop", "duplicate"):
        line["sent"] = sent
    return line


def timed_lines(steps: list[tuple]) -> list[dict[str, Any]]:
    """Step lines from the raw records of :class:`sim.timed.TimedRun`."""
    out = []
    for k, t, act, node, src, msg, sent, extra, effects in steps:
        line: dict[str, Any] = {"kind": "step", "step": k, "t": t, "act": act, "node": node}
        if src is not None:
            line["src"] = src
        if msg is not None:
            line["msg"] = msg
        if act in ("deliver", "drop", "duplicate"):
            line["sent"] = sent
        if extra:
            line.update(extra)
        if act in ("start", "restart", "input", "deliver", "timer") and "reason" not in line:
            line["effects"] = effects_record(*effects) if effects else {}
        out.append(line)
    return out


def path_lines(system: System, actions: list[Action]) -> tuple[list[dict], World, PathJudge]:
    """Execute ``actions`` from the initial world and record every step.

    Used for checker counterexamples. Since the checker's worlds do not say
    which copy of a message is which, ``sent`` is matched first-in first-out.
    """
    world, starts = system.initial()
    judge = PathJudge(system.properties)
    lines: list[dict] = []
    senders: dict[tuple, deque] = defaultdict(deque)

    def note(rec: dict[str, Any]) -> None:
        k = len(lines)
        sent = None
        if rec["act"] in ("deliver", "drop", "duplicate"):
            key = (rec["node"], rec["src"], canonical(rec["msg"]))
            queue = senders[key]
            sent = queue[0] if queue else None
            if rec["act"] == "duplicate":
                queue.append(sent)
            elif queue:
                queue.popleft()
        for dst, msg in rec.get("effects", {}).get("send", []):
            senders[(dst, rec["node"], canonical(msg))].append(k)
        lines.append(_step_line(rec, k, None, sent))

    for rec in starts:
        note(rec)
    judge.observe(system.view(world), len(lines) - 1)
    for action in actions:
        world, rec = system.apply(world, action)
        note(rec)
        judge.observe(system.view(world), len(lines) - 1)
    judge.finish(system.view(world), len(lines) - 1, system.quiescent(world))
    return lines, world, judge


def finish(lines: list[dict], head: dict, verdicts: dict, violation: Any, fingerprint: str):
    """Encode a whole trace; returns (bytes, trace_hash)."""
    body = encode([head, *lines])
    digest = hashlib.sha256(body).hexdigest()
    end = {
        "kind": "end",
        "steps": len(lines),
        "verdicts": dict(sorted(verdicts.items())),
        "violation": violation,
        "state": fingerprint,
        "trace_hash": digest,
    }
    return body + encode([end]), digest


def encode(objs: list[dict]) -> bytes:
    return "".join(canonical(o) + "\n" for o in objs).encode()


def write(path: str | Path, data: bytes) -> None:
    """Write atomically: a failure never leaves a half-written trace."""
    write_atomic(path, data)


def read(path: str | Path) -> list[dict[str, Any]]:
    """Parse a trace file; TraceError naming the line if it is not one."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise TraceError(f"{path}: cannot read trace: {e.__class__.__name__}: {e}") from None
    lines = []
    for n, raw in enumerate(text.splitlines(), 1):
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            raise TraceError(f"{path}: line {n}: expected a JSON object, found {e.msg}") from None
        if not isinstance(obj, dict):
            raise TraceError(f"{path}: line {n}: expected a JSON object")
        lines.append(obj)
    if not lines or lines[0].get("kind") != "header" or lines[0].get("format") != FORMAT:
        raise TraceError(f"{path}: line 1: expected a header of format {FORMAT}")
    if lines[-1].get("kind") != "end":
        raise TraceError(f"{path}: line {len(lines)}: expected the end line (truncated trace?)")
    return lines


def replay(system: System, lines: list[dict[str, Any]]) -> dict[str, Any]:
    """Re-execute a trace's steps on ``system``; raise :class:`Mismatch` at the first difference.

    Every step must be enabled where it occurs and must emit exactly what
    the trace says it emitted; timed traces must also keep time: non-decreasing
    ``t``, deliveries after their sending, timers exactly their delay after
    being set. At the end, verdicts, fingerprint and trace hash are compared.
    """
    head, steps, end = lines[0], lines[1:-1], lines[-1]
    timed = head.get("mode") == "run"
    # Fix: the world is built start by start. Timed traces record the
    # network's notes on a start's sends (loss, duplication) before the next
    # node starts, and an ``always`` violation may end a run mid-start; the
    # steps were matched by position against all of ``initial()`` at once.
    world = system.unstarted()
    started = 0
    judge = PathJudge(system.properties)
    times: list[int | None] = []
    armed: dict[tuple[str, str], int] = {}
    blocked: dict[tuple[str, str], int] = {}  # open partitions (timed traces)
    faults_done: set[tuple[int, bool]] = set()
    for k, line in enumerate(steps):
        if line.get("kind") != "step" or line.get("step") != k:
            raise Mismatch(k, f"expected step line number {k}, found {canonical(line)[:80]}")
        t = line.get("t")
        if timed:
            if not isinstance(t, int) or (times and t < times[-1]):
                raise Mismatch(k, f"time {t!r} goes backwards or is not an integer")
        elif t is not None:
            raise Mismatch(k, "a checker trace has no times")
        times.append(t)
        act = line.get("act")
        network = timed and (act == "duplicate" or (act == "drop" and line.get("reason") in _NET))
        if act == "start" and started < len(system.nodes):
            world, rec = system.start(world, started)
            started += 1
        elif started < len(system.nodes) and not network:
            raise Mismatch(k, f"act {act!r} cannot occur before every node started")
        else:
            try:
                action = action_of(line, system)
            except StepError as e:
                raise Mismatch(k, str(e)) from None
            if action is None:
                if act == "start" or not timed:
                    raise Mismatch(k, f"act {act!r} cannot occur here")
                # partition / heal: notes of a timed run; losses are their own steps
                _partition_step(k, system, line, blocked, faults_done)
                continue
            if timed and act == "drop" and not network and line.get("reason") != "down":
                raise Mismatch(k, "a timed run drops for loss, partition or down, never budget")
            if network:
                _check_network(k, system, line, blocked)
            try:
                if network:
                    # Fix: the timed network's own choices, not checker faults
                    # (see System.network); apply() refused them for budget.
                    world, rec = system.network(world, action, line.get("reason"))
                else:
                    world, rec = system.apply(world, action)
            except (StepError, KeyError, TypeError, ValueError) as e:
                raise Mismatch(k, f"not possible here: {e}") from None
        for key in _COMPARED:
            if canonical(rec.get(key)) != canonical(line.get(key)):
                want = canonical(rec.get(key))[:120]
                raise Mismatch(k, f"{key} differs: replay gives {want}")
        if timed:
            _check_times(k, line, rec, times, armed)
        judge.observe(system.view(world), k)
    quiescent = system.quiescent(world)
    if timed:
        # Fix: a timed run is quiescent only if no ``always`` property broke
        # (that stops it early) and no fault was still scheduled: a fault
        # event that took effect left a step, so one due after the last step
        # had not happened yet (the run stopped at its deadline first).
        # (Overlapping crash faults on one node can make such an event a
        # silent no-op; that corner stays ambiguous without the deadline.)
        last = times[-1] if times else 0
        due = [t for f in system.scenario.faults for t in (f.at, f.until) if t is not None]
        quiescent = quiescent and judge.first_violation is None and all(t <= last for t in due)
    judge.finish(system.view(world), len(steps) - 1, quiescent)
    verdicts = dict(sorted(judge.verdicts.items()))
    last = len(steps)
    if canonical(verdicts) != canonical(end.get("verdicts")):
        raise Mismatch(last, f"verdicts differ: replay gives {canonical(verdicts)}")
    if digest_states(world.states, world.up) != end.get("state"):
        raise Mismatch(last, "final node states differ")
    digest = hashlib.sha256(encode(lines[:-1])).hexdigest()
    if digest != end.get("trace_hash"):
        raise Mismatch(last, "trace_hash does not match the trace's bytes (edited?)")
    return {"steps": len(steps), "verdicts": verdicts, "trace_hash": digest}


def _partition_step(k: int, system: System, line: dict, blocked: dict, done: set) -> None:
    """A partition or heal step must be one of the scenario's, at its time; track it.

    Part of the fix that lets timed traces replay their network's choices:
    a drop for "partition" is then checked against the partitions open.
    """
    begin = line.get("act") == "partition"
    t, groups, oneway = line.get("t"), line.get("groups"), line.get("oneway")
    for n, f in enumerate(system.scenario.faults):
        if f.kind != "partition" or (f.at if begin else f.until) != t or (n, begin) in done:
            continue
        if [list(g) for g in f.groups] == groups and f.oneway == oneway:
            done.add((n, begin))
            for pair in _partition_pairs(f):
                blocked[pair] = blocked.get(pair, 0) + (1 if begin else -1)
            return
    raise Mismatch(k, f"no {line.get('act')} of these groups is due at {t!r} in the scenario")


def _check_network(k: int, system: System, line: dict, blocked: dict) -> None:
    """A timed network choice (loss, partition drop, duplicate) must be possible on its link."""
    src, dst, reason = line.get("src"), line.get("node"), line.get("reason")
    if not (isinstance(src, str) and isinstance(dst, str)):
        raise Mismatch(k, "expected node names in src and node")
    cut = blocked.get((src, dst), 0) > 0
    link = system.scenario.link(src, dst)
    if reason == "partition":
        problem = None if cut else f"no partition cuts {src} -> {dst} here"
    elif cut:
        problem = f"a partition cuts {src} -> {dst}: its messages are dropped for it"
    elif reason == "loss":
        problem = None if link.loss else f"the link {src} -> {dst} loses nothing"
    else:
        problem = None if link.duplicate else f"the link {src} -> {dst} duplicates nothing"
    if problem:
        raise Mismatch(k, problem)


def _check_times(k: int, line: dict, rec: dict, times: list, armed: dict) -> None:
    t = times[k]
    act = rec.get("act")
    sent = line.get("sent")
    if act in ("deliver", "duplicate", "drop") and line.get("reason") != "down":
        if not isinstance(sent, int) or not 0 <= sent < k or times[sent] > t:
            raise Mismatch(k, f"sent {sent!r} is not an earlier step")
    if act == "timer":
        due = armed.pop((rec["node"], rec["timer"]), None)
        if due != t:
            raise Mismatch(k, f"timer {rec['timer']} fires at {t}, it was due at {due}")
    if act == "crash":
        for key in [key for key in armed if key[0] == rec["node"]]:
            del armed[key]
    effects = rec.get("effects", {})
    for name in effects.get("cancel", []):
        armed.pop((rec["node"], name), None)
    for name, delay in effects.get("set", []):
        armed[(rec["node"], name)] = t + delay
