"""Lassos (sim.liveness): runs in which an ``eventually`` property never comes true."""

from __future__ import annotations

import pytest
from toy import make_system, msg

from mxsim.sim.liveness import Lasso, explore, verify_lasso
from mxsim.sim.model import eventually
from mxsim.sim.scenario import CheckSpec
from mxsim.sim.trace import path_lines

stops = eventually("stops_ringing")(lambda v: not v.state("bell")["ringing"])
RING = ("timer", "bell", "ring")


def bell(repeat: bool, **check):
    return make_system([("bell", "ringer", {"repeat": repeat})], stops, check=CheckSpec(**check))


def test_a_timer_that_rearms_for_ever_is_a_lasso():
    system = bell(repeat=True)
    report = explore(system)
    assert (report.states, report.transitions, report.complete) == (1, 1, True)
    assert report.lassos == [Lasso("stops_ringing", [], [RING])]
    assert verify_lasso(system, report.lassos[0])


def test_a_timer_that_stops_has_no_lasso():
    report = explore(bell(repeat=False))
    assert (report.states, report.complete) == (2, True)
    assert report.lassos == []


def test_a_cycle_that_owes_a_delivery_is_unfair_and_not_reported():
    # A message that would stop the bell is in flight; with timers "any" the
    # bell may ring for ever while it waits, but only if the network never
    # delivers it: not a fair run. With no message, ringing for ever is fair.
    stopper = ("boss", "burst", {"to": "bell"})
    ringer = ("bell", "ringer", {"repeat": True})
    system = make_system([stopper, ringer], stops, check=CheckSpec(timers="any"))
    report = explore(system)
    assert report.complete and report.lassos == []
    assert report.unfair == {"stops_ringing": 1}
    unfair = Lasso("stops_ringing", [], [RING])
    assert not verify_lasso(system, unfair)  # the cycle itself is there, but unfair


def test_a_fair_cycle_that_passes_the_step_it_owes_disabled_is_kept():
    # Two bells, one stoppable message to the second: a cycle where the first
    # bell rings and the message waits is unfair; once it is delivered the
    # first bell rings on, fairly, for ever.
    nodes = [
        ("boss", "burst", {"to": "quiet"}),
        ("bell", "ringer", {"repeat": True}),
        ("quiet", "ringer", {"repeat": False}),
    ]
    system = make_system(nodes, stops, check=CheckSpec(timers="any"))
    [lasso] = explore(system).lassos
    # Not the ringing in the initial world (the delivery is owed there), nor
    # after the quiet bell's own timer (still owed): after the delivery.
    assert lasso == Lasso("stops_ringing", [("deliver", "quiet", "boss", msg(0))], [RING])
    assert verify_lasso(system, lasso)
    assert not verify_lasso(system, Lasso("stops_ringing", [], [RING]))
    lines, _, _ = path_lines(system, lasso.prefix + lasso.cycle)
    assert len(lines) == 3 + len(lasso.prefix) + 1


def test_verify_lasso_rejects_a_cycle_that_does_not_close():
    system = bell(repeat=False)
    assert not verify_lasso(system, Lasso("stops_ringing", [], [RING]))
    assert not verify_lasso(system, Lasso("stops_ringing", [], []))


def test_a_long_run_without_progress_is_reported_beyond_its_bound():
    # A pacer sends 4 messages, a timer apart; the sink's "got all four" is
    # false until the last arrives: with timers "idle" the one run is deliver,
    # timer, deliver, timer, deliver, timer, deliver; it is false in the first
    # 7 worlds, so for 6 steps.
    got_all = eventually("got_all")(lambda v: len(v.state("sink")["got"]) == 4)
    nodes = [("p", "pacer", {"to": "sink", "every_ms": 5, "count": 4}), ("sink", "sink")]
    system = make_system(nodes, got_all, check=CheckSpec(timers="idle"))
    for bound, expect in ((4, True), (5, True), (6, False)):
        report = explore(system, bound=bound)
        assert report.lassos == []
        assert ("got_all" in report.long_runs) is expect, bound
    run = explore(system, bound=5).long_runs["got_all"]
    assert len(run) == 6 and run[-1][0] == "timer"


def test_the_lasso_trace_marks_its_cycle_replays_and_is_confirmed():
    import json
    from types import SimpleNamespace

    from mxsim.experiments.lassos import _lasso_trace, confirm
    from mxsim.sim import trace as tracefile

    system = bell(repeat=True)
    [lasso] = explore(system).lassos
    loaded = SimpleNamespace(raw={}, overrides={})
    lines = [json.loads(x) for x in _lasso_trace(loaded, system, lasso).decode().splitlines()]
    assert [x.get("cycle", False) for x in lines[1:-1]] == [False, True]
    assert lines[-1]["lasso"] == {"property": "stops_ringing", "cycle_from": 1, "cycle_steps": 1}
    tracefile.replay(system, lines)  # an ordinary trace: raises Mismatch if not
    assert confirm(system, lines) is None
    # The same claim over a bell that stops is refused.
    assert confirm(bell(repeat=False), lines) is not None
    lines[-1]["lasso"]["cycle_from"] = 2
    assert confirm(system, lines) is not None


def test_check_writes_a_lasso_that_replay_confirms_and_a_forged_one_it_refuses(
    tmp_path, monkeypatch
):
    from toy import make_model

    from mxsim.experiments import jobs
    from mxsim.experiments.lassos import _trace
    from mxsim.sim.scenario_load import from_raw
    from mxsim.sim.trace import Mismatch

    monkeypatch.setitem(jobs.MODELS, "toy", make_model(stops))
    raw = {
        "scenario": {"name": "bell", "description": "rings for ever", "model": "toy"},
        "nodes": [{"name": "bell", "kind": "ringer", "config": {"repeat": True}}],
    }
    loaded = jobs.Loaded(from_raw(raw, "bell.toml", jobs.MODELS), raw, {})
    trace = tmp_path / "t.jsonl"
    out = jobs.check_job(loaded, trace=str(trace), liveness=True)
    live = out["liveness"]
    assert live["lassos"] == [{"property": "stops_ringing", "prefix_steps": 1, "cycle_steps": 1}]
    path = tmp_path / "t-lasso.jsonl"
    assert live["trace"] == str(path)
    assert jobs.replay_job(str(path))["steps"] == 2
    # A keeper whose timer re-arms but who records each tick: its trace replays,
    # yet the world after a tick is never the world before it. Claim a lasso.
    ticks = eventually("stops_ringing")(lambda v: not v.state("k")["fired"])
    monkeypatch.setitem(jobs.MODELS, "toy", make_model(ticks))
    raw["nodes"] = [{"name": "k", "kind": "keeper", "config": {"tick_ms": 5, "repeat": True}}]
    loaded = jobs.Loaded(from_raw(raw, "keeper.toml", jobs.MODELS), raw, {})
    system = loaded.system()
    claim = {"lasso": {"property": "stops_ringing", "cycle_from": 2, "cycle_steps": 1}}
    tick = ("timer", "k", "tick")
    forged = tmp_path / "forged.jsonl"
    forged.write_bytes(_trace(loaded, system, [tick, tick], {"cycle": 2}, claim))
    with pytest.raises(Mismatch, match="does not close"):
        jobs.replay_job(str(forged))
