"""Proposal, "Filter API": what a filter selects, and its opaque token.

A filter definition is plain data::

    {"types": ["m.room.*", ...] | None, "rooms": [room_id, ...] | None,
     "users": [user_id, ...] | None, "not_types": [...], "limit": int,
     "state_types": [...] | None}

``None`` (or a missing key) selects everything: "Omitting the token on APIs
results in ALL THE THINGS coming down." ``users`` restricts presence ("Which
user IDs (for profile/presence)"), ``rooms`` restricts room events and typing,
``types`` every event. ``not_types`` is the proposal's open TODO ("Do we want
to specify negative filters"); it is honoured only under the switch
``negative_filters``. ``state_types`` and ``limit`` shape the initial sync
("Which state event types to return", "max of limit= message events").

>>> f = normalise({"types": ["m.room.*"]})
>>> matches(f, {"type": "m.room.message", "room": "!r"})
True
>>> matches(f, {"type": "m.presence", "user": "@a:hs"})
False
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mxsim.sim.node import ConfigError

__all__ = ["FIELDS", "DEFAULT_LIMIT", "normalise", "check", "type_matches", "matches"]

FIELDS = ("types", "not_types", "rooms", "users", "limit", "state_types")

#: "limit= param?": how many message events per room an initial sync returns.
DEFAULT_LIMIT = 10


def check(defn: Any, where: str = "filter") -> None:
    """Raise :class:`ConfigError` unless ``defn`` is a filter definition."""
    if not isinstance(defn, dict):
        raise ConfigError(where, "a table: a filter definition", defn)
    for key, value in defn.items():
        if key not in FIELDS:
            raise ConfigError(f"{where}.{key}", "one of: " + ", ".join(FIELDS), key)
        if key == "limit":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{where}.limit", "an integer >= 0", value)
        elif not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}.{key}", "a list of strings", value)


def normalise(defn: Mapping[str, Any] | None) -> dict[str, Any]:
    """The canonical form of a definition: every field present, lists sorted."""
    defn = defn or {}
    out: dict[str, Any] = {"limit": defn.get("limit", DEFAULT_LIMIT)}
    for key in ("types", "rooms", "users", "state_types"):
        value = defn.get(key)
        out[key] = None if value is None else sorted(value)
    out["not_types"] = sorted(defn.get("not_types", []))
    return out


def type_matches(pattern: str, event_type: str) -> bool:
    """An event type against a pattern; a trailing ``*`` is a wildcard ("incl wildcards").

    >>> type_matches("m.room.*", "m.room.topic"), type_matches("m.room.*", "m.presence")
    (True, False)
    >>> type_matches("*", "anything"), type_matches("m.typing", "m.typing")
    (True, True)
    """
    if pattern.endswith("*"):
        return event_type.startswith(pattern[:-1])
    return event_type == pattern


def matches(defn: Mapping[str, Any], entry: Mapping[str, Any], negative: bool = True) -> bool:
    """Does a stream entry pass the (normalised) filter?

    ``negative`` says whether ``not_types`` are honoured (switch ``negative_filters``).
    """
    etype = entry["type"]
    types = defn.get("types")
    if types is not None and not any(type_matches(p, etype) for p in types):
        return False
    if negative and any(type_matches(p, etype) for p in defn.get("not_types", ())):
        return False
    rooms = defn.get("rooms")
    if rooms is not None and "room" in entry and entry["room"] not in rooms:
        return False
    users = defn.get("users")
    if users is not None and etype == "m.presence" and entry["user"] not in users:
        return False
    return True
