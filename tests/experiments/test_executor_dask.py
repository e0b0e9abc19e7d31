"""The Dask executor on a two-worker ``LocalCluster``: the same bytes as the local
pool for ``matrix``, ``experiment`` and ``check --random``; a worker that dies
mid-run loses nothing and counts nothing twice; the progress callback sees
every unit once.

One cluster serves the module (starting one costs seconds); the commands
reach it by its address, as they would reach a scheduler on another machine.
Closing it must leave no process behind.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import psutil
import pytest

from mxsim.experiments import random_search
from mxsim.experiments.cli import main
from mxsim.experiments.executor import map_ordered, open_executor

ACTION_IDS = ["check", "action-ids", "--set", "idempotent_retransmission=false", "--random"]


def _children() -> set[int]:
    """This process's descendants, less multiprocessing's resource tracker (one per
    process that spawned anything, by design alive until this process ends)."""
    out = set()
    for p in psutil.Process().children(recursive=True):
        try:
            if "multiprocessing.resource_tracker" not in " ".join(p.cmdline()):
                out.add(p.pid)
        except psutil.NoSuchProcess:
            pass
    return out


@pytest.fixture(scope="module")
def scheduler():
    """The address of a two-worker LocalCluster, shut down (every process) afterwards."""
    before = _children()
    with open_executor("local:2") as started:
        yield started.cluster.scheduler_address
    assert _gone(before), "the cluster left processes behind"


def _gone(before: set[int], wait: float = 15.0) -> bool:
    end = time.monotonic() + wait
    while _children() - before and time.monotonic() < end:
        time.sleep(0.1)
    return not (_children() - before)


def mxsim(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def without_timing(obj):
    """A report minus what the wall clock decides (seconds)."""
    if isinstance(obj, dict):
        return {k: without_timing(v) for k, v in obj.items() if "seconds" not in k}
    if isinstance(obj, list):
        return [without_timing(v) for v in obj]
    return obj


def _files(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*"))}


def test_matrix_is_the_same_bytes_on_the_pool_and_on_the_cluster(capsys, tmp_path, scheduler):
    outputs = []
    for where in (["--workers", "2"], ["--scheduler", scheduler]):
        md = tmp_path / f"m{len(outputs)}.md"
        code, out, _ = mxsim(capsys, "matrix", "voip-glare", *where, "--out", str(md))
        assert code == 0
        code, js, _ = mxsim(capsys, "matrix", "voip-glare", *where, "--json")
        outputs.append((out.replace(str(md), "M"), js, md.read_bytes()))
    assert outputs[0] == outputs[1]
    assert len(json.loads(outputs[0][1])["rows"]) == 4


def test_an_experiment_is_the_same_bytes_on_the_pool_and_on_the_cluster(
    capsys, tmp_path, scheduler
):
    runs = []
    for where in (["--jobs", "2"], ["--scheduler", scheduler]):
        out = tmp_path / f"e{len(runs)}"
        code, _, err = mxsim(capsys, "experiment", "receipts", "--quick", "--out", str(out), *where)
        assert code == 0, err
        runs.append(_files(out))
    assert runs[0] == runs[1]
    assert {"data.csv", "summary.md"} <= set(runs[0])
    assert runs[0]["data.csv"].count(b"\n") > 2


def test_check_random_is_the_same_on_the_pool_and_on_a_cluster_it_starts(capsys, tmp_path):
    """``--scheduler local:2`` starts (and stops) a LocalCluster of its own."""
    before = _children()
    outputs = []
    for where in (["--workers", "2"], ["--scheduler", "local:2"]):
        trace = tmp_path / f"t{len(outputs)}.jsonl"
        args = [*ACTION_IDS, "--walks", "120", "--seed", "5", *where, "--trace", str(trace)]
        code, out, _ = mxsim(capsys, *args, "--json")
        assert code == 1
        report = json.loads(out)
        report["trace"] = None  # the file names differ
        outputs.append((without_timing(report), trace.read_bytes()))
    assert outputs[0] == outputs[1]
    assert outputs[0][0]["walks"] == 120 and outputs[0][0]["violations"]
    assert _gone(before), "--scheduler local:2 left processes behind"


def dies_once(marker: Path, victim: int):
    """A unit function whose unit ``victim`` kills its own worker process the first
    time it runs (the marker file says it has); every unit gives ``(u, u * u)``."""

    def unit(u: int) -> tuple[int, int]:
        time.sleep(0.05)  # so that other units are in flight when the worker dies
        if u == victim:
            try:
                fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                pass
            else:
                os.close(fd)
                os._exit(1)  # the worker process dies mid-unit
        return u, u * u

    return unit


def test_a_worker_that_dies_mid_run_loses_no_unit_and_counts_none_twice(tmp_path, scheduler):
    marker = tmp_path / "died"
    seen: list[tuple[int, int]] = []
    with open_executor(scheduler) as ex:
        assert ex.workers == 2
        got = map_ordered(dies_once(marker, 3), list(range(10)), executor=ex, on_done=_note(seen))
    assert marker.exists(), "no worker died: the test tested nothing"
    assert got == [(u, u * u) for u in range(10)]
    assert seen == [(done, 10) for done in range(1, 11)]


def slower_first(u: int) -> int:
    """Unit ``u`` takes longer the lower it is, so units finish in reverse order."""
    time.sleep(0.08 * (6 - u))
    return -u


def test_results_come_back_in_unit_order_though_they_finish_in_reverse(scheduler):
    finished: list[int] = []
    with open_executor(scheduler) as ex:
        finished = [i for i, _ in ex.stream(slower_first, range(6))]
        got = map_ordered(slower_first, list(range(6)), executor=ex)
    assert finished != sorted(finished)  # the cluster did reorder them
    assert got == [0, -1, -2, -3, -4, -5]


def _note(seen: list):
    return lambda done, total: seen.append((done, total))


def test_check_random_survives_a_dying_worker_with_the_same_report(
    capsys, tmp_path, monkeypatch, scheduler
):
    marker = tmp_path / "died"

    def chunk_that_dies_once(args: tuple):
        from mxsim.experiments import random_search as unpatched  # on the worker: the real one

        if args[7] > 0:  # a later chunk (its first walk index), so earlier ones are done
            try:
                fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                pass
            else:
                os.close(fd)
                os._exit(1)
        return unpatched._run_chunk(args)

    outputs = []
    for where in (["--workers", "1"], ["--scheduler", scheduler]):
        if where[0] == "--scheduler":
            monkeypatch.setattr(random_search, "_run_chunk", chunk_that_dies_once)
        trace = tmp_path / f"t{len(outputs)}.jsonl"
        args = [*ACTION_IDS, "--walks", "200", "--seed", "2", *where, "--trace", str(trace)]
        code, out, _ = mxsim(capsys, *args, "--json")
        report = json.loads(out)
        report["trace"] = None
        outputs.append((code, without_timing(report), trace.read_bytes()))
    assert marker.exists(), "no worker died: the test tested nothing"
    assert outputs[0] == outputs[1]
    assert outputs[1][1]["walks"] == 200


def test_the_walk_progress_sees_every_walk_over_the_cluster(scheduler):
    from mxsim.experiments.jobs import load_scenario

    calls: list[tuple[int, int, int]] = []
    loaded = load_scenario("action-ids", ["idempotent_retransmission=false"])
    with open_executor(scheduler) as ex:
        report = random_search.search(
            loaded,
            None,
            None,
            walks=90,
            seed=1,
            shrinking=False,
            progress=lambda done, total, _e, _l, broken: calls.append((done, total, broken)),
            executor=ex,
        )
    assert report.walks == 90
    dones = [c[0] for c in calls]
    assert dones == sorted(dones) and dones[-1] == 90 and len(dones) > 1
    assert calls[-1][2] == len(report.counterexamples) > 0
