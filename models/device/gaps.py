"""A device filling the gap of a limited delta (proposal: "Global /initialSync
API", "Event Stream API", "Scrolling back (infinite scrolling)").

A server with the ``limited`` part answers a poll with a room's last
``limit=`` messages and a token for the ones it left out
(:mod:`mxsim.models.homeserver.limited`). Under ``gap_token = "follow"`` the
device scrolls back from that token ("Identifier for the earliest event"),
page after page, putting each message it lacked before the oldest one the
answer held, until a page reaches a message it already has or the room's
start. Under ``"ignore"`` it shows the answer as it is and the messages in
the gap are never shown: the historical ``/sync`` timeline-gap failure
(a client that drops ``limited`` / ``prev_batch``).

Config: ``page`` (messages asked per page; default 10). State: ``gaps``
(the action ID of each page asked -> {"room", "before": the message the
gap ends at}) and ``filled`` (a page put a missing message into the gap).
"""

from __future__ import annotations

from typing import Any

from mxsim.models import room as R
from mxsim.models import room_history as H
from mxsim.sim.model import Switch, View, eventually
from mxsim.sim.node import Context
from mxsim.sim.parts import Part, check_count

__all__ = ["Gaps", "GAP_TOKEN", "timeline_complete", "expected_timeline"]

PAGE = 10

GAP_TOKEN = Switch(
    "gap_token",
    "follow",
    'Global /initialSync API: "max of limit= message events"; Scrolling back: "Identifier '
    'for the earliest event". "follow": a device handed a limited delta scrolls back from '
    'its token through the messages left out (today\'s prev_batch); "ignore": it shows the '
    "delta as it is (the historical /sync timeline gap).",
    choices=("follow", "ignore"),
)


class Gaps(Part):
    """Config: ``page``. Takes the ``chunk`` answers to the pages it asked for
    (and hands any other to the ``scrollback`` part)."""

    name = "gaps"
    section = "Global /initialSync API (limit=); Scrolling back"
    handles = ("chunk",)
    switches = (GAP_TOKEN,)
    keys = {"page": "an integer of at least 1: messages per page"}

    @classmethod
    def check_config(cls, config, node_config, node_names) -> None:
        super().check_config(config, node_config, node_names)
        check_count(config, "page", PAGE)

    def initial(self) -> dict[str, Any]:
        return {"gaps": {}, "filled": False}

    def limited(self, ctx: Context, state: dict, answer: dict) -> None:
        """A stream answer was limited: follow each room's token (or not)."""
        if self.node.switches["gap_token"] != "follow":
            return
        for room, token in sorted(answer["limited"].items()):
            first = next(
                e["event"]["event_id"]
                for e in answer["events"]
                if e["room"] == room and "event_id" in e["event"] and "state_key" not in e["event"]
            )
            self._ask(ctx, state, room, token, first)

    def _ask(self, ctx: Context, state: dict, room: str, token: list, before: str) -> None:
        requests = self.node.part("requests")
        aid = requests.of(state)["next_aid"]
        page = {"op": "scrollback", "room": room, "from": token}
        requests.on_input(ctx, state, {**page, "limit": self.config.get("page", PAGE)})
        self.of(state)["gaps"][str(aid)] = {"room": room, "before": before}

    def on_chunk(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        gap = self.of(state)["gaps"].pop(str(msg["aid"]), None)
        if gap is None:
            scrollback = self.node.part("scrollback")
            if scrollback is not None:
                scrollback.on_chunk(ctx, state, src, msg)
            return
        self.node.part("requests").note(state, msg["aid"], msg["ok"], ctx)
        if not msg["ok"]:
            return
        timeline = self.node.part("timeline").of(state)["timeline"].setdefault(gap["room"], [])
        held = set(timeline)
        before = gap["before"]
        met = False
        for ev in msg["chunk"]:  # newest first: each goes before the one after it
            if "state_key" in ev:
                continue
            if ev["event_id"] in held:
                met = True  # the other side of the gap
                break
            timeline.insert(timeline.index(before), ev["event_id"])
            before = ev["event_id"]
            self.of(state)["filled"] = True
        if not met and msg["token"] and msg["more_local"]:
            self._ask(ctx, state, gap["room"], msg["token"], before)


def expected_timeline(store: dict) -> list[str]:
    """Every message of the room its clients are shown, oldest first."""
    events = store["events"]
    shown = [e for e in store["after"] if H.visible(store, e) and "state_key" not in events[e]]
    return sorted(shown, key=lambda e: (events[e]["depth"], e))


@eventually("timeline_complete")
def timeline_complete(view: View) -> bool:
    """Every device that reads limited deltas (part ``gaps``) eventually shows every
    message of each room it is in, in the room's order, none missing."""
    for d in view.nodes:
        if view.kind(d) != "device" or "gaps" not in view.state(d):
            continue
        server = view.config(d)["server"]
        user = view.config(d)["user"]
        shown = view.state(d)["timeline"]["timeline"]
        for room, store in sorted(view.state(server)["rooms"]["stores"].items()):
            if R.membership(store, user) != "join":
                continue
            if shown.get(room, []) != expected_timeline(store):
                return False
    return True


Gaps.properties = (timeline_complete,)
