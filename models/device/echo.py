"""A device's local echo of its actions (proposal: "Action APIs", its diagram).

"1: Can display local echo at this point": an action (send, join, leave,
send_state) gets the device's own number (``txn``) and an echo when the user
makes it; "2a: The request has been successfully processed and can be
displayed as Sent" when its answer says so; failed when it fails or the
device gives it up. The action goes out through the ``sessions`` part, with
the session's action IDs.
"""

from __future__ import annotations

from typing import Any

from mxsim.sim.model import View, eventually
from mxsim.sim.node import Context
from mxsim.sim.parts import Part

__all__ = ["Echo"]


class Echo(Part):
    """State: ``next_txn`` and ``echoes`` (txn -> {"room", "status": pending,
    sent or failed, "sent_id": the event the answer named})."""

    name = "echo"
    section = "Action APIs (local echo)"
    ops = ("send", "join", "leave", "send_state")

    def initial(self) -> dict[str, Any]:
        return {"next_txn": 0, "echoes": {}}

    def bind(self) -> None:
        self.sessions = self.node.part("sessions")

    def on_input(self, ctx: Context, state: dict, data: dict[str, Any]) -> None:
        mine = self.of(state)
        txn = mine["next_txn"]
        mine["next_txn"] += 1
        mine["echoes"][str(txn)] = {"room": data.get("room"), "status": "pending", "sent_id": None}
        fields = {k: v for k, v in data.items() if k != "op"}
        self.sessions.request(ctx, state, data["op"], **fields, txn=txn)

    def answered(self, state: dict, entry: dict, msg: dict) -> None:
        echo = self.of(state)["echoes"][str(entry["txn"])]
        if not msg["ok"]:
            echo["status"] = "failed"
            return
        echo["status"] = "sent"
        echo["sent_id"] = msg.get("event_id")

    def gave_up(self, state: dict, entry: dict) -> None:
        self.of(state)["echoes"][str(entry["txn"])]["status"] = "failed"


# -- properties ------------------------------------------------------------------------


def _echoes(view: View) -> list[dict]:
    return [
        view.state(d)["echo"]["echoes"]
        for d in view.nodes
        if view.kind(d) == "device" and "echo" in view.state(d)
    ]


@eventually("local_echo_settles")
def local_echo_settles(view: View) -> bool:
    """At quiescence every local echo is settled (sent or failed), and a sent one
    is placed at its own event: a device whose stream its server knows holds
    the event the answer named in the room's timeline."""
    for d in view.nodes:
        if view.kind(d) != "device" or "echo" not in view.state(d):
            continue
        st = view.state(d)
        streamed = d in view.state(view.config(d)["server"])["stream"]["devices"]
        for echo in st["echo"]["echoes"].values():
            if echo["status"] == "pending":
                return False
            placed = echo["sent_id"] in st["timeline"]["timeline"].get(echo["room"], ())
            if echo["status"] == "sent" and streamed and echo["sent_id"] and not placed:
                return False
    return True


@eventually("actions_complete")
def actions_complete(view: View) -> bool:
    """At quiescence every action a user took succeeded (for scenarios whose
    faults a client's retransmissions can overcome)."""
    return all(e["status"] == "sent" for echoes in _echoes(view) for e in echoes.values())


Echo.properties = (local_echo_settles, actions_complete)
