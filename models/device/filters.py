"""A device's filter (proposal: "Filter API").

The device uploads its filter definition (``filter``) when it starts and
opens its stream naming the token it got back (see the ``sync`` part). "The
token may expire, in which case you would need to request another one": a
sync refused for an unknown token uploads the definition again and syncs
with the new token, from the position the device has.
"""

from __future__ import annotations

from typing import Any

from mxsim.models.homeserver.filters import check, matches, normalise
from mxsim.models.room import SEP
from mxsim.sim.model import View, always
from mxsim.sim.node import Context
from mxsim.sim.parts import Part

__all__ = ["Filters"]


class Filters(Part):
    """Config: ``filter`` (a definition, default: everything). State: ``token``
    (the token in use, or None while an upload is unanswered)."""

    name = "filters"
    needs = ("sessions", "sync")
    section = "Filter API"
    keys = {"filter": "a filter definition"}

    @classmethod
    def check_config(cls, config, node_config, node_names) -> None:
        super().check_config(config, node_config, node_names)
        check(config.get("filter", {}))

    def initial(self) -> dict[str, Any]:
        return {"token": None}

    def on_start(self, ctx: Context, state: dict) -> None:
        self.upload(ctx, state)

    def upload(self, ctx: Context, state: dict) -> None:
        self.of(state)["token"] = None
        self.node.part("sessions").request(
            ctx, state, "filter", filter=self.config.get("filter", {})
        )

    def token(self, state: dict) -> str | None:
        return self.of(state)["token"]

    def answered(self, ctx: Context, state: dict, msg: dict) -> None:
        """The upload's answer: open (or sync) the stream with the new token."""
        if msg["ok"]:
            self.of(state)["token"] = msg["token"]
            self.node.part("sync").ask(ctx, state)


def _passes(view: View, device: str) -> bool:
    defn = normalise(view.config(device)["filters"].get("filter", {}))
    if not view.switches["negative_filters"]:
        defn["not_types"] = []
    stores = view.state(view.config(device)["server"])["rooms"]["stores"]
    st = view.state(device)
    for room, keys in st["stream"]["view"].items():
        if any(not matches(defn, key.split(SEP, 1)[0], room) for key in keys):
            return False
    for room, timeline in st["timeline"]["timeline"].items():
        events = stores.get(room, {}).get("events", {})
        for eid in timeline:
            if eid in events and not matches(defn, events[eid]["type"], room):
                return False
    return True


@always("filter_honoured")
def filter_honoured(view: View) -> bool:
    """A device with a filter holds only events its filter passes ("Filter API":
    what comes down is what the filter selects)."""
    return all(
        _passes(view, d)
        for d in view.nodes
        if view.kind(d) == "device" and "filters" in view.state(d)
    )


Filters.properties = (filter_honoured,)
