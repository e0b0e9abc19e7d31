"""`mxsim check --random` as a user runs it: honest stop reasons, shrunk traces,
the same report for any number of workers."""

from __future__ import annotations

import json

import pytest

from mxsim.experiments.cli import main

ACTION_IDS = ["check", "action-ids", "--set", "idempotent_retransmission=false", "--random"]


def mxsim(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def without_timing(obj):
    """The report minus what the wall clock decides (seconds)."""
    if isinstance(obj, dict):
        return {k: without_timing(v) for k, v in obj.items() if "seconds" not in k}
    if isinstance(obj, list):
        return [without_timing(v) for v in obj]
    return obj


@pytest.mark.parametrize("swarm", ["--swarm", "--no-swarm"])
def test_the_report_and_trace_are_the_same_for_one_and_two_workers(capsys, tmp_path, swarm):
    outputs = []
    for workers in ("1", "2"):
        trace = tmp_path / f"w{workers}.jsonl"
        args = [*ACTION_IDS, swarm, "--walks", "150", "--seed", "5", "--workers", workers]
        code, out, _ = mxsim(capsys, *args, "--trace", str(trace), "--json")
        report = json.loads(out)
        assert code == 1
        report["trace"] = None  # the file names differ
        outputs.append((without_timing(report), trace.read_bytes()))
    assert outputs[0] == outputs[1]
    report = outputs[0][0]
    assert (report["walks"], report["walks_requested"], report["stopped"]) == (150, 150, "walks")
    assert report["timing_dependent"] is False
    assert report["swarm"] is (swarm == "--swarm")


def test_a_deadline_is_reported_as_the_stop_with_the_walks_done(capsys):
    args = [*ACTION_IDS, "--walks", "100000000", "--max-seconds", "0.5", "--json"]
    code, out, _ = mxsim(capsys, *args)
    report = json.loads(out)
    assert report["stopped"] == "max_seconds"
    assert 0 < report["walks"] < report["walks_requested"] == 100_000_000
    assert report["timing_dependent"] is True
    code, out, _ = mxsim(capsys, *args[:-1])
    assert "stopped: max_seconds after" in out and "of 100,000,000 walks" in out
    assert "not reproducible" in out


def test_the_text_report_says_shrunk_or_shortest_walk_never_shortest_trace(capsys, tmp_path):
    trace = str(tmp_path / "t.jsonl")
    code, out, _ = mxsim(capsys, *ACTION_IDS, "--walks", "50", "--trace", trace)
    assert code == 1
    assert "stopped: all 50 walks done" in out
    assert "shortest trace" not in out
    assert "VIOLATED: idempotent (shrunk from" in out
    code, out, _ = mxsim(capsys, *ACTION_IDS, "--walks", "50", "--no-shrink", "--trace", trace)
    assert "shortest walk:" in out and "not shrunk" in out and "shrunk from" not in out
    code, out, _ = mxsim(capsys, "replay", trace)
    assert code == 0, out


def test_the_written_trace_is_the_shrunk_one_and_replays(capsys, tmp_path):
    trace = tmp_path / "t.jsonl"
    args = [*ACTION_IDS, "--no-swarm", "--walks", "40", "--seed", "2", "--trace", str(trace)]
    code, out, _ = mxsim(capsys, *args, "--json")
    report = json.loads(out)
    first = report["violations"][0]
    assert first["shrunk"] is True
    assert first["trace_length"] <= first["walk_length"]
    steps = [line for line in trace.read_text().splitlines() if '"kind":"step"' in line]
    assert len(steps) == first["trace_length"]
    code, out, _ = mxsim(capsys, "replay", str(trace), "--json")
    assert code == 0 and json.loads(out)["verdicts"][first["property"]] == "violated"


def test_liveness_on_a_bundled_scenario_reports_its_search(capsys, tmp_path):
    code, out, _ = mxsim(capsys, "check", "action-ids-parallel", "--liveness", "--json")
    live = json.loads(out)["liveness"]
    assert code == 0
    assert (live["complete"], live["lassos"], live["trace"]) == (True, [], None)
    assert live["states"] > 1 and live["transitions"] >= live["states"] - 1
    code, out, _ = mxsim(capsys, "check", "action-ids-parallel", "--liveness")
    assert "no fair cycle" in out


def test_the_report_is_the_same_under_any_pythonhashseed(tmp_path):
    import os
    import subprocess
    import sys

    outputs = []
    for hashseed in ("1", "2"):
        trace = tmp_path / f"h{hashseed}.jsonl"
        args = [*ACTION_IDS, "--walks", "80", "--seed", "3", "--trace", str(trace), "--json"]
        code = "from mxsim.experiments.cli import main; main()"
        env = {**os.environ, "PYTHONHASHSEED": hashseed}
        done = subprocess.run(
            [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True
        )
        report = json.loads(done.stdout)
        report["trace"] = None
        outputs.append((without_timing(report), trace.read_bytes()))
    assert outputs[0] == outputs[1]


def test_a_run_longer_than_the_liveness_bound_is_written_and_replays(capsys, tmp_path):
    trace = tmp_path / "t.jsonl"
    args = ["check", "action-ids-parallel", "--liveness-bound", "3", "--trace", str(trace)]
    code, out, _ = mxsim(capsys, *args, "--json")
    live = json.loads(out)["liveness"]
    assert code == 1
    [(name, run)] = live["long_runs"].items()
    assert run["trace"] == str(tmp_path / "t-long.jsonl")
    code, out, _ = mxsim(capsys, "replay", run["trace"])
    assert code == 0, out
    steps = [json.loads(x) for x in (tmp_path / "t-long.jsonl").read_text().splitlines()]
    assert len(steps) - 2 == run["trace_length"]
    assert steps[-1]["long_run"] == {"property": name, "bound": 3}
    code, out, _ = mxsim(capsys, "check", "action-ids-parallel", "--liveness-bound", "1000")
    assert code == 0 and "LONG RUN" not in out
