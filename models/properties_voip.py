"""The VoIP switches, properties and guards of the matrix model (proposal: "VoIP").

A call is a room event and its signalling are its ``updates`` children
(:mod:`mxsim.models.device.calls`), so what a server holds of a call is read
from its room's event graph: the call event and the children it accepted,
in the order it accepted them.

Findings (``mxsim check``; lengths are the shortest traces, node starts included):

- ``check voip-1-to-n --set caller_acknowledges=false``: violates
  ``callees_settled`` and ``caller_and_callee_agree``: the devices that
  answered and were not chosen keep waiting; the ack is needed.
- ``check voip-multi-user-small --set caller_acknowledges=false``: violates
  ``caller_and_callee_agree``.
- ``check voip-multi-user-small --set rejection_scope=call`` (the proposal,
  literally): violates ``rejection_ends_only_its_user``: Carol's rejection
  is taken first, the caller acknowledges it ("either one which picked up or
  rejected") and the call ends for Bob, who answered, as "rejected
  elsewhere". The proposal only "addresses one-to-one calling with multiple
  devices"; ``rejection_scope = "user"`` fixes it for several users.
- ``check voip-federated --set caller_acknowledges=false``: the same as
  voip-1-to-n with the callee's devices on another server.
"""

from __future__ import annotations

from mxsim.models import call as C
from mxsim.models.homeserver.updates import children
from mxsim.sim.model import Switch, View, always, eventually, sometimes

__all__ = ["SWITCHES", "PROPERTIES"]

SWITCHES = (
    Switch(
        "caller_acknowledges",
        True,
        'VoIP, Event updates: "Caller acknowledges *one* of the callees (either one which '
        'picked up or rejected) by updating the event."',
    ),
    Switch(
        "rejection_scope",
        "call",
        'VoIP: "This addresses one-to-one calling with multiple devices"; Event updates: "Caller '
        'acknowledges *one* of the callees (either one which picked up or rejected)". "call" '
        "(the proposal, literally): the first response is acknowledged even if it is a "
        'rejection, and that ends the call for every callee user; "user" (mxsim\'s fix for '
        "calls to several users): a rejection is acknowledged for its user only (that user's "
        "other devices stop ringing) and the call goes on until one device answers or every "
        "callee user has rejected.",
        choices=("call", "user"),
    ),
)


def _devices(view: View) -> list[str]:
    return [n for n in view.nodes if view.kind(n) == "device" and "calls" in view.state(n)]


def bundles(view: View) -> list[tuple[str, dict, list[dict]]]:
    """(call ID, call event, children records) of every call, as each server holds it."""
    out = []
    for s in view.nodes:
        if view.kind(s) != "homeserver" or "updates" not in view.state(s):
            continue
        for store in view.state(s)["rooms"]["stores"].values():
            for eid in store["recent"]:
                ev = store["events"][eid]
                if ev["type"] == C.INVITE:
                    kids = [C.record(c) for c in children(store, eid)]
                    out.append((ev["content"]["call_id"], ev, kids))
    return out


def _records(view: View) -> dict[str, dict]:
    return {d: view.state(d)["calls"]["calls"] for d in _devices(view)}


@always("one_callee_in_call")
def one_callee_in_call(view: View) -> bool:
    """At most one callee device is ever in a call with the caller."""
    count: dict[str, int] = {}
    for calls in _records(view).values():
        for cid, rec in calls.items():
            if rec["role"] == "callee" and rec["connected"]:
                count[cid] = count.get(cid, 0) + 1
    return all(n <= 1 for n in count.values())


@eventually("callees_settled")
def callees_settled(view: View) -> bool:
    """At quiescence no device still rings or waits, and each says why it stopped."""
    for calls in _records(view).values():
        for rec in calls.values():
            if rec["state"] in C.UNSETTLED or not rec["reason"]:
                return False
    return True


@eventually("caller_and_callee_agree")
def caller_and_callee_agree(view: View) -> bool:
    """The caller's chosen device, and only it, was in the call with it."""
    records = _records(view)
    for cid, call, _ in bundles(view):
        caller = call["content"]["device_id"]
        rec = records.get(caller, {}).get(cid)
        if rec is None:
            continue
        joined = sorted(
            d for d, calls in records.items() if d != caller and calls.get(cid, {}).get("connected")
        )
        want = [rec["peer"]] if rec["connected"] else []
        if joined != want:
            return False
    return True


@eventually("hangup_ends_call")
def hangup_ends_call(view: View) -> bool:
    """After a hangup no device is in that call or ringing for it."""
    records = _records(view)
    for cid, _, kids in bundles(view):
        if C.outcome(kids)["hangup"] is None:
            continue
        for calls in records.values():
            if cid in calls and calls[cid]["state"] in C.UNSETTLED:
                return False
    return True


@eventually("rejection_ends_only_its_user")
def rejection_ends_only_its_user(view: View) -> bool:
    """A caller gives up as rejected only when every callee user rejected."""
    rejecters: dict[str, set] = {}
    for cid, _, kids in bundles(view):
        rejecters.setdefault(cid, set()).update(
            r["sender"] for r in C.outcome(kids)["responses"] if r["type"] == C.REJECT
        )
    for calls in _records(view).values():
        for cid, rec in calls.items():
            if rec["role"] != "caller" or rec["reason"] != "rejected" or cid not in rejecters:
                continue
            if sorted(rejecters[cid]) != rec["callees"]:
                return False
    return True


@sometimes("concurrent_answers")
def concurrent_answers(view: View) -> bool:
    """Two devices answered the same call concurrently: neither had received the
    other's answer when it sent its own (an answer given after the other was
    seen is ordered after it, not concurrent)."""
    answered: dict[str, dict[str, list]] = {}
    for d, calls in _records(view).items():
        for cid, rec in calls.items():
            if "seen" in rec:
                answered.setdefault(cid, {})[d] = rec["seen"]
    for seen in answered.values():
        devices = sorted(seen)
        for i, a in enumerate(devices):
            for b in devices[i + 1 :]:
                if b not in seen[a] and a not in seen[b]:
                    return True
    return False


@sometimes("answer_after_hangup")
def answer_after_hangup(view: View) -> bool:
    """An answer reached a server after the call was hung up."""
    for _, _, kids in bundles(view):
        hung = False
        for c in kids:
            hung |= c["type"] == C.HANGUP
            if hung and c["type"] == C.ANSWER:
                return True
    return False


@sometimes("rejection_before_answer")
def rejection_before_answer(view: View) -> bool:
    """One callee user's rejection reached a server before another user's answer."""
    for _, _, kids in bundles(view):
        kinds = [r["type"] for r in C.outcome(kids)["responses"]]
        if kinds[:1] == [C.REJECT] and C.ANSWER in kinds:
            return True
    return False


@sometimes("glare")
def glare(view: View) -> bool:
    """Two users called each other at once and a device saw both calls."""
    return any(view.state(d)["calls"]["glare"] for d in _devices(view))


PROPERTIES = (
    one_callee_in_call,
    callees_settled,
    caller_and_callee_agree,
    hangup_ends_call,
    rejection_ends_only_its_user,
    concurrent_answers,
    answer_after_hangup,
    rejection_before_answer,
    glare,
)
