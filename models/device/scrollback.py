"""A device scrolling back (proposal: "Scrolling back", "Contextual windowing").

The device keeps, per room, the token of the earliest event it has (from
the server-generated join event, then from each page). One configured with
``persist = true`` keeps pages at the start of its timeline (proposal,
"Message Events Ordering Notes": clients that "persist scrollback for a room
... need to know about the message event and where to insert it").
"""

from __future__ import annotations

from typing import Any

from mxsim.sim.model import View, sometimes
from mxsim.sim.node import Context
from mxsim.sim.parts import Part, check_bool

__all__ = ["Scrollback"]


class Scrollback(Part):
    """Config: ``persist`` (bool). State: ``earliest`` (room -> token), ``more``
    (room -> [more on the server, more over federation]), ``contexts``
    (event ID -> [chunk IDs, start token, end token]) and, once it happened,
    ``scrolled_back`` (a page added older messages to a persisted timeline)."""

    name = "scrollback"
    section = "Scrolling back; Contextual windowing"
    handles = ("chunk", "window")
    keys = {"persist": "a boolean"}

    @classmethod
    def check_config(cls, config, node_config, node_names) -> None:
        super().check_config(config, node_config, node_names)
        check_bool(config, "persist")

    def bind(self) -> None:
        self.requests = self.node.part("requests")
        self.timeline = self.node.part("timeline")

    def initial(self) -> dict[str, Any]:
        return {"earliest": {}, "more": {}, "contexts": {}}

    def persists(self) -> bool:
        return bool(self.config.get("persist"))

    def earliest(self, state: dict, room: str) -> Any:
        return self.of(state)["earliest"].get(room)

    def start_at(self, state: dict, room: str, token: Any) -> None:
        self.of(state)["earliest"][room] = token

    def on_chunk(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        self.requests.note(state, msg["aid"], msg["ok"], ctx)
        self._keys(state, "scrollback", msg, msg.get("chunk", []))
        mine, room = self.of(state), msg["room"]
        mine["earliest"][room] = msg["token"]
        mine["more"][room] = [msg["more_local"], msg["more_remote"]]
        if self.persists() and self.timeline.prepend(state, room, msg["chunk"]):
            mine["scrolled_back"] = True
        bundles = self.node.part("bundles")
        if bundles is not None:
            bundles.take_chunk(state, msg["chunk"])

    def on_window(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        self.requests.note(state, msg["aid"], msg["ok"], ctx)
        self._keys(state, "context", msg, msg.get("chunk", []) + msg.get("state", []))
        chunk = [ev["event_id"] for ev in msg["chunk"]]
        self.of(state)["contexts"][msg["event_id"]] = [chunk, msg["start"], msg["end"]]

    def _keys(self, state: dict, api: str, msg: dict, evs: list[dict]) -> None:
        """The keys of a page, judged by the filter its request named ("Filter API")."""
        filters = self.node.part("filters")
        if filters is not None and msg["ok"]:
            filters.saw_page(state, api, msg, evs)


@sometimes("scrolled_back")
def scrolled_back(view: View) -> bool:
    """A device that persists scrollback kept older messages at the start of a timeline."""
    return any(
        view.state(d).get("scrollback", {}).get("scrolled_back")
        for d in view.nodes
        if view.kind(d) == "device"
    )


Scrollback.properties = (scrolled_back,)
