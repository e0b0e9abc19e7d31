"""Read receipts on events that name other events (the receipts scenario).

Proposal sections (``general_api.rst``): "Updates (Events)" and "Relates to
(Events)", whose main use cases name receipts: *local* receipts as
``updates`` children ("not shared with other users on the same home server
or via federation but *are* shared between clients for the same user"),
non-local ones as ``relates_to`` children, against read-up-to markers
(:mod:`models.relate.receipts`).

Edits, comments, bundling and the pagination of replies are on the
``matrix`` model (:mod:`mxsim.models.homeserver.bundling`,
:mod:`mxsim.models.device.bundles`, scenarios ``relations`` and
``relations-pagination``). What is left here is the simpler server the
receipts scenario runs on: a room's events (one room, no auth) kept by each
server in the order it took them, relayed between servers (``fed.event``)
and streamed to crowds as bundles (:mod:`models.relate.bundle`) and deltas.

Nodes:

- ``homeserver``: config ``peers`` (other servers), ``crowd`` (a crowd
  node whose users and devices it serves). A child whose parent it lacks
  (federation reorders) waits for the parent; each device gets each new
  top-level event as a bundle and each new child as a delta.
- ``crowd``: the users of one server: users ``u0 .. u{N-1}`` (switch
  ``receipt_users``) are spread over the crowds round-robin, each with
  ``devices_per_user`` devices; workload ``post`` (u0 sends
  ``receipt_messages`` messages) and ``read`` (every other user's first
  device reads what it has and sends receipts by the ``receipts`` strategy).

Messages: crowd -> server ``{"type": "send", "device", "event"}``; server ->
crowd ``{"type": "stream", "items": [[device, item], ...]}`` (one per node per
step; an item is ``{"bundle": ...}`` or ``{"delta": ev}``); server -> server
``{"type": "fed.event", "event"}``.

Findings (``mxsim check``; lengths are the shortest traces, node starts included):

- ``mxsim check receipts --set local_receipt_audience=room``: violates
  ``local_receipts_stay_local`` (10 steps), and ``receipts_delivered``.

Receipt traffic is recorded with ``ctx.metric`` per link kind
(``receipts.c2s``/``s2c``/``s2s``, ``.messages`` and ``.bytes``: bytes are
the length of the canonical JSON of each message, and a stream batch counts
as one message per device it carries a receipt to).
"""

from __future__ import annotations

from typing import Any

from mxsim.models.relate import bundle as B
from mxsim.models.relate import receipts as RC
from mxsim.sim.model import Model, Switch, View, always, eventually, sometimes
from mxsim.sim.node import WORKLOAD, ConfigError, Context, Node
from mxsim.sim.world import canonical

__all__ = ["MODEL", "Homeserver", "Crowd"]

SWITCHES = (
    Switch(
        "bundle_limit",
        2,
        'Relates to (Events), Bundling: "The number of child events which can be bundled '
        'should be limited ... This limit should be set by the client."',
    ),
    Switch(
        "receipts",
        "local",
        'Updates (Events), main use cases: "*Local* Delivery/Read receipts ... This is done to '
        'avoid the n^2 problem for sending receipts" (against non-local receipts via '
        "relates_to, and read-up-to markers).",
        choices=RC.STRATEGIES,
    ),
    Switch(
        "local_receipt_audience",
        "own_devices",
        'Updates (Events), main use cases: local receipts "are not shared with other users on '
        "the same home server or via federation but *are* shared between clients for the same "
        'user". "own_devices" follows it; "room" is the leak (the server streams a local '
        "receipt to every device it serves, still not federating it).",
        choices=("own_devices", "room"),
    ),
    Switch("receipt_users", 4, "Receipts scenario: N, the users in the room."),
    Switch("receipt_messages", 3, "Receipts scenario: M, the messages each user reads."),
)


def _check_keys(config: dict, allowed: tuple[str, ...]) -> None:
    for key in config:
        if key not in allowed:
            raise ConfigError(key, "one of: " + ", ".join(allowed), key)


def _crowd_users(switches: dict, index: int, crowds: int, server: str) -> list[str]:
    n = switches["receipt_users"]
    return [f"@u{i}:{server}" for i in range(n) if i % crowds == index]


def _crowd_devices(switches: dict, crowd: dict, server: str) -> dict[str, str]:
    """Device name -> user for a crowd's users (``u3d0``, ``u3d1``, ...)."""
    out = {}
    for user in _crowd_users(switches, crowd["index"], crowd["crowds"], server):
        for j in range(crowd.get("devices_per_user", 2)):
            out[f"{user[1:].split(':')[0]}d{j}"] = user
    return out


