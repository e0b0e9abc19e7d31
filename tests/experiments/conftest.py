"""What the experiment tests share: one quick run of an experiment per test module."""

from __future__ import annotations

import pytest

from mxsim.experiments.experiment import runner
from mxsim.experiments.experiment.registry import experiments


@pytest.fixture(scope="module")
def quick(request, tmp_path_factory):
    """(output directory, outcome) of ``mxsim experiment NAME --quick``, NAME being the
    test module's ``EXPERIMENT_NAME``; it must have measured every point and passed."""
    name = request.module.EXPERIMENT_NAME
    out = tmp_path_factory.mktemp(name)
    outcome = runner.run(experiments()[name], out, quick=True)
    assert outcome.ok, (outcome.failed, outcome.refused)
    return out, outcome
