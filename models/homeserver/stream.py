"""The event stream to devices (proposal: "Event Stream API").

Each device reads its own stream, with positions. What changed in a room is
queued per device while a step runs and sent as one stream response at its
end ("0-N events the client hasn't seen"). With its ordering notes:

- "State Events Ordering Notes": with ``omit_superseded_state`` a device is
  never sent a state event its server already superseded; it is sent what
  the current state holds wherever it changed and differs from what it has;
- "Message Events Ordering Notes": a message older than one the device was
  shown reaches a device that opted in (``out_of_order``) with the event it
  comes after;
- "Rejected events": see :mod:`mxsim.models.homeserver.rejected`.

A device new to a room gets a server-generated ``m.server.joined`` event
("Mapping messages to the event stream"), then the room's state and recent
messages.
"""

from __future__ import annotations

from typing import Any

from mxsim.models import room as R
from mxsim.models import room_history as H
from mxsim.models.events import is_state
from mxsim.models.homeserver.filters import matches, normalise, project
from mxsim.models.homeserver.join_outputs import outputs
from mxsim.models.homeserver.rejected import REJECTED_EVENTS, is_power_event, late_rejections
from mxsim.models.homeserver.rooms import type_filter
from mxsim.sim.model import Switch
from mxsim.sim.node import Context
from mxsim.sim.parts import Part

__all__ = ["Stream", "INITIAL_LIMIT", "WALK_BUDGET"]

#: Messages a device gets with a room it is new to.
INITIAL_LIMIT = 10

#: Events one page of history may walk (a page answers with fewer events and
#: a token for more rather than walk a long run of state events).
WALK_BUDGET = 256

OMIT_SUPERSEDED_STATE = Switch(
    "omit_superseded_state",
    True,
    'Event Stream API, State Events Ordering Notes: "the home server reserves the right '
    'to omit sending state events which are known to be superceded already".',
)


