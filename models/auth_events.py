"""An event's auth events: which state keys may authorize it, the IDs a server
puts on a new event, and the checks on them that need no room state.

The rules themselves are in :mod:`models.auth`.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping, Sequence
from typing import Any

from mxsim.models.events import (
    CREATE,
    CREATE_KEY,
    JOIN_RULES_KEY,
    MEMBER,
    POWER_LEVELS_KEY,
    Event,
    StateKey,
    is_state,
    membership_of,
)
from mxsim.models.state_keys import state_key_tuple

__all__ = [
    "AuthError",
    "AuthState",
    "auth_types_for_event",
    "select_auth_events",
    "check_auth_events",
    "auth_state_from",
]


#: The room state an event is checked against, keyed like room state.
AuthState = Mapping[StateKey, Mapping[str, Any]]


class AuthError(Exception):
    """An event fails the authorization rules; ``str()`` says why."""


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


def auth_state_from(
    keys: Sequence[StateKey], state: Mapping[StateKey, str], events: Mapping[str, Event]
) -> dict[StateKey, Event]:
    """The events ``state`` holds for ``keys`` (for :func:`check_auth`)."""
    return {k: events[state[k]] for k in keys if k in state}
