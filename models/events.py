"""Room events as plain data, and the proposal's event-version-2 rules.

An event is a ``dict`` that JSON can hold (``str`` keys; ``str``, ``int``,
``bool``, ``None``, ``list`` and ``dict`` values; never a float or a set),
because events live inside simulated node state, which is cloned with
``marshal`` and fingerprinted as canonical JSON. The fields are:

``event_id``, ``room_id``, ``type``, ``sender``
    strings;
``state_key``
    a string, present only on state events;
``content``
    an object; a state event *without* ``content`` deletes that piece of state
    (proposal, "Deleting a state event": "represented on the event stream as
    an event lacking a ``content`` key");
``prev_events``, ``auth_events``
    lists of event IDs;
``depth``, ``origin_server_ts``
    integers.

Event version 2
---------------
The proposal's section "Events (breaking changes; event version 2)" asks for
three things, modelled here:

1. *The type says what kind of event it is.* mxsim spells the kind as a word
   and a colon in front of the type name: ``state:com.example.poll``,
   ``message:com.example.chat``, ``ephemeral:m.typing``. The colon cannot
   occur in a reverse-DNS type name, so the prefix never clashes with one.
   Unprefixed types keep working: the well-known Matrix types have a fixed
   kind (:data:`models.event_kinds.LEGACY_KINDS`: ``m.room.create``, ``m.room.member``,
   ``m.room.power_levels``, ``m.room.join_rules``, ... are state;
   ``m.room.message`` and ``m.room.redaction`` are messages; ``m.typing``,
   ``m.receipt`` and ``m.presence`` are ephemeral) and any other unprefixed
   type is a state event exactly when it carries a ``state_key``.
2. *The state key says who may set it.* ``_`` and keys starting with ``_``
   carry no restriction (the empty state key is written ``_``); ``@user`` and
   ``@user/path`` may be set only by that user or by the room's ops;
   ``server.name`` and ``server.name/path`` only by senders on that server.
   mxsim keys state by :func:`models.state_keys.state_key_tuple`, which maps the proposal's
   ``_`` to ``""`` so that ``("m.room.create", "")`` names the same piece of
   state whichever spelling an event uses; both spellings are accepted.
3. *``sender``, not ``user_id``*, because servers send events too. A sender
   is either a user ID (``@alice:example.org``) or a bare server name.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

__all__ = [
    "Event",
    "StateKey",
    "Kind",
    "CREATE",
    "MEMBER",
    "POWER_LEVELS",
    "JOIN_RULES",
    "TOPIC",
    "NAME",
    "ALIASES",
    "MESSAGE",
    "REDACTION",
    "THIRD_PARTY_INVITE",
    "CREATE_KEY",
    "POWER_LEVELS_KEY",
    "JOIN_RULES_KEY",
    "canonical_json",
    "is_state",
    "is_deletion",
    "content_of",
    "membership_of",
    "compute_event_id",
    "make_event",
]

#: An event: a JSON-able dict (see the module docstring).
Event = dict[str, Any]
#: A piece of room state: ``(type, state_key)`` with the state key canonical.
StateKey = tuple[str, str]
#: What an event is, as its type prefix says.
Kind = Literal["state", "message", "ephemeral"]

CREATE = "m.room.create"
MEMBER = "m.room.member"
POWER_LEVELS = "m.room.power_levels"
JOIN_RULES = "m.room.join_rules"
TOPIC = "m.room.topic"
NAME = "m.room.name"
ALIASES = "m.room.aliases"
MESSAGE = "m.room.message"
REDACTION = "m.room.redaction"
THIRD_PARTY_INVITE = "m.room.third_party_invite"

CREATE_KEY: StateKey = (CREATE, "")
POWER_LEVELS_KEY: StateKey = (POWER_LEVELS, "")
JOIN_RULES_KEY: StateKey = (JOIN_RULES, "")


def canonical_json(value: Any) -> str:
    """Canonical JSON text: sorted keys, no spaces, UTF-8 kept as is.

    >>> canonical_json({"b": 1, "a": [True, None]})
    '{"a":[true,null],"b":1}'
    """
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def is_state(ev: Mapping[str, Any]) -> bool:
    """True if ``ev`` is a state event, i.e. it carries a ``state_key``.

    >>> is_state({"type": "m.room.topic", "state_key": ""})
    True
    >>> is_state({"type": "m.room.message"})
    False
    """
    return ev.get("state_key") is not None


def is_deletion(ev: Mapping[str, Any]) -> bool:
    """True if ``ev`` deletes state: a state event lacking ``content``.

    Proposal, "Deleting a state event".

    >>> is_deletion({"type": "m.room.topic", "state_key": ""})
    True
    """
    return is_state(ev) and "content" not in ev


def content_of(ev: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """The event's content; ``{}`` for a deletion, a missing event or bad content."""
    if ev is None:
        return {}
    content = ev.get("content")
    return content if isinstance(content, dict) else {}


