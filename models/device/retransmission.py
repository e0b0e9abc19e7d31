"""Requests and retransmission (proposal: "Action APIs", "Action IDs").

A device that gets no answer sends the request again, with the same action
ID, every ``retransmit_ms``, up to ``max_tries`` sends in all; then it gives
the action up. The resending is :class:`mxsim.sim.reliable.Link`'s, numbered
by the action IDs ("The first action ID for a session should be 0. For each
subsequent action request, the ID should be incremented by 1."), and an
answer is the acknowledgement. An answer to an action already settled (a
duplicate, or one that comes after giving up) is dropped.
"""

from __future__ import annotations

from typing import Any

from mxsim.sim.node import Context
from mxsim.sim.parts import Part, check_count, check_positive
from mxsim.sim.reliable import Link

__all__ = ["Retransmission"]


class Retransmission(Part):
    """Config: ``retransmit_ms`` (default 50), ``max_tries`` (default 3). State: the
    ``link``, ``gave_up`` (action IDs) and the flag ``retransmitted``."""

    name = "retransmission"
    section = "Action APIs; Action IDs"
    keys = {"retransmit_ms": "a positive number of milliseconds", "max_tries": "an integer >= 1"}

    @classmethod
    def check_config(cls, config, node_config, node_names) -> None:
        super().check_config(config, node_config, node_names)
        check_positive(config, "retransmit_ms", 50)
        check_count(config, "max_tries", 3)

    def __init__(self, node: Any, config: dict[str, Any]) -> None:
        super().__init__(node, config)
        self.link = Link(
            None,
            "result",
            self.timer("retry"),
            config.get("retransmit_ms", 50),
            field="aid",
            max_tries=config.get("max_tries", 3),
        )

    def initial(self) -> dict[str, Any]:
        return {"link": self.link.initial(), "gave_up": [], "retransmitted": False}

    def send(self, ctx: Context, state: dict, server: str, request: dict, aid: int) -> None:
        self.link.send(ctx, self.of(state)["link"], server, request, seq=aid)

    def settle(self, ctx: Context, state: dict, server: str, aid: int) -> bool:
        """An answer for ``aid`` arrived; False if that action was already settled."""
        return self.link.acked(ctx, self.of(state)["link"], server, aid)

    def on_timer(self, ctx: Context, state: dict, name: str) -> None:
        mine = self.of(state)
        server = name.split(":", 1)[1]
        given_up = self.link.retry(ctx, mine["link"], server)
        if mine["link"]["out"].get(server):
            mine["retransmitted"] = True
            ctx.metric("retransmissions")
        for aid, _ in given_up:
            mine["gave_up"].append(aid)
