"""A synchronous bot: requests without action IDs (proposal: "Action APIs").

"Action IDs are optional and are only needed by clients that retransmit their
requests, or display local echo, or allow the submission of multiple requests
in parallel. An example of a client which may not need the use of action IDs
includes bots which operate using basic request/responses in a synchronous
fashion."

A device with this part (``bot = {}``) sends its requests without ``aid``,
one at a time: the next user action waits in ``queue`` until the answer to
the one before came (no local echo, no retransmission: a lost request or
answer leaves the bot waiting, as a blocked HTTP call would). The answer names
the event the request made, which is where in the stream it happened. Switch
``bot_waits = false`` makes the bot pipeline (send each action as it comes):
nothing then keeps the server from applying its sends in another order than
the bot's, which is why a client sending in parallel needs action IDs.

State: ``queue`` (requests not sent yet), ``waiting`` (requests sent and not
answered), ``sent`` (the bodies of the bot's messages, in the order sent) and
``told`` (answer k, taken as the answer to request k: [k, ok, event ID]).
"""

from __future__ import annotations

from typing import Any

from mxsim.models.device.bot_properties import (
    bot_goes_on,
    bot_order,
    bot_passed_hold,
    bot_sends_once,
)
from mxsim.sim.model import Switch
from mxsim.sim.node import ConfigError, Context
from mxsim.sim.parts import Part

__all__ = ["Bot", "BOT_WAITS"]

BOT_WAITS = Switch(
    "bot_waits",
    True,
    'Action APIs: "bots which operate using basic request/responses in a synchronous '
    'fashion" (false: the bot sends its next request before the answer, without action IDs).',
)

#: Device parts that number requests by action ID, so a bot cannot use them.
NUMBERED = ("retransmission", "echo", "sessions", "signing")


class Bot(Part):
    """Config: none. Sends the device's requests without action IDs, one at a time."""

    name = "bot"
    section = "Action APIs"
    switches = (BOT_WAITS,)
    properties = (bot_order, bot_sends_once, bot_goes_on, bot_passed_hold)

    @classmethod
    def check_beside(cls, node_config: dict[str, Any]) -> None:
        """A device with this part uses none of the parts that number requests."""
        if cls.name not in node_config:
            return
        for part in NUMBERED:
            if part in node_config:
                expected = f"no {part} table beside bot (a bot sends no action IDs)"
                raise ConfigError(part, expected, node_config[part])

    def initial(self) -> dict[str, Any]:
        return {"queue": [], "waiting": 0, "sent": [], "told": []}

    def take(self, ctx: Context, state: dict, msg: dict) -> None:
        """A user action, as its request without an action ID: sent now, or queued."""
        mine = self.of(state)
        if mine["waiting"] and self.node.switches["bot_waits"]:
            mine["queue"].append(msg)
            return
        self.send(ctx, mine, msg)

    def send(self, ctx: Context, mine: dict, msg: dict) -> None:
        mine["waiting"] += 1
        mine["sent"].append(msg.get("body"))
        ctx.send(self.node.config["server"], msg)

    def answered(self, ctx: Context | None, state: dict, msg: dict) -> None:
        """An answer came; without an action ID it can only be taken as the answer
        to the oldest request still waiting. Then the next request goes."""
        mine = self.of(state)
        if not mine["waiting"]:
            return  # (no request waits: nothing to match it to)
        mine["waiting"] -= 1
        mine["told"].append([len(mine["told"]), msg["ok"], msg.get("event_id")])
        if mine["queue"] and ctx is not None:
            self.send(ctx, mine, mine["queue"].pop(0))
