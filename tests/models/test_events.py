"""Events as plain data and the proposal's event-version-2 rules."""

from __future__ import annotations

import doctest
import json
import marshal

import pytest
from hypothesis import given
from hypothesis import strategies as st

import mxsim.models.auth
import mxsim.models.auth_events
import mxsim.models.event_kinds
import mxsim.models.events
import mxsim.models.power_levels
import mxsim.models.resolve_file
import mxsim.models.state_keys
import mxsim.models.stateres
import mxsim.models.stateres_depth
import mxsim.models.stateres_v2
from mxsim.models.event_kinds import event_kind, type_kind, type_name
from mxsim.models.events import (
    canonical_json,
    compute_event_id,
    content_of,
    is_deletion,
    is_state,
    make_event,
    membership_of,
)
from mxsim.models.state_keys import (
    canonical_state_key,
    domain_of,
    state_key_owner,
    state_key_permitted,
    state_key_tuple,
)

ROOM = "!r:a.test"


@pytest.mark.parametrize(
    "module",
    [
        mxsim.models.events,
        mxsim.models.event_kinds,
        mxsim.models.state_keys,
        mxsim.models.auth,
        mxsim.models.auth_events,
        mxsim.models.power_levels,
        mxsim.models.stateres,
        mxsim.models.stateres_v2,
        mxsim.models.stateres_depth,
        mxsim.models.resolve_file,
    ],
)
def test_doctests(module) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0


def test_state_and_deletion() -> None:
    topic = {"type": "m.room.topic", "state_key": "", "content": {"topic": "x"}}
    assert is_state(topic) and not is_deletion(topic)
    deleted = {"type": "m.room.topic", "state_key": ""}
    assert is_state(deleted) and is_deletion(deleted)
    assert content_of(deleted) == {}
    message = {"type": "m.room.message", "content": {}}
    assert not is_state(message) and not is_deletion(message)
    assert not is_state({"type": "x", "state_key": None})


def test_membership_of() -> None:
    assert membership_of(None) is None
    assert membership_of({"state_key": "@a:x", "content": {"membership": "ban"}}) == "ban"
    assert membership_of({"state_key": "@a:x"}) == "leave"  # a deletion rejects/leaves
    assert membership_of({"state_key": "@a:x", "content": {"membership": 3}}) is None


def test_state_key_spellings() -> None:
    assert canonical_state_key("_") == ""
    assert canonical_state_key("") == ""
    assert canonical_state_key("_x") == "_x"
    assert state_key_tuple({"type": "t", "state_key": "_"}) == ("t", "")
    assert state_key_tuple({"type": "t", "state_key": "@a:x"}) == ("t", "@a:x")
    with pytest.raises(ValueError):
        state_key_tuple({"type": "m.room.message"})


@pytest.mark.parametrize(
    ("event_type", "kind"),
    [
        ("state:com.example.poll", "state"),
        ("message:com.example.chat", "message"),
        ("ephemeral:m.typing", "ephemeral"),
        ("m.room.create", "state"),
        ("m.room.member", "state"),
        ("m.room.power_levels", "state"),
        ("m.room.join_rules", "state"),
        ("m.room.message", "message"),
        ("m.typing", "ephemeral"),
        ("com.example.unknown", None),
    ],
)
def test_type_kind(event_type: str, kind: str | None) -> None:
    assert type_kind(event_type) == kind


def test_event_kind_falls_back_on_state_key() -> None:
    assert event_kind({"type": "com.example.x", "state_key": "_"}) == "state"
    assert event_kind({"type": "com.example.x"}) == "message"
    assert event_kind({"type": "ephemeral:x", "state_key": "_"}) == "ephemeral"
    assert type_name("state:m.room.topic") == "m.room.topic"
    assert type_name("m.room.topic") == "m.room.topic"


def test_domain_of() -> None:
    assert domain_of("@a:b.test") == "b.test"
    assert domain_of("@a:b.test:8448") == "b.test:8448"
    assert domain_of("b.test") == "b.test"
    assert domain_of("$abc") == "$abc"


@pytest.mark.parametrize(
    ("state_key", "owner"),
    [
        ("", ("anyone", "")),
        ("_", ("anyone", "")),
        ("_anything/at@all", ("anyone", "")),
        ("@bob:b.test", ("user", "@bob:b.test")),
        ("@bob:b.test/a/b", ("user", "@bob:b.test")),
        ("@bob/x:b.test/p", ("user", "@bob/x:b.test")),  # '/' may sit in a localpart
        ("b.test", ("server", "b.test")),
        ("b.test/bridge/1", ("server", "b.test")),
        ("b.test:8448/p", ("server", "b.test:8448")),
    ],
)
def test_state_key_owner(state_key: str, owner: tuple[str, str]) -> None:
    assert state_key_owner(state_key) == owner


