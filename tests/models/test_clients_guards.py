"""The clients model's guards: false until their race happens (the initial world,
and a variant of the scenario in which the race cannot occur), and the witness
of every bundled check that lists one shows that race, step by step."""

from __future__ import annotations

import functools

import pytest
from witness import check, initially, system, turns_true

from mxsim.models.clients import MODEL

GUARDS = tuple(p.name for p in MODEL.properties if p.kind == "sometimes")

#: Bundled clients scenarios and the bound their witnesses are found within.
SCENARIOS = {
    "random-clients": 20000,
}


@functools.cache
def _checked(name: str):
    return check(name, max_states=SCENARIOS[name])


def _listed() -> list[tuple[str, str]]:
    out = []
    for name in SCENARIOS:
        for prop in system(name).scenario.properties:
            if prop in GUARDS:
                out.append((name, prop))
    return out


# -- step helpers ---------------------------------------------------------------------


def _is(step: dict, act: str, node: str | None = None, **msg) -> bool:
    if step["act"] != act or (node is not None and step["node"] != node):
        return False
    m = step.get("msg") or {}
    return all(m.get(k) == v for k, v in msg.items())


def _events(msg: dict) -> list[dict]:
    """Room entries a message brings a device (stream batch or sync response)."""
    out = list(msg.get("events", []))
    for info in msg.get("rooms", {}).values():
        out.extend(info["events"])
    return out + list(msg.get("presence", []))


def _sent_reqs(step: dict) -> list[dict]:
    return [m for _, m in step["sends"] if m.get("type") == "req"]


def _session_number(sid: str | None) -> int:
    return -1 if sid is None else int(sid.rsplit("~", 1)[1])


# -- what each guard's race looks like in a witness ---------------------------------------
#
# Each takes the witness's step records; the last step is the one after which
# the guard first holds (test_guard_turns_true_on_the_last_step).

RACES = {}


def race(guard: str):
    def register(fn):
        RACES[guard] = fn
        return fn

    return register


@race("response_after_stream")
def _response_after_stream(steps):
    last = steps[-1]
    assert _is(last, "deliver", type="resp", ok=True) and "event_id" in last["msg"]
    eid, dev = last["msg"]["event_id"], last["node"]
    assert any(
        s["act"] == "deliver"
        and s["node"] == dev
        and any(e.get("event_id") == eid for e in _events(s["msg"]))
        for s in steps[:-1]
    ), "the event came to the device before the response"


@race("stream_after_response")
def _stream_after_response(steps):
    last = steps[-1]
    dev = last["node"]
    assert last["act"] == "deliver"
    mine = [e["event_id"] for e in _events(last["msg"]) if "event_id" in e]
    answered = [
        j
        for j, s in enumerate(steps[:-1])
        if _is(s, "deliver", dev, type="resp", ok=True) and s["msg"].get("event_id") in mine
    ]
    assert answered, "the response with this event's ID came first"
    eid = steps[answered[0]]["msg"]["event_id"]
    assert not any(
        s["act"] == "deliver"
        and s["node"] == dev
        and any(e.get("event_id") == eid for e in _events(s["msg"]))
        for s in steps[: answered[0]]
    )


@race("retransmission_after_lost_response")
def _retransmission_after_lost_response(steps):
    last = steps[-1]
    assert _is(last, "deliver", type="req") and "txn" in last["msg"]
    req, dev = last["msg"], last["src"]
    # Sent by the device itself: its retry timer, or its re-send on a stale failure.
    resend = steps[last["sent"]]
    assert resend["node"] == dev and resend["act"] in ("timer", "deliver")
    # The action had been applied before (the server answered it "ok")...
    applied = [
        j
        for j, s in enumerate(steps[:-1])
        if _is(s, "deliver", "hs", type="req", txn=req["txn"])
        and s["src"] == dev
        and any(m.get("ok") and "event_id" in m for _, m in s["sends"])
    ]
    assert applied
    # ...and its response never reached the device.
    rid = steps[applied[0]]["msg"]["rid"]
    assert any(_is(s, "drop", dev, type="resp", rid=rid) for s in steps[applied[0] :])
    assert not any(_is(s, "deliver", dev, type="resp", rid=rid) for s in steps[:-1])


