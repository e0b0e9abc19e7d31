"""Action IDs on the homeserver (proposal: "Action APIs", "Send a message", "Action IDs").

- "Action APIs": the action ID is "a transaction ID for idempotency as well
  as a sequence ID for ordering actions performed in parallel by that client";
- "Send a message", ordering notes: "When sending a message with a higher
  seqnum, it will block the request until it receives earlier seqnums. The
  block will expire after a timeout and reject the message stating that it
  was missing a seqnum";
- "Action IDs": "The first action ID for a session should be 0. For each
  subsequent action request, the ID should be incremented by 1."

Every client-server request that carries an action ID passes this part before
the part that handles it: an ID already applied is answered again, not applied
twice (``idempotent_retransmission``); a higher ID waits for the lower ones
(``hold_out_of_order``) until ``hold_timeout_ms``, then is rejected. The
answer a request got is kept, so a retransmission gets the same answer.
Action IDs are counted per device, or, on a server with the ``sessions``
part, per session ("Action IDs are scoped per session": :meth:`Actions.scope`);
a request's ``try`` (1: the first transmission, 2 and on: the device's
retransmissions) only feeds the ``retransmission_race`` guard. A request that
carries the device's own number of the action (``txn``, sent by a device with
sessions) is recorded in ``made``; under ``txn_scope = "device"`` an action
whose ``txn`` was applied already, in any session, is answered again and not
applied (its action ID is used up, so later ones are not held for it).

"Action APIs": "Action IDs are optional": a request without one (a
synchronous bot's) passes straight to the part that handles it, neither held
nor deduplicated (:meth:`Actions.unnumbered`); its answer names the event it
made, so the bot knows where in the stream it happened.

What follows a missing-seqnum rejection the proposal does not say (switch
``after_missing_seqnum``): under ``wait`` the server still expects the missing
ID, so every later request of the device is held and rejected for it too (a
retransmission of the missing one moves it on only to the rejected ID, which
is never applied: its retransmission is rejected again); under ``skip`` it
gives the missing IDs up, expects the one after the rejected request, and
rejects a given-up ID that comes later (``SKIPPED``), so the device's order
still holds.
"""

from __future__ import annotations

from typing import Any

from mxsim.models import call as C
from mxsim.models.homeserver.rooms import result
from mxsim.sim.model import Switch
from mxsim.sim.node import ConfigError, Context
from mxsim.sim.parts import Part
from mxsim.sim.relay import Relay

__all__ = ["Actions", "HOLD_TIMEOUT_MS"]

#: Default of ``hold_timeout_ms``.
HOLD_TIMEOUT_MS = 200

MISSING = "missing sequence number"
SKIPPED = "sequence number given up"

ACTION_ID_STREAMS = Switch(
    "action_id_streams",
    "sender_device",
    'Action APIs: "The action ID will *not* appear in other client\'s event streams." '
    '("all_devices": every device of the sending user sees it).',
    ("sender_device", "all_devices"),
)


