"""`mxsim sweep`: verdicts per design choice, the same bytes however it is run."""

import os
import subprocess
import sys

import pytest

from mxsim.experiments.cli import main


def sweep_files(tmp_path, name, *extra, env=None):
    out = tmp_path / name
    argv = [
        "sweep",
        "state-reset",
        "--vary",
        "state_resolution=v2,depth",
        "--seeds",
        "4",
        "--out",
        str(out),
        *extra,
    ]
    proc = subprocess.run(
        [sys.executable, "-c", "from mxsim.experiments.cli import main; main()", *argv],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert proc.returncode == 0, proc.stderr
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def test_sweep_separates_the_algorithms_on_state_reset(tmp_path):
    files = sweep_files(tmp_path, "a")
    summary = files["summary.csv"].decode().splitlines()
    header = summary[0].split(",")
    rows = {line.split(",")[0]: line.split(",") for line in summary[1:]}
    col = header.index("bans_stick")
    assert rows["state_resolution=v2"][col] == "4"
    assert rows["state_resolution=depth"][col] == "0"
    assert files["summary.png"].startswith(b"\x89PNG")


def test_sweep_outputs_are_identical_across_workers_and_hash_seeds(tmp_path):
    one = sweep_files(tmp_path, "one", "--workers", "1", env={"PYTHONHASHSEED": "1"})
    two = sweep_files(tmp_path, "two", "--workers", "2", env={"PYTHONHASHSEED": "2"})
    assert one == two


@pytest.mark.parametrize("vary", ["nonsense", "state_resolution=", "state_resolution=v3"])
def test_bad_vary_is_one_line_exit_2(capsys, tmp_path, vary):
    with pytest.raises(SystemExit) as e:
        main(["sweep", "state-reset", "--vary", vary, "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert e.value.code == 2 and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()