@race("out_of_order_arrival")
def _out_of_order_arrival(steps):
    last = steps[-1]
    assert _is(last, "deliver", "hs", type="req") and last["msg"]["aid"] > 0
    sid, aid = last["msg"]["session"], last["msg"]["aid"]
    before = {
        s["msg"]["aid"]
        for s in steps[:-1]
        if _is(s, "deliver", "hs", type="req", session=sid) and "aid" in s["msg"]
    }
    assert any(lower not in before for lower in range(aid))


def _expiries(steps, dev=None):
    return [
        j
        for j, s in enumerate(steps)
        if s["act"] == "timer"
        and s["node"] == "hs"
        and s["timer"].startswith("session:")
        and (dev is None or s["timer"] == f"session:{dev}")
    ]


@race("session_expiry_between_actions")
def _session_expiry_between_actions(steps):
    expired = _expiries(steps)
    assert expired
    dev = steps[expired[0]]["timer"].split(":", 1)[1]
    renewed = [
        j
        for j, s in enumerate(steps)
        if _is(s, "deliver", dev, type="resp", error="stale session")
        and _session_number(s["msg"]["session"]) >= 1
    ]
    assert renewed and renewed[0] > expired[0]


def _stale_arrival(steps):
    last = steps[-1]
    assert _is(last, "deliver", "hs", type="req")
    assert any(m.get("error") == "stale session" for _, m in last["sends"])
    dev, sid = last["src"], last["msg"]["session"]
    # The session it names had ended: it expired before this request arrived.
    assert sid is not None
    assert any(steps[j]["timer"] == f"session:{dev}" for j in _expiries(steps)), steps
    return last


@race("stale_session")
def _stale_session(steps):
    _stale_arrival(steps)


@race("expiry_during_action")
def _expiry_during_action(steps):
    last = _stale_arrival(steps)
    assert "aid" in last["msg"], "an action request"


@race("renewed_on_several_devices")
def _renewed_on_several_devices(steps):
    renewed: dict[str, set] = {}
    for s in steps:
        if s["node"] != "hs":
            continue
        for dst, m in s["sends"]:
            if m.get("type") == "resp" and _session_number(m.get("session")) >= 1:
                renewed.setdefault(s["msg"]["user"], set()).add(dst)
    assert any(len(devs) >= 2 for devs in renewed.values()), renewed


@race("wish_overtaken")
def _wish_overtaken(steps):
    last = steps[-1]
    assert _is(last, "deliver", "hs", type="req") and last["msg"]["op"] in ("presence", "typing")
    m = last["msg"]
    later = [
        s
        for s in steps[:-1]
        if _is(s, "deliver", "hs", type="req", op=m["op"])
        and s["src"] == last["src"]
        and s["msg"]["rid"] > m["rid"]
        and s["msg"].get("room") == m.get("room")
    ]
    assert later, "a later request of the device came first"


@race("unknown_hash_refused")
def _unknown_hash_refused(steps):
    last = steps[-1]
    assert _is(last, "deliver", "hs", type="req", op="caps")
    h = last["msg"]["hash"]
    assert any(m.get("error") == "unknown capability hash" for _, m in last["sends"])
    uploaded = [
        m.get("hash")
        for s in steps[:-1]
        if _is(s, "deliver", "hs", op="caps_upload")
        for _, m in s["sends"]
    ]
    assert h not in uploaded


@race("hash_looked_up")
def _hash_looked_up(steps):
    last = steps[-1]
    assert _is(last, "deliver", "hs", type="req", op="caps_lookup")
    asker, h = last["src"], last["msg"]["hash"]
    # The device asked because it was shown a presence with a hash it did not know.
    shown = steps[last["sent"]]
    assert shown["node"] == asker
    assert any(e.get("caps") == h for e in _events(shown["msg"]))


@race("filter_expired")
def _filter_expired(steps):
    last = steps[-1]
    assert _is(last, "deliver", "hs", type="req", op="sync")
    token = last["msg"]["filter"]
    assert any(s["act"] == "timer" and s["timer"] == f"filter:{token}" for s in steps[:-1])
    assert any(m.get("error") == "unknown filter token" for _, m in last["sends"])


