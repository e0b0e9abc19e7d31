"""rejected-state: a ban crosses the banned user's topic change. A server that
sent its device the topic learns (from the ban) that it should not have
accepted it, and corrects the device's room state with a local redaction and
a synthesised state event (proposal, "Event Stream API", "Rejected events").
Every device's room state equals its server's at quiescence; without the
synthesised event a device keeps a topic its server no longer has."""

from __future__ import annotations

import functools

from witness import check, initially, records, system, timed, turns_true

from mxsim.models import room as R
from mxsim.models.homeserver import Homeserver
from mxsim.models.matrix import MODEL
from mxsim.models.properties_rejected import same_room_state

NAME = "rejected-state"
GUARD = "late_state_rejection"
TOPIC = "m.room.topic\x1f"


@functools.cache
def _checked():
    return check(NAME)


def test_the_check_is_complete_holds_and_reaches_the_guard():
    report = _checked().report
    assert report.complete and report.verdict == "holds", report.verdicts
    assert report.verdicts["state_consistency"] == "holds"
    assert report.verdicts[GUARD] == "reached"


def test_the_timed_run_holds_and_shows_the_rejection():
    result = timed(NAME)
    assert result.quiescent
    assert result.verdicts == {**result.verdicts, "state_consistency": "holds", GUARD: "reached"}


def test_without_synthesised_state_a_device_keeps_the_rejected_topic():
    report = check(NAME, "rejected_state_events=false").report
    assert report.verdicts["state_consistency"] == "violated"
    assert report.verdicts[GUARD] == "reached"  # the race happened; only the fix is off
    found = {c.property: c.actions for c in report.counterexamples}
    assert len(found["state_consistency"]) == 17


def test_the_guard_is_false_in_the_initial_world():
    assert not initially(system(NAME), GUARD)


def _synthesised(step):
    """The local entries a stream response of the step carries (room state fixes)."""
    out = []
    for dst, msg in step["sends"]:
        if msg["type"] == "stream":
            out += [(dst, e["event"]) for e in msg["events"] if e.get("local")]
    return out


def test_the_witness_is_a_ban_reaching_a_server_that_sent_its_device_the_topic():
    checked = _checked()
    sys_, actions = checked.system, checked.report.witnesses[GUARD]
    assert turns_true(sys_, GUARD, actions) == len(actions) - 1
    steps = records(sys_, actions)
    last = steps[-1]
    assert last["act"] == "deliver" and last["msg"]["type"] == "fed.event"
    ban = last["msg"]["event"]
    assert ban["content"] == {"membership": "ban"} and ban["state_key"] == "@eve:hs3"
    server = last["node"]
    # Earlier, the same server took the topic and streamed it to its device.
    topic = next(
        s["msg"]["event"]
        for s in steps[:-1]
        if s["node"] == server and s["act"] == "deliver" and s["msg"]["type"] == "fed.event"
        and s["msg"]["event"]["type"] == "m.room.topic"
    )  # fmt: skip
    assert topic["sender"] == "@eve:hs3" and topic["event_id"] not in ban["prev_events"]
    local = _synthesised(last)
    kinds = [(ev["type"], ev.get("redacts")) for _, ev in local]
    assert kinds == [("m.room.redaction", topic["event_id"]), ("m.room.topic", None)]
    fix = local[1][1]
    assert "content" not in fix  # the room had no topic before: the key is gone
    assert fix["sender"] == server and fix["event_id"].startswith("~")


def _event(store, eid, etype, sender, content, key, prevs):
    ev = {
        "event_id": eid,
        "room_id": "!r:hs1",
        "type": etype,
        "sender": sender,
        "content": content,
        "state_key": key,
        "prev_events": prevs,
        "depth": 1 + max(store["events"][p]["depth"] for p in prevs),
    }
    ev["auth_events"] = R.auth_events_for(store, ev)
    return ev


def test_a_topic_that_replaced_another_is_corrected_back_to_it():
    # hs2 shows bob Eve's topic, built on Alice's; then Alice's ban of Eve,
    # concurrent with it, arrives: the room's topic is Alice's again.
    switches = {s.name: s.default for s in MODEL.switches}
    genesis = [{"room": "!r:hs1", "creator": "@alice:hs1", "members": ["@bob:hs2", "@eve:hs3"]}]
    hs = Homeserver("hs2", {"rooms": {"genesis": genesis}, "federation": {}}, switches)
    state = hs.initial_state()
    hs.on_start(None, state)
    rooms, store = hs.part("rooms"), state["rooms"]["stores"]["!r:hs1"]
    hs.part("stream").register(state, "bob", "@bob:hs2", True)
    tip = store["extremities"]
    for eid, sender, body in (("$w", "@alice:hs1", "welcome"), ("$spam", "@eve:hs3", "x")):
        ev = _event(store, eid, "m.room.topic", sender, {"topic": body}, "", list(tip))
        assert rooms.accept(store, ev)[0] is None
        rooms.accepted(None, state, store, ev, [R.key_of(ev)])
        tip = [eid]
    state["stream"].pop("outbox")
    ban = _event(
        store, "$ban", "m.room.member", "@alice:hs1", {"membership": "ban"}, "@eve:hs3", ["$w"]
    )
    reason, changed = rooms.accept(store, ban)
    assert reason is None and store["current"][TOPIC] == "$w"
    rooms.accepted(None, state, store, ban, changed)
    sent = [e["event"] for e in state["stream"]["outbox"]["bob"]]
    assert [(ev["type"], ev.get("redacts")) for ev in sent] == [
        ("m.room.redaction", "$spam"),
        ("m.room.topic", None),
        ("m.room.member", None),  # the ban itself; Alice's topic is not sent again
    ]
    assert sent[1]["content"] == {"topic": "welcome"} and sent[1]["sender"] == "hs2"
    held = {R.key_of(ev): ev["event_id"] for ev in sent if "state_key" in ev}
    assert same_room_state({**store["current"], **held}, store)


def test_same_room_state_reads_synthesised_events_by_their_content():
    store = {
        "current": {TOPIC: "$old"},
        "events": {"$old": {"content": {"topic": "welcome"}}, "$spam": {"content": {"topic": "x"}}},
        "synthesised": {"~hs2.state.$spam": {"content": {"topic": "welcome"}}},
    }
    assert same_room_state({TOPIC: "~hs2.state.$spam"}, store)
    assert not same_room_state({TOPIC: "$spam"}, store)
    store["synthesised"]["~hs2.state.$spam"] = {}  # a deletion, but the key is there
    assert not same_room_state({TOPIC: "~hs2.state.$spam"}, store)
    del store["current"][TOPIC]
    assert same_room_state({TOPIC: "~hs2.state.$spam"}, store)
