"""A device's presence and typing (proposal: "Presence", "Typing", "Sessions").

Workload inputs: ``{"op": "presence", "presence"}``, ``{"op": "typing",
"room", "typing": bool}``, ``{"op": "offline"}``. The device keeps what the
user wants (``wants``), so that on a new session ID it can "re-establish its
typing status and presence status", and what its stream showed it: each
user's presence (``m.presence``) and each room's typing users (``m.typing``).
"""

from __future__ import annotations

from typing import Any

from mxsim.sim.node import ConfigError, Context
from mxsim.sim.parts import Part

__all__ = ["Presence"]

#: Workload ops and their fields (name -> type).
INPUTS: dict[str, dict[str, type]] = {
    "presence": {"presence": str},
    "typing": {"room": str, "typing": bool},
    "offline": {},
}


class Presence(Part):
    """State: ``wants`` ({"presence": str or None, "typing": [room]}), ``presence``
    (user -> [presence, capability hash]) and ``typing`` (room -> users)."""

    name = "presence"
    section = "Presence; Typing"
    ops = tuple(INPUTS)

    @classmethod
    def check_input(cls, data: dict[str, Any]) -> None:
        op = data["op"]
        for key, want in INPUTS[op].items():
            value = data.get(key)
            if not isinstance(value, want) or isinstance(value, bool) != (want is bool):
                raise ConfigError(key, f"a {want.__name__}", value)
        for key in data:
            if key != "op" and key not in INPUTS[op]:
                raise ConfigError(key, "a field of op " + op, key)

    def initial(self) -> dict[str, Any]:
        return {"wants": {"presence": None, "typing": []}, "presence": {}, "typing": {}}

    def bind(self) -> None:
        self.sessions = self.node.part("sessions")

    def on_input(self, ctx: Context, state: dict, data: dict[str, Any]) -> None:
        wants = self.of(state)["wants"]
        op = data["op"]
        fields = {k: v for k, v in data.items() if k != "op"}
        if op == "typing":
            rooms = [r for r in wants["typing"] if r != data["room"]]
            wants["typing"] = sorted(rooms + [data["room"]] if data["typing"] else rooms)
        elif op == "presence":
            wants["presence"] = data["presence"]
        else:
            self.of(state)["wants"] = {"presence": None, "typing": []}
        self.sessions.request(ctx, state, op, **fields)

    def reestablish(self, ctx: Context, state: dict, skip: str) -> None:
        """Proposal, "Sessions": on a new session ID "re-establish its typing status
        and presence status" (``skip``: the op whose stale request is re-sent anyway)."""
        wants = self.of(state)["wants"]
        if wants["presence"] is not None and skip != "presence":
            self.sessions.request(ctx, state, "presence", presence=wants["presence"])
        for room in wants["typing"]:
            self.sessions.request(ctx, state, "typing", room=room, typing=True)
        capabilities = self.node.part("capabilities")
        if capabilities is not None and skip != "caps":
            capabilities.provide(ctx, state)

    def shown(self, state: dict, ev: dict) -> None:
        """An ``m.presence`` or ``m.typing`` event came down the stream."""
        mine = self.of(state)
        if ev["type"] == "m.presence":
            mine["presence"][ev["user"]] = [ev["presence"], ev["caps"]]
            capabilities = self.node.part("capabilities")
            if capabilities is not None:
                capabilities.shown(state, ev["user"], ev["caps"])
        else:
            mine["typing"][ev["room_id"]] = ev["users"]
