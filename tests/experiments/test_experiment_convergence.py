"""``mxsim experiment convergence --quick``: every run converges after the heal; the
depth rule loses the ban (a state reset) where v2 never does."""

from __future__ import annotations

import copy

import pytest

from mxsim.experiments.experiment import convergence
from mxsim.experiments.experiment.base import ExperimentError

EXPERIMENT_NAME = "convergence"


def test_every_run_converges_after_the_heal_within_the_post_heal_traffic(quick):
    _, outcome = quick
    for r in outcome.rows:
        assert r["converged"], r
        assert 0 < r["convergence_ms"] < convergence.AFTER_MS, r
    seeds = {(r["algorithm"], r["partition_ms"], r["rate"]) for r in outcome.rows}
    assert len(outcome.rows) == len(seeds) * convergence.QUICK_SEEDS  # several seeds a point


def test_depth_resets_the_ban_and_v2_never_does(quick):
    _, outcome = quick
    for r in outcome.rows:
        if r["algorithm"] == "v2":
            assert r["resets"] == 0 and r["ban_kept"], r
    depth = [r for r in outcome.rows if r["algorithm"] == "depth"]
    assert any(r["resets"] for r in depth)
    # A reset here is the lost ban: the depth rule ends with bob joined everywhere.
    assert all(bool(r["resets"]) == (not r["ban_kept"]) for r in depth)


def test_the_check_refuses_a_run_that_never_converged_or_a_v2_reset(quick):
    _, outcome = quick
    rows = copy.deepcopy(outcome.rows)
    rows[0]["converged"] = False
    with pytest.raises(ExperimentError, match="never agreed"):
        convergence.check(rows)
    rows = copy.deepcopy(outcome.rows)
    next(r for r in rows if r["algorithm"] == "v2")["resets"] = 1
    with pytest.raises(ExperimentError, match="v2 reset state"):
        convergence.check(rows)


def test_a_plain_topic_conflict_is_no_reset_and_without_the_ban_depth_resets_nothing():
    raw = convergence.room(2000, 16, seed=1)
    raw["workload"] = [w for w in raw["workload"] if w["input"]["action"]["op"] != "ban"]
    from mxsim.models.registry import MODELS
    from mxsim.sim.scenario_load import from_raw
    from mxsim.sim.system import System
    from mxsim.sim.timed import TimedRun

    scenario = from_raw(raw, "convergence", MODELS, {"state_resolution": "depth"})
    system = System(scenario, MODELS["matrix"])
    watch = convergence.Watch(system.properties, system)
    run = watch.run = TimedRun(system, 1, scenario.run.until, judge=watch)
    run.run()
    stores = [
        run.states[system.index[s]]["rooms"]["stores"][convergence.ROOM]
        for s in convergence.SERVERS
    ]
    assert sum(s["conflicts"] for s in stores) > 0  # the topics did conflict
    assert watch.resets == set()
    assert convergence.agree(stores)


def test_the_summary_gives_the_answer_and_both_figures(quick):
    out, outcome = quick
    summary = (out / "summary.md").read_text()
    assert outcome.answer in summary and "v2 in 0 of" in outcome.answer
    for stem in ("convergence", "resets"):
        assert (out / f"{stem}.png").read_bytes().startswith(b"\x89PNG")
        assert f"]({stem}.png)" in summary
    assert "mxsim experiment convergence --quick" in summary
