"""A device's filter (proposal: "Filter API").

The device uploads its filter definition (``filter``) when it starts and
opens its stream naming the token it got back (see the ``sync`` part). "The
token may expire, in which case you would need to request another one": a
sync refused for an unknown token uploads the definition again and syncs
with the new token, from the position the device has.

"Clients should remember which token they need to use for which API": with
``initial_filter`` the device uploads a second definition, for the room
starts of the initial sync that opens its stream, and names both tokens. The
first stream position is that initial sync's (a device with a filter is
unknown to its server until its sync names one), so the device tells by
position which filter an event came under (:func:`api_at`). A device whose
filters name ``keys`` keeps the keys its events came with (``keys``: API ->
sorted key names), to judge ``keys_honoured``.

"Omitting the token on APIs results in ALL THE THINGS coming down": with
``api_filters`` (API -> definition, for ``scrollback``, ``context`` and
``replies``: "filter to apply") the device uploads those too and names each
API's token in its requests; the keys of the pages it gets back are kept under
that API's name (or ``unnamed`` for a request sent before its token was known).
A join whose (inline) filter names ``keys`` ("Optional filter (which events to
return ...)") has the events of its answer kept under ``join/<action ID>``,
judged by those keys (``joins``: action ID -> keys).
"""

from __future__ import annotations

from typing import Any

from mxsim.models.homeserver.filters import KEPT_KEYS, check, matches, normalise
from mxsim.models.room import SEP
from mxsim.sim.model import View, always
from mxsim.sim.node import ConfigError, Context
from mxsim.sim.parts import Part

__all__ = ["Filters", "api_at", "definition", "wanted"]

#: The keys every event must come with: a client cannot place or name it without.
NEEDED_KEYS = ("event_id", "type", "room_id", "sender")


#: The APIs besides the stream that take a filter token ("filter to apply").
APIS = ("scrollback", "context", "replies")


def api_at(config: dict, pos: int) -> str:
    """Which filter a stream response at ``pos`` came under: the initial sync's
    (``initial_sync``, position 1, with ``initial_filter``) or the stream's."""
    return "initial_sync" if pos == 1 and "initial_filter" in config else "stream"


def wanted(config: dict, mine: dict, api: str) -> list[str] | None:
    """The keys (besides :data:`KEPT_KEYS`) the device asked of ``api``; None: all."""
    if api.startswith("join/"):
        return mine.get("joins", {}).get(api.split("/", 1)[1])
    return definition(config, api)["keys"]


def definition(config: dict, api: str) -> dict:
    """The definition the device named for ``api`` (normalised; the initial sync's
    is the stream's unless it has one of its own)."""
    if api in APIS or api == "unnamed":
        return normalise(config.get("api_filters", {}).get(api, {}))
    defn = config.get("filter", {})
    if api == "initial_sync":
        defn = config.get("initial_filter", defn)
    return normalise(defn)


