"""``mxsim check --liveness``: look for lassos, write the first as a trace.

A lasso trace is an ordinary checker trace of the prefix followed by one
turn of the cycle, so ``mxsim replay`` re-executes it; the steps of the
cycle carry ``"cycle": true`` and the end line a ``lasso`` object (the
property, the first step of the cycle, its length), which :func:`confirm`
checks on replay: the cycle closes, the property is false along it, and it
owes no step of progress.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mxsim.sim import trace as tracefile
from mxsim.sim.liveness import Lasso, explore, verify_lasso
from mxsim.sim.step import action_of
from mxsim.sim.system import System
from mxsim.sim.world import digest_states

__all__ = ["check_liveness", "lasso_path", "confirm"]


def lasso_path(trace: str | None, scenario: str, kind: str = "lasso") -> str:
    """Where the lasso goes: beside ``--trace`` (``T-lasso.jsonl``), else a default name."""
    if trace:
        p = Path(trace)
        return str(p.with_name(f"{p.stem}-{kind}{p.suffix or '.jsonl'}"))
    return f"mxsim-{scenario}-{kind}.jsonl"


def check_liveness(
    loaded, system: System, bounds: dict, bound: int | None, trace: str | None
) -> dict[str, Any]:
    """Explore for lassos (and runs longer than ``bound``); the report's ``liveness`` part."""
    report = explore(system, bound=bound, **bounds)
    out: dict[str, Any] = {
        "states": report.states,
        "transitions": report.transitions,
        "complete": report.complete,
        "stopped": report.stopped,
        "seconds": round(report.seconds, 3),
        "bound": bound,
        "lassos": [],
        "long_runs": {},
        "unfair_cycles": dict(report.unfair),
        "trace": None,
    }
    starts = len(system.nodes)
    for k, lasso in enumerate(report.lassos):
        assert verify_lasso(system, lasso), lasso  # the search and the check disagree: a bug
        out["lassos"].append(
            {
                "property": lasso.property,
                "prefix_steps": starts + len(lasso.prefix),
                "cycle_steps": len(lasso.cycle),
            }
        )
        if k == 0:
            path = lasso_path(trace, loaded.scenario.name)
            tracefile.write(path, _lasso_trace(loaded, system, lasso))
            out["trace"] = path
    for k, (name, run) in enumerate(report.long_runs.items()):
        out["long_runs"][name] = {"trace_length": starts + len(run), "trace": None}
        if k == 0:
            path = lasso_path(trace, loaded.scenario.name, "long")
            mark = {"long_run": {"property": name, "bound": bound}}
            tracefile.write(path, _trace(loaded, system, run, {}, mark))
            out["long_runs"][name]["trace"] = path
    return out


def _lasso_trace(loaded, system: System, lasso: Lasso) -> bytes:
    first = len(system.nodes) + len(lasso.prefix)
    claim = {"property": lasso.property, "cycle_from": first, "cycle_steps": len(lasso.cycle)}
    return _trace(loaded, system, lasso.prefix + lasso.cycle, {"cycle": first}, {"lasso": claim})


def _trace(loaded, system: System, actions: list, marks: dict, extra: dict) -> bytes:
    """A checker trace of ``actions``; steps from ``marks["cycle"]`` on are marked,
    and ``extra`` joins the end line (after the hash, which covers the steps)."""
    lines, world, judge = tracefile.path_lines(system, actions)
    if "cycle" in marks:
        for line in lines[marks["cycle"] :]:
            line["cycle"] = True
    head = tracefile.header(system, "check", loaded.raw, loaded.overrides, None)
    digest = digest_states(world.states, world.up)
    data, _ = tracefile.finish(lines, head, judge.verdicts, judge.first_violation, digest)
    body, end = data.rstrip(b"\n").rsplit(b"\n", 1)
    end_line = {**json.loads(end), **extra}
    return body + b"\n" + tracefile.encode([end_line])


def confirm(system: System, lines: list[dict]) -> str | None:
    """None if the trace's ``lasso`` (if any) holds on replay, else what is wrong."""
    claim = lines[-1].get("lasso")
    if claim is None:
        return None
    if not isinstance(claim, dict) or not isinstance(claim.get("cycle_from"), int):
        return "end line: expected lasso with an integer cycle_from"
    actions = []
    starts = len(system.nodes)
    for line in lines[1 + starts : -1]:
        actions.append(action_of(line, system))
    cut = claim["cycle_from"] - starts
    if not 0 <= cut < len(actions) + 1:
        return f"lasso cycle_from {claim['cycle_from']} is not a step of the trace"
    lasso = Lasso(str(claim.get("property")), actions[:cut], actions[cut:])
    if lasso.property not in {p.name for p in system.properties}:
        return f"lasso names no property of the scenario: {lasso.property}"
    if not verify_lasso(system, lasso):
        return "the lasso's cycle does not close, or the property holds on it, or it is unfair"
    return None


def describe(live: dict) -> list[str]:
    """The human lines of the liveness part of a check report."""
    extent = "complete" if live["complete"] else f"bounded ({live['stopped']})"
    lines = [
        f"liveness: {live['states']:,} states, {live['transitions']:,} transitions, {extent}, "
        f"{live['seconds']:.2f} s"
    ]
    for lasso in live["lassos"]:
        lines.append(
            f"LASSO: {lasso['property']} never holds on a fair cycle "
            f"({lasso['prefix_steps']} steps to it, then {lasso['cycle_steps']} round and round)"
        )
    if not live["lassos"]:
        lines.append("  no fair cycle on which an eventually property stays false")
    for name, n in live["unfair_cycles"].items():
        lines.append(f"  {name}: {n} cycles where it stays false, each unfair (owes a step)")
    for name, run in live["long_runs"].items():
        lines.append(
            f"LONG RUN: {name} false for more than {live['bound']} steps in a row "
            f"({run['trace_length']} steps)"
        )
        if run["trace"]:
            lines.append(f"long run: mxsim replay {run['trace']}")
    if live["trace"]:
        lines.append(f"lasso: mxsim replay {live['trace']}")
    return lines