class Actions(Part):
    """Config: ``hold_timeout_ms``. State: ``clients`` (scope -> ``next``, ``done``
    (aid -> [answer or None, try]), ``held`` (aid -> request), ``rejected``,
    ``applied`` ([aid, event ID or None] in the order applied), under ``skip``
    ``skipped`` (IDs given up)), and the guards' flags ``retransmission_race``,
    ``out_of_order`` and ``passed_hold`` (a request without an ID applied while
    another device's was held; set only when seen)."""

    name = "actions"
    section = "Action APIs; Action IDs"
    switches = (ACTION_ID_STREAMS,)
    durable = ("clients",)
    keys = {"hold_timeout_ms": "a positive number of milliseconds"}

    @classmethod
    def check_config(cls, config, node_config, node_names) -> None:
        super().check_config(config, node_config, node_names)
        value = config.get("hold_timeout_ms", HOLD_TIMEOUT_MS)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigError("hold_timeout_ms", "a positive number of milliseconds", value)

    def initial(self) -> dict[str, Any]:
        # The guards' observations are flags: once seen, a race stays seen.
        return {"clients": {}, "retransmission_race": False, "out_of_order": False}

    def bind(self) -> None:
        self.sessions = self.node.part("sessions")

    def on_start(self, ctx: Context, state: dict) -> None:
        # After a restart the held requests are durable but their timers are not.
        for scope, c in sorted(self.of(state)["clients"].items()):
            for key in sorted(c["held"], key=int):
                ctx.set_timer(self.timer(f"hold:{scope}:{key}"), self.timeout())

    def timeout(self) -> float:
        return self.config.get("hold_timeout_ms", HOLD_TIMEOUT_MS)

    def scope(self, state: dict, device: str, msg: dict) -> str:
        """Whose action-ID sequence a request belongs to: its device's, or with
        sessions its live session's (the sessions part let the request through)."""
        if self.sessions is None or "session" not in msg:
            return device
        return self.sessions.records(state)[device]["id"]

    def close(self, ctx: Context, state: dict, scope: str) -> None:
        """A session ended: its held requests are dropped (their timers with them)
        and what it answered is forgotten; what it applied stays, for the properties."""
        c = self.of(state)["clients"].get(scope)
        if c is None:
            return
        for key in sorted(c["held"], key=int):
            ctx.cancel_timer(self.timer(f"hold:{scope}:{key}"))
        c["held"], c["done"] = {}, {}

    def unnumbered(self, ctx: Context, state: dict, device: str, msg: dict) -> None:
        """A request without an action ID: applied as it comes, whatever is held."""
        mine = self.of(state)
        if any(c["held"] for s, c in mine["clients"].items() if self.device_of(s) != device):
            mine["passed_hold"] = True  # set only when seen: other state spaces keep their shape
        self.node.deliver(ctx, state, device, msg)

    def request(self, ctx: Context, state: dict, device: str, msg: dict) -> None:
        """A request with action ID ``msg["aid"]`` from ``device``: apply, answer again, hold."""
        mine = self.of(state)
        scope = self.scope(state, device, msg)
        c = mine["clients"].setdefault(
            scope, {"next": 0, "done": {}, "held": {}, "rejected": [], "applied": []}
        )
        aid, tried = msg["aid"], msg.get("try", 1)
        key = str(aid)
        if self.deduplicated(ctx, state, device, c, msg):
            return
        done = c["done"].get(key)
        if done is not None and done[0] is None and tried > done[1]:
            # Applied, but waiting for another server (a remote join): the
            # device's retransmission makes the server ask that server again,
            # as its request (or the reply) may be lost.
            done[1] = tried
            self.resume(ctx, state, device, aid, lambda c: self.node.deliver(c, state, device, msg))
            return
        if done is not None and tried > done[1]:
            # The race the guard names: a later transmission by the device (its
            # retry timer fired) after an earlier one was applied; a network
            # copy of the applied transmission has the same ``try``.
            mine["retransmission_race"] = True
        if done is not None and self.node.switches["idempotent_retransmission"]:
            if done[0] is not None:  # else the answer is still to come
                ctx.send(device, _again(done[0]))
            return
        if aid in c["rejected"]:
            ctx.send(device, {**result(aid, False, error=MISSING), **_tag(msg, scope)})
            return
        if aid in c.get("skipped", ()):
            ctx.send(device, {**result(aid, False, error=SKIPPED), **_tag(msg, scope)})
            return
        if key in c["held"]:
            return  # a retransmission of a request already waiting
        if aid > c["next"]:
            mine["out_of_order"] = True
            if msg.get("event_type") == C.CANDIDATE:
                mine[C.OVERTOOK] = True  # set only when seen: other state spaces keep their shape
            if self.node.switches["hold_out_of_order"]:
                c["held"][key] = msg
                ctx.set_timer(self.timer(f"hold:{scope}:{aid}"), self.timeout())
                return
        self.apply(ctx, state, device, c, msg)
        self.release(ctx, state, device, scope, c)

    def release(self, ctx: Context, state: dict, device: str, scope: str, c: dict) -> None:
        """Apply the held requests that are now next (past IDs used up by ``txn``)."""
        while True:
            while str(c["next"]) in c["done"]:
                c["next"] += 1
            if str(c["next"]) not in c["held"]:
                return
            nxt = c["held"].pop(str(c["next"]))
            ctx.cancel_timer(self.timer(f"hold:{scope}:{nxt['aid']}"))
            self.apply(ctx, state, device, c, nxt)

    def deduplicated(self, ctx: Context, state: dict, device: str, c: dict, msg: dict) -> bool:
        """Under ``txn_scope = "device"``: answer an action whose ``txn`` was applied
        in any session of the device again, and use up its action ID here."""
        if "txn" not in msg or self.node.switches["txn_scope"] != "device":
            return False
        done = self.of(state).get("txns", {}).get(device, {}).get(str(msg["txn"]))
        if done is None:
            return False
        answer, session, tried = done
        if msg.get("session") != session or msg.get("try", 1) > tried:
            self.of(state)["retransmission_race"] = True
        key = str(msg["aid"])
        if key not in c["done"] and msg["aid"] >= c["next"]:
            c["done"][key] = [answer, msg.get("try", 1)]
            self.release(ctx, state, device, self.scope(state, device, msg), c)
        ctx.send(device, {**answer, **_tag(msg, self.scope(state, device, msg))})
        return True

    def apply(self, ctx: Context, state: dict, device: str, c: dict, msg: dict) -> None:
        aid = msg["aid"]
        answers = _Answers(ctx, device, aid, _tag(msg, self.scope(state, device, msg)))
        self.node.deliver(answers, state, device, msg)
        answer = answers.answer
        c["done"][str(aid)] = [answer, msg.get("try", 1)]
        if answer is None:
            # Answered later (a remote join, a backfill): see :meth:`resume`.
            scope = self.scope(state, device, msg)
            late = [scope, msg.get("rid"), msg.get("txn"), msg.get("session"), msg.get("try", 1)]
            self.of(state).setdefault("awaiting", {})[f"{device}/{aid}"] = late
        made = answer.get("event_id") if answer is not None and answer["ok"] else None
        c["applied"].append([aid, made])
        c["next"] = max(c["next"], aid + 1)
        if "txn" in msg:
            # What the user's action did, by the device's own number of it.
            self.of(state).setdefault("made", []).append([device, msg["txn"], made])
            if self.node.switches["txn_scope"] == "device" and answer is not None:
                txns = self.of(state).setdefault("txns", {}).setdefault(device, {})
                txns[str(msg["txn"])] = [answer, msg.get("session"), msg.get("try", 1)]

    def resume(self, ctx: Context, state: dict, device: Any, aid: Any, answer: Any) -> None:
        """Give the answer of an action applied earlier whose answer had to wait
        (a join through another server, a backfill): ``answer(ctx)`` sends it
        through a context that tags it with the request (``rid``, session) and
        keeps it, so a retransmission of the action is answered again."""
        key = f"{device}/{aid}"
        awaiting = self.of(state).get("awaiting", {})
        late = awaiting.pop(key, None)
        if not awaiting:
            self.of(state).pop("awaiting", None)
        if late is None:
            answer(ctx)
            return
        scope, rid, txn, session, tried = late
        answers = _Answers(
            ctx, device, aid, {"rid": rid, "session": scope} if rid is not None else {}
        )
        answer(answers)
        if answers.answer is None:  # still waiting
            self.of(state).setdefault("awaiting", {})[key] = late
            return
        c = self.of(state)["clients"].get(scope)
        if c is None or str(aid) not in c["done"]:
            return
        c["done"][str(aid)][0] = answers.answer
        made = answers.answer.get("event_id") if answers.answer["ok"] else None
        c["applied"] = [[a, made if a == aid and m is None else m] for a, m in c["applied"]]
        if txn is not None:
            made_by = self.of(state).get("made", [])
            for entry in made_by:
                if entry[0] == device and entry[1] == txn and entry[2] is None:
                    entry[2] = made
            if self.node.switches["txn_scope"] == "device":
                txns = self.of(state).setdefault("txns", {}).setdefault(device, {})
                txns[str(txn)] = [answers.answer, session, tried]

    def on_timer(self, ctx: Context, state: dict, name: str) -> None:
        _, rest = name.split(":", 1)
        scope, key = rest.rsplit(":", 1)
        c = self.of(state)["clients"][scope]
        held = c["held"].pop(key, None)
        if held is None:
            return
        aid, device = int(key), self.device_of(scope)
        c["rejected"].append(aid)
        ctx.send(device, {**result(aid, False, error=MISSING), **_tag(held, scope)})
        if self.node.switches["after_missing_seqnum"] == "skip":
            self.skip(ctx, state, device, scope, c, aid)

    def skip(self, ctx: Context, state: dict, device: str, scope: str, c: dict, aid: int) -> None:
        """Give up the IDs below rejected ``aid`` still missing (rejecting those
        held behind them), expect ``aid + 1``, apply what is held from there."""
        skipped = c.setdefault("skipped", [])
        for gone in range(c["next"], aid):
            if str(gone) in c["done"] or gone in c["rejected"]:
                continue
            skipped.append(gone)
            held = c["held"].pop(str(gone), None)
            if held is not None:  # waiting for the same gap: rejected with it
                ctx.cancel_timer(self.timer(f"hold:{scope}:{gone}"))
                ctx.send(device, {**result(gone, False, error=SKIPPED), **_tag(held, scope)})
        if not skipped:
            del c["skipped"]
        c["next"] = max(c["next"], aid + 1)
        self.release(ctx, state, device, scope, c)

    def device_of(self, scope: str) -> str:
        """The device a scope's answers go to (a session ID is ``device~n``)."""
        return scope.rsplit("~", 1)[0] if self.sessions is not None else scope


def _tag(msg: dict, scope: str) -> dict:
    """What an answer to a request with a session ID names besides its action ID:
    the request (``rid``) and the session it ran in (the scope)."""
    return {"rid": msg["rid"], "session": scope} if "rid" in msg else {}


def _again(answer: dict) -> dict:
    """The answer to a request repeated; a join answered with events is answered
    with its outcome only (its events already took their stream position)."""
    if answer["type"] != "joined":
        return answer
    tag = {k: answer[k] for k in ("rid", "session") if k in answer}
    return result(
        answer["aid"], answer["ok"], event_id=answer["event_id"], room=answer["room"], **tag
    )


class _Answers(Relay):
    """A context that passes every effect on and keeps the answer to one request."""

    def __init__(self, ctx: Context, device: str, aid: int, tag: dict) -> None:
        super().__init__(ctx)
        self._device, self._aid, self._tag = device, aid, tag
        self.answer: dict | None = None

    def send(self, dst: str, msg: dict) -> None:
        if dst == self._device and msg.get("aid") == self._aid and "ok" in msg:
            msg = {**msg, **self._tag}
            self.answer = msg
        self._ctx.send(dst, msg)
