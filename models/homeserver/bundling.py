"""Bundles: children come down inside their parent (proposal: "Updates
(Events)", "Bundling"; "Relates to (Events)", "Bundling").

"Events that relate to another event should come down inside that event ...
This is called a 'bundle'": a top-level event is streamed, and shown in a
window (initial sync, scrollback), with every ``updates`` child inside it,
recursively ("get the child events recursively from the top-level event"),
and its last ``bundle_limit`` ``relates_to`` children (the device's filter's
``bundle_limit``, else the switch's) with a pagination token for the rest
("This limit should be set by the client. If the limit is exceeded, then the
bundle should also include a pagination token"). The
shape is the proposal's example: the parent event with ``updated_by`` and
``replies: {start, chunk}`` inside it.

A child of a parent the device was shown comes down the stream alone, as a
delta ("clients may receive the events separately down the event stream").
A child of a parent it was not shown is held back: "No you shouldn't be told
about child events. You will receive them when you scroll back to the parent
event" (switch ``withhold_orphan_children``; off, a window holds the child
alone, marked ``orphan``).

A pagination token is how many of the parent's replies (in the order this
server accepted them) the device has not been given; ``replies`` asks for
the ``limit`` before it. The state is the parents each device was shown
(``shown``: device -> [event ID]) and ``seen``, whether a window ever held a
child back (a flag, so it multiplies no states).

>>> store = {"events": {}, "soft_failed": {}, "recent": []}
>>> for e in ({"event_id": "$m"}, {"event_id": "$e", "updates": "$m"},
...           {"event_id": "$f", "updates": "$e"}, {"event_id": "$c1", "relates_to": "$m"},
...           {"event_id": "$c2", "relates_to": "$m"}):
...     store["events"][e["event_id"]] = e
...     store["recent"].append(e["event_id"])
>>> b = bundle(store, "$m", limit=1)
>>> [c["event_id"] for c in b["updated_by"]], b["replies"]
(['$e', '$f'], {'start': 1, 'chunk': [{'event_id': '$c2', 'relates_to': '$m'}]})
>>> page(store, "$m", 1, limit=1)
([{'event_id': '$c1', 'relates_to': '$m'}], None)
>>> root(store, "$f")
'$m'
"""

from __future__ import annotations

from typing import Any

from mxsim.models import room as R
from mxsim.models import room_history as H
from mxsim.models.homeserver.rooms import result
from mxsim.models.homeserver.updates import children, parent_of
from mxsim.sim.model import Switch
from mxsim.sim.node import Context
from mxsim.sim.parts import Part

__all__ = ["Bundling", "bundle", "page", "root", "descendants", "SWITCHES"]

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
        "should be limited ... This limit should be set by the client.\" (a device's "
        "filter's bundle_limit takes its place).",
    ),
    Switch(
        "coalesce_limit",
        "filter",
        'Filter API: "Whether you want coalesced relates_to events (and the max # to '
        "coalesce)\" (filter: a filter's bundle_limit is honoured; server: the server "
        "bundles its own bundle_limit whatever the filter asks).",
        ("filter", "server"),
    ),
)


def root(store: dict, eid: str) -> str:
    """The top-level event above ``eid`` (itself if it is one)."""
    events = store["events"]
    while (parent := parent_of(events[eid])) is not None:
        eid = parent
    return eid


def descendants(store: dict, eid: str) -> list[dict]:
    """The ``updates`` children of ``eid``, recursively, parents before children."""
    out: list[dict] = []
    todo = [eid]
    while todo:
        for child in children(store, todo.pop(0)):
            out.append(child)
            todo.append(child["event_id"])
    return out


def bundle(store: dict, eid: str, limit: int) -> dict[str, Any]:
    """``eid`` with all its ``updates`` children and its last ``limit`` replies inside it."""
    replies = children(store, eid, "relates_to")
    start = max(0, len(replies) - limit)
    chunk = {"start": start or None, "chunk": replies[start:]}
    return {**store["events"][eid], "updated_by": descendants(store, eid), "replies": chunk}


