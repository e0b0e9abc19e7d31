"""``mxsim experiment graph-width --quick``: no server holds more forward extremities
than there are servers; without merging a quiet room stays past the threshold, with
dummy events it settles at or below it."""

from __future__ import annotations

import copy

import pytest

from mxsim.experiments.experiment import graph_width
from mxsim.experiments.experiment.base import ExperimentError
from mxsim.models.homeserver.extremities import THRESHOLD

EXPERIMENT_NAME = "graph-width"


def test_width_never_exceeds_the_servers_and_grows_with_latency(quick):
    _, outcome = quick
    for r in outcome.rows:
        assert r["quiescent"] and 1 <= r["max_width"] <= r["servers"], r
    off = {(r["servers"], r["latency_ms"]): r for r in outcome.rows if r["merge"] == "off"}
    n = max(graph_width.QUICK_SERVERS)
    slow, fast = max(graph_width.QUICK_LATENCIES), min(graph_width.QUICK_LATENCIES)
    assert off[(n, slow)]["mean_width"] > off[(n, fast)]["mean_width"]
    assert off[(n, slow)]["max_width"] > THRESHOLD


def test_merging_settles_at_or_below_the_threshold_and_off_sends_no_dummy(quick):
    _, outcome = quick
    for r in outcome.rows:
        if r["merge"] == "dummy":
            assert r["final_width"] <= THRESHOLD, r
        else:
            assert r["dummy_events"] == 0, r
    assert any(r["dummy_events"] for r in outcome.rows if r["merge"] == "dummy")


def test_the_check_refuses_a_width_past_the_bounds(quick):
    _, outcome = quick
    rows = copy.deepcopy(outcome.rows)
    r = next(r for r in rows if r["merge"] == "dummy")
    r["final_width"] = THRESHOLD + 1
    with pytest.raises(ExperimentError, match="settled with"):
        graph_width.check(rows)
    rows = copy.deepcopy(outcome.rows)
    rows[0]["max_width"] = rows[0]["servers"] + 1
    with pytest.raises(ExperimentError, match="more than the servers"):
        graph_width.check(rows)
    rows = [r for r in copy.deepcopy(outcome.rows) if r["servers"] < THRESHOLD]
    with pytest.raises(ExperimentError, match="no run without merging"):
        graph_width.check(rows)


def test_the_summary_gives_the_answer_and_both_figures(quick):
    out, outcome = quick
    summary = (out / "summary.md").read_text()
    assert outcome.answer in summary
    for stem in ("graph-width", "over-time"):
        assert (out / f"{stem}.png").read_bytes().startswith(b"\x89PNG")
        assert f"]({stem}.png)" in summary
    assert "_bins" not in (out / "data.csv").read_text()
