"""A device's read receipts (proposal: "Updates (Events)", "Relates to (Events)").

Workload input ``{"op": "read", "room": ...}``: the device reads every
message its timeline holds for the room and has not read yet, and sends a
``receipt`` request for each (``local``, ``relates_to``) or for the last one
only (``read_up_to``: one marker names everything before it). What the
server makes of a receipt is the switch ``receipts``
(:mod:`mxsim.models.homeserver.receipts`).

The stream hands the part every receipt and read-up-to marker: it keeps
their IDs (``got``) and flags for the properties (flags, so they multiply
no states): ``leaked``, a local receipt of another user reached it;
``own``, a receipt another device of its user sent reached it; ``remote``,
one its server had over federation reached it. Receipt
traffic is counted here: each request sent (client -> server) and each
stream entry taken (server -> client).
"""

from __future__ import annotations

from typing import Any

from mxsim.models.homeserver import receipts as H
from mxsim.sim.node import ConfigError, Context
from mxsim.sim.parts import Part

__all__ = ["Receipts"]


class Receipts(Part):
    """State: ``read`` (message IDs read), ``got`` (receipt ID -> True), the flags."""

    name = "receipts"
    section = "Updates (Events); Relates to (Events)"
    ops = ("read",)

    @classmethod
    def check_input(cls, data: dict[str, Any]) -> None:
        for key in data:
            if key not in ("op", "room"):
                raise ConfigError(key, "a field of op read: room", key)
        if not isinstance(data.get("room"), str):
            raise ConfigError("room", "a room ID", data.get("room"))

    def initial(self) -> dict[str, Any]:
        return {"read": [], "got": {}, "leaked": False, "own": False, "remote": False}

    def on_input(self, ctx: Context, state: dict, data: dict[str, Any]) -> None:
        mine = self.of(state)
        room = data["room"]
        timeline = state["timeline"]["timeline"].get(room, [])
        unread = [eid for eid in timeline if eid not in mine["read"]]
        if not unread:
            return
        mine["read"].extend(unread)
        if self.node.switches["receipts"] == "read_up_to":
            unread = unread[-1:]
        counted = H.Counted(ctx, "c2s", lambda msg: msg["type"] == "receipt")
        requests = self.node.part("requests")
        for eid in unread:
            requests.on_input(counted, state, {"op": "receipt", "room": room, "event_id": eid})

    def takes(self, ev: dict) -> bool:
        return H.is_receipt(ev)

    def apply(self, state: dict, entry: dict) -> None:
        """A receipt or marker the stream shows (counted by :meth:`after`)."""
        mine = self.of(state)
        ev = entry["event"]
        mine.setdefault("taken", []).append(entry)
        if ev["event_id"] in mine["got"]:
            return
        mine["got"][ev["event_id"]] = True
        user = self.node.config["user"]
        if ev.get("local") and ev["sender"] != user:
            mine["leaked"] = True
        if ev["sender"] == user and ev["content"].get("device_id") != self.node.name:
            mine["own"] = True
        if not ev["event_id"].startswith(f"${self.node.config['server']}."):
            mine["remote"] = True  # event IDs name the server that made them

    def after(self, ctx: Context, state: dict) -> None:
        # The stream applies entries without a context; they are counted at
        # the end of the step, and not kept (they would make new states).
        for entry in self.of(state).pop("taken", ()):
            H.count(ctx, "s2c", entry)
