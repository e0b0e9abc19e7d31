"""``mxsim check --random``: random walks over worker processes, then shrinking.

The walk indices are cut into chunks handed out in order; each walk is a
function of (scenario, seed, index) only, and :func:`mxsim.sim.walks.merge`
picks the same counterexamples from any split, so a search bounded by its
walk count gives the same report for any ``--workers``. A search stopped by
``--max-seconds`` has done whichever walks the machine got to: its report
says so (``timing_dependent``). Shrinking runs once, in this process, on the
merged counterexamples, so it too is independent of the split.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import replace

from mxsim.experiments.cmd_common import budget_words
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
) -> WalkReport:
    """Run ``walks`` walks of ``loaded`` (a :class:`mxsim.experiments.jobs.Loaded`),
    judging the ``chosen`` properties (default: the scenario's)."""
    system = _system(loaded.raw, loaded.scenario.source, loaded.overrides, chosen)
    limit = system.scenario.check.max_seconds if max_seconds is None else max_seconds
    start = time.time()
    deadline = start + limit
    chunks = _chunks(walks, workers)
    batches: list[Batch] = []
    broken: set[str] = set()

    def note(batch: Batch, done_before: int) -> None:
        broken.update(batch.best)
        if progress is not None:
            progress(done_before + batch.done, walks, time.time() - start, limit, len(broken))

    if workers == 1:
        walker = Walker(system, max_depth, swarm)
        for first, count in chunks:
            before = sum(b.done for b in batches)
            batch = walker.run(
                seed, first, count, deadline, start, lambda b, before=before: note(b, before)
            )
            batches.append(batch)
            if batch.deadline_hit:
                break
    else:
        base = (
            loaded.raw,
            loaded.scenario.source,
            loaded.overrides,
            chosen,
            max_depth,
            swarm,
            seed,
        )
        with ProcessPoolExecutor(max_workers=workers) as pool:
            pending: set = set()
            stop = False
            while True:
                # Keep two chunks per worker in hand: enough to stay busy, and
                # none handed out after the deadline.
                while not stop and len(pending) < 2 * workers:
                    nxt = next(chunks, None)
                    if nxt is None:
                        break
                    pending.add(pool.submit(_run_chunk, (*base, *nxt, deadline, start)))
                if not pending:
                    break
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in sorted(done, key=lambda f: f.result().first):
                    batch = fut.result()
                    batches.append(batch)
                    note(batch, sum(b.done for b in batches) - batch.done)
                    stop = stop or batch.deadline_hit
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


_WALKERS: dict[str, Walker] = {}  # per worker process: keeps the transition memo warm


def _run_chunk(args: tuple) -> Batch:
    raw, source, overrides, chosen, max_depth, swarm, seed, first, count, deadline, start = args
    key = canonical([raw, source, overrides, chosen, max_depth, swarm])
    walker = _WALKERS.get(key)
    if walker is None:
        system = _system(raw, source, overrides, chosen)
        walker = _WALKERS[key] = Walker(system, max_depth, swarm)
    return walker.run(seed, first, count, deadline, start)


def _system(raw: dict, source: str, overrides: dict, chosen: tuple[str, ...] | None) -> System:
    """The system of a scenario table judging ``chosen`` properties (default: all listed)."""
    scenario = from_raw(raw, source, MODELS, overrides)
    if chosen is not None:
        scenario = replace(scenario, properties=tuple(chosen))
    return System(scenario, MODELS[scenario.model])


def walk_progress_printer(stream=None) -> Progress | None:
    """A one-line display of a random search on a terminal; None when not a terminal."""
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
        stream.write(
            f"\r  walks {done:>8,}/{requested:,}  elapsed {elapsed:>6.1f} s"
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
