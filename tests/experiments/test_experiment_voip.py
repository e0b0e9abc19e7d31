"""``mxsim experiment voip --quick``: every callee device that was not chosen stops
ringing as "answered elsewhere" (VoIP, Event updates: "Callees who weren't chosen
then give up"), within nine link crossings of 3L/2."""

from __future__ import annotations

import copy

import pytest

from mxsim.experiments.experiment import voip
from mxsim.experiments.experiment.base import ExperimentError

EXPERIMENT_NAME = "voip"


def test_one_device_is_chosen_and_every_other_is_told(quick):
    _, outcome = quick
    assert {r["devices"] for r in outcome.rows} == set(voip.QUICK_DEVICES)
    for r in outcome.rows:
        assert r["passed"] and r["chosen"] == 1, r
        assert r["losers"] == r["losers_told"] == r["devices"] - 1, r


def test_losers_stop_after_the_answers_and_within_the_bound(quick):
    _, outcome = quick
    for r in outcome.rows:
        # the ack cannot come before six crossings of at least L/2 each
        assert 3 * r["latency"] <= r["first_stop_ms"] <= r["last_stop_ms"] <= r["bound_ms"], r
    # seeds give a spread
    assert len({r["last_stop_ms"] for r in outcome.rows if r["latency"] == 100}) > 1


def test_the_check_refuses_a_loser_never_told_or_too_late(quick):
    _, outcome = quick
    rows = copy.deepcopy(outcome.rows)
    rows[0]["losers_told"] -= 1
    with pytest.raises(ExperimentError, match="not told"):
        voip.check(rows)
    rows = copy.deepcopy(outcome.rows)
    rows[-1]["last_stop_ms"] = rows[-1]["bound_ms"] + 1
    with pytest.raises(ExperimentError, match="bound"):
        voip.check(rows)


def test_without_the_ack_the_losers_are_never_told():
    # The measurement itself sees the planted bug: no ack, so no loser stops.
    point = {"latency": 20, "devices": 2, "seed": 1}
    from mxsim.models.registry import MODELS

    switch = next(s for s in MODELS["matrix"].switches if s.name == "caller_acknowledges")
    object.__setattr__(switch, "default", False)
    try:
        row = voip.measure(point)
    finally:
        object.__setattr__(switch, "default", True)
    assert not row["passed"] and row["losers_told"] == 0
    with pytest.raises(ExperimentError):
        voip.check([{**point, **row}])
