"""Room creation and the room-changing actions (proposal: "Room Creation", "Action APIs").

The part every homeserver has: its rooms as event graphs (:mod:`mxsim.models.room`),
the genesis rooms a scenario starts with, and the actions that make events
(send, send_state, delete_state, invite, kick, ban, unban, leave). Each new
event is accepted into the graph, answered, handed to federation and to the
event stream. Workload input ``{"op": "as_user", "user": ..., "action": {...}}``
acts for a user with no device on this server (``redact`` naming the event by
its ID, ``redacts``).
"""

from __future__ import annotations

from typing import Any

from mxsim.models import room as R
from mxsim.models.events import is_state
from mxsim.sim.model import Switch
from mxsim.sim.node import ConfigError, Context
from mxsim.sim.parts import Part

__all__ = ["Rooms", "result", "initial_events"]

ROOM_ACTIONS = ("send", "send_state", "delete_state", "invite", "kick", "ban", "unban", "leave")
GENESIS_KEYS = ("room", "creator", "members", "preset", "messages", "power", "names")

STATE_RESOLUTION = Switch(
    "state_resolution",
    "v2",
    'Event Stream API: "the state of the room will always be eventually consistent" '
    "(by which rule is left open: the era's depth order, or today's v2).",
    choices=("v2", "depth"),
)


EVENT_CLOCK = Switch(
    "event_clock",
    "per_server",
    'Event Stream API: "the state of the room will always be eventually consistent"; '
    'state resolution v2 orders concurrent state by origin_server_ts. "per_server": '
    "each server stamps events with its own clock, which may be behind the events it "
    'builds on (unsynchronised clocks); "causal": never behind them (synchronised clocks).',
    choices=("per_server", "causal"),
)


