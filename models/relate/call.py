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
``m.call.candidate`` and ``m.call.hangup``, each naming the ``device_id`` that
sent it (the ack names the device chosen in ``selected``). A device never keeps its own idea
of the call apart from the bundle: everything it does is a function of the
call event and the children it has seen, so duplicated or re-sent bundles
change nothing (:func:`outcome`).

Glare (two users calling each other at once) is not in the proposal. mxsim's
rule, the one Matrix VoIP later adopted in spirit: **the call with the
lexicographically lower call ID wins**. A device that is calling a user and
sees an invite from that user compares the two IDs; if its own call is the
higher, it hangs its own call up (reason ``glare``) and answers the other;
if its own is the lower, it sets the incoming call aside (reason ``glare``)
and waits, knowing the other side does the same comparison.

>>> ev = invite("alice", "@alice:hs", ["@bob:hs"], "$call.alice")
>>> ans = child(ev["event_id"], "m.call.answer", "bob1", "@bob:hs", 1)
>>> outcome([ans])["responses"] == [ans]
True
"""

from __future__ import annotations

from typing import Any

from mxsim.models.events import make_event

__all__ = [
    "INVITE",
    "ANSWER",
    "REJECT",
    "ACK",
    "CANDIDATE",
    "HANGUP",
    "ROOM",
    "invite",
    "child",
    "outcome",
    "glare_winner",
]

INVITE = "m.call.invite"
ANSWER = "m.call.answer"
REJECT = "m.call.reject"
ACK = "m.call.ack"
CANDIDATE = "m.call.candidate"
HANGUP = "m.call.hangup"

#: The room the calls happen in (one room; the model is about the call events).
ROOM = "!call:hs"

Event = dict[str, Any]


def invite(device: str, user: str, callees: list[str], call_id: str) -> Event:
    """The call event: "Event generated with offer"."""
    return make_event(
        room_id=ROOM,
        type=INVITE,
        sender=user,
        content={"offer": f"sdp-offer-{device}", "callees": sorted(callees)},
        depth=1,
        event_id=call_id,
        device_id=device,
    )


def child(call_id: str, etype: str, device: str, user: str, n: int, **content: Any) -> Event:
    """A signalling update of call ``call_id`` (the ``n``-th event ``device`` makes)."""
    return make_event(
        room_id=ROOM,
        type=etype,
        sender=user,
        content=content,
        depth=2,
        event_id=f"${device}.{n}",
        device_id=device,
        updates=call_id,
    )


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
