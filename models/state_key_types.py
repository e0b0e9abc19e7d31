"""A type that declares its state keys (proposal, "Events (breaking changes; event
version 2)", its open question: "Do we want to specify what restrictions apply to
the state key in the event type? This would allow HSes to enforce this [...]
E.g. ``_custom.event`` would allow anything in the state key, ``_@custom.event``
would only allow user IDs in the state key, etc.").

The declaration is the start of the type's name (after any ``state:`` kind
prefix): ``_@name`` admits only ``@user`` and ``@user/path`` keys (whose use the
``@`` rule of :mod:`mxsim.models.state_keys` then judges), ``_server/name``
only that server's keys (``server`` and ``server/path``), ``_name`` and any type
not starting with ``_`` anything. Under switch ``type_declares_state_key`` a
homeserver refuses a state event that breaks its type's declaration, as it
refuses one breaking the key rule (:func:`mxsim.models.room.accept`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mxsim.models.event_kinds import type_name
from mxsim.models.events import is_state
from mxsim.models.state_keys import canonical_state_key, state_key_owner
from mxsim.sim.model import Switch, View, always, sometimes

__all__ = [
    "TYPE_DECLARES_STATE_KEY",
    "declared_owner",
    "type_admits_key",
    "declaration_breach",
    "SWITCHES",
    "PROPERTIES",
]

TYPE_DECLARES_STATE_KEY = Switch(
    "type_declares_state_key",
    False,
    'Events (breaking changes; event version 2): "Do we want to specify what restrictions '
    'apply to the state key in the event type?" (true: ``_@custom.event`` admits only user '
    "keys, ``_server/custom.event`` only that server's, and the homeserver refuses a state "
    "event that breaks its type's declaration; false, as the proposal stands: the type "
    "says nothing of its keys).",
)

#: What a rejection for a breached declaration says (the guard looks for it).
REFUSAL = "declares"


def declared_owner(event_type: str) -> tuple[str, str]:
    """Whose keys a type admits: ``("anyone", "")``, ``("user", "")`` or ``("server", name)``.

    >>> declared_owner("_@custom.event"), declared_owner("state:_@custom.event")
    (('user', ''), ('user', ''))
    >>> declared_owner("_hs1/custom.bridge"), declared_owner("_custom.event")
    (('server', 'hs1'), ('anyone', ''))
    >>> declared_owner("m.room.topic")
    ('anyone', '')
    """
    name = type_name(event_type)
    if not name.startswith("_"):
        return ("anyone", "")
    if name.startswith("_@"):
        return ("user", "")
    slash = name.find("/")
    if slash > 1:
        return ("server", name[1:slash])
    return ("anyone", "")


def type_admits_key(event_type: str, state_key: str) -> bool:
    """Whether a type's declaration admits ``state_key`` (the proposal's ``_`` is ``""``).

    >>> type_admits_key("_@custom.event", "@bob:hs1"), type_admits_key("_@custom.event", "_")
    (True, False)
    >>> type_admits_key("_hs1/custom.bridge", "hs1/x"), type_admits_key("_hs1/x", "@b:hs1")
    (True, False)
    >>> type_admits_key("_custom.event", "hs2/anything")
    True
    """
    want, server = declared_owner(event_type)
    if want == "anyone":
        return True
    who, owner = state_key_owner(canonical_state_key(state_key))
    if want == "user":
        return who == "user"
    return who == "server" and owner == server


def declaration_breach(ev: Mapping[str, Any]) -> str | None:
    """Why state event ``ev`` breaks its type's declaration, or None.

    >>> declaration_breach({"type": "_@custom.event", "state_key": "_"})
    "type '_@custom.event' declares user state keys: '_' is not one"
    """
    if not is_state(ev) or type_admits_key(ev["type"], ev["state_key"]):
        return None
    want, server = declared_owner(ev["type"])
    whose = "user" if want == "user" else f"{server}'s"
    return f"type {ev['type']!r} {REFUSAL} {whose} state keys: {ev['state_key']!r} is not one"


def _stores(view: View):
    for s in view.nodes:
        if view.kind(s) == "homeserver":
            for room in sorted(view.state(s)["rooms"]["stores"]):
                yield view.state(s)["rooms"]["stores"][room]


@always("type_restrictions_respected")
def type_restrictions_respected(view: View) -> bool:
    """No server accepted a state event that breaks its type's declared state keys
    ("``_@custom.event`` would only allow user IDs in the state key")."""
    for store in _stores(view):
        for eid, ev in store["events"].items():
            if eid not in store["rejected"] and declaration_breach(ev) is not None:
                return False
    return True


@sometimes("type_restriction_refused")
def type_restriction_refused(view: View) -> bool:
    """A server refused a state event for breaking its type's declared state keys."""
    return any(
        f" {REFUSAL} " in reason for store in _stores(view) for reason in store["rejected"].values()
    )


SWITCHES = (TYPE_DECLARES_STATE_KEY,)
PROPERTIES = (type_restrictions_respected, type_restriction_refused)
