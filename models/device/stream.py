"""A device reading its event stream (proposal: "Event Stream API").

The stream is read in position order, as a client polling from its last
position would; the network may deliver pushes out of it. A state event
replaces the device's view of that key (there is no state resolution on a
client); messages and local redactions go to the timeline part; the
server-generated ``m.server.joined`` event marks the device's place in a room.
"""

from __future__ import annotations

from typing import Any

from mxsim.models import room as R
from mxsim.models.device.stream_complete import stream_complete
from mxsim.models.room import SEP
from mxsim.sim.node import ConfigError, Context
from mxsim.sim.parts import Part, check_bool

__all__ = ["Stream"]


class Stream(Part):
    """State: ``view`` (room -> {type\\x1fstate_key: event ID}), ``invites``,
    ``joined`` (room -> position of its join event), ``last_pos``, ``buffer``
    (position -> what arrived ahead of its turn), ``positions_increase``."""

    name = "stream"
    section = "Event Stream API"
    required = True
    handles = ("stream", "invited", "joined")
    properties = (stream_complete,)
    #: ``open = false``: the device never opens its stream (it sends no ``register``),
    #: as a client that makes requests but does not read the "Event Stream API".
    keys = {"long_poll": "a boolean", "open": "a boolean"}

    @classmethod
    def check_config(cls, config, node_config, node_names) -> None:
        super().check_config(config, node_config, node_names)
        check_bool(config, "open")
        if not isinstance(config.get("long_poll", False), bool):
            raise ConfigError("long_poll", "a boolean", config.get("long_poll"))

    def long_poll(self) -> bool:
        """Does this device read its stream by long polls (``events``) rather than pushes?"""
        return bool(self.config.get("long_poll"))

    def on_start(self, ctx: Context, state: dict) -> None:
        if self.long_poll():
            self.of(state)["ask"] = True

    def ask(self, state: dict) -> None:
        """Poll again (after a loss), from the position this device has."""
        self.of(state)["ask"] = True

    def carry(self, state: dict, request: dict) -> None:
        """Send ``request`` with the next long poll (see :meth:`after`)."""
        self.of(state).setdefault("carry", []).append(request)

    def after(self, ctx: Context, state: dict) -> None:
        """A long-polling device asks again once its answer came, carrying the
        requests its parts made in the step: in HTTP they would be separate
        requests; riding on the poll keeps one message per device in flight."""
        if self.node.has("calls"):
            return  # the calls part polls once it has reacted (it comes later)
        self.poll(ctx, state)

    def poll(self, ctx: Context, state: dict) -> None:
        """Send the poll the step owes, with the requests to carry."""
        mine = self.of(state)
        ask, carry = mine.pop("ask", False), mine.pop("carry", [])
        if ask or carry:
            ooo = self.node.part("requests").out_of_order()
            user, have = self.node.config["user"], mine["last_pos"]
            msg = {"type": "events", "user": user, "out_of_order": ooo, "from": have}
            if carry:
                msg["send"] = carry
            ctx.send(self.node.config["server"], msg)

    def opens(self) -> bool:
        return bool(self.config.get("open", True))

    def bind(self) -> None:
        self.requests = self.node.part("requests")
        self.timeline = self.node.part("timeline")
        self.scrollback = self.node.part("scrollback")

    def initial(self) -> dict[str, Any]:
        return {
            "view": {},
            "invites": [],
            "joined": {},
            "last_pos": 0,
            "buffer": {},
            "positions_increase": True,
        }

    def on_joined(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        # A join answered with the room's events instead of the stream: they
        # hold the stream position the server gave them, or none (switch
        # ``join_returns_events``: applied as they come, outside the stream).
        sessions = self.node.part("sessions")
        if sessions is not None and "rid" in msg:
            sessions.on_answer(ctx, state, src, msg)
        else:
            self.requests.note(state, msg["aid"], msg["ok"], ctx)
        members = self.node.part("members")
        if members is not None:
            members.answered(state, msg)
        # The members the answer lists are the view at its position, after its events.
        listed = {"room": msg["room"], "members": msg["members"]} if "members" in msg else {}
        events = msg["events"]
        filters = self.node.part("filters")
        label = filters.joined(state, msg) if filters is not None else None
        if label is not None:
            # Judged by the join's filter (its keys), not the stream's.
            events = [{**entry, "api": label} for entry in events]
        if msg["pos"] is None:
            for entry in events:
                self.apply(state, entry)
            self.took(state, listed)
            return
        answer = {"type": "stream", "pos": msg["pos"], "events": events, **listed}
        self.on_stream(ctx, state, src, answer)

    def took(self, state: dict, batch: dict) -> None:
        """A batch was applied: a join answer's members, or a stream response."""
        members = self.node.part("members")
        if members is not None and "members" in batch:
            members.took(state, batch["room"], batch["members"])
        elif members is not None:
            members.batch_done(state)

    def on_invited(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        self.on_stream(ctx, state, src, msg)

    def on_stream(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        mine = self.of(state)
        if msg["pos"] <= mine["last_pos"] or str(msg["pos"]) in mine["buffer"]:
            sync = self.node.part("sync")
            if sync is None or not sync.given_again(state, msg["pos"]):
                mine["positions_increase"] = False  # a position seen twice
            return
        if self.long_poll() and msg["type"] == "stream":
            # An answer holds every entry past the position the poll named, so
            # it may repeat some this device already has (a lost answer's).
            start = msg["pos"] - len(msg["events"])
            mine["ask"] = True  # the next answer waits at the server
            after = msg.get("state_after")
            for entry in msg["events"][max(mine["last_pos"] - start, 0) :]:
                if after is not None and "state_key" in entry["event"]:
                    continue  # the timeline's state is history: the state after it follows
                self.apply(state, entry)
            for room, events in sorted((after or {}).items()):
                mine["view"][room] = {R.key_of(ev): ev["event_id"] for ev in events}
            mine["last_pos"] = msg["pos"]
            gaps = self.node.part("gaps")
            if gaps is not None and msg.get("limited"):
                gaps.limited(ctx, state, msg)  # messages were left out: their token
            return
        mine["buffer"][str(msg["pos"])] = msg
        while str(mine["last_pos"] + 1) in mine["buffer"]:
            nxt = mine["buffer"].pop(str(mine["last_pos"] + 1))
            mine["last_pos"] = nxt["pos"]
            if nxt["type"] == "invited":
                mine["invites"].append(nxt["event"]["event_id"])
            else:
                for entry in nxt["events"]:
                    self.apply(state, entry)
                self.took(state, nxt)
                initial = self.node.part("initial_sync")
                if initial is not None:
                    initial.took(state, nxt)  # what each room's start held
        sync = self.node.part("sync")
        if sync is not None:
            # A gap, or moved on (its last response may be lost): look again once quiet.
            sync.arm(ctx, state, for_loss=not mine["buffer"])

    def apply(self, state: dict, entry: dict) -> None:
        mine = self.of(state)
        room, ev = entry["room"], entry["event"]
        joining = self.node.part("joining")
        if joining is not None:
            joining.applied(state, entry, mine["joined"])
        members = self.node.part("members")
        if members is not None:
            members.applied(state, entry)
        if ev["type"] == "m.server.joined":
            mine["joined"][room] = mine["last_pos"]
            scrollback = self.scrollback
            if scrollback is not None:
                scrollback.start_at(state, room, ev["token"])
            return
        if ev["type"] in ("m.presence", "m.typing"):
            # Not room events: presence and typing are shown, not kept in a timeline.
            presence = self.node.part("presence")
            if presence is not None:
                presence.shown(state, ev)
            return
        filters = self.node.part("filters")
        if filters is not None and "event_id" in ev:
            filters.saw(state, mine["last_pos"], ev, entry.get("api"))  # the keys it came with
        echo = self.node.part("echo")
        if "state_key" in ev:
            mine["view"].setdefault(room, {})[f"{ev['type']}{SEP}{ev['state_key']}"] = ev[
                "event_id"
            ]
            if echo is not None:
                echo.streamed(state, entry)  # a join, leave or state change's echo
            return
        receipts = self.node.part("receipts")
        if receipts is not None and receipts.takes(ev):
            receipts.apply(state, entry)
            return
        bundles = self.node.part("bundles")
        if bundles is not None:
            bundles.apply(state, entry)
            return
        calls = self.node.part("calls")
        if calls is not None and calls.takes(ev):
            calls.apply(state, entry)
            return
        self.timeline.apply(state, entry)
        if echo is not None:
            echo.streamed(state, entry)