class Homeserver(Node):
    """Keeps the room's events, relays them to peers, streams them to devices."""

    kind = "homeserver"

    @classmethod
    def check_config(cls, config: dict[str, Any], node_names: tuple[str, ...]) -> None:
        _check_keys(config, ("peers", "crowd"))
        for peer in config.get("peers", []):
            if peer not in node_names:
                raise ConfigError("peers", "names of nodes", peer)
        crowd = config.get("crowd")
        if crowd is not None:
            if not isinstance(crowd, dict) or crowd.get("node") not in node_names:
                raise ConfigError("crowd.node", "the name of a crowd node", crowd)
            for key in ("index", "crowds"):
                if not isinstance(crowd.get(key), int):
                    raise ConfigError(f"crowd.{key}", "an integer", crowd.get(key))

    def initial_state(self) -> dict[str, Any]:
        # order: event IDs in the order this server took them (its stream)
        # devices: device -> {"node", "user", "shown": [parent IDs]}
        devices = {}
        crowd = self.config.get("crowd")
        if crowd is not None:
            for d, u in _crowd_devices(self.switches, crowd, self.name).items():
                devices[d] = {"node": crowd["node"], "user": u, "shown": []}
        return {
            "index": B.new_index(),
            "order": [],
            "orphans": {},
            "markers": {},
            "devices": devices,
        }

    def on_message(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        t = msg.get("type")
        out: dict[str, list] = {}
        if t == "fed.event":
            self._receive(ctx, state, msg["event"], out, federate=False)
        elif t == "send":
            self._receive(ctx, state, msg["event"], out, federate=True)
        for node in sorted(out):
            ctx.send(node, {"type": "stream", "items": out[node]})

    # -- taking events -------------------------------------------------------

    def _receive(self, ctx, state, ev, out, federate: bool) -> None:
        ix = state["index"]
        eid = ev["event_id"]
        if eid in ix["events"]:
            return
        parent = B.parent_of(ev)
        if ev["type"] == RC.MARKER:
            parent = ev["content"]["event_id"]  # it waits for the message it names
        if parent is not None and parent not in ix["events"]:
            # "Child events cannot stand alone": it waits for its parent.
            waiting = state["orphans"].setdefault(parent, [])
            if all(w["event_id"] != eid for w in waiting):
                waiting.append(ev)
            if federate:
                self._federate(ctx, state, ev)
            return
        if ev["type"] == RC.MARKER:
            # A read-up-to marker only moves forward.
            pos = state["order"].index(ev["content"]["event_id"])
            if pos <= state["markers"].get(ev["sender"], -1):
                return
            state["markers"][ev["sender"]] = pos
        B.add(ix, ev)
        state["order"].append(eid)
        if federate:
            self._federate(ctx, state, ev)
        self._stream(ctx, state, ev, out)
        for orphan in state["orphans"].pop(eid, []):
            self._receive(ctx, state, orphan, out, federate=False)

    def _federate(self, ctx: Context, state: dict, ev: dict) -> None:
        if ev.get("local"):
            return  # local receipts are "not shared ... via federation"
        for peer in self.config.get("peers", []):
            msg = {"type": "fed.event", "event": ev}
            ctx.send(peer, msg)
            if RC.is_receipt(ev):
                _count(ctx, "s2s", msg)

    def _visible(self, dev: dict):
        """Local receipts are shared only between one user's devices."""
        if self.switches["local_receipt_audience"] == "room":
            return lambda ev: True
        return lambda ev: not ev.get("local") or ev["sender"] == dev["user"]

    def _stream(self, ctx, state, ev, out) -> None:
        ix = state["index"]
        parent = B.parent_of(ev)
        top = B.root(ix, ev["event_id"])
        for d in sorted(state["devices"]):
            dev = state["devices"][d]
            if not self._visible(dev)(ev):
                continue
            if ev["type"] == RC.MARKER:
                item = {"delta": ev}  # a marker is not bundled: it names, it does not update
            elif parent is None:
                item = {
                    "bundle": B.bundle(ix, top, self.switches["bundle_limit"], self._visible(dev))
                }
                dev["shown"].append(top)
            elif top in dev["shown"]:
                item = {"delta": ev}
            else:
                continue  # it comes inside its parent's bundle
            self._put(state, out, d, item)
            if RC.is_receipt(ev):
                _count(ctx, "s2c", {"type": "stream", "events": [ev]})

    def _put(self, state, out, device, item) -> None:
        node = state["devices"][device]["node"]
        out.setdefault(node, []).append([device, item])


def _count(ctx: Context, link: str, msg: dict) -> None:
    messages, size = RC.link_metric(link)
    ctx.metric(messages)
    ctx.metric(size, len(canonical(msg)))


# -- what a client displays -----------------------------------------------------


def new_display() -> dict[str, Any]:
    """A client's view: parents shown, the children applied to each, held-back deltas.

    ``shown``: parent ID -> {"applied": [child IDs], "replies": [reply IDs],
    "start": pagination token}; ``held``: children whose
    parent is not shown yet; ``handed``: reply ID -> times it was handed over
    (1, or 2 for "more than once");
    ``receipts``: receipt IDs seen; ``events``: every event known, by ID.
    """
    return {"shown": {}, "held": [], "handed": {}, "receipts": [], "events": {}}


def _owner(view: dict, eid: str) -> str | None:
    """The shown parent whose bundle holds ``eid`` (itself or an applied child)."""
    if eid in view["shown"]:
        return eid
    for top, entry in view["shown"].items():
        if eid in entry["applied"]:
            return top
    return None


def take_item(view: dict, item: dict) -> None:
    """Apply one stream item to a client's view."""
    if "bundle" in item:
        _take_bundle(view, item["bundle"])
    elif "delta" in item:
        _take_child(view, item["delta"])
    _release(view)


def _take_bundle(view: dict, bundle: dict) -> None:
    ev = bundle["event"]
    top = ev["event_id"]
    view["events"][top] = ev
    if top in view["shown"]:
        return
    entry = {"applied": [], "replies": [], "start": bundle["replies"]["start"]}
    view["shown"][top] = entry
    for child in bundle["updated_by"]:
        _take_child(view, child)
    for reply in bundle["replies"]["chunk"]:
        _reply(view, entry, reply)


def _take_child(view: dict, ev: dict) -> None:
    eid = ev["event_id"]
    view["events"][eid] = ev
    if RC.is_receipt(ev) and eid not in view["receipts"]:
        view["receipts"].append(eid)
    if "updates" not in ev and "relates_to" not in ev:
        return  # a read-up-to marker: no parent to apply to
    top = _owner(view, B.parent_of(ev))
    if top is None:
        if all(h["event_id"] != eid for h in view["held"]):
            view["held"].append(ev)  # never shown without its parent
        return
    entry = view["shown"][top]
    if "updates" in ev:
        if eid not in entry["applied"]:
            entry["applied"].append(eid)
    else:
        _reply(view, entry, ev)


def _reply(view: dict, entry: dict, ev: dict) -> None:
    eid = ev["event_id"]
    view["events"][eid] = ev
    # Saturates at 2: pagination_once asks only whether a reply came twice.
    view["handed"][eid] = min(2, view["handed"].get(eid, 0) + 1)
    if eid not in entry["replies"]:
        entry["replies"].append(eid)


def _release(view: dict) -> None:
    """Apply held children whose parent is now shown (children of children too)."""
    progress = True
    while progress and view["held"]:
        progress = False
        for ev in list(view["held"]):
            if _owner(view, B.parent_of(ev)) is not None:
                view["held"].remove(ev)
                _take_child(view, ev)
                progress = True


class Crowd(Node):
    """The users of one server in the receipts scenario (module docstring).

    Config: ``server``, ``index``, ``crowds``, ``devices_per_user`` (default 2).
    """

    kind = "crowd"

    @classmethod
    def check_config(cls, config: dict[str, Any], node_names: tuple[str, ...]) -> None:
        _check_keys(config, ("server", "index", "crowds", "devices_per_user"))
        if config.get("server") not in node_names:
            raise ConfigError("server", "the name of a node", config.get("server"))
        for key in ("index", "crowds", "devices_per_user"):
            v = config.get(key, 1)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ConfigError(key, "a non-negative integer", v)

    @classmethod
    def check_input(cls, data: dict[str, Any]) -> None:
        _check_keys(data, ("op",))
        if data.get("op") not in ("post", "read"):
            raise ConfigError("op", '"post" or "read"', data.get("op"))

    def _devices(self) -> dict[str, str]:
        return _crowd_devices(self.switches, self.config, self.config["server"])

    def initial_state(self) -> dict[str, Any]:
        views = {d: new_display() for d in self._devices()}
        return {"views": views, "read": {}, "made": 0}

    def on_message(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        if src != WORKLOAD:
            for dev, item in msg.get("items", []):
                take_item(state["views"][dev], item)
            return
        devices = self._devices()
        if msg["op"] == "post":
            if "@u0:" not in "".join(devices.values()):
                return
            for k in range(self.switches["receipt_messages"]):
                ev = {
                    "event_id": f"$m{k}",
                    "type": "m.room.message",
                    "sender": devices["u0d0"],
                    "content": {"body": f"message {k}"},
                }
                ctx.send(self.config["server"], {"type": "send", "device": "u0d0", "event": ev})
            return
        strategy = self.switches["receipts"]
        for dev in sorted(devices):
            user = devices[dev]
            if not dev.endswith("d0") or user.startswith("@u0:"):
                continue  # one device per reader reads; the author reads nothing
            view = state["views"][dev]
            unread = [
                eid
                for eid in sorted(view["shown"], key=lambda e: (len(e), e))
                if not RC.is_receipt(view["events"][eid]) and eid not in state["read"].get(dev, [])
            ]
            if not unread:
                continue
            state["read"].setdefault(dev, []).extend(unread)
            targets = unread if strategy in ("local", "relates_to") else unread[-1:]
            for eid in targets:
                state["made"] += 1
                ev = RC.receipt(strategy, user, dev, eid, state["made"])
                req = {"type": "send", "device": dev, "event": ev}
                ctx.send(self.config["server"], req)
                _count(ctx, "c2s", req)


# -- properties ------------------------------------------------------------


def _servers(view: View) -> list[str]:
    return [n for n in view.nodes if view.kind(n) == "homeserver"]


def _views(view: View) -> list[tuple[str, str, str, dict]]:
    """(node, device, server, client view) for every crowd device."""
    out = []
    for n in view.nodes:
        if view.kind(n) == "crowd":
            server = _server_of(view, n)
            for d, v in sorted(view.state(n)["views"].items()):
                out.append((n, d, server, v))
    return out


def _server_of(view: View, node: str) -> str:
    for s in _servers(view):
        for dev in view.state(s)["devices"].values():
            if dev["node"] == node:
                return s
    return ""


def _user_of(view: View, server: str, device: str) -> str:
    return view.state(server)["devices"][device]["user"]


@always("bundles_whole")
def bundles_whole(view: View) -> bool:
    """No client displays a child without its parent."""
    for _n, _d, _s, v in _views(view):
        for top in v["shown"]:
            if B.is_child(v["events"][top]):
                return False
    return True


@always("updates_applied_once")
def updates_applied_once(view: View) -> bool:
    """No ``updates`` child is applied twice to a displayed parent."""
    for _n, _d, _s, v in _views(view):
        for entry in v["shown"].values():
            if len(entry["applied"]) != len(set(entry["applied"])):
                return False
    return True


@eventually("updates_complete")
def updates_complete(view: View) -> bool:
    """Every ``updates`` child of a displayed parent (that its user may see) is applied."""
    for _n, d, s, v in _views(view):
        st = view.state(s)
        user = _user_of(view, s, d)
        for top in v["shown"]:
            entry = v["shown"][top]
            want = [
                ev["event_id"]
                for ev in B.descendants(st["index"], top)
                if not ev.get("local") or ev["sender"] == user
            ]
            if sorted(want) != sorted(entry["applied"]):
                return False
    return True


@always("pagination_once")
def pagination_once(view: View) -> bool:
    """Paging through replies hands each one over at most once."""
    return all(n <= 1 for _a, _b, _c, v in _views(view) for n in v["handed"].values())


@always("local_receipts_stay_local")
def local_receipts_stay_local(view: View) -> bool:
    """A local receipt reaches only its user's devices and never leaves its server."""
    for _n, d, s, v in _views(view):
        user = _user_of(view, s, d)
        for rid in v["receipts"]:
            ev = v["events"][rid]
            if ev.get("local") and ev["sender"] != user:
                return False
    for s in _servers(view):
        for ev in view.state(s)["index"]["events"].values():
            if ev.get("local") and not ev["sender"].endswith(":" + s):
                return False
    return True


@eventually("receipts_delivered")
def receipts_delivered(view: View) -> bool:
    """Each device has every receipt meant for it: its user's own (local), or all."""
    receipts: dict[str, dict] = {}
    for s in _servers(view):
        for eid, ev in view.state(s)["index"]["events"].items():
            if RC.is_receipt(ev):
                receipts[eid] = ev
    for _n, d, s, v in _views(view):
        user = _user_of(view, s, d)
        want = sorted(
            eid for eid, ev in receipts.items() if not ev.get("local") or ev["sender"] == user
        )
        if sorted(v["receipts"]) != want:
            return False
    return True


@sometimes("receipt_reached_own_device")
def receipt_reached_own_device(view: View) -> bool:
    """A receipt one device sent reached another device of the same user."""
    for _n, d, s, v in _views(view):
        user = _user_of(view, s, d)
        for rid in v["receipts"]:
            ev = v["events"][rid]
            if ev["sender"] == user and ev.get("device_id") != d:
                return True
    return False


MODEL = Model(
    name="relations",
    doc="Read receipts as updates and relates_to children, and read-up-to markers.",
    kinds={"homeserver": Homeserver, "crowd": Crowd},
    switches=SWITCHES,
    properties=(
        bundles_whole,
        updates_applied_once,
        updates_complete,
        pagination_once,
        local_receipts_stay_local,
        receipts_delivered,
        receipt_reached_own_device,
    ),
)