def _state(sender: str, state_key: str) -> dict:
    return {"type": "state:x.y", "sender": sender, "state_key": state_key, "content": {}}


def test_state_key_permitted() -> None:
    alice, bob = "@alice:a.test", "@bob:b.test"
    # `_` keys: no restriction.
    assert state_key_permitted(_state(bob, "_"), power_ok=False)
    assert state_key_permitted(_state(bob, "_mine"), power_ok=False)
    # `@user[/path]`: that user, or a room op.
    assert state_key_permitted(_state(bob, bob), power_ok=False)
    assert state_key_permitted(_state(bob, bob + "/settings"), power_ok=False)
    assert not state_key_permitted(_state(bob, alice), power_ok=False)
    assert not state_key_permitted(_state(bob, alice + "/x"), power_ok=False)
    assert state_key_permitted(_state(bob, alice + "/x"), power_ok=True)
    # `server.name/path`: only senders on that server, whatever their power.
    assert state_key_permitted(_state(bob, "b.test/bridge"), power_ok=False)
    assert not state_key_permitted(_state(alice, "b.test/bridge"), power_ok=True)
    assert state_key_permitted(_state("b.test", "b.test"), power_ok=False)  # a server sender
    # Non-state events are not concerned.
    assert state_key_permitted({"type": "m.room.message", "sender": bob}, power_ok=False)


def test_make_event_is_deterministic_and_plain() -> None:
    kwargs = dict(
        room_id=ROOM,
        type="m.room.topic",
        sender="@a:a.test",
        content={"topic": "hello"},
        state_key="",
        prev_events=["$p"],
        auth_events=["$c"],
        depth=2,
        origin_server_ts=5,
    )
    one, two = make_event(**kwargs), make_event(**kwargs)
    assert one == two
    assert one["event_id"].startswith("$") and len(one["event_id"]) == 21
    assert make_event(**{**kwargs, "content": {"topic": "other"}})["event_id"] != one["event_id"]
    # JSON-able, marshal-able, and the id is the hash of the rest.
    assert json.loads(canonical_json(one)) == one
    assert marshal.loads(marshal.dumps(one)) == one
    assert compute_event_id(one) == one["event_id"]


def test_make_event_variants() -> None:
    content = {"nested": {"list": [1]}}
    ev = make_event(
        room_id=ROOM, type="m.room.message", sender="@a:a.test", content=content, depth=3
    )
    content["nested"]["list"].append(2)
    assert ev["content"] == {"nested": {"list": [1]}}, "content is copied"
    assert "state_key" not in ev
    assert make_event(room_id=ROOM, type="x", sender="@a:a.test", depth=1)["content"] == {}
    deletion = make_event(
        room_id=ROOM, type="m.room.topic", sender="@a:a.test", state_key="_", depth=4
    )
    assert is_deletion(deletion) and "content" not in deletion
    given_id = make_event(room_id=ROOM, type="x", sender="@a:a.test", depth=1, event_id="$mine")
    assert given_id["event_id"] == "$mine"
    redaction = make_event(
        room_id=ROOM, type="m.room.redaction", sender="@a:a.test", depth=2, redacts="$x"
    )
    assert redaction["redacts"] == "$x"


def test_make_event_depth() -> None:
    known = {"$a": {"depth": 4}, "$b": {"depth": 9}}
    ev = make_event(
        room_id=ROOM, type="x", sender="@a:a.test", prev_events=["$a", "$b"], known=known
    )
    assert ev["depth"] == 10
    assert (
        make_event(room_id=ROOM, type="m.room.create", sender="@a:a.test", state_key="")["depth"]
        == 1
    )
    with pytest.raises(ValueError):
        make_event(room_id=ROOM, type="x", sender="@a:a.test", prev_events=["$a"])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)


@given(content=st.dictionaries(st.text(max_size=5), json_values, max_size=4))
def test_event_id_survives_a_json_round_trip(content: dict) -> None:
    ev = make_event(room_id=ROOM, type="x", sender="@a:a.test", content=content, depth=1)
    again = json.loads(json.dumps(ev))
    assert compute_event_id(again) == ev["event_id"]
