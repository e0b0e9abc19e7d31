"""Compare design choices property by property: a scenario over seeds and switch values.

``mxsim sweep SCENARIO --vary SWITCH=A,B --seeds N --out DIR`` runs the timed
runtime once per (switch value, seed), and writes

- ``DIR/runs.csv``: one row per run: the switch values, seed, each property's
  verdict, deliveries, drops, simulated time at the end, trace hash;
- ``DIR/summary.csv``: per switch value and property, how many runs passed;
- ``DIR/summary.png`` and ``.svg``: that table as grouped bars.

The same arguments give the same bytes in every file, whatever the executor
(local processes or a Dask cluster, ``--scheduler``) and its number of
workers: runs are independent, and their results are ordered by
(switch value, seed) before anything is written.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mxsim.experiments.executor import Executor, map_ordered
from mxsim.sim.files import write_atomic
from mxsim.sim.scenario import ScenarioError

__all__ = ["parse_vary", "sweep", "write_outputs", "combinations", "pool_map"]


def parse_vary(items: Sequence[str]) -> list[tuple[str, list[str]]]:
    """``["a=1,2", "b=x"]`` -> ``[("a", ["1", "2"]), ("b", ["x"])]``, checking the form."""
    out = []
    for item in items:
        name, sep, values = item.partition("=")
        if not sep or not name.strip() or not values.strip():
            raise ScenarioError("--vary", item, "SWITCH=VALUE[,VALUE...]", item)
        out.append((name.strip(), [v.strip() for v in values.split(",") if v.strip()]))
    return out


def _one(args: tuple) -> dict[str, Any]:
    from mxsim.experiments.jobs import load_scenario, run_job

    scenario, sets, seed = args
    loaded = load_scenario(scenario, sets)
    report = run_job(loaded, seed=seed)
    return {
        "sets": list(sets),
        "seed": seed,
        "properties": report["properties"],
        "delivered": report["counts"]["delivered"],
        "dropped": report["counts"]["dropped"],
        "time_ms": report["time_ms"],
        "trace_hash": report["trace_hash"],
    }


def sweep(
    scenario: str,
    vary: list[tuple[str, list[str]]],
    seeds: int,
    base_sets: Sequence[str] = (),
    workers: int = 1,
    executor: Executor | None = None,
    on_done: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """Every combination of the varied switches, each with seeds 0..seeds-1, run on
    ``executor`` (default: a local pool of ``workers``)."""
    from mxsim.experiments.jobs import load_scenario

    combos = combinations(vary)
    # Validate every combination up front: bad input fails before any run.
    for combo in combos:
        load_scenario(scenario, [*base_sets, *combo])
    jobs = [(scenario, [*base_sets, *combo], seed) for combo in combos for seed in range(seeds)]
    return pool_map(_one, jobs, workers, executor, on_done)


def combinations(vary: list[tuple[str, list[str]]]) -> list[tuple[str, ...]]:
    """Every combination of the varied values as ``--set`` items, the first switch slowest.

    >>> combinations([("a", ["1", "2"]), ("b", ["x"])])
    [('a=1', 'b=x'), ('a=2', 'b=x')]
    >>> combinations([])
    [()]
    """
    return list(itertools.product(*[[f"{n}={v}" for v in vals] for n, vals in vary]))


def pool_map(
    fn: Callable[[Any], Any],
    jobs: list,
    workers: int,
    executor: Executor | None = None,
    on_done: Callable[[int, int], None] | None = None,
) -> list:
    """``[fn(j) for j in jobs]`` on ``executor`` (default: ``workers`` local processes);
    results in job order."""
    return map_ordered(fn, jobs, workers, on_done, executor)


def _csv(rows: list[list[Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerows(rows)
    return buf.getvalue().encode()


def summarize(results: list[dict[str, Any]]) -> tuple[list[str], list[str], dict]:
    """(variant labels, property names, {(variant, property): runs passed})."""
    variants: list[str] = []
    props: list[str] = []
    passed: dict[tuple[str, str], int] = {}
    for r in results:
        label = " ".join(r["sets"]) or "defaults"
        if label not in variants:
            variants.append(label)
        for name, verdict in r["properties"].items():
            if name not in props:
                props.append(name)
            key = (label, name)
            passed[key] = passed.get(key, 0) + (verdict in ("holds", "reached"))
    return variants, props, passed


def write_outputs(results: list[dict[str, Any]], out: Path, title: str) -> list[Path]:
    """Write runs.csv, summary.csv and the summary figure; returns the paths."""
    variants, props, passed = summarize(results)
    runs_rows: list[list[Any]] = [
        ["variant", "seed", *props, "delivered", "dropped", "time_ms", "trace_hash"]
    ]
    for r in results:
        label = " ".join(r["sets"]) or "defaults"
        verdicts = [r["properties"].get(p, "") for p in props]
        runs_rows.append(
            [
                label,
                r["seed"],
                *verdicts,
                r["delivered"],
                r["dropped"],
                r["time_ms"],
                r["trace_hash"],
            ]
        )
    per_variant = {
        v: sum(1 for r in results if (" ".join(r["sets"]) or "defaults") == v) for v in variants
    }
    summary_rows: list[list[Any]] = [["variant", "runs", *props]]
    for v in variants:
        summary_rows.append([v, per_variant[v], *[passed.get((v, p), 0) for p in props]])
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "runs.csv", out / "summary.csv", out / "summary.png", out / "summary.svg"]
    write_atomic(paths[0], _csv(runs_rows))
    write_atomic(paths[1], _csv(summary_rows))
    _figure(variants, props, passed, per_variant, paths[2], title)
    _figure(variants, props, passed, per_variant, paths[3], title)
    return paths


def _figure(variants, props, passed, per_variant, path: Path, title: str) -> None:
    """Grouped bars, each labelled with its count of passing runs (so a bar of 0 is
    seen to be 0, not missing), the variants' full labels in a legend beside them."""
    from mxsim.experiments.experiment import figures

    fig = figures.figure(max(6.0, 1.3 * len(props)) + 2.5, 4.0)
    ax = fig.add_subplot()
    width = 0.8 / max(len(variants), 1)
    for i, v in enumerate(variants):
        counts = [passed.get((v, p), 0) for p in props]
        share = [c / per_variant[v] for c in counts]
        xs = [x + (i - (len(variants) - 1) / 2) * width for x in range(len(props))]
        bars = ax.bar(xs, share, width, label=v, edgecolor="black", linewidth=0.6)
        ax.bar_label(bars, labels=[str(c) for c in counts], fontsize=7, padding=1)
    ax.set_xticks(range(len(props)), props, rotation=25, ha="right")
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("share of runs that pass (count on each bar)")
    ax.set_title(title)
    figures.legend_outside(ax)
    write_atomic(path, figures.save(fig, path.suffix[1:]))
