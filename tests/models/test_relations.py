"""Bundles and pagination (proposal, "Updates (Events)", "Relates to (Events)")."""

from __future__ import annotations

import pytest

from mxsim.experiments.jobs import load_scenario
from mxsim.models.relate import bundle as B
from mxsim.sim.explore import Explorer
from mxsim.sim.timed import TimedRun
from mxsim.sim.verdict import passed


def _run(name: str, *sets: str):
    system = load_scenario(name, sets).system()
    c = system.scenario.run
    return TimedRun(system, c.seed, c.until * 1000).run()


@pytest.mark.parametrize("name", ["relations", "relations-pagination"])
def test_timed_run_holds_and_reaches_every_guard(name):
    result = _run(name)
    assert result.quiescent
    assert passed(result.verdicts), result.verdicts


def test_telling_a_client_of_a_child_without_its_parent_breaks_bundles():
    result = _run("relations", "withhold_orphan_children=false")
    assert result.verdicts["bundles_whole"] == "violated"


@pytest.mark.parametrize(
    ("name", "guards"),
    [("relations", ["child_before_parent"]), ("relations-pagination", ["paged_to_the_end"])],
)
def test_check_is_complete_holds_and_reaches_the_races(name, guards):
    report = Explorer(load_scenario(name).system()).bfs()
    assert report.complete
    assert report.verdict == "holds", report.verdicts
    for guard in ["child_before_parent", *guards]:
        assert report.verdicts[guard] == "reached"


def test_the_check_finds_a_child_shown_without_its_parent():
    system = load_scenario("relations", ["withhold_orphan_children=false"]).system()
    report = Explorer(system).bfs()
    assert report.verdicts["bundles_whole"] == "violated"
    lengths = {c.property: len(c.actions) for c in report.counterexamples}
    assert lengths["bundles_whole"] == 10  # mxsim check: 15 steps, with 5 node starts


def test_paging_through_replies_yields_each_exactly_once():
    ix = B.new_index()
    B.add(ix, {"event_id": "$m"})
    for k in range(7):
        B.add(ix, {"event_id": f"$c{k}", "relates_to": "$m"})
    for limit in (1, 2, 3, 7, 9):
        b = B.bundle(ix, "$m", limit)
        got = [e["event_id"] for e in b["replies"]["chunk"]]
        token = b["replies"]["start"]
        while token is not None:
            chunk, token = B.page(ix, "$m", token, limit)
            got = [e["event_id"] for e in chunk] + got
        assert got == [f"$c{k}" for k in range(7)]
