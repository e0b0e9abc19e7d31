"""A device reading its event stream (proposal: "Event Stream API").

The stream is read in position order, as a client polling from its last
position would; the network may deliver pushes out of it. A state event
replaces the device's view of that key (there is no state resolution on a
client); messages and local redactions go to the timeline part; the
server-generated ``m.server.joined`` event marks the device's place in a room.
"""

from __future__ import annotations

from typing import Any

from mxsim.models.device.stream_complete import stream_complete
from mxsim.models.room import SEP
from mxsim.sim.node import Context
from mxsim.sim.parts import Part, check_bool

__all__ = ["Stream"]


class Stream(Part):
    """State: ``view`` (room -> {type\\x1fstate_key: event ID}), ``invites``,
    ``joined`` (room -> position of its join event), ``last_pos``, ``buffer``
    (position -> what arrived ahead of its turn), ``positions_increase``."""

    name = "stream"
    section = "Event Stream API"
    required = True
    handles = ("stream", "invited", "joined")
    properties = (stream_complete,)
    #: ``open = false``: the device never opens its stream (it sends no ``register``),
    #: as a client that makes requests but does not read the "Event Stream API".
    keys = {"open": "a boolean"}

    @classmethod
    def check_config(cls, config, node_config, node_names) -> None:
        super().check_config(config, node_config, node_names)
        check_bool(config, "open")

    def opens(self) -> bool:
        return bool(self.config.get("open", True))

    def bind(self) -> None:
        self.requests = self.node.part("requests")
        self.timeline = self.node.part("timeline")
        self.scrollback = self.node.part("scrollback")

    def initial(self) -> dict[str, Any]:
        return {
            "view": {},
            "invites": [],
            "joined": {},
            "last_pos": 0,
            "buffer": {},
            "positions_increase": True,
        }

    def on_joined(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        # A join answered with the room's events instead of the stream: they
        # hold the stream position the server gave them.
        self.requests.note(state, msg["aid"], msg["ok"], ctx)
        self.on_stream(
            ctx, state, src, {"type": "stream", "pos": msg["pos"], "events": msg["events"]}
        )

    def on_invited(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        self.on_stream(ctx, state, src, msg)

    def on_stream(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        mine = self.of(state)
        if msg["pos"] <= mine["last_pos"] or str(msg["pos"]) in mine["buffer"]:
            mine["positions_increase"] = False  # a position seen twice
            return
        mine["buffer"][str(msg["pos"])] = msg
        while str(mine["last_pos"] + 1) in mine["buffer"]:
            nxt = mine["buffer"].pop(str(mine["last_pos"] + 1))
            mine["last_pos"] = nxt["pos"]
            if nxt["type"] == "invited":
                mine["invites"].append(nxt["event"]["event_id"])
            else:
                for entry in nxt["events"]:
                    self.apply(state, entry)

    def apply(self, state: dict, entry: dict) -> None:
        mine = self.of(state)
        room, ev = entry["room"], entry["event"]
        if ev["type"] == "m.server.joined":
            mine["joined"][room] = mine["last_pos"]
            scrollback = self.scrollback
            if scrollback is not None:
                scrollback.start_at(state, room, ev["token"])
            return
        if ev["type"] in ("m.presence", "m.typing"):
            # Not room events: presence and typing are shown, not kept in a timeline.
            presence = self.node.part("presence")
            if presence is not None:
                presence.shown(state, ev)
            return
        if "state_key" in ev:
            mine["view"].setdefault(room, {})[f"{ev['type']}{SEP}{ev['state_key']}"] = ev[
                "event_id"
            ]
            return
        self.timeline.apply(state, entry)
        echo = self.node.part("echo")
        if echo is not None:
            echo.streamed(state, entry)
