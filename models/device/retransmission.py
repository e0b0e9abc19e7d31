"""A device retransmitting its requests (proposal: "Action APIs", "Action IDs").

A request that gets no answer within ``retransmit_ms`` is sent again with the
same action ID ("a transaction ID for idempotency"), up to ``max_tries``
transmissions in all; then the device gives it up. Each transmission carries
``try`` (1: the first, 2 and on: the retransmissions), so a retransmission is
a message of its own, not a network copy of the first.
"""

from __future__ import annotations

from typing import Any

from mxsim.sim.node import ConfigError, Context
from mxsim.sim.parts import Part

__all__ = ["Retransmission", "RETRANSMIT_MS", "MAX_TRIES"]

RETRANSMIT_MS = 50
MAX_TRIES = 3


class Retransmission(Part):
    """Config: ``retransmit_ms``, ``max_tries``. State: ``pending`` (action ID ->
    {"msg", "tries"}) and ``gave_up`` (action IDs given up). Retransmissions
    are a metric, not state: a count would tell apart worlds that differ in
    nothing else."""

    name = "retransmission"
    section = "Action APIs; Action IDs"
    keys = {"retransmit_ms": "a positive number of milliseconds", "max_tries": "an integer >= 1"}

    @classmethod
    def check_config(cls, config, node_config, node_names) -> None:
        super().check_config(config, node_config, node_names)
        ms = config.get("retransmit_ms", RETRANSMIT_MS)
        if isinstance(ms, bool) or not isinstance(ms, int | float) or ms <= 0:
            raise ConfigError("retransmit_ms", "a positive number of milliseconds", ms)
        tries = config.get("max_tries", MAX_TRIES)
        if isinstance(tries, bool) or not isinstance(tries, int) or tries < 1:
            raise ConfigError("max_tries", "an integer >= 1", tries)

    def initial(self) -> dict[str, Any]:
        return {"pending": {}, "gave_up": []}

    def sent(self, ctx: Context, state: dict, msg: dict) -> None:
        """The device sent request ``msg`` for the first time."""
        self.of(state)["pending"][str(msg["aid"])] = {"msg": msg, "tries": 1}
        self.arm(ctx, msg["aid"])

    def arm(self, ctx: Context, aid: int) -> None:
        ctx.set_timer(self.timer(str(aid)), self.config.get("retransmit_ms", RETRANSMIT_MS))

    def answered(self, ctx: Context | None, state: dict, aid: int) -> bool:
        """An answer to ``aid`` came: True if it was the first (the action is settled now)."""
        if self.of(state)["pending"].pop(str(aid), None) is None:
            return False  # a repeated answer to an action already settled
        if ctx is not None:
            ctx.cancel_timer(self.timer(str(aid)))
        return True

    def on_timer(self, ctx: Context, state: dict, name: str) -> None:
        mine = self.of(state)
        entry = mine["pending"].get(name)
        if entry is None:
            return
        if entry["tries"] >= self.config.get("max_tries", MAX_TRIES):
            del mine["pending"][name]
            mine["gave_up"].append(int(name))
            return
        entry["tries"] += 1
        ctx.metric("retransmissions")
        ctx.send(self.node.config["server"], {**entry["msg"], "try": entry["tries"]})
        self.arm(ctx, int(name))
