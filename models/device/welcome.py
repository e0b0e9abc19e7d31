"""A user who welcomes whoever joins (proposal: "Action APIs", send a message).

Workload op ``{ op = "welcome", room, user, body }``: once this device's
stream shows ``user``'s membership of ``room``, it sends ``body`` there.
It makes "right after the join" a step of the scenario rather than a time,
so the message is always one the joining server must be sent (a message
sent before the room's server knew of the join would not be).
"""

from __future__ import annotations

from typing import Any

from mxsim.models.room import SEP
from mxsim.sim.node import ConfigError, Context
from mxsim.sim.parts import Part

__all__ = ["Welcome"]

FIELDS = ("room", "user", "body")


class Welcome(Part):
    """State: ``owed``, the welcomes not sent yet."""

    name = "welcome"
    section = "Action APIs (send a message once a user joined)"
    ops = ("welcome",)

    @classmethod
    def check_input(cls, data: dict[str, Any]) -> None:
        for key in data:
            if key not in ("op", *FIELDS):
                raise ConfigError(key, "a field of op welcome: " + ", ".join(FIELDS), key)
        for key in FIELDS:
            if not isinstance(data.get(key), str):
                raise ConfigError(key, "a string (op welcome)", data.get(key))

    def initial(self) -> dict[str, Any]:
        return {"owed": []}

    def on_input(self, ctx: Context, state: dict, data: dict[str, Any]) -> None:
        self.of(state)["owed"].append({k: data[k] for k in FIELDS})

    def after(self, ctx: Context, state: dict) -> None:
        mine = self.of(state)
        view = state["stream"]["view"]
        for data in list(mine["owed"]):
            if f"m.room.member{SEP}{data['user']}" not in view.get(data["room"], {}):
                continue
            mine["owed"].remove(data)
            request = {"op": "send", "room": data["room"], "body": data["body"]}
            self.node.part("requests").on_input(ctx, state, request)
