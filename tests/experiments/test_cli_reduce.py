"""`mxsim check --reduce`: the reduction is chosen, shown and sound from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mxsim.experiments.cli import main

VOIP2 = str(Path(__file__).parents[1] / "sim" / "scenarios" / "voip-1-to-2.toml")


def mxsim(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def test_symmetry_is_the_default_and_reported(capsys, tmp_path):
    runs = {}
    for mode in (None, "none", "symmetry", "both"):
        argv = ["check", VOIP2, "--set", "caller_acknowledges=false", "--json"]
        argv += ["--trace", str(tmp_path / f"{mode}.jsonl")]
        code, out, _ = mxsim(capsys, *argv, *([] if mode is None else ["--reduce", mode]))
        assert code == 1
        runs[mode] = json.loads(out)
    assert runs[None]["reduce"] == "symmetry" and runs["none"]["reduce"] == "none"
    assert runs[None]["symmetry"] == [["bob1", "bob2"]]
    assert runs["symmetry"]["states"] < runs["none"]["states"]
    for mode, report in runs.items():
        assert report["properties"] == runs["none"]["properties"], mode
        code, out, _ = mxsim(capsys, "replay", report["trace"], "--json")
        assert code == 0 and json.loads(out)["reproduced"], mode


def test_text_report_names_the_reduction(capsys):
    code, out, _ = mxsim(capsys, "check", "action-ids-parallel", "--reduce", "por")
    assert code == 0
    assert "reduce: por" in out.splitlines()[0]


def test_unknown_reduction_is_bad_input(capsys):
    code, _, err = mxsim(capsys, "check", "action-ids", "--reduce", "magic")
    assert code == 2
    assert "--reduce" in err and len(err.strip().splitlines()) == 1
