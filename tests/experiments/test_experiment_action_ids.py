"""``mxsim experiment action-ids --quick``: every action applied once or rejected, the
device told the truth, held actions applied in order; without ordering sends overtake."""

from __future__ import annotations

import copy

import pytest

from mxsim.experiments.experiment import action_ids
from mxsim.experiments.experiment.base import ExperimentError

EXPERIMENT_NAME = "action-ids"


def test_every_action_is_applied_once_or_rejected_and_the_device_is_told_which(quick):
    _, outcome = quick
    for r in outcome.rows:
        assert r["sends"] == action_ids.SENDS, r
        assert r["applied"] + r["rejected"] == r["sends"], r
        assert r["twice"] == r["unsettled"] == r["told_wrong"] == 0, r
    cells = {(r["ordering"], r["hold_timeout_ms"], r["loss"]) for r in outcome.rows}
    assert len(outcome.rows) == len(cells) * action_ids.QUICK_SEEDS  # several seeds a point


def test_holding_orders_and_rejects_a_tail_and_without_it_sends_overtake(quick):
    _, outcome = quick
    held = [r for r in outcome.rows if r["ordering"] == "hold"]
    assert all(r["out_of_order"] == 0 and r["rejected_tail"] for r in held)
    assert any(r["rejected"] for r in held)  # the short hold does reject
    free = [r for r in outcome.rows if r["ordering"] == action_ids.NONE]
    assert all(r["rejected"] == 0 for r in free)
    assert any(r["out_of_order"] for r in free)


def test_ordering_costs_latency_and_loss_adds_to_it(quick):
    _, outcome = quick
    rows = outcome.rows
    losses = sorted({r["loss"] for r in rows})
    for config in action_ids.configs(rows):
        means = [action_ids.mean_latency(action_ids.cell(rows, config, x)) for x in losses]
        assert means == sorted(means), (config, means)
    long = ("hold", max(action_ids.QUICK_HOLDS))
    for x in losses:
        ordered = action_ids.mean_latency(action_ids.cell(rows, long, x))
        assert ordered > action_ids.mean_latency(action_ids.cell(rows, (action_ids.NONE, 0), x))


def test_the_check_refuses_a_twice_applied_unsettled_or_disordered_action(quick):
    _, outcome = quick
    for key, value, match in [
        ("twice", 1, "applied twice"),
        ("unsettled", 1, "neither applied nor rejected"),
        ("told_wrong", 1, "not do"),
        ("out_of_order", 2, "out of order"),
    ]:
        rows = copy.deepcopy(outcome.rows)
        next(r for r in rows if r["ordering"] == "hold")[key] = value
        with pytest.raises(ExperimentError, match=match):
            action_ids.check(rows)
    rows = copy.deepcopy(outcome.rows)
    for r in rows:
        if r["loss"] == max(action_ids.QUICK_LOSSES):
            r["latency_mean_ms"] = 1.0
    with pytest.raises(ExperimentError, match="mean latency fell"):
        action_ids.check(rows)


def test_the_check_refuses_the_model_without_idempotence_or_holds():
    point = {"ordering": "hold", "hold_timeout_ms": 800, "loss": 0.3, "seed": 1}
    rows = [{**point, **action_ids.run_point(point, {"idempotent_retransmission": "false"})}]
    assert rows[0]["twice"] > 0
    with pytest.raises(ExperimentError, match="applied twice"):
        action_ids.check(rows)
    rows = [{**point, **action_ids.run_point(point, {"hold_out_of_order": "false"})}]
    assert rows[0]["out_of_order"] > 0
    with pytest.raises(ExperimentError, match="out of order"):
        action_ids.check(rows)


def test_the_summary_gives_the_answer_and_the_figure(quick):
    out, outcome = quick
    summary = (out / "summary.md").read_text()
    assert outcome.answer in summary and "applied twice or left unsettled" in outcome.answer
    assert (out / "action-ids.png").read_bytes().startswith(b"\x89PNG")
    assert "](action-ids.png)" in summary
    assert "mxsim experiment action-ids --quick" in summary
