"""sync-state-after: two servers change one room's topic at once, and each
long-polling device's delta carries a timeline of every accepted event, so
the topic that arrived superseded is in it ("State Events Ordering Notes").
With the state after the timeline (MSC4222's ``state_after``) the device keeps
the winning topic; applying the timeline's state over the state before it,
the superseded topic "erroneously clobbers the superceding state event".

Mutations tried: ``sync_state=state_before`` (no_clobbering 6 steps,
state_consistency 14); the device applying the timeline's state events even
when the answer has ``state_after`` (the check's no_clobbering stays quiet,
as the server reckons it, but state_consistency is violated); the guard raised
by any state event in a timeline, superseded or not (it fires on the
hand-driven path where the topics do not cross: that test fails)."""

from __future__ import annotations

import functools

from witness import check, drive, holds, initially, records, system, turns_true

from mxsim.experiments.jobs import load_scenario
from mxsim.models.explain import Moment, explain
from mxsim.sim.timed import TimedRun

NAME = "sync-state-after"
GUARD = "superseded_in_delta"
TOPIC = "m.room.topic\x1f"


@functools.cache
def _checked(*sets: str):
    return check(NAME, *sets)


def _final(checked, prop):
    actions = next(c.actions for c in checked.report.counterexamples if c.property == prop)
    world, _ = checked.system.initial()
    for action in actions:
        world, _ = checked.system.apply(world, action)
    return actions, checked.system.view(world)


def test_the_check_is_complete_holds_and_reaches_the_guard():
    report = _checked().report
    assert report.complete and report.verdict == "holds", report.verdicts
    assert report.verdicts[GUARD] == "reached"


def test_state_before_clobbers_the_winning_topic():
    checked = _checked("sync_state=state_before")
    report = checked.report
    assert report.complete
    assert report.verdicts["no_clobbering"] == "violated"
    assert report.verdicts["state_consistency"] == "violated"
    assert report.verdicts[GUARD] == "reached"
    found = {c.property: len(c.actions) for c in report.counterexamples}
    assert 4 <= found["no_clobbering"] <= 10
    assert found["no_clobbering"] < found["state_consistency"] <= 20
    _, view = _final(checked, "state_consistency")
    # Some device holds a topic that is not its server's.
    wrong = [
        d
        for d, s in (("alice1", "hs1"), ("bob1", "hs2"))
        if view.state(d)["stream"]["view"]["!r:hs1"].get(TOPIC)
        != view.state(s)["rooms"]["stores"]["!r:hs1"]["current"][TOPIC]
    ]
    assert wrong
    text = explain("state_consistency", Moment(None, view, None))
    assert "topic" in text, text


def test_the_timed_runs():
    def run(*sets):
        loaded = load_scenario(NAME, sets)
        c = loaded.scenario.run
        return TimedRun(loaded.system(), c.seed, c.until).run()

    result = run()
    assert result.quiescent
    assert set(result.verdicts.values()) <= {"holds", "reached"}, result.verdicts
    assert run("sync_state=state_before").verdicts["no_clobbering"] == "violated"


def test_the_guard_is_false_initially_and_when_the_topics_do_not_cross():
    sys_ = system(NAME)
    assert not initially(sys_, GUARD)
    # Alice's topic reaches hs2 before Bob sets his: his is built on hers.
    world, _ = drive(
        sys_,
        [("input", 0), ("deliver", "hs2", "hs1"), ("input", 1), ("deliver", "hs1", "hs2")]
        + [("deliver", "hs1", "alice1"), ("deliver", "hs2", "bob1")],
    )
    assert not holds(sys_, GUARD, world)


def test_the_witness_is_a_superseded_topic_in_a_timeline_its_state_after_overrules():
    checked = _checked()
    sys_, actions = checked.system, checked.report.witnesses[GUARD]
    assert turns_true(sys_, GUARD, actions) == len(actions) - 1
    steps = records(sys_, actions)
    last = steps[-1]
    server = last["node"]
    (dst, answer), *_ = [(d, m) for d, m in last["sends"] if m["type"] == "stream"]
    topics = [e["event"] for e in answer["events"] if e["event"]["type"] == "m.room.topic"]
    assert topics, answer
    after = {ev["type"]: ev for ev in answer["state_after"]["!r:hs1"]}
    # The timeline's last topic is not the one the state after it holds.
    assert topics[-1]["event_id"] != after["m.room.topic"]["event_id"]
    store = sys_.view(_walk(sys_, actions)).state(server)["rooms"]["stores"]["!r:hs1"]
    assert store["current"][TOPIC] == after["m.room.topic"]["event_id"]


def _walk(sys_, actions):
    world, _ = sys_.initial()
    for action in actions:
        world, _ = sys_.apply(world, action)
    return world
