"""The action-ID send path between one client device and its homeserver.

Proposal sections modelled (``general_api.rst``):

- "Action APIs": a client includes an *action ID* with each request; it is
  "a transaction ID for idempotency as well as a sequence ID for ordering
  actions performed in parallel by that client".
- "Send a message", ordering notes: "When sending a message with a higher
  seqnum, it will block the request until it receives earlier seqnums. The
  block will expire after a timeout and reject the message stating that it
  was missing a seqnum."
- "Action IDs": "The first action ID for a session should be 0. For each
  subsequent action request, the ID should be incremented by 1."

Sessions, local echo and the event stream come with the client model; here
the session is fixed for the whole run.

Messages (client -> server): ``{"type": "send", "session", "action_id", "body", "try"}``;
``try`` numbers the client's transmissions of one action (1: the first send,
2 and on: its retransmissions), so a retransmission is a message of its own and
not a network copy of the first; the server ignores it but for the guard.
Replies: ``{"type": "sent", "action_id", "event_id", "position"}`` or
``{"type": "rejected", "action_id", "reason"}``.
"""

from __future__ import annotations

from typing import Any

from mxsim.sim.model import Model, Switch, View, always, eventually, sometimes
from mxsim.sim.node import WORKLOAD, ConfigError, Context, Node

__all__ = ["MODEL", "Client", "Homeserver"]

SESSION = "s0"

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


def _positive_number(config: dict, key: str, default: float) -> float:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(key, "a positive number of milliseconds", value)
    return value


def _check_keys(config: dict, allowed: tuple[str, ...]) -> None:
    for key in config:
        if key not in allowed:
            raise ConfigError(key, "one of: " + ", ".join(allowed), key)


