"""A device's session (proposal: "Sessions").

The device sends its session ID in every request that carries one (presence,
typing, going offline); it has none until the first answer brings one, so
while its first such request is unanswered the others wait for that answer.
"If the client receives a new session ID mid-session, it must re-establish
its typing status and presence status" (the presence part does). A request
that gets no answer within ``retransmit_ms`` (doubling) is sent again, up to
``max_tries`` transmissions in all.

Actions (sent by the ``echo`` part) carry action IDs: "The first action ID
for a session should be 0 [...] It should be reset to 0 when a new session
starts". A stale action fails and is re-sent in the new session: as its
failure arrives, numbered then (``renewal_order = "as_answered"``, the text
read literally), or renumbered with all unanswered actions in the order the
user made them (``"as_made"``).
"""

from __future__ import annotations

from typing import Any

from mxsim.models.homeserver.sessions import number
from mxsim.sim.model import Switch
from mxsim.sim.node import Context
from mxsim.sim.parts import Part, check_count, check_positive

__all__ = ["Sessions"]

RETRANSMIT_MS = 100
MAX_TRIES = 3

RENEWAL_ORDER = Switch(
    "renewal_order",
    "as_answered",
    'Action IDs: "It should be reset to 0 when a new session starts" and a stale '
    'request "MUST fail": the client re-sends each failed action as its failure '
    'arrives, numbered then ("as_made": on a new session ID the client renumbers '
    "all its unanswered actions in the order the user made them).",
    ("as_answered", "as_made"),
)


class Sessions(Part):
    """Config: ``retransmit_ms``, ``max_tries``. State: ``session`` (its ID or
    None), ``next_rid``, ``inflight`` (request number -> the request's fields
    with ``op``, ``tries``, ``session`` and ``queued``) and ``renewed`` (a flag:
    a new session ID came mid-session)."""

    name = "sessions"
    section = "Sessions"
    handles = ("answer", "result")
    switches = (RENEWAL_ORDER,)
    keys = {"retransmit_ms": "a positive number of milliseconds", "max_tries": "an integer >= 1"}

    @classmethod
    def check_config(cls, config, node_config, node_names) -> None:
        super().check_config(config, node_config, node_names)
        check_positive(config, "retransmit_ms", RETRANSMIT_MS)
        check_count(config, "max_tries", MAX_TRIES)

    def initial(self) -> dict[str, Any]:
        return {"session": None, "next_rid": 0, "next_aid": 0, "inflight": {}, "renewed": False}

    def request(self, ctx: Context, state: dict, op: str, **fields: Any) -> None:
        mine = self.of(state)
        rid = str(mine["next_rid"])
        mine["next_rid"] += 1
        entry = {"op": op, **fields, "tries": 1, "session": None}
        if "txn" in fields:
            entry["aid"] = None  # an action: numbered when sent
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
        if "aid" in entry and (entry["aid"] is None or entry["session"] != mine["session"]):
            # "The first action ID for a session should be 0 [...] incremented by 1."
            entry["aid"] = mine["next_aid"]
            mine["next_aid"] += 1
        entry["session"] = mine["session"]
        fields = {k: v for k, v in entry.items() if k not in ("op", "tries")}
        if "aid" in entry:
            # Which transmission this is (1: the first), so that a retransmission
            # is a message of its own, not a network copy of the first.
            fields["try"] = entry["tries"]
        ooo = bool(self.node.part("timeline").config.get("out_of_order", False))
        msg = {"type": entry["op"], "rid": int(rid), "whoami": self.node.config["user"]}
        ctx.send(self.node.config["server"], {**msg, "out_of_order": ooo, **fields})
        backoff = self.config.get("retransmit_ms", RETRANSMIT_MS) * 2 ** (entry["tries"] - 1)
        ctx.set_timer(self.timer(rid), backoff)

    def adopt(self, ctx: Context, state: dict, session: str | None) -> None:
        mine = self.of(state)
        if mine["session"] is None and session is not None:
            # Actions sent without a session ID were numbered from 0 in the session
            # the server started for them: that is this one, so keep counting.
            for entry in mine["inflight"].values():
                if entry.get("aid") is not None and entry["session"] is None:
                    entry["session"] = session
        else:
            mine["next_aid"] = 0
            if session is not None and self.node.switches["renewal_order"] == "as_made":
                # Renumber the unanswered actions of the old session in the order the
                # user made them, so the new session's action IDs (and the server's
                # hold) keep that order.
                stale = [
                    e
                    for e in mine["inflight"].values()
                    if e.get("aid") is not None and e["session"] != session
                ]
                for entry in sorted(stale, key=lambda e: e["txn"]):
                    entry["session"] = session
                    entry["aid"] = mine["next_aid"]
                    mine["next_aid"] += 1
        mine["session"] = session
        sync = self.node.part("sync")
        if sync is not None and number(session) >= 1:
            sync.arm(ctx, state)  # the old session's stream closed with it
        queued = (r for r, e in mine["inflight"].items() if e.get("queued"))
        for rid in sorted(queued, key=int):
            self.transmit(ctx, state, rid)

    def on_result(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        if "rid" in msg:  # an answer to an action of this part
            self.on_answer(ctx, state, src, msg)

    def on_answer(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        mine = self.of(state)
        rid = str(msg["rid"])
        entry = mine["inflight"].pop(rid, None)
        if entry is None:
            return  # an answer to a request already answered
        ctx.cancel_timer(self.timer(rid))
        sid = msg["session"]
        presence = self.node.part("presence")
        capabilities = self.node.part("capabilities")
        if not msg["ok"] and msg.get("error") == "stale session":
            renewed = number(sid) > number(mine["session"])
            if renewed:
                mine["inflight"][rid] = entry  # (renumbered with the others)
                self.adopt(ctx, state, sid)
                del mine["inflight"][rid]
                mine["renewed"] = True
                if presence is not None:
                    presence.reestablish(ctx, state, entry["op"])
            if entry["op"] in ("typing", "caps") and renewed:
                return  # re-established already
            entry["tries"] = 1
            mine["inflight"][rid] = entry
            self.transmit(ctx, state, rid)
            return
        if msg.get("ended"):
            self.adopt(ctx, state, None)
        elif number(sid) > number(mine["session"]):
            first = mine["session"] is None
            self.adopt(ctx, state, sid)
            if first and capabilities is not None:
                capabilities.provide(ctx, state)
        echo = self.node.part("echo")
        if "txn" in entry and echo is not None:
            echo.answered(state, entry, msg)
        sync = self.node.part("sync")
        if "txn" in entry and msg["ok"] and sync is not None:
            sync.arm(ctx, state, for_loss=True)  # its event is due down the stream
        filters = self.node.part("filters")
        if entry["op"] == "filter" and filters is not None:
            filters.answered(ctx, state, msg, entry)
        if entry["op"].startswith("caps") and capabilities is not None:
            capabilities.answered(ctx, state, entry, msg)

    def on_timer(self, ctx: Context, state: dict, name: str) -> None:
        mine = self.of(state)
        entry = mine["inflight"].get(name)
        if entry is None:
            return
        if entry["tries"] >= self.config.get("max_tries", MAX_TRIES):
            del mine["inflight"][name]
            echo = self.node.part("echo")
            if "txn" in entry and echo is not None:
                echo.gave_up(state, entry)
            return
        entry["tries"] += 1
        ctx.metric("retransmissions")
        self.transmit(ctx, state, name)
