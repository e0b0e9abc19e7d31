"""Sessions, presence and typing on the matrix model (homeserver parts
``sessions``, ``presence``, ``typing``; device parts ``sessions``,
``presence``): the migrated scenarios give the clients model's verdicts, the
findings come back with the proposal's rule, and each guard is false until
its race happens and its witness shows that race."""

from __future__ import annotations

import functools
import json

import pytest
from test_matrix_action_ids import Ctx
from witness import check, initially, records, system, turns_true

from mxsim.experiments.cli import main
from mxsim.models.homeserver import Homeserver

#: Scenario -> (every property's verdict under ``check``).
SCENARIOS = {
    "presence-order": {
        "sessions_restored": "holds",
        "presence_follows_sessions": "holds",
        "typing_follows_sessions": "holds",
        "never_typing_forever": "holds",
        "wish_overtaken": "reached",
    },
    "typing-presence": {
        "presence_follows_sessions": "holds",
        "typing_follows_sessions": "holds",
        "never_typing_forever": "holds",
        "sessions_restored": "holds",
        "stream_positions_increase": "holds",
        "events_once": "holds",
        "stream_complete": "holds",
        "typing_seen": "reached",
        "offline_seen": "reached",
    },
    "session-expiry-order": {
        "exactly_once": "holds",
        "per_client_order": "holds",
        "user_order_kept": "holds",
        "local_echo_settles": "holds",
        "actions_complete": "holds",
        "sessions_restored": "holds",
        "presence_follows_sessions": "holds",
        "stale_session": "reached",
        "expiry_during_action": "reached",
    },
    "session-expiry-devices": {
        "exactly_once": "holds",
        "per_client_order": "holds",
        "local_echo_settles": "holds",
        "sessions_restored": "holds",
        "presence_follows_sessions": "holds",
        "retransmission_race": "reached",
        "session_expiry_between_actions": "reached",
        "stale_session": "reached",
        "expiry_during_action": "reached",
        "renewed_on_several_devices": "reached",
    },
    "capabilities": {
        "capability_union": "holds",
        "capabilities_resolved": "holds",
        "sessions_restored": "holds",
        "stream_positions_increase": "holds",
        "events_once": "holds",
        "stream_complete": "holds",
        "unknown_hash_refused": "reached",
        "hash_looked_up": "reached",
    },
    "local-echo": {
        "exactly_once": "holds",
        "per_client_order": "holds",
        "local_echo_settles": "holds",
        "stream_positions_increase": "holds",
        "events_once": "holds",
        "stream_complete": "holds",
        "actions_complete": "holds",
        "action_id_private": "holds",
        "response_after_stream": "reached",
        "stream_after_response": "reached",
    },
}

#: (scenario, --set with the proposal's rule, violated properties, shortest trace).
FINDINGS = [
    ("typing-presence", 'presence_of_user="last_session"', ["presence_follows_sessions"], 11),
    (
        "presence-order",
        'presence_typing_order="arrival"',
        ["sessions_restored", "never_typing_forever"],
        14,
    ),
    ("session-expiry-devices", 'txn_scope="session"', ["exactly_once"], 9),
    ("session-expiry-order", 'renewal_order="as_answered"', ["user_order_kept"], 14),
]


@functools.cache
def _checked(name: str):
    return check(name)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_check_gives_the_clients_verdicts(name):
    checked = _checked(name)
    assert checked.system.scenario.model == "matrix"
    assert checked.report.complete
    assert checked.report.verdicts == SCENARIOS[name]


