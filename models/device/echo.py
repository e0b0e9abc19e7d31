"""A device's local echo of its actions (proposal: "Action APIs", its diagram).

"1: Can display local echo at this point": an action (send, join, leave,
send_state) gets the device's own number (``txn``) and an echo when the user
makes it; "2a: The request has been successfully processed and can be
displayed as Sent" when its answer says so; failed when it fails or the
device gives it up; "2b/3" placed at its event when that comes down the
stream, matched by the event ID the answer gave or by the action ID (which
only the sender's stream carries: "so that they can match up the event in the
event stream to the request which they made"), in either order. The action
goes out through the ``sessions`` part, with the session's action IDs.
"""

from __future__ import annotations

from typing import Any

from mxsim.models.room import SEP
from mxsim.sim.model import View, always, eventually, sometimes
from mxsim.sim.node import Context
from mxsim.sim.parts import Part

__all__ = ["Echo"]


class Echo(Part):
    """State: ``next_txn``, ``echoes`` (txn -> {"room", "status": pending, sent
    or failed, "sent_id": the event the answer named, "placed_id": the event it
    was placed at}) and ``seen`` (flags of the guards' orders)."""

    name = "echo"
    needs = ("sessions",)
    section = "Action APIs (local echo)"
    ops = ("send", "join", "leave", "send_state")

    def initial(self) -> dict[str, Any]:
        flags = ("resp_after_stream", "stream_after_resp", "foreign_action_id", "state_placed")
        seen = dict.fromkeys(flags, False)
        return {"next_txn": 0, "echoes": {}, "seen": seen}

    def bind(self) -> None:
        self.sessions = self.node.part("sessions")

    def on_input(self, ctx: Context, state: dict, data: dict[str, Any]) -> None:
        mine = self.of(state)
        txn = mine["next_txn"]
        mine["next_txn"] += 1
        echo = {"room": data.get("room"), "status": "pending", "sent_id": None, "placed_id": None}
        mine["echoes"][str(txn)] = echo
        fields = {k: v for k, v in data.items() if k != "op"}
        self.sessions.request(ctx, state, data["op"], **fields, txn=txn)

    def answered(self, state: dict, entry: dict, msg: dict) -> None:
        mine = self.of(state)
        echo = mine["echoes"][str(entry["txn"])]
        if not msg["ok"]:
            if echo["placed_id"] is None:
                echo["status"] = "failed"
            return
        if echo["placed_id"] is not None:
            mine["seen"]["resp_after_stream"] = True
        echo["status"] = "sent"
        echo["sent_id"] = msg.get("event_id")
        shown = self.node.part("timeline").of(state)["timeline"].get(echo["room"], ())
        held = self.node.part("stream").of(state)["view"].get(echo["room"], {}).values()
        if echo["placed_id"] is None and (echo["sent_id"] in shown or echo["sent_id"] in held):
            # It came without an action ID (in the initial snapshot, or as the
            # room's state): the answer's event ID says it is this echo.
            echo["placed_id"] = echo["sent_id"]

    def streamed(self, state: dict, entry: dict) -> None:
        """A message came down the stream: place the echo it is (3)."""
        mine, eid = self.of(state), entry["event"]["event_id"]
        echo = self.match(state, entry)
        if echo is not None:
            if echo["status"] == "sent":
                # The guard stream_after_response: seen when the event comes.
                mine["seen"]["stream_after_resp"] = True
            if "state_key" in entry["event"]:
                mine["seen"]["state_placed"] = True
            echo["placed_id"] = eid
        elif "action_id" in entry and not any(
            e["placed_id"] == eid for e in mine["echoes"].values()
        ):
            mine["seen"]["foreign_action_id"] = True

    def match(self, state: dict, entry: dict) -> dict | None:
        """The unplaced echo an event is: by the event ID an answer gave, else by
        the action ID of an unanswered action of the current session."""
        echoes, eid = self.of(state)["echoes"], entry["event"]["event_id"]
        unplaced = sorted(int(t) for t, e in echoes.items() if e["placed_id"] is None)
        for t in unplaced:
            if echoes[str(t)]["sent_id"] == eid:
                return echoes[str(t)]
        if "action_id" not in entry:
            return None
        sessions = self.sessions.of(state)
        for e in sessions["inflight"].values():
            if e.get("aid") == entry["action_id"] and e["session"] == sessions["session"]:
                echo = echoes[str(e["txn"])]
                return echo if echo["placed_id"] is None else None
        return None

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
    the event the answer named in the room's timeline (unless it is older
    than the device's start in the room: then it is scrollback)."""
    for d in view.nodes:
        if view.kind(d) != "device" or "echo" not in view.state(d):
            continue
        st = view.state(d)
        server = view.state(view.config(d)["server"])
        streamed = d in server["stream"]["devices"]
        for echo in st["echo"]["echoes"].values():
            if echo["status"] == "pending":
                return False
            if echo["status"] == "sent" and streamed and echo["placed_id"] != echo["sent_id"]:
                if not _before_start(server, d, echo) and not _superseded(server, echo):
                    return False
        if any(len(t) != len(set(t)) for t in st["timeline"]["timeline"].values()):
            return False
    return True


