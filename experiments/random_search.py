"""``mxsim check --random``: random walks over the executor's workers, then shrinking.

The walk indices are cut into chunks, the units of the executor seam
(:mod:`mxsim.experiments.executor`: local processes or a Dask cluster),
handed out in order; each walk is a
function of (scenario, seed, index) only, and :func:`mxsim.sim.walks.merge`
picks the same counterexamples from any split, so a search bounded by its
walk count gives the same report for any ``--workers``. A search stopped by
``--max-seconds`` has done whichever walks the machine got to: its report
says so (``timing_dependent``). Shrinking runs once, in this process, on the
merged counterexamples, so it too is independent of the split.
"""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

from mxsim.experiments.cmd_common import budget_words
from mxsim.experiments.executor import Executor, LocalPool
from mxsim.models.registry import MODELS
from mxsim.sim.scenario_load import from_raw
from mxsim.sim.shrink import shrink
from mxsim.sim.system import System
from mxsim.sim.walks import Batch, Walker, WalkReport, merge
from mxsim.sim.world import canonical

__all__ = ["search", "walk_progress_printer", "Progress"]

# (walks done, walks requested, seconds elapsed, seconds allowed, properties violated)
Progress = Callable[[int, int, float, float, int], None]


def search(
    loaded,
    max_depth: int | None,
    max_seconds: float | None,
    walks: int,
    seed: int,
    workers: int = 1,
    swarm: bool = True,
    shrinking: bool = True,
    progress: Progress | None = None,
    chosen: tuple[str, ...] | None = None,
    executor: Executor | None = None,
) -> WalkReport:
    """Run ``walks`` walks of ``loaded`` (a :class:`mxsim.experiments.jobs.Loaded`),
    judging the ``chosen`` properties (default: the scenario's), in chunks on
    ``executor`` (default: a local pool of ``workers``)."""
    system = _system(loaded.raw, loaded.scenario.source, loaded.overrides, chosen)
    limit = system.scenario.check.max_seconds if max_seconds is None else max_seconds
    start = time.time()
    deadline = start + limit
    batches: list[Batch] = []
    broken: set[str] = set()
    base = (loaded.raw, loaded.scenario.source, loaded.overrides, chosen, max_depth, swarm, seed)
    ex = LocalPool(workers) if executor is None else executor
    stop = False
    # Chunks are handed out only while no walk has met the deadline.
    chunks = itertools.takewhile(lambda _: not stop, _chunks(walks, ex.workers))
    units = ((*base, first, count, deadline, start) for first, count in chunks)
    try:
        for _, batch in ex.stream(_run_chunk, units):
            batches.append(batch)
            broken.update(batch.best)
            if progress is not None:
                done = sum(b.done for b in batches)
                progress(done, walks, time.time() - start, limit, len(broken))
            stop = stop or batch.deadline_hit
    finally:
        if executor is None:
            ex.close()
    report = merge(system, batches, walks, time.time() - start, swarm)
    if shrinking:
        t0 = time.time()
        for cex in report.counterexamples:
            cex.actions = shrink(system, cex.actions, cex.property)
            cex.shrunk = True
        report.shrink_seconds = time.time() - t0
    return report


def _chunks(walks: int, workers: int) -> Iterator[tuple[int, int]]:
    """Consecutive index ranges: several per worker, so progress shows and loads balance."""
    size = max(1, min(100, -(-walks // (workers * 8))))
    return ((f, min(size, walks - f)) for f in range(0, walks, size))


# Per worker process (or this one): the last search's walker, its transition memo warm.
_WALKERS: dict[str, Walker] = {}


def _run_chunk(args: tuple) -> Batch:
    raw, source, overrides, chosen, max_depth, swarm, seed, first, count, deadline, start = args
    key = canonical([raw, source, overrides, chosen, max_depth, swarm])
    walker = _WALKERS.get(key)
    if walker is None:
        system = _system(raw, source, overrides, chosen)
        _WALKERS.clear()  # one search at a time: a long-lived process must not hoard memos
        walker = _WALKERS[key] = Walker(system, max_depth, swarm)
    return walker.run(seed, first, count, deadline, start)


def _system(raw: dict, source: str, overrides: dict, chosen: tuple[str, ...] | None) -> System:
    """The system of a scenario table judging ``chosen`` properties (default: all listed)."""
    scenario = from_raw(raw, source, MODELS, overrides)
    if chosen is not None:
        scenario = replace(scenario, properties=tuple(chosen))
    return System(scenario, MODELS[scenario.model])


def walk_progress_printer(stream=None) -> Progress | None:
    """A one-line display of a random search on a terminal (walks done, walks per
    second, time left); None when not a terminal."""
    stream = stream or sys.stderr
    if not stream.isatty():
        return None
    last = [0.0]

    def show(done: int, requested: int, elapsed: float, limit: float, violated: int) -> None:
        now = time.monotonic()
        if now - last[0] < 0.2 and done < requested:
            return
        last[0] = now
        left = limit - elapsed
        if done:
            left = min(left, elapsed / done * (requested - done))
        rate = done / elapsed if elapsed > 0 else 0.0
        stream.write(
            f"\r  walks {done:>8,}/{requested:,}  {rate:>7,.0f} walks/s  elapsed {elapsed:>6.1f} s"
            f"  left {max(left, 0):>6.1f} s (limit {limit:g} s)  violated {violated}"
        )
        stream.flush()

    return show


def summary(report: WalkReport, seed: int) -> dict:
    """The fields ``check --random --json`` adds to a check report."""
    return {
        "seed": seed,
        "swarm": report.swarm,
        "walks": report.walks,
        "walks_requested": report.walks_requested,
        "timing_dependent": report.timing_dependent,
        "first_violation": report.first,
        "shrink_seconds": round(report.shrink_seconds, 3),
    }


def walk_fields(cex, starts: int) -> dict:
    """A violation's walk: its index, its length in trace steps, whether it was shrunk."""
    return {"walk": cex.walk, "walk_length": cex.walk_length + starts, "shrunk": cex.shrunk}


def describe(report: dict) -> list[str]:
    """The human report of ``check --random`` (before the replay and verdict lines)."""
    how = "swarm random walks" if report["swarm"] else "plain random walks"
    if report["stopped"] == "walks":
        stop = f"stopped: all {report['walks']:,} walks done"
    else:
        stop = (
            f"stopped: max_seconds after {report['walks']:,} of {report['walks_requested']:,} "
            "walks (which walks ran depends on the machine's speed: not reproducible)"
        )
    lines = [
        f"{report['scenario']}: {how}, seed {report['seed']}, {report['states']:,} worlds visited, "
        f"longest walk {report['depth']}, {report['seconds']:.2f} s; "
        f"timers fire: {report['timers']}; fault budgets: {budget_words(report['budgets'])}",
        f"  {stop}",
    ]
    width = max((len(n) for n in report["properties"]), default=0)
    lines += [f"  {name:<{width}}  {v}" for name, v in report["properties"].items()]
    for v in report["violations"]:
        first = report["first_violation"].get(v["property"], {})
        found = f"first in walk {first.get('walk')} at {first.get('seconds', 0):.2f} s"
        # Steps after the node starts, as breadth-first search counts them.
        walked = v["walk_length"] - report["starts"]
        if v["shrunk"]:
            size = f"shrunk from {walked} to {v['steps']} steps"
        else:
            size = f"shortest walk: {v['steps']} steps, not shrunk"
        size += f"; {v['trace_length']} trace steps with the {report['starts']} starts"
        lines.append(f"VIOLATED: {v['property']} ({size}; walk {v['walk']}; {found})")
    return lines
