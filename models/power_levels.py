"""Power levels (``m.room.power_levels``): a user's level, the level an event
needs, and who may change the levels.

Levels are integers as Python's ``int()`` reads them (room versions 1-9, as
Synapse applies them); anything else fails the check.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mxsim.models.auth_events import (
    AuthError,
    AuthState,
)
from mxsim.models.events import (
    CREATE_KEY,
    POWER_LEVELS_KEY,
    content_of,
)

__all__ = [
    "NAMED_LEVELS",
    "user_power_level",
    "named_level",
    "send_level",
    "creator_of",
    "is_user_id",
]


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
