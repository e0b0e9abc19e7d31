"""redactions: a user deletes a message ("Event Stream API": "Deleted message
events are ``m.room.redaction`` events"), allowed for its sender or a user at
the ``redact`` power level. Over federation the redaction can reach a server
before the message: a server that keeps it applies it when the message comes
(``early_redactions = "keep"``); one that drops it shows the message whole
there for good (``"drop"``: ``redactions_applied``, 21 steps).

Mutations tried: ``early_redactions=drop`` (redactions_applied violated);
the room store's buffer of redactions accepted before their target left
out (the target is then shown whole: the buffer test fails); the stripping
of entries queued for a long poll left out (redacted_content_gone violated:
the queue test and the complete check fail); ``may_apply`` always true, the
request and the application checks skipped (redaction_authorised violated,
Bob's redaction of Alice's message takes effect); ``strip`` keeping the
content (redacted_content_gone violated, and the initial-sync test fails);
the device not taking a stripped copy as redacted (redactions_applied
violated: the complete check fails). The auth rules' own redaction check
(``models/auth.py``) does not decide here: the model's event IDs name no
server, so it leaves the check to the time the redaction is applied."""

from __future__ import annotations

import functools
import json

import pytest
from witness import check, drive, holds, initially, records, system, turns_true, view_after

from mxsim.experiments.jobs import load_scenario
from mxsim.models import room as R
from mxsim.models.explain import Moment, explain
from mxsim.models.homeserver import redactions
from mxsim.sim.scenario import ScenarioError
from mxsim.sim.timed import TimedRun

NAME = "redactions"
ROOM = "!r:hs1"
GUARDS = ("redaction_before_target", "redaction_refused")


@functools.cache
def _checked(*sets: str):
    return check(NAME, *sets)


def _final(checked, prop: str):
    actions = next(c.actions for c in checked.report.counterexamples if c.property == prop)
    return actions, view_after(checked.system, actions)


def _is(kind: str, etype: str | None = None):
    """A message test for ``drive``: its type, and the type of the event it carries."""

    def test(msg: dict) -> bool:
        return msg["type"] == kind and (etype is None or msg["event"]["type"] == etype)

    return test


def test_the_check_is_complete_holds_and_reaches_every_guard():
    report = _checked().report
    assert report.complete and report.verdict == "holds", report.verdicts
    for guard in GUARDS:
        assert report.verdicts[guard] == "reached"


def test_dropping_early_redactions_shows_the_message_whole_in_a_short_trace():
    checked = _checked("early_redactions=drop")
    assert checked.report.complete
    assert checked.report.verdicts["redactions_applied"] == "violated"
    actions, view = _final(checked, "redactions_applied")
    assert 15 <= len(actions) <= 25
    message = view.state("hs1")["rooms"]["stores"][ROOM]["redacted"]
    (target,) = message
    assert view.state("hs1")["rooms"]["stores"][ROOM]["events"][target]["content"] == {}
    hs2 = view.state("hs2")["rooms"]["stores"][ROOM]
    assert hs2["events"][target]["content"] == {"body": "oops"}  # whole, for good
    assert view.state("hs2")["redactions"]["seen"]["early"]


def test_the_explanation_names_the_server_and_the_redaction_it_dropped():
    checked = _checked("early_redactions=drop")
    _, view = _final(checked, "redactions_applied")
    text = explain("redactions_applied", Moment(None, view, None))
    assert text.startswith("hs2 holds $hs1.1 whole for good") and "not kept" in text, text


def test_the_timed_runs_keep_and_drop():
    def run(*sets):
        loaded = load_scenario(NAME, sets)
        return TimedRun(loaded.system(), loaded.scenario.run.seed, loaded.scenario.run.until).run()

    result = run()
    assert result.quiescent
    assert set(result.verdicts.values()) <= {"holds", "reached"}, result.verdicts
    assert run("early_redactions=drop").verdicts["redactions_applied"] == "violated"


#: Alice's send and redaction reach hs1; the message and its redaction are then
#: both on their way to hs2 (and Bob's long poll and his other device's
#: ``register`` are at hs2).
PRELUDE = [
    ("deliver", "hs2", "bob1"),
    ("deliver", "hs2", "bob2"),
    ("deliver", "hs1", "alice", _is("register")),
    ("input", 0),
    ("deliver", "hs1", "alice", _is("send")),
    ("input", 1),
    ("deliver", "alice", "hs1", _is("stream")),  # her initial sync and her message,
    ("deliver", "alice", "hs1", _is("stream")),  # in either order
    ("deliver", "hs1", "alice", _is("redact")),
]
MESSAGE = ("deliver", "hs2", "hs1", _is("fed.event", "m.room.message"))
REDACTION = ("deliver", "hs2", "hs1", _is("fed.event", "m.room.redaction"))


def test_the_early_guard_is_false_initially_and_when_the_message_comes_first():
    sys_ = system(NAME)
    assert not initially(sys_, "redaction_before_target")
    world, _ = drive(sys_, [*PRELUDE, MESSAGE, REDACTION])
    assert not holds(sys_, "redaction_before_target", world)
    world, _ = drive(sys_, [*PRELUDE, REDACTION])
    assert holds(sys_, "redaction_before_target", world)


