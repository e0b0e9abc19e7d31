"""``mxsim experiment action-ids --quick``: no action applied twice or left
unsettled under loss; holding out-of-order requests (Send a message, ordering
notes) keeps the client's order, and without it the order breaks."""

from __future__ import annotations

import copy

import pytest

from mxsim.experiments.experiment import action_ids
from mxsim.experiments.experiment.base import ExperimentError

EXPERIMENT_NAME = "action-ids"


def test_every_send_has_one_outcome_and_none_is_applied_twice(quick):
    _, outcome = quick
    for r in outcome.rows:
        assert r["idempotent"] and r["settled"], r
        assert r["applied"] + r["rejected"] + r["given_up"] >= 3, r
    lossless = [r for r in outcome.rows if r["loss"] == 0.0]
    assert all(r["applied"] == 3 and r["rejected"] == 0 for r in lossless)


def test_holding_keeps_the_order_and_not_holding_breaks_it(quick):
    _, outcome = quick
    assert all(r["in_order"] for r in outcome.rows if r["hold"])
    assert any(not r["in_order"] for r in outcome.rows if not r["hold"])


def test_loss_makes_sends_slower(quick):
    _, outcome = quick
    rows = [r for r in outcome.rows if r["hold"]]
    assert action_ids._mean(rows, "mean_latency_ms", loss=0.2) > action_ids._mean(
        rows, "mean_latency_ms", loss=0.0
    )


def test_the_check_refuses_a_double_apply_and_disorder_while_holding(quick):
    _, outcome = quick
    rows = copy.deepcopy(outcome.rows)
    rows[0]["idempotent"] = False
    with pytest.raises(ExperimentError, match="applied twice"):
        action_ids.check(rows)
    rows = copy.deepcopy(outcome.rows)
    held = next(r for r in rows if r["hold"])
    held["in_order"] = False
    with pytest.raises(ExperimentError, match="out of order"):
        action_ids.check(rows)
