"""`mxsim experiment receipts`: measured traffic equals the formulas; same bytes every way."""

import csv
import os
import subprocess
import sys

from mxsim.models.homeserver.receipts import KINDS, expected


def run_experiment(tmp_path, name, workers, hashseed):
    out = tmp_path / name
    argv = [
        "experiment",
        "receipts",
        "--out",
        str(out),
        "--users",
        "2,3,5",
        "--messages",
        "3",
        "--workers",
        str(workers),
    ]
    proc = subprocess.run(
        [sys.executable, "-c", "from mxsim.experiments.cli import main; main()", *argv],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": hashseed},
    )
    assert proc.returncode == 0, proc.stderr
    return out


def test_relates_to_grows_with_the_square_of_the_room_and_local_does_not(tmp_path):
    out = run_experiment(tmp_path, "a", 1, "0")
    rows = list(csv.DictReader((out / "receipts.csv").open()))
    s2c = {(r["strategy"], int(r["users"])): int(r["s2c_messages"]) for r in rows}
    # (N-1) * M * N * D with M = 3, D = 2, against (N-1) * M * D for local.
    assert [s2c[("relates_to", n)] for n in (2, 3, 5)] == [12, 36, 120]
    assert [s2c[("local", n)] for n in (2, 3, 5)] == [6, 12, 24]
    assert all(r["s2s_messages"] == "0" for r in rows if r["strategy"] == "local")
    assert (out / "receipts.png").read_bytes().startswith(b"\x89PNG")
    # Every measured count equals its closed form (matrix model, 2 servers, 2 devices).
    assert len(rows) == 9
    for r in rows:
        want = expected(r["strategy"], int(r["users"]), int(r["messages"]), servers=2, devices=2)
        assert {k: int(r[f"{k}_messages"]) for k in KINDS} == want, r
        assert {k: int(r[f"{k}_formula"]) for k in KINDS} == want, r


def test_outputs_are_identical_across_workers_and_hash_seeds(tmp_path):
    one = run_experiment(tmp_path, "one", 1, "1")
    two = run_experiment(tmp_path, "two", 2, "2")
    for name in ("receipts.csv", "receipts.png", "receipts.svg"):
        assert (one / name).read_bytes() == (two / name).read_bytes(), name
