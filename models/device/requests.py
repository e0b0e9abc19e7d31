"""A device's requests (proposal: "Action APIs").

The user's actions come as workload inputs, e.g.
``{"op": "send", "room": "!r:hs1", "body": "hi"}``; the device sends each as
the request of that name (see :mod:`mxsim.models.wire` for each one's
fields) with the next action ID, and keeps each answer's outcome; a device
with the ``bot`` part sends it without one (:mod:`mxsim.models.device.bot`).
"""

from __future__ import annotations

from typing import Any

from mxsim.models.wire import ACTION_ID, REQUEST, WIRE, request_fields
from mxsim.sim.node import ConfigError, Context
from mxsim.sim.parts import Part
from mxsim.sim.wire import CLIENT_SERVER

__all__ = ["Requests", "OPS"]

#: Requests a part of their own makes from the workload op of the same name
#: (``redact``: the ``redactions`` part names the event by its body).
OWN_OPS = ("redact",)

#: Workload ops: every client-server action request (not ``register``, not the
#: requests with a session ID of :mod:`mxsim.models.device.sessions`).
OPS = tuple(
    n
    for n, m in WIRE.messages.items()
    if m.direction == CLIENT_SERVER and m.fields[: len(REQUEST)] == REQUEST and n not in OWN_OPS
)

#: Optional fields that are not strings, and the type each must have.
TYPED = {
    "limit": int,
    "before": int,
    "after": int,
    "backfill": bool,
    "types": list,
    "filter": dict,
    "state": list,
    "via": list,
    "content": dict,
    "power": dict,
}


class Requests(Part):
    """State: ``next_aid`` and ``results`` (action ID -> ok)."""

    name = "requests"
    section = "Action APIs"
    required = True
    handles = ("result",)
    ops = OPS

    @classmethod
    def check_input(cls, data: dict[str, Any]) -> None:
        op = data.get("op")
        if op not in OPS:
            raise ConfigError("op", "one of: " + ", ".join(OPS), op)
        needed, optional = request_fields(op)
        for key in needed:
            if not isinstance(data.get(key), str):
                raise ConfigError(key, "a string", data.get(key))
        for key in data:
            if key not in ("op", *needed, *optional):
                raise ConfigError(key, f"a field of op {op}: " + ", ".join(needed + optional), key)
            if key == "filter" and op != "join":
                # A token: the filters part names the one it holds for the API.
                raise ConfigError(key, f"a field of op {op} the filters part names", key)
            want = TYPED.get(key)
            if want is not None and key not in needed:
                ok = isinstance(data[key], want) and not (
                    want is int and isinstance(data[key], bool)
                )
                if not ok:
                    raise ConfigError(key, f"a {want.__name__}", data[key])

    def initial(self) -> dict[str, Any]:
        return {"results": {}, "next_aid": 0}

    def out_of_order(self) -> bool:
        return bool(self.node.part("timeline").config.get("out_of_order", False))

    def on_start(self, ctx: Context, state: dict) -> None:
        if self.node.part("stream").long_poll():
            return  # its first long poll makes it known
        if not self.node.part("stream").opens() or self.node.has("filters"):
            return  # (a device with a filter opens its stream by a sync)
        user, ooo = self.node.config["user"], self.out_of_order()
        ctx.send(
            self.node.config["server"], {"type": "register", "user": user, "out_of_order": ooo}
        )

    def on_input(self, ctx: Context, state: dict, data: dict[str, Any]) -> None:
        request = {k: v for k, v in data.items() if k != "op"}
        if data["op"] == "scrollback" and "from" not in data:
            # (A part that holds a token of its own, as ``gaps``, names it.)
            scrollback = self.node.part("scrollback")
            start = scrollback.earliest(state, data["room"]) if scrollback else None
            if start is None:
                # No place in the room yet, so nothing to scroll back from: a
                # client only scrolls back a room it shows.
                return
            # Proposal, "Scrolling back": "Identifier for the earliest event".
            request["from"] = start
        filters = self.node.part("filters")
        token = filters.api_token(state, data["op"]) if filters is not None else None
        if token is not None:
            # "Clients should remember which token they need to use for which API."
            request["filter"] = token
        # "whoami" identifies the user, as an access token would.
        fields = dict(zip(REQUEST, (self.node.config["user"], self.out_of_order()), strict=True))
        msg = {"type": data["op"], **fields, **request}
        bot = self.node.part("bot")
        if bot is not None:
            # Proposal, "Action APIs": a bot needs no action ID.
            bot.take(ctx, state, msg)
            return
        mine = self.of(state)
        msg[ACTION_ID] = mine["next_aid"]
        mine["next_aid"] += 1
        if filters is not None:
            filters.sent(state, msg)
        retransmission = self.node.part("retransmission")
        if retransmission is not None:
            msg["try"] = 1
        ctx.send(self.node.config["server"], msg)
        if retransmission is not None:
            retransmission.sent(ctx, state, msg)

    def on_result(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        if msg["aid"] is None:  # the answer to a request without an action ID
            self.node.part("bot").answered(ctx, state, msg)
            return
        self.note(state, msg["aid"], msg["ok"], ctx)
        signing = self.node.part("signing")
        if signing is not None:
            signing.answered(ctx, state, msg)

    def note(self, state: dict, aid: int | None, ok: bool, ctx: Context | None = None) -> None:
        if aid is None:  # a bot's answer of another kind (a page, a window)
            self.node.part("bot").answered(ctx, state, {"ok": ok})
            return
        retransmission = self.node.part("retransmission")
        if retransmission is not None and not retransmission.answered(ctx, state, aid):
            return  # the action was settled already (or given up): keep its outcome
        self.of(state)["results"][str(aid)] = ok
