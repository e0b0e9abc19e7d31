"""A call: an event carrying the offer, its signalling as ``updates`` children.

Proposal, "VoIP", "Event updates":

- "Call is placed by caller. Event generated with offer."
- "1-N callees may pick up or reject this offer."
- "Callees update the event (with sdp answer if they are accepting the call)"
- "Caller acknowledges *one* of the callees (either one which picked up or
  rejected) by updating the event."
- "Callees who weren't chosen then give up (Answered elsewhere, Rejected
  elsewhere, etc)"
- "Update with ICE candidates as they appear." ... "Send hangup update when
  hanging up."

The call event is ``m.call.invite``; its children (``updates`` = the call's
event ID) are ``m.call.answer``, ``m.call.reject``, ``m.call.ack``,
``m.call.candidate`` and ``m.call.hangup``. Each is a room event in the
room's graph; its content names the ``call_id`` and the ``device_id`` that
sent it (the ack names the device chosen in ``selected``). A device keeps a
call as the compact :func:`record` of each child, in the order its stream
gave them; what it does is a function of them, so a child seen twice
changes nothing (:func:`outcome`).

Glare (two users calling each other at once) is not in the proposal. mxsim's
rule, the one Matrix VoIP later adopted in spirit: **the call with the
lexicographically lower call ID wins**. A device that is calling a user and
sees an invite from that user compares the two IDs; if its own call is the
higher, it hangs its own call up (reason ``glare``) and answers the other;
if its own is the lower, it sets the incoming call aside (reason ``glare``)
and waits, knowing the other side does the same comparison.

>>> ans = record({"event_id": "$hs.9", "type": ANSWER, "sender": "@bob:hs",
...                "content": {"call_id": "call.alice", "device_id": "bob1"}})
>>> ans["device_id"], outcome([ans])["responses"] == [ans]
('bob1', True)
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "INVITE",
    "ANSWER",
    "REJECT",
    "ACK",
    "CANDIDATE",
    "HANGUP",
    "CALL_TYPES",
    "OVERTOOK",
    "UNSETTLED",
    "record",
    "outcome",
    "glare_winner",
]

INVITE = "m.call.invite"
ANSWER = "m.call.answer"
REJECT = "m.call.reject"
ACK = "m.call.ack"
CANDIDATE = "m.call.candidate"
HANGUP = "m.call.hangup"

CALL_TYPES = (INVITE, ANSWER, REJECT, ACK, CANDIDATE, HANGUP)

#: The flag a server's ``actions`` part sets when a candidate request arrived
#: ahead of an earlier action of its device (the ``candidate_overtook`` guard).
OVERTOOK = "candidate_overtook"

#: Call states of a device; "ended" is the only settled one.
UNSETTLED = ("calling", "ringing", "answered", "in_call")

Event = dict[str, Any]


def record(ev: Event) -> dict[str, Any]:
    """The compact record of a call child a device keeps: its ID, type, sender, content."""
    content = {k: v for k, v in ev.get("content", {}).items() if k != "call_id"}
    return {"id": ev["event_id"], "type": ev["type"], "sender": ev["sender"], **content}


def outcome(children: list[Event]) -> dict[str, Any]:
    """What the children of a call say so far, in the order the server took them.

    ``responses``: answers and rejections; ``ack``: the caller's choice (the
    first ack: a caller acknowledges once); ``hangup``: the first hangup;
    ``candidates``: device -> how many ICE candidates it sent.
    """
    out: dict[str, Any] = {"responses": [], "ack": None, "hangup": None, "candidates": {}}
    for c in children:
        t = c["type"]
        if t in (ANSWER, REJECT):
            out["responses"].append(c)
        elif t == ACK and out["ack"] is None:
            out["ack"] = c
        elif t == HANGUP and out["hangup"] is None:
            out["hangup"] = c
        elif t == CANDIDATE:
            d = c["device_id"]
            out["candidates"][d] = out["candidates"].get(d, 0) + 1
    return out


def glare_winner(call_a: str, call_b: str) -> str:
    """The call that survives glare: the lexicographically lower call ID.

    >>> glare_winner("$call.bob", "$call.alice")
    '$call.alice'
    """
    return min(call_a, call_b)
