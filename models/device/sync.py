"""A device syncing again from its stream position after a lost stream response
(proposal: "Global /initialSync API" with a streaming token, "Event Stream API").

A stream response can be lost. Once the network is quiet for ``resync_ms``
after the device's stream moved on, showed a gap, or an action of the device
was answered (its event is due down the stream), the device
asks its server for what follows its position (``sync``), as a long poll's
timeout would; the answer (``synced``) holds the responses past it, which the
stream part applies in position order. An answer that brings nothing new arms
no further sync, so runs still end; an unanswered sync is asked again. A
device with the ``filters`` part opens its stream by a sync naming its
filter's token, and uploads its filter again when the token expired.
"""

from __future__ import annotations

from typing import Any

from mxsim.sim.model import View, sometimes
from mxsim.sim.node import Context
from mxsim.sim.parts import Part, check_bool, check_positive

__all__ = ["Sync", "RESYNC_MS", "stream_resynced"]

#: Default of ``resync_ms``.
RESYNC_MS = 300


class Sync(Part):
    """Config: ``resync_ms``, ``losses`` (true: the network may lose a stream
    response, so the device looks again after its stream moved on or an
    action was answered; false: only after a gap, an opening or a new
    session). State: ``asked`` (the position of the unanswered
    sync, or None) and ``upto`` (the last position a sync gave again: the
    original response at or before it may still come, late, and is no news)."""

    name = "sync"
    section = "Global /initialSync API (with a streaming token)"
    handles = ("synced",)
    keys = {"resync_ms": "a positive number of milliseconds", "losses": "a boolean"}

    @classmethod
    def check_config(cls, config, node_config, node_names) -> None:
        super().check_config(config, node_config, node_names)
        check_positive(config, "resync_ms", RESYNC_MS)
        check_bool(config, "losses")

    def initial(self) -> dict[str, Any]:
        return {"asked": None, "upto": 0}

    def bind(self) -> None:
        self.stream = self.node.part("stream")

    def given_again(self, state: dict, pos: int) -> bool:
        """Was position ``pos`` given again by a sync (so its original may come late)?"""
        return pos <= self.of(state)["upto"]

    def arm(self, ctx: Context, state: dict, for_loss: bool = False) -> None:
        """The stream moved on, showed a gap, is due an action's event, opened
        or has a new session: look again once it is quiet (an answer to a sync
        asked before this does not end the look). ``for_loss``: only a lost
        response would need it (not looked for under ``losses = false``)."""
        if for_loss and not self.config.get("losses", True):
            return
        self.of(state)["asked"] = None
        self._set(ctx)

    def _set(self, ctx: Context) -> None:
        ctx.set_timer(self.timer("resync"), self.config.get("resync_ms", RESYNC_MS))

    def on_timer(self, ctx: Context, state: dict, name: str) -> None:
        self.ask(ctx, state)

    def ask(self, ctx: Context, state: dict) -> None:
        """Sync from the position the device has (naming its filter's token)."""
        have = self.stream.of(state)["last_pos"]
        msg = {"type": "sync", "from": have}
        filters = self.node.part("filters")
        if filters is not None:
            token = filters.token(state)
            if token is None:
                return  # its filter's upload is unanswered: the answer asks
            ooo = self.node.part("requests").out_of_order()
            msg.update(filter=token, user=self.node.config["user"], out_of_order=ooo)
            initial = filters.initial_token(state)
            if initial is not None and initial != token:
                msg["initial_filter"] = initial  # "which token ... for which API"
            sync = self.node.part("initial_sync")
            if sync is not None and have == 0:
                sync.asked(state, filters.initial_limit())  # it opens the stream
        self.of(state)["asked"] = have
        ctx.send(self.node.config["server"], msg)
        self._set(ctx)  # until it is answered

    def on_synced(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        mine = self.of(state)
        if mine["asked"] == msg["from"]:
            # The answer to the sync the look is waiting for: it ends the look
            # unless it brings something new (the stream then looks again).
            mine["asked"] = None
            ctx.cancel_timer(self.timer("resync"))
            if msg.get("error") == "unknown filter token":
                # "The token may expire, in which case you would need to request another one."
                self.node.part("filters").upload(ctx, state)
                return
            if msg.get("opened"):
                self.arm(ctx, state, for_loss=True)  # its start is due: look once more
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
