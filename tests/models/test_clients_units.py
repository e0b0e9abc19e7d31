"""Filters, sessions and capability hashes of the clients model, one rule at a time."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mxsim.models.clientapi import filters as F
from mxsim.models.clientapi.capabilities import capability_hash, union
from mxsim.models.clientapi.server import Homeserver
from mxsim.models.clients import SWITCHES
from mxsim.sim.effects import Effects
from mxsim.sim.node import ConfigError

DEFAULTS = {s.name: s.default for s in SWITCHES}


# -- filters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "etype", "hit"),
    [
        ("m.room.*", "m.room.message", True),
        ("m.room.*", "m.room.member", True),
        ("m.room.*", "m.presence", False),
        ("m.*", "m.typing", True),
        ("m.typing", "m.typing", True),
        ("m.typing", "m.typing.extra", False),
        ("*", "anything.at.all", True),
    ],
)
def test_event_type_wildcards(pattern, etype, hit):
    assert F.type_matches(pattern, etype) is hit


def test_filter_selects_rooms_and_presence_users():
    f = F.normalise({"rooms": ["!a"], "users": ["@x:hs"]})
    assert F.matches(f, {"type": "m.room.message", "room": "!a"})
    assert not F.matches(f, {"type": "m.room.message", "room": "!b"})
    assert F.matches(f, {"type": "m.presence", "user": "@x:hs"})
    assert not F.matches(f, {"type": "m.presence", "user": "@y:hs"})
    assert not F.matches(f, {"type": "m.typing", "room": "!b", "users": []})


def test_negative_filters_only_when_honoured():
    f = F.normalise({"not_types": ["m.room.member"]})
    member = {"type": "m.room.member", "room": "!a"}
    assert not F.matches(f, member)
    assert F.matches(f, member, negative=False)


def test_no_filter_means_all_the_things():
    f = F.normalise(None)
    assert f["limit"] == F.DEFAULT_LIMIT
    assert F.matches(f, {"type": "x.custom", "room": "!z"})


def test_bad_filter_names_the_field():
    with pytest.raises(ConfigError) as e:
        F.check({"types": "m.room.*"})
    assert e.value.field == "filter.types"


def _server(**config):
    node = Homeserver("hs", config, DEFAULTS)
    state = node.initial_state()
    node.on_start(Effects("hs", DEFAULTS), state)
    return node, state


def _req(node, state, op, rid=0, session=None, **fields):
    ctx = Effects("hs", DEFAULTS)
    msg = {"type": "req", "rid": rid, "session": session, "user": "@a:hs", "op": op, **fields}
    node.on_message(ctx, state, "a1", msg)
    return ctx


def test_an_expired_filter_token_is_refused_clearly():
    node, state = _server(filter_ttl_ms=100)
    ctx = _req(node, state, "filter", filter={"types": ["m.room.*"]})
    token = ctx.sends[0][1]["token"]
    assert ["filter:" + token, 100_000] in ctx.record()["set"]
    sid = ctx.sends[0][1]["session"]
    ok = _req(node, state, "sync", rid=1, session=sid, filter=token, since=None)
    assert ok.sends[0][1]["ok"]
    node.on_timer(Effects("hs", DEFAULTS), state, "filter:" + token)
    refused = _req(node, state, "sync", rid=2, session=sid, filter=token, since=None)
    assert refused.sends[0][1] == {
        "type": "resp",
        "rid": 2,
        "ok": False,
        "session": sid,
        "error": "unknown filter token",
    }


# -- sessions ------------------------------------------------------------------------------


def test_session_expiry_ends_presence_and_a_stale_id_gets_a_new_session():
    node, state = _server(session_timeout_ms=500)
    ctx = _req(node, state, "presence", presence="busy")
    sid = ctx.sends[0][1]["session"]
    assert ["session:a1", 500_000] in ctx.record()["set"]
    assert state["presence"]["@a:hs"]["presence"] == "busy"
    node.on_timer(Effects("hs", DEFAULTS), state, "session:a1")
    assert state["presence"]["@a:hs"]["presence"] == "offline"
    stale = _req(node, state, "typing", rid=1, session=sid, room="!r", typing=True)
    resp = stale.sends[0][1]
    assert resp["ok"] is False and resp["error"] == "stale session"
    assert resp["session"] != sid and state["sessions"]["a1"]["live"]
    assert state["sessions"]["a1"]["typing"] == []  # the failed request did nothing
    assert state["presence"]["@a:hs"]["presence"] == "online"


# -- capabilities --------------------------------------------------------------------------


def test_capability_hash_is_of_the_set_not_its_order():
    assert capability_hash(["b", "a"]) == capability_hash(["a", "b"])
    assert capability_hash(["a"]) != capability_hash(["a", "b"])
    assert len(capability_hash(["a"])) == 12


@given(st.lists(st.lists(st.sampled_from("abcde"), max_size=4), max_size=4))
def test_union_is_every_capability_once_sorted(sets):
    u = union(sets)
    assert u == sorted(set(u))
    assert set(u) == {c for s in sets for c in s}


def test_unknown_hash_refused_until_uploaded_and_the_user_publishes_the_union():
    node, state = _server()
    h = capability_hash(["voip"])
    refused = _req(node, state, "caps", hash=h)
    assert refused.sends[0][1]["error"] == "unknown capability hash"
    sid = refused.sends[0][1]["session"]
    _req(node, state, "caps_upload", rid=1, session=sid, caps=["voip"])
    assert state["presence"]["@a:hs"]["caps"] == h
    looked = _req(node, state, "caps_lookup", rid=2, session=sid, hash=h)
    assert looked.sends[0][1]["caps"] == ["voip"]


# -- leave, state changes, scrollback -------------------------------------------------------


def _action(node, state, op, rid, session, aid, **fields):
    ctx = _req(node, state, op, rid=rid, session=session, aid=aid, txn=aid, **fields)
    return ctx.sends[0][1]


def test_leave_and_state_are_actions_and_a_leave_ends_typing_there():
    genesis = [{"room": "!r", "creator": "@a:hs", "messages": ["one", "two", "three"]}]
    node, state = _server(genesis=genesis)
    sid = _req(node, state, "typing", room="!r", typing=True).sends[0][1]["session"]
    topic = _action(
        node, state, "send_state", 1, sid, 0, room="!r", event_type="m.room.topic",
        state_key="", content={"topic": "hi"},
    )  # fmt: skip
    assert topic["ok"] and topic["pos"] == state["log"][-1]["order"]
    assert state["log"][-1]["aid"] == 0 and state["log"][-1]["state_key"] == ""
    left = _action(node, state, "leave", 2, sid, 1, room="!r")
    assert left["ok"]
    leave = next(e for e in state["log"] if e.get("event_id") == left["event_id"])
    assert leave["membership"] == "leave" and "@a:hs" in leave["vis"]
    assert state["log"][-1] == {**state["log"][-1], "type": "m.typing", "users": []}
    assert state["sessions"]["a1"]["typing"] == ["!r"]  # the device's wish is kept
    again = _action(node, state, "send", 3, sid, 2, room="!r", body="x")
    assert again == {**again, "ok": False, "error": "not allowed"}


def test_scrollback_returns_older_messages_and_a_new_token():
    genesis = [{"room": "!r", "creator": "@a:hs", "messages": ["one", "two", "three"]}]
    node, state = _server(genesis=genesis)
    three = state["log"][-1]["event_id"]
    first = _req(node, state, "scrollback", room="!r", limit=1, before=three, pos=None)
    resp = first.sends[0][1]
    assert [e["body"] for e in resp["events"]] == ["two"] and resp["more"] is True
    sid = resp["session"]
    rest = _req(
        node, state, "scrollback", rid=1, session=sid, room="!r", limit=5, before=resp["start"]
    ).sends[0][1]
    assert [e["body"] for e in rest["events"]] == ["one"] and rest["more"] is False
    assert all(e["scrollback"] and "action_id" not in e for e in rest["events"])
    nobody = _req(node, state, "scrollback", rid=2, session=sid, room="!x", limit=1, before=None)
    assert nobody.sends[0][1]["error"] == "not in room"


def test_the_device_inserts_scrollback_at_the_start_without_duplicates():
    from mxsim.models.clientapi.device import Device

    dev = Device("a1", {"server": "hs", "user": "@a:hs"}, DEFAULTS)
    state = dev.initial_state()
    state.update(session="a1~0", last_pos=9)
    state["timeline"]["!r"] = ["$3", "~0"]
    state["inflight"]["0"] = {"op": "scrollback", "room": "!r", "tries": 1, "session": "a1~0"}
    events = [
        {"event_id": eid, "order": n, "type": "m.room.message", "room": "!r", "scrollback": True}
        for eid, n in (("$1", 1), ("$2", 2), ("$3", 3))
    ]
    resp = {"type": "resp", "rid": 0, "session": "a1~0", "ok": True, "room": "!r"}
    dev.on_message(
        Effects("a1", DEFAULTS),
        state,
        "hs",
        {**resp, "events": events, "start": "$1", "more": False},
    )
    assert state["timeline"]["!r"] == ["$1", "$2", "$3", "~0"]
    assert state["scroll"]["!r"] == {"start": "$1", "more": False}
    assert state["seen_more"]["scrolled_back"] is True
