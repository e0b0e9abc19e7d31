"""Explainers of the VoIP properties (``models/properties_voip.py``): who answered,
whom the caller chose, and who was never told."""

from __future__ import annotations

from mxsim.models import call as C
from mxsim.models.explain import Moment, explains
from mxsim.sim.model import View


def _records(view: View) -> dict[str, dict]:
    """Device -> call ID -> the device's record of that call."""
    return {
        d: view.state(d)["calls"]["calls"]
        for d in view.nodes
        if view.kind(d) == "device" and "calls" in view.state(d)
    }


def _caller(records: dict[str, dict], cid: str) -> tuple[str, dict] | None:
    for d, calls in sorted(records.items()):
        rec = calls.get(cid)
        if rec is not None and rec["role"] == "caller":
            return d, rec
    return None


def _choice(records: dict[str, dict], cid: str) -> str:
    """What the caller made of the call: whom it chose, or that it chose nobody."""
    found = _caller(records, cid)
    if found is None:
        return "the caller is not in this run"
    caller, rec = found
    if rec.get("peer"):
        return f"{caller} chose {rec['peer']}"
    return f"{caller} chose nobody ({rec['state']})"


@explains("callees_settled")
def callees_settled(at: Moment) -> str | None:
    records = _records(at.after)
    for cid in sorted({c for calls in records.values() for c in calls}):
        waiting = [
            f"{d} ({calls[cid]['state']})"
            for d, calls in sorted(records.items())
            if cid in calls
            and calls[cid]["role"] == "callee"
            and (calls[cid]["state"] in C.UNSETTLED or not calls[cid]["reason"])
        ]
        found = _caller(records, cid)
        if not waiting and found is not None:
            caller, rec = found
            if rec["state"] in C.UNSETTLED or not rec["reason"]:
                return f"{caller}, the caller, still waits in {cid} ({rec['state']})"
        if not waiting:
            continue
        choice = _choice(records, cid)
        selected = found is not None and any(
            c["type"] == C.ACK for c in found[1].get("children", [])
        )
        told = "" if selected else " but sent no select"
        return f"{choice}{told}: {', '.join(waiting)} still wait in {cid}, never told"
    return None


@explains("caller_and_callee_agree")
def caller_and_callee_agree(at: Moment) -> str | None:
    records = _records(at.after)
    for cid in sorted({c for calls in records.values() for c in calls}):
        found = _caller(records, cid)
        if found is None:
            continue
        caller, rec = found
        joined = sorted(
            d for d, calls in records.items() if d != caller and calls.get(cid, {}).get("connected")
        )
        want = [rec["peer"]] if rec["connected"] else []
        if joined != want:
            chosen = f"is in the call with {want[0]}" if want else "is in the call with nobody"
            inside = ", ".join(joined) if joined else "none"
            return f"{caller} {chosen} ({cid}), but callee devices in it: {inside}"
    return None


@explains("one_callee_in_call")
def one_callee_in_call(at: Moment) -> str | None:
    inside: dict[str, list[str]] = {}
    for d, calls in sorted(_records(at.after).items()):
        for cid, rec in sorted(calls.items()):
            if rec["role"] == "callee" and rec["connected"]:
                inside.setdefault(cid, []).append(d)
    for cid, who in sorted(inside.items()):
        if len(who) > 1:
            return f"{' and '.join(who)} are all in {cid} with the caller"
    return None


@explains("hangup_ends_call")
def hangup_ends_call(at: Moment) -> str | None:
    for d, calls in sorted(_records(at.after).items()):
        for cid, rec in sorted(calls.items()):
            hung = any(c["type"] == C.HANGUP for c in rec.get("children", []))
            if hung and rec["state"] in C.UNSETTLED:
                return f"{cid} was hung up, yet {d} is still {rec['state']}"
    return None


@explains("rejection_ends_only_its_user")
def rejection_ends_only_its_user(at: Moment) -> str | None:
    for d, calls in sorted(_records(at.after).items()):
        for cid, rec in sorted(calls.items()):
            if rec["role"] != "caller" or rec["reason"] != "rejected":
                continue
            rejecters = sorted(
                {c["sender"] for c in rec.get("children", []) if c["type"] == C.REJECT}
            )
            if rejecters != rec["callees"]:
                others = sorted(set(rec["callees"]) - set(rejecters))
                return (
                    f"{d} ended {cid} as rejected after {', '.join(rejecters) or 'nobody'}"
                    f" rejected; {', '.join(others)} never did"
                )
    return None
