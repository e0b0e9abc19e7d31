"""Authorization rules (room-version-1 semantics plus event version 2)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mxsim.models.auth import auth_allows, check_auth
from mxsim.models.auth_events import (
    AuthError,
    auth_types_for_event,
    check_auth_events,
    select_auth_events,
)
from mxsim.models.events import make_event
from mxsim.models.power_levels import named_level, send_level, user_power_level
from mxsim.models.state_keys import state_key_tuple

ROOM = "!r:a.test"
ALICE, BOB, CAROL, DAVE = "@alice:a.test", "@bob:b.test", "@carol:c.test", "@dave:b.test"

_n = 0


def ev(etype: str, sender: str, content: Any = None, state_key: str | None = None, **kw: Any):
    """A test event; ``content=None`` on a state event makes a deletion."""
    global _n
    _n += 1
    kw.setdefault("prev_events", ["$prev"])
    kw.setdefault("depth", 5)
    kw.setdefault("event_id", f"$e{_n}")
    return make_event(
        room_id=ROOM, type=etype, sender=sender, content=content, state_key=state_key, **kw
    )


CREATE = make_event(
    room_id=ROOM,
    type="m.room.create",
    sender=ALICE,
    content={"creator": ALICE},
    state_key="",
    event_id="$create",
)


def member(user: str, membership: str, sender: str | None = None) -> dict:
    return ev("m.room.member", sender or user, {"membership": membership}, user)


def room(
    *,
    levels: dict | None = None,
    join_rule: str | None = "public",
    members: dict[str, str] | None = None,
) -> dict:
    """An auth state: create, power levels, join rules and memberships."""
    state = {("m.room.create", ""): CREATE}
    if levels is not None:
        state[("m.room.power_levels", "")] = ev("m.room.power_levels", ALICE, levels, "")
    if join_rule is not None:
        state[("m.room.join_rules", "")] = ev(
            "m.room.join_rules", ALICE, {"join_rule": join_rule}, ""
        )
    for user, membership in (members or {ALICE: "join"}).items():
        state[("m.room.member", user)] = member(user, membership)
    return state


LEVELS = {"users": {ALICE: 100, BOB: 50}}


def allowed(event: dict, state: dict) -> bool:
    return auth_allows(event, state)


# -- create and the creator's join --------------------------------------------


def test_create_rules() -> None:
    assert allowed(CREATE, {})
    assert not allowed(ev("m.room.create", ALICE, {"creator": ALICE}, ""), {})  # has prev events
    bad_key = make_event(
        room_id=ROOM, type="m.room.create", sender=ALICE, content={}, state_key="x"
    )
    assert not allowed(bad_key, {})
    deleted = make_event(room_id=ROOM, type="m.room.create", sender=ALICE, state_key="")
    assert not allowed(deleted, {})


def test_everything_else_needs_the_create_event() -> None:
    with pytest.raises(AuthError, match="create"):
        check_auth(ev("m.room.message", ALICE, {}), {})


def test_creator_joins_right_after_create() -> None:
    join = ev("m.room.member", ALICE, {"membership": "join"}, ALICE, prev_events=["$create"])
    assert allowed(join, {("m.room.create", ""): CREATE})
    # Anybody else, or later, needs the join rules (default: invite).
    other = ev("m.room.member", BOB, {"membership": "join"}, BOB, prev_events=["$create"])
    assert not allowed(other, {("m.room.create", ""): CREATE})


def test_creator_power_without_power_levels() -> None:
    state = room(levels=None)
    assert user_power_level(ALICE, state) == 100
    assert user_power_level(BOB, state) == 0
    assert named_level(state, "ban") == 50
    assert send_level("m.room.topic", True, state) == 50
    assert allowed(ev("m.room.topic", ALICE, {"topic": "t"}, ""), state)


def test_creator_defaults_to_sender() -> None:
    create = dict(CREATE, content={})
    assert user_power_level(ALICE, {("m.room.create", ""): create}) == 100


# -- joining -------------------------------------------------------------------


def test_join_rules() -> None:
    assert allowed(member(BOB, "join"), room(levels=LEVELS, join_rule="public"))
    assert not allowed(member(BOB, "join"), room(levels=LEVELS, join_rule="invite"))
    assert not allowed(member(BOB, "join"), room(levels=LEVELS, join_rule=None))  # default invite
    assert not allowed(member(BOB, "join"), room(levels=LEVELS, join_rule="private"))
    invited = room(levels=LEVELS, join_rule="invite", members={ALICE: "join", BOB: "invite"})
    assert allowed(member(BOB, "join"), invited)


def test_cannot_join_for_others_or_when_banned() -> None:
    assert not allowed(member(BOB, "join", sender=ALICE), room(levels=LEVELS))
    banned = room(levels=LEVELS, members={ALICE: "join", BOB: "ban"})
    assert not allowed(member(BOB, "join"), banned)


# -- invites, leaving, rejecting -----------------------------------------------


def test_invite() -> None:
    state = room(levels=LEVELS, join_rule="invite")
    assert allowed(member(BOB, "invite", sender=ALICE), state)
    assert not allowed(member(CAROL, "invite", sender=BOB), state)  # BOB is not joined
    strict = room(levels={**LEVELS, "invite": 75}, members={ALICE: "join", BOB: "join"})
    assert not allowed(member(CAROL, "invite", sender=BOB), strict)
    assert allowed(member(CAROL, "invite", sender=ALICE), strict)
    joined = room(levels=LEVELS, members={ALICE: "join", BOB: "join"})
    assert not allowed(member(BOB, "invite", sender=ALICE), joined)
    banned = room(levels=LEVELS, members={ALICE: "join", BOB: "ban"})
    assert not allowed(member(BOB, "invite", sender=ALICE), banned)
    third_party = ev(
        "m.room.member", ALICE, {"membership": "invite", "third_party_invite": {}}, BOB
    )
    assert not allowed(third_party, room(levels=LEVELS))


def test_leave_and_reject_invite() -> None:
    joined = room(levels=LEVELS, members={ALICE: "join", BOB: "join"})
    assert allowed(member(BOB, "leave"), joined)
    invited = room(levels=LEVELS, members={ALICE: "join", BOB: "invite"})
    assert allowed(member(BOB, "leave"), invited)  # rejecting the invite
    # The proposal rejects an invite by deleting the member event.
    assert allowed(ev("m.room.member", BOB, None, BOB), invited)
    outsider = room(levels=LEVELS)
    assert not allowed(member(BOB, "leave"), outsider)


def test_kick() -> None:
    state = room(levels=LEVELS, members={ALICE: "join", BOB: "join", CAROL: "join"})
    assert allowed(member(CAROL, "leave", sender=BOB), state)  # 50 >= kick 50, > carol's 0
    assert allowed(member(BOB, "leave", sender=ALICE), state)
    assert not allowed(member(ALICE, "leave", sender=BOB), state)  # alice outranks bob
    equal = room(
        levels={"users": {ALICE: 100, BOB: 50, CAROL: 50}},
        members={ALICE: "join", BOB: "join", CAROL: "join"},
    )
    assert not allowed(member(CAROL, "leave", sender=BOB), equal)
    high_kick = room(
        levels={**LEVELS, "kick": 75}, members={ALICE: "join", BOB: "join", CAROL: "join"}
    )
    assert not allowed(member(CAROL, "leave", sender=BOB), high_kick)
    # Deleting someone else's member event is a kick.
    assert allowed(ev("m.room.member", BOB, None, CAROL), state)


def test_ban_and_unban() -> None:
    state = room(levels=LEVELS, members={ALICE: "join", BOB: "join", CAROL: "join"})
    assert allowed(member(CAROL, "ban", sender=BOB), state)
    assert allowed(member(DAVE, "ban", sender=BOB), state)  # not in the room: fine
    assert not allowed(member(ALICE, "ban", sender=BOB), state)
    assert not allowed(member(BOB, "ban", sender=CAROL), state)
    banned = room(levels={**LEVELS, "ban": 60}, members={ALICE: "join", BOB: "join", CAROL: "ban"})
    assert not allowed(member(CAROL, "leave", sender=BOB), banned)  # unban needs ban level
    assert allowed(member(CAROL, "leave", sender=ALICE), banned)
    assert not allowed(member(CAROL, "leave"), banned)  # can't lift one's own ban


def test_bad_memberships() -> None:
    state = room(levels=LEVELS)
    assert not allowed(ev("m.room.member", ALICE, {"membership": "knock"}, BOB), state)
    assert not allowed(ev("m.room.member", ALICE, {}, BOB), state)
    assert not allowed(ev("m.room.member", ALICE, {"membership": "join"}, "not-a-user"), state)


# -- sending -------------------------------------------------------------------


def test_sender_must_be_joined() -> None:
    state = room(levels=LEVELS, members={ALICE: "join", BOB: "leave"})
    assert allowed(ev("m.room.message", ALICE, {"body": "hi"}), state)
    assert not allowed(ev("m.room.message", BOB, {"body": "hi"}), state)
    assert not allowed(ev("m.room.message", CAROL, {"body": "hi"}), state)


def test_send_levels() -> None:
    members = {ALICE: "join", BOB: "join", CAROL: "join"}
    state = room(levels=LEVELS, members=members)
    assert allowed(ev("m.room.message", CAROL, {}), state)
    assert not allowed(ev("m.room.topic", CAROL, {"topic": "t"}, ""), state)  # state_default 50
    assert allowed(ev("m.room.topic", BOB, {"topic": "t"}, ""), state)
    custom = room(
        levels={**LEVELS, "events": {"m.room.topic": 0}, "events_default": 10}, members=members
    )
    assert allowed(ev("m.room.topic", CAROL, {"topic": "t"}, ""), custom)
    assert not allowed(ev("m.room.message", CAROL, {}), custom)
    # Levels given as strings of digits count, as in room versions 1-9.
    stringy = room(levels={"users": {ALICE: "100", BOB: "50"}}, members=members)
    assert allowed(ev("m.room.topic", BOB, {"topic": "t"}, ""), stringy)


def test_power_level_changes() -> None:
    members = {ALICE: "join", BOB: "join", CAROL: "join"}
    state = room(levels={"users": {ALICE: 100, BOB: 50, CAROL: 50}}, members=members)

    def pl(sender: str, content: dict) -> bool:
        return allowed(ev("m.room.power_levels", sender, content, ""), state)

    assert pl(ALICE, {"users": {ALICE: 100, BOB: 0, CAROL: 50}})
    assert pl(BOB, {"users": {ALICE: 100, BOB: 50, CAROL: 50, DAVE: 50}})  # up to own level
    assert not pl(BOB, {"users": {ALICE: 100, BOB: 50, CAROL: 50, DAVE: 60}})  # above own
    assert not pl(BOB, {"users": {ALICE: 100, BOB: 50, CAROL: 0}})  # a peer at own level
    assert pl(BOB, {"users": {ALICE: 100, BOB: 10, CAROL: 50}})  # demoting oneself
    assert not pl(BOB, {"users": {ALICE: 0, BOB: 50, CAROL: 50}})  # a superior
    assert not pl(BOB, {"users": {ALICE: 100, BOB: 50, CAROL: 50}, "ban": 75})
    assert pl(BOB, {"users": {ALICE: 100, BOB: 50, CAROL: 50}, "ban": 40})
    assert not pl(BOB, {"users": {ALICE: 100, BOB: 50, CAROL: 50}, "events": {"x": 99}})
    low = room(levels=LEVELS, members=members)  # carol has 0 < state_default 50
    assert not allowed(ev("m.room.power_levels", CAROL, {**LEVELS, "events_default": 0}, ""), low)
    assert not pl(ALICE, {"users": {"not-a-user": 5}})
    assert not pl(ALICE, {"users": {BOB: "lots"}})
    assert not pl(ALICE, {"users": [BOB]})
    assert not allowed(ev("m.room.power_levels", ALICE, None, ""), state)  # no deleting


def test_first_power_levels_are_free() -> None:
    state = room(levels=None)
    assert allowed(ev("m.room.power_levels", ALICE, {"users": {ALICE: 1000, BOB: 999}}, ""), state)


def test_redaction() -> None:
    members = {ALICE: "join", CAROL: "join"}
    state = room(levels=LEVELS, members=members)
    assert allowed(ev("m.room.redaction", ALICE, {}, redacts="$x:b.test"), state)
    # Below the redact level: same server (room v1), or IDs without servers (checked later).
    assert allowed(ev("m.room.redaction", CAROL, {}, redacts="$x", event_id="$r"), state)
    low = make_event(
        room_id=ROOM,
        type="m.room.redaction",
        sender=CAROL,
        content={},
        depth=3,
        redacts="$x:b.test",
        event_id="$r:c.test",
    )
    assert not allowed(low, state)
    assert allowed(dict(low, redacts="$y:c.test"), state)
    assert not allowed(dict(low, redacts=None), state)


# -- event version 2 -----------------------------------------------------------


def test_state_key_prefixes() -> None:
    members = {ALICE: "join", BOB: "join", CAROL: "join"}
    state = room(levels={**LEVELS, "events": {"state:prefs": 0}}, members=members)

    def send(sender: str, key: str) -> bool:
        return allowed(ev("state:prefs", sender, {"v": 1}, key), state)

    assert send(CAROL, "_")
    assert send(CAROL, "_anything")
    assert send(CAROL, CAROL) and send(CAROL, CAROL + "/theme")
    assert not send(CAROL, BOB + "/theme")  # not carol's, and carol is no op
    assert send(BOB, ALICE + "/theme")  # bob has 50 = state_default: a room op
    state[("m.room.power_levels", "")]["content"]["state_default"] = 60
    assert not send(BOB, ALICE + "/theme")  # ...no longer
    assert send(BOB, BOB + "/theme")
    assert send(CAROL, "c.test/bridge")
    assert not send(CAROL, "b.test/bridge")
    assert not send(ALICE, "b.test")  # even the creator: only b.test's users


def test_type_prefixes() -> None:
    state = room(levels=LEVELS)
    assert allowed(ev("state:x", ALICE, {}, "_"), state)
    assert not allowed(ev("state:x", ALICE, {}), state)
    assert allowed(ev("message:x", ALICE, {}), state)
    assert not allowed(ev("message:x", ALICE, {}, "_"), state)
    assert not allowed(ev("ephemeral:m.typing", ALICE, {}), state)


def test_deletions() -> None:
    state = room(levels=LEVELS, members={ALICE: "join", CAROL: "join"})
    assert allowed(ev("m.room.topic", ALICE, None, "_"), state)
    assert not allowed(ev("m.room.topic", CAROL, None, "_"), state)


def test_federation_switch() -> None:
    state = room(levels=LEVELS, members={ALICE: "join", BOB: "join", DAVE: "invite"})
    state[("m.room.create", "")] = dict(CREATE, content={"creator": ALICE, "m.federate": False})
    assert not allowed(ev("m.room.message", BOB, {}), state)
    assert not allowed(member(BOB, "join"), state)
    assert allowed(ev("m.room.message", ALICE, {}), state)


def test_aliases_special_case() -> None:
    state = room(levels=LEVELS, members={ALICE: "join"})
    assert allowed(ev("m.room.aliases", BOB, {"aliases": []}, "b.test"), state)  # not joined
    assert not allowed(ev("m.room.aliases", BOB, {"aliases": []}, "a.test"), state)


def test_other_room() -> None:
    state = room(levels=LEVELS)
    other = make_event(
        room_id="!other:a.test", type="m.room.message", sender=ALICE, content={}, depth=3
    )
    assert not allowed(other, state)


# -- auth event selection --------------------------------------------------------


def test_auth_types_for_event() -> None:
    assert auth_types_for_event(CREATE) == []
    msg = ev("m.room.message", BOB, {})
    assert auth_types_for_event(msg) == [
        ("m.room.create", ""),
        ("m.room.member", BOB),
        ("m.room.power_levels", ""),
    ]
    join = member(BOB, "join")
    assert ("m.room.join_rules", "") in auth_types_for_event(join)
    leave = member(CAROL, "leave", sender=BOB)
    assert ("m.room.join_rules", "") not in auth_types_for_event(leave)
    assert ("m.room.member", CAROL) in auth_types_for_event(leave)


def test_select_and_check_auth_events() -> None:
    state = room(levels=LEVELS, members={ALICE: "join", BOB: "invite"})
    ids = {state_key_tuple(e): e["event_id"] for e in state.values()}
    by_id = {e["event_id"]: e for e in state.values()}
    join = member(BOB, "join")
    chosen = select_auth_events(join, ids)
    assert chosen == sorted(chosen)
    assert len(chosen) == 4  # create, power levels, join rules, bob's invite
    own = check_auth_events(join, [by_id[i] for i in chosen])
    check_auth(join, own)
    with pytest.raises(AuthError, match="two auth events"):
        check_auth_events(join, [by_id[i] for i in chosen] + [dict(CREATE, event_id="$c2")])
    with pytest.raises(AuthError, match="does not authorize"):
        check_auth_events(join, [CREATE, state[("m.room.member", ALICE)]])
    with pytest.raises(AuthError, match="no m.room.create"):
        check_auth_events(join, [state[("m.room.power_levels", "")]])
    with pytest.raises(AuthError, match="rejected"):
        check_auth_events(join, [CREATE], rejected={"$create"})
    with pytest.raises(AuthError, match="not a state event"):
        check_auth_events(join, [CREATE, ev("m.room.message", ALICE, {})])


# -- robustness ------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=4),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)
names = st.sampled_from(
    [
        "users",
        "users_default",
        "events",
        "events_default",
        "state_default",
        "ban",
        "kick",
        "invite",
        "redact",
        "membership",
        "join_rule",
        "creator",
        "m.federate",
    ]
)
contents = st.dictionaries(names | st.text(max_size=3), json_values, max_size=5)


@settings(max_examples=300, deadline=None)
@given(
    etype=st.sampled_from(
        [
            "m.room.member",
            "m.room.power_levels",
            "m.room.join_rules",
            "m.room.message",
            "m.room.redaction",
            "m.room.aliases",
            "m.room.create",
            "state:x",
            "ephemeral:y",
        ]
    ),
    sender=st.sampled_from([ALICE, BOB, "b.test", ""]),
    state_key=st.none() | st.sampled_from(["", "_", ALICE, BOB, "b.test/x", "@", "x"]),
    content=st.none() | contents,
    pl_content=contents,
    jr_content=contents,
    member_content=contents,
)
def test_malformed_content_only_fails_auth(
    etype, sender, state_key, content, pl_content, jr_content, member_content
) -> None:
    event = ev(etype, sender, content, state_key)
    state = room(levels=LEVELS, members={ALICE: "join", BOB: "join"})
    state[("m.room.power_levels", "")]["content"] = pl_content
    state[("m.room.join_rules", "")]["content"] = jr_content
    state[("m.room.member", BOB)]["content"] = member_content
    try:
        check_auth(event, state)
    except AuthError:
        pass
    auth_types_for_event(event)