class Filters(Part):
    """Config: ``filter`` (a definition, default: everything), ``initial_filter``
    (the initial sync's, default ``filter``). State: ``token`` (the token in
    use, or None while an upload is unanswered), ``initial_token`` (with
    ``initial_filter``), ``api_tokens`` and ``unnamed`` (with ``api_filters``: API
    -> token; action IDs of requests sent before it) and ``keys`` (with ``keys``
    in a filter)."""

    name = "filters"
    needs = ("sessions", "sync")
    section = "Filter API"
    keys = {
        "filter": "a filter definition",
        "initial_filter": "a filter definition",
        "api_filters": "a table: API (" + ", ".join(APIS) + ") -> a filter definition",
    }

    @classmethod
    def check_config(cls, config, node_config, node_names) -> None:
        super().check_config(config, node_config, node_names)
        check(config.get("filter", {}))
        check(config.get("initial_filter", {}), "initial_filter")
        apis = config.get("api_filters", {})
        if not isinstance(apis, dict):
            raise ConfigError("api_filters", cls.keys["api_filters"], apis)
        for api, defn in apis.items():
            if api not in APIS:
                raise ConfigError(f"api_filters.{api}", "one of: " + ", ".join(APIS), api)
            check(defn, f"api_filters.{api}")

    def initial(self) -> dict[str, Any]:
        out: dict[str, Any] = {"token": None}
        if "initial_filter" in self.config:
            out["initial_token"] = None
        apis = self.config.get("api_filters", {})
        if apis:
            out.update(api_tokens={}, unnamed=[])
        defns = [self.config.get(k, {}) for k in ("filter", "initial_filter")]
        if any("keys" in d for d in [*defns, *apis.values()]):
            out["keys"] = {}
        return out

    def on_start(self, ctx: Context, state: dict) -> None:
        self.upload(ctx, state)

    def upload(self, ctx: Context, state: dict) -> None:
        """Upload the definitions (an expired token's too: which one expired is unknown)."""
        mine, sessions = self.of(state), self.node.part("sessions")
        mine["token"] = None
        sessions.request(ctx, state, "filter", filter=self.config.get("filter", {}))
        if "initial_filter" in self.config and self.config["initial_filter"] != self.config.get(
            "filter", {}
        ):
            mine["initial_token"] = None
            sessions.request(ctx, state, "filter", filter=self.config["initial_filter"])
        sent = [self.config.get("filter", {}), self.config.get("initial_filter")]
        for api in APIS:
            defn = self.config.get("api_filters", {}).get(api)
            if defn is not None and defn not in sent:
                sent.append(defn)
                sessions.request(ctx, state, "filter", filter=defn)

    def token(self, state: dict) -> str | None:
        """The stream's token (None until every token the sync names is known)."""
        mine = self.of(state)
        if any(api not in mine["api_tokens"] for api in self.config.get("api_filters", {})):
            return None  # the stream waits for every API's token
        return None if mine.get("initial_token", "") is None else mine["token"]

    def api_token(self, state: dict, api: str) -> str | None:
        """The token ``api`` names (None without a filter of its own for it)."""
        mine = self.of(state)
        return mine.get("api_tokens", {}).get(api)

    def sent(self, state: dict, msg: dict) -> None:
        """A request left: one of an API of ``api_filters`` without its token (unknown
        yet), or a join whose filter names ``keys``."""
        mine, api, aid = self.of(state), msg["type"], msg.get("aid")
        if aid is None:
            return
        if api in self.config.get("api_filters", {}) and "filter" not in msg:
            mine["unnamed"].append(aid)
        keys = msg.get("filter", {}).get("keys") if api == "join" else None
        if keys is not None:
            mine.setdefault("keys", {})
            mine.setdefault("joins", {})[str(aid)] = sorted(keys)

    def joined(self, state: dict, msg: dict) -> str | None:
        """The label of a join answer's events: ``join/<aid>`` if its filter named keys."""
        aid = str(msg.get("aid"))
        return f"join/{aid}" if aid in self.of(state).get("joins", {}) else None

    def initial_token(self, state: dict) -> str | None:
        """The initial sync's token, if it has a filter of its own."""
        return self.of(state).get("initial_token")

    def initial_limit(self) -> int:
        """The ``limit=`` of the initial sync's filter."""
        return definition(self.config, "initial_sync")["limit"]

    def answered(self, ctx: Context, state: dict, msg: dict, entry: dict) -> None:
        """An upload's answer: once every token is known, open (or sync) the stream."""
        if not msg["ok"]:
            return
        mine = self.of(state)
        if entry["filter"] == self.config.get("filter", {}):
            mine["token"] = msg["token"]
        if entry["filter"] == self.config.get("initial_filter"):
            mine["initial_token"] = msg["token"]
        for api, defn in sorted(self.config.get("api_filters", {}).items()):
            if entry["filter"] == defn:
                mine["api_tokens"][api] = msg["token"]
        if self.token(state) is not None:
            self.node.part("sync").ask(ctx, state)

    def saw(self, state: dict, pos: int, ev: dict, api: str | None = None) -> None:
        """An event arrived at stream position ``pos`` (by ``api``, a join's label, or
        the stream's): keep the keys it came with (a bundle's children too), or
        ``lacking`` if it came without a needed one."""
        self.saw_by(state, api or api_at(self.config, pos), ev)

    def saw_page(self, state: dict, api: str, msg: dict, evs: list[dict]) -> None:
        """A page of ``api`` came back (the answer to request ``msg["aid"]``)."""
        if msg["aid"] in self.of(state).get("unnamed", ()):
            api = "unnamed"
        for ev in evs:
            self.saw_by(state, api, ev)

    def saw_by(self, state: dict, api: str, ev: dict) -> None:
        """Keep the keys ``ev`` came with by ``api``'s filter."""
        mine = self.of(state)
        if "keys" not in mine:
            return
        held = set(mine["keys"].get(api, ()))
        for one in [ev, *ev.get("updated_by", ()), *ev.get("replies", {}).get("chunk", ())]:
            held.update(one)
            if any(k not in one for k in NEEDED_KEYS):
                held.add("lacking")
        mine["keys"][api] = sorted(held)


def _passes(view: View, device: str) -> bool:
    config = view.config(device)["filters"]
    defns = [definition(config, api) for api in ("stream", "initial_sync")]
    for defn in defns:
        if not view.switches["negative_filters"]:
            defn["not_types"] = []

    def passes(event_type: str, room: str) -> bool:
        return any(matches(defn, event_type, room) for defn in defns)

    stores = view.state(view.config(device)["server"])["rooms"]["stores"]
    st = view.state(device)
    for room, keys in st["stream"]["view"].items():
        if any(not passes(key.split(SEP, 1)[0], room) for key in keys):
            return False
    for room, timeline in st["timeline"]["timeline"].items():
        events = stores.get(room, {}).get("events", {})
        for eid in timeline:
            if eid in events and not passes(events[eid]["type"], room):
                return False
    return True


@always("filter_honoured")
def filter_honoured(view: View) -> bool:
    """A device with a filter holds only events its filter passes (its stream's or
    its initial sync's: "Filter API", what comes down is what the filter selects)."""
    return all(
        _passes(view, d)
        for d in view.nodes
        if view.kind(d) == "device" and "filters" in view.state(d)
    )


@always("keys_honoured")
def keys_honoured(view: View) -> bool:
    """A device whose filter names ``keys`` gets events with only those keys and the
    ones every client needs (``event_id``, ``type``, ...), never without those
    ("Which keys to return for events? e.g. no origin_server_ts"), each judged by the
    filter of the API call that returned it (stream, initial sync, scrollback,
    context, replies, a join's)."""
    for d in view.nodes:
        if view.kind(d) != "device" or "keys" not in view.state(d).get("filters", {}):
            continue
        config, mine = view.config(d)["filters"], view.state(d)["filters"]
        for api, held in mine["keys"].items():
            keys = wanted(config, mine, api)
            if "lacking" in held:
                return False
            if keys is not None and any(k not in keys and k not in KEPT_KEYS for k in held):
                return False
    return True


Filters.properties = (filter_honoured, keys_honoured)
