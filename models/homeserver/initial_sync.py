"""Syncing again from a stream position (proposal: "Global /initialSync API",
"Event Stream API").

"If a streaming token is applied, you will get a delta rather than all the
rooms": a device that lost a stream response (a gap in its positions, or a
stream that went quiet) asks for what follows the position it has, and gets
every stream response its server gave it past that position again, as they
were (``synced``). The server keeps each device's responses until the device
syncs from a later position (a sync acknowledges what it has); keeping them
makes no new states, since they are what the server already sent.
"""

from __future__ import annotations

from typing import Any

from mxsim.sim.node import Context
from mxsim.sim.parts import Part

__all__ = ["Sync"]


class Sync(Part):
    """State: ``sent`` (device -> {position: the stream response at it})."""

    name = "sync"
    section = "Global /initialSync API (with a streaming token)"
    handles = ("sync",)

    def initial(self) -> dict[str, Any]:
        return {"sent": {}}

    def sent(self, state: dict, device: str, msg: dict) -> None:
        """The stream part gave ``device`` the positioned response ``msg``."""
        self.of(state)["sent"].setdefault(device, {})[str(msg["pos"])] = msg

    def on_sync(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        have = msg["from"]
        kept = self.of(state)["sent"].get(src, {})
        for pos in [p for p in kept if int(p) <= have]:
            del kept[pos]  # the device has it: acknowledged
        batches = [kept[p] for p in sorted(kept, key=int)]
        ctx.send(src, {"type": "synced", "from": have, "batches": batches})
