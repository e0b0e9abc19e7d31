"""`mxsim check`: one shortest trace per violated property, --property subsets, --witness."""

from __future__ import annotations

import json
import re

import pytest
from test_cli import mxsim

from mxsim.experiments import evidence
from mxsim.experiments.jobs import load_scenario
from mxsim.sim.explore import Explorer

GUARD = "retransmission_race"
BROKEN = ("action-ids", "--set", "idempotent_retransmission=false")
VIOLATED = ["idempotent", "per_client_order", "sent_means_applied"]


def test_each_violated_property_gets_its_own_shortest_replayable_trace(capsys, tmp_path):
    code, out, _ = mxsim(capsys, "check", *BROKEN, "--trace-dir", str(tmp_path), "--json")
    report = json.loads(out)
    assert code == 1
    assert [v["property"] for v in report["violations"]] == VIOLATED
    full = load_scenario("action-ids", ["idempotent_retransmission=false"]).system()
    files = set()
    for v in report["violations"]:
        tag = v["trace"].split("+")[1].split(".")[0]
        path = tmp_path / f"action-ids+{tag}.{v['property']}.jsonl"
        assert v["trace"] == str(path)
        files.add(path)
        end = json.loads(path.read_text().splitlines()[-1])
        assert end["verdicts"][v["property"]] == "violated"
        assert v["trace_length"] == v["steps"] + report["starts"] == end["steps"]
        # The shortest: a search for this property alone finds no shorter one.
        alone = Explorer(evidence.select_properties(full, [v["property"]])).bfs()
        [cex] = alone.counterexamples
        assert v["steps"] == len(cex.actions)
        code, out, _ = mxsim(capsys, "replay", str(path), "--json")
        assert code == 0 and json.loads(out)["reproduced"]
    assert len(files) == 3 and set(tmp_path.iterdir()) == files


def test_default_names_carry_the_overrides_so_runs_do_not_overwrite_each_other(
    capsys, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    mxsim(capsys, "check", *BROKEN)
    mxsim(capsys, "check", *BROKEN, "--set", "hold_out_of_order=false")
    names = sorted(p.name for p in tmp_path.iterdir())
    tags = {n.split(".")[0] for n in names}
    assert len(tags) == 2 and all(t.startswith("mxsim-action-ids+") for t in tags)
    code, out, _ = mxsim(capsys, "check", "action-ids", "--property", "idempotent")
    assert code == 0 and "VIOLATED" not in out
    assert sorted(p.name for p in tmp_path.iterdir()) == names  # nothing new, nothing lost


def test_text_output_names_each_file_and_the_units_of_its_length(capsys, tmp_path):
    code, out, _ = mxsim(capsys, "check", *BROKEN, "--trace-dir", str(tmp_path))
    assert code == 1
    assert re.search(r", depth \d+ \(steps after the 2 node starts\)", out)
    for prop in VIOLATED:
        [line] = [x for x in out.splitlines() if x.startswith(f"VIOLATED: {prop}:")]
        assert f"mxsim replay {tmp_path}/action-ids+" in line and f".{prop}.jsonl" in line


def test_property_checks_only_the_named_properties(capsys, tmp_path):
    args = ["--property", "sent_means_applied", "--property", "settled"]
    code, out, _ = mxsim(capsys, "check", *BROKEN, *args, "--trace-dir", str(tmp_path), "--json")
    report = json.loads(out)
    assert code == 1
    assert report["properties"] == {"sent_means_applied": "violated", "settled": "holds"}
    [v] = report["violations"]
    assert v["property"] == "sent_means_applied" and v["steps"] == 5
    # The trace is judged against the whole scenario, so replay agrees with it.
    code, _, _ = mxsim(capsys, "replay", v["trace"])
    assert code == 0


@pytest.mark.parametrize(
    ("flag", "name", "listed"),
    [
        ("--property", "nope", "idempotent, per_client_order"),
        ("--witness", "settled", "a sometimes guard"),
    ],
)
def test_an_unknown_property_or_guard_is_one_line_and_exit_2(capsys, tmp_path, flag, name, listed):
    code, out, err = mxsim(capsys, "check", *BROKEN, flag, name, "--trace-dir", str(tmp_path))
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert flag in err and repr(name) in err and listed in err
    assert list(tmp_path.iterdir()) == []


def test_witness_saves_the_guards_shortest_witness_as_a_replayable_trace(capsys, tmp_path):
    args = ["--witness", GUARD, "--trace-dir", str(tmp_path), "--json"]
    code, out, _ = mxsim(capsys, "check", "action-ids", *args)
    report = json.loads(out)
    assert code == 0
    w = report["witnesses"][GUARD]
    assert w["trace"] == str(tmp_path / f"action-ids.{GUARD}.witness.jsonl")
    lines = [json.loads(x) for x in open(w["trace"])]
    assert lines[-1]["verdicts"][GUARD] == "reached"
    assert len(lines) - 2 == w["trace_length"] == w["steps"] + report["starts"]
    code, out, _ = mxsim(capsys, "replay", w["trace"], "--json")
    assert code == 0 and json.loads(out)["reproduced"]


def test_witness_of_a_guard_never_reached_says_so(capsys, tmp_path):
    # With --max-depth 1 no retransmission can meet an applied action yet.
    args = ["--witness", GUARD, "--max-depth", "1", "--trace-dir", str(tmp_path)]
    code, out, _ = mxsim(capsys, "check", "action-ids", *args)
    assert code == 1
    assert f"witness {GUARD}: none: the guard is vacuous" in out
    assert list(tmp_path.iterdir()) == []
