"""A joining device's view of a room's members (proposal, "Joining a room", Outputs:
"member list (f.e. member: user ID, avatar, presence, display name, power level,
whether they are typing) [...] (and whether there are more)").

The view starts from a ``joined`` answer's ``members`` (applied at its stream
position, after its events) and follows the stream past it: ``m.presence``,
``m.typing``, ``m.room.power_levels`` and ``m.room.member`` events. The part
also keeps each answer as it came (``outputs``, judged by
``join_output_agrees``) and whether the first stream batch after an answer
changed a member's presence or typing from what the answer said
(``changed_during_join``: the change raced the join).
"""

from __future__ import annotations

from typing import Any

from mxsim.sim.parts import Part

__all__ = ["Members"]


class Members(Part):
    """State: ``rooms`` (room -> user -> presence, typing, power, name),
    ``presence`` (user -> the presence last shown), ``levels`` (room -> power
    levels content), ``outputs`` (room -> the answer's join event, members and
    ``more``), ``first`` (the room whose answer the next batch follows) and
    ``seen`` (``changed_during_join``)."""

    name = "members"
    section = "Joining a room (Outputs)"

    def initial(self) -> dict[str, Any]:
        return {
            "rooms": {},
            "presence": {},
            "levels": {},
            "outputs": {},
            "first": None,
            "seen": {"changed_during_join": False},
        }

    def answered(self, state: dict, msg: dict) -> None:
        """A ``joined`` answer came (in any order): keep what it said."""
        if msg.get("ok") and "members" in msg:
            out = {"event_id": msg["event_id"], "members": msg["members"], "more": msg["more"]}
            self.of(state)["outputs"][msg["room"]] = out

    def took(self, state: dict, room: str, members: dict) -> None:
        """The answer's turn in the stream came (its events applied): the view is its."""
        mine = self.of(state)
        mine["rooms"][room] = {u: dict(m) for u, m in sorted(members.items())}
        for user, m in sorted(members.items()):
            mine["presence"][user] = m["presence"]
        mine["first"] = room

    def batch_done(self, state: dict) -> None:
        """A stream batch (not an answer) was applied."""
        self.of(state)["first"] = None

    def applied(self, state: dict, entry: dict) -> None:
        """The stream part applied ``entry`` (in stream order)."""
        mine, ev = self.of(state), entry["event"]
        if ev["type"] == "m.presence":
            mine["presence"][ev["user"]] = ev["presence"]
            for room in sorted(mine["rooms"]):
                self._set(state, room, ev["user"], "presence", ev["presence"])
        elif ev["type"] == "m.typing":
            members = mine["rooms"].get(ev["room_id"], {})
            for user in sorted(members):
                self._set(state, ev["room_id"], user, "typing", user in ev["users"])
        elif ev["type"] == "m.room.power_levels" and "content" in ev:
            mine["levels"][entry["room"]] = ev["content"]
            for user in sorted(mine["rooms"].get(entry["room"], {})):
                self._set(
                    state, entry["room"], user, "power", self._power(state, entry["room"], user)
                )
        elif ev["type"] == "m.room.member" and entry["room"] in mine["rooms"]:
            self._member(state, entry["room"], ev)

    def _member(self, state: dict, room: str, ev: dict) -> None:
        mine, user = self.of(state), ev["state_key"]
        members = mine["rooms"][room]
        if ev.get("content", {}).get("membership") != "join":
            members.pop(user, None)
            if user == self.node.config["user"]:
                del mine["rooms"][room]
            return
        members[user] = {
            "presence": mine["presence"].get(user, "offline"),
            "typing": members.get(user, {}).get("typing", False),
            "power": self._power(state, room, user),
            "name": ev["content"].get("displayname"),
        }

    def _power(self, state: dict, room: str, user: str) -> int:
        levels = self.of(state)["levels"].get(room, {})
        return levels.get("users", {}).get(user, levels.get("users_default", 0))

    def _set(self, state: dict, room: str, user: str, field: str, value: Any) -> None:
        mine = self.of(state)
        member = mine["rooms"].get(room, {}).get(user)
        if member is None or member[field] == value:
            return
        member[field] = value
        if mine["first"] == room and field in ("presence", "typing"):
            mine["seen"]["changed_during_join"] = True