def _superseded(server: dict, echo: dict) -> bool:
    """Is the echo's event a state event its server superseded? ("State Events
    Ordering Notes": the server may omit it, so no stream brings it; the
    device's view then holds what superseded it, which state_consistency checks.)"""
    ev = server["rooms"]["stores"].get(echo["room"], {}).get("events", {}).get(echo["sent_id"])
    if ev is None or "state_key" not in ev:
        return False
    current = server["rooms"]["stores"][echo["room"]]["current"]
    return current.get(f"{ev['type']}{SEP}{ev['state_key']}") != ev["event_id"]


def _before_start(server: dict, device: str, echo: dict) -> bool:
    """Is the echo's event older than the device's start in its room? (The
    stream began the room with its last messages only; older ones are
    scrollback, so the echo is not placed.)"""
    shown = server["stream"]["devices"][device]["shown"].get(echo["room"])
    events = server["rooms"]["stores"].get(echo["room"], {}).get("events", {})
    if not shown or echo["sent_id"] not in events:
        return False
    start = min(events[e]["depth"] for e in shown if e in events)
    return events[echo["sent_id"]]["depth"] < start


@eventually("actions_complete")
def actions_complete(view: View) -> bool:
    """At quiescence every action a user took succeeded (for scenarios whose
    faults a client's retransmissions can overcome)."""
    return all(e["status"] == "sent" for echoes in _echoes(view) for e in echoes.values())


def _seen(view: View, flag: str) -> bool:
    return any(
        view.state(d)["echo"]["seen"][flag]
        for d in view.nodes
        if view.kind(d) == "device" and "echo" in view.state(d)
    )


@always("action_id_private")
def action_id_private(view: View) -> bool:
    """A device's stream carries action IDs of its own actions only."""
    return not _seen(view, "foreign_action_id")


@sometimes("response_after_stream")
def response_after_stream(view: View) -> bool:
    """A send's response reached its device after the stream echo (2b, then 3)."""
    return _seen(view, "resp_after_stream")


@sometimes("stream_after_response")
def stream_after_response(view: View) -> bool:
    """A send's event came down to its device after the send's response (2a, then 3).

    Seen when the event comes, not when the response does (a device whose
    stream never brings the event has not shown this order)."""
    return _seen(view, "stream_after_resp")


@sometimes("state_echo_placed")
def state_echo_placed(view: View) -> bool:
    """A device's local echo of a state change, join or leave met its event in the stream."""
    return _seen(view, "state_placed")


Echo.properties = (
    local_echo_settles,
    state_echo_placed,
    actions_complete,
    action_id_private,
    response_after_stream,
    stream_after_response,
)
