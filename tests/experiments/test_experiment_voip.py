"""``mxsim experiment voip --quick``: every callee device not chosen stops ringing, as
answered elsewhere, within the bound the latencies give."""

from __future__ import annotations

import copy

import pytest

from mxsim.experiments.experiment import voip
from mxsim.experiments.experiment.base import ExperimentError

EXPERIMENT_NAME = "voip"


def test_every_losing_device_stops_ringing_in_every_run(quick):
    _, outcome = quick
    for r in outcome.rows:
        assert r["callees_settled"] and r["passed"], r
        assert r["chosen"] == 1 and r["losers"] == r["devices"] - 1, r
        assert r["stopped"] == r["answered_elsewhere"] == r["losers"], r
    cells = {(r["latency_ms"], r["devices"]) for r in outcome.rows}
    assert len(outcome.rows) == len(cells) * voip.QUICK_SEEDS  # several seeds a point


def test_the_time_is_within_its_bound_and_after_the_ack(quick):
    _, outcome = quick
    for r in outcome.rows:
        b = voip.bounds(r["latency_ms"])
        assert 0 < r["after_ack_ms"] <= b["after_ack_ms"], r
        assert r["acked_ms"] < r["stopped_ms"] <= b["stopped_ms"], r
        # At least the chain's six legs at the shortest one-way latency L/2.
        assert r["stopped_ms"] >= 6 * r["latency_ms"] / 2, r


def test_the_time_grows_with_the_latency(quick):
    _, outcome = quick
    for n in voip.QUICK_DEVICES:
        medians = [m for _, m, _, _ in voip.spread(outcome.rows, "stopped_ms", n)]
        assert medians == sorted(medians) and medians[0] < medians[-1], (n, medians)


def test_the_check_refuses_a_device_left_ringing_or_a_time_beyond_the_bound(quick):
    _, outcome = quick
    rows = copy.deepcopy(outcome.rows)
    rows[0]["answered_elsewhere"] -= 1
    with pytest.raises(ExperimentError, match="did not stop ringing"):
        voip.check(rows)
    rows = copy.deepcopy(outcome.rows)
    rows[0]["stopped_ms"] = voip.bounds(rows[0]["latency_ms"])["stopped_ms"] + 1
    with pytest.raises(ExperimentError, match="beyond its bound"):
        voip.check(rows)


def test_the_check_refuses_a_caller_that_never_acknowledges():
    point = {"latency_ms": 20, "devices": 3, "seed": 1}
    rows = [{**point, **voip.run_point(point, {"caller_acknowledges": "false"})}]
    assert not rows[0]["callees_settled"]
    with pytest.raises(ExperimentError, match="callees_settled"):
        voip.check(rows)


def test_the_summary_gives_the_answer_and_the_figure(quick):
    out, outcome = quick
    summary = (out / "summary.md").read_text()
    assert outcome.answer in summary and f"in all {len(outcome.rows)} runs" in outcome.answer
    assert (out / "voip.png").read_bytes().startswith(b"\x89PNG")
    assert "](voip.png)" in summary
    assert "mxsim experiment voip --quick" in summary
