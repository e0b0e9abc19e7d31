"""Typing on the homeserver (proposal: "Typing").

"They are no longer typing when either the session ends or they explicitly
send another request to say they are no longer typing": a user types in a
room while some live session of theirs says so and they are joined to it.
The room's typing users are an ``m.typing`` event in the stream of every
device of a joined user (not a room event).
"""

from __future__ import annotations

from typing import Any

from mxsim.models import room as R
from mxsim.sim.model import View, always, eventually, sometimes
from mxsim.sim.node import Context
from mxsim.sim.parts import Part

__all__ = ["Typing"]


class Typing(Part):
    """State: ``typing`` (device -> rooms its live session types in, sorted) and
    ``published`` (room -> the users it last published as typing)."""

    name = "typing"
    section = "Typing"

    def initial(self) -> dict[str, Any]:
        return {"typing": {}, "published": {}}

    def bind(self) -> None:
        self.sessions = self.node.part("sessions")
        self.stream = self.node.part("stream")
        self.rooms = self.node.part("rooms")

    def members(self, state: dict, room: str) -> list[str] | None:
        store = self.rooms.stores(state).get(room)
        return None if store is None else R.members(store)

    def users(self, state: dict, room: str) -> list[str]:
        """Users typing in ``room``: a live session of theirs types there and they are joined."""
        members = self.members(state, room) or []
        sessions = self.sessions.records(state)
        typing = self.of(state)["typing"]
        return sorted({sessions[d]["user"] for d in typing if room in typing[d]} & set(members))

    def apply(self, ctx: Context, state: dict, device: str, rec: dict, msg: dict) -> None:
        room = msg["room"]
        if not self.sessions.stale_wish(state, rec, f"typing:{room}", msg):
            before = self.users(state, room)
            typing = self.of(state)["typing"]
            rooms = typing.get(device, [])
            if msg["typing"] and room not in rooms:
                typing[device] = sorted(rooms + [room])
            elif not msg["typing"] and room in rooms:
                rooms = [r for r in rooms if r != room]
                if rooms:
                    typing[device] = rooms
                else:
                    del typing[device]
            if self.users(state, room) != before:
                self.changed(ctx, state, room)
        self.sessions.answer(ctx, device, rec, msg, True)

    def ended(self, ctx: Context, state: dict, device: str) -> None:
        for room in self.of(state)["typing"].pop(device, []):
            self.changed(ctx, state, room)

    def after(self, ctx: Context, state: dict) -> None:
        # A member who leaves (or is kicked, or banned) while typing is no longer a
        # typing user of the room: publish the room's typing users again.
        published = self.of(state)["published"]
        for room in sorted(published):
            if self.members(state, room) is not None and published[room] != self.users(state, room):
                self.changed(ctx, state, room)

    def changed(self, ctx: Context, state: dict, room: str) -> None:
        if self.members(state, room) is None:
            return
        users = self.users(state, room)
        self.of(state)["published"][room] = users
        self.show(state, room)
        ephemeral = self.node.part("ephemeral")
        if ephemeral is not None:
            ephemeral.typing(ctx, state, room, users)

    def show(self, state: dict, room: str) -> None:
        """Stream the room's typing users (this server's, and with ``ephemeral``
        those the room's other servers last said) to its joined users' devices."""
        members = self.members(state, room)
        if members is None:
            return
        users = self.users(state, room)
        ephemeral = self.node.part("ephemeral")
        if ephemeral is not None:
            users = sorted(set(users) | ephemeral.remote_typing(state, room))
        ev = {"type": "m.typing", "room_id": room, "users": users}
        devices = self.stream.devices(state)
        for d in sorted(devices):
            if devices[d]["user"] in members:
                self.stream.push(state, d, room, ev)


# -- properties ------------------------------------------------------------------------


def _servers(view: View) -> list[str]:
    return [n for n in view.nodes if view.kind(n) == "homeserver" and "typing" in view.state(n)]


@always("typing_follows_sessions")
def typing_follows_sessions(view: View) -> bool:
    """The typing a room last published is that of the live sessions: a session's
    end (or an explicit stop) ends its typing."""
    for hs in _servers(view):
        st = view.state(hs)
        sessions, typing = st["sessions"]["sessions"], st["typing"]["typing"]
        for room, users in st["typing"]["published"].items():
            store = st["rooms"]["stores"].get(room)
            members = set(R.members(store)) if store is not None else set()
            now = sorted({sessions[d]["user"] for d in typing if room in typing[d]} & members)
            if users != now:
                return False
    return True


@eventually("never_typing_forever")
def never_typing_forever(view: View) -> bool:
    """At quiescence a user types in a room only if a device of theirs still wants to."""
    for hs in _servers(view):
        for device, rooms in view.state(hs)["typing"]["typing"].items():
            if device not in view.nodes or "presence" not in view.state(device):
                return False
            wants = view.state(device)["presence"]["wants"]["typing"]
            if any(room not in wants for room in rooms):
                return False
    return True


@sometimes("typing_seen")
def typing_seen(view: View) -> bool:
    """A device was shown someone typing."""
    return any(
        any(users for users in view.state(d)["presence"]["typing"].values())
        for d in view.nodes
        if view.kind(d) == "device" and "presence" in view.state(d)
    )


Typing.properties = (typing_follows_sessions, never_typing_forever, typing_seen)
