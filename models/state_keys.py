"""State keys (proposal, "Events (breaking changes; event version 2)", item 2):
the canonical key of a piece of state, and who may set it: ``_`` keys anyone
allowed to send the type, ``@user[/path]`` that user or the room's ops,
``server[/path]`` only senders on that server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from mxsim.models.events import (
    StateKey,
    is_state,
)

__all__ = [
    "canonical_state_key",
    "state_key_tuple",
    "domain_of",
    "state_key_owner",
    "state_key_permitted",
]


def canonical_state_key(state_key: str) -> str:
    """The state key mxsim keys state by: the proposal's ``_`` becomes ``""``.

    >>> canonical_state_key("_"), canonical_state_key("_x"), canonical_state_key("")
    ('', '_x', '')
    """
    return "" if state_key == "_" else state_key


def state_key_tuple(ev: Mapping[str, Any]) -> StateKey:
    """``(type, canonical state key)`` of a state event.

    >>> state_key_tuple({"type": "m.room.topic", "state_key": "_"})
    ('m.room.topic', '')

    Raises
    ------
    ValueError
        If ``ev`` is not a state event.
    """
    state_key = ev.get("state_key")
    if not isinstance(state_key, str):
        raise ValueError(f"not a state event: {ev.get('event_id')!r}")
    return (ev["type"], canonical_state_key(state_key))


def domain_of(identifier: str) -> str:
    """The server name of a Matrix ID; a bare server name is its own domain.

    >>> domain_of("@alice:example.org"), domain_of("!r:hs.test:8448"), domain_of("hs.test")
    ('example.org', 'hs.test:8448', 'hs.test')
    """
    if identifier[:1] in ("@", "!", "$", "#", "+") and ":" in identifier:
        return identifier.split(":", 1)[1]
    return identifier


def state_key_owner(state_key: str) -> tuple[Literal["anyone", "user", "server"], str]:
    """Who may set a state key, by its event-version-2 prefix.

    Returns ``("anyone", "")`` for ``""``, ``_`` and ``_``-prefixed keys,
    ``("user", user_id)`` for ``@user`` and ``@user/path`` (the path starts at
    the first ``/`` after the user ID's ``:``) and ``("server", name)`` for
    ``server.name`` and ``server.name/path``.

    >>> state_key_owner("_")
    ('anyone', '')
    >>> state_key_owner("@bob:b.test/settings/theme")
    ('user', '@bob:b.test')
    >>> state_key_owner("b.test/bridge")
    ('server', 'b.test')
    """
    if state_key == "" or state_key.startswith("_"):
        return ("anyone", "")
    if state_key.startswith("@"):
        colon = state_key.find(":")
        slash = state_key.find("/", colon + 1) if colon >= 0 else -1
        return ("user", state_key if slash < 0 else state_key[:slash])
    slash = state_key.find("/")
    return ("server", state_key if slash < 0 else state_key[:slash])


def state_key_permitted(ev: Mapping[str, Any], power_ok: bool) -> bool:
    """Whether the sender of state event ``ev`` may use its state key.

    Event version 2's state-key prefixes (see :func:`state_key_owner`);
    ``power_ok`` says whether the sender counts as a room op (the auth rules
    pass "power level at least ``state_default``"). A non-state event is
    always permitted.

    >>> ev = {"type": "state:x.pref", "sender": "@a:a.test", "state_key": "@b:b.test"}
    >>> state_key_permitted(ev, power_ok=False), state_key_permitted(ev, power_ok=True)
    (False, True)
    >>> state_key_permitted(dict(ev, state_key="a.test/x"), power_ok=False)
    True
    """
    if not is_state(ev):
        return True
    who, owner = state_key_owner(ev["state_key"])
    if who == "anyone":
        return True
    sender = ev.get("sender", "")
    if who == "user":
        return sender == owner or power_ok
    return domain_of(sender) == owner
