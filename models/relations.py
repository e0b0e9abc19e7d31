"""Events that name other events: bundles and pagination of replies.

Proposal sections (``general_api.rst``): "Updates (Events)" and its
"Bundling" (children come down inside their parent, recursively; a client is
not told of a child whose parent it has not reached: "You will receive them
when you scroll back to the parent event"; "Clients *always* need to know how
to apply the deltas because clients may receive the events separately down
the event stream"), "Relates to (Events)" and its "Bundling" (replies bundled
up to a limit the client sets, with a pagination token for the rest), the
"Example using ``updates`` and ``relates_to``". (The read receipts the two
sections' use cases name are in the ``matrix`` model:
:mod:`mxsim.models.homeserver.receipts`.)

A simpler server than the federation homeserver: a room's events (one room,
no auth) kept by each server in the order it took them, relayed between
servers (``fed.event``) and streamed to devices. The bundle helpers are in
:mod:`models.relate.bundle`.

Nodes:

- ``homeserver``: config ``devices`` (device node -> user ID), ``late``
  (devices that are not live until their initial sync), ``peers``
  (other servers).
  A child whose parent it lacks (federation reorders) waits for the parent.
  A device is *live* from the start (config) or after an initial sync; a
  live device gets each new top-level event as a bundle and each new child of
  a parent it was shown as a delta; a child of a parent it was not shown is
  held back until it scrolls back to the parent.
- ``device``: a client. Workload: ``send``, ``edit`` (an ``updates`` child of
  ``of``, a message or an edit), ``comment`` (a ``relates_to`` child of
  ``on``), ``sync`` (initial sync of the last ``limit`` events), ``scrollback``
  (the ``limit`` events before its window), ``paginate`` (every shown parent's
  replies, page after page, until none are left). Event IDs are ``$`` + the
  workload's ``label``.
Messages: device -> server ``{"type": "send", "device", "event"}``,
``{"type": "sync", "device", "limit"}``, ``{"type": "scrollback", "device",
"from", "limit"}``, ``{"type": "paginate", "device", "parent", "token"}``;
server -> device ``{"type": "stream", "items": [[device, item], ...]}``
(one per node per step; an item is ``{"bundle": ...}``, ``{"delta": ev}``,
``{"window": [...], "from": token}`` or ``{"page": [...], "parent", "token",
"start"}``); server -> server ``{"type": "fed.event", "event"}``.

Scenarios: ``relations`` (edits across federation, a window that starts at
an edit, scrollback to its message), ``relations-pagination`` (replies paged
past the bundle limit).

Findings (``mxsim check``; lengths are the shortest traces, node starts included):

- ``mxsim check relations --set withhold_orphan_children=false``: violates
  ``bundles_whole`` (15 steps): a client told of an edit whose message it has
  not reached shows the child alone, as the proposal's "No you shouldn't be
  told about child events" foresees.
"""

from __future__ import annotations

from typing import Any

from mxsim.models.relate import bundle as B
from mxsim.sim.model import Model, Switch, View, always, eventually, sometimes
from mxsim.sim.node import WORKLOAD, ConfigError, Context, Node

__all__ = ["MODEL", "Homeserver", "Device"]

SWITCHES = (
    Switch(
        "withhold_orphan_children",
        True,
        'Updates (Events), Bundling: "Should you be told about child events for which you do '
        "not know the parent event? Conclusion: No you shouldn't be told about child events.\"",
    ),
    Switch(
        "bundle_limit",
        2,
        'Relates to (Events), Bundling: "The number of child events which can be bundled '
        'should be limited ... This limit should be set by the client."',
    ),
)


def _check_keys(config: dict, allowed: tuple[str, ...]) -> None:
    for key in config:
        if key not in allowed:
            raise ConfigError(key, "one of: " + ", ".join(allowed), key)


