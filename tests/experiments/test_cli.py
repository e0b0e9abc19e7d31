"""The `mxsim` command as a user runs it: verdicts, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mxsim.experiments.cli import main
from mxsim.models.registry import bundled


def mxsim(capsys, *argv: str) -> tuple[int, str, str]:
    """Run the command in-process; return (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def test_scenarios_lists_every_bundled_scenario_on_one_line(capsys):
    code, out, _ = mxsim(capsys, "scenarios")
    assert code == 0
    lines = out.strip().splitlines()
    assert [line.split()[0] for line in lines] == sorted(bundled())
    code, out, _ = mxsim(capsys, "scenarios", "--json")
    assert {row["name"] for row in json.loads(out)} == set(bundled())


@pytest.mark.parametrize("name", sorted(bundled()))
def test_every_bundled_scenario_runs_and_holds(capsys, name):
    code, out, _ = mxsim(capsys, "run", name, "--json")
    report = json.loads(out)
    assert code == 0, report["properties"]
    assert report["scenario"] == name
    assert set(report["properties"].values()) <= {"holds", "reached"}
    assert len(report["trace_hash"]) == 64


def test_check_holds_by_default_and_the_races_really_happen(capsys):
    code, out, _ = mxsim(capsys, "check", "action-ids", "--json")
    report = json.loads(out)
    assert code == 0
    assert report["verdict"] == "holds" and report["complete"]
    # The sometimes guards: a retransmission met an applied action, and IDs overtook.
    assert report["properties"]["retransmission_race"] == "reached"
    assert report["properties"]["out_of_order_actions"] == "reached"
    assert report["states"] > 100


def test_check_finds_the_seeded_violation_and_it_replays(capsys, tmp_path):
    trace = tmp_path / "cex.jsonl"
    code, out, _ = mxsim(
        capsys,
        "check",
        "action-ids",
        "--set",
        "idempotent_retransmission=false",
        "--trace",
        str(trace),
        "--diagram",
        str(tmp_path / "cex.svg"),
        "--json",
    )
    report = json.loads(out)
    assert code == 1
    assert report["verdict"] == "violated"
    first = report["violations"][0]
    assert first["property"] == "idempotent"
    lines = trace.read_text().splitlines()
    assert len(lines) == first["trace_length"] + 2  # header and end
    assert json.loads(lines[-1])["violation"]["property"] == "idempotent"
    assert (tmp_path / "cex.svg").read_bytes().startswith(b"<?xml")
    code, out, _ = mxsim(capsys, "replay", str(trace), "--json")
    assert code == 0 and json.loads(out)["reproduced"]


def test_reordering_switch_breaks_per_client_order(capsys, tmp_path):
    code, out, _ = mxsim(
        capsys,
        "check",
        "action-ids-parallel",
        "--set",
        "hold_out_of_order=false",
        "--trace",
        str(tmp_path / "t.jsonl"),
        "--json",
    )
    report = json.loads(out)
    assert code == 1
    assert [v["property"] for v in report["violations"]] == ["per_client_order"]


def test_run_reports_violation_with_replay_command(capsys, tmp_path):
    path = tmp_path / "run.jsonl"
    args = ["run", "action-ids-parallel", "--set", "hold_out_of_order=false"]
    # Find a seed where the timed run reorders (the guard says it did).
    for seed in range(40):
        code, out, _ = mxsim(capsys, *args, "--seed", str(seed), "--trace", str(path))
        if code == 1:
            break
    else:
        pytest.fail("no seed in 0..39 reordered the parallel sends")
    assert "VIOLATED: per_client_order" in out
    assert f"mxsim replay {path}" in out
    code, out, _ = mxsim(capsys, "replay", str(path))
    assert code == 0, out


def test_random_walks_are_the_same_with_any_number_of_workers(capsys, tmp_path):
    outputs = []
    for workers in ("1", "2"):
        trace = tmp_path / f"w{workers}.jsonl"
        code, out, _ = mxsim(
            capsys,
            "check",
            "action-ids",
            "--set",
            "idempotent_retransmission=false",
            "--random",
            "--walks",
            "60",
            "--seed",
            "5",
            "--workers",
            workers,
            "--trace",
            str(trace),
            "--json",
        )
        report = json.loads(out)
        assert code == 1
        outputs.append((report["violations"], report["states"], trace.read_bytes()))
    assert outputs[0] == outputs[1]


BAD_INPUTS = [
    (["run", "no-such-scenario"], "no-such-scenario: scenario: expected"),
    (["run", "action-ids", "--bogus"], "No such option"),
    (["run", "action-ids", "--set", "nonsense"], "--set"),
    (["run", "action-ids", "--set", "no_such_switch=1"], "no_such_switch"),
    (["run", "action-ids", "--set", "hold_out_of_order=3"], "hold_out_of_order"),
    (["check", "action-ids", "--max-states", "0"], "--max-states"),
    (["check", "action-ids", "--max-depth", "-1"], "--max-depth"),
    (["run", "action-ids", "--diagram", "x.pdf"], "x.pdf"),
    (["run", "action-ids", "--trace", "/nonexistent/dir/t.jsonl"], "/nonexistent/dir"),
    (["frobnicate"], "No such command"),
]


@pytest.mark.parametrize("argv,needle", BAD_INPUTS)
def test_bad_input_is_one_line_and_exit_code_2(capsys, argv, needle):
    code, out, err = mxsim(capsys, *argv)
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert needle in err
    assert "Traceback" not in err + out


def test_bad_scenario_file_names_file_and_field(capsys, tmp_path):
    path = tmp_path / "bad.toml"
    text = bundled()["action-ids"].read_text().replace('kind = "device"', 'kind = "robot"')
    path.write_text(text)
    code, _, err = mxsim(capsys, "run", str(path))
    assert code == 2
    assert err.startswith(f"{path}: nodes[1].kind: expected one of")


def test_bad_input_leaves_an_existing_trace_untouched(capsys, tmp_path):
    trace = tmp_path / "keep.jsonl"
    trace.write_bytes(b"precious")
    code, _, _ = mxsim(capsys, "run", "action-ids", "--set", "x=1", "--trace", str(trace))
    assert code == 2
    assert trace.read_bytes() == b"precious"


@pytest.mark.parametrize(
    "content,needle",
    [
        ("not json\n", "line 1"),
        ('{"kind": "step"}\n', "header"),
        ("", "header"),
    ],
)
def test_replay_refuses_what_is_not_a_trace(capsys, tmp_path, content, needle):
    path = tmp_path / "t.jsonl"
    path.write_text(content)
    code, _, err = mxsim(capsys, "replay", str(path))
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1


def test_truncated_trace_is_refused(capsys, tmp_path):
    path = tmp_path / "t.jsonl"
    code, _, _ = mxsim(capsys, "run", "action-ids", "--trace", str(path))
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-1]) + "\n")
    code, _, err = mxsim(capsys, "replay", str(path))
    assert code == 2 and "truncated" in err


def test_console_script_in_a_subprocess_has_no_traceback(tmp_path):
    env = {**os.environ, "PYTHONHASHSEED": "3"}
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from mxsim.experiments.cli import main; main()",
            "run",
            "nope.toml",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert Path(tmp_path).exists()
