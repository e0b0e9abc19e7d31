"""Explainers of the room, stream, bundle and receipt properties (``models/matrix.py``,
``models/properties_relations.py``, ``models/properties_receipts.py``)."""

from __future__ import annotations

from typing import Any

from mxsim.models import room as R
from mxsim.models.explain import Moment, devices, explains, sent, servers
from mxsim.models.properties_rejected import same_room_state
from mxsim.models.state_key_types import declaration_breach
from mxsim.models.wire_brief import event_brief
from mxsim.sim.model import View

_SEP = "\x1f"  # between an event type and its state key in a room's state


def _key(key: str) -> str:
    kind, _, state_key = key.partition(_SEP)
    return f"{kind}[{state_key or chr(34) * 2}]"


def _event(view: View, eid: Any) -> str:
    """An event ID with what it says, as the first server holding it has it."""
    for s in servers(view):
        for store in view.state(s)["rooms"]["stores"].values():
            ev = store["events"].get(eid)
            if ev is not None:
                return event_brief(ev)
    return str(eid)


@explains("no_clobbering")
def no_clobbering(at: Moment) -> str | None:
    if at.before is None or at.step is None:
        return None
    server = str(at.step.get("node"))
    before = at.before.state(server)["stream"]["devices"]
    for dst, msg in sent(at.step):
        for entry in msg.get("events") or [] if msg.get("type") == "stream" else []:
            ev, room = entry.get("event") or {}, entry.get("room")
            if ev.get("state_key") is None:
                continue
            key = f"{ev['type']}{_SEP}{ev['state_key']}"
            held = before.get(dst, {}).get("sent", {}).get(room, {}).get(key)
            current = at.after.state(server)["rooms"]["stores"][room]["current"].get(key)
            if held is not None and held == current and ev["event_id"] != current:
                return (
                    f"{server} sent {dst} {event_brief(ev)}, superseded by"
                    f" {_event(at.after, current)} which {dst} already holds"
                )
    return None


@explains("state_consistency")
def state_consistency(at: Moment) -> str | None:
    view = at.after
    rooms = sorted({r for s in servers(view) for r in view.state(s)["rooms"]["stores"]})
    for room in rooms:
        held = {}
        for s in servers(view):
            store = view.state(s)["rooms"]["stores"].get(room)
            if store is not None and any(
                R.membership(store, info["user"]) == "join"
                for info in view.state(s)["stream"]["devices"].values()
            ):
                held[s] = store["current"]
        names = sorted(held)
        for a in names:
            for b in names:
                if a >= b:
                    continue
                for key in sorted(set(held[a]) | set(held[b])):
                    if held[a].get(key) != held[b].get(key):
                        return (
                            f"{a} and {b} disagree on {_key(key)} of {room}: "
                            f"{_event(view, held[a].get(key))} against "
                            f"{_event(view, held[b].get(key))}"
                        )
    for d in devices(view):
        server = view.config(d)["server"]
        mine = view.state(d)["stream"]["view"]
        for room, store in sorted(view.state(server)["rooms"]["stores"].items()):
            for key in sorted(set(store["current"]) | set(mine.get(room, {}))):
                want, has = store["current"].get(key), mine.get(room, {}).get(key)
                if room in mine and not _same(store, key, has):
                    return (
                        f"{d} shows {_event(view, has)} as {_key(key)} of {room};"
                        f" its server {server} holds {_event(view, want)}"
                    )
    return None


def _same(store: dict, key: str, has: str | None) -> bool:
    """Does the device's ``has`` for ``key`` hold what the server's current state does?"""
    want = store["current"].get(key)
    one = {**store, "current": {key: want} if want is not None else {}}
    return same_room_state({key: has} if has is not None else {}, one)


