"""A device's global initial sync, and what it must hold (proposal: "Global
/initialSync API").

Inputs: "Which state event types to return (e.g. ``m.room.name`` /
``m.room.topic`` / ``m.room.aliases``)" (config ``state_types``, default all)
and "max of limit= message events" (config ``limit``). The workload op
``initial_sync`` opens the device's stream with them (a device configured
``stream = { open = false }``). Outputs, "For each room the user is joined:
Requested state events, # members, max of limit= message events, room ID":
the device keeps what the first start of each room held (``rooms``: room ->
{``pos``, ``members``, ``at``, ``limited``, ``state`` (key -> event ID),
``messages`` (event IDs, oldest first)}), and the properties below read the
server's room at the position the start was taken at (``at``, its forward
extremities then), so a change racing the sync (a join, a leave, a new
topic) is judged against what the room held when the sync was taken, not
after.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mxsim.models import room as R
from mxsim.models import room_history as H
from mxsim.models.device.filters import definition
from mxsim.models.homeserver.initial_sync_rooms import WALK_BUDGET, state_at
from mxsim.models.homeserver.rooms import type_filter
from mxsim.models.homeserver.stream import INITIAL_LIMIT
from mxsim.models.homeserver.updates import parent_of
from mxsim.sim.model import View, always, sometimes
from mxsim.sim.node import ConfigError, Context
from mxsim.sim.parts import Part

__all__ = ["InitialSync", "expected_messages", "joined_at", "limit_of", "shown_messages"]


class InitialSync(Part):
    """Config: ``state_types`` (a list of event types), ``limit`` (an integer >= 0).
    State: ``rooms`` (what each room's first start held, see the module) and
    ``limit`` (the limit it asked, once it asked)."""

    name = "initial_sync"
    section = "Global /initialSync API (Inputs and Outputs)"
    ops = ("initial_sync",)
    keys = {"state_types": "a list of event types", "limit": "an integer >= 0"}

    @classmethod
    def check_config(cls, config, node_config, node_names) -> None:
        super().check_config(config, node_config, node_names)
        types = config.get("state_types", [])
        if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
            raise ConfigError("state_types", cls.keys["state_types"], types)
        limit = config.get("limit", INITIAL_LIMIT)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise ConfigError("limit", cls.keys["limit"], limit)

    @classmethod
    def check_input(cls, data: dict[str, Any]) -> None:
        for key in data:
            if key != "op":
                raise ConfigError(key, "no field (op initial_sync)", key)

    def initial(self) -> dict[str, Any]:
        return {"rooms": {}}

    def on_input(self, ctx: Context, state: dict, data: dict[str, Any]) -> None:
        ooo = self.node.part("requests").out_of_order()
        msg = {"type": "register", "user": self.node.config["user"], "out_of_order": ooo}
        msg["limit"] = self.config.get("limit", INITIAL_LIMIT)
        self.asked(state, msg["limit"])
        if "state_types" in self.config:
            msg["state_types"] = sorted(self.config["state_types"])
        ctx.send(self.node.config["server"], msg)

    def asked(self, state: dict, limit: int) -> None:
        """The device asked an initial sync of ``limit`` messages per room (another
        part, such as ``bundles``, may send the request)."""
        self.of(state)["limit"] = limit

    def took(self, state: dict, batch: dict) -> None:
        """A stream response applied: if it is the answer to the initial sync the
        device asked (the first response with room starts since), keep them. (A
        room start that comes down the stream later, a join's, is not one: the
        event that made it follows it, outside it.)"""
        mine = self.of(state)
        if mine.get("limit") is None or mine["rooms"]:
            return
        rooms, taking = mine["rooms"], {}
        for entry in batch.get("events", ()):
            room, ev = entry["room"], entry["event"]
            if ev["type"] == "m.server.joined" and "members" in ev:
                if room not in rooms:
                    taking[room] = rooms[room] = {
                        "pos": batch["pos"],
                        "members": ev["members"],
                        "at": ev["at"],
                        "limited": ev["limited"],
                        "state": {},
                        "messages": [],
                    }
                continue
            rec = taking.get(room)
            if rec is None or "event_id" not in ev:
                continue
            if "state_key" in ev:
                rec["state"][R.key_of(ev)] = ev["event_id"]
            else:
                rec["messages"].append(ev["event_id"])


def _records(view: View) -> Iterator[tuple[str, dict, dict, dict]]:
    """(device, its part's config, the room's store at its server, the record; the
    record names its room as ``room``)."""
    for d in view.nodes:
        if view.kind(d) != "device" or "initial_sync" not in view.state(d):
            continue
        config = view.config(d)
        stores = view.state(config["server"])["rooms"]["stores"]
        for room, rec in sorted(view.state(d)["initial_sync"]["rooms"].items()):
            yield d, config.get("initial_sync", {}), stores[room], {**rec, "room": room}


def _state(view: View, store: dict, rec: dict) -> dict[str, str]:
    return state_at(store, rec["at"], view.switches["state_resolution"])


def requested_state(view: View, config: dict, store: dict, rec: dict) -> dict[str, str]:
    """The requested types' events of the room's state at the start's position."""
    types = config.get("state_types")
    state = _state(view, store, rec)
    return {k: v for k, v in state.items() if types is None or R.split_key(k)[0] in types}


def joined_at(state: dict[str, str], events: dict) -> list[str]:
    """The joined users of a flat state map, sorted."""
    prefix = f"m.room.member{R.SEP}"
    return sorted(
        k[len(prefix) :]
        for k, eid in state.items()
        if k.startswith(prefix) and (events[eid].get("content") or {}).get("membership") == "join"
    )


def expected_messages(store: dict, rec: dict, limit: int) -> tuple[list[str], bool]:
    """The last ``limit`` messages before the start's position (oldest first), and
    whether older ones were cut."""
    frontier = [[store["events"][e]["depth"], e] for e in rec["at"]]
    ids, _, _ = H.walk_back(store, frontier, limit + 1, type_filter(None), budget=WALK_BUDGET)
    return list(reversed(ids[:limit])), len(ids) > limit


@always("initial_sync_state_types")
def initial_sync_state_types(view: View) -> bool:
    """A room's start in an initial sync holds exactly the current state events of
    the requested types at its position, all of them ("Requested state events")."""
    return all(rec["state"] == requested_state(view, c, s, rec) for _d, c, s, rec in _records(view))


@always("initial_sync_member_count")
def initial_sync_member_count(view: View) -> bool:
    """A room's "# members" in an initial sync is the number of its joined members at
    the position the sync was taken at (the same position as its state block)."""
    return all(
        rec["members"] == len(joined_at(_state(view, s, rec), s["events"]))
        for _d, _c, s, rec in _records(view)
    )


def limit_of(view: View, device: str, config: dict) -> int:
    """The ``limit=`` the device asked: in its request, else its (initial sync's)
    filter's."""
    asked = view.state(device)["initial_sync"].get("limit")
    if asked is not None:
        return asked
    filters = view.config(device).get("filters")
    if filters is not None and "filters" in view.state(device):
        return definition(filters, "initial_sync")["limit"]
    return INITIAL_LIMIT


def shown_messages(view: View, device: str, store: dict, rec: dict, want: list[str]) -> list:
    """Of the messages ``want``, those the device is handed as messages: with the
    ``bundling`` part a child comes inside its parent, not beside it."""
    if "bundling" not in view.state(view.config(device)["server"]):
        return want
    return [e for e in want if parent_of(store["events"][e]) is None]


@always("initial_sync_limit")
def initial_sync_limit(view: View) -> bool:
    """A room's start holds at most ``limit=`` messages, the most recent ones at its
    position, and says so (``limited``) when older ones were cut ("max of limit=
    message events")."""
    for d, config, store, rec in _records(view):
        want, cut = expected_messages(store, rec, limit_of(view, d, config))
        if rec["messages"] != shown_messages(view, d, store, rec, want) or rec["limited"] != cut:
            return False
    return True


@sometimes("membership_changed_during_sync")
def membership_changed_during_sync(view: View) -> bool:
    """A room's joined members changed at the server after the position a device's
    initial sync of it was taken at (a join or leave raced the sync and came after)."""
    return any(
        joined_at(_state(view, s, rec), s["events"]) != joined_at(s["current"], s["events"])
        for _d, _c, s, rec in _records(view)
    )


InitialSync.properties = (
    initial_sync_state_types,
    initial_sync_member_count,
    initial_sync_limit,
    membership_changed_during_sync,
)
