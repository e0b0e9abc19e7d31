"""Bundles and pagination (proposal, "Updates (Events)", "Relates to (Events)")."""

from __future__ import annotations

from experiments.jobs import load_scenario
from models.relate import bundle as B
from sim.explore import Explorer
from sim.timed import TimedRun
from sim.verdict import passed


def _run(name: str, *sets: str):
    system = load_scenario(name, sets).system()
    c = system.scenario.run
    return TimedRun(system, c.seed, c.until * 1000).run()


def test_relations_timed_run_holds_and_reaches_every_guard():
    result = _run("relations")
    assert result.quiescent
    assert passed(result.verdicts), result.verdicts


def test_telling_a_client_of_a_child_without_its_parent_breaks_bundles():
    result = _run("relations", "withhold_orphan_children=false")
    assert result.verdicts["bundles_whole"] == "violated"


def test_bounded_check_finds_no_broken_bundle_and_reaches_the_races():
    report = Explorer(load_scenario("relations").system(), max_states=20000).bfs()
    for name in ("bundles_whole", "updates_applied_once", "pagination_once"):
        assert report.verdicts[name] == "holds"
    assert report.verdicts["child_before_parent"] == "reached"


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
