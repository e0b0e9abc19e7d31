"""``mxsim experiment fanout --quick``: every event costs exactly S-1 pushes and S-1
acks between servers (full-mesh push, Federation), growing linearly in S."""

from __future__ import annotations

import copy

import pytest

from mxsim.experiments.experiment import fanout
from mxsim.experiments.experiment.base import ExperimentError

EXPERIMENT_NAME = "fanout"


def test_every_run_counts_s_minus_one_pushes_and_acks(quick):
    _, outcome = quick
    assert len({r["servers"] for r in outcome.rows}) >= 3
    for r in outcome.rows:
        assert r["passed"], r
        assert r["fed_event_messages"] == r["servers"] - 1, r
        assert r["fed_ack_messages"] == r["servers"] - 1, r
        assert r["s2s_messages"] == 2 * (r["servers"] - 1), r


def test_traffic_grows_linearly_in_the_other_servers(quick):
    _, outcome = quick
    assert abs(fanout.slope(outcome.rows) - 1) < 0.05
    assert abs(fanout.slope(outcome.rows, "s2s_bytes") - 1) < 0.1


def test_every_server_and_device_got_the_event_after_it_was_sent(quick):
    _, outcome = quick
    for r in outcome.rows:
        assert 0 < r["servers_ms"] < r["devices_ms"], r
    # several seeds give a spread, not one value
    assert len({r["servers_ms"] for r in outcome.rows if r["servers"] == 2}) > 1


def test_the_check_refuses_one_push_too_many(quick):
    _, outcome = quick
    rows = copy.deepcopy(outcome.rows)
    rows[-1]["fed_event_messages"] += 1
    with pytest.raises(ExperimentError, match="fed.event messages"):
        fanout.check(rows)


def test_the_check_refuses_an_uncounted_message_type(quick):
    _, outcome = quick
    rows = copy.deepcopy(outcome.rows)
    rows[0]["s2s_messages"] += 1
    with pytest.raises(ExperimentError, match="server-to-server messages"):
        fanout.check(rows)
