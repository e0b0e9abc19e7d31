"""Explainers of the ICE candidate properties (``models/device/call_ice.py``):
which device applied which of the caller's candidates, in what order."""

from __future__ import annotations

from mxsim.models import call as C
from mxsim.models.explain import Moment, explains


def _callees(at: Moment):
    view = at.after
    for d in view.nodes:
        if view.kind(d) == "device" and "calls" in view.state(d):
            for cid, rec in sorted(view.state(d)["calls"]["calls"].items()):
                if rec["role"] == "callee":
                    yield d, cid, rec


def _shown(ice: list) -> str:
    return ", ".join(f"c{seq} (for {to})" for to, seq in ice)


@explains("candidates_in_order")
def candidates_in_order(at: Moment) -> str | None:
    for d, cid, rec in _callees(at):
        seqs = [seq for to, seq in rec.get("ice", ()) if to == d]
        if seqs != list(range(len(seqs))):
            order = ", ".join(f"c{s}" for s in seqs)
            return f"{d} applied the caller's candidates of {cid} as {order}, not in the order made"
    return None


@explains("candidates_to_selected")
def candidates_to_selected(at: Moment) -> str | None:
    for d, cid, rec in _callees(at):
        stray = [[to, seq] for to, seq in rec.get("ice", ()) if to != d]
        if stray:
            return f"{d} ({rec['state']}) applied {_shown(stray)} of {cid}, made for another device"
    return None


@explains("ice_complete")
def ice_complete(at: Moment) -> str | None:
    for d, cid, rec in _callees(at):
        ack = C.outcome(rec["children"])["ack"]
        if not rec["connected"] or ack is None or ack["selected"] != d:
            continue
        mine = sorted(seq for to, seq in rec.get("ice", ()) if to == d)
        want = ack.get("candidates", 0)
        if mine != list(range(want)):
            return f"{d} was chosen in {cid} and told of {want} candidates but has {len(mine)}"
    return None