@pytest.mark.parametrize(("name", "switch", "props", "length"), FINDINGS)
def test_finding_comes_back_with_the_proposal_rule(capsys, tmp_path, name, switch, props, length):
    trace = tmp_path / "cex.jsonl"
    with pytest.raises(SystemExit) as exit_info:
        main(["check", name, "--set", switch, "--trace", str(trace), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert exit_info.value.code == 1
    assert sorted(v["property"] for v in report["violations"]) == sorted(props)
    assert {v["trace_length"] for v in report["violations"]} == {length}
    assert report["complete"]


# -- guards ------------------------------------------------------------------------------


def _guards(name: str) -> list[str]:
    return [g for g, v in SCENARIOS[name].items() if v == "reached"]


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_guards_are_false_in_the_initial_world(name):
    sys_ = system(name)
    assert [g for g in _guards(name) if initially(sys_, g)] == []


def _deliver(step, node, type_):
    return step["act"] == "deliver" and step["node"] == node and step["msg"]["type"] == type_


def _wish_overtaken(steps):
    last = steps[-1]
    assert _deliver(last, "hs", last["msg"]["type"]) and last["msg"]["type"] in (
        "presence",
        "typing",
    )
    m = last["msg"]
    assert any(
        _deliver(s, "hs", m["type"])
        and s["src"] == last["src"]
        and s["msg"]["rid"] > m["rid"]
        and s["msg"].get("room") == m.get("room")
        for s in steps[:-1]
    ), "a later request of the device came first"


def _shown(step, test):
    return step["act"] == "deliver" and any(test(e["event"]) for e in step["msg"].get("events", []))


def _typing_seen(steps):
    assert _shown(steps[-1], lambda ev: ev["type"] == "m.typing" and ev["users"])


def _offline_seen(steps):
    assert _shown(steps[-1], lambda ev: ev["type"] == "m.presence" and ev["presence"] == "offline")


def _expiries(steps, dev=None):
    return [
        j
        for j, s in enumerate(steps)
        if s["act"] == "timer"
        and s["node"] == "hs"
        and s["timer"].startswith("sessions:")
        and (dev is None or s["timer"] == f"sessions:{dev}")
    ]


def _stale_arrival(steps):
    last = steps[-1]
    assert last["act"] == "deliver" and last["node"] == "hs" and "session" in last["msg"]
    assert any(m.get("error") == "stale session" for _, m in last["sends"])
    dev, sid = last["src"], last["msg"]["session"]
    # The session it names had ended: it expired before this request arrived.
    assert sid is not None
    assert any(steps[j]["timer"] == f"sessions:{dev}" for j in _expiries(steps))
    return last


def _stale_session(steps):
    _stale_arrival(steps)


def _expiry_during_action(steps):
    assert "aid" in _stale_arrival(steps)["msg"], "an action request"


def _session_number(sid):
    return -1 if sid is None else int(sid.rsplit("~", 1)[1])


def _session_expiry_between_actions(steps):
    expired = _expiries(steps)
    assert expired
    dev = steps[expired[0]]["timer"].split(":", 1)[1]
    renewed = [
        j
        for j, s in enumerate(steps)
        if _deliver(s, dev, "answer")
        and s["msg"].get("error") == "stale session"
        and _session_number(s["msg"]["session"]) >= 1
    ]
    assert renewed and renewed[0] > expired[0]


def _renewed_on_several_devices(steps):
    renewed: dict[str, set] = {}
    for s in steps:
        if s["node"] != "hs" or s["act"] != "deliver":
            continue
        for dst, m in s["sends"]:
            if "rid" in m and _session_number(m.get("session")) >= 1:
                renewed.setdefault(s["msg"]["whoami"], set()).add(dst)
    assert any(len(devs) >= 2 for devs in renewed.values()), renewed


def _retransmission_race(steps):
    last = steps[-1]
    assert last["act"] == "deliver" and last["node"].startswith("hs") and "txn" in last["msg"]
    req, dev = last["msg"], last["src"]
    # Sent by the device itself: its retry timer, or its re-send on a stale failure.
    resend = steps[last["sent"]]
    assert resend["node"] == dev and resend["act"] in ("timer", "deliver")
    applied = [
        j
        for j, s in enumerate(steps[:-1])
        if s["act"] == "deliver"
        and s["node"] == last["node"]
        and s["msg"].get("txn") == req["txn"]
        and s["src"] == dev
    ]
    assert applied, "the action had reached the server before"
    # ... and was applied: answered with its event then, or later (a join
    # through another server is answered when that server replies).
    answered = [
        j
        for j, s in enumerate(steps[:-1])
        if j >= applied[0]
        and any(
            d == dev and m.get("ok") and "event_id" in m and m.get("aid") == req["aid"]
            for d, m in s["sends"]
        )
    ]
    assert answered, "the action had been applied before"


def _unknown_hash_refused(steps):
    last = steps[-1]
    assert _deliver(last, "hs", "caps")
    h = last["msg"]["hash"]
    assert any(m.get("error") == "unknown capability hash" for _, m in last["sends"])
    uploaded = [
        m.get("hash") for s in steps[:-1] if _deliver(s, "hs", "caps_upload") for _, m in s["sends"]
    ]
    assert h not in uploaded


def _hash_looked_up(steps):
    last = steps[-1]
    assert _deliver(last, "hs", "caps_lookup")
    asker, h = last["src"], last["msg"]["hash"]
    # The device asked because it was shown a presence with a hash it did not know.
    shown = steps[last["sent"]]
    assert shown["node"] == asker
    assert _shown(shown, lambda ev: ev["type"] == "m.presence" and ev["caps"] == h)


def _answers_with_event(step, dev):
    return _deliver(step, dev, "result") and step["msg"]["ok"] and "event_id" in step["msg"]


def _brings(step, dev, eid):
    return (
        step["act"] == "deliver"
        and step["node"] == dev
        and any(e["event"].get("event_id") == eid for e in step["msg"].get("events", []))
    )


def _response_after_stream(steps):
    last = steps[-1]
    assert _answers_with_event(last, last["node"])
    eid, dev = last["msg"]["event_id"], last["node"]
    assert any(_brings(s, dev, eid) for s in steps[:-1]), "the event came first"


def _stream_after_response(steps):
    last = steps[-1]
    dev = last["node"]
    assert last["act"] == "deliver" and last["msg"]["type"] == "stream"
    mine = [e["event"].get("event_id") for e in last["msg"]["events"]]
    answered = [
        j
        for j, s in enumerate(steps[:-1])
        if _answers_with_event(s, dev) and s["msg"]["event_id"] in mine
    ]
    assert answered, "the answer with this event's ID came first"
    eid = steps[answered[0]]["msg"]["event_id"]
    assert not any(_brings(s, dev, eid) for s in steps[: answered[0]])


RACES = {
    "response_after_stream": _response_after_stream,
    "stream_after_response": _stream_after_response,
    "unknown_hash_refused": _unknown_hash_refused,
    "hash_looked_up": _hash_looked_up,
    "stale_session": _stale_session,
    "expiry_during_action": _expiry_during_action,
    "session_expiry_between_actions": _session_expiry_between_actions,
    "renewed_on_several_devices": _renewed_on_several_devices,
    "retransmission_race": _retransmission_race,
    "wish_overtaken": _wish_overtaken,
    "typing_seen": _typing_seen,
    "offline_seen": _offline_seen,
}


@pytest.mark.parametrize(("name", "guard"), [(n, g) for n in SCENARIOS for g in _guards(n)])
def test_bundled_witness_shows_the_race(name, guard):
    checked = _checked(name)
    actions = checked.report.witnesses[guard]
    assert turns_true(checked.system, guard, actions) == len(actions) - 1
    RACES[guard](records(checked.system, actions))


def _first_input_only(raw):
    raw["workload"] = raw["workload"][:1]


def _no_session_timeout(raw):
    hs = next(n for n in raw["nodes"] if n["name"] == "hs")
    hs["config"]["sessions"].pop("session_timeout_ms", None)


def _no_caps(raw):
    for n in raw["nodes"]:
        n["config"].get("capabilities", {}).pop("caps", None)


def _no_stream(raw):
    for n in raw["nodes"]:
        if n["kind"] == "device":
            n["config"]["stream"] = {"open": False}


def _presence_only(raw):
    raw["workload"] = [w for w in raw["workload"] if w["input"]["op"] == "presence"]


@pytest.mark.parametrize(
    ("name", "edit", "guards"),
    [
        ("presence-order", _first_input_only, ["wish_overtaken"]),
        ("typing-presence", _presence_only, ["typing_seen", "offline_seen"]),
        (
            "session-expiry-devices",
            _no_session_timeout,
            [
                "session_expiry_between_actions",
                "stale_session",
                "expiry_during_action",
                "renewed_on_several_devices",
            ],
        ),
        ("session-expiry-order", _no_session_timeout, ["stale_session", "expiry_during_action"]),
        ("capabilities", _no_caps, ["unknown_hash_refused", "hash_looked_up"]),
        ("local-echo", _no_stream, ["response_after_stream", "stream_after_response"]),
    ],
)
def test_guard_is_vacuous_where_its_race_cannot_happen(name, edit, guards):
    checked = check(name, edit=edit)
    assert checked.report.complete
    got = {g: checked.report.verdicts.get(g) for g in guards}
    assert got == dict.fromkeys(guards, "vacuous")


# -- the parts, step by step -----------------------------------------------------------

SWITCHES = {
    "state_resolution": "v2",
    "omit_superseded_state": True,
    "rejected_events": True,
    "stale_session_renewal": "per_request",
    "presence_typing_order": "arrival",
    "presence_of_user": "any_session",
}
CONFIG = {
    "rooms": {"genesis": [{"room": "!r:hs", "creator": "@alice:hs"}]},
    "sessions": {"session_timeout_ms": 1000},
    "presence": {},
    "typing": {},
}


def _server(**switches):
    sw = {**SWITCHES, **switches}
    hs = Homeserver("hs", CONFIG, sw)
    state = hs.initial_state()
    ctx = Ctx("hs", sw)
    hs.on_start(ctx, state)
    return hs, state, ctx


def _req(type_, rid, session, **fields):
    base = {"type": type_, "rid": rid, "whoami": "@alice:hs", "out_of_order": False}
    return {**base, "session": session, **fields}


def test_a_stale_session_id_fails_and_brings_a_new_session():
    hs, state, ctx = _server()
    hs.on_message(ctx, state, "a1", _req("presence", 0, None, presence="busy"))
    assert ctx.sent[-1][1] == {"type": "answer", "rid": 0, "ok": True, "session": "a1~0"}
    assert ctx.timers == {"sessions:a1": 1000}
    hs.on_timer(ctx, state, "sessions:a1")
    assert state["presence"]["users"]["@alice:hs"]["presence"] == "offline"
    hs.on_message(ctx, state, "a1", _req("presence", 1, "a1~0", presence="away"))
    answer = ctx.sent[-1][1]
    assert answer["ok"] is False and answer["error"] == "stale session"
    assert answer["session"] == "a1~1"
    seen = state["sessions"]["seen"]
    assert seen == {"stale": True, "expired": True, "overtaken": False, "stale_action": False}


def test_an_overtaken_typing_request_is_ignored_only_under_latest_request():
    for order, typing in (("arrival", {}), ("latest_request", {"a1": ["!r:hs"]})):
        hs, state, ctx = _server(presence_typing_order=order)
        hs.on_message(ctx, state, "a1", _req("typing", 1, None, room="!r:hs", typing=True))
        hs.on_message(ctx, state, "a1", _req("typing", 0, "a1~0", room="!r:hs", typing=False))
        assert state["typing"]["typing"] == typing
        assert state["sessions"]["seen"]["overtaken"]


def test_the_end_of_a_session_ends_its_typing_and_under_any_session_not_the_presence():
    hs, state, ctx = _server()
    hs.on_message(ctx, state, "a1", _req("typing", 0, None, room="!r:hs", typing=True))
    hs.on_message(ctx, state, "a2", _req("presence", 0, None, presence="busy"))
    assert state["typing"]["published"] == {"!r:hs": ["@alice:hs"]}
    hs.on_message(ctx, state, "a1", _req("offline", 1, "a1~0"))
    assert state["typing"]["published"] == {"!r:hs": []}
    assert state["presence"]["users"]["@alice:hs"]["presence"] == "busy"
