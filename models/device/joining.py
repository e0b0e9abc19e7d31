"""What a device learns of the rooms its user joins (proposal: "Joining a room",
"Event Stream API" TODO: "Receiving events for unknown rooms. How do you
handle this?").

A device knows a room once it applied the server-generated ``m.server.joined``
event that begins the room in its stream (or in a join response that returns
the events "*instead of*" the stream). This part watches, as flags, for an
event of a room the device does not know yet (``no_unknown_rooms``) and for
the join of its user made on another device ("Data required when you join a
room on another device": ``joined_elsewhere``).
"""

from __future__ import annotations

from typing import Any

from mxsim.sim.model import View, always, sometimes
from mxsim.sim.parts import Part

__all__ = ["Joining"]


class Joining(Part):
    """State: ``seen`` (flags: ``unknown_room``, ``joined_elsewhere``, ``left``)."""

    name = "joining"
    section = "Joining a room"

    def initial(self) -> dict[str, Any]:
        return {"seen": {"unknown_room": False, "joined_elsewhere": False, "left": False}}

    def applied(self, state: dict, entry: dict, known: dict) -> None:
        """The stream part applied ``entry``; ``known``: room -> where it began."""
        ev, seen = entry["event"], self.of(state)["seen"]
        if ev["type"] == "m.server.joined" or "event_id" not in ev:
            return
        if entry["room"] not in known:
            seen["unknown_room"] = True
        user = self.node.config["user"]
        own = ev["type"] == "m.room.member" and ev.get("state_key") == user
        membership = ev.get("content", {}).get("membership")
        if own and membership in ("leave", "ban"):
            seen["left"] = True
        own_join = own and membership == "join"
        # Not the room's genesis, and not this device's own join.
        if own_join and not ev["event_id"].startswith("$genesis.") and not self.mine(state, entry):
            seen["joined_elsewhere"] = True

    def mine(self, state: dict, entry: dict) -> bool:
        """Is ``entry`` this device's own action: it carries its action ID, the
        answer named its event, or a join of the room is still unanswered?"""
        if "action_id" in entry:
            return True
        ev = entry["event"]
        echo = self.node.part("echo")
        if echo is not None:
            echoes = echo.of(state)["echoes"].values()
            if any(e["sent_id"] == ev["event_id"] for e in echoes):
                return True
        sessions = self.node.part("sessions")
        inflight = sessions.of(state)["inflight"].values() if sessions is not None else ()
        return any(e["op"] == "join" and e.get("room") == entry["room"] for e in inflight)


def _seen(view: View, flag: str) -> bool:
    return any(
        view.state(d)["joining"]["seen"][flag]
        for d in view.nodes
        if view.kind(d) == "device" and "joining" in view.state(d)
    )


@always("no_unknown_rooms")
def no_unknown_rooms(view: View) -> bool:
    """No device is given an event of a room it does not know (proposal TODO:
    "Receiving events for unknown rooms. How do you handle this?")."""
    return not _seen(view, "unknown_room")


@sometimes("joined_elsewhere")
def joined_elsewhere(view: View) -> bool:
    """A device learned from its stream that its user joined a room on another device."""
    return _seen(view, "joined_elsewhere")


@sometimes("left_room")
def left_room(view: View) -> bool:
    """A device learned from its stream that its user left a room (on it or on
    another device: the server tells every device of the user)."""
    return _seen(view, "left")


Joining.properties = (no_unknown_rooms, joined_elsewhere, left_room)
