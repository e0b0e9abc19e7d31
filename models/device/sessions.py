"""A device's session (proposal: "Sessions").

The device sends its session ID in every request that carries one (presence,
typing, going offline); it has none until the first answer brings one, so
while its first such request is unanswered the others wait for that answer.
"If the client receives a new session ID mid-session, it must re-establish
its typing status and presence status" (the presence part does). A request
that gets no answer within ``retransmit_ms`` (doubling) is sent again, up to
``max_tries`` transmissions in all.
"""

from __future__ import annotations

from typing import Any

from mxsim.models.homeserver.sessions import number
from mxsim.sim.node import Context
from mxsim.sim.parts import Part, check_count, check_positive

__all__ = ["Sessions"]

RETRANSMIT_MS = 100
MAX_TRIES = 3


class Sessions(Part):
    """Config: ``retransmit_ms``, ``max_tries``. State: ``session`` (its ID or
    None), ``next_rid``, ``inflight`` (request number -> the request's fields
    with ``op``, ``tries``, ``session`` and ``queued``) and ``renewed`` (a flag:
    a new session ID came mid-session)."""

    name = "sessions"
    section = "Sessions"
    handles = ("answer",)
    keys = {"retransmit_ms": "a positive number of milliseconds", "max_tries": "an integer >= 1"}

    @classmethod
    def check_config(cls, config, node_config, node_names) -> None:
        super().check_config(config, node_config, node_names)
        check_positive(config, "retransmit_ms", RETRANSMIT_MS)
        check_count(config, "max_tries", MAX_TRIES)

    def initial(self) -> dict[str, Any]:
        return {"session": None, "next_rid": 0, "inflight": {}, "renewed": False}

    def request(self, ctx: Context, state: dict, op: str, **fields: Any) -> None:
        mine = self.of(state)
        rid = str(mine["next_rid"])
        mine["next_rid"] += 1
        entry = {"op": op, **fields, "tries": 1, "session": None}
        waiting = mine["session"] is None and any(
            not e.get("queued") for e in mine["inflight"].values()
        )
        mine["inflight"][rid] = entry
        if waiting:
            entry["queued"] = True  # no session ID yet: wait for the answer that brings it
            return
        self.transmit(ctx, state, rid)

    def transmit(self, ctx: Context, state: dict, rid: str) -> None:
        mine = self.of(state)
        entry = mine["inflight"][rid]
        entry.pop("queued", None)
        entry["session"] = mine["session"]
        fields = {k: v for k, v in entry.items() if k not in ("op", "tries")}
        ooo = bool(self.node.part("timeline").config.get("out_of_order", False))
        msg = {"type": entry["op"], "rid": int(rid), "whoami": self.node.config["user"]}
        ctx.send(self.node.config["server"], {**msg, "out_of_order": ooo, **fields})
        backoff = self.config.get("retransmit_ms", RETRANSMIT_MS) * 2 ** (entry["tries"] - 1)
        ctx.set_timer(self.timer(rid), backoff)

    def adopt(self, ctx: Context, state: dict, session: str | None) -> None:
        mine = self.of(state)
        mine["session"] = session
        queued = (r for r, e in mine["inflight"].items() if e.get("queued"))
        for rid in sorted(queued, key=int):
            self.transmit(ctx, state, rid)

    def on_answer(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        mine = self.of(state)
        rid = str(msg["rid"])
        entry = mine["inflight"].pop(rid, None)
        if entry is None:
            return  # an answer to a request already answered
        ctx.cancel_timer(self.timer(rid))
        sid = msg["session"]
        presence = self.node.part("presence")
        if not msg["ok"] and msg.get("error") == "stale session":
            renewed = number(sid) > number(mine["session"])
            if renewed:
                self.adopt(ctx, state, sid)
                mine["renewed"] = True
                if presence is not None:
                    presence.reestablish(ctx, state, entry["op"])
            if entry["op"] == "typing" and renewed:
                return  # re-established already
            entry["tries"] = 1
            mine["inflight"][rid] = entry
            self.transmit(ctx, state, rid)
            return
        if msg.get("ended"):
            self.adopt(ctx, state, None)
        elif number(sid) > number(mine["session"]):
            self.adopt(ctx, state, sid)

    def on_timer(self, ctx: Context, state: dict, name: str) -> None:
        mine = self.of(state)
        entry = mine["inflight"].get(name)
        if entry is None:
            return
        if entry["tries"] >= self.config.get("max_tries", MAX_TRIES):
            del mine["inflight"][name]
            return
        entry["tries"] += 1
        ctx.metric("retransmissions")
        self.transmit(ctx, state, name)
