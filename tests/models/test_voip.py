"""VoIP callee selection (proposal, "VoIP"): the bundled voip scenarios."""

from __future__ import annotations

import pytest

from mxsim.experiments.jobs import load_scenario
from mxsim.sim.explore import Explorer
from mxsim.sim.timed import TimedRun
from mxsim.sim.verdict import passed


def _run(name: str, *sets: str):
    system = load_scenario(name, sets).system()
    c = system.scenario.run
    return TimedRun(system, c.seed, c.until * 1000).run()


@pytest.mark.parametrize("name", ["voip-1-to-n", "voip-multi-user", "voip-glare"])
def test_timed_run_holds_and_reaches_every_guard(name):
    result = _run(name)
    assert result.quiescent
    assert passed(result.verdicts), result.verdicts


def test_one_to_n_is_checked_exhaustively_and_holds():
    report = Explorer(load_scenario("voip-1-to-n").system(), reduce="symmetry").bfs()
    assert report.complete
    assert report.verdict == "holds", report.verdicts
    assert report.verdicts["concurrent_answers"] == "reached"


def test_glare_with_a_lost_and_a_duplicated_signal_holds():
    report = Explorer(load_scenario("voip-glare").system()).bfs()
    assert report.complete
    assert report.verdict == "holds", report.verdicts