def membership_of(ev: Mapping[str, Any] | None) -> str | None:
    """The membership an ``m.room.member`` event sets.

    ``None`` for no event; ``"leave"`` for a deletion (the proposal rejects an
    invite by deleting the member event, "Rejecting an invite"); otherwise
    ``content.membership`` when it is a string, else ``None``.

    >>> membership_of({"type": "m.room.member", "state_key": "@a:x"})
    'leave'
    """
    if ev is None:
        return None
    if is_deletion(ev):
        return "leave"
    membership = content_of(ev).get("membership")
    return membership if isinstance(membership, str) else None


def compute_event_id(ev: Mapping[str, Any]) -> str:
    """A deterministic event ID: ``$`` and 20 hex digits of a SHA-256.

    The hash covers the canonical JSON of the event without its
    ``event_id``, so equal events get equal IDs in every process.

    >>> compute_event_id({"type": "m.room.message", "content": {}})
    '$5653c4d9038f5bbd8f98'
    """
    body = {k: v for k, v in ev.items() if k != "event_id"}
    return "$" + hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()[:20]


def make_event(
    *,
    room_id: str,
    type: str,
    sender: str,
    content: Mapping[str, Any] | None = None,
    state_key: str | None = None,
    prev_events: Sequence[str] = (),
    auth_events: Sequence[str] = (),
    depth: int | None = None,
    origin_server_ts: int = 0,
    event_id: str | None = None,
    known: Mapping[str, Mapping[str, Any]] | None = None,
    **extra: Any,
) -> Event:
    """Build an event dict with a deterministic ``event_id``.

    Parameters
    ----------
    content
        The content (deep-copied). ``None`` on a state event makes a
        *deletion* (no ``content`` key); a non-state event gets ``{}``.
    state_key
        Present for state events only.
    depth
        If ``None``: one more than the deepest of ``prev_events`` looked up in
        ``known``, or 1 for an event without prev events (as for
        ``m.room.create``).
    event_id
        Use this ID instead of the hash (:func:`compute_event_id`).
    extra
        Other top-level fields, e.g. ``redacts``.

    >>> from mxsim.models.state_keys import state_key_tuple
    >>> ev = make_event(room_id="!r:a.test", type="m.room.create", sender="@a:a.test",
    ...                 content={"creator": "@a:a.test"}, state_key="")
    >>> ev["event_id"], ev["depth"], state_key_tuple(ev)
    ('$d894abe8aa6194f47110', 1, ('m.room.create', ''))
    """
    if depth is None:
        if not prev_events:
            depth = 1
        elif known is None:
            raise ValueError("make_event: give depth, or known events to compute it from")
        else:
            depth = 1 + max(int(known[p]["depth"]) for p in prev_events)
    ev: Event = {
        "room_id": room_id,
        "type": type,
        "sender": sender,
        "prev_events": list(prev_events),
        "auth_events": list(auth_events),
        "depth": depth,
        "origin_server_ts": origin_server_ts,
    }
    if state_key is not None:
        ev["state_key"] = state_key
    if content is not None:
        ev["content"] = copy.deepcopy(dict(content))
    elif state_key is None:
        ev["content"] = {}
    for key, value in extra.items():
        ev[key] = copy.deepcopy(value)
    ev["event_id"] = event_id if event_id is not None else compute_event_id(ev)
    return ev
