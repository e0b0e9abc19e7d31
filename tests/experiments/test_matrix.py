"""`mxsim matrix`: every property under every setting of a scenario's switches."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from test_cli import mxsim

from mxsim.experiments import matrix as matrix_mod
from mxsim.experiments.jobs import check_job, load_scenario

# The action switches, the scenario's own values first (as the default order).
VARY = ["--vary", "idempotent_retransmission=true,false", "--vary", "hold_out_of_order=true,false"]


def test_rows_are_every_setting_and_cells_are_what_check_finds(capsys, tmp_path):
    code, out, _ = mxsim(capsys, "matrix", "action-ids-parallel", *VARY, "--json")
    result = json.loads(out)
    assert code == 0
    assert result["switches"] == ["idempotent_retransmission", "hold_out_of_order"]
    settings = [tuple(r["setting"][n] for n in result["switches"]) for r in result["rows"]]
    # The scenario's own values first: the first row is the scenario as written.
    assert settings == [(True, True), (True, False), (False, True), (False, False)]
    for row in result["rows"]:
        sets = [f"{k}={json.dumps(v)}" for k, v in row["setting"].items()]
        report = check_job(load_scenario("action-ids-parallel", sets), trace_dir=str(tmp_path))
        assert row["properties"] == report["properties"]
        assert row["states"] == report["states"]
        assert row["steps"] == {v["property"]: v["steps"] for v in report["violations"]}
    # The switch that matters here: without holding, per-client order breaks.
    assert [r["properties"]["per_client_order"] for r in result["rows"]] == [
        "holds",
        "violated",
        "holds",
        "violated",
    ]


def test_text_table_has_a_row_per_setting_and_a_column_per_property(capsys):
    code, out, _ = mxsim(capsys, "matrix", "action-ids-parallel", *VARY)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "action-ids-parallel: 4 settings x 5 properties, breadth-first"
    assert lines[1].split() == [
        "idempotent_retransmission",
        "hold_out_of_order",
        "idempotent",
        "per_client_order",
        "sent_means_applied",
        "settled",
        "out_of_order_actions",
        "states",
        "search",
    ]
    row = lines[3].split()
    assert row[:8] == ["true", "false", "holds", "violated", "(4)", "holds", "holds", "reached"]
    assert row[-1] == "complete" and row[-2].replace(",", "").isdigit()


def test_vary_names_the_switches_and_set_fixes_the_others(capsys):
    args = ["--vary", "hold_out_of_order=false,true", "--set", "idempotent_retransmission=false"]
    code, out, _ = mxsim(capsys, "matrix", "action-ids-parallel", *args, "--json")
    result = json.loads(out)
    assert result["switches"] == ["hold_out_of_order"]
    assert result["fixed"] == {"idempotent_retransmission": False}
    assert [r["setting"] for r in result["rows"]] == [
        {"hold_out_of_order": False},
        {"hold_out_of_order": True},
    ]
    # Without --vary, a switch fixed by --set is not varied either.
    fixed = ["--set", "hold_out_of_order=true", "--max-states", "20", "--json"]
    code, out, _ = mxsim(capsys, "matrix", "action-ids-parallel", *fixed)
    switches = json.loads(out)["switches"]
    assert "idempotent_retransmission" in switches and "hold_out_of_order" not in switches


def _run(args: list[str], hashseed: str) -> bytes:
    env = {**os.environ, "PYTHONHASHSEED": hashseed}
    cmd = [sys.executable, "-c", "from mxsim.experiments.cli import main; main()", *args]
    done = subprocess.run(cmd, env=env, capture_output=True, timeout=300, check=True)
    return done.stdout


def test_output_is_the_same_bytes_for_any_workers_and_hash_seed(tmp_path):
    outputs = []
    for workers, seed in (("1", "0"), ("2", "1"), ("3", "12345")):
        md = tmp_path / f"m{workers}.md"
        args = ["matrix", "voip-glare", "--workers", workers, "--out", str(md)]
        text = _run(args, seed)
        js = _run(["matrix", "voip-glare", "--workers", workers, "--json"], seed)
        outputs.append((text.replace(str(md).encode(), b"M"), js, md.read_bytes()))
    assert outputs[0] == outputs[1] == outputs[2]
    text, js, md = outputs[0]
    result = json.loads(js)
    assert md.decode() == matrix_mod.markdown_table(result)
    assert md.decode().count("\n| ") == 1 + len(result["rows"])  # header and a line per row


@pytest.mark.parametrize(
    ("vary", "says"),
    [
        ("nope=true", "--vary nope: expected one of the model's switches"),
        ("hold_out_of_order=maybe", "--vary hold_out_of_order: expected a boolean"),
        ("hold_out_of_order", "expected SWITCH=VALUE"),
    ],
)
def test_bad_vary_is_one_line_and_exit_2(capsys, tmp_path, vary, says):
    out_file = tmp_path / "m.md"
    out_file.write_text("kept")
    code, out, err = mxsim(
        capsys, "matrix", "action-ids-parallel", "--vary", vary, "--out", str(out_file)
    )
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and says in err, err
    assert out_file.read_text() == "kept"


def test_too_many_default_settings_ask_for_vary(capsys):
    # The clients model has ten finite switches: 1024 settings.
    code, _, err = mxsim(capsys, "matrix", "filters")
    assert code == 2
    assert "--vary: expected at most 64 settings" in err and "1024 settings" in err


def test_out_must_be_markdown(capsys, tmp_path):
    code, _, err = mxsim(capsys, "matrix", "action-ids-parallel", "--out", str(tmp_path / "m.txt"))
    assert code == 2 and ".md" in err
