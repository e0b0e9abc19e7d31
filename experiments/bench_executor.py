"""The executor seam's speed: units per second on the process pool and on Dask.

For one swarm search (``check --random`` walks of a bundled scenario) and one
experiment (``experiment NAME --quick`` points), each executor (the local
pool, and a Dask ``LocalCluster``) runs the same units with 1 and 2 workers;
the figure is units per second, and Dask's overhead is the pool's rate over
Dask's at the same number of workers, measured in the same run (so both share
the machine's load). Each job runs twice on the same executor and the second
(warm) run is the one counted: the first pays for worker imports. Starting a
``LocalCluster`` is timed apart and is not in the rates. The pool with one
worker runs the units in this process (no pickling), as ``--workers 1`` does.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from mxsim.experiments import random_search
from mxsim.experiments.executor import LocalPool
from mxsim.experiments.experiment import runner
from mxsim.experiments.experiment.registry import experiments
from mxsim.experiments.jobs import load_scenario

__all__ = ["run", "describe"]


def _swarm(executor, scenario: str, walks: int) -> float:
    loaded = load_scenario(scenario, [])
    t0 = time.perf_counter()
    report = random_search.search(
        loaded, None, 3600.0, walks, seed=1, shrinking=False, executor=executor
    )
    elapsed = time.perf_counter() - t0
    assert report.walks == walks, (report.walks, walks)
    return walks / elapsed


def _experiment(executor, name: str) -> tuple[float, int]:
    exp = experiments()[name]
    with tempfile.TemporaryDirectory() as where:
        t0 = time.perf_counter()
        outcome = runner.run(exp, Path(where), quick=True, executor=executor)
        elapsed = time.perf_counter() - t0
    assert outcome.ok and not outcome.failed, outcome.refused
    return len(outcome.rows) / elapsed, len(outcome.rows)


def _open(backend: str, workers: int):
    if backend == "pool":
        return LocalPool(workers), 0.0
    from mxsim.experiments.executor.cluster import DaskCluster

    t0 = time.perf_counter()
    cluster = DaskCluster(f"local:{workers}")
    return cluster, time.perf_counter() - t0


def run(scenario: str = "action-ids", walks: int = 600, experiment: str = "receipts") -> dict:
    """Units/s per (backend, workers) for the swarm search and the experiment."""
    rows = []
    points = 0
    for backend in ("pool", "dask"):
        for workers in (1, 2):
            executor, started = _open(backend, workers)
            try:
                _swarm(executor, scenario, walks)  # warm-up
                walks_s = _swarm(executor, scenario, walks)
                _experiment(executor, experiment)
                points_s, points = _experiment(executor, experiment)
            finally:
                executor.close()
            rows.append(
                {
                    "backend": backend,
                    "workers": workers,
                    "walks_per_s": walks_s,
                    "points_per_s": points_s,
                    "start_s": started,
                }
            )
    by = {(r["backend"], r["workers"]): r for r in rows}
    overhead = {
        str(w): {
            "walks": by["pool", w]["walks_per_s"] / by["dask", w]["walks_per_s"],
            "points": by["pool", w]["points_per_s"] / by["dask", w]["points_per_s"],
        }
        for w in (1, 2)
    }
    return {
        "scenario": scenario,
        "walks": walks,
        "experiment": experiment,
        "points": points,
        "rows": rows,
        "overhead": overhead,
    }


def describe(report: dict) -> list[str]:
    """The table ``mxsim bench --only executor`` prints."""
    lines = [
        f"executor: check {report['scenario']} --random --walks {report['walks']}; "
        f"experiment {report['experiment']} --quick ({report['points']} points)",
        "  backend  workers   walks/s  points/s  start",
    ]
    for r in report["rows"]:
        start = f"{r['start_s']:.1f} s" if r["backend"] == "dask" else "-"
        lines.append(
            f"  {r['backend']:<7}  {r['workers']:>7}  {r['walks_per_s']:>8.0f}  "
            f"{r['points_per_s']:>8.2f}  {start}"
        )
    for w, o in report["overhead"].items():
        lines.append(
            f"  dask overhead at {w} worker{'s' if w != '1' else ''} (pool units/s over dask's): "
            f"walks {o['walks']:.2f}x, points {o['points']:.2f}x"
        )
    return lines