class Rooms(Part):
    """Config: ``genesis``, a list of rooms (``room``, ``creator``, ``members``,
    ``preset``, ``messages``, ``power``: user -> level, ``names``: user -> display
    name) built identically on every server listing them."""

    name = "rooms"
    section = "Room Creation; Action APIs"
    required = True
    handles = ("create_room", *ROOM_ACTIONS)
    ops = ("as_user",)
    durable = ("stores", "clock")
    keys = {"genesis": "a list of rooms"}
    switches = (STATE_RESOLUTION, EVENT_CLOCK)

    @classmethod
    def check_config(cls, config, node_config, node_names) -> None:
        super().check_config(config, node_config, node_names)
        genesis = config.get("genesis", [])
        if not isinstance(genesis, list):
            raise ConfigError("genesis", "a list of rooms", genesis)
        for i, spec in enumerate(genesis):
            if not isinstance(spec, dict):
                raise ConfigError(f"genesis[{i}]", "a table", spec)
            for key in spec:
                if key not in GENESIS_KEYS:
                    raise ConfigError(
                        f"genesis[{i}].{key}", "one of: " + ", ".join(GENESIS_KEYS), key
                    )
            for key in ("room", "creator"):
                if not isinstance(spec.get(key), str):
                    raise ConfigError(f"genesis[{i}].{key}", "a string", spec.get(key))
            for key, what in (("members", "user IDs"), ("messages", "message bodies")):
                items = spec.get(key, [])
                if not isinstance(items, list) or not all(isinstance(m, str) for m in items):
                    raise ConfigError(f"genesis[{i}].{key}", f"a list of {what}", items)
            for key, kind in (("power", int), ("names", str)):
                table = spec.get(key, {})
                ok = isinstance(table, dict) and all(
                    isinstance(v, kind) and not isinstance(v, bool) for v in table.values()
                )
                if not ok:
                    raise ConfigError(
                        f"genesis[{i}].{key}", f"a table of user -> {kind.__name__}", table
                    )

    @classmethod
    def check_input(cls, data: dict[str, Any]) -> None:
        from mxsim.models.device.requests import Requests

        if not isinstance(data.get("user"), str):
            raise ConfigError("user", "a user ID of this server", data.get("user"))
        action = data.get("action")
        if not isinstance(action, dict):
            raise ConfigError("action", "a table: an action as a device would send it", action)
        try:
            if action.get("op") == "redact":  # by event ID: the scenario names it
                for key in ("room", "redacts"):
                    if not isinstance(action.get(key), str):
                        raise ConfigError(key, "a string (op redact, by event ID)", action.get(key))
            else:
                Requests.check_input(action)
        except ConfigError as e:
            raise ConfigError(f"action.{e.field}", e.expected, e.found) from None

    def bind(self) -> None:
        self.stream = self.node.part("stream")
        self.federation = self.node.part("federation")
        self.joining = self.node.part("joining")

    def initial(self) -> dict[str, Any]:
        return {"stores": {}, "clock": 0}  # room ID -> room store (models.room)

    def on_start(self, ctx: Context, state: dict) -> None:
        """Build the configured genesis rooms: the same events on every server listing them.

        A scenario that is about what happens *in* a room starts with the room
        already made and joined, so exploration spends no states on setting it up.
        """
        stores = self.of(state)["stores"]
        if stores:
            return  # a restart: the rooms are durable
        for spec in self.config.get("genesis", []):
            room_id, creator = spec["room"], spec["creator"]
            store = stores[room_id] = R.new_store()
            public = spec.get("preset", "public") == "public"
            steps = initial_events(creator, public, spec.get("power")) + [
                ("m.room.member", {"membership": "join"}, m, m) for m in spec.get("members", [])
            ]
            steps = _named(steps, spec.get("names", {}))
            # History that predates the scenario, sent by the creator.
            steps += [("m.room.message", {"body": b}, None) for b in spec.get("messages", [])]
            for n, (etype, content, key, *sender) in enumerate(steps, 1):
                who = sender[0] if sender else creator
                ev = R.next_event(
                    store, room_id, etype, who, content, key, f"$genesis.{n}.{room_id}"
                )
                reason, _ = self.accept(store, ev)
                assert reason is None, (etype, key, reason)

    def on_input(self, ctx: Context, state: dict, data: dict[str, Any]) -> None:
        # A scenario acting for a user who has no device here (op "as_user").
        action = {**data["action"], "whoami": data["user"]}
        action["type"] = action.pop("op")
        self.node.deliver(ctx, state, None, action)

    # -- helpers the other parts use ---------------------------------------------

    def stores(self, state: dict) -> dict[str, Any]:
        return self.of(state)["stores"]

    def accept(self, store: dict, ev: dict, soft_fail: bool = False) -> tuple:
        declared = bool(self.node.switches.get("type_declares_state_key"))
        algorithm = self.node.switches["state_resolution"]
        return R.accept(store, ev, algorithm, soft_fail=soft_fail, declared=declared)

    def answer(self, ctx: Context, device: str | None, msg: dict) -> None:
        if device is not None:  # None: the scenario acted for a user directly
            ctx.send(device, msg)

    def answer_late(self, ctx: Context, state: dict, device: Any, aid: Any, answer: Any) -> None:
        """Answer an action that waited for another server: ``answer(ctx)``
        sends it, through the ``actions`` part (which tags and keeps it)."""
        actions = self.node.part("actions")
        if actions is None or device is None:
            answer(ctx)
        else:
            actions.resume(ctx, state, device, aid, answer)

    def user(self, state: dict, device: str | None, msg: dict) -> str:
        """The user a request acts for (its device's, as an access token would say)."""
        info = self.stream.devices(state).get(device) if device is not None else None
        if info is None:  # the scenario acted for a user, or the device reads no stream
            return msg["whoami"]
        return info["user"]

    def new_event(self, state, store, room_id, etype, sender, content, state_key=None) -> dict:
        mine = self.of(state)
        mine["clock"] += 1
        event_id = f"${self.node.name}.{mine['clock']}"
        ts = mine["clock"]
        if self.node.switches["event_clock"] == "causal":
            # Later than what it builds on; the event IDs keep the server's count.
            seen = [store["events"][p].get("origin_server_ts", 0) for p in store["extremities"]]
            ts = max([ts, *(t + 1 for t in seen)])
        return R.next_event(store, room_id, etype, sender, content, state_key, event_id, ts=ts)

    def local(self, ctx, state, device, aid, store, ev, join_filter=None, outside=False) -> None:
        """Accept a locally made event, answer the device, federate it.

        A join with a filter that does not ask for the stream is answered with
        the room's events (see :meth:`Stream.join_response`); ``outside``: at
        no stream position (switch ``join_returns_events``).
        """
        reason, changed = self.accept(store, ev)
        if reason is not None or ev["event_id"] in store["soft_failed"]:
            self.answer(ctx, device, result(aid, False, error=reason or "not allowed now"))
            return
        if join_filter is not None and not join_filter.get("stream") and device is not None:
            pos, events, extra = self.stream.join_response(
                state, store, device, ev, join_filter, positioned=not outside
            )
            reply = {"type": "joined", "aid": aid, "ok": True, "event_id": ev["event_id"]}
            reply.update(room=ev["room_id"], pos=pos, events=events, **extra)
            self.answer(ctx, device, reply)
        else:
            self.answer(ctx, device, result(aid, True, event_id=ev["event_id"], room=ev["room_id"]))
        invitee = ev["state_key"].split(":", 1)[1] if ev["type"] == "m.room.member" else ""
        self.federate(ctx, state, store, ev, (invitee,) if invitee else ())
        # Proposal, "Action APIs": the action ID appears in the sender's stream.
        state["stream"]["maker"] = [device, aid, ev["event_id"]]
        self.accepted(ctx, state, store, ev, changed)
        del state["stream"]["maker"]

    def federate(self, ctx, state, store, ev, extra: tuple[str, ...] = ()) -> None:
        federation = self.federation
        if federation is not None:
            federation.federate(ctx, state, store, ev, extra)

    def accepted(self, ctx, state, store, ev, changed: list[str]) -> None:
        """Tell devices what changed, and the joining part of an invite for a user here."""
        if ev["event_id"] in store["soft_failed"]:
            return
        redactions = self.node.part("redactions")
        if redactions is not None:
            ev = redactions.accepted(ctx, state, store, ev)  # the target's stripped copy
            if ev is None:
                return  # a redaction without effect: never shown
        self.stream.accepted(ctx, state, store, ev, changed)
        joining = self.joining
        if joining is not None and _membership(ev) == "invite":
            if ev["state_key"].split(":", 1)[1] == self.node.name:
                joining.invited(ctx, state, ev)

    # -- the actions ----------------------------------------------------------------

    def on_create_room(self, ctx: Context, state: dict, device: str | None, msg: dict) -> None:
        room_id, aid = msg["room"], msg.get("aid")
        user = self.user(state, device, msg)
        stores = self.stores(state)
        if room_id in stores:
            self.answer(ctx, device, result(aid, False, error="room exists"))
            return
        store = stores[room_id] = R.new_store()
        public = msg.get("preset", "public") == "public"
        initial = initial_events(user, public, msg.get("power", {}))
        initial += [
            (s["type"], s.get("content", {}), s.get("state_key", "")) for s in msg.get("state", [])
        ]
        initial += [("m.room.member", {"membership": "invite"}, u) for u in msg.get("invite", [])]
        for etype, content, key in initial:
            ev = self.new_event(state, store, room_id, etype, user, content, key)
            reason, changed = self.accept(store, ev)
            if reason is not None:
                self.answer(ctx, device, result(aid, False, error=f"{etype}: {reason}"))
                return
            invitee_server = key.split(":", 1)[1] if etype == "m.room.member" and ":" in key else ""
            self.federate(ctx, state, store, ev, (invitee_server,) if invitee_server else ())
            self.accepted(ctx, state, store, ev, changed)
        self.answer(ctx, device, result(aid, True, room=room_id))

    def on_message(self, ctx: Context, state: dict, device: Any, msg: dict) -> None:
        op = msg["type"]
        if op == "create_room":
            self.on_create_room(ctx, state, device, msg)
            return
        aid, room_id = msg.get("aid"), msg["room"]
        user = self.user(state, device, msg)
        store = self.stores(state).get(room_id)
        if store is None:
            self.answer(ctx, device, result(aid, False, error="not in room"))
            return
        if op == "send":
            ev = self.new_event(
                state, store, room_id, "m.room.message", user, {"body": msg["body"]}
            )
        elif op in ("send_state", "delete_state"):
            content = msg.get("content", {}) if op == "send_state" else None
            key = msg.get("state_key", "")
            ev = self.new_event(state, store, room_id, msg["event_type"], user, content, key)
        else:  # a membership change
            target = user if op == "leave" else msg["user"]
            membership = {"kick": "leave", "unban": "leave"}.get(op, op)
            content = {"membership": membership}
            ev = self.new_event(state, store, room_id, "m.room.member", user, content, target)
        self.local(ctx, state, device, aid, store, ev)


