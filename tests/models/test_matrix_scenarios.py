"""The bundled rooms scenarios of the matrix model decide what they were written to decide, and
each switch away from the proposal's choice breaks the property it guards."""

from __future__ import annotations

import pytest

from mxsim.experiments.jobs import load_scenario
from mxsim.sim.explore import Explorer
from mxsim.sim.timed import TimedRun


def check(name: str, *sets: str):
    return Explorer(load_scenario(name, sets).system()).bfs()


def run(name: str, *sets: str):
    loaded = load_scenario(name, sets)
    return TimedRun(loaded.system(), loaded.scenario.run.seed, loaded.scenario.run.until).run()


def test_superseded_state_holds_completely():
    report = check("superseded-state")
    assert report.complete and report.verdict == "holds", report.verdicts


def test_sending_superseded_state_clobbers_and_diverges():
    report = check("superseded-state", "omit_superseded_state=false")
    assert report.verdicts["no_clobbering"] == "violated"
    assert report.verdicts["state_consistency"] == "violated"


def test_rejected_event_holds_completely():
    report = check("rejected-event")
    assert report.complete and report.verdict == "holds", report.verdicts


def test_without_local_redactions_timelines_disagree():
    report = check("rejected-event", "rejected_events=false")
    assert report.verdicts["timelines_agree"] == "violated"


def test_state_reset_v2_keeps_the_ban_and_the_depth_rule_loses_it():
    assert run("state-reset").verdicts["bans_stick"] == "holds"
    assert run("state-reset", "state_resolution=depth").verdicts["bans_stick"] == "violated"


@pytest.mark.parametrize("algorithm", ["v2", "depth"])
def test_partition_heal_converges_under_both_algorithms(algorithm):
    result = run("partition-heal", f"state_resolution={algorithm}")
    assert result.quiescent
    assert set(result.verdicts.values()) <= {"holds", "reached"}, result.verdicts
    assert result.verdicts["state_consistency"] == "holds"


@pytest.mark.parametrize(
    "name", ["partition-heal", "rejected-event", "scrollback", "state-reset", "superseded-state"]
)
def test_every_guard_is_false_before_its_race(name):
    # A `sometimes` guard must be able to be false: at the start nothing has raced.
    from mxsim.models.matrix import MODEL

    system = load_scenario(name).system()
    world, _ = system.initial()
    view = system.view(world)
    for prop in MODEL.properties:
        if prop.kind == "sometimes":
            assert not prop.predicate(view), prop.name
