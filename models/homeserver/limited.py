"""Limited deltas: more happened than one stream response holds (proposal:
"Global /initialSync API", "Event Stream API", "Scrolling back").

"Outputs: ... max of limit= message events": a response gives a room's last
``limit`` messages. When more messages arrived past a long-polling device's
position than that, the answer holds the last ``limit`` of them and, for
that room, a token to scroll back through the rest from ("Scrolling back":
"Identifier for the earliest event"); today's Matrix calls this a
``limited`` timeline with a ``prev_batch`` token. The messages left out
are the *gap*; a device that does not follow the token never shows them
(the historical ``/sync`` timeline-gap failure; see
:mod:`mxsim.models.device.gaps`).

Config: ``limit`` (messages per room in one answer; default 1). State:
``seen`` (``limited``: some answer was limited; a flag, so it multiplies no
states).

>>> trim([{"room": "!r", "event": {"event_id": "$1"}},
...       {"room": "!r", "event": {"event_id": "$2"}},
...       {"room": "!r", "event": {"event_id": "$s", "state_key": ""}}], 1)
([{'room': '!r', 'event': {'event_id': '$2'}}, {'room': '!r', 'event': {'event_id': '$s', \
'state_key': ''}}], {'!r': '$2'})
"""

from __future__ import annotations

from typing import Any

from mxsim.sim.model import View, sometimes
from mxsim.sim.parts import Part, check_count

__all__ = ["Limited", "trim", "limited_delta_sent"]

#: Default of ``limit``.
LIMIT = 1


def _message(entry: dict) -> bool:
    """Is this stream entry a room message (not state, a marker or a local fix)?"""
    ev = entry["event"]
    return "event_id" in ev and "state_key" not in ev and not entry.get("local")


def trim(entries: list[dict], limit: int) -> tuple[list[dict], dict[str, str]]:
    """Keep each room's last ``limit`` messages (state and markers all kept);
    returns the entries kept and, per limited room, its oldest message kept."""
    counts: dict[str, int] = {}
    for entry in entries:
        if _message(entry):
            counts[entry["room"]] = counts.get(entry["room"], 0) + 1
    kept, oldest, seen = [], {}, dict.fromkeys(counts, 0)
    for entry in entries:
        room = entry["room"]
        if _message(entry):
            seen[room] += 1
            if seen[room] <= counts[room] - limit:
                continue  # in the gap
            if counts[room] > limit:
                oldest.setdefault(room, entry["event"]["event_id"])
        kept.append(entry)
    return kept, oldest


class Limited(Part):
    """Config: ``limit``. Used by the stream part for each long-poll answer."""

    name = "limited"
    section = "Global /initialSync API (limit=); Event Stream API; Scrolling back"
    keys = {"limit": "an integer of at least 1: messages per room in one answer"}

    @classmethod
    def check_config(cls, config, node_config, node_names) -> None:
        super().check_config(config, node_config, node_names)
        check_count(config, "limit", LIMIT)

    def initial(self) -> dict[str, Any]:
        return {"seen": {"limited": False}}

    def answer(self, state: dict, entries: list[dict]) -> tuple[list[dict], dict | None]:
        """The entries of one answer within the limit, and per limited room the
        token to scroll back through the gap from (None: nothing was left out).

        The token is the frontier just below the oldest message kept: its
        prev events, so a scrollback from it yields the gap, newest first."""
        kept, oldest = trim(entries, self.config.get("limit", LIMIT))
        if not oldest:
            return entries, None
        self.of(state)["seen"]["limited"] = True
        stores = self.node.part("rooms").stores(state)
        tokens = {}
        for room, eid in sorted(oldest.items()):
            events = stores[room]["events"]
            prevs = sorted(events[eid]["prev_events"])
            tokens[room] = [[events[p]["depth"], p] for p in prevs]
        return kept, tokens


@sometimes("limited_delta_sent")
def limited_delta_sent(view: View) -> bool:
    """A server answered a device's poll with a limited delta: more messages had
    arrived past its position than one answer holds, and it got a gap token."""
    return any(
        view.state(s).get("limited", {}).get("seen", {}).get("limited")
        for s in view.nodes
        if view.kind(s) == "homeserver"
    )


Limited.properties = (limited_delta_sent,)
