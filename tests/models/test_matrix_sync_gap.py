"""sync-gap: more messages arrive past a long-polling device's position than one
answer holds ("Global /initialSync API": "max of limit= message events"); the
server hands the last ``limit`` and a token for the gap. A device that follows
the token ("Scrolling back": "Identifier for the earliest event") shows every
message, in order; one that ignores it never shows the gap (the historical
``/sync`` timeline-gap failure, ``limited`` + ``prev_batch`` in today's Matrix).

Mutations tried: ``gap_token=ignore`` (timeline_complete violated, 9 steps);
the device putting gap messages after the oldest one held instead of before
it (timeline_complete violated: out of order); the server's token taken
from the newest message kept instead of the oldest (the gap is never
reached: timeline_complete violated)."""

from __future__ import annotations

import functools

import pytest
from witness import check, drive, holds, initially, records, system, timed, turns_true

from mxsim.models.explain import Moment, explain
from mxsim.models.homeserver.limited import trim

NAME = "sync-gap"
GUARD = "limited_delta_sent"


@functools.cache
def _checked(*sets: str):
    return check(NAME, *sets)


def _run(*sets: str):
    return timed(NAME, *sets)


def test_the_check_is_complete_holds_and_reaches_the_guard():
    report = _checked().report
    assert report.complete and report.verdict == "holds", report.verdicts
    assert report.verdicts[GUARD] == "reached"


def test_ignoring_the_gap_token_loses_messages_in_a_short_trace():
    checked = _checked("gap_token=ignore")
    report = checked.report
    assert report.complete
    assert report.verdicts["timeline_complete"] == "violated"
    assert report.verdicts[GUARD] == "reached"  # the limit was hit; only the device differs
    found = {c.property: c.actions for c in report.counterexamples}
    assert 5 <= len(found["timeline_complete"]) <= 12
    world, _ = checked.system.initial()
    for action in found["timeline_complete"]:
        world, _ = checked.system.apply(world, action)
    view = checked.system.view(world)
    store = view.state("hs")["rooms"]["stores"]["!r:hs"]
    bodies = {e: ev["content"].get("body") for e, ev in store["events"].items()}
    shown = [bodies[e] for e in view.state("bob1")["timeline"]["timeline"]["!r:hs"]]
    assert shown == ["three"]  # welcome, one and two are in the gap, never shown


def test_the_explanation_names_the_messages_never_shown():
    checked = _checked("gap_token=ignore")
    world, _ = checked.system.initial()
    for action in next(c.actions for c in checked.report.counterexamples):
        world, _ = checked.system.apply(world, action)
    text = explain("timeline_complete", Moment(None, checked.system.view(world), None))
    assert 'message "two"' in text and "limited delta" in text, text


def test_the_timed_runs_follow_and_ignore():
    result = _run()
    assert result.quiescent
    assert set(result.verdicts.values()) <= {"holds", "reached"}, result.verdicts
    assert _run("gap_token=ignore").verdicts["timeline_complete"] == "violated"


def test_the_guard_is_false_initially_and_when_each_poll_takes_one_message():
    sys_ = system(NAME)
    assert not initially(sys_, GUARD)
    # Each device polls before every message: no answer ever holds more than one.
    polled = [("deliver", "hs", "bob1"), ("deliver", "hs", "bob2")]
    moves = list(polled)
    for k in range(3):
        moves += [("input", k), ("deliver", "bob1", "hs"), ("deliver", "bob2", "hs")]
        moves += polled
    world, _ = drive(sys_, moves)
    assert not holds(sys_, GUARD, world)


def test_the_witness_is_an_answer_that_left_messages_out():
    checked = _checked()
    sys_, actions = checked.system, checked.report.witnesses[GUARD]
    assert turns_true(sys_, GUARD, actions) == len(actions) - 1
    last = records(sys_, actions)[-1]
    assert last["node"] == "hs" and last["msg"]["type"] == "events"
    (dst, answer), *_ = last["sends"]
    assert answer["type"] == "stream" and set(answer["limited"]) == {"!r:hs"}
    kept = [e for e in answer["events"] if "state_key" not in e["event"]]
    kept = [e for e in kept if "event_id" in e["event"]]
    assert len(kept) == 1  # limit = 1: the rest is the gap
    assert answer["pos"] > len(answer["events"])  # positions past the ones it holds


@pytest.mark.parametrize("device", ["bob1", "bob2"])
def test_following_the_token_fills_the_gap_in_order(device):
    # The device's first answer holds "one"; "two" and "three" come in one
    # limited answer: the gap is "two", and the page back stops at "one".
    sys_ = system(NAME)
    moves = [("deliver", "hs", device), ("input", 0), ("deliver", device, "hs")]
    world, _ = drive(sys_, [*moves, ("input", 1), ("input", 2)])
    while True:
        moves = [a for a in sys_.enabled(world) if a[0] == "deliver" and device in a[1:3]]
        if not moves:
            break
        world, _ = sys_.apply(world, moves[0])
    view = sys_.view(world)
    store = view.state("hs")["rooms"]["stores"]["!r:hs"]
    shown = view.state(device)["timeline"]["timeline"]["!r:hs"]
    assert [store["events"][e]["content"]["body"] for e in shown] == ["one", "two", "three"]
    assert view.state(device)["gaps"]["filled"] and not view.state(device)["gaps"]["gaps"]


def test_trim_keeps_the_last_messages_of_each_room_and_all_state():
    def msg(room, eid):
        return {"room": room, "event": {"event_id": eid}}

    state = {"room": "!a", "event": {"event_id": "$s", "state_key": ""}}
    entries = [msg("!a", "$1"), state, msg("!b", "$x"), msg("!a", "$2"), msg("!a", "$3")]
    kept, oldest = trim(entries, 2)
    assert kept == [state, msg("!b", "$x"), msg("!a", "$2"), msg("!a", "$3")]
    assert oldest == {"!a": "$2"}
    assert trim(entries, 3) == (entries, {})
