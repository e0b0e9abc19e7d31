"""redactions-join, redactions-join-race: redactions that come with history
("Event Stream API": "Deleted message events are ``m.room.redaction``
events"; "Scrolling back": backfill over federation; "Joining a room").

Carol's server joins after Alice redacted the first of four messages: the
redaction comes in the join's answer, the message later by backfill, and
Carol's device shows it redacted (``history_redactions = "apply"``; complete,
70 states); placed as it comes (``"ignore"``, as before) Carol shows it whole
for good (``redactions_applied``, 14 steps). In the race variant Alice's
device redacts while Carol joins: hs1 may answer the join before the
redaction and count hs2 in the room only once Carol's join arrives, so the
redaction reaches hs2 only as hs1 sends it to the room's new server
(complete, 4,530 states; 16 steps to ``redactions_applied`` without it).

Mutations tried: the history paths skipped (``Redactions.placed`` doing
nothing: 7 tests fail, the waiting-redaction and whole-copy ones among them);
the device not taking a stripped copy of a scrollback page as redacted (both
complete checks and the timed runs fail); ``catch_up`` doing nothing (the
race check fails: hs2 holds the message whole); the guard counting the
redacting user's own devices (the witness test fails: Alice, at depth 5).
"""

from __future__ import annotations

import copy
import functools

from witness import check, initially, records, timed, turns_true, view_after

from mxsim.models import room as R
from mxsim.models import room_history as H
from mxsim.models.explain import Moment, explain
from mxsim.models.homeserver import redactions_history

NAME = "redactions-join"
RACE = "redactions-join-race"
ROOM = "!r:hs1"
TARGET = "$genesis.5.!r:hs1"


@functools.cache
def _checked(name: str, *sets: str):
    return check(name, *sets)


def _final(checked, prop: str):
    actions = next(c.actions for c in checked.report.counterexamples if c.property == prop)
    return actions, view_after(checked.system, actions)


def _store(view, server: str) -> dict:
    return view.state(server)["rooms"]["stores"][ROOM]


def test_the_join_check_is_complete_holds_and_reaches_its_guards():
    report = _checked(NAME).report
    assert report.complete and report.verdict == "holds", report.verdicts
    assert report.verdicts["redaction_in_history"] == "reached"
    assert report.verdicts["backfill"] == "reached"


def test_ignoring_history_redactions_shows_the_message_whole_on_carols_device():
    checked = _checked(NAME, "history_redactions=ignore")
    assert checked.report.complete
    assert checked.report.verdicts["redactions_applied"] == "violated"
    actions, view = _final(checked, "redactions_applied")
    assert 10 <= len(actions) <= 18
    timeline = view.state("carol")["timeline"]
    assert TARGET in timeline["timeline"][ROOM] and TARGET not in timeline["redacted"]
    text = explain("redactions_applied", Moment(None, view, None))
    assert text.startswith(f"carol shows {TARGET} whole for good") and "history" in text, text


def test_the_history_guard_is_false_initially_and_its_witness_is_the_join_answer():
    checked = _checked(NAME)
    sys_ = checked.system
    assert not initially(sys_, "redaction_in_history")
    actions = checked.report.witnesses["redaction_in_history"]
    assert turns_true(sys_, "redaction_in_history", actions) == len(actions) - 1
    last = records(sys_, actions)[-1]
    assert last["node"] == "hs2" and last["msg"]["type"] == "fed.join_state"
    kinds = {e["event_id"]: e["type"] for e in last["msg"]["events"]}
    assert "m.room.redaction" in kinds.values() and TARGET not in kinds  # the message: by backfill


def test_a_redaction_from_the_join_waits_for_its_target_from_backfill(monkeypatch):
    # hs1 sends its history unstripped (a server that does not apply redactions
    # to what it serves): hs2 strips the message itself, by the redaction it
    # placed from the join's answer.
    serve = H.history_payload

    def whole(store, frontier, limit):
        out = serve(store, frontier, limit)
        out["events"] = [
            {k: v for k, v in {**e, "content": {"body": "oops"}}.items() if k != "redacted_because"}
            if e.get("redacted_because")
            else e
            for e in out["events"]
        ]
        return out

    monkeypatch.setattr(H, "history_payload", whole)
    checked = check(NAME)
    assert checked.report.complete and checked.report.verdict == "holds", checked.report.verdicts
    ignored = check(NAME, "history_redactions=ignore")
    _, view = _final(ignored, "redactions_applied")
    assert _store(view, "hs2")["events"][TARGET]["content"] == {"body": "oops"}


def test_the_join_answer_leaves_the_redaction_waiting_for_its_message():
    checked = _checked(NAME)
    sys_ = checked.system
    world, _ = sys_.initial()
    for action in checked.report.witnesses["redaction_in_history"]:
        world, _ = sys_.apply(world, action)
    store = _store(sys_.view(world), "hs2")
    assert TARGET not in store["after"]
    assert store["early_redactions"] == {TARGET: ["$hs1.1"]}


