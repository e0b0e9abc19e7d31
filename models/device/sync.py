"""A device syncing again from its stream position after a lost stream response
(proposal: "Global /initialSync API" with a streaming token, "Event Stream API").

A stream response can be lost. Once the network is quiet for ``resync_ms``
after the device's stream moved on, showed a gap, or an action of the device
was answered (its event is due down the stream), the device
asks its server for what follows its position (``sync``), as a long poll's
timeout would; the answer (``synced``) holds the responses past it, which the
stream part applies in position order. An answer that brings nothing new arms
no further sync, so runs still end; an unanswered sync is asked again.
"""

from __future__ import annotations

from typing import Any

from mxsim.sim.model import View, sometimes
from mxsim.sim.node import Context
from mxsim.sim.parts import Part, check_positive

__all__ = ["Sync", "RESYNC_MS", "stream_resynced"]

#: Default of ``resync_ms``.
RESYNC_MS = 300


class Sync(Part):
    """Config: ``resync_ms``. State: ``asked`` (the position of the unanswered
    sync, or None) and ``upto`` (the last position a sync gave again: the
    original response at or before it may still come, late, and is no news)."""

    name = "sync"
    section = "Global /initialSync API (with a streaming token)"
    handles = ("synced",)
    keys = {"resync_ms": "a positive number of milliseconds"}

    @classmethod
    def check_config(cls, config, node_config, node_names) -> None:
        super().check_config(config, node_config, node_names)
        check_positive(config, "resync_ms", RESYNC_MS)

    def initial(self) -> dict[str, Any]:
        return {"asked": None, "upto": 0}

    def bind(self) -> None:
        self.stream = self.node.part("stream")

    def given_again(self, state: dict, pos: int) -> bool:
        """Was position ``pos`` given again by a sync (so its original may come late)?"""
        return pos <= self.of(state)["upto"]

    def arm(self, ctx: Context, state: dict) -> None:
        """The stream moved on, showed a gap, or is due an action's event: look
        again once it is quiet (an answer to a sync asked before this does not
        end the look)."""
        self.of(state)["asked"] = None
        self._set(ctx)

    def _set(self, ctx: Context) -> None:
        ctx.set_timer(self.timer("resync"), self.config.get("resync_ms", RESYNC_MS))

    def on_timer(self, ctx: Context, state: dict, name: str) -> None:
        have = self.stream.of(state)["last_pos"]
        self.of(state)["asked"] = have
        ctx.send(self.node.config["server"], {"type": "sync", "from": have})
        self._set(ctx)  # until it is answered

    def on_synced(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        mine = self.of(state)
        if mine["asked"] == msg["from"]:
            # The answer to the sync the look is waiting for: it ends the look
            # unless it brings something new (the stream then looks again).
            mine["asked"] = None
            ctx.cancel_timer(self.timer("resync"))
        stream = self.stream.of(state)
        new = [
            b
            for b in msg["batches"]
            if b["pos"] > stream["last_pos"] and str(b["pos"]) not in stream["buffer"]
        ]
        for batch in new:
            mine["upto"] = max(mine["upto"], batch["pos"])
            self.stream.on_stream(ctx, state, src, batch)


@sometimes("stream_resynced")
def stream_resynced(view: View) -> bool:
    """A sync gave a device a stream response again that it had not applied
    (the original was lost, or is still late)."""
    return any(
        view.state(d)["sync"]["upto"] > 0
        for d in view.nodes
        if view.kind(d) == "device" and "sync" in view.state(d)
    )


Sync.properties = (stream_resynced,)
