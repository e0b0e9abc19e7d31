"""A missing Synapse fails the oracle test instead of skipping it (issue 8, item 7):
CI installs ``.[test,oracle]`` and must not pass with no oracle at all."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

ORACLE_TEST = "tests/models/test_stateres_oracle.py::test_auth_and_v2_match_synapse"
ROOT = pathlib.Path(__file__).resolve().parents[2]


def _run_without_synapse(tmp_path: pathlib.Path, **env: str) -> subprocess.CompletedProcess:
    # A package named synapse that cannot be imported, ahead of the real one.
    blocker = tmp_path / "blocker" / "synapse"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text('raise ImportError("blocked by the test")\n')
    base = {k: v for k, v in os.environ.items() if k not in ("CI", "MXSIM_WITHOUT_ORACLE")}
    base["PYTHONPATH"] = str(blocker.parent)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", ORACLE_TEST],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_missing_synapse_fails_the_oracle_test(tmp_path):
    run = _run_without_synapse(tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 error" in run.stdout or "1 failed" in run.stdout, run.stdout
    assert "matrix-synapse is not importable" in run.stdout


def test_a_developer_may_opt_out_but_not_where_ci_is_set(tmp_path):
    skipped = _run_without_synapse(tmp_path, MXSIM_WITHOUT_ORACLE="1")
    assert skipped.returncode == 0 and "1 skipped" in skipped.stdout, skipped.stdout
    in_ci = _run_without_synapse(tmp_path / "ci", MXSIM_WITHOUT_ORACLE="1", CI="true")
    assert in_ci.returncode == 1, in_ci.stdout
    assert "ignored where CI is set" in in_ci.stdout


@pytest.mark.oracle
def test_synapse_is_importable_here():
    """The oracle extra is installed (.ci/run installs it): the oracle really runs."""
    import synapse

    assert synapse.__version__