class Client(Node):
    """A client device that sends messages with action IDs and retransmits.

    Config: ``server`` (node name), ``retransmit_ms`` (default 50),
    ``max_tries`` (default 3: the first send and two retransmissions).
    Workload input: ``{"op": "send", "body": str}``.
    """

    kind = "client"

    @classmethod
    def check_config(cls, config: dict[str, Any], node_names: tuple[str, ...]) -> None:
        _check_keys(config, ("server", "retransmit_ms", "max_tries"))
        server = config.get("server")
        if server not in node_names:
            raise ConfigError("server", "the name of a node", server)
        _positive_number(config, "retransmit_ms", 50)
        tries = config.get("max_tries", 3)
        if isinstance(tries, bool) or not isinstance(tries, int) or tries < 1:
            raise ConfigError("max_tries", "an integer >= 1", tries)

    @classmethod
    def check_input(cls, data: dict[str, Any]) -> None:
        _check_keys(data, ("op", "body"))
        if data.get("op") != "send":
            raise ConfigError("op", '"send"', data.get("op"))
        if not isinstance(data.get("body"), str):
            raise ConfigError("body", "a string", data.get("body"))

    def initial_state(self) -> dict[str, Any]:
        # pending: action ID (as str, JSON keys are strings) -> {"body", "tries"}
        # outcome: action ID -> "sent" | "rejected" | "gave up"
        # (retransmissions are counted as a metric, not in the state: a count
        # would tell apart worlds that differ in nothing else)
        return {"next_id": 0, "pending": {}, "outcome": {}}

    def on_message(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        if src == WORKLOAD:
            aid = state["next_id"]
            state["next_id"] = aid + 1
            state["pending"][str(aid)] = {"body": msg["body"], "tries": 1}
            self._transmit(ctx, aid, msg["body"], 1)
            return
        key = str(msg["action_id"])
        if key not in state["pending"]:
            return  # a duplicate reply to an action already settled
        del state["pending"][key]
        ctx.cancel_timer(f"retry:{key}")
        state["outcome"][key] = "sent" if msg["type"] == "sent" else "rejected"

    def on_timer(self, ctx: Context, state: dict, name: str) -> None:
        key = name.split(":", 1)[1]
        entry = state["pending"].get(key)
        if entry is None:
            return
        if entry["tries"] >= self.config.get("max_tries", 3):
            del state["pending"][key]
            state["outcome"][key] = "gave up"
            return
        entry["tries"] += 1
        ctx.metric("retransmissions")
        self._transmit(ctx, int(key), entry["body"], entry["tries"])

    def _transmit(self, ctx: Context, aid: int, body: str, tried: int) -> None:
        request = {"type": "send", "session": SESSION, "action_id": aid, "body": body}
        request["try"] = tried
        ctx.send(self.config["server"], request)
        ctx.set_timer(f"retry:{aid}", self.config.get("retransmit_ms", 50))


class Homeserver(Node):
    """Applies each client's actions once and in action-ID order.

    Config: ``hold_timeout_ms`` (default 200): how long a request with a
    higher action ID waits for the lower ones before it is rejected.
    """

    kind = "homeserver"
    durable = ("room", "clients")

    @classmethod
    def check_config(cls, config: dict[str, Any], node_names: tuple[str, ...]) -> None:
        _check_keys(config, ("hold_timeout_ms",))
        _positive_number(config, "hold_timeout_ms", 200)

    def initial_state(self) -> dict[str, Any]:
        # clients: "client/session" -> {"next": int, "done": {aid: [event_id, pos, try]},
        #                               "held": {aid: [body, try]}, "rejected": [aid, ...]}
        # The guards' observations are flags: once seen, a race stays seen, and
        # seeing it again adds no state.
        return {"room": [], "clients": {}, "retransmission_race": False, "out_of_order": False}

    def on_message(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        if msg.get("type") != "send":
            return
        who = f"{src}/{msg['session']}"
        c = state["clients"].setdefault(who, {"next": 0, "done": {}, "held": {}, "rejected": []})
        aid = msg["action_id"]
        key = str(aid)
        if key in c["done"] and msg["try"] > c["done"][key][2]:
            # The race the guard names: a later transmission of the client (its
            # retry timer fired) arrives after an earlier one was applied. A
            # network copy of the applied transmission has the same ``try``.
            state["retransmission_race"] = True
        if key in c["done"] and self.switches["idempotent_retransmission"]:
            event_id, pos, _ = c["done"][key]
            ctx.send(src, {"type": "sent", "action_id": aid, "event_id": event_id, "position": pos})
            return
        if aid in c["rejected"]:
            ctx.send(src, _rejected(aid))
            return
        if key in c["held"]:
            return  # a retransmission of a request already waiting
        if aid > c["next"]:
            state["out_of_order"] = True
        if aid > c["next"] and self.switches["hold_out_of_order"]:
            c["held"][key] = [msg["body"], msg["try"]]
            ctx.set_timer(f"hold:{who}:{aid}", self.config.get("hold_timeout_ms", 200))
            return
        self._apply(ctx, state, src, who, aid, msg["body"], msg["try"])
        while str(c["next"]) in c["held"]:
            nxt = c["next"]
            body, tried = c["held"].pop(str(nxt))
            ctx.cancel_timer(f"hold:{who}:{nxt}")
            self._apply(ctx, state, src, who, nxt, body, tried)

    def on_timer(self, ctx: Context, state: dict, name: str) -> None:
        prefix, aid_text = name.rsplit(":", 1)
        who, aid = prefix.split(":", 1)[1], int(aid_text)
        c = state["clients"][who]
        if c["held"].pop(str(aid), None) is None:
            return
        c["rejected"].append(aid)
        ctx.send(who.split("/", 1)[0], _rejected(aid))

    def _apply(
        self, ctx: Context, state: dict, src: str, who: str, aid: int, body: str, tried: int
    ) -> None:
        c = state["clients"][who]
        pos = len(state["room"])
        event_id = f"${pos}"
        state["room"].append({"event_id": event_id, "sender": src, "action_id": aid, "body": body})
        c["done"][str(aid)] = [event_id, pos, tried]
        c["next"] = max(c["next"], aid + 1)
        ctx.metric("events")
        ctx.send(src, {"type": "sent", "action_id": aid, "event_id": event_id, "position": pos})


def _rejected(aid: int) -> dict[str, Any]:
    return {"type": "rejected", "action_id": aid, "reason": "missing sequence number"}


# -- properties ------------------------------------------------------------


def _servers(view: View) -> list[str]:
    return [n for n in view.nodes if view.kind(n) == "homeserver"]


def _clients(view: View) -> list[str]:
    return [n for n in view.nodes if view.kind(n) == "client"]


@always("idempotent")
def idempotent(view: View) -> bool:
    """Each (client, action ID) takes effect at most once in the room."""
    for hs in _servers(view):
        seen = set()
        for ev in view.state(hs)["room"]:
            key = (ev["sender"], ev["action_id"])
            if key in seen:
                return False
            seen.add(key)
    return True


@always("per_client_order")
def per_client_order(view: View) -> bool:
    """Events from one client's session appear in action-ID order."""
    for hs in _servers(view):
        last: dict[str, int] = {}
        for ev in view.state(hs)["room"]:
            if ev["action_id"] <= last.get(ev["sender"], -1):
                return False
            last[ev["sender"]] = ev["action_id"]
    return True


@always("sent_means_applied")
def sent_means_applied(view: View) -> bool:
    """An action the client was told succeeded is in the room exactly once."""
    for client in _clients(view):
        st = view.state(client)
        for hs in _servers(view):
            room = view.state(hs)["room"]
            for key, outcome in st["outcome"].items():
                if outcome == "sent":
                    n = sum(
                        1 for ev in room if ev["sender"] == client and str(ev["action_id"]) == key
                    )
                    if n != 1:
                        return False
    return True


@eventually("settled")
def settled(view: View) -> bool:
    """At quiescence every action is settled: sent, rejected or given up."""
    return all(not view.state(c)["pending"] for c in _clients(view))


@sometimes("retransmission_race")
def retransmission_race(view: View) -> bool:
    """A retransmission by the client (its retry timer fired and it sent the
    action again) reached the server after an earlier transmission of the
    action was applied; a network duplicate of the applied request is not one."""
    return any(view.state(hs)["retransmission_race"] for hs in _servers(view))


@sometimes("out_of_order_arrival")
def out_of_order_arrival(view: View) -> bool:
    """A higher action ID reached the server before a lower one."""
    return any(view.state(hs)["out_of_order"] for hs in _servers(view))


MODEL = Model(
    name="action_ids",
    doc="One client device sending messages with action IDs to one homeserver.",
    kinds={"client": Client, "homeserver": Homeserver},
    switches=SWITCHES,
    properties=(
        idempotent,
        per_client_order,
        sent_means_applied,
        settled,
        retransmission_race,
        out_of_order_arrival,
    ),
)
