"""A device showing bundles (proposal: "Updates (Events)", "Relates to (Events)",
their "Bundling", and the "Example using ``updates`` and ``relates_to``").

A top-level event comes down with its children inside it (``updated_by``,
``replies``); a child of a parent the device shows comes down alone, as a
delta ("Clients *always* need to know how to apply the deltas because
clients may receive the events separately down the event stream"). A delta
whose parent the device does not show yet waits for it (a scrollback page
and the stream travel apart); a child a window hands over marked
``orphan`` (a server that does not hold children back) is shown alone.
Replies past the bundle's limit are paged with its pagination token. A
device with this part shows its messages through it, not the ``timeline``
part (a bundle is one entry whatever it holds).

Config (``bundles = { room = "!r:hs1" }``): the room the workload acts in.
Workload (the messages themselves are ``send_event`` with a ``label`` in
their content; scrolling back is ``scrollback``):

- ``edit``: ``label``, ``of`` (a label), ``body``: an ``updates`` child;
- ``comment``: ``label``, ``on`` (a label), ``body``: a ``relates_to`` child;
  both wait until the device holds the event they name (a client names
  only events it has);
- ``sync``: ``limit``: open the stream with an initial sync of the last
  ``limit`` messages (a device configured ``stream = { open = false }`` is
  not live until then);
- ``paginate``: every shown parent's remaining replies, page after page.
"""

from __future__ import annotations

from typing import Any

from mxsim.models.device.filters import api_at, definition
from mxsim.models.homeserver.updates import parent_of
from mxsim.sim.node import ConfigError, Context
from mxsim.sim.parts import Part

__all__ = ["Bundles", "page_limit", "bundle_limit"]

#: Each op's fields, and the key by which an edit or a comment names its parent.
OPS = {
    "edit": ("label", "of", "body"),
    "comment": ("label", "on", "body"),
    "sync": ("limit",),
    "paginate": (),
}
RELATION = {"edit": ("of", "updates"), "comment": ("on", "relates_to")}


def bundle_limit(config: dict, switches, api: str = "stream") -> int:
    """The most replies the device asked a bundle of ``api`` to hold: its filter's
    ``bundle_limit`` ("the max # to coalesce"), else the switch ``bundle_limit``."""
    limit = definition(config.get("filters", {}), api).get("bundle_limit")
    return switches["bundle_limit"] if limit is None else limit


def page_limit(config: dict, switches) -> int:
    """A page of replies is as long as a stream bundle (at least 1, so paging ends)."""
    return max(1, bundle_limit(config, switches))


