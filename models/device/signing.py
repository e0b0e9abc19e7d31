"""A device's E2E signing round trip (proposal, "E2E Notes").

Workload input ``{"op": "signed_send", "room", "body"}``: the device asks its
server to ``prepare`` the message, signs the full event JSON the server
answers with (:mod:`mxsim.models.signatures`) and sends it back with
``send_signed``; each request has its own action ID. The device keeps each
signed event's ID and digest (``signed``) and whether the server took it.
"""

from __future__ import annotations

from typing import Any

from mxsim.models.signatures import digest, sign
from mxsim.sim.model import View, eventually
from mxsim.sim.node import ConfigError, Context
from mxsim.sim.parts import Part

__all__ = ["Signing"]


class Signing(Part):
    """State: ``preparing`` (action ID of a ``prepare`` -> True), ``signed`` (event
    ID -> [digest, action ID of its ``send_signed``]) and ``sent`` (event ID -> ok)."""

    name = "signing"
    section = "E2E Notes"
    ops = ("signed_send",)

    @classmethod
    def check_input(cls, data: dict[str, Any]) -> None:
        for key in data:
            if key not in ("op", "room", "body"):
                raise ConfigError(key, "a field of op signed_send: room, body", key)
        for key in ("room", "body"):
            if not isinstance(data.get(key), str):
                raise ConfigError(key, "a string", data.get(key))

    def initial(self) -> dict[str, Any]:
        return {"preparing": {}, "signed": {}, "sent": {}}

    def on_input(self, ctx: Context, state: dict, data: dict[str, Any]) -> None:
        requests = self.node.part("requests")
        aid = requests.of(state)["next_aid"]
        self.of(state)["preparing"][str(aid)] = True
        content = {"body": data["body"]}
        prepare = {"op": "prepare", "room": data["room"], "event_type": "m.room.message"}
        requests.on_input(ctx, state, {**prepare, "content": content})

    def answered(self, ctx: Context, state: dict, msg: dict) -> None:
        """A ``result`` arrived: sign a prepared event, or note a signed one's outcome."""
        mine, key = self.of(state), str(msg["aid"])
        if mine["preparing"].pop(key, None) and msg["ok"] and "event" in msg:
            ev = sign(msg["event"], self.node.config["user"])
            requests = self.node.part("requests")
            aid = requests.of(state)["next_aid"]
            mine["signed"][ev["event_id"]] = [digest(msg["event"]), aid]
            requests.on_input(ctx, state, {"op": "send_signed", "room": ev["room_id"], "event": ev})
            return
        for eid, (_, aid) in mine["signed"].items():
            if aid == msg["aid"]:
                mine["sent"][eid] = bool(msg["ok"])


@eventually("signed_messages_sent")
def signed_messages_sent(view: View) -> bool:
    """In the end every event a device signed was taken by its server, once, as signed."""
    for d in view.nodes:
        if view.kind(d) != "device" or "signing" not in view.state(d):
            continue
        mine = view.state(d)["signing"]
        if mine["preparing"]:
            return False
        server = view.config(d)["server"]
        stores = view.state(server)["rooms"]["stores"]
        for eid in mine["signed"]:
            if not mine["sent"].get(eid):
                return False
            if not any(eid in store["events"] for store in stores.values()):
                return False
    return True


@eventually("signed_messages_shown")
def signed_messages_shown(view: View) -> bool:
    """In the end every device shows the signed messages its server took from it."""
    for d in view.nodes:
        if view.kind(d) != "device" or "signing" not in view.state(d):
            continue
        st = view.state(d)
        shown = {eid for eids in st["timeline"]["timeline"].values() for eid in eids}
        if any(ok and eid not in shown for eid, ok in st["signing"]["sent"].items()):
            return False
    return True


Signing.properties = (signed_messages_sent, signed_messages_shown)
