"""Syncing again from a stream position (proposal: "Global /initialSync API",
"Event Stream API").

"If a streaming token is applied, you will get a delta rather than all the
rooms": a device that lost a stream response (a gap in its positions, or a
stream that went quiet) asks for what follows the position it has, and gets
every stream response its server gave it past that position again, as they
were (``synced``). The server keeps each device's responses until the device
syncs from a later position (a sync acknowledges what it has); keeping them
makes no new states, since they are what the server already sent.

On a server with the ``sessions`` part the stream closes with the session (a
session ends when its client stops making requests, polls included): what
follows is kept, not sent, and the device syncs for it once it has a new
session.
"""

from __future__ import annotations

from typing import Any

from mxsim.sim.node import Context
from mxsim.sim.parts import Part

__all__ = ["Sync"]


class Sync(Part):
    """State: ``sent`` (device -> {position: the stream response at it}) and
    ``held`` (device -> the first position kept, not sent, since its stream
    closed; until the device syncs)."""

    name = "sync"
    section = "Global /initialSync API (with a streaming token)"
    handles = ("sync",)

    def initial(self) -> dict[str, Any]:
        return {"sent": {}, "held": {}}

    def sent(self, state: dict, device: str, msg: dict) -> None:
        """The stream part gave ``device`` the positioned response ``msg``."""
        self.of(state)["sent"].setdefault(device, {})[str(msg["pos"])] = msg

    def closed(self, state: dict, device: str, pos: int) -> bool:
        """Has ``device``'s stream closed with its session (expired or ended)?
        If so, the response at ``pos`` is held for the device's next sync."""
        rec = state.get("sessions", {}).get("sessions", {}).get(device)
        if rec is None or rec["live"]:
            return False
        self.of(state)["held"].setdefault(device, pos)
        return True

    def on_sync(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        have = msg["from"]
        opened = False
        if "filter" in msg:
            # Proposal, "Filter API": the stream is opened (or synced) with a token.
            # "Clients should remember which token they need to use for which API":
            # ``initial_filter`` names the one of the rooms' starts, if not the stream's.
            filters = self.node.part("filters")
            names = [msg["filter"], msg.get("initial_filter", msg["filter"])]
            defns = [filters.lookup(state, t) if filters is not None else None for t in names]
            if None in defns:
                refused = {"from": have, "batches": [], "error": "unknown filter token"}
                ctx.send(src, {"type": "synced", **refused})
                return
            stream = self.node.part("stream")
            opened = src not in stream.devices(state)
            defn, start = defns
            stream.register(state, src, msg["user"], msg["out_of_order"], flt=defn, start=start)
        self.of(state)["held"].pop(src, None)  # given now
        kept = self.of(state)["sent"].get(src, {})
        for pos in [p for p in kept if int(p) <= have]:
            del kept[pos]  # the device has it: acknowledged
        batches = [kept[p] for p in sorted(kept, key=int)]
        answer = {"type": "synced", "from": have, "batches": batches}
        ctx.send(src, {**answer, "opened": True} if opened else answer)