class Bundles(Part):
    """State: ``shown`` (parent ID -> {"applied": [update IDs], "replies": [reply
    IDs], "start": pagination token, and "paged": true once the device took the
    last page itself}), ``alone`` (children shown without their parent),
    ``held`` (deltas waiting for their parent), ``handed`` (reply ID -> times
    handed over: 1, or 2 for "more than once"), ``labels``
    (label -> event ID) and ``owed`` (edits and comments waiting for their parent)."""

    name = "bundles"
    section = "Updates (Events), Bundling; Relates to (Events), Bundling"
    handles = ("replies_chunk",)
    ops = tuple(OPS)
    keys = {"room": "a room ID"}

    @classmethod
    def check_config(cls, config, node_config, node_names) -> None:
        super().check_config(config, node_config, node_names)
        if not isinstance(config.get("room"), str):
            raise ConfigError("room", "a room ID", config.get("room"))

    @classmethod
    def check_input(cls, data: dict[str, Any]) -> None:
        op = data["op"]
        for key in data:
            if key not in ("op", *OPS[op]):
                raise ConfigError(key, f"a field of op {op}: " + ", ".join(OPS[op]), key)
        for key in OPS[op]:
            want = int if key == "limit" else str
            if not isinstance(data.get(key), want) or isinstance(data.get(key), bool):
                raise ConfigError(key, f"a {want.__name__} (op {op})", data.get(key))

    def initial(self) -> dict[str, Any]:
        return {"shown": {}, "alone": [], "held": [], "handed": {}, "labels": {}, "owed": []}

    # -- the workload ---------------------------------------------------------------

    def on_input(self, ctx: Context, state: dict, data: dict[str, Any]) -> None:
        op = data["op"]
        if op in RELATION:
            self.of(state)["owed"].append(data)  # sent once its parent is here: after()
        elif op == "sync":
            ooo = self.node.part("requests").out_of_order()
            msg = {"type": "register", "user": self.node.config["user"], "out_of_order": ooo}
            ctx.send(self.node.config["server"], {**msg, "limit": data["limit"]})
            initial = self.node.part("initial_sync")
            if initial is not None:
                initial.asked(state, data["limit"])  # what its room starts must hold
        else:
            for top in sorted(self.of(state)["shown"]):
                self._page(ctx, state, top)

    def after(self, ctx: Context, state: dict) -> None:
        mine = self.of(state)
        for data in list(mine["owed"]):
            name, key = RELATION[data["op"]]
            parent = mine["labels"].get(data[name])
            if parent is None:
                continue
            mine["owed"].remove(data)
            content = {"body": data["body"], "label": data["label"]}
            request = {"op": "send_event", "room": self.config["room"], key: parent}
            request.update(event_type="m.room.message", content=content)
            self.node.part("requests").on_input(ctx, state, request)

    def _page(self, ctx: Context, state: dict, top: str) -> None:
        """Ask for the page of ``top``'s replies before its token, if replies are left."""
        token = self.of(state)["shown"][top]["start"]
        if token is not None:
            request = {"op": "replies", "room": self.config["room"], "event_id": top}
            limit = page_limit(self.node.config, self.node.switches)
            request.update({"from": token, "limit": limit})
            self.node.part("requests").on_input(ctx, state, request)

    # -- what comes down --------------------------------------------------------------

    def apply(self, state: dict, entry: dict) -> None:
        """A message event from the stream: a bundle, a delta or an orphan."""
        self._take(state, entry["event"])
        self._release(state)

    def take_chunk(self, state: dict, chunk: list[dict]) -> None:
        """A scrollback page (newest first): its bundles, oldest first."""
        for ev in reversed(chunk):
            if "state_key" not in ev:
                self._take(state, ev)
        self._release(state)

    def on_replies_chunk(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        self.node.part("requests").note(state, msg["aid"], msg["ok"], ctx)
        filters = self.node.part("filters")
        if filters is not None and msg["ok"]:
            filters.saw_page(state, "replies", msg, msg["chunk"])  # "Which keys to return"
        entry = self.of(state)["shown"].get(msg.get("event_id"))
        if not msg["ok"] or entry is None or entry["start"] is None:
            return
        if msg["start"] is not None and msg["start"] >= entry["start"]:
            return  # a page taken already
        for ev in msg["chunk"]:
            self._reply(state, entry, ev)
        entry["start"] = msg["start"]
        if msg["start"] is None:
            # The guard paged_to_the_end: this device took the last page itself.
            entry["paged"] = True
        else:
            self._page(ctx, state, msg["event_id"])

    def _take(self, state: dict, ev: dict) -> None:
        mine = self.of(state)
        eid = ev["event_id"]
        self._label(state, ev)
        if ev.get("orphan"):
            if eid not in mine["alone"]:
                mine["alone"].append(eid)  # what the proposal says not to do
        elif parent_of(ev) is not None:
            self._child(state, ev)
        elif eid not in mine["shown"]:
            replies = ev.get("replies", {"start": None, "chunk": []})
            entry = mine["shown"][eid] = {"applied": [], "replies": [], "start": replies["start"]}
            filters = self.node.part("filters")
            if filters is not None:
                # Which filter's bundle this was, and how many replies it held.
                pos = self.node.part("stream").of(state)["last_pos"]
                entry.update(api=api_at(filters.config, pos), bundled=len(replies["chunk"]))
            for child in ev.get("updated_by", []):
                self._child(state, child)
            for reply in replies["chunk"]:
                self._reply(state, entry, reply)

    def _owner(self, state: dict, eid: str) -> str | None:
        """The shown parent whose bundle holds ``eid`` (itself or an applied update)."""
        shown = self.of(state)["shown"]
        if eid in shown:
            return eid
        return next((t for t in sorted(shown) if eid in shown[t]["applied"]), None)

    def _child(self, state: dict, ev: dict) -> None:
        mine = self.of(state)
        top = self._owner(state, parent_of(ev))
        if top is None:
            if ev not in mine["held"]:
                mine["held"].append(ev)  # never shown without its parent
            return
        entry = mine["shown"][top]
        if "updates" in ev:
            self._label(state, ev)
            entry["applied"].append(ev["event_id"])  # a delta applied again is the error
        else:
            self._reply(state, entry, ev)

    def _reply(self, state: dict, entry: dict, ev: dict) -> None:
        mine, eid = self.of(state), ev["event_id"]
        self._label(state, ev)
        mine["handed"][eid] = min(2, mine["handed"].get(eid, 0) + 1)  # only "twice" matters
        if eid not in entry["replies"]:
            entry["replies"].append(eid)

    def _label(self, state: dict, ev: dict) -> None:
        label = ev.get("content", {}).get("label")
        if label is not None:
            self.of(state)["labels"][label] = ev["event_id"]

    def _release(self, state: dict) -> None:
        """Apply held deltas whose parent is now shown (children of children too)."""
        mine = self.of(state)
        progress = True
        while progress and mine["held"]:
            progress = False
            for ev in list(mine["held"]):
                if self._owner(state, parent_of(ev)) is not None:
                    mine["held"].remove(ev)
                    self._child(state, ev)
                    progress = True
