"""What a global initial sync says of each room (proposal: "Global /initialSync
API", its Outputs).

"For each room the user is joined: Requested state events, # members, max of
limit= message events, room ID": the stream part builds each room's start
(the server-generated ``m.server.joined`` event naming the room, then its
state and its recent messages); with this part the start event also carries

- ``members``: the room's "# members", counted in the state the start was
  taken at (switch ``member_count``: ``joined`` counts the joined members;
  ``all_memberships`` every user with a membership event, invited and left
  ones too, a count a server reading its membership table without the
  membership column would give);
- ``at``: the room's forward extremities when the start was taken, its stream
  position in the room (so a checker can read what the room held there);
- ``limited``: whether messages older than the ``limit=`` ones were cut (the
  start's ``token`` scrolls back to them).

"Which state event types to return (e.g. ``m.room.name`` / ``m.room.topic``)"
is the ``state_types`` of the device's ``register`` (see the device's
``initial_sync`` part).

>>> from mxsim.models import room as R
>>> store = R.new_store()
>>> store["current"] = {"m.room.member\\x1f@a:hs": "$1"}
>>> store["events"]["$1"] = {"event_id": "$1", "content": {"membership": "join"}}
>>> member_count({"m.room.member\\x1f@a:hs": "$1"}, store["events"], "joined")
1
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mxsim.models import room as R
from mxsim.models import room_history as H
from mxsim.models.homeserver.rooms import type_filter
from mxsim.sim.model import Switch
from mxsim.sim.parts import Part

__all__ = ["InitialSyncRooms", "MEMBER_COUNT", "member_count", "state_at", "WALK_BUDGET"]

#: Events the ``limited`` look walks at most (as a scrollback page would).
WALK_BUDGET = 256

MEMBER_COUNT = Switch(
    "member_count",
    "joined",
    'Global /initialSync API, Outputs: "For each room the user is joined: ... # members" '
    "(joined: the joined members; all_memberships: every user with a membership event, "
    "invited and left ones too).",
    ("joined", "all_memberships"),
)

_MEMBER = f"m.room.member{R.SEP}"


def member_count(state: Mapping[str, str], events: Mapping[str, Any], how: str) -> int:
    """The members of the flat ``state`` map: the joined ones, or (``all_memberships``)
    every user with a membership event."""
    n = 0
    for key, eid in state.items():
        if not key.startswith(_MEMBER):
            continue
        content = events[eid].get("content")
        if how == "all_memberships" or (content or {}).get("membership") == "join":
            n += 1
    return n


def state_at(store: Mapping[str, Any], at: list[str], algorithm: str) -> dict[str, str]:
    """The room's state at the forward extremities ``at`` (resolved if several),
    without touching the store (a checker reads it)."""
    if len(at) == 1:
        return store["after"][at[0]]
    scratch = {**store, "auth_depths": dict(store["auth_depths"])}
    return R._resolve(algorithm, [store["after"][e] for e in at], scratch)


def older_messages(store: Mapping[str, Any], token: list) -> bool:
    """Is any message older than the scrollback token ``token``?"""
    found, _, _ = H.walk_back(store, token, 1, type_filter(None), budget=WALK_BUDGET)
    return bool(found)


class InitialSyncRooms(Part):
    """Config: none. Stateless: the stream part asks it for each room start's
    summary (:meth:`summary`)."""

    name = "initial_sync"
    section = 'Global /initialSync API (Outputs: "# members", limit=)'
    switches = (MEMBER_COUNT,)

    def initial(self) -> dict[str, Any]:
        return {}

    def summary(self, store: dict, token: list) -> dict[str, Any]:
        """The start event's ``members``, ``at`` and ``limited`` (``token``: where
        the start's messages end)."""
        how = self.node.switches["member_count"]
        return {
            "members": member_count(store["current"], store["events"], how),
            "at": sorted(store["extremities"]),
            "limited": older_messages(store, token),
        }
