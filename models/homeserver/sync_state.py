"""A delta's timeline and its state block (proposal: "Event Stream API", "State
Events Ordering Notes"; "Global /initialSync API" with a streaming token).

Today's ``/sync`` hands a device each room's *timeline*, every event the
server accepted since the device's position in the order it accepted them,
state events included, whether or not state resolution kept them. With this
part a long-polling device's answers take that shape: the timeline carries
every accepted state event as it came (instead of the ordering notes'
current-state entries), and the switch ``sync_state`` says what room state
goes with it:

- ``"state_after"`` (what MSC4222 added to Matrix): the answer carries
  ``state_after``, each room's state at the end of the timeline; the device
  takes its room state from it and reads the timeline's state events as
  history only;
- ``"state_before"`` (``/sync`` before MSC4222): the state block is the
  state at the start of the timeline, which the device holds already, so it
  is empty; the device applies the timeline's state events in order. A state
  event that arrived superseded ("Home servers may receive state events over
  federation that are superceded by state events previously sent to the
  client") is then applied last, "erroneously clobbering the superceding
  state event".

State: ``given`` (device -> room -> key -> the event the device holds for it,
as this server reckons it) and ``seen``: ``superseded_in_delta`` (an answer's
timeline left a key at a value its state after it supersedes); the stream
part's ``clobber`` flag is raised when a device is handed, to apply, a value
superseded by one it holds.
"""

from __future__ import annotations

from typing import Any

from mxsim.models import room as R
from mxsim.sim.model import Switch, View, sometimes
from mxsim.sim.parts import Part

__all__ = ["SyncState", "SYNC_STATE", "superseded_in_delta"]

SYNC_STATE = Switch(
    "sync_state",
    "state_after",
    "Event Stream API, State Events Ordering Notes: a superseded state event sent to a client "
    'would end up "erroneously clobbering the superceding state event". With a timeline of '
    'every accepted event, "state_after": the delta carries the room state at its end '
    '(MSC4222\'s state_after) and the device keeps it; "state_before": the state at its '
    "start, and the device applies the timeline's state events over it (/sync before MSC4222).",
    choices=("state_after", "state_before"),
)


def _state_entry(entry: dict) -> bool:
    return "state_key" in entry["event"] and "event_id" in entry["event"]


class SyncState(Part):
    """Config: none. Used by the stream part: :meth:`timeline` for each accepted
    state event, :meth:`answer` for each long-poll answer."""

    name = "sync_state"
    section = "Event Stream API: State Events Ordering Notes (a delta's timeline and state)"
    switches = (SYNC_STATE,)

    def initial(self) -> dict[str, Any]:
        return {"given": {}, "seen": {"superseded_in_delta": False}}

    def takes(self, dev: dict) -> bool:
        """Does this device read deltas of this shape (a long-polling device)?"""
        return "poll" in dev

    def answer(self, state: dict, device: str, entries: list[dict]) -> dict[str, Any]:
        """The fields the answer carries besides its entries (``state_after``, or none)."""
        mine = self.of(state)
        stores = self.node.part("rooms").stores(state)
        after = self.node.switches["sync_state"] == "state_after"
        given = {} if after else mine["given"].setdefault(device, {})
        rooms = sorted({e["room"] for e in entries if e["room"] in stores})
        last: dict[str, dict[str, str]] = {}
        for entry in entries:
            if not _state_entry(entry) or entry["room"] not in stores:
                continue
            room, ev = entry["room"], entry["event"]
            key, current = R.key_of(ev), stores[room]["current"]
            last.setdefault(room, {})[key] = ev["event_id"]
            held = given.setdefault(room, {})
            if after:
                continue
            if held.get(key) == current.get(key) and ev["event_id"] != current.get(key):
                self.node.part("stream").saw(state, "clobber")  # applied over the newer one
            held[key] = ev["event_id"]
        for room in sorted(last):
            current = stores[room]["current"]
            if any(current.get(k) != eid for k, eid in last[room].items()):
                mine["seen"]["superseded_in_delta"] = True
        if not after:
            return {}
        block = {}
        for room in rooms:
            store = stores[room]
            block[room] = [store["events"][eid] for _, eid in sorted(store["current"].items())]
        return {"state_after": block}


@sometimes("superseded_in_delta")
def superseded_in_delta(view: View) -> bool:
    """A delta's timeline left a state key at an event that the room's state after
    the delta supersedes (a state event arrived superseded and went in the timeline)."""
    return any(
        view.state(s).get("sync_state", {}).get("seen", {}).get("superseded_in_delta")
        for s in view.nodes
        if view.kind(s) == "homeserver"
    )


SyncState.properties = (superseded_in_delta,)
