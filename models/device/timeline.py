"""A device's timeline (proposal: "Message Events Ordering Notes", "Rejected events").

Messages join the timeline in stream order; an out-of-order message (for a
device that opted in with ``out_of_order``) goes after the event it names; a
local ``m.room.redaction`` hides an event, and so does a user's (proposal,
"Event Stream API": "Deleted message events are ``m.room.redaction``
events") or the stripped copy of a redacted event (``redacted_because``). On
a device with the ``redactions`` part, an event handed whole after the device
showed it redacted sets ``unredacted`` (present only then). A device that
persists scrollback holds each event once, by ID, and counts an event handed
to it twice; it takes a stripped copy in a scrollback page as redacted
(unless ``history_redactions = "ignore"``).
"""

from __future__ import annotations

from typing import Any

from mxsim.models.homeserver.redactions_history import applies
from mxsim.sim.parts import Part, check_bool

__all__ = ["Timeline"]


class Timeline(Part):
    """Config: ``out_of_order`` (bool). State: ``timeline`` (room -> event IDs in
    display order), ``redacted``, ``duplicates``."""

    name = "timeline"
    section = "Message Events Ordering Notes"
    required = True
    keys = {"out_of_order": "a boolean"}

    @classmethod
    def check_config(cls, config, node_config, node_names) -> None:
        super().check_config(config, node_config, node_names)
        check_bool(config, "out_of_order")

    def initial(self) -> dict[str, Any]:
        return {"timeline": {}, "redacted": [], "duplicates": 0}

    def bind(self) -> None:
        scrollback = self.node.part("scrollback")
        self._persists = scrollback is not None and scrollback.persists()
        self.redactions = self.node.part("redactions")

    def persists(self) -> bool:
        return self._persists

    def apply(self, state: dict, entry: dict) -> None:
        mine = self.of(state)
        room, ev = entry["room"], entry["event"]
        if ev["type"] == "m.room.redaction":
            if entry.get("local"):
                mine["redacted"].append(ev["redacts"])
            elif ev.get("redacts") not in mine["redacted"]:
                mine["redacted"].append(ev["redacts"])  # a user's, before or after its target
            return
        timeline = mine["timeline"].setdefault(room, [])
        if ev.get("redacted_because") and ev["event_id"] not in mine["redacted"]:
            mine["redacted"].append(ev["event_id"])  # handed stripped
        elif self.redactions is not None:
            if ev["event_id"] in mine["redacted"] and ev.get("content"):
                mine["unredacted"] = True  # its content again, after the redaction
            self.redactions.shown(state, ev)
        if self.persists() and ev["event_id"] in timeline:
            mine["duplicates"] += 1
            return
        after = entry.get("after")
        if after is not None and after in timeline:
            timeline.insert(timeline.index(after) + 1, ev["event_id"])
        else:
            timeline.append(ev["event_id"])

    def prepend(self, state: dict, room: str, chunk: list) -> int:
        """Keep a scrollback page (newest first) at the start of the timeline;
        returns how many messages it added."""
        mine = self.of(state)
        timeline = mine["timeline"].setdefault(room, [])
        held = set(timeline)
        older = []
        for ev in reversed(chunk):
            if "state_key" in ev:
                continue
            if ev.get("redacted_because") and ev["event_id"] not in mine["redacted"]:
                if applies(self.node.switches):
                    mine["redacted"].append(ev["event_id"])  # handed stripped
            elif self.redactions is not None and ev.get("content"):
                self.redactions.shown(state, ev)
            if ev["event_id"] in held:
                mine["duplicates"] += 1
                continue
            older.append(ev["event_id"])
        timeline[:0] = older
        return len(older)
