"""The jobs behind the command line: run, check, replay.

Each job takes plain arguments, does its work and returns a report dict
(what ``--json`` prints), so the command line stays a thin layer of printing
and exit codes, and tests and notebooks call the same code.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from mxsim.experiments import evidence, random_search
from mxsim.experiments.executor import Executor
from mxsim.models.registry import MODELS, bundled
from mxsim.sim import trace as tracefile
from mxsim.sim.checkpoint import Checkpoint
from mxsim.sim.explore import Explorer
from mxsim.sim.parallel import parallel_bfs
from mxsim.sim.progress import Progress
from mxsim.sim.scenario import Scenario
from mxsim.sim.scenario_load import from_raw, load
from mxsim.sim.scenario_switches import parse_overrides
from mxsim.sim.system import System
from mxsim.sim.timed import TimedRun
from mxsim.sim.verdict import passed
from mxsim.sim.world import canonical, digest_states

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


def check_directory(path: str | None) -> None:
    """An output directory: existing, or new in an existing directory (then made)."""
    if path is None:
        return
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise OutputError(f"{path}: expected a directory, found a file")
    if not p.exists():
        if not (p.parent if str(p.parent) else Path(".")).is_dir():
            raise OutputError(f"{path}: expected an existing parent directory {p.parent}")
        p.mkdir()
    if not os.access(p, os.W_OK):
        raise OutputError(f"{path}: directory is not writable")


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
    drawn = _draw(head, lines, data, diagram, result.violation) if diagram else None
    return {
        **({"diagram": drawn} if drawn else {}),
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


def _draw(head: dict, lines: list, data: bytes, path: str, violation: Any) -> dict[str, Any]:
    """Draw the trace; what was drawn (``diagram``, and ``pages`` of a long trace)."""
    from mxsim.models import story  # labels, tooltips, the violation explained

    end = json.loads(data.splitlines()[-1])
    highlight = violation["step"] if violation else None
    pages = story.draw([head, *lines, end], path, highlight=highlight)
    return {"diagram": str(path), "pages": pages, "violation": bool(violation)}


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
    progress: Callable[[Progress], None] | None = None,
    checkpoint: str | None = None,
    checkpoint_every: float = 60.0,
    swarm: bool = True,
    shrink: bool = True,
    properties: Sequence[str] = (),
    witnesses: Sequence[str] = (),
    trace_dir: str | None = None,
    liveness: bool = False,
    liveness_bound: int | None = None,
    reduce: str = DEFAULT_REDUCE,
    executor: Executor | None = None,
) -> dict[str, Any]:
    """Exhaustive (or random-walk) exploration of ``properties`` (default: all).

    Writes each violated property's shortest counterexample to a file of
    its own, and the witness of each guard in ``witnesses``; ``trace`` also
    gets the first violation's trace (see :mod:`mxsim.experiments.evidence`).
    With ``checkpoint``, the search is saved there every ``checkpoint_every``
    seconds and when it stops, and resumed from it if it holds a search of
    this same check (sim.checkpoint). ``reduce`` names the state-space
    reductions of the serial search (sim/reduce.py); random walks and the
    parallel search take none. Random walks run on ``executor`` (default: a
    local pool of ``workers``; see :mod:`mxsim.experiments.executor`).
    """
    full = loaded.system()
    system = evidence.select_properties(full, properties, witnesses)
    bounds = {"max_states": max_states, "max_depth": max_depth, "max_seconds": max_seconds}
    chosen = system.scenario.properties
    saver = None
    if random_walks is None and workers > 1:
        sc = loaded.scenario
        build = partial(_chosen_system, loaded.raw, sc.source, loaded.overrides, chosen)
        if checkpoint is not None:
            raise OutputError(f"{checkpoint}: --checkpoint needs the serial search (--workers 1)")
        if Explorer(system, reduce=reduce).reduction is not None:
            raise OutputError(
                f"--workers {workers}: the parallel search takes no reduction (--reduce none)"
            )
        report = parallel_bfs(build, workers, progress=progress, **bounds)
        mode = "bfs"
    elif random_walks is None:
        explorer = Explorer(system, progress=progress, reduce=reduce, **bounds)
        if checkpoint is not None:
            identity = check_identity(loaded, explorer, chosen)
            saver = Checkpoint(checkpoint, identity, checkpoint_every)
        report = explorer.bfs(saver)
        mode = "bfs"
    else:
        report = random_search.search(
            loaded,
            max_depth,
            max_seconds,
            random_walks,
            seed,
            workers,
            swarm,
            shrink,
            progress,
            chosen,
            executor,
        )
        mode = "random"
    out: dict[str, Any] = {
        "scenario": loaded.scenario.name,
        "mode": mode,
        "verdict": report.verdict,
        "properties": report.verdicts,
        "states": report.states,
        "depth": report.depth,
        "starts": len(full.nodes),
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
    if mode == "bfs":
        out["stop_reason"] = report.stop_reason or report.stopped
        out["transitions"] = report.transitions
        out["coverage"] = report.coverage
        out["memory"] = report.memory
    if saver is not None:
        out["checkpoint"] = {"path": checkpoint, "resumed": saver.resumed, "saves": saver.saves}
    if mode == "random":
        out.update(random_search.summary(report, seed))
    where = trace_dir if trace_dir is not None else (str(Path(trace).parent) if trace else None)
    head = tracefile.header(full, "check", loaded.raw, loaded.overrides, None)
    first = evidence.write_evidence(full, head, loaded.overrides, report, out, where, witnesses)
    if mode == "random":
        walked = {c.property: c for c in report.counterexamples}
        for v in out["violations"]:
            v.update(random_search.walk_fields(walked[v["property"]], len(full.nodes)))
    if first is not None:
        lines, data, violation = first
        if trace:
            tracefile.write(trace, data)
            out["trace"] = trace
        if diagram:
            out["diagram"] = _draw(head, lines, data, diagram, violation)
    elif diagram:  # nothing violated: the longest guard witness, or why nothing
        from mxsim.models.story import draw_passing

        out["diagram"] = draw_passing(full, head, report.witnesses, diagram)
    if liveness or liveness_bound is not None:
        from mxsim.experiments.lassos import check_liveness

        out["liveness"] = check_liveness(loaded, system, bounds, liveness_bound, trace)
    return out


def check_identity(
    loaded: Loaded, explorer: Explorer, chosen: Sequence[str] = ()
) -> dict[str, Any]:
    """What a checkpoint must match to be resumed: the worlds its search meets."""
    text = json.dumps(loaded.raw, sort_keys=True, separators=(",", ":"), default=str)
    table = hashlib.sha256(text.encode()).hexdigest()  # default=str: TOML dates
    return {
        "scenario": loaded.scenario.name,
        "table_sha256": table,
        "overrides": dict(sorted(loaded.overrides.items())),
        "max_depth": explorer.max_depth,
        "properties": list(chosen),
    }


def _budgets(sc: Scenario) -> dict[str, int]:
    c = sc.check
    return {"drops": c.drops, "duplicates": c.duplicates, "crashes": c.crashes}


def _chosen_system(raw: dict, source: str, overrides: dict, chosen: tuple[str, ...]) -> System:
    """The system of a scenario table checking ``chosen`` properties (in a worker process)."""
    scenario = replace(from_raw(raw, source, MODELS, overrides), properties=chosen)
    return System(scenario, MODELS[scenario.model])


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
    from mxsim.experiments.lassos import confirm

    wrong = confirm(system, lines)
    if wrong is not None:
        raise tracefile.Mismatch(len(lines) - 2, wrong)
    if diagram:
        from mxsim.models import story  # labels, tooltips, the violation explained

        violation = lines[-1].get("violation")
        highlight = violation.get("step") if isinstance(violation, dict) else None
        pages = story.draw(lines, diagram, highlight=highlight)
        drawn = {"diagram": diagram, "pages": pages, "violation": highlight is not None}
        result = {**result, "diagram": drawn}
    return {"trace": path, "scenario": head.get("scenario"), **result}
