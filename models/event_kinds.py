"""What an event is, as its type says (proposal, "Events (breaking changes; event
version 2)", item 1): the ``state:``, ``message:`` and ``ephemeral:`` prefixes,
and the fixed kinds of the well-known unprefixed types.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mxsim.models.events import (
    ALIASES,
    CREATE,
    JOIN_RULES,
    MEMBER,
    MESSAGE,
    NAME,
    POWER_LEVELS,
    REDACTION,
    THIRD_PARTY_INVITE,
    TOPIC,
    Kind,
    is_state,
)

__all__ = ["KIND_PREFIXES", "LEGACY_KINDS", "type_kind", "event_kind", "type_name"]


#: Event-version-2 type prefixes and the kind each one declares.
KIND_PREFIXES: Mapping[str, Kind] = {
    "state:": "state",
    "message:": "message",
    "ephemeral:": "ephemeral",
}

#: Kinds of well-known unprefixed (event version 1) types.
LEGACY_KINDS: Mapping[str, Kind] = {
    CREATE: "state",
    MEMBER: "state",
    POWER_LEVELS: "state",
    JOIN_RULES: "state",
    TOPIC: "state",
    NAME: "state",
    ALIASES: "state",
    THIRD_PARTY_INVITE: "state",
    "m.room.avatar": "state",
    "m.room.canonical_alias": "state",
    "m.room.history_visibility": "state",
    "m.room.guest_access": "state",
    "m.room.encryption": "state",
    MESSAGE: "message",
    REDACTION: "message",
    "m.call.invite": "message",
    "m.call.answer": "message",
    "m.call.candidates": "message",
    "m.call.hangup": "message",
    "m.typing": "ephemeral",
    "m.receipt": "ephemeral",
    "m.presence": "ephemeral",
}


def type_kind(event_type: str) -> Kind | None:
    """The kind an event type declares, or ``None`` if it does not say.

    Event version 2: a ``state:``, ``message:`` or ``ephemeral:`` prefix
    declares the kind; a well-known unprefixed type has its usual kind.

    >>> type_kind("state:com.example.poll"), type_kind("m.room.member"), type_kind("x.y")
    ('state', 'state', None)
    """
    for prefix, kind in KIND_PREFIXES.items():
        if event_type.startswith(prefix):
            return kind
    return LEGACY_KINDS.get(event_type)


def event_kind(ev: Mapping[str, Any]) -> Kind:
    """The kind of ``ev``: its type's kind, else state iff it has a state key.

    >>> event_kind({"type": "com.example.x", "state_key": "_"})
    'state'
    """
    kind = type_kind(ev.get("type", ""))
    if kind is not None:
        return kind
    return "state" if is_state(ev) else "message"


def type_name(event_type: str) -> str:
    """The type without its kind prefix.

    >>> type_name("ephemeral:m.typing")
    'm.typing'
    """
    for prefix in KIND_PREFIXES:
        if event_type.startswith(prefix):
            return event_type[len(prefix) :]
    return event_type
