"""Matrix authorization rules for room events (room-version-1 semantics).

The rules decide whether an event may enter a room given the room state it
is checked against (its *auth state*): the ``m.room.create`` event comes
first and alone, membership changes follow the join rules and power levels,
senders must be joined to send, and power levels bound who may change what.
They follow Matrix room versions 1 and 2 as Synapse implements them (so that
Synapse can serve as an oracle for state resolution v2, which runs these
checks), with the proposal's additions and a few mxsim choices:

- Event version 2's state-key prefixes (proposal, "Events (breaking
  changes; event version 2)") replace Matrix's "a state key starting with
  ``@`` must equal the sender": ``@user[/path]`` keys may be set by that user
  or by a room op (power level at least ``state_default``), ``server/path``
  keys only by senders on that server, ``_`` keys by anyone allowed to send
  the type (:func:`models.events.state_key_permitted`). ``m.room.member``
  keys are governed by the membership rules instead.
- A type prefixed ``state:`` must carry a state key, one prefixed
  ``message:`` must not, and an ``ephemeral:`` event never enters a room.
- Deletions (proposal, "Deleting a state event"): deleting an
  ``m.room.member`` event is a ``leave`` (so the invitee deleting their
  invite rejects it, proposal "Rejecting an invite"); ``m.room.create`` and
  ``m.room.power_levels`` cannot be deleted; other deletions need the same
  power as setting the state.
- Malformed content (a power level that is not an integer, a membership that
  is not a string, ...) fails the check instead of raising another error.
- Not modelled: third-party invites (an invite carrying
  ``third_party_invite`` is refused), knocking and restricted joins (later
  room versions).
- A redaction by a sender below the ``redact`` level passes when its ID and
  the redacted ID name the same server (room version 1) or carry no server
  name (room version 3 onward: checked when the redaction is applied).
- A create event without ``content.creator`` names its sender as creator.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping, Sequence
from typing import Any

from mxsim.models.events import (
    ALIASES,
    CREATE,
    CREATE_KEY,
    JOIN_RULES_KEY,
    MEMBER,
    POWER_LEVELS,
    POWER_LEVELS_KEY,
    REDACTION,
    THIRD_PARTY_INVITE,
    Event,
    StateKey,
    content_of,
    domain_of,
    is_deletion,
    is_state,
    membership_of,
    state_key_permitted,
    state_key_tuple,
    type_kind,
)

__all__ = [
    "AuthError",
    "AuthState",
    "NAMED_LEVELS",
    "auth_types_for_event",
    "check_auth",
    "auth_allows",
    "check_auth_events",
    "select_auth_events",
    "user_power_level",
    "named_level",
    "send_level",
    "creator_of",
    "is_user_id",
    "auth_state_from",
]

#: The room state an event is checked against, keyed like room state.
AuthState = Mapping[StateKey, Mapping[str, Any]]

#: Levels named at the top of ``m.room.power_levels`` content, with their
#: defaults when the power-levels event lacks them.
NAMED_LEVELS: Mapping[str, int] = {
    "users_default": 0,
    "events_default": 0,
    "state_default": 50,
    "ban": 50,
    "kick": 50,
    "invite": 0,
    "redact": 50,
}


class AuthError(Exception):
    """An event fails the authorization rules; ``str()`` says why."""


def _int(value: Any, what: str) -> int:
    # Python's int(), as Synapse applies it to power levels in room versions
    # 1-9 (so "50" counts as 50); anything it refuses fails the check.
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        raise AuthError(f"{what} is not an integer: {value!r}") from None


def is_user_id(value: Any) -> bool:
    """True for a string shaped like a Matrix user ID (``@local:server``).

    >>> is_user_id("@a:a.test"), is_user_id("a.test")
    (True, False)
    """
    return isinstance(value, str) and value.startswith("@") and ":" in value[2:]


def creator_of(create: Mapping[str, Any]) -> str:
    """The room creator: ``content.creator``, else the create event's sender."""
    creator = content_of(create).get("creator")
    return creator if isinstance(creator, str) else create.get("sender", "")


def user_power_level(user_id: str, auth_state: AuthState) -> int:
    """The user's power level in the given state.

    From ``m.room.power_levels``: ``users[user_id]``, else ``users_default``,
    else 0. Without a power-levels event the creator has 100, others 0.

    Raises
    ------
    AuthError
        If the state has no create event, or the level is not an integer.
    """
    pl = auth_state.get(POWER_LEVELS_KEY)
    if pl is not None:
        content = content_of(pl)
        users = content.get("users")
        level = users.get(user_id) if isinstance(users, dict) else None
        if level is None:
            level = content.get("users_default")
        return 0 if level is None else _int(level, f"power level of {user_id}")
    create = auth_state.get(CREATE_KEY)
    if create is None:
        raise AuthError("no m.room.create event in the auth state")
    return 100 if creator_of(create) == user_id else 0


