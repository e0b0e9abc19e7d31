"""Filters, sessions and capability hashes of the clients model, one rule at a time."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.clientapi import filters as F
from models.clientapi.capabilities import capability_hash, union
from models.clientapi.server import Homeserver
from models.clients import SWITCHES
from sim.node import ConfigError
from sim.world import Effects

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
