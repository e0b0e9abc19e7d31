"""Filters on the homeserver (proposal: "Filter API").

"Clients can upload filters and get back an opaque token": a device uploads
its filter definition (``filter``, a request with a session ID) and names the
token when it opens or syncs its stream. "The token may expire, in which case
you would need to request another one": a token lives ``filter_ttl_ms`` (0:
for ever); a sync naming an expired one fails (``unknown filter token``).

A definition is plain data: ``types`` (event types, a trailing ``*`` a
wildcard: "incl wildcards"), ``rooms`` (room IDs), ``not_types`` (the
proposal's open TODO "Do we want to specify negative filters", honoured only
under the switch ``negative_filters``) and ``limit`` ("max of limit= message
events" in a room's start), ``bundle_limit`` ("Whether you want coalesced
``relates_to`` events (and the max # to coalesce)": the most ``relates_to``
children a bundle holds, with a pagination token for the rest; missing, the
server's switch ``bundle_limit``) and ``keys`` ("Which keys to return for
events? e.g. no ``origin_server_ts`` if you don't show timestamps": the keys an
event keeps, besides :data:`KEPT_KEYS`, which a client cannot do without). A
missing key selects everything: "Omitting the token on APIs results in ALL
THE THINGS coming down."

>>> f = normalise({"types": ["m.room.*"]})
>>> matches(f, "m.room.message", "!r"), matches(f, "m.presence", None)
(True, False)
>>> ev = {"event_id": "$1", "type": "m.room.message", "origin_server_ts": 5, "depth": 2}
>>> project(normalise({"keys": ["depth"]}), ev)
{'event_id': '$1', 'type': 'm.room.message', 'depth': 2}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mxsim.sim.model import Switch, View, sometimes
from mxsim.sim.node import ConfigError, Context
from mxsim.sim.parts import Part

__all__ = ["Filters", "FIELDS", "DEFAULT_LIMIT", "KEPT_KEYS", "check", "normalise", "project"]
__all__ += ["type_matches", "matches"]

FIELDS = ("types", "not_types", "rooms", "limit", "bundle_limit", "keys")

#: Keys no filter drops: what identifies an event, places it (room, state key,
#: its parent) and says what it is (a state event lacking ``content`` is a
#: deletion), and a bundle's children.
KEPT_KEYS = frozenset(
    ("event_id", "type", "room_id", "sender", "state_key", "content", "redacts", "updates")
    + ("relates_to", "updated_by", "replies", "orphan")
)

#: "limit= param?": how many messages a room's start in the stream holds.
DEFAULT_LIMIT = 10

KEYS_SCOPE = Switch(
    "keys_scope",
    "all_apis",
    'Filter API: "Omitting the token on APIs results in ALL THE THINGS coming down" '
    "(all_apis: a scrollback, context or replies request naming a token, and a join whose "
    "filter names keys, get those keys; stream_only: only the stream's events are projected, "
    "pages and join answers come with every key).",
    ("all_apis", "stream_only"),
)

NEGATIVE_FILTERS = Switch(
    "negative_filters",
    False,
    "Filter API, TODO: \"Do we want to specify negative filters (e.g. don't give me "
    'event.type.here events)" (true: the server honours not_types).',
)


def check(defn: Any, where: str = "filter") -> None:
    """Raise :class:`ConfigError` unless ``defn`` is a filter definition."""
    if not isinstance(defn, dict):
        raise ConfigError(where, "a table: a filter definition", defn)
    for key, value in defn.items():
        if key not in FIELDS:
            raise ConfigError(f"{where}.{key}", "one of: " + ", ".join(FIELDS), key)
        if key in ("limit", "bundle_limit"):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{where}.{key}", "an integer >= 0", value)
        elif not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}.{key}", "a list of strings", value)


def normalise(defn: Mapping[str, Any] | None) -> dict[str, Any]:
    """The canonical form of a definition: every field present, lists sorted."""
    defn = defn or {}
    out: dict[str, Any] = {"limit": defn.get("limit", DEFAULT_LIMIT)}
    if "bundle_limit" in defn:
        out["bundle_limit"] = defn["bundle_limit"]
    for key in ("types", "rooms", "keys"):
        value = defn.get(key)
        out[key] = None if value is None else sorted(value)
    out["not_types"] = sorted(defn.get("not_types", []))
    return out


def project(defn: Mapping[str, Any], ev: dict[str, Any]) -> dict[str, Any]:
    """``ev`` with only the (normalised) filter's ``keys`` and :data:`KEPT_KEYS`
    (a bundle's children too)."""
    keys = defn.get("keys")
    if keys is None:
        return ev
    out = {k: v for k, v in ev.items() if k in keys or k in KEPT_KEYS}
    if "updated_by" in out:
        out["updated_by"] = [project(defn, c) for c in out["updated_by"]]
    if "replies" in out:
        chunk = [project(defn, c) for c in out["replies"]["chunk"]]
        out["replies"] = {**out["replies"], "chunk": chunk}
    return out


def type_matches(pattern: str, event_type: str) -> bool:
    """An event type against a pattern; a trailing ``*`` is a wildcard.

    >>> type_matches("m.room.*", "m.room.topic"), type_matches("m.room.*", "m.presence")
    (True, False)
    """
    if pattern.endswith("*"):
        return event_type.startswith(pattern[:-1])
    return event_type == pattern


def matches(defn: Mapping[str, Any], event_type: str, room: str | None) -> bool:
    """Does an event of ``event_type`` in ``room`` pass the (normalised) filter?"""
    types = defn.get("types")
    if types is not None and not any(type_matches(p, event_type) for p in types):
        return False
    if any(type_matches(p, event_type) for p in defn.get("not_types", ())):
        return False
    rooms = defn.get("rooms")
    return rooms is None or room is None or room in rooms


class Filters(Part):
    """Config: ``filter_ttl_ms``. State: ``tokens`` (token -> definition),
    ``next`` (the next token's number) and ``seen`` (flag ``expired``: a sync
    named an expired token)."""

    name = "filters"
    needs = ("sessions",)
    section = "Filter API"
    switches = (NEGATIVE_FILTERS, KEYS_SCOPE)
    keys = {"filter_ttl_ms": "a number of milliseconds >= 0 (0: never)"}

    @classmethod
    def check_config(cls, config, node_config, node_names) -> None:
        super().check_config(config, node_config, node_names)
        value = config.get("filter_ttl_ms", 0)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError("filter_ttl_ms", cls.keys["filter_ttl_ms"], value)

    def initial(self) -> dict[str, Any]:
        return {"tokens": {}, "next": 0, "seen": {"expired": False, "page_projected": False}}

    def apply(self, ctx: Context, state: dict, device: str, rec: dict, msg: dict) -> None:
        """Upload a filter: "get back an opaque token"."""
        mine = self.of(state)
        defn = normalise(msg["filter"])
        if not self.node.switches["negative_filters"]:
            defn["not_types"] = []
        token = f"f{mine['next']}"
        mine["next"] += 1
        mine["tokens"][token] = defn
        ttl = self.config.get("filter_ttl_ms", 0)
        if ttl:
            ctx.set_timer(self.timer(token), ttl)
        self.node.part("sessions").answer(ctx, device, rec, msg, True, token=token)

    def lookup(self, state: dict, token: str) -> dict | None:
        """The definition of ``token``; None (and the guard's flag) if it expired."""
        defn = self.of(state)["tokens"].get(token)
        if defn is None:
            self.of(state)["seen"]["expired"] = True
        return defn

    def named(self, state: dict, msg: dict) -> tuple[bool, dict | None]:
        """The filter a request (scrollback, context, replies) names by token: (known,
        definition); no token, no definition ("ALL THE THINGS coming down")."""
        token = msg.get("filter")
        if token is None:
            return True, None
        defn = self.lookup(state, token)
        return defn is not None, defn

    def page(self, state: dict, defn: dict | None, evs: list[dict]) -> list[dict]:
        """A page's events with only the filter's ``keys`` (switch ``keys_scope``);
        the guard's flag when a key was dropped."""
        if defn is None or self.node.switches["keys_scope"] == "stream_only":
            return evs
        out = [project(defn, ev) for ev in evs]
        if out != evs:
            self.of(state)["seen"]["page_projected"] = True
        return out

    def on_timer(self, ctx: Context, state: dict, name: str) -> None:
        self.of(state)["tokens"].pop(name, None)  # "The token may expire"


@sometimes("filter_expired")
def filter_expired(view: View) -> bool:
    """A request named a filter token that had expired."""
    return any(
        view.state(s)["filters"]["seen"]["expired"]
        for s in view.nodes
        if view.kind(s) == "homeserver" and "filters" in view.state(s)
    )


@sometimes("page_projected")
def page_projected(view: View) -> bool:
    """A page (scrollback, context window, replies) lost keys to the filter its
    request named ("Which keys to return for events?")."""
    return any(
        view.state(s)["filters"]["seen"].get("page_projected")
        for s in view.nodes
        if view.kind(s) == "homeserver" and "filters" in view.state(s)
    )


Filters.properties = (filter_expired, page_projected)
