"""Forward extremities: merged with a dummy event once a room has too many.

Events "arrive late and out of order" (proposal, "Message Events Ordering
Notes"), so a room's graph forks: each server's newest event is built on the
forward extremities that server held (:func:`mxsim.models.room.next_event`
refers to every one), and until the others hear of it, theirs fork off
beside it. A server that sends narrows its own graph to one extremity; a
server that only receives holds one extremity per server whose latest event
it has but no event builds on yet, so the width of its graph grows with the
servers sending concurrently and the latency between them, and so does what
each resolution of the room's state costs.

Today's homeservers (Synapse) merge: once a room has more than 10 forward
extremities, the server sends an ``org.matrix.dummy_event`` built on them,
an event that says nothing and only joins the forks. Synapse looks for such
rooms periodically (every five minutes); here a server whose room passes
the threshold arms a timer of ``period_ms`` and, when it fires, merges each
room still past it. The period matters: merging at once, in the step that
passed the threshold, makes every server of a wide room send a dummy event
at nearly the same moment, and those dummy events, concurrent, widen the
graph again: a storm that never ends (measured: 30 servers at 200 ms
latency sent 33,342 dummy events for 291 messages and had not settled after
a minute). A period only makes it unlikely: more servers than the threshold
merging within one latency of each other start it again
(``tests/models/test_extremities.py`` shows five servers doing so for ever).
The proposal has no such event, so the default is ``off``.

Config: ``threshold`` (merge above this many extremities; default 10,
Synapse's) and ``period_ms`` (default 300,000, Synapse's five minutes). The
part is used by a scenario giving it a table (``extremities = {}``, with
``federation``).
"""

from __future__ import annotations

from typing import Any

from mxsim.models import room as R
from mxsim.sim.model import Switch, View, sometimes
from mxsim.sim.node import Context
from mxsim.sim.parts import Part, check_count, check_positive

__all__ = ["Extremities", "DUMMY", "THRESHOLD", "PERIOD_MS", "MERGE_EXTREMITIES", "width"]

#: Synapse's threshold: a room with more forward extremities than this is merged.
THRESHOLD = 10
#: Synapse's period between looks for rooms to merge (ms).
PERIOD_MS = 300_000

#: The type of the event that merges them (an event with no meaning of its own).
DUMMY = "org.matrix.dummy_event"

MERGE_EXTREMITIES = Switch(
    "merge_extremities",
    "off",
    'Message Events Ordering Notes: "Home servers may receive message events over '
    "federation that happened a long time ago\", so the room's graph forks into many "
    "forward extremities. "
    '"off": only a server\'s own next event joins them (the proposal); "dummy": once '
    "there are more than the threshold (10, Synapse's), the server sends a dummy event "
    "built on all of them (today's homeservers).",
    ("off", "dummy"),
)


def width(store: dict[str, Any]) -> int:
    """The width of a room's graph: how many forward extremities it has."""
    return len(store["extremities"])


class Extremities(Part):
    """State: ``armed`` (the merge timer is set) and ``seen``, flags (``merged``:
    this server sent a dummy event)."""

    name = "extremities"
    section = "Message Events Ordering Notes; Federation (forward extremities)"
    switches = (MERGE_EXTREMITIES,)
    needs = ("federation",)
    keys = {
        "threshold": "an integer >= 1 (merge above this many forward extremities)",
        "period_ms": "a positive number (ms from passing the threshold to merging)",
    }

    @classmethod
    def check_config(cls, config, node_config, node_names) -> None:
        super().check_config(config, node_config, node_names)
        check_count(config, "threshold", THRESHOLD)
        check_positive(config, "period_ms", PERIOD_MS)

    def bind(self) -> None:
        self.rooms = self.node.part("rooms")
        self.threshold = self.config.get("threshold", THRESHOLD)
        self.period = self.config.get("period_ms", PERIOD_MS)

    def initial(self) -> dict[str, Any]:
        return {"armed": False, "seen": {}}

    def after(self, ctx: Context, state: dict) -> None:
        mine = self.of(state)
        if mine["armed"] or self.node.switches["merge_extremities"] != "dummy":
            return
        if any(width(st) > self.threshold for st in self.rooms.stores(state).values()):
            ctx.set_timer(self.timer("merge"), self.period)
            mine["armed"] = True

    def on_timer(self, ctx: Context, state: dict, name: str) -> None:
        self.of(state)["armed"] = False
        for room_id, store in sorted(self.rooms.stores(state).items()):
            if width(store) > self.threshold:
                self.merge(ctx, state, store, room_id)

    def merge(self, ctx: Context, state: dict, store: dict, room_id: str) -> None:
        """Send a dummy event built on every forward extremity, as a user of this server."""
        here = [u for u in R.members(store) if u.split(":", 1)[1] == self.node.name]
        if not here:
            return  # no user of this server may send in the room
        rooms = self.rooms
        ev = rooms.new_event(state, store, room_id, DUMMY, here[0], {})
        reason, changed = rooms.accept(store, ev)
        if reason is not None or ev["event_id"] in store["soft_failed"]:
            return
        rooms.federate(ctx, state, store, ev)
        rooms.accepted(ctx, state, store, ev, changed)
        self.of(state)["seen"]["merged"] = True
        ctx.metric("extremities.dummy")


@sometimes("extremities_merged")
def extremities_merged(view: View) -> bool:
    """A server merged its room's forward extremities with a dummy event (it had
    more than the threshold: many servers sent at once, none built on the others)."""
    return any(
        view.state(s).get("extremities", {}).get("seen", {}).get("merged")
        for s in view.nodes
        if view.kind(s) == "homeserver"
    )


Extremities.properties = (extremities_merged,)