def page(store: dict, eid: str, token: int, limit: int) -> tuple[list[dict], int | None]:
    """The ``limit`` replies before ``token``, and the token for the ones before those."""
    replies = children(store, eid, "relates_to")
    start = max(0, token - limit)
    return replies[start:token], start or None


class Bundling(Part):
    """Config: none. Used by the stream (:meth:`live`, :meth:`window`) and by
    scrollback for every message event it hands a device."""

    name = "bundling"
    section = "Updates (Events), Bundling; Relates to (Events), Bundling"
    handles = ("replies",)
    switches = SWITCHES

    def initial(self) -> dict[str, Any]:
        return {"shown": {}, "seen": {"held_back": False}}

    def _shown(self, state: dict, device: str) -> list[str]:
        return self.of(state)["shown"].setdefault(device, [])

    def limit(self, state: dict, device: str) -> int:
        """The most replies a bundle for ``device`` holds: its filter's ``bundle_limit``
        ("the max # to coalesce", Filter API), else the switch ``bundle_limit``."""
        flt = state["stream"]["devices"].get(device, {}).get("filter") or {}
        limit = flt.get("bundle_limit")
        if limit is None or self.node.switches["coalesce_limit"] == "server":
            return self.node.switches["bundle_limit"]
        return limit

    def _bundle(self, state: dict, store: dict, device: str, eid: str) -> dict:
        self._shown(state, device).append(eid)
        return bundle(store, eid, self.limit(state, device))

    def live(self, state: dict, store: dict, device: str, ev: dict) -> dict | None:
        """What the stream hands ``device`` for a new event: a bundle, a delta, or nothing."""
        if parent_of(ev) is None:
            return self._bundle(state, store, device, ev["event_id"])
        if root(store, ev["event_id"]) in self._shown(state, device):
            return ev
        self.of(state)["seen"]["held_back"] = True
        return None

    def window(self, state: dict, store: dict, device: str, evs: list[dict]) -> list[dict]:
        """A window's events (initial sync, scrollback page) as the device gets them:
        each top-level event not shown yet as its bundle; a child whose parent is
        neither shown nor in the window held back (or marked ``orphan``)."""
        ids = {ev["event_id"] for ev in evs}
        out = []
        for ev in evs:
            eid = ev["event_id"]
            top = root(store, eid)
            if top in self._shown(state, device):
                continue  # it came down inside its parent, or after it
            if top == eid:
                out.append(self._bundle(state, store, device, eid))
            elif top not in ids:
                self.of(state)["seen"]["held_back"] = True
                if not self.node.switches["withhold_orphan_children"]:
                    out.append({**ev, "orphan": True})
        return out

    def on_replies(self, ctx: Context, state: dict, device: Any, msg: dict) -> None:
        """Proposal, "Relates to (Events)", "Bundling": "the client can request more child
        events" with the bundle's pagination token."""
        rooms = self.node.part("rooms")
        aid, room_id, eid = msg.get("aid"), msg["room"], msg["event_id"]
        store = rooms.stores(state).get(room_id)
        user = rooms.user(state, device, msg)
        if store is None or R.membership(store, user) != "join" or not H.visible(store, eid):
            rooms.answer(ctx, device, result(aid, False, error="unknown event"))
            return
        filters = self.node.part("filters")
        known, defn = filters.named(state, msg) if filters is not None else (True, None)
        if not known:
            rooms.answer(ctx, device, result(aid, False, error="unknown filter token"))
            return
        limit = msg.get("limit", self.limit(state, device))
        token = msg.get("from")
        if token is None:
            token = len(children(store, eid, "relates_to"))
        chunk, start = page(store, eid, token, limit)
        if filters is not None:
            chunk = filters.page(state, defn, chunk)  # "Which keys to return for events?"
        answer = {"type": "replies_chunk", "aid": aid, "ok": True, "room": room_id}
        rooms.answer(ctx, device, {**answer, "event_id": eid, "chunk": chunk, "start": start})
