"""Action IDs (proposal: "Action APIs", "Send a message" ordering notes, "Action IDs").

A client includes an action ID with each request: "a transaction ID for
idempotency as well as a sequence ID for ordering actions performed in
parallel by that client". This part stands in front of every request of a
device: it applies each (device, action ID) once, answering a
retransmission of an applied one with the answer it was given
(``idempotent_retransmission``); it holds a request whose ID is higher than
the next expected one until the lower ones arrive ("it will block the
request until it receives earlier seqnums", ``hold_out_of_order``) and
rejects it when the hold expires ("The block will expire after a timeout
and reject the message stating that it was missing a seqnum").

An answer sent later than the request's own step (a remote join's) is not
kept; a retransmission of that request is then ignored.

``applied`` lists every (device, action ID) in the order it took effect: the
ground truth the properties judge.
"""

from __future__ import annotations

from typing import Any

from mxsim.models.homeserver.rooms import result
from mxsim.sim.model import Switch, View, always, eventually, sometimes
from mxsim.sim.node import Context
from mxsim.sim.parts import Part, check_positive

__all__ = ["Actions", "Capture", "SWITCHES", "PROPERTIES"]


class Capture:
    """A context that forwards everything and keeps the answer to one request."""

    def __init__(self, inner: Context, device: str, aid: int) -> None:
        self.inner, self.device, self.aid = inner, device, aid
        self.node, self.switches = inner.node, inner.switches
        self.answer: dict | None = None

    def send(self, dst: str, msg: dict) -> None:
        if dst == self.device and msg.get("aid") == self.aid and self.answer is None:
            self.answer = msg
        self.inner.send(dst, msg)

    def set_timer(self, name: str, delay_ms: float) -> None:
        self.inner.set_timer(name, delay_ms)

    def cancel_timer(self, name: str) -> None:
        self.inner.cancel_timer(name)

    def metric(self, name: str, value: int = 1) -> None:
        self.inner.metric(name, value)


class Actions(Part):
    """Config: ``hold_timeout_ms`` (default 200). State: ``clients`` (device ->
    ``next`` expected ID, ``done`` ID -> answer, ``held`` ID -> request,
    ``rejected`` IDs), ``applied`` and the saturating flags ``seen``."""

    name = "actions"
    section = "Action APIs; Send a message (ordering notes); Action IDs"
    keys = {"hold_timeout_ms": "a positive number of milliseconds"}
    durable = ("clients", "applied")

    @classmethod
    def check_config(cls, config, node_config, node_names) -> None:
        super().check_config(config, node_config, node_names)
        check_positive(config, "hold_timeout_ms", 200)

    def initial(self) -> dict[str, Any]:
        return {
            "clients": {},
            "applied": [],
            "seen": {"applied_again": False, "out_of_order": False},
        }

    def admit(self, ctx: Context, state: dict, device: str, msg: dict) -> list[dict]:
        """The requests to apply now, in order (``msg`` and any held ones it frees)."""
        mine = self.of(state)
        c = mine["clients"].setdefault(device, {"next": 0, "done": {}, "held": {}, "rejected": []})
        aid, switches = msg["aid"], self.node.switches
        key = str(aid)
        if key in c["done"]:
            mine["seen"]["applied_again"] = True
            if switches["idempotent_retransmission"]:
                if c["done"][key] is not None:
                    ctx.send(device, c["done"][key])
                return []
        if aid in c["rejected"]:
            ctx.send(device, result(aid, False, error="missing action ID"))
            return []
        if key in c["held"]:
            return []  # a retransmission of a request already waiting
        if aid > c["next"]:
            mine["seen"]["out_of_order"] = True
            if switches["hold_out_of_order"]:
                c["held"][key] = msg
                ctx.set_timer(
                    self.timer(f"hold:{device}:{aid}"), self.config.get("hold_timeout_ms", 200)
                )
                return []
        out, nxt = [msg], max(c["next"], aid + 1)
        while str(nxt) in c["held"]:
            out.append(c["held"].pop(str(nxt)))
            ctx.cancel_timer(self.timer(f"hold:{device}:{nxt}"))
            nxt += 1
        return out

    def applied(self, state: dict, device: str, aid: int, answer: dict | None) -> None:
        mine = self.of(state)
        c = mine["clients"][device]
        c["done"][str(aid)] = answer
        c["next"] = max(c["next"], aid + 1)
        mine["applied"].append([device, aid])

    def on_timer(self, ctx: Context, state: dict, name: str) -> None:
        _, device, aid_text = name.split(":")
        c = self.of(state)["clients"][device]
        if c["held"].pop(aid_text, None) is None:
            return
        c["rejected"].append(int(aid_text))
        ctx.send(device, result(int(aid_text), False, error="missing action ID"))