class _Ctx:
    """A handler's context that records what it sends."""

    def __init__(self, node: str, switches: dict):
        self.node, self.switches, self.sent = node, switches, []

    def send(self, dst, msg):
        self.sent.append((dst, msg))

    def set_timer(self, *a, **k):
        pass

    def cancel_timer(self, *a, **k):
        pass

    def metric(self, *a, **k):
        pass


def test_a_redaction_placed_from_history_strips_a_target_held_whole(monkeypatch):
    # hs2 holds the message whole (its join answered before the redaction, and
    # hs1 not sending the new server its redactions); the redaction then comes
    # with history: it strips the message and goes down Carol's stream.
    monkeypatch.setattr("mxsim.models.homeserver.redactions.catch_up", lambda *a: None)
    checked = check(RACE)
    _, view = _final(checked, "redactions_applied")
    sys_ = checked.system
    state = copy.deepcopy(view.state("hs2"))
    store, hs1 = state["rooms"]["stores"][ROOM], _store(view, "hs1")
    rid = hs1["redacted"][TARGET]
    new = R.insert_history(
        store, {"events": [hs1["events"][rid]], "after": {rid: hs1["after"][rid]}}
    )
    part = sys_.nodes[sys_.index["hs2"]].part("redactions")
    part.placed(_Ctx("hs2", sys_.switches), state, store, new)
    assert store["events"][TARGET]["content"] == {} and store["redacted"] == {TARGET: rid}
    assert state["redactions"]["seen"]["history"]
    carol = state["stream"]["devices"]["carol"]
    queued = carol.get("poll", {}).get("queue", []) + state["stream"].get("outbox", {}).get(
        "carol", []
    )
    assert [e["event"]["event_id"] for e in queued] == [rid]


def test_the_race_check_is_complete_holds_and_reaches_its_guards():
    report = _checked(RACE).report
    assert report.complete and report.verdict == "holds", report.verdicts
    for guard in ("shown_then_redacted", "backfill"):
        assert report.verdicts[guard] == "reached", guard


def test_without_sending_the_new_server_its_redactions_hs2_holds_the_message_whole(monkeypatch):
    monkeypatch.setattr(redactions_history, "catch_up", lambda *a: None)
    monkeypatch.setattr("mxsim.models.homeserver.redactions.catch_up", lambda *a: None)
    checked = check(RACE)
    assert checked.report.verdicts["redactions_applied"] == "violated"
    actions, view = _final(checked, "redactions_applied")
    assert _store(view, "hs2")["events"][TARGET]["content"] == {"body": "oops"}
    assert _store(view, "hs1")["redacted"] == {TARGET: "$hs1.1"}
    ignored = _checked(RACE, "history_redactions=ignore")
    assert ignored.report.verdicts["redactions_applied"] == "violated"
    assert len(_final(ignored, "redactions_applied")[0]) == len(actions)


def test_the_shown_then_redacted_witness_is_carol_shown_the_message_then_its_redaction():
    checked = _checked(RACE)
    sys_ = checked.system
    assert not initially(sys_, "shown_then_redacted")
    actions = checked.report.witnesses["shown_then_redacted"]
    assert turns_true(sys_, "shown_then_redacted", actions) == len(actions) - 1
    steps = records(sys_, actions)
    assert steps[-1]["node"] == "carol"

    def carries(msg: dict, whole: bool) -> bool:
        events = [msg.get("event", {})] + msg.get("chunk", []) + msg.get("events", [])
        events += [e.get("event", {}) for e in msg.get("events", []) if isinstance(e, dict)]
        return any(
            e.get("event_id") == TARGET
            and bool(e.get("content")) == whole
            or (not whole and e.get("redacts") == TARGET)
            for e in events
        )

    shown = [
        k for k, s in enumerate(steps) if s["node"] == "carol" and carries(s.get("msg", {}), True)
    ]
    assert shown and shown[0] < len(steps) - 1  # the content first
    assert carries(steps[-1]["msg"], False)  # then the redaction


def test_the_shown_then_redacted_guard_is_never_true_when_the_redaction_comes_first():
    def edit(raw):
        raw["properties"]["check"].append("shown_then_redacted")

    report = check(NAME, edit=edit).report
    assert report.complete and report.verdicts["shown_then_redacted"] != "reached"


def test_the_timed_runs_apply_and_ignore():
    for name in (NAME, RACE):
        result = timed(name)
        assert result.quiescent
        assert set(result.verdicts.values()) <= {"holds", "reached"}, result.verdicts
    assert timed(NAME, "history_redactions=ignore").verdicts["redactions_applied"] == "violated"
