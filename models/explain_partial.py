"""Explainers of the partial-state join properties
(``models/homeserver/partial_state.py``; proposal, "Joining a room")."""

from __future__ import annotations

from mxsim.models.explain import Moment, devices, explains, servers
from mxsim.models.homeserver.partial_state import device_members, server_members


def _names(users: list[str]) -> str:
    return ", ".join(users) or "nobody"


@explains("members_complete")
def members_complete(at: Moment) -> str | None:
    view = at.after
    for room, lists in sorted(server_members(view).items()):
        first = sorted(lists)[0]
        for s in sorted(lists):
            missing = sorted(set(lists[first]) ^ set(lists[s]))
            if missing:
                short = s if len(lists[s]) < len(lists[first]) else first
                return (
                    f"{short} names the members of {room} without {_names(missing)}"
                    f" ({first}: {_names(lists[first])}; {s}: {_names(lists[s])})"
                    + _partial_note(view, short, room)
                )
        for d in devices(view):
            shown = device_members(view, d, room)
            server = view.config(d)["server"]
            if shown is not None and server in lists and shown != lists[server]:
                lacks = sorted(set(lists[server]) - set(shown))
                return (
                    f"{d} was shown the members {_names(shown)} of {room}, its server"
                    f" {server} names {_names(lists[server])}"
                    + (f" (never shown {_names(lacks)})" if lacks else "")
                )
    return None


def _partial_note(view, server: str, room: str) -> str:
    mine = view.state(server).get("partial_state", {}).get("rooms", {})
    if room in mine:
        via = mine[room]["from"]
        return f": it joined through {via} with partial state and took it as complete"
    return ""


@explains("partial_state_resolved")
def partial_state_resolved(at: Moment) -> str | None:
    view = at.after
    for s in servers(view):
        mine = view.state(s).get("partial_state", {})
        for room, info in sorted(mine.get("rooms", {}).items()):
            held = [h for h in mine["held"] if h[1]["room_id"] == room]
            if view.switches.get("partial_state_join") == "resync":
                why = "it asked for the rest and still marks the room partial"
            else:
                why = "it took the partial state as complete and never asked for the rest"
            return (
                f"{s} still holds {room} with the partial state of its join through"
                f" {info['from']}: {why} ({len(held)} events held)"
            )
    return None
