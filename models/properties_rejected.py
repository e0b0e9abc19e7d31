"""Rejected state events in the matrix model (proposal: "Event Stream API",
"Rejected events": "If the event was a state event, it will synthesise a new
state event to correct the client's room state").

A device's room state (its ``view``: key -> event ID) equals its server's
when each key names the event the server's current state names, or a local
event the server synthesised to correct it whose content is what the current
state holds there (no content: the key is gone).

Finding (README, "The matrix model"):

- ``mxsim check rejected-state --set rejected_state_events=false``: a device
  keeps a topic its server no longer has (``state_consistency``, 17 steps).
"""

from __future__ import annotations

from typing import Any

from mxsim.models.homeserver.rejected import REJECTED_STATE_EVENTS
from mxsim.sim.model import View, sometimes

__all__ = ["SWITCHES", "PROPERTIES", "same_room_state"]

SWITCHES = (REJECTED_STATE_EVENTS,)


def same_room_state(held: dict[str, str], store: dict[str, Any]) -> bool:
    """Does a device's room state ``held`` equal the room's current state in ``store``?

    >>> store = {"current": {"t": "$a"}, "events": {"$a": {"content": {"topic": "x"}}}}
    >>> same_room_state({"t": "$a"}, store), same_room_state({"t": "$b"}, store)
    (True, False)
    >>> store["synthesised"] = {"~hs.state.$b": {"content": {"topic": "x"}}}
    >>> same_room_state({"t": "~hs.state.$b"}, store)
    True
    """
    current, synthesised = store["current"], store.get("synthesised", {})
    for key in set(held) | set(current):
        have, want = held.get(key), current.get(key)
        if have in synthesised:
            now = store["events"][want].get("content") if want is not None else None
            if synthesised[have].get("content") != now:
                return False
        elif have != want:
            return False
    return True


@sometimes("late_state_rejection")
def late_state_rejection(view: View) -> bool:
    """A server learned it should not have accepted a state event it had sent a device."""
    return any(
        view.state(s)["stream"]["seen"].get("late_state_rejection")
        for s in view.nodes
        if view.kind(s) == "homeserver"
    )


PROPERTIES = (late_state_rejection,)
