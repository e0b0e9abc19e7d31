"""Proposal, "Global /initialSync API" and "Event Stream API": the server's log.

Everything a device may be told is appended to the server's *log* with a
global, strictly increasing ``order``: room events, presence changes, typing
changes. A device's stream position is an order; a stream response carries
``prev`` (the position it continues from) and ``pos`` (the new position), so
responses that the network reorders can be put back in order by the device.

A log entry is the stream entry a device gets plus what the server keeps for
itself: ``vis`` (users allowed to see it), and for events made by an action
the ``device``, ``aid`` and ``txn`` of the request.

Initial sync ("For each room the user is joined: requested state events, #
members, max of limit= message events, room ID") and its delta form ("If a
streaming token is applied, you will get a delta rather than all the rooms")
are built from the rooms and the log.
"""

from __future__ import annotations

from typing import Any

from mxsim.models import room as R
from mxsim.models.clientapi import filters as F

__all__ = ["PRIVATE", "stream_entry", "room_entry", "initial_sync", "delta", "snapshot"]

#: Log entry keys a device is never sent.
PRIVATE = ("vis", "device", "aid", "txn", "session")


def stream_entry(entry: dict[str, Any], with_action_id: bool) -> dict[str, Any]:
    """What a device is sent for a log entry; the action ID only to its sender's stream."""
    out = {k: v for k, v in entry.items() if k not in PRIVATE}
    if with_action_id and "aid" in entry:
        out["action_id"] = entry["aid"]
    return out


def room_entry(ev: dict[str, Any], order: int) -> dict[str, Any]:
    """A room event as a compact stream entry (devices need no auth or prev events)."""
    out = {
        "order": order,
        "type": ev["type"],
        "room": ev["room_id"],
        "event_id": ev["event_id"],
        "sender": ev["sender"],
    }
    if "state_key" in ev:
        out["state_key"] = ev["state_key"]
    content = ev.get("content", {})
    for key in ("body", "membership"):
        if key in content:
            out[key] = content[key]
    return out


def _orders(log: list[dict[str, Any]]) -> dict[str, int]:
    return {e["event_id"]: e["order"] for e in log if "event_id" in e}


def snapshot(
    state: dict[str, Any],
    room_id: str,
    defn: dict[str, Any],
    skip: str | None = None,
    upto: int | None = None,
) -> list[dict[str, Any]]:
    """A room as a device new to it needs it: its state (of the requested
    types) and its last ``limit`` messages, each marked ``snapshot``. With
    ``upto`` (a delta's join at that order), only what the log held then: the
    later entries follow in the delta itself, in order (else a later message
    would come before earlier ones, and a left room's later state be shown)."""
    store = state["rooms"][room_id]
    orders = _orders(state["log"])
    out = []
    wanted = defn.get("state_types")
    for key, eid in sorted(store["current"].items()):
        etype = R.split_key(key)[0]
        if eid == skip or (wanted is not None and etype not in wanted):
            continue
        entry = room_entry(store["events"][eid], orders.get(eid, 0))
        if upto is not None and entry["order"] > upto:
            continue
        if F.matches(defn, entry):
            out.append({**entry, "snapshot": True})
    messages = [
        e
        for e in state["log"]
        if e.get("room") == room_id
        and e["type"] == "m.room.message"
        and F.matches(defn, e)
        and (upto is None or e["order"] <= upto)
    ]
    for e in messages[len(messages) - defn["limit"] :] if defn["limit"] else []:
        out.append({**stream_entry(e, False), "snapshot": True})
    return out


def initial_sync(state: dict[str, Any], user: str, defn: dict[str, Any]) -> dict[str, Any]:
    """The full initial sync of ``user`` under filter ``defn``."""
    rooms = {}
    for room_id in sorted(state["rooms"]):
        store = state["rooms"][room_id]
        if R.membership(store, user) != "join":
            continue
        if defn["rooms"] is not None and room_id not in defn["rooms"]:
            continue
        rooms[room_id] = {
            "members": len(R.members(store)),
            "events": snapshot(state, room_id, defn),
        }
    presence = [
        {"type": "m.presence", "user": u, **p, "snapshot": True}
        for u, p in sorted(state["presence"].items())
        if F.matches(defn, {"type": "m.presence", "user": u})
    ]
    return {"rooms": rooms, "presence": presence, "pos": state["order"]}


def delta(
    state: dict[str, Any],
    device: str,
    user: str,
    defn: dict[str, Any],
    since: int,
    negative: bool,
    join_returns_events: bool = False,
) -> list[dict[str, Any]]:
    """Log entries after ``since`` that ``user`` may see and the filter passes,
    each join of ``user`` followed by a snapshot of the room. The action IDs
    are those of ``device``'s own actions."""
    out = []
    for e in state["log"]:
        if e["order"] <= since or user not in e["vis"] or not F.matches(defn, e, negative):
            continue
        joined = e["type"] == "m.room.member" and e.get("state_key") == user
        joined = joined and e.get("membership") == "join"
        if joined and join_returns_events and e.get("device") == device:
            continue  # the join response returned it "instead of" the stream
        out.append(stream_entry(e, e.get("device") == device))
        if joined:
            out.extend(snapshot(state, e["room"], defn, skip=e["event_id"], upto=e["order"]))
    return out