def named_level(auth_state: AuthState, name: str) -> int:
    """A level named at the top of the power levels (``ban``, ``kick``, ...)."""
    value = content_of(auth_state.get(POWER_LEVELS_KEY)).get(name)
    if value is None:
        return NAMED_LEVELS[name]
    return _int(value, name)


def send_level(event_type: str, state: bool, auth_state: AuthState) -> int:
    """The power needed to send ``event_type``: ``events[type]``, else
    ``state_default`` (state) or ``events_default`` (others).

    As in Synapse, ``state_default`` is 50 also when there is no power-levels
    event at all.
    """
    content = content_of(auth_state.get(POWER_LEVELS_KEY))
    events = content.get("events")
    level = events.get(event_type) if isinstance(events, dict) else None
    if level is None:
        level = content.get("state_default" if state else "events_default")
    if level is None:
        return 50 if state else 0
    return _int(level, f"level of {event_type}")


def auth_types_for_event(event: Mapping[str, Any]) -> list[StateKey]:
    """The state keys whose events may serve to authorize ``event``, sorted.

    ``m.room.create`` needs none; every other event needs the create event,
    the power levels and the sender's membership; a membership event also
    needs the target's membership, and a join or invite the join rules.

    >>> invite = {"type": "m.room.member", "sender": "@a:x", "state_key": "@b:x",
    ...           "content": {"membership": "invite"}}
    >>> for key in auth_types_for_event(invite):
    ...     print(key)
    ('m.room.create', '')
    ('m.room.join_rules', '')
    ('m.room.member', '@a:x')
    ('m.room.member', '@b:x')
    ('m.room.power_levels', '')
    """
    etype = event.get("type")
    if etype == CREATE:
        return []
    sender = event.get("sender", "")
    keys = {CREATE_KEY, POWER_LEVELS_KEY, (MEMBER, sender)}
    if etype == MEMBER and isinstance(event.get("state_key"), str):
        keys.add((MEMBER, event["state_key"]))
        if membership_of(event) in ("join", "invite"):
            keys.add(JOIN_RULES_KEY)
    return sorted(keys)


def select_auth_events(event: Mapping[str, Any], state: Mapping[StateKey, str]) -> list[str]:
    """The ``auth_events`` a server puts on a new event: the IDs that
    ``state`` holds for :func:`auth_types_for_event`, sorted.

    >>> select_auth_events({"type": "m.room.topic", "sender": "@a:x", "state_key": ""},
    ...                    {("m.room.create", ""): "$c", ("m.room.topic", ""): "$t"})
    ['$c']
    """
    return sorted(state[k] for k in auth_types_for_event(event) if k in state)


def check_auth_events(
    event: Mapping[str, Any],
    auth_events: Iterable[Mapping[str, Any]],
    rejected: Container[str] = (),
) -> dict[StateKey, Mapping[str, Any]]:
    """The checks on an event's own ``auth_events`` that need no room state.

    Each auth event must be a state event of the same room, not rejected,
    of a key :func:`auth_types_for_event` allows, with no key twice; there
    must be a create event unless ``event`` is the create event.

    Returns
    -------
    dict
        The auth events keyed by state key, for :func:`check_auth`.

    Raises
    ------
    AuthError
        If a check fails.
    """
    allowed = set(auth_types_for_event(event))
    found: dict[StateKey, Mapping[str, Any]] = {}
    for aev in auth_events:
        aid = aev.get("event_id")
        if not is_state(aev):
            raise AuthError(f"auth event {aid} is not a state event")
        if aev.get("room_id") != event.get("room_id"):
            raise AuthError(f"auth event {aid} is in another room")
        if aid in rejected:
            raise AuthError(f"auth event {aid} was rejected")
        key = state_key_tuple(aev)
        if key in found:
            raise AuthError(f"two auth events for {key}")
        if key not in allowed:
            raise AuthError(f"auth event {aid} is for {key}, which does not authorize this event")
        found[key] = aev
    if event.get("type") != CREATE and CREATE_KEY not in found:
        raise AuthError("no m.room.create among the auth events")
    return found


def auth_allows(event: Mapping[str, Any], auth_state: AuthState) -> bool:
    """:func:`check_auth` as a boolean."""
    try:
        check_auth(event, auth_state)
    except AuthError:
        return False
    return True