@race("joined_elsewhere")
def _joined_elsewhere(steps):
    last = steps[-1]
    dev = last["node"]
    joins = [
        e
        for e in _events(last["msg"])
        if e["type"] == "m.room.member"
        and e.get("membership") == "join"
        and "action_id" not in e
        and not e.get("snapshot")
    ]
    assert joins
    user = joins[0]["state_key"]
    # Another device of that user made the join.
    assert any(
        r.get("op") == "join" and r["user"] == user and s["node"] != dev
        for s in steps
        for r in _sent_reqs(s)
    )


@race("scrolled_back")
def _scrolled_back(steps):
    last = steps[-1]
    assert _is(last, "deliver", type="resp", ok=True) and last["msg"].get("events")
    assert all(e.get("scrollback") for e in last["msg"]["events"])


@race("left_room")
def _left_room(steps):
    last = steps[-1]
    leaves = [
        e
        for e in _events(last["msg"])
        if e["type"] == "m.room.member" and e.get("membership") == "leave"
    ]
    assert last["act"] == "deliver" and leaves
    assert any(
        r.get("op") == "leave" and r["user"] == leaves[0]["state_key"]
        for s in steps
        for r in _sent_reqs(s)
    )


@race("state_echo_placed")
def _state_echo_placed(steps):
    last = steps[-1]
    dev = last["node"]
    made = [
        r for s in steps if s["node"] == dev for r in _sent_reqs(s) if r["op"] in ("leave", "state")
    ]
    assert made, "a state change (or leave) of the device"
    assert last["act"] == "deliver" and last["node"] == dev
    # The step brought the change's event: a state event of the device's user, or
    # the response naming an event the device already had as state.
    user = made[0]["user"]
    events = [e for e in _events(last["msg"]) if "state_key" in e and e["sender"] == user]
    assert events or last["msg"].get("event_id"), last["msg"]


@race("typing_seen")
def _typing_seen(steps):
    last = steps[-1]
    assert last["act"] == "deliver"
    assert any(e["type"] == "m.typing" and e["users"] for e in _events(last["msg"]))


@race("offline_seen")
def _offline_seen(steps):
    last = steps[-1]
    assert last["act"] == "deliver"
    assert any(
        e["type"] == "m.presence" and e["presence"] == "offline" for e in _events(last["msg"])
    )


# -- the tests --------------------------------------------------------------------------


def test_every_guard_has_a_race_check():
    assert sorted(RACES) == sorted(GUARDS)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_guard_is_false_in_the_initial_world(name):
    sys_ = system(name)
    assert [g for g in GUARDS if initially(sys_, g)] == []


@pytest.mark.parametrize(("name", "guard"), _listed())
def test_bundled_witness_shows_the_race(name, guard):
    checked = _checked(name)
    actions = checked.report.witnesses[guard]
    assert turns_true(checked.system, guard, actions) == len(actions) - 1
    RACES[guard](checked.witness(guard))


# -- variants in which a race cannot happen ------------------------------------------------


def _nodes(raw, kind=None):
    return [n for n in raw["nodes"] if kind is None or n["kind"] == kind]


def _config(raw, name):
    return next(n for n in raw["nodes"] if n["name"] == name)["config"]


def _no_retransmission_but_duplicates(raw):
    for n in _nodes(raw, "device"):
        n["config"]["max_tries"] = 1
    raw["check"]["duplicates"] = 1


def _first_input_only(raw):
    raw["workload"] = raw["workload"][:1]


def _no_session_timeout(raw):
    _config(raw, "hs").pop("session_timeout_ms", None)


def _one_device(raw):
    raw["nodes"] = [n for n in raw["nodes"] if n["name"] in ("hs", "alice1")]
    raw["workload"] = [w for w in raw["workload"] if w["node"] == "alice1"]


def _no_filter_ttl(raw):
    _config(raw, "hs").pop("filter_ttl_ms", None)


@pytest.mark.parametrize(
    ("name", "edit", "guards"),
    [],
)
def test_guard_is_vacuous_where_its_race_cannot_happen(name, edit, guards):
    checked = check(name, edit=edit, max_states=SCENARIOS[name])
    assert checked.report.complete
    got = {g: checked.report.verdicts.get(g, "not listed") for g in guards}
    assert got == dict.fromkeys(guards, "vacuous")
