"""The jobs behind the command line: run, check, replay.

Each job takes plain arguments, does its work and returns a report dict
(what ``--json`` prints), so the command line stays a thin layer of printing
and exit codes, and tests and notebooks call the same code.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mxsim.models.registry import MODELS, bundled
from mxsim.sim import trace as tracefile
from mxsim.sim.explore import Explorer, Report, merge_walks
from mxsim.sim.scenario import Scenario, from_raw, load, parse_overrides
from mxsim.sim.timed import TimedRun
from mxsim.sim.verdict import passed
from mxsim.sim.world import System, canonical, digest_states

__all__ = ["Loaded", "load_scenario", "run_job", "check_job", "replay_job", "OutputError"]


class OutputError(Exception):
    """An output path that cannot be written (bad input, exit code 2)."""


@dataclass(frozen=True)
class Loaded:
    scenario: Scenario
    raw: dict[str, Any]
    overrides: dict[str, str]

    def system(self) -> System:
        return System(self.scenario, MODELS[self.scenario.model])


def load_scenario(arg: str, sets: Sequence[str] = ()) -> Loaded:
    """Load a bundled scenario or a file, with ``--set`` overrides applied."""
    overrides = parse_overrides(sets)
    scenario = load(arg, MODELS, bundled(), overrides)
    path = Path(arg) if os.path.isfile(arg) else bundled()[arg]
    with path.open("rb") as f:
        raw = tomllib.load(f)
    return Loaded(scenario, raw, dict(overrides))


def check_output(path: str | None, suffixes: tuple[str, ...] | None = None) -> None:
    """Refuse an output path before any work is done, so nothing is half-written."""
    if path is None:
        return
    p = Path(path)
    if suffixes and p.suffix.lower() not in suffixes:
        raise OutputError(f"{path}: expected a file name ending in {' or '.join(suffixes)}")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"{path}: expected an existing directory {parent}")
    if p.is_dir():
        raise OutputError(f"{path}: expected a file name, found a directory")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{path}: directory {parent} is not writable")


# -- run ---------------------------------------------------------------------


def run_job(
    loaded: Loaded,
    seed: int | None = None,
    until_ms: float | None = None,
    trace: str | None = None,
    diagram: str | None = None,
) -> dict[str, Any]:
    """One timed run; writes the trace and diagram if asked."""
    sc = loaded.scenario
    seed = sc.run.seed if seed is None else seed
    until = sc.run.until if until_ms is None else round(until_ms * 1000)
    system = loaded.system()
    runner = TimedRun(system, seed, until)
    result = runner.run()
    lines = tracefile.timed_lines(result.steps)
    head = tracefile.header(system, "run", loaded.raw, loaded.overrides, seed)
    states = [canonical(s) for s in runner.states]
    data, digest = tracefile.finish(
        lines, head, result.verdicts, result.violation, digest_states(states, runner.up)
    )
    if trace:
        tracefile.write(trace, data)
    if diagram:
        _draw(head, lines, data, diagram, result.violation)
    return {
        "scenario": sc.name,
        "seed": seed,
        "properties": result.verdicts,
        "passed": passed(result.verdicts),
        "violation": result.violation,
        "trace_hash": digest,
        "steps": len(lines),
        "time_ms": result.time / 1000,
        "quiescent": result.quiescent,
        "counts": result.counts,
        "metrics": result.metrics,
        "switches": dict(sorted(system.switches.items())),
        "trace": trace,
    }


def _draw(head: dict, lines: list, data: bytes, path: str, violation: Any) -> None:
    from mxsim.sim import diagram as diagram_mod

    end = json.loads(data.splitlines()[-1])
    highlight = violation["step"] if violation else None
    diagram_mod.draw([head, *lines, end], path, highlight=highlight)


# -- check -------------------------------------------------------------------

#: The reductions ``check`` runs with unless told otherwise (README, "check").
DEFAULT_REDUCE = "symmetry"


def check_job(
    loaded: Loaded,
    max_states: int | None = None,
    max_depth: int | None = None,
    max_seconds: float | None = None,
    random_walks: int | None = None,
    seed: int = 0,
    workers: int = 1,
    trace: str | None = None,
    diagram: str | None = None,
    progress: Callable[[int, float, int], None] | None = None,
    reduce: str = DEFAULT_REDUCE,
) -> dict[str, Any]:
    """Exhaustive (or random-walk) exploration; writes the first counterexample.

    ``reduce`` names the state-space reductions of the search (sim/reduce.py);
    random walks take none.
    """
    system = loaded.system()
    bounds = {"max_states": max_states, "max_depth": max_depth, "max_seconds": max_seconds}
    if random_walks is None:
        report = Explorer(system, progress=progress, reduce=reduce, **bounds).bfs()
        mode = "bfs"
    else:
        report = _walks(loaded, bounds, random_walks, seed, workers)
        mode = "random"
    out: dict[str, Any] = {
        "scenario": loaded.scenario.name,
        "mode": mode,
        "verdict": report.verdict,
        "properties": report.verdicts,
        "states": report.states,
        "depth": report.depth,
        "complete": report.complete,
        "stopped": report.stopped,
        "seconds": round(report.seconds, 3),
        "timers": loaded.scenario.check.timers,
        "budgets": _budgets(loaded.scenario),
        "reduce": reduce if random_walks is None else "none",
        "symmetry": [list(g) for g in loaded.scenario.check.symmetry],
        "violations": [],
        "witnesses": {},
        "trace": None,
    }
    if mode == "random":
        out["walks"] = report.walks
        out["seed"] = seed
    order = {p.name: i for i, p in enumerate(system.properties)}
    cexs = sorted(report.counterexamples, key=lambda c: order[c.property])
    for n, cex in enumerate(cexs):
        lines, world, judge = tracefile.path_lines(system, cex.actions)
        out["violations"].append({"property": cex.property, "trace_length": len(lines)})
        if n == 0:
            head = tracefile.header(system, "check", loaded.raw, loaded.overrides, None)
            digest = digest_states(world.states, world.up)
            data, th = tracefile.finish(lines, head, judge.verdicts, judge.first_violation, digest)
            path = trace or f"mxsim-{loaded.scenario.name}-counterexample.jsonl"
            tracefile.write(path, data)
            out["trace"] = path
            out["trace_hash"] = th
            if diagram:
                _draw(head, lines, data, diagram, judge.first_violation)
    for name, actions in report.witnesses.items():
        out["witnesses"][name] = {"trace_length": len(actions) + len(system.nodes)}
    return out


def _budgets(sc: Scenario) -> dict[str, int]:
    c = sc.check
    return {"drops": c.drops, "duplicates": c.duplicates, "crashes": c.crashes}


def _walk_range(args: tuple) -> Report:
    raw, source, overrides, bounds, walks, seed, first = args
    scenario = from_raw(raw, source, MODELS, overrides)
    system = System(scenario, MODELS[scenario.model])
    return Explorer(system, **bounds).walks(walks, seed, first)


def _walks(loaded: Loaded, bounds: dict, walks: int, seed: int, workers: int) -> Report:
    sc = loaded.scenario
    workers = max(1, min(workers, walks))
    share, extra = divmod(walks, workers)
    jobs, first = [], 0
    for w in range(workers):
        n = share + (1 if w < extra else 0)
        jobs.append((loaded.raw, sc.source, loaded.overrides, bounds, n, seed, first))
        first += n
    if workers == 1:
        return merge_walks([_walk_range(jobs[0])])
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return merge_walks(list(pool.map(_walk_range, jobs)))


# -- replay ------------------------------------------------------------------


def replay_job(path: str, diagram: str | None = None) -> dict[str, Any]:
    """Re-execute a trace file; raises tracefile.Mismatch at the first difference."""
    lines = tracefile.read(path)
    head = lines[0]
    raw, source, overrides = head.get("raw"), head.get("source"), head.get("overrides") or {}
    if not isinstance(raw, dict) or not isinstance(overrides, Mapping):
        raise tracefile.TraceError(f"{path}: line 1: expected the scenario table in 'raw'")
    scenario = from_raw(raw, f"{path} (embedded scenario {source})", MODELS, dict(overrides))
    system = System(scenario, MODELS[scenario.model])
    if head.get("nodes") != list(system.names):
        raise tracefile.TraceError(f"{path}: line 1: nodes do not match the embedded scenario")
    result = tracefile.replay(system, lines)
    if diagram:
        from mxsim.sim import diagram as diagram_mod

        violation = lines[-1].get("violation")
        highlight = violation.get("step") if isinstance(violation, dict) else None
        diagram_mod.draw(lines, diagram, highlight=highlight)
    return {"trace": path, "scenario": head.get("scenario"), **result}