class Stream(Part):
    """Devices (``devices``: node -> user, out-of-order opt-in, what it was sent
    and shown, its stream position) and ``seen``, which of the stream's races
    happened (flags, not counters, so they multiply no states)."""

    name = "stream"
    section = "Event Stream API"
    required = True
    handles = ("register", "events")
    switches = (OMIT_SUPERSEDED_STATE, REJECTED_EVENTS)

    def bind(self) -> None:
        self.rooms = self.node.part("rooms")

    def initial(self) -> dict[str, Any]:
        return {
            "devices": {},  # node -> {"user", "ooo", "sent": {room: {key: eid}},
            #                  "depth": {room: int}, "shown": {room: [eid]}, "pos"}
            "seen": {
                "clobber": False,
                "superseded": False,
                "ooo_shown": False,
                "late_rejection": False,
            },
        }

    def devices(self, state: dict) -> dict[str, Any]:
        return self.of(state)["devices"]

    def saw(self, state: dict, name: str) -> None:
        self.of(state)["seen"][name] = True

    def on_register(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        self.register(
            state, src, msg["user"], msg["out_of_order"], msg.get("limit"), msg.get("state_types")
        )

    def register(
        self, state, device, user, ooo, limit=None, types=None, flt=None, start=None
    ) -> None:
        """A device makes itself known: its requests name its user, as an access
        token would. ``limit``: the messages per room its initial sync holds
        (default ``INITIAL_LIMIT``; proposal, "Global /initialSync API");
        ``types``: the state event types it holds ("Which state event types to
        return"; default all); ``flt``: the (normalised) definition of its filter;
        ``start``: the filter of its initial sync's room starts (default ``flt``)."""
        devices = self.devices(state)
        if device in devices:
            if flt is not None:
                devices[device]["filter"] = flt
            return
        devices[device] = {
            "user": user,
            "ooo": bool(ooo),
            "sent": {},
            "depth": {},
            "shown": {},
            "pos": 0,
        }
        if start is None or start == flt:
            start = flt
        if start is not None:
            devices[device]["filter"] = start  # the rooms' starts are under it ...
        # A minimal initial sync: the rooms the user is in, as they are now.
        stores = self.rooms.stores(state)
        if start is not None:
            limit = start["limit"]
        window = {} if limit is None else {"limit": limit}
        if types is not None:
            window["types"] = types
        for room_id in sorted(stores):
            if R.membership(stores[room_id], user) == "join":
                self.snapshot(state, stores[room_id], device, room_id, flt=window or None)
        if flt is not None:
            devices[device]["filter"] = flt  # ... and the stream after them

    def on_events(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        """A long-polling device asks for what follows position ``from``
        (proposal, "Event Stream API": the request waits until there are
        events). What the server sent past ``from`` did not arrive, so it is
        owed again; the entries up to ``from`` are acknowledged and dropped."""
        devices = self.devices(state)
        if src not in devices:
            self.register(state, src, msg["user"], msg["out_of_order"])
            # The rooms as they are now come with the first news, not alone.
            snapshot = self.of(state).get("outbox", {}).pop(src, [])
            devices[src]["poll"] = {"parked": False, "queue": snapshot, "acked": 0, "sent": 0}
            # Held only while it holds nothing the room was not made with.
            made_with = all(_genesis(e["event"]) for e in snapshot)
            devices[src]["poll"]["hold"] = len(snapshot) if made_with else 0
        poll = devices[src].setdefault(
            "poll", {"parked": False, "queue": [], "acked": 0, "sent": 0, "hold": 0}
        )
        for request in msg.get("send", []):
            self.node.deliver(ctx, state, src, request)
        have = msg["from"]
        if have > poll["acked"]:
            del poll["queue"][: have - poll["acked"]]
            poll["acked"] = have
        poll["sent"] = max(have, poll["acked"])  # what was sent past it is owed
        poll["parked"] = True

    # -- what changed -----------------------------------------------------------------

    def accepted(self, ctx: Context, state: dict, store: dict, ev: dict, changed: list) -> None:
        """An event was accepted (not soft-failed): stream it, re-examine what was shown."""
        if is_state(ev) and store["current"].get(R.key_of(ev)) != ev["event_id"]:
            self.saw(state, "superseded")
        if is_power_event(ev):
            late_rejections(self, state, store, ev)
        for device in sorted(self.devices(state)):
            self.stream_to(state, store, device, ev, changed)

    def stream_to(self, state, store, device, ev, changed) -> None:
        dev = state["stream"]["devices"][device]
        room_id = ev["room_id"]
        if R.membership(store, dev["user"]) != "join":
            if room_id in dev["shown"] and _own_membership(ev, dev["user"]):
                # The user left (or was kicked or banned): its devices are told
                # so, as the room's last event for them; what they hold is
                # remembered, so a re-join sends only what they missed.
                self.send_state(state, store, device, room_id, R.key_of(ev), ev["event_id"])
                dev.setdefault("left", {})[room_id] = dev["shown"].pop(room_id)
            return
        sent = dev["sent"].setdefault(room_id, {})
        if room_id not in dev["shown"]:
            self.snapshot(state, store, device, room_id, skip=ev["event_id"])
        sync_state = self.node.part("sync_state")
        if sync_state is not None and sync_state.takes(dev):
            if is_state(ev):
                # A timeline of every accepted event, superseded or not; the
                # room's state travels beside it (see ``sync_state``).
                dev["depth"][room_id] = max(dev["depth"].get(room_id, 0), ev["depth"])
                self.push(state, device, room_id, ev)
                return
        elif is_state(ev) or changed:
            if self.node.switches["omit_superseded_state"]:
                # Proposal, "State Events Ordering Notes": never send a state
                # event superseded already; send what the current state now
                # holds wherever it changed and differs from what this device
                # was sent (a merge can change keys other than the event's).
                current = store["current"]
                for key in changed:
                    eid = current.get(key)
                    if eid is not None and sent.get(key) != eid:
                        self.send_state(state, store, device, room_id, key, eid)
            elif is_state(ev):
                self.send_state(state, store, device, room_id, R.key_of(ev), ev["event_id"])
            if is_state(ev):
                return
            # A message that merged forks changed the state; it is shown too.
        bundling = self.node.part("bundling")
        if bundling is not None:
            ev = bundling.live(state, store, device, ev)  # a bundle, a delta or nothing
            if ev is None:
                return
        depth = dev["depth"].get(room_id, 0)
        if ev["depth"] > depth:
            dev["depth"][room_id] = ev["depth"]
            self.push(state, device, room_id, ev)
            dev["shown"][room_id].append(ev["event_id"])
        elif dev["ooo"]:
            # Proposal: the out-of-order event "will indicate which event it comes after".
            after = sorted(ev["prev_events"])[0] if ev["prev_events"] else None
            self.saw(state, "ooo_shown")
            self.push(state, device, room_id, ev, after=after)
            dev["shown"][room_id].append(ev["event_id"])

    def snapshot(self, state, store, device, room_id, skip=None, into=None, flt=None) -> None:
        """Proposal, "Mapping messages to the event stream": a server-generated
        event gives a device that is new to the room its place in the stream
        and the token to scroll back from, followed by the room's current
        state (all but ``skip``, which follows) and its recent messages.

        ``into``: collect the entries there (a join response) instead of
        queueing them for the stream; ``flt``: the join's filter (``types``
        of state events, ``limit`` of messages).
        """
        dev = self.devices(state)[device]
        held = set(dev.get("left", {}).pop(room_id, ()))  # what a re-joining device holds
        if not dev.get("left"):
            dev.pop("left", None)
        dev["shown"][room_id] = []
        flt = flt or {}
        frontier = [[store["events"][e]["depth"], e] for e in store["extremities"]]
        # Proposal, "Global /initialSync API": "max of limit= message events".
        recent, token, _ = H.walk_back(
            store, frontier, flt.get("limit", INITIAL_LIMIT), type_filter(None), budget=WALK_BUDGET
        )
        marker = {"type": "m.server.joined", "room_id": room_id, "token": token}
        summary = self.node.part("initial_sync")
        if summary is not None:
            marker.update(summary.summary(store, token))  # "# members", limited
        self.push(state, device, room_id, marker, into=into)
        types = flt.get("types")
        sent = dev["sent"].get(room_id, {}) if held else {}
        for key, eid in sorted(store["current"].items()):
            if eid != skip and (types is None or R.split_key(key)[0] in types):
                if sent.get(key) != eid:
                    self.send_state(state, store, device, room_id, key, eid, into)
        # A re-joining device is sent only messages newer than those it holds.
        newest = max((store["events"][e]["depth"] for e in held if e in store["events"]), default=0)
        dev["shown"][room_id].extend(e for e in reversed(recent) if e in held)
        window = [store["events"][e] for e in reversed(recent) if e != skip and e not in held]
        window = [ev for ev in window if ev["depth"] > newest]
        bundling = self.node.part("bundling")
        if bundling is not None:
            window = bundling.window(state, store, device, window)
        for ev in window:
            self.push(state, device, room_id, ev, into=into)
            dev["shown"][room_id].append(ev["event_id"])
            dev["depth"][room_id] = max(dev["depth"].get(room_id, 0), ev["depth"])
        receipts = self.node.part("receipts")
        if receipts is not None:
            receipts.snapshot(state, device, room_id, into)

    def join_response(self, state, store, device, ev, flt, positioned=True) -> tuple:
        """Proposal, "Joining a room": "the join response should return events
        *instead of* to the event stream". The response takes a position in the
        device's stream, so the device applies it in order with the stream
        (unless not ``positioned``: then it has none, and the device applies
        it when it comes). Returns the position, the entries and the answer's
        other outputs (:func:`~mxsim.models.homeserver.join_outputs.outputs`)."""
        dev = self.devices(state)[device]
        dev["shown"].pop(ev["room_id"], None)  # a re-join starts afresh
        dev["sent"].pop(ev["room_id"], None)
        entries: list = []
        keys, own = flt.get("keys"), dev.get("filter")
        if keys is not None and self.node.switches.get("keys_scope", "all_apis") == "all_apis":
            # "Which keys to return for events?": the join's filter's, not the stream's
            # (the events pass the stream's filter still; restored below).
            dev["filter"] = {**(own or normalise({})), "keys": sorted(keys)}
        self.snapshot(state, store, device, ev["room_id"], into=entries, flt=flt)
        dev.update(filter=own) if own is not None else dev.pop("filter", None)
        extra = outputs(self.node, state, store, ev, flt.get("limit", INITIAL_LIMIT))
        return (self.next_pos(state, device) if positioned else None), entries, extra

    def send_state(self, state, store, device, room_id, key, eid, into=None) -> None:
        dev = state["stream"]["devices"][device]
        sent = dev["sent"].setdefault(room_id, {})
        current = store["current"].get(key)
        if sent.get(key) == current and current is not None and eid != current:
            # The device holds the current value and would be handed an older one.
            self.saw(state, "clobber")
        sent[key] = eid
        ev = store["events"][eid]
        dev["depth"][room_id] = max(dev["depth"].get(room_id, 0), ev["depth"])
        self.push(state, device, room_id, ev, into=into)

    def push(self, state, device, room_id, ev, after=None, local=False, into=None) -> None:
        """Queue an event for the device; :meth:`after` sends the step's batch.
        An event the device's filter does not pass is not sent, and one it
        passes keeps only the filter's ``keys`` ("Filter API")."""
        flt = state["stream"]["devices"].get(device, {}).get("filter")
        if flt is not None and "event_id" in ev:
            if not matches(flt, ev["type"], room_id):
                return
            ev = project(flt, ev)  # "Which keys to return for events?"
        entry = {"room": room_id, "event": ev}
        maker = state["stream"].get("maker")
        if maker is not None and maker[1] is not None and maker[2] == ev.get("event_id"):
            if self.action_id_for(state, device, maker[0], ev):
                entry["action_id"] = maker[1]
        if after is not None:
            entry["after"] = after
        if local:
            entry["local"] = True
        if into is not None:
            into.append(entry)
            return
        state["stream"].setdefault("outbox", {}).setdefault(device, []).append(entry)

    def action_id_for(self, state: dict, device: str, sender: str, ev: dict) -> bool:
        """Whether ``device``'s stream shows the action ID of ``sender``'s event."""
        if device == sender:
            return True
        if self.node.switches.get("action_id_streams") != "all_devices":
            return False
        return self.devices(state)[device]["user"] == ev.get("sender")

    def after(self, ctx: Context, state: dict) -> None:
        """One stream response per device per step, so a step's events reach a
        device together (the outbox is empty again between steps)."""
        outbox = state["stream"].pop("outbox", None) or {}
        devices = self.devices(state)
        for device in sorted(outbox):
            poll = devices.get(device, {}).get("poll")
            if poll is not None:
                poll["queue"].extend(outbox[device])  # until the device asks
                continue
            pos = self.next_pos(state, device)
            self.send(ctx, state, device, {"type": "stream", "pos": pos, "events": outbox[device]})
        for device in sorted(devices):
            poll = devices[device].get("poll")
            if poll is None:
                continue
            end = poll["acked"] + len(poll["queue"])
            if poll["hold"] and end > poll["hold"]:
                poll["hold"] = 0  # ``end`` never falls: the hold is over for good
            if not poll["parked"]:
                continue
            if end > max(poll["sent"], poll["hold"]):
                # One answer in flight at most: every entry past the device's
                # position, so a lost answer is sent again on its next poll.
                answer = {"type": "stream", "pos": end, "events": list(poll["queue"])}
                limited = self.node.part("limited")
                if limited is not None:
                    # "max of limit= message events": the rest is a gap, with a token.
                    answer["events"], tokens = limited.answer(state, answer["events"])
                    if tokens:
                        answer["limited"] = tokens
                sync_state = self.node.part("sync_state")
                if sync_state is not None:
                    answer.update(sync_state.answer(state, device, answer["events"]))
                ctx.send(device, answer)
                poll["sent"], poll["parked"] = end, False

    def next_pos(self, state: dict, device: str) -> int:
        """The device's next stream position (each device reads its own stream)."""
        dev = self.devices(state)[device]
        dev["pos"] += 1
        return dev["pos"]

    def tell_invite(self, ctx: Context, state: dict, ev: dict) -> None:
        devices = self.devices(state)
        for device in sorted(devices):
            if devices[device]["user"] == ev["state_key"]:
                pos = self.next_pos(state, device)
                self.send(ctx, state, device, {"type": "invited", "pos": pos, "event": ev})

    def send(self, ctx: Context, state: dict, device: str, msg: dict) -> None:
        """Send a positioned response; the ``sync`` part keeps it to give again."""
        sync = self.node.part("sync")
        if sync is not None:
            sync.sent(state, device, msg)
            if sync.closed(state, device, msg["pos"]):
                return  # kept for the device's sync once it has a new session
        ctx.send(device, msg)


def _own_membership(ev: dict, user: str) -> bool:
    """Is ``ev`` ``user``'s own membership event?"""
    return ev["type"] == "m.room.member" and ev.get("state_key") == user


def _genesis(ev: dict) -> bool:
    """Is ``ev`` one the room was made with (or the device's join marker)?"""
    return ev["type"] == "m.server.joined" or ev["event_id"].startswith("$genesis.")
