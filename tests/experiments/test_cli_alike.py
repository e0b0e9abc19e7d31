"""`run` and `check` behave alike: traces of violations, verdict lines, one unit of steps,
JSON errors, one-line bad input, help that says what each option does."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from mxsim.experiments.cli import main

DEPTH = ["state-reset", "--set", "state_resolution=depth"]


def mxsim(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_a_violating_run_writes_its_trace_named_by_scenario_overrides_seed_property(capsys):
    code, out, _ = mxsim(capsys, "run", *DEPTH)
    assert code == 1
    files = sorted(p.name for p in Path(".").iterdir())
    assert len(files) == 1  # the trace, and no temporary file left behind
    [name] = files
    assert re.fullmatch(r"mxsim-state-reset\+[0-9a-f]{8}\.seed1\.bans_stick\.jsonl", name)
    lines = _lines(Path(name))
    assert lines[0]["overrides"] == {"state_resolution": "depth"}
    assert lines[-1]["violation"]["property"] == "bans_stick"
    assert f"VIOLATED: bans_stick at step 54 (trace step 57 of 57): mxsim replay {name}" in out
    assert out.splitlines()[-1] == "verdict: violated"
    code, out, _ = mxsim(capsys, "replay", name)
    assert code == 0 and "reproduced 54 steps (after the 3 node starts; 57 trace steps)" in out
    # Other overrides, or another seed: other files; this one is not replaced.
    before = Path(name).read_bytes()
    mxsim(capsys, "run", *DEPTH, "--set", "rejected_events=false")
    mxsim(capsys, "run", *DEPTH, "--seed", "3")
    names = sorted(p.name for p in Path(".").iterdir())
    assert len(names) == 3 and Path(name).read_bytes() == before
    assert sum(".seed3." in n for n in names) == 1


def test_a_passing_run_writes_nothing_and_says_its_verdict(capsys):
    code, out, _ = mxsim(capsys, "run", "state-reset")
    assert code == 0
    assert list(Path(".").iterdir()) == []
    assert out.splitlines()[-1] == "verdict: holds"
    code, out, _ = mxsim(capsys, "run", "state-reset", "--json")
    assert json.loads(out)["verdict"] == "holds" and json.loads(out)["trace"] is None


def test_steps_are_counted_after_the_node_starts_in_run_check_and_replay(capsys):
    code, out, _ = mxsim(capsys, "run", *DEPTH, "--json", "--trace", "t.jsonl")
    report = json.loads(out)
    end = _lines(Path("t.jsonl"))[-1]
    assert report["starts"] == 3
    assert report["steps"] + report["starts"] == report["trace_length"] == end["steps"] == 57
    code, out, _ = mxsim(capsys, "replay", "t.jsonl", "--json")
    replayed = json.loads(out)
    assert (replayed["steps"], replayed["trace_length"]) == (report["steps"], 57)
    code, out, _ = mxsim(
        capsys, "check", "superseded-state", "--set", "omit_superseded_state=false", "--json"
    )
    report = json.loads(out)
    v = {v["property"]: v for v in report["violations"]}["no_clobbering"]
    assert v["steps"] + report["starts"] == v["trace_length"]
    assert len(_lines(Path(v["trace"]))) - 2 == v["trace_length"]
    code, out, _ = mxsim(
        capsys, "check", "superseded-state", "--set", "omit_superseded_state=false"
    )
    assert f"depth {report['depth']} (steps after the 4 node starts)" in out
    assert f"VIOLATED: no_clobbering: shortest {v['steps']} steps ({v['trace_length']} trace" in out
    assert out.splitlines()[-1] == "verdict: violated"


def test_budgets_are_printed_in_words(capsys):
    code, out, _ = mxsim(capsys, "check", "action-ids", "--max-states", "50")
    assert "fault budgets: 1 drop, 1 duplicate, 0 crashes" in out
    assert "{" not in out.splitlines()[0]
    code, out, _ = mxsim(capsys, "check", "action-ids", "--random", "--walks", "3")
    assert "fault budgets: 1 drop, 1 duplicate, 0 crashes" in out


@pytest.mark.parametrize(
    "argv, field, expected",
    [
        (
            ["check", "superseded-state", "--set", "omit_superseded_state=maybe"],
            "--set omit_superseded_state",
            "a boolean",
        ),
        (["run", "nosuch"], "scenario", "a TOML file or a bundled scenario name"),
        (["check", "action-ids", "--walks", "x"], "--walks", "'x' is not a valid integer range."),
        (["run", "action-ids", "--bogus"], "--bogus", "No such option '--bogus'."),
        (["replay", "nosuch.jsonl"], "nosuch.jsonl", "a trace file"),
        (["describe", "nosuch"], "nosuch", "a model, a bundled scenario or a TOML file"),
    ],
)
def test_json_errors_are_json_with_error_field_expected(capsys, argv, field, expected):
    code, out, err = mxsim(capsys, *argv, "--json")
    assert code == 2
    obj = json.loads(out)
    assert obj["field"] == field
    assert obj["expected"].startswith(expected)
    assert obj["error"] == err.strip() and err.count("\n") == 1
    code, out, err = mxsim(capsys, *argv)  # without --json: only the line on stderr
    assert code == 2 and out == "" and err.strip() == obj["error"]


def test_replay_of_a_missing_file_is_one_line_without_an_exception_name(capsys):
    code, out, err = mxsim(capsys, "replay", "nosuch.jsonl")
    assert code == 2 and out == ""
    assert err == "nosuch.jsonl: expected a trace file, found no such file\n"
    os.mkdir("adir")
    code, _, err = mxsim(capsys, "replay", "adir")
    assert err == "adir: expected a trace file, found a directory\n"


def test_help_explains_walks_seed_workers_and_the_exit_codes(capsys):
    code, out, _ = mxsim(capsys, "check", "--help")
    assert code == 0
    flat = " ".join(out.split())
    assert "--walks INTEGER RANGE With --random: how many random walks" in flat
    assert "--seed INTEGER RANGE With --random: the seed of the walks" in flat
    assert "--workers INTEGER RANGE Processes: with --random, the walks are split" in flat
    code, out, _ = mxsim(capsys, "--help")
    assert code == 0
    for line in (
        "0  every property holds",
        "1  a property is violated",
        "2  bad input",
        "3  an internal error",
    ):
        assert line in out
    assert "describe" in out and "models" in out
