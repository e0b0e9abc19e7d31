"""A device's random workload: the steps a user takes, drawn from the
device's own seeded stream (not a proposal section: it drives the sections'
ops, as a user of a client would).

Every ``random_every_ms`` the device takes one of ``ops`` (``random_steps``
steps in all) in one of ``rooms``: ``send`` a message, ``join``, ``leave``,
``state`` (set the room's topic), ``scrollback``, ``typing`` (start, or stop
where it types), ``presence`` (online, busy or away) or ``sync`` (look at its
stream again from its position). Step ``k`` draws from ``sha256(seed/device/
k/purpose)``, so a run and a check see the same steps whatever the order of
events: the state holds only the step count.
"""

from __future__ import annotations

import hashlib
from typing import Any

from mxsim.sim.node import ConfigError, Context
from mxsim.sim.parts import Part

__all__ = ["RandomSteps", "OPS", "draw"]

#: The ops a step may take.
OPS = ("send", "join", "leave", "state", "scrollback", "typing", "presence", "sync")

#: Ops that need a room.
ROOMED = ("send", "join", "leave", "state", "scrollback", "typing")

#: How many messages a ``scrollback`` step asks for.
SCROLLBACK = 2

#: Presence values a ``presence`` step picks from.
PRESENCE = ("online", "busy", "away")


def draw(seed: int, device: str, k: int, salt: str) -> int:
    """A number from the device's seeded stream: step ``k``, purpose ``salt``.

    >>> draw(1, "alice1", 0, "op") == draw(1, "alice1", 0, "op")
    True
    """
    digest = hashlib.sha256(f"{seed}/{device}/{k}/{salt}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


class RandomSteps(Part):
    """Config: ``random_steps``, ``random_every_ms`` (100), ``seed`` (0),
    ``ops``, ``rooms``. State: ``steps`` (taken so far)."""

    name = "random"
    section = "(a user's steps)"
    keys = {
        "random_steps": "an integer >= 0",
        "random_every_ms": "an integer >= 1",
        "seed": "an integer",
        "ops": "a non-empty list of: " + ", ".join(OPS),
        "rooms": "a list of room IDs",
    }

    @classmethod
    def check_config(cls, config, node_config, node_names) -> None:
        super().check_config(config, node_config, node_names)
        for key, default, low in (("random_steps", 0, 0), ("random_every_ms", 100, 1)):
            value = config.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(key, f"an integer >= {low}", value)
        seed = config.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError("seed", "an integer", seed)
        ops = config.get("ops", ["send"])
        if not isinstance(ops, list) or not ops or any(o not in OPS for o in ops):
            raise ConfigError("ops", cls.keys["ops"], ops)
        rooms = config.get("rooms", [])
        if not isinstance(rooms, list) or not all(isinstance(r, str) for r in rooms):
            raise ConfigError("rooms", cls.keys["rooms"], rooms)
        if not rooms and set(ops) & set(ROOMED):
            raise ConfigError("rooms", "room IDs for the room steps", rooms)

    def initial(self) -> dict[str, Any]:
        return {"steps": 0}

    def on_start(self, ctx: Context, state: dict) -> None:
        if self.of(state)["steps"] < self.config.get("random_steps", 0):
            ctx.set_timer(self.timer("step"), self.config.get("random_every_ms", 100))

    def step(self, state: dict) -> dict[str, Any]:
        """The input of the next step (drawn; it changes no state)."""
        k = self.of(state)["steps"]
        seed, name = self.config.get("seed", 0), self.node.name
        ops, rooms = self.config.get("ops", ["send"]), self.config.get("rooms", [])
        op = ops[draw(seed, name, k, "op") % len(ops)]
        room = rooms[draw(seed, name, k, "room") % len(rooms)] if rooms else None
        if op == "send":
            return {"op": "send", "room": room, "body": f"{name}#{k}"}
        if op in ("join", "leave"):
            return {"op": op, "room": room}
        if op == "state":
            content = {"topic": f"{name}#{k}"}
            return {"op": "send_state", "room": room, "event_type": "m.room.topic",
                    "state_key": "", "content": content}  # fmt: skip
        if op == "scrollback":
            return {"op": "scrollback", "room": room, "limit": SCROLLBACK}
        if op == "typing":
            typing = room not in self.node.part("presence").of(state)["wants"]["typing"]
            return {"op": "typing", "room": room, "typing": typing}
        if op == "presence":
            pick = PRESENCE[draw(seed, name, k, "presence") % len(PRESENCE)]
            return {"op": "presence", "presence": pick}
        return {"op": "sync"}

    def on_timer(self, ctx: Context, state: dict, name: str) -> None:
        inp = self.step(state)
        mine = self.of(state)
        mine["steps"] += 1
        ctx.metric("random_steps")
        if mine["steps"] < self.config.get("random_steps", 0):
            ctx.set_timer(self.timer("step"), self.config.get("random_every_ms", 100))
        if inp["op"] == "sync":
            sync = self.node.part("sync")
            if sync is not None:
                sync.ask(ctx, state)
            return
        self.node.take(ctx, state, inp)