# -- switches and properties of this part ---------------------------------------------

SWITCHES = (
    Switch(
        "idempotent_retransmission",
        True,
        'Action APIs: "This ID serves as a transaction ID for idempotency".',
    ),
    Switch(
        "hold_out_of_order",
        True,
        'Send a message, ordering notes: "When sending a message with a higher seqnum, '
        'it will block the request until it receives earlier seqnums."',
    ),
)


def _applied(view: View) -> list[list]:
    """Every server's (device, action ID) in the order they took effect."""
    return [
        view.state(s)["actions"]["applied"]
        for s in view.nodes
        if view.kind(s) == "homeserver" and "actions" in view.state(s)
    ]


@always("idempotent")
def idempotent(view: View) -> bool:
    """Each (device, action ID) takes effect at most once."""
    return all(len({tuple(a) for a in applied}) == len(applied) for applied in _applied(view))


@always("per_client_order")
def per_client_order(view: View) -> bool:
    """One device's actions take effect in action-ID order."""
    for applied in _applied(view):
        last: dict[str, int] = {}
        for device, aid in applied:
            if aid <= last.get(device, -1):
                return False
            last[device] = aid
    return True


@always("sent_means_applied")
def sent_means_applied(view: View) -> bool:
    """An action its device was told succeeded took effect exactly once."""
    for d in view.nodes:
        if view.kind(d) != "device" or "retransmission" not in view.state(d):
            continue
        server = view.state(view.config(d)["server"])
        if "actions" not in server:
            continue
        applied = server["actions"]["applied"]
        for aid, ok in view.state(d)["requests"]["results"].items():
            if ok and sum(1 for a in applied if a == [d, int(aid)]) != 1:
                return False
    return True


@eventually("settled")
def settled(view: View) -> bool:
    """At quiescence every action is settled: answered or given up."""
    return all(
        not view.state(d)["retransmission"]["link"]["out"]
        for d in view.nodes
        if view.kind(d) == "device" and "retransmission" in view.state(d)
    )


@sometimes("retransmission_race")
def retransmission_race(view: View) -> bool:
    """A device retransmitted, and a server saw an action ID it had applied."""
    devices = [d for d in view.nodes if view.kind(d) == "device"]
    resent = any(view.state(d).get("retransmission", {}).get("retransmitted") for d in devices)
    servers = [s for s in view.nodes if view.kind(s) == "homeserver"]
    again = any(
        view.state(s).get("actions", {}).get("seen", {}).get("applied_again") for s in servers
    )
    return resent and again


@sometimes("out_of_order_action")
def out_of_order_action(view: View) -> bool:
    """A higher action ID reached a server before a lower one."""
    servers = [s for s in view.nodes if view.kind(s) == "homeserver"]
    return any(
        view.state(s).get("actions", {}).get("seen", {}).get("out_of_order") for s in servers
    )


PROPERTIES = (
    idempotent,
    per_client_order,
    sent_means_applied,
    settled,
    retransmission_race,
    out_of_order_action,
)

Actions.switches = SWITCHES
Actions.properties = PROPERTIES