def check_auth(event: Mapping[str, Any], auth_state: AuthState) -> None:
    """Check ``event`` against the authorization rules and ``auth_state``.

    ``auth_state`` maps state keys to events; only the keys
    :func:`auth_types_for_event` names are consulted. This is the part of the
    rules that depends on room state (what state resolution v2 re-runs),
    plus the create event's own rule (no prev events).

    Raises
    ------
    AuthError
        If the event is not allowed; the message says which rule refused it.

    Examples
    --------
    >>> from mxsim.models.events import make_event
    >>> create = make_event(room_id="!r:a.test", type="m.room.create", sender="@a:a.test",
    ...                     content={"creator": "@a:a.test"}, state_key="")
    >>> topic = make_event(room_id="!r:a.test", type="m.room.topic", sender="@a:a.test",
    ...                    content={"topic": "hi"}, state_key="", depth=2)
    >>> try:
    ...     check_auth(topic, {("m.room.create", ""): create})
    ... except AuthError as e:
    ...     print(e)
    @a:a.test is not joined (membership None)
    """
    etype = event.get("type")
    sender = event.get("sender")
    if not isinstance(etype, str) or not isinstance(sender, str):
        raise AuthError("type and sender must be strings")

    if etype == CREATE:
        if event.get("prev_events"):
            raise AuthError("m.room.create has prev events")
        if not is_state(event) or event["state_key"] not in ("", "_"):
            raise AuthError("m.room.create must be state with the empty state key")
        if is_deletion(event):
            raise AuthError("m.room.create cannot be a deletion")
        return

    create = auth_state.get(CREATE_KEY)
    if create is None:
        raise AuthError("no m.room.create event in the auth state")
    if create.get("room_id") != event.get("room_id"):
        raise AuthError("the create event is for another room")
    if domain_of(create.get("sender", "")) != domain_of(sender) and not _can_federate(create):
        raise AuthError("the room is not federated (m.federate is false)")

    kind = type_kind(etype)
    if kind == "ephemeral":
        raise AuthError(f"{etype} is ephemeral and cannot enter the room graph")
    if kind == "state" and not is_state(event):
        raise AuthError(f"{etype} is a state type but the event has no state_key")
    if kind == "message" and is_state(event):
        raise AuthError(f"{etype} is a message type but the event has a state_key")

    if etype == ALIASES and is_state(event):
        # Room versions 1-5: a server may set its own aliases, member or not.
        if event["state_key"] in ("", "_") or event["state_key"] != domain_of(sender):
            raise AuthError("m.room.aliases state key must be the sender's server")
        return

    if etype == MEMBER:
        _check_membership(event, auth_state, create)
        return

    _check_joined(sender, auth_state)

    if etype == THIRD_PARTY_INVITE:
        if user_power_level(sender, auth_state) < named_level(auth_state, "invite"):
            raise AuthError(f"{sender} may not invite")
        return

    state = is_state(event)
    user_level = user_power_level(sender, auth_state)
    needed = send_level(etype, state, auth_state)
    if user_level < needed:
        raise AuthError(f"{sender} has power {user_level} < {needed} needed for {etype}")

    if state:
        ops = user_level >= named_level(auth_state, "state_default")
        if not state_key_permitted(event, ops):
            raise AuthError(f"{sender} may not use state key {event['state_key']!r}")
        if is_deletion(event) and etype == POWER_LEVELS:
            raise AuthError("m.room.power_levels cannot be deleted")

    if etype == POWER_LEVELS and state:
        _check_power_levels(event, auth_state, user_level)

    if etype == REDACTION:
        _check_redaction(event, auth_state, user_level)


def _can_federate(create: Mapping[str, Any]) -> bool:
    return content_of(create).get("m.federate", True) is True


def _check_joined(user_id: str, auth_state: AuthState) -> None:
    membership = membership_of(auth_state.get((MEMBER, user_id)))
    if membership != "join":
        raise AuthError(f"{user_id} is not joined (membership {membership})")