@explains("timelines_agree")
def timelines_agree(at: Moment) -> str | None:
    view = at.after
    shown: dict[str, tuple[str, set]] = {}
    for d in devices(view):
        server = view.config(d)["server"]
        info = view.state(server)["stream"]["devices"].get(d)
        if info is None or not info["ooo"]:
            continue
        tl = view.state(d)["timeline"]
        for room, store in sorted(view.state(server)["rooms"]["stores"].items()):
            if R.membership(store, info["user"]) != "join":
                continue
            visible = set(tl["timeline"].get(room, [])) - set(tl["redacted"])
            if room not in shown:
                shown[room] = (d, visible)
                continue
            other, theirs = shown[room]
            if theirs != visible:
                extra = sorted(visible - theirs)
                if extra:
                    return f"{d} shows {_event(view, extra[0])} in {room}; {other} does not"
                missing = sorted(theirs - visible)
                return f"{other} shows {_event(view, missing[0])} in {room}; {d} does not"
    return None


@explains("bans_stick")
def bans_stick(at: Moment) -> str | None:
    view = at.after
    for s in servers(view):
        for room, store in sorted(view.state(s)["rooms"]["stores"].items()):
            for eid, ev in sorted(store["events"].items()):
                if ev["type"] != "m.room.member" or eid in store["rejected"]:
                    continue
                if ev.get("content", {}).get("membership") != "ban":
                    continue
                user = ev["state_key"]
                for other in servers(view):
                    theirs = view.state(other)["rooms"]["stores"].get(room)
                    if theirs is None or not theirs["current"]:
                        continue
                    now = R.membership(theirs, user)
                    if now != "ban":
                        return (
                            f"{s} accepted the ban of {user} ({eid}), but in {other}'s"
                            f" state of {room} {user} is '{now}'"
                        )
    return None


def _delivered(at: Moment) -> tuple[str, list[dict]]:
    """The device a step delivered to, and the stream entries it delivered."""
    step = at.step or {}
    msg = step.get("msg") if isinstance(step.get("msg"), dict) else {}
    entries = msg.get("events") if msg.get("type") in ("stream", "joined") else []
    return str(step.get("node")), [e for e in entries or [] if isinstance(e, dict)]


@explains("no_unknown_rooms")
def no_unknown_rooms(at: Moment) -> str | None:
    device, entries = _delivered(at)
    for entry in entries:
        ev = entry.get("event") or {}
        if ev.get("type") != "m.server.joined" and "event_id" in ev:
            return (
                f"{device} was streamed {event_brief(ev)} of {entry.get('room')}"
                " before it knew the room (its join answer had not come)"
            )
    return None


@explains("bundles_whole")
def bundles_whole(at: Moment) -> str | None:
    view = at.after
    for d in devices(view):
        alone = view.state(d).get("bundles", {}).get("alone") or []
        if alone:
            child = _event(view, alone[0])
            return f"{d} shows {child} without the message it edits"
    return None


@explains("local_receipts_stay_local")
def local_receipts_stay_local(at: Moment) -> str | None:
    device, entries = _delivered(at)
    user = at.after.config(device).get("user")
    for entry in entries:
        ev = entry.get("event") or {}
        if ev.get("local") and ev.get("sender") != user:
            return (
                f"{device} ({user}) was streamed {ev.get('sender')}'s local receipt of"
                f" {ev.get('updates')}: local receipts are for the reader's own devices"
            )
    return None


@explains("late_events_hidden")
def late_events_hidden(at: Moment) -> str | None:
    view = at.after
    for d in devices(view):
        server = view.config(d)["server"]
        late = view.state(server).get("federation", {}).get("late") or []
        for room, eids in sorted(view.state(d)["timeline"]["timeline"].items()):
            for eid in eids:
                if eid in late:
                    ev = _room_events(view, server, room).get(eid, {})
                    return (
                        f"{d} is shown {eid} from {ev.get('sender', '?')}, which {server}'s room"
                        " refused when it arrived (its sender no longer allowed)"
                    )
    return None


def _room_events(view: View, server: str, room: str) -> dict[str, Any]:
    store = view.state(server)["rooms"]["stores"].get(room)
    return store["events"] if store is not None else {}


@explains("type_restrictions_respected")
def type_restrictions_respected(at: Moment) -> str | None:
    for s in servers(at.after):
        for store in at.after.state(s)["rooms"]["stores"].values():
            for eid in sorted(store["events"]):
                breach = declaration_breach(store["events"][eid])
                if eid not in store["rejected"] and breach is not None:
                    return f"{s} accepted {eid} although its {breach}"
    return None
