"""Receipt strategies: the timed run's traffic equals the closed-form counts."""

from __future__ import annotations

import pytest

from mxsim.experiments.jobs import load_scenario
from mxsim.models.relate.receipts import STRATEGIES, expected
from mxsim.sim.explore import Explorer
from mxsim.sim.timed import TimedRun
from mxsim.sim.verdict import passed


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize(("users", "messages"), [(2, 1), (3, 2), (4, 3), (6, 2)])
def test_traffic_matches_the_formulas(strategy, users, messages):
    sets = [f"receipts={strategy}", f"receipt_users={users}", f"receipt_messages={messages}"]
    system = load_scenario("receipts", sets).system()
    result = TimedRun(system, 1, 5_000_000).run()
    assert result.quiescent and passed(result.verdicts), result.verdicts
    want = expected(strategy, users, messages, servers=2, devices=2)
    for link, n in want.items():
        assert result.metrics.get(f"receipts.{link}.messages", 0) == n, link
        if n:
            assert result.metrics[f"receipts.{link}.bytes"] > 0


def test_local_receipts_cost_less_than_relates_to_and_stay_local():
    counts = {}
    for strategy in STRATEGIES:
        system = load_scenario("receipts", [f"receipts={strategy}"]).system()
        counts[strategy] = TimedRun(system, 1, 5_000_000).run().metrics
    assert counts["local"].get("receipts.s2s.messages", 0) == 0
    assert counts["local"]["receipts.s2c.bytes"] < counts["relates_to"]["receipts.s2c.bytes"]


def test_local_receipts_leak_when_streamed_to_the_room():
    report = Explorer(load_scenario("receipts").system()).bfs()
    assert report.complete and report.verdict == "holds", report.verdicts
    assert report.verdicts["receipt_reached_own_device"] == "reached"
    system = load_scenario("receipts", ["local_receipt_audience=room"]).system()
    report = Explorer(system).bfs()
    assert report.verdicts["local_receipts_stay_local"] == "violated"
    lengths = {c.property: len(c.actions) for c in report.counterexamples}
    assert lengths["local_receipts_stay_local"] == 6  # mxsim check: 10, with 4 starts
