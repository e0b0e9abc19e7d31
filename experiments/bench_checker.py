"""``mxsim bench --only checker``: the model checker's speed, measured in one run.

For each benchmark scenario (``voip-1-to-n``, ``superseded-state``,
``action-ids``, and voip with 4 and 5 callee devices), a breadth-first check
with each reduction the checker offers (``none``, ``symmetry``, ``por``,
``both``):
distinct states, seconds, states per second, bytes per visited state, and
``reduction_ratio`` = states without reduction / states with both. Then,
for every seeded violation (the findings of :mod:`experiments.bench_swarm`),
the seconds to the first counterexample by breadth-first search and by
swarm random walks.

Every figure comes from this run, so ratios compare like with like; the
seconds are noisy on a loaded machine (the state counts are exact). A
check that hits its time bound reports ``decided: false``.
"""

from __future__ import annotations

import inspect
import time
from pathlib import Path
from typing import Any

from mxsim.experiments.bench_swarm import FINDINGS, first_violations
from mxsim.experiments.jobs import load_scenario
from mxsim.sim.explore import Explorer
from mxsim.sim.walks import Walker

__all__ = ["SCENARIOS", "run", "describe", "reductions"]

#: (name in the report, scenario, overrides): the scenarios the issue names,
#: and the voip question at 4 and 5 callee devices.
_VARIANTS = Path(__file__).resolve().parent.parent / "tests" / "sim" / "scenarios"
SCENARIOS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("voip-1-to-n", "voip-1-to-n", ()),
    ("superseded-state", "superseded-state", ()),
    ("action-ids", "action-ids", ()),
    # 4 and 5 callee devices: the scenario files beside the tests (a checkout only).
    *(
        (f"voip-1-to-{n}", str(_VARIANTS / f"voip-1-to-{n}.toml"), ())
        for n in (4, 5)
        if (_VARIANTS / f"voip-1-to-{n}.toml").exists()
    ),
)


def reductions() -> tuple[str, ...]:
    """The reductions this checker offers (``none`` always)."""
    if "reduce" not in inspect.signature(Explorer).parameters:
        return ("none",)
    from mxsim.sim.reduce import MODES

    return tuple(m for m in ("none", "symmetry", "por", "both") if m in MODES)


def _check(scenario: str, sets: tuple[str, ...], reduce: str, max_seconds: float) -> dict:
    system = load_scenario(scenario, list(sets)).system()
    kwargs: dict[str, Any] = {"max_seconds": max_seconds}
    if reduce != "none":
        kwargs["reduce"] = reduce
    start = time.perf_counter()
    report = Explorer(system, **kwargs).bfs()
    seconds = time.perf_counter() - start
    memory = report.memory or {}
    return {
        "states": report.states,
        "seconds": round(seconds, 3),
        "states_per_second": round(report.states / seconds) if seconds else None,
        "bytes_per_state": memory.get("visited_bytes_per_state"),
        "verdict": report.verdict,
        "decided": report.complete or report.stopped == "all decided",
        "stopped": report.stopped,
    }


def _first_bfs(scenario: str, sets: tuple[str, ...], max_seconds: float) -> dict[str, float]:
    """Seconds until breadth-first search first found each violated property."""
    system = load_scenario(scenario, list(sets)).system()
    found: dict[str, float] = {}
    start = time.perf_counter()
    explorer = Explorer(system, max_seconds=max_seconds)
    # Both judges are wrapped to note the moment a violation is recorded.
    judge, judge_final = explorer._judge, explorer._judge_final

    def note(violated: dict, before: set) -> None:
        for name in sorted(set(violated) - before):
            found[name] = time.perf_counter() - start

    def timed(world, n, violated, reached):
        before = set(violated)
        judge(world, n, violated, reached)
        note(violated, before)

    def timed_final(world, n, violated):
        before = set(violated)
        judge_final(world, n, violated)
        note(violated, before)

    explorer._judge, explorer._judge_final = timed, timed_final
    explorer.bfs()
    return {k: round(v, 3) for k, v in sorted(found.items())}


def run(max_seconds: float = 120.0, scenarios=SCENARIOS, findings=FINDINGS) -> dict[str, Any]:
    """The checker section of ``mxsim bench``: one dict, stable field names."""
    modes = reductions()
    out: dict[str, Any] = {"reductions": list(modes), "max_seconds": max_seconds}
    for key, scenario, sets in scenarios:
        rows = {m: _check(scenario, sets, m, max_seconds) for m in modes}
        none, best = rows["none"], rows[modes[-1]]
        out[key] = {
            "by_reduction": rows,
            "states_per_second": none["states_per_second"],
            "bytes_per_state": none["bytes_per_state"],
            # Only a ratio of two decided searches means "fewer states"; of two
            # searches cut by the time bound it only compares their speeds.
            "reduction_ratio": (
                round(none["states"] / best["states"], 2)
                if none["decided"] and best["decided"]
                else None
            ),
        }
    seeded: dict[str, Any] = {}
    for scenario, sets in findings:
        name = f"{scenario} " + " ".join(f"--set {s}" for s in sets)
        walker = Walker(load_scenario(scenario, list(sets)).system(), swarm=True)
        walks = first_violations(walker, 0, 5000, 10.0)
        seeded[name] = {
            "bfs_seconds": _first_bfs(scenario, sets, max_seconds),
            "swarm_seconds": {k: round(v[1], 3) for k, v in sorted(walks["found"].items())},
        }
    out["seeded"] = seeded
    return out


def describe(report: dict[str, Any]) -> list[str]:
    lines = [f"checker (reductions: {', '.join(report['reductions'])}):"]
    for key, row in report.items():
        if not isinstance(row, dict) or "by_reduction" not in row:
            continue
        for mode, r in row["by_reduction"].items():
            decided = "" if r["decided"] else f" (undecided: {r['stopped']})"
            lines.append(
                f"  {key:<18} {mode:<5} {r['states']:>9,} states {r['seconds']:>8.2f} s "
                f"{r['states_per_second'] or 0:>8,} states/s {r['bytes_per_state'] or 0:>6} B/state"
                f"{decided}"
            )
        ratio = row["reduction_ratio"]
        said = f"{ratio:g}" if ratio is not None else "none (a search was not decided)"
        lines.append(f"  {key:<18} reduction ratio {said}")
    lines.append("  seconds to the first counterexample (bfs / swarm walks):")
    for name, r in report["seeded"].items():
        worst_bfs = max(r["bfs_seconds"].values(), default=None)
        worst_swarm = max(r["swarm_seconds"].values(), default=None)
        lines.append(f"    {name:<58} {_s(worst_bfs)} / {_s(worst_swarm)}")
    return lines


def _s(v: float | None) -> str:
    return "never" if v is None else f"{v:.2f} s"
