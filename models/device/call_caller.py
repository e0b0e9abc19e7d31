"""The caller's side of a call (proposal: "VoIP", "Event updates"): it waits for
the callees' responses and "acknowledges *one* of the callees (either one
which picked up or rejected) by updating the event"; with ``rejection_scope =
"user"`` it acknowledges each callee user's rejection for that user only and
the call goes on until one device answers or every callee user rejected.

A mixin of :class:`mxsim.models.device.calls.Calls` (its ``_child`` sends the
updates); one concept, the caller's choice, kept apart from the callee's side.
"""

from __future__ import annotations

from mxsim.models import call as C
from mxsim.sim.node import Context

__all__ = ["CallerSide"]


class CallerSide:
    """The caller's reaction to its call's children (responses, hangup)."""

    def react_as_caller(self, ctx: Context, state: dict, cid: str, rec: dict, o: dict) -> None:
        scope = self.node.switches["rejection_scope"]
        if rec["state"] == "calling" and scope == "user":
            if self._select_per_user(ctx, state, cid, rec, o):
                return
        if rec["state"] == "calling":
            if not o["responses"]:
                return
            first = o["responses"][0]
            if scope == "user":
                first = next(r for r in o["responses"] if r["type"] == C.ANSWER)
            rec["peer"] = first["device_id"]
            self._acknowledge(ctx, state, cid, first)
            if first["type"] == C.REJECT:
                _end(rec, "rejected")
                return
            rec["state"] = "in_call"
            rec["connected"] = True
            self.send_candidates(ctx, state, cid, first["device_id"])
        if rec["state"] == "in_call" and o["hangup"] is not None:
            _end(rec, "hangup")

    def _select_per_user(self, ctx, state, cid, rec, o) -> bool:
        """``rejection_scope = "user"``: False when an answer is there to acknowledge.

        Acknowledges each user's first rejection (for that user only) and the
        first answer; the call goes on while some callee user has not rejected.
        """
        rejected = rec.setdefault("rejected", [])
        for r in o["responses"]:
            if r["type"] == C.ANSWER:
                return False  # the shared branch acknowledges the first answer
            if r["sender"] in rejected:
                continue
            rejected.append(r["sender"])
            self._acknowledge(ctx, state, cid, r, for_user=r["sender"])
        if sorted(rejected) == rec["callees"]:
            rec["peer"] = o["responses"][0]["device_id"]
            _end(rec, "rejected")
            return True
        return not any(r["type"] == C.ANSWER for r in o["responses"])

    def _acknowledge(self, ctx: Context, state: dict, cid: str, response: dict, **extra) -> None:
        """VoIP, Event updates: "Caller acknowledges *one* of the callees (either
        one which picked up or rejected) by updating the event" (switch
        ``caller_acknowledges``)."""
        if self.node.switches["caller_acknowledges"]:
            selected, kind = response["device_id"], response["type"]
            if kind == C.ANSWER:
                extra.update(self.ice_announce())  # how many candidates follow
            self._child(ctx, state, cid, C.ACK, selected=selected, response=kind, **extra)


def _end(rec: dict, reason: str) -> None:
    rec["state"] = "ended"
    rec["reason"] = reason
    # What it knew when answering matters while the call is live (the
    # ``concurrent_answers`` guard reads it then); kept, it would split states.
    rec.pop("seen", None)