def _membership(ev: dict) -> str | None:
    if ev["type"] != "m.room.member":
        return None
    return ev.get("content", {}).get("membership")


def _named(steps: list[tuple], names: dict[str, str]) -> list[tuple]:
    """Genesis steps with each named member's ``displayname`` in its member event."""
    out = []
    for etype, content, key, *sender in steps:
        if etype == "m.room.member" and key in names:
            content = {**content, "displayname": names[key]}
        out.append((etype, content, key, *sender))
    return out


def initial_events(creator: str, public: bool, power: dict | None = None) -> list[tuple]:
    """Proposal, "Room Creation": the events every new room starts with."""
    levels = {
        "users": {creator: 100, **(power or {})},
        "users_default": 0,
        "events_default": 0,
        "state_default": 50,
        "events": {"m.room.topic": 0, "m.room.name": 50},
        "ban": 50,
        "kick": 50,
        "invite": 0,
        "redact": 50,
    }
    return [
        ("m.room.create", {"creator": creator}, ""),
        ("m.room.member", {"membership": "join"}, creator),
        ("m.room.power_levels", levels, ""),
        ("m.room.join_rules", {"join_rule": "public" if public else "invite"}, ""),
    ]


def result(aid: Any, ok: bool, **extra: Any) -> dict[str, Any]:
    """The answer to a request (wire message ``result``)."""
    return {"type": "result", "aid": aid, "ok": ok, **extra}


def type_filter(types: list[str] | None):
    """A filter's event types (proposal, "Filter API"); by default, messages."""
    if types is None:
        return lambda ev: not is_state(ev)
    return lambda ev: ev["type"] in types
