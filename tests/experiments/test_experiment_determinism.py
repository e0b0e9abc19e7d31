"""``mxsim experiment NAME --quick``: the same bytes in every file, whatever --jobs and
PYTHONHASHSEED (each run in a process of its own)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _files(tmp_path, name, label, jobs, hashseed):
    out = tmp_path / label
    argv = ["experiment", name, "--quick", "--out", str(out), "--jobs", str(jobs)]
    proc = subprocess.run(
        [sys.executable, "-c", "from mxsim.experiments.cli import main; main()", *argv],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": hashseed},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no progress bar when stderr is not a terminal
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    "name",
    [
        "receipts",
        "findings",
        "fanout",
        "initial-sync",
        "convergence",
        "graph-width",
        "voip",
        "action-ids",
    ],
)
def test_same_bytes_across_jobs_and_hash_seeds(tmp_path, name):
    one = _files(tmp_path, name, "one", 1, "0")
    two = _files(tmp_path, name, "two", 2, "1")
    assert {"data.csv", "summary.md", f"{name}.png", f"{name}.svg"} <= set(one)
    assert sorted(one) == sorted(two)
    for path in one:
        assert one[path] == two[path], path
