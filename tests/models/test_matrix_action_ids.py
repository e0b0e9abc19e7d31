# ruff: noqa: E501  (the scenario's TOML lines)
"""Action IDs on the matrix model: the homeserver's ``actions`` part and the
device's ``retransmission`` part (over sim/reliable.py) keep each request
applied once and in order (proposal: "Action APIs", "Send a message"
ordering notes, "Action IDs"). The port of the ``action_ids`` silo's
findings: same verdicts and shortest traces."""

from __future__ import annotations

import pytest

from mxsim.experiments.jobs import load_scenario
from mxsim.models.matrix import MODEL
from mxsim.sim.explore import Explorer
from mxsim.sim.timed import TimedRun

SCENARIO = """
[scenario]
name = "action-ids-matrix"
description = "Lost requests and replies force retransmissions; action IDs keep each send applied exactly once (matrix model)."
model = "matrix"

[[nodes]]
name = "hs"
kind = "homeserver"
config = { rooms = { genesis = [{ room = "!r:hs", creator = "@alice:hs" }] }, actions = { hold_timeout_ms = 400 } }

[[nodes]]
name = "alice"
kind = "device"
config = { server = "hs", user = "@alice:hs", retransmission = { retransmit_ms = 60, max_tries = 3 } }

[network]
latency = { dist = "uniform", low = 5, high = 60 }
loss = 0.25

[[workload]]
at = 0
node = "alice"
input = { op = "send", room = "!r:hs", body = "hello" }

[[workload]]
at = 10
node = "alice"
input = { op = "send", room = "!r:hs", body = "big" }

[properties]
check = ["idempotent", "per_client_order", "sent_means_applied", "settled", "retransmission_race", "out_of_order_action"]

[run]
seed = 2
until = 5000

[check]
max_depth = 40
drops = 1
duplicates = 1
timers = "idle"
"""


@pytest.fixture()
def path(tmp_path):
    p = tmp_path / "action-ids-matrix.toml"
    p.write_text(SCENARIO)
    return str(p)


def check(path: str, *sets: str):
    return Explorer(load_scenario(path, sets).system()).bfs()


def test_each_send_applies_once_and_in_order_under_loss_and_duplication(path):
    report = check(path)
    assert report.complete and report.verdict == "holds", report.verdicts
    assert report.verdicts["retransmission_race"] == "reached"
    assert report.verdicts["out_of_order_action"] == "reached"


def test_without_idempotency_a_retransmission_applies_twice(path):
    report = check(path, "idempotent_retransmission=false")
    assert report.verdicts["idempotent"] == "violated"
    assert report.verdicts["sent_means_applied"] == "violated"
    # Shortest: the send, a duplicate of it, both delivered (the silo's 6 steps
    # with the two starts).
    shortest = next(c for c in report.counterexamples if c.property == "idempotent").actions
    assert [a[0] for a in shortest] == ["input", "duplicate", "deliver", "deliver"]


def test_without_holding_a_higher_action_id_overtakes_a_lower_one(path):
    report = check(path, "hold_out_of_order=false")
    assert report.verdicts["per_client_order"] == "violated"
    assert report.verdicts["idempotent"] == "holds"


def test_the_guards_are_false_before_any_race(path):
    system = load_scenario(path).system()
    world, _ = system.initial()
    view = system.view(world)
    for name in ("retransmission_race", "out_of_order_action"):
        assert not MODEL.property(name).predicate(view)


def test_a_timed_run_with_loss_retransmits_and_settles(path):
    loaded = load_scenario(path)
    run = TimedRun(loaded.system(), loaded.scenario.run.seed, loaded.scenario.run.until)
    result = run.run()
    assert result.quiescent and result.verdicts["settled"] == "holds"
    assert result.verdicts["idempotent"] == "holds"


def test_a_device_gives_an_action_up_after_max_tries(path, tmp_path):
    # Every message from the device is lost: each send is tried 3 times, then given up.
    cut = '[[faults]]\nkind = "partition"\nat = 0\ngroups = [["alice"], ["hs"]]\noneway = true\n\n'
    text = SCENARIO.replace("loss = 0.25", "loss = 0.0").replace(
        "[[workload]]", cut + "[[workload]]", 1
    )
    lossy = tmp_path / "lossy.toml"
    lossy.write_text(text)
    loaded = load_scenario(str(lossy))
    system = loaded.system()
    run = TimedRun(system, 1, 5_000_000)
    result = run.run()
    alice = run.states[system.index["alice"]]
    assert alice["retransmission"]["gave_up"] == [0, 1]
    assert result.verdicts["settled"] == "holds"
    assert result.metrics.get("retransmissions", 0) >= 2


def test_parts_not_used_add_nothing():
    system = load_scenario("superseded-state").system()
    world, _ = system.initial()
    view = system.view(world)
    assert "actions" not in view.state("hs1") and "retransmission" not in view.state("alice")


def test_only_declared_messages_cross_the_network(path):
    from test_matrix_wire import system

    checked, problems, _ = system(path)
    assert Explorer(checked).bfs().complete
    assert problems == []
