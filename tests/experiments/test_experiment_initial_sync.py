"""``mxsim experiment initial-sync --quick``: no room's initial sync holds more messages
than the limit (Global /initialSync API), and its bytes grow linearly in rooms."""

from __future__ import annotations

import copy

import pytest

from mxsim.experiments.experiment import initial_sync
from mxsim.experiments.experiment.base import ExperimentError

EXPERIMENT_NAME = "initial-sync"


def test_no_room_gets_more_messages_than_the_limit(quick):
    _, outcome = quick
    assert {r["limit"] for r in outcome.rows} == {0, 1, 5}
    for r in outcome.rows:
        assert r["passed"], r
        assert r["max_messages_per_room"] <= r["effective_limit"], r
        assert r["message_events"] == r["rooms"] * min(r["effective_limit"], r["messages"]), r
        assert r["rooms_seen"] == (r["rooms"] if r["messages"] else 0), r


def test_bytes_grow_linearly_in_rooms_and_a_smaller_limit_weighs_less(quick):
    _, outcome = quick
    for lim in (0, 1, 5):
        assert abs(initial_sync.slope(outcome.rows, lim) - 1) < 0.05
    line = {(r["limit"], r["rooms"]): r["bytes"] for r in initial_sync._line(outcome.rows, 0)}
    for r in initial_sync._line(outcome.rows, 1):
        assert r["bytes"] < line[(0, r["rooms"])], r


def test_the_check_refuses_a_room_over_its_limit(quick):
    _, outcome = quick
    rows = copy.deepcopy(outcome.rows)
    rows[-1]["max_messages_per_room"] = rows[-1]["effective_limit"] + 1
    with pytest.raises(ExperimentError, match="> limit"):
        initial_sync.check(rows)


def test_the_check_refuses_growth_faster_than_linear(quick):
    _, outcome = quick
    rows = copy.deepcopy(outcome.rows)
    for r in rows:
        r["bytes"] *= r["rooms"]
    with pytest.raises(ExperimentError, match="not linearly"):
        initial_sync.check(rows)
