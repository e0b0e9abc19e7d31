"""``mxsim check`` over a long search: Ctrl-C, --checkpoint, the coverage report."""

from __future__ import annotations

import json
import signal

import pytest

from mxsim.experiments.cli import main
from mxsim.sim.coverage import STOP_REASONS
from mxsim.sim.explore import Explorer

TYPING = ["typing-presence", "--set", 'presence_of_user="last_session"']


def mxsim(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def stable(report: dict) -> dict:
    """A check's JSON less what varies from run to run (time, memory, file names)."""
    return {
        k: v
        for k, v in report.items()
        if k not in ("seconds", "memory", "checkpoint", "trace", "trace_hash")
    }


def test_json_report_names_its_coverage_fields(capsys):
    code, out, _ = mxsim(capsys, "check", "action-ids", "--json")
    r = json.loads(out)
    assert code == 0
    assert r["stop_reason"] == "complete" and r["stop_reason"] in STOP_REASONS
    assert r["transitions"] > r["states"]  # every world but the last has a successor
    assert set(r["coverage"]) == {"guards", "delivered", "actions"}
    assert r["coverage"]["guards"]["retransmission_race"]["hit"] is True
    assert set(r["coverage"]["delivered"]) == {"client", "homeserver"}
    assert sum(r["coverage"]["actions"].values()) == r["transitions"]
    assert r["coverage"]["actions"]["deliver"] == sum(r["coverage"]["delivered"].values())
    assert set(r["memory"]) == {"bytes_per_state", "visited_bytes_per_state", "peak_rss_bytes"}


def test_text_report_says_why_it_stopped(capsys):
    code, out, _ = mxsim(capsys, "check", "action-ids", "--max-states", "100")
    assert code == 1  # bounded: a guard not reached yet counts as vacuous
    assert "stopped: max_states" in out.splitlines()
    assert "guards hit: " in out and "delivered to: client" in out


def test_ctrl_c_prints_the_partial_report_and_writes_the_counterexample(
    capsys, tmp_path, monkeypatch
):
    calls = [0]
    plain = Explorer.actions

    def pressing_ctrl_c(self, world):
        calls[0] += 1
        if calls[0] == 1500:  # past the violation (depth 9), before the end (2,930 worlds)
            signal.raise_signal(signal.SIGINT)
        return plain(self, world)

    monkeypatch.setattr(Explorer, "actions", pressing_ctrl_c)
    trace = tmp_path / "cex.jsonl"
    code, out, _ = mxsim(capsys, "check", *TYPING, "--trace", str(trace))
    assert code == 1
    assert "stopped: interrupted" in out.splitlines()
    assert "VIOLATED: presence_follows_sessions: shortest 7 steps (11 trace steps" in out
    monkeypatch.setattr(Explorer, "actions", plain)
    code, out, _ = mxsim(capsys, "replay", str(trace))
    assert code == 0


def test_checkpoint_resumes_to_the_result_of_one_run(capsys, tmp_path):
    code, out, _ = mxsim(capsys, "check", *TYPING, "--json")
    whole = json.loads(out)
    ck = tmp_path / "typing.ckpt"
    code, out, _ = mxsim(
        capsys, "check", *TYPING, "--max-states", "1000", "--checkpoint", str(ck), "--json"
    )
    first = json.loads(out)
    assert first["stop_reason"] == "max_states" and first["checkpoint"]["resumed"] is False
    code, out, _ = mxsim(capsys, "check", *TYPING, "--checkpoint", str(ck), "--json")
    resumed = json.loads(out)
    assert resumed["checkpoint"] == {"path": str(ck), "resumed": True, "saves": 1}
    assert stable(resumed) == stable(whole)
    assert code == 1


def test_checkpoint_of_another_check_is_refused_in_one_line(capsys, tmp_path):
    ck = tmp_path / "a.ckpt"
    mxsim(capsys, "check", "action-ids", "--max-states", "50", "--checkpoint", str(ck))
    before = ck.read_bytes()
    for other in (["action-ids-parallel"], ["action-ids", "--set", "hold_out_of_order=false"]):
        code, out, err = mxsim(capsys, "check", *other, "--checkpoint", str(ck))
        assert code == 2 and out == ""
        assert err.count("\n") == 1 and "another check" in err and str(ck) in err
    assert ck.read_bytes() == before
    code, _, err = mxsim(capsys, "check", "action-ids", "--random", "--checkpoint", str(ck))
    assert code == 2 and err.count("\n") == 1


@pytest.mark.slow
def test_real_ctrl_c_then_resume_from_the_checkpoint(tmp_path):
    # End to end, as a user at a terminal: the check saves every 0.2 s; once
    # the first save is there, the search is running (and SIGINT is its
    # bound), so Ctrl-C is sent; the same command then resumes it.
    import os
    import subprocess
    import sys
    import time

    ck = tmp_path / "rejected.ckpt"
    from pathlib import Path

    argv = [str(Path(sys.executable).parent / "mxsim"), "check", "rejected-event"]
    argv += ["--max-seconds", "900", "--json"]  # a loaded machine must not cut it short
    run = [*argv, "--checkpoint", str(ck), "--checkpoint-every", "0.2"]
    env = dict(os.environ)
    proc = subprocess.Popen(run, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    deadline = time.monotonic() + 120
    while not ck.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    cut = json.loads(out)
    assert cut["stop_reason"] == "interrupted", err
    assert proc.returncode in (0, 1)  # a verdict, not 130 (aborted)
    whole = json.loads(subprocess.run(argv, capture_output=True, env=env).stdout)
    done = subprocess.run([*argv, "--checkpoint", str(ck)], capture_output=True, env=env)
    resumed = json.loads(done.stdout)
    assert resumed["checkpoint"]["resumed"] is True
    assert stable(resumed) == stable(whole)
    assert cut["states"] < whole["states"]