def _check_membership(
    event: Mapping[str, Any], auth_state: AuthState, create: Mapping[str, Any]
) -> None:
    sender = event["sender"]
    target = event.get("state_key")
    if not is_user_id(target):
        raise AuthError(f"m.room.member state key is not a user ID: {target!r}")
    membership = membership_of(event)
    if membership is None:
        raise AuthError("m.room.member content has no string membership")
    prev = event.get("prev_events")

    # The creator's own join, right after the create event.
    if (
        membership == "join"
        and isinstance(prev, list)
        and len(prev) == 1
        and prev[0] == create.get("event_id")
        and creator_of(create) == target
    ):
        return

    if domain_of(create.get("sender", "")) != domain_of(target) and not _can_federate(create):
        raise AuthError("the room is not federated (m.federate is false)")

    caller = membership_of(auth_state.get((MEMBER, sender)))
    current = membership_of(auth_state.get((MEMBER, target)))
    caller_joined = caller == "join"
    caller_invited = caller == "invite"
    target_joined = current == "join"
    target_banned = current == "ban"
    join_rule = content_of(auth_state.get(JOIN_RULES_KEY)).get("join_rule", "invite")

    user_level = user_power_level(sender, auth_state)
    target_level = user_power_level(target, auth_state)
    ban_level = named_level(auth_state, "ban")

    if membership == "invite" and "third_party_invite" in content_of(event):
        raise AuthError("third-party invites are not modelled")

    if membership != "join":
        if caller_invited and membership == "leave" and target == sender:
            return  # rejecting an invite
        if not caller_joined:
            raise AuthError(f"{sender} is not joined (membership {caller})")

    if membership == "invite":
        if target_banned:
            raise AuthError(f"{target} is banned")
        if target_joined:
            raise AuthError(f"{target} is already joined")
        if user_level < named_level(auth_state, "invite"):
            raise AuthError(f"{sender} may not invite")
    elif membership == "join":
        if sender != target:
            raise AuthError("a user can only join themselves")
        if target_banned:
            raise AuthError(f"{target} is banned")
        if join_rule == "public":
            return
        if join_rule == "invite":
            if not (caller_joined or caller_invited):
                raise AuthError(f"{target} is not invited")
            return
        raise AuthError(f"join rule {join_rule!r} does not let {target} join")
    elif membership == "leave":
        if target_banned and user_level < ban_level:
            raise AuthError(f"{sender} may not unban {target}")
        if target != sender:
            kick_level = named_level(auth_state, "kick")
            if user_level < kick_level or user_level <= target_level:
                raise AuthError(f"{sender} may not kick {target}")
    elif membership == "ban":
        if user_level < ban_level:
            raise AuthError(f"{sender} may not ban")
        if user_level <= target_level:
            raise AuthError(f"{sender} may not ban {target}, whose power is not lower")
    else:
        raise AuthError(f"unknown membership {membership!r}")


def _levels_of(content: Mapping[str, Any], field: str) -> Mapping[str, Any]:
    value = content.get(field, {})
    if not isinstance(value, dict):
        raise AuthError(f"power levels {field} is not an object")
    return value


def _check_power_levels(event: Mapping[str, Any], auth_state: AuthState, user_level: int) -> None:
    new = content_of(event)
    new_users = _levels_of(new, "users")
    new_events = _levels_of(new, "events")
    for user, level in sorted(new_users.items()):
        if not is_user_id(user):
            raise AuthError(f"power levels users has a key that is not a user ID: {user!r}")
        _int(level, f"power level of {user}")
    for etype, level in sorted(new_events.items()):
        _int(level, f"level of {etype}")
    for name in NAMED_LEVELS:
        if new.get(name) is not None:
            _int(new[name], name)

    current = auth_state.get(POWER_LEVELS_KEY)
    if current is None:
        return  # the first power levels: anything goes
    old = content_of(current)
    old_users = _levels_of(old, "users")
    old_events = _levels_of(old, "events")

    checks: list[tuple[str, Mapping[str, Any], Mapping[str, Any], bool]] = [
        (name, old, new, False) for name in NAMED_LEVELS
    ]
    checks += [(u, old_users, new_users, True) for u in sorted(set(old_users) | set(new_users))]
    checks += [
        (t, old_events, new_events, False) for t in sorted(set(old_events) | set(new_events))
    ]
    sender = event["sender"]
    for name, old_map, new_map, is_user in checks:
        old_level = _opt_int(old_map.get(name), name)
        new_level = _opt_int(new_map.get(name), name)
        if old_level is not None and new_level is not None and old_level == new_level:
            continue
        if is_user and name != sender and old_level == user_level:
            raise AuthError(f"{sender} may not change the level of {name}, equal to their own")
        if (old_level is not None and old_level > user_level) or (
            new_level is not None and new_level > user_level
        ):
            raise AuthError(f"{sender} may not change {name} above their own level {user_level}")


def _opt_int(value: Any, what: str) -> int | None:
    return None if value is None else _int(value, what)


def _check_redaction(event: Mapping[str, Any], auth_state: AuthState, user_level: int) -> None:
    if user_level >= named_level(auth_state, "redact"):
        return
    own_id = event.get("event_id")
    redacts = event.get("redacts")
    if not isinstance(own_id, str) or not isinstance(redacts, str):
        raise AuthError("a redaction below the redact level must name the event it redacts")
    if ":" in own_id and ":" in redacts:
        if domain_of(own_id) != domain_of(redacts):
            raise AuthError(f"{event['sender']} may not redact events from other servers")
    # IDs without a server name: checked when the redaction is applied.


def auth_state_from(
    keys: Sequence[StateKey], state: Mapping[StateKey, str], events: Mapping[str, Event]
) -> dict[StateKey, Event]:
    """The events ``state`` holds for ``keys`` (for :func:`check_auth`)."""
    return {k: events[state[k]] for k in keys if k in state}
