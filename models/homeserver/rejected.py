"""Rejected events (proposal: "Event Stream API", "Rejected events").

A ban, kick or power change that arrives late can make recent events
concurrent with it unacceptable. With ``rejected_events`` the server hides
them and sends each device that was shown one a local ``m.room.redaction``
("the home server will send a m.room.redaction for the event in question");
it is not federated. A rejected *state* event is also corrected ("it will
synthesise a new state event to correct the client's room state"): see
:func:`late_state_rejections`; the synthesised events a server made are kept
in the room store's ``synthesised`` (only once there is one), for judging.
"""

from __future__ import annotations

from typing import Any

from mxsim.models import room as R
from mxsim.models.events import is_state
from mxsim.sim.model import Switch

__all__ = [
    "REJECTED_EVENTS",
    "REJECTED_STATE_EVENTS",
    "is_power_event",
    "late_rejections",
    "late_state_rejections",
]

POWER_TYPES = ("m.room.power_levels", "m.room.join_rules")

REJECTED_STATE_EVENTS = Switch(
    "rejected_state_events",
    True,
    'Event Stream API, Rejected events: "If the event was a state event, it will '
    "synthesise a new state event to correct the client's room state.\".",
)

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
    late_state_rejections(stream, state, store, ev)
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
                stream.push(state, device, ev["room_id"], _redaction(server, ev, eid), local=True)


def late_state_rejections(stream: Any, state: dict, store: dict, ev: dict) -> None:
    """The state events a device was sent that power event ``ev`` took out of the
    room's state (they fail against it; ``ev`` was not built on them).

    With ``rejected_state_events`` each such device is sent a local
    ``m.room.redaction`` and a synthesised state event that holds what the
    room's state now holds for that key (no ``content``: the key is gone).
    Without it, the stream sends only what the current state holds wherever
    it changed, which leaves a key the room no longer has on the device.
    """
    room_id, server = ev["room_id"], stream.node.name
    current, events = store["current"], store["events"]
    devices = stream.devices(state)
    stale = []  # [device, key, event ID]
    for device in sorted(devices):
        dev = devices[device]
        if R.membership(store, dev["user"]) != "join":
            continue
        for key, eid in sorted(dev["sent"].get(room_id, {}).items()):
            if eid != current.get(key) and eid in events and eid != ev["event_id"]:
                stale.append([device, key, eid])
    if not stale:
        return
    older = R.ancestors(store, ev["event_id"], min(events[e]["depth"] for _, _, e in stale))
    for device, key, eid in stale:
        victim = events[eid]
        if eid in older or R.passes_current(store, victim):
            continue  # superseded by a later event, not rejected
        stream.saw(state, "late_state_rejection")
        if not stream.node.switches["rejected_state_events"]:
            continue  # the device keeps the state the room no longer has
        stream.push(state, device, room_id, _redaction(server, ev, eid), local=True)
        now = current.get(key)
        synthesised = {
            "type": victim["type"],
            "state_key": victim["state_key"],
            "sender": server,
            "room_id": room_id,
            "event_id": f"~{server}.state.{eid}",
        }
        if now is not None and "content" in events[now]:
            synthesised["content"] = events[now]["content"]
        store.setdefault("synthesised", {})[synthesised["event_id"]] = synthesised
        sent = devices[device]["sent"][room_id]
        if now is None:
            del sent[key]
        else:
            sent[key] = now  # what the device holds now, so it is not sent again
        stream.push(state, device, room_id, synthesised, local=True)


def _redaction(server: str, ev: dict, eid: str) -> dict:
    """The local ``m.room.redaction`` of ``eid`` (not federated)."""
    return {
        "type": "m.room.redaction",
        "redacts": eid,
        "sender": server,
        "room_id": ev["room_id"],
        "event_id": f"~{server}.redacts.{eid}",
    }
