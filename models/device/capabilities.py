"""A device's capabilities (proposal: "Capabilities").

Config: ``caps``, the device's capability names. "When a session is
started, the client needs to provide a capability set": the device sends its
set's hash when it gets its first session ID and again on a new one; on
"unknown capability hash" it uploads the full set ("The client will then have
to upload the full capability set"). A hash shown in someone's presence that
the device does not know it looks up ("the client will either recognise the
hash or will have to request the capability set from their home server").
"""

from __future__ import annotations

from typing import Any

from mxsim.models.capability_sets import capability_hash
from mxsim.sim.node import ConfigError, Context
from mxsim.sim.parts import Part

__all__ = ["Capabilities"]


class Capabilities(Part):
    """Config: ``caps``. State: ``known`` (hash -> capability names)."""

    name = "capabilities"
    section = "Capabilities"
    keys = {"caps": "a list of capability names"}

    @classmethod
    def check_config(cls, config, node_config, node_names) -> None:
        super().check_config(config, node_config, node_names)
        caps = config.get("caps", [])
        if not isinstance(caps, list) or not all(isinstance(c, str) for c in caps):
            raise ConfigError("caps", "a list of capability names", caps)

    def initial(self) -> dict[str, Any]:
        return {"known": {}}

    def bind(self) -> None:
        self.sessions = self.node.part("sessions")

    def own_hash(self) -> str | None:
        caps = self.config.get("caps")
        return capability_hash(caps) if caps else None

    def provide(self, ctx: Context, state: dict) -> None:
        """A session started: provide the capability set (by its hash)."""
        if self.own_hash() is not None:
            self.sessions.request(ctx, state, "caps", hash=self.own_hash())

    def answered(self, ctx: Context, state: dict, entry: dict, msg: dict) -> None:
        op, known = entry["op"], self.of(state)["known"]
        if op == "caps" and not msg["ok"] and msg.get("error") == "unknown capability hash":
            caps = sorted(set(self.config.get("caps", [])))
            self.sessions.request(ctx, state, "caps_upload", caps=caps)
        elif op == "caps_upload" and msg["ok"]:
            known[msg["hash"]] = sorted(set(self.config.get("caps", [])))
        elif op == "caps_lookup" and msg["ok"]:
            known[msg["hash"]] = msg["caps"]

    def shown(self, state: dict, user: str, h: str | None) -> None:
        """A presence event showed ``user``'s hash ``h``: look it up at the end of the step."""
        if h is not None and h not in self.of(state)["known"]:
            self.of(state).setdefault("lookups", []).append([user, h])

    def after(self, ctx: Context, state: dict) -> None:
        for user, h in self.of(state).pop("lookups", []):
            inflight = self.sessions.of(state)["inflight"].values()
            if not any(e["op"] == "caps_lookup" and e["hash"] == h for e in inflight):
                self.sessions.request(ctx, state, "caps_lookup", hash=h, of=user)
