"""action-ids-gap: what follows a missing-seqnum rejection ("Send a message",
ordering notes: "The block will expire after a timeout and reject the message
stating that it was missing a seqnum"; the proposal says nothing of what the
server expects next). One send is lost for good: under
``after_missing_seqnum = wait`` the server keeps waiting for it, so the
device's later sends are held and rejected for the same gap; under ``skip`` it
expects the ID after the rejected one, and a given-up ID that comes later is
rejected, so the device's order still holds.

Mutations tried: ``skip`` not moving the expected ID (the skip check, the
timed run and the action-ids test fail: sends_recover violated under skip);
``skip`` applying a given-up ID that comes later instead of rejecting it
(test_a_given_up_id... fails, and action-ids under skip violates
per_client_order); ``sends_recover`` violated by any rejection while the gap is
open (the wait finding shrinks below 11 steps); ``skip`` leaving the sends held
behind the same gap held (test_skip_rejects_the_sends_held... fails)."""

from __future__ import annotations

import functools

from witness import check, drive, initially, records, system

from mxsim.experiments.jobs import load_scenario
from mxsim.models.explain import Moment, explain
from mxsim.models.homeserver.actions import MISSING, SKIPPED
from mxsim.sim.timed import TimedRun

NAME = "action-ids-gap"
SENDS = [("input", 0), ("input", 1), ("input", 2)]


@functools.cache
def _checked(*sets: str):
    return check(NAME, *sets)


def _run(*sets: str):
    loaded = load_scenario(NAME, sets)
    return TimedRun(loaded.system(), loaded.scenario.run.seed, loaded.scenario.run.until).run()


def _any_timer(raw):
    # Hold timers that may fire while messages are in flight (the lost ID may
    # turn up after the server gave it up; the stream pushes need not wait).
    raw["check"]["timers"] = "any"


def test_skip_holds_and_the_rejection_is_reached():
    report = _checked().report
    assert report.complete and report.verdict == "holds", report.verdicts
    assert report.verdicts["missing_seqnum_rejected"] == "reached"


def test_wait_rejects_the_later_sends_for_the_same_gap_in_eleven_steps():
    checked = _checked("after_missing_seqnum=wait")
    report = checked.report
    assert report.complete and report.verdicts["sends_recover"] == "violated"
    for prop in ("idempotent", "per_client_order", "sent_means_applied"):
        assert report.verdicts[prop] == "holds"
    (found,) = [c.actions for c in report.counterexamples if c.property == "sends_recover"]
    assert len(found) == 11
    world, _ = checked.system.initial()
    for action in found:
        world, _ = checked.system.apply(world, action)
    view = checked.system.view(world)
    c = view.state("hs")["actions"]["clients"]["alice"]
    assert c["next"] == 0 and sorted(c["rejected"]) == [1, 2] and not c["applied"]
    text = explain("sends_recover", Moment(None, view, None))
    assert "still waiting for action 0" in text, text


def test_the_guard_is_false_initially_and_without_a_loss():
    sys_ = system(NAME)
    assert not initially(sys_, "missing_seqnum_rejected")
    world, _ = drive(sys_, [*SENDS, *[("deliver", "hs", "alice")] * 3])
    view = sys_.view(world)
    assert not sys_.model.property("missing_seqnum_rejected").predicate(view)
    assert [a for a, _ in view.state("hs")["actions"]["clients"]["alice"]["applied"]] == [0, 1, 2]


def test_skip_applies_the_send_after_the_rejected_one():
    sys_ = system(NAME, edit=_any_timer)
    moves = [*SENDS, ("drop", "hs", "alice", lambda m: m["aid"] == 0)]
    moves += [("deliver", "hs", "alice", lambda m: m["aid"] == 1)]
    moves += [("timer", "hs", "actions:hold:alice:1")]
    moves += [("deliver", "hs", "alice", lambda m: m["aid"] == 2)]
    world, _ = drive(sys_, moves)
    c = sys_.view(world).state("hs")["actions"]["clients"]["alice"]
    assert c["rejected"] == [1] and [a for a, _ in c["applied"]] == [2] and c["next"] == 3
    assert c["skipped"] == [0]


def test_a_given_up_id_is_rejected_when_it_comes_later():
    sys_ = system(NAME, edit=_any_timer)
    moves = [*SENDS[:2], ("deliver", "hs", "alice", lambda m: m["aid"] == 1)]
    moves += [("timer", "hs", "actions:hold:alice:1")]
    moves += [("deliver", "hs", "alice", lambda m: m["aid"] == 0)]
    world, taken = drive(sys_, moves)
    view = sys_.view(world)
    c = view.state("hs")["actions"]["clients"]["alice"]
    assert not c["applied"] and c["skipped"] == [0]
    ((_, sent),) = records(sys_, taken)[-1]["sends"]
    assert sent["aid"] == 0 and sent["error"] == SKIPPED
    assert sys_.model.property("per_client_order").predicate(view)


def test_skip_rejects_the_sends_held_behind_the_same_gap():
    # #1 and #2 both wait for the lost #0; #2's block expires first.
    sys_ = system(NAME, edit=_any_timer)
    moves = [*SENDS, ("drop", "hs", "alice", lambda m: m["aid"] == 0)]
    moves += [("deliver", "hs", "alice"), ("deliver", "hs", "alice")]
    moves += [("timer", "hs", "actions:hold:alice:2")]
    world, taken = drive(sys_, moves)
    c = sys_.view(world).state("hs")["actions"]["clients"]["alice"]
    assert c["rejected"] == [2] and c["skipped"] == [0, 1] and not c["held"]
    assert c["next"] == 3
    answers = [(m["aid"], m["error"]) for _, m in records(sys_, taken)[-1]["sends"]]
    assert answers == [(2, MISSING), (1, SKIPPED)]


def test_the_timed_runs_skip_and_wait():
    result = _run()
    assert result.quiescent
    assert set(result.verdicts.values()) <= {"holds", "reached"}, result.verdicts
    assert _run("after_missing_seqnum=wait").verdicts["sends_recover"] == "violated"


def test_a_retransmitting_client_is_stuck_under_wait_too():
    # action-ids: the device retransmits, but the rejected ID itself is never
    # applied, so the server waits for it for good.
    def edit(raw):
        raw["properties"]["check"] += ["sends_recover"]

    for value, verdict in (("wait", "violated"), ("skip", "holds")):
        report = check("action-ids", f"after_missing_seqnum={value}", edit=edit).report
        assert report.complete and report.verdicts["sends_recover"] == verdict
        assert report.verdicts["idempotent"] == report.verdicts["per_client_order"] == "holds"
