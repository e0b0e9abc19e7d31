"""Action IDs on the homeserver (proposal: "Action APIs", "Send a message", "Action IDs").

- "Action APIs": the action ID is "a transaction ID for idempotency as well
  as a sequence ID for ordering actions performed in parallel by that client";
- "Send a message", ordering notes: "When sending a message with a higher
  seqnum, it will block the request until it receives earlier seqnums. The
  block will expire after a timeout and reject the message stating that it
  was missing a seqnum";
- "Action IDs": "The first action ID for a session should be 0. For each
  subsequent action request, the ID should be incremented by 1."

Every client-server request that carries an action ID passes this part before
the part that handles it: an ID already applied is answered again, not applied
twice (``idempotent_retransmission``); a higher ID waits for the lower ones
(``hold_out_of_order``) until ``hold_timeout_ms``, then is rejected. The
answer a request got is kept, so a retransmission gets the same answer.
Action IDs are counted per device (a device is one client of one session
here); a request's ``try`` (1: the first transmission, 2 and on: the device's
retransmissions) only feeds the ``retransmission_race`` guard.
"""

from __future__ import annotations

from typing import Any

from mxsim.models.homeserver.rooms import result
from mxsim.sim.node import ConfigError, Context
from mxsim.sim.parts import Part

__all__ = ["Actions", "HOLD_TIMEOUT_MS"]

#: Default of ``hold_timeout_ms``.
HOLD_TIMEOUT_MS = 200

MISSING = "missing sequence number"


class Actions(Part):
    """Config: ``hold_timeout_ms``. State: ``clients`` (scope -> ``next``, ``done``
    (aid -> [answer or None, try]), ``held`` (aid -> request), ``rejected``,
    ``applied`` ([aid, event ID or None] in the order applied)), and the
    guards' flags ``retransmission_race`` and ``out_of_order``."""

    name = "actions"
    section = "Action APIs; Action IDs"
    durable = ("clients",)
    keys = {"hold_timeout_ms": "a positive number of milliseconds"}

    @classmethod
    def check_config(cls, config, node_config, node_names) -> None:
        super().check_config(config, node_config, node_names)
        value = config.get("hold_timeout_ms", HOLD_TIMEOUT_MS)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigError("hold_timeout_ms", "a positive number of milliseconds", value)

    def initial(self) -> dict[str, Any]:
        # The guards' observations are flags: once seen, a race stays seen.
        return {"clients": {}, "retransmission_race": False, "out_of_order": False}

    def on_start(self, ctx: Context, state: dict) -> None:
        # After a restart the held requests are durable but their timers are not.
        for scope, c in sorted(self.of(state)["clients"].items()):
            for key in sorted(c["held"], key=int):
                ctx.set_timer(self.timer(f"hold:{scope}:{key}"), self.timeout())

    def timeout(self) -> float:
        return self.config.get("hold_timeout_ms", HOLD_TIMEOUT_MS)

    def scope(self, state: dict, device: str, msg: dict) -> str:
        """Whose action-ID sequence a request belongs to: its device's."""
        return device

    def request(self, ctx: Context, state: dict, device: str, msg: dict) -> None:
        """A request with action ID ``msg["aid"]`` from ``device``: apply, answer again, hold."""
        mine = self.of(state)
        scope = self.scope(state, device, msg)
        c = mine["clients"].setdefault(
            scope, {"next": 0, "done": {}, "held": {}, "rejected": [], "applied": []}
        )
        aid, tried = msg["aid"], msg.get("try", 1)
        key = str(aid)
        done = c["done"].get(key)
        if done is not None and tried > done[1]:
            # The race the guard names: a later transmission by the device (its
            # retry timer fired) after an earlier one was applied; a network
            # copy of the applied transmission has the same ``try``.
            mine["retransmission_race"] = True
        if done is not None and self.node.switches["idempotent_retransmission"]:
            if done[0] is not None:  # else the answer is still to come
                ctx.send(device, _again(done[0]))
            return
        if aid in c["rejected"]:
            ctx.send(device, result(aid, False, error=MISSING))
            return
        if key in c["held"]:
            return  # a retransmission of a request already waiting
        if aid > c["next"]:
            mine["out_of_order"] = True
            if self.node.switches["hold_out_of_order"]:
                c["held"][key] = msg
                ctx.set_timer(self.timer(f"hold:{scope}:{aid}"), self.timeout())
                return
        self.apply(ctx, state, device, c, msg)
        while str(c["next"]) in c["held"]:
            nxt = c["held"].pop(str(c["next"]))
            ctx.cancel_timer(self.timer(f"hold:{scope}:{nxt['aid']}"))
            self.apply(ctx, state, device, c, nxt)

    def apply(self, ctx: Context, state: dict, device: str, c: dict, msg: dict) -> None:
        aid = msg["aid"]
        answers = _Answers(ctx, device, aid)
        self.node.deliver(answers, state, device, msg)
        answer = answers.answer
        c["done"][str(aid)] = [answer, msg.get("try", 1)]
        made = answer.get("event_id") if answer is not None and answer["ok"] else None
        c["applied"].append([aid, made])
        c["next"] = max(c["next"], aid + 1)

    def on_timer(self, ctx: Context, state: dict, name: str) -> None:
        _, rest = name.split(":", 1)
        scope, key = rest.rsplit(":", 1)
        c = self.of(state)["clients"][scope]
        held = c["held"].pop(key, None)
        if held is None:
            return
        c["rejected"].append(int(key))
        ctx.send(self.device_of(scope), result(int(key), False, error=MISSING))

    def device_of(self, scope: str) -> str:
        """The device a scope's answers go to."""
        return scope


def _again(answer: dict) -> dict:
    """The answer to a request repeated; a join answered with events is answered
    with its outcome only (its events already took their stream position)."""
    if answer["type"] != "joined":
        return answer
    return result(answer["aid"], answer["ok"], event_id=answer["event_id"], room=answer["room"])


class _Answers:
    """A context that passes every effect on and keeps the answer to one request."""

    def __init__(self, ctx: Context, device: str, aid: int) -> None:
        self._ctx, self._device, self._aid = ctx, device, aid
        self.node, self.switches = ctx.node, ctx.switches
        self.answer: dict | None = None

    def send(self, dst: str, msg: dict) -> None:
        if dst == self._device and msg.get("aid") == self._aid and "ok" in msg:
            self.answer = msg
        self._ctx.send(dst, msg)

    def set_timer(self, name: str, delay_ms: float) -> None:
        self._ctx.set_timer(name, delay_ms)

    def cancel_timer(self, name: str) -> None:
        self._ctx.cancel_timer(name)

    def metric(self, name: str, value: int = 1) -> None:
        self._ctx.metric(name, value)