def test_the_early_guard_witness_is_a_redaction_overtaking_its_message():
    checked = _checked()
    actions = checked.report.witnesses["redaction_before_target"]
    assert turns_true(checked.system, "redaction_before_target", actions) == len(actions) - 1
    steps = records(checked.system, actions)
    last = steps[-1]
    assert last["node"] == "hs2" and last["msg"]["event"]["type"] == "m.room.redaction"
    target = last["msg"]["event"]["redacts"]
    sent = [
        k
        for k, s in enumerate(steps)
        for dst, msg in s["sends"]
        if dst == "hs2" and msg.get("event", {}).get("event_id") == target
    ]
    delivered = [
        k
        for k, s in enumerate(steps)
        if s.get("msg", {}).get("event", {}).get("event_id") == target
    ]
    assert sent and not delivered  # sent before the redaction, still on its way


def test_the_refused_guard_witness_is_bob_answered_no():
    checked = _checked()
    sys_ = checked.system
    assert not initially(sys_, "redaction_refused")
    actions = checked.report.witnesses["redaction_refused"]
    assert turns_true(sys_, "redaction_refused", actions) == len(actions) - 1
    last = records(sys_, actions)[-1]
    assert last["node"] == "hs2" and last["src"] == "bob1" and last["msg"]["type"] == "redact"
    ((dst, answer),) = last["sends"]
    assert dst == "bob1" and answer["ok"] is False and "may not redact" in answer["error"]


def test_a_message_queued_for_a_long_poll_goes_out_stripped():
    sys_ = system(NAME)
    world, _ = drive(sys_, [*PRELUDE, MESSAGE, REDACTION])
    view = sys_.view(world)
    hs2 = view.state("hs2")
    target = hs2["rooms"]["stores"][ROOM]["redacted"]
    (eid,) = target
    queued = [e["event"] for e in hs2["stream"]["devices"]["bob1"]["poll"]["queue"]]
    assert [ev["content"] for ev in queued if ev.get("event_id") == eid] == [{}]
    # Bob's long poll had been answered with the message whole; the next holds the redaction.
    more = [("deliver", "bob1", "hs2"), ("deliver", "hs2", "bob1"), ("deliver", "bob1", "hs2")]
    world, _ = drive(sys_, [*PRELUDE, MESSAGE, REDACTION, *more])
    timeline = sys_.view(world).state("bob1")["timeline"]
    assert eid in timeline["timeline"][ROOM] and eid in timeline["redacted"]
    assert "unredacted" not in timeline


def test_a_device_new_after_the_redaction_gets_the_message_stripped_in_its_initial_sync():
    sys_ = system(NAME)
    late = [m for m in PRELUDE if m[:3] != ("deliver", "hs2", "bob2")]
    moves = [*late, MESSAGE, REDACTION, ("deliver", "hs2", "bob2"), ("deliver", "bob2", "hs2")]
    world, taken = drive(sys_, moves)
    sync = json.loads(taken[-1][3])
    messages = [e["event"] for e in sync["events"] if e["event"]["type"] == "m.room.message"]
    assert [ev["content"] for ev in messages] == [{"body": "welcome"}, {}]
    timeline = sys_.view(world).state("bob2")["timeline"]
    assert timeline["redacted"] == [messages[1]["event_id"]]


def test_a_server_that_marks_a_redaction_but_keeps_the_content_is_caught(monkeypatch):
    monkeypatch.setattr(redactions, "strip", lambda ev, rid: {**ev, "redacted_because": rid})
    checked = check(NAME, max_states=5_000)
    assert checked.report.verdicts["redacted_content_gone"] == "violated"
    _, view = _final(checked, "redacted_content_gone")
    text = explain("redacted_content_gone", Moment(None, view, None))
    assert text == "hs1 applied the redaction of $hs1.1 and still holds or queues its content"


@pytest.mark.parametrize("keep", [True, False])
def test_a_redaction_accepted_before_its_target_waits_for_it(keep):
    # A redaction on a fork beside its target: the room store holds it until the target comes.
    sys_ = system(NAME, *(() if keep else ("early_redactions=drop",)))
    world, _ = sys_.initial()
    i = sys_.index["hs2"]
    node, state = sys_.nodes[i], json.loads(world.states[i])
    store = state["rooms"]["stores"][ROOM]
    target = R.next_event(store, ROOM, "m.room.message", "@alice:hs1", {"body": "late"}, None, "$t")
    redaction = R.next_event(store, ROOM, "m.room.redaction", "@alice:hs1", {}, None, "$r")
    redaction["redacts"] = "$t"
    rooms, part = node.part("rooms"), node.part("redactions")
    assert rooms.accept(store, redaction)[0] is None
    assert part.accepted(None, state, store, redaction) is None  # nothing to show yet
    assert rooms.accept(store, target)[0] is None
    shown = part.accepted(None, state, store, target)
    if keep:
        assert shown["content"] == {} and shown["redacted_because"] == "$r"
        assert store["redacted"] == {"$t": "$r"} and "early_redactions" not in store
    else:
        assert shown["content"] == {"body": "late"} and "redacted" not in store


def test_a_server_that_lets_anyone_redact_is_caught(monkeypatch):
    monkeypatch.setattr(redactions, "may_apply", lambda *args: True)
    checked = check(NAME, max_states=20_000)  # Bob's redaction is at depth 8
    assert checked.report.verdicts["redaction_authorised"] == "violated"
    _, view = _final(checked, "redaction_authorised")
    text = explain("redaction_authorised", Moment(None, view, None))
    assert "@bob:hs2 neither sent" in text and "redact power level" in text, text


def test_a_redact_input_names_its_message_by_body():
    def edit(raw):
        raw["workload"][2]["input"]["target"] = raw["workload"][2]["input"].pop("body")

    with pytest.raises(ScenarioError, match=r"workload\[2\]\.input\.target"):
        system(NAME, edit=edit)
