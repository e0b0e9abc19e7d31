"""A user redacting messages (proposal: "Event Stream API": "Deleted message
events are ``m.room.redaction`` events").

Workload ``{ op = "redact", room = ..., body = ... }``: the device redacts the
message of that body it shows (the first one it was shown), sending the
``redact`` request with its event ID once it holds it (a client names only
events it has), so a scenario needs no event IDs. The timeline part shows
an event redacted when the stream brings its ``m.room.redaction`` or its
stripped copy (:mod:`mxsim.models.device.timeline`).

State: ``bodies`` (body -> the first message shown with it) and ``owed``
(redactions waiting for their message).
"""

from __future__ import annotations

from typing import Any

from mxsim.sim.node import ConfigError, Context
from mxsim.sim.parts import Part

__all__ = ["Redactions"]

FIELDS = ("room", "body")


class Redactions(Part):
    """Takes the workload op ``redact``; told by the timeline of the messages it shows."""

    name = "redactions"
    section = "Event Stream API (deleted message events)"
    ops = ("redact",)

    @classmethod
    def check_input(cls, data: dict[str, Any]) -> None:
        for key in data:
            if key not in ("op", *FIELDS):
                raise ConfigError(key, "a field of op redact: " + ", ".join(FIELDS), key)
        for key in FIELDS:
            if not isinstance(data.get(key), str):
                raise ConfigError(key, "a string (op redact)", data.get(key))

    def initial(self) -> dict[str, Any]:
        return {"bodies": {}, "owed": []}

    def on_input(self, ctx: Context, state: dict, data: dict[str, Any]) -> None:
        self.of(state)["owed"].append({"room": data["room"], "body": data["body"]})

    def after(self, ctx: Context, state: dict) -> None:
        mine = self.of(state)
        for data in list(mine["owed"]):
            eid = mine["bodies"].get(data["body"])
            if eid is None:
                continue
            mine["owed"].remove(data)
            request = {"op": "redact", "room": data["room"], "redacts": eid}
            self.node.part("requests").on_input(ctx, state, request)

    def shown(self, state: dict, ev: dict) -> None:
        """The timeline shows message ``ev`` whole."""
        body = ev.get("content", {}).get("body")
        if isinstance(body, str):
            self.of(state)["bodies"].setdefault(body, ev["event_id"])
