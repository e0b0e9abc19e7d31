"""Bundles of the relations model (the receipts scenario): a parent event with its
children inside it. The matrix model's bundles are :mod:`mxsim.models.homeserver.bundling`.

Proposal, "Updates (Events)", "Bundling": "Events that relate to another
event should come down inside that event. That is, the top-level event should
come down with all the child events at the same time. This is called a
'bundle'"; children may update children: "The behaviour would be to get the
child events recursively from the top-level event."

Proposal, "Relates to (Events)", "Bundling": "The number of child events which
can be bundled should be limited ... This limit should be set by the client.
If the limit is exceeded, then the bundle should also include a pagination
token so that the client can request more child events." (The receipts
scenario pages no replies: the token is there, never used.)

A bundle has the shape of the proposal's example::

    {"event": parent, "updated_by": [child, ...],          # all, recursively
     "replies": {"start": token or None, "chunk": [...]}}  # the most recent ones

A *relations index* (plain data, inside a server's state) is
``{"events": {id: event}, "updated_by": {id: [child id]}, "replies": {id:
[child id]}}``, children in the order the server took them. A pagination
token is the index into the parent's reply list below which the replies have
not been given yet.

>>> ix = new_index()
>>> for ev in ({"event_id": "$m"}, {"event_id": "$e", "updates": "$m"},
...            {"event_id": "$f", "updates": "$e"}, {"event_id": "$c1", "relates_to": "$m"},
...            {"event_id": "$c2", "relates_to": "$m"}):
...     add(ix, ev)
>>> b = bundle(ix, "$m", limit=1)
>>> [c["event_id"] for c in b["updated_by"]], b["replies"]
(['$e', '$f'], {'start': 1, 'chunk': [{'event_id': '$c2', 'relates_to': '$m'}]})
>>> root(ix, "$f")
'$m'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["new_index", "parent_of", "is_child", "add", "root", "bundle", "descendants"]

Event = dict[str, Any]


def new_index() -> dict[str, Any]:
    return {"events": {}, "updated_by": {}, "replies": {}}


def parent_of(ev: Mapping[str, Any]) -> str | None:
    """The event a child names, by ``updates`` or ``relates_to``; None for a top-level event."""
    return ev.get("updates") or ev.get("relates_to")


def is_child(ev: Mapping[str, Any]) -> bool:
    return parent_of(ev) is not None


def add(ix: dict[str, Any], ev: Event) -> None:
    """Index an event whose parent (if any) the index already holds."""
    eid = ev["event_id"]
    ix["events"][eid] = ev
    if "updates" in ev:
        ix["updated_by"].setdefault(ev["updates"], []).append(eid)
    elif "relates_to" in ev:
        ix["replies"].setdefault(ev["relates_to"], []).append(eid)


def root(ix: Mapping[str, Any], eid: str) -> str:
    """The top-level event above ``eid`` (itself if it is one)."""
    events = ix["events"]
    while True:
        p = parent_of(events[eid])
        if p is None:
            return eid
        eid = p


def descendants(
    ix: Mapping[str, Any], eid: str, visible: Callable[[Event], bool] = lambda ev: True
) -> list[Event]:
    """The ``updates`` children of ``eid``, recursively, parents before children."""
    out: list[Event] = []
    stack = [eid]
    while stack:
        x = stack.pop(0)
        for c in ix["updated_by"].get(x, []):
            ev = ix["events"][c]
            if visible(ev):
                out.append(ev)
                stack.append(c)
    return out


def bundle(
    ix: Mapping[str, Any],
    eid: str,
    limit: int,
    visible: Callable[[Event], bool] = lambda ev: True,
) -> dict[str, Any]:
    """``eid`` with all its ``updates`` children and its last ``limit`` replies."""
    replies = ix["replies"].get(eid, [])
    start = max(0, len(replies) - limit)
    return {
        "event": ix["events"][eid],
        "updated_by": descendants(ix, eid, visible),
        "replies": {
            "start": start or None,
            "chunk": [ix["events"][r] for r in replies[start:]],
        },
    }