class Homeserver(Node):
    """Keeps the room's events, relays them to peers, streams them to devices."""

    kind = "homeserver"

    @classmethod
    def check_config(cls, config: dict[str, Any], node_names: tuple[str, ...]) -> None:
        _check_keys(config, ("devices", "late", "peers"))
        for dev, user in config.get("devices", {}).items():
            if dev not in node_names:
                raise ConfigError(f"devices.{dev}", "the name of a node", dev)
            if not isinstance(user, str) or not user.startswith("@"):
                raise ConfigError(f"devices.{dev}", "a user ID", user)
        for peer in config.get("peers", []):
            if peer not in node_names:
                raise ConfigError("peers", "names of nodes", peer)

    def initial_state(self) -> dict[str, Any]:
        # order: event IDs in the order this server took them (its stream)
        # devices: device -> {"node", "user", "live", "shown": [parent IDs]}
        late = self.config.get("late", [])
        devices = {
            d: {"node": d, "user": u, "live": d not in late, "shown": []}
            for d, u in self.config.get("devices", {}).items()
        }
        return {
            "index": B.new_index(),
            "order": [],
            "orphans": {},
            "devices": devices,
            # The guard's observations, flags: seen once is seen (a count would
            # make new states of old ones).
            "seen": {"orphans": False, "held_back": False},
        }

    def on_message(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        t = msg.get("type")
        out: dict[str, list] = {}
        if t == "fed.event":
            self._receive(ctx, state, msg["event"], out, federate=False)
        elif t == "send":
            self._receive(ctx, state, msg["event"], out, federate=True)
        elif t == "sync":
            self._sync(state, msg, out)
        elif t == "scrollback":
            self._scrollback(state, msg, out)
        elif t == "paginate":
            items, start = B.page(
                state["index"], msg["parent"], msg["token"], self.switches["bundle_limit"]
            )
            item = {"page": items, "parent": msg["parent"], "token": msg["token"], "start": start}
            self._put(state, out, msg["device"], item)
        for node in sorted(out):
            ctx.send(node, {"type": "stream", "items": out[node]})

    # -- taking events -------------------------------------------------------

    def _receive(self, ctx, state, ev, out, federate: bool) -> None:
        ix = state["index"]
        eid = ev["event_id"]
        if eid in ix["events"]:
            return
        parent = B.parent_of(ev)
        if parent is not None and parent not in ix["events"]:
            # "Child events cannot stand alone": it waits for its parent.
            waiting = state["orphans"].setdefault(parent, [])
            if all(w["event_id"] != eid for w in waiting):
                waiting.append(ev)
                state["seen"]["orphans"] = True
            if federate:
                self._federate(ctx, state, ev)
            return
        B.add(ix, ev)
        state["order"].append(eid)
        if federate:
            self._federate(ctx, state, ev)
        self._stream(ctx, state, ev, out)
        for orphan in state["orphans"].pop(eid, []):
            self._receive(ctx, state, orphan, out, federate=False)

    def _federate(self, ctx: Context, state: dict, ev: dict) -> None:
        for peer in self.config.get("peers", []):
            ctx.send(peer, {"type": "fed.event", "event": ev})

    def _stream(self, ctx, state, ev, out) -> None:
        ix = state["index"]
        parent = B.parent_of(ev)
        top = B.root(ix, ev["event_id"])
        for d in sorted(state["devices"]):
            dev = state["devices"][d]
            if not dev["live"]:
                continue
            if parent is None:
                item = {"bundle": B.bundle(ix, top, self.switches["bundle_limit"])}
                dev["shown"].append(top)
            elif top in dev["shown"]:
                item = {"delta": ev}
            else:
                state["seen"]["held_back"] = True
                continue  # it comes inside its parent's bundle when the device gets there
            self._put(state, out, d, item)

    # -- windows ---------------------------------------------------------------

    def _window(self, state, device, ids) -> list[dict]:
        """Bundles for the parents among ``ids``; their children come inside them."""
        ix, dev = state["index"], state["devices"][device]
        items = []
        for eid in ids:
            ev = ix["events"][eid]
            top = B.root(ix, eid)
            if not B.is_child(ev):
                if top not in dev["shown"]:
                    dev["shown"].append(top)
                    bundle = B.bundle(ix, top, self.switches["bundle_limit"])
                    items.append({"bundle": bundle})
            elif top not in dev["shown"] and top not in ids:
                state["seen"]["held_back"] = True
                if not self.switches["withhold_orphan_children"]:
                    items.append({"orphan": ev})
        return items

    def _sync(self, state, msg, out) -> None:
        device = msg["device"]
        order = state["order"]
        start = max(0, len(order) - msg["limit"])
        state["devices"][device]["live"] = True
        items = self._window(state, device, order[start:])
        self._put(state, out, device, {"window": items, "from": start})

    def _scrollback(self, state, msg, out) -> None:
        device, end = msg["device"], msg["from"]
        start = max(0, end - msg["limit"])
        items = self._window(state, device, state["order"][start:end])
        self._put(state, out, device, {"window": items, "from": start})

    def _put(self, state, out, device, item) -> None:
        node = state["devices"][device]["node"]
        out.setdefault(node, []).append([device, item])


# -- what a client displays -----------------------------------------------------


def new_display() -> dict[str, Any]:
    """A client's view: parents shown, the children applied to each, held-back deltas.

    ``shown``: parent ID -> {"applied": [child IDs], "replies": [reply IDs],
    "start": pagination token, "orphan": bool, and "paged_to_end": true once
    the client took the last page of its replies}; ``held``: children whose
    parent is not shown yet; ``handed``: reply ID -> times it was handed over
    (1, or 2 for "more than once"); ``events``: every event known, by ID.
    """
    return {"shown": {}, "held": [], "handed": {}, "events": {}, "from": None}


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
    elif "window" in item:
        for sub in item["window"]:
            take_item(view, sub)
        if view["from"] is None or item["from"] < view["from"]:
            view["from"] = item["from"]
    elif "orphan" in item:
        ev = item["orphan"]
        view["events"][ev["event_id"]] = ev
        view["shown"].setdefault(
            ev["event_id"], {"applied": [], "replies": [], "start": None, "orphan": True}
        )
    elif "page" in item:
        entry = view["shown"].get(item["parent"])
        if entry is None or entry["start"] != item["token"]:
            return  # a page already taken
        for ev in item["page"]:
            _reply(view, entry, ev)
        entry["start"] = item["start"]
        if item["start"] is None:
            # The guard paged_to_the_end: the client itself paged to the last page
            # (replies that came down the stream as deltas are not paging).
            entry["paged_to_end"] = True
    _release(view)


def _take_bundle(view: dict, bundle: dict) -> None:
    ev = bundle["event"]
    top = ev["event_id"]
    view["events"][top] = ev
    if top in view["shown"]:
        return
    entry = {"applied": [], "replies": [], "start": bundle["replies"]["start"], "orphan": False}
    view["shown"][top] = entry
    for child in bundle["updated_by"]:
        _take_child(view, child)
    for reply in bundle["replies"]["chunk"]:
        _reply(view, entry, reply)


def _take_child(view: dict, ev: dict) -> None:
    eid = ev["event_id"]
    view["events"][eid] = ev
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


class Device(Node):
    """A client device (workload ops in the module docstring).

    Config: ``server``, ``user``.
    """

    kind = "device"

    @classmethod
    def check_config(cls, config: dict[str, Any], node_names: tuple[str, ...]) -> None:
        _check_keys(config, ("server", "user"))
        if config.get("server") not in node_names:
            raise ConfigError("server", "the name of a node", config.get("server"))
        if not isinstance(config.get("user"), str):
            raise ConfigError("user", "a user ID", config.get("user"))

    @classmethod
    def check_input(cls, data: dict[str, Any]) -> None:
        ops = {
            "send": ("label", "body"),
            "edit": ("label", "of", "body"),
            "comment": ("label", "on", "body"),
            "sync": ("limit",),
            "scrollback": ("limit",),
            "paginate": (),
        }
        op = data.get("op")
        if op not in ops:
            raise ConfigError("op", "one of: " + ", ".join(ops), op)
        _check_keys(data, ("op", *ops[op]))
        for key in ops[op]:
            if key not in data:
                raise ConfigError(key, f"present for op {op}", None)

    def initial_state(self) -> dict[str, Any]:
        return new_display()

    def on_message(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        server, me = self.config["server"], self.name
        if src != WORKLOAD:
            for _dev, item in msg.get("items", []):
                take_item(state, item)
                if "page" in item:
                    self._paginate(ctx, state, item["parent"])
            return
        op = msg["op"]
        if op in ("send", "edit", "comment"):
            ev = {
                "event_id": "$" + msg["label"],
                "type": "m.room.message",
                "sender": self.config["user"],
                "content": {"body": msg["body"]},
            }
            if op == "edit":
                ev["updates"] = "$" + msg["of"]
            elif op == "comment":
                ev["relates_to"] = "$" + msg["on"]
            ctx.send(server, {"type": "send", "device": me, "event": ev})
        elif op == "sync":
            ctx.send(server, {"type": "sync", "device": me, "limit": msg["limit"]})
        elif op == "scrollback" and state["from"]:
            req = {"type": "scrollback", "device": me, "from": state["from"]}
            ctx.send(server, {**req, "limit": msg["limit"]})
        elif op == "paginate":
            self._paginate(ctx, state)

    def _paginate(self, ctx: Context, state: dict, only: str | None = None) -> None:
        """Ask for the next page of every shown parent (or of ``only``) with replies left."""
        for top in sorted(state["shown"]) if only is None else [only]:
            token = state["shown"][top]["start"]
            if token is not None:
                msg = {"type": "paginate", "device": self.name, "parent": top, "token": token}
                ctx.send(self.config["server"], msg)


# -- properties ------------------------------------------------------------


def _servers(view: View) -> list[str]:
    return [n for n in view.nodes if view.kind(n) == "homeserver"]


def _views(view: View) -> list[tuple[str, str, str, dict]]:
    """(node, device, server, client view) for every device."""
    out = []
    for n in view.nodes:
        if view.kind(n) == "device":
            out.append((n, n, _server_of(view, n), view.state(n)))
    return out


def _server_of(view: View, node: str) -> str:
    for s in _servers(view):
        for dev in view.state(s)["devices"].values():
            if dev["node"] == node:
                return s
    return ""


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
    """Every ``updates`` child of a displayed parent is applied."""
    for _n, _d, s, v in _views(view):
        st = view.state(s)
        for top, entry in v["shown"].items():
            if entry["orphan"]:
                continue
            want = [ev["event_id"] for ev in B.descendants(st["index"], top)]
            if sorted(want) != sorted(entry["applied"]):
                return False
    return True


@always("pagination_once")
def pagination_once(view: View) -> bool:
    """Paging through replies hands each one over at most once."""
    return all(n <= 1 for _a, _b, _c, v in _views(view) for n in v["handed"].values())


@eventually("pagination_complete")
def pagination_complete(view: View) -> bool:
    """A parent paged to the end has every reply its server has."""
    for _n, _d, s, v in _views(view):
        replies = view.state(s)["index"]["replies"]
        for top, entry in v["shown"].items():
            if entry["start"] is None and not entry["orphan"]:
                if sorted(entry["replies"]) != sorted(replies.get(top, [])):
                    return False
    return True


@sometimes("child_before_parent")
def child_before_parent(view: View) -> bool:
    """A child reached a server before its parent, or a window before its parent."""
    return any(
        view.state(s)["seen"]["orphans"] or view.state(s)["seen"]["held_back"]
        for s in _servers(view)
    )


@sometimes("paged_to_the_end")
def paged_to_the_end(view: View) -> bool:
    """Some client paged a parent's replies beyond the bundle limit, to the end: it
    took the last page itself (replies that came as deltas, with no page asked
    for, do not count: they reached this guard before)."""
    for _n, _d, _s, v in _views(view):
        for entry in v["shown"].values():
            limit = view.switches["bundle_limit"]
            if entry.get("paged_to_end") and len(entry["replies"]) > limit:
                return True
    return False


MODEL = Model(
    name="relations",
    doc="updates and relates_to: bundles and pagination of replies.",
    kinds={"homeserver": Homeserver, "device": Device},
    switches=SWITCHES,
    properties=(
        bundles_whole,
        updates_applied_once,
        updates_complete,
        pagination_once,
        pagination_complete,
        child_before_parent,
        paged_to_the_end,
    ),
)
