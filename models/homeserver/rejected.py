"""Rejected events (proposal: "Event Stream API", "Rejected events").

A ban, kick or power change that arrives late can make recent events
concurrent with it unacceptable. With ``rejected_events`` the server hides
them and sends each device that was shown one a local ``m.room.redaction``
("the home server will send a m.room.redaction for the event in question");
it is not federated.
"""

from __future__ import annotations

from typing import Any

from mxsim.models import room as R
from mxsim.models.events import is_state
from mxsim.sim.model import Switch

__all__ = ["REJECTED_EVENTS", "is_power_event", "late_rejections"]

POWER_TYPES = ("m.room.power_levels", "m.room.join_rules")

REJECTED_EVENTS = Switch(
    "rejected_events",
    True,
    'Event Stream API, Rejected events: "the home server will send a m.room.redaction '
    'for the event in question".',
)


def is_power_event(ev: dict[str, Any]) -> bool:
    """Whether ``ev`` can take away what others were allowed to do."""
    if ev["type"] in POWER_TYPES:
        return True
    if ev["type"] == "m.room.member":
        membership = ev.get("content", {}).get("membership")
        return membership in ("ban", "leave") and ev["state_key"] != ev["sender"]
    return False


def late_rejections(stream: Any, state: dict, store: dict, ev: dict) -> None:
    """Re-examine the recent events concurrent with power event ``ev``.

    ``stream`` is the homeserver's stream part, which notes and queues.
    """
    candidates = [e for e in store["recent"] if e not in store["soft_failed"]]
    if not candidates:
        return
    older = R.ancestors(store, ev["event_id"], min(store["events"][e]["depth"] for e in candidates))
    server = stream.node.name
    for eid in candidates:
        victim = store["events"][eid]
        if eid in older or is_state(victim) or R.passes_current(store, victim):
            continue
        stream.saw(state, "late_rejection")
        if not stream.node.switches["rejected_events"]:
            continue  # the devices keep showing it
        store["soft_failed"][eid] = "rejected after it was shown"
        devices = stream.devices(state)
        for device in sorted(devices):
            if eid in devices[device]["shown"].get(ev["room_id"], []):
                redaction = {
                    "type": "m.room.redaction",
                    "redacts": eid,
                    "sender": server,
                    "room_id": ev["room_id"],
                    "event_id": f"~{server}.redacts.{eid}",
                }
                stream.push(state, device, ev["room_id"], redaction, local=True)
