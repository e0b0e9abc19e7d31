"""ICE candidates after the caller's choice (proposal: "VoIP", "Event updates":
"Update with ICE candidates as they appear."; "Placing a call": after
``m.call.ack device_id=foo`` the caller and the chosen callee ``foo`` exchange
``m.call.candidate`` updates).

A caller with ``candidates = N`` (config of ``calls``) sends N candidates as
soon as it has acknowledged an answer, each its own ``send_event`` request (a
client trickles candidates as they appear, in parallel), each an update of the
call naming the device it is ``for`` (the selected one) and its ``seq``
(0..N-1); the ack announces how many will come (``candidates``), so the chosen
callee knows when it has them all (ICE's end of candidates) and only then goes
on to its hangup (``hangup_in_call``).

Nothing but the action IDs orders the candidates: the requests race each other
to the server, and the proposal's "sequence ID for ordering actions performed
in parallel by that client" (Action APIs) is what puts them in the room, and
so in every stream, in the order they were made. Two switches model the
callee's side:

- ``candidate_order``: "stream" (the proposal: a device takes updates in the
  order its stream gives them) or "seq" (the device orders them by ``seq``
  itself, as Matrix VoIP later did by sending candidates in arrays);
- ``candidate_audience``: "addressed" (only the device a candidate is ``for``
  takes it; the others "give up") or "any" (every callee device still in the
  call takes every candidate of the caller's).

Findings (``mxsim check voip-ice``): with ``hold_out_of_order = false`` the
server takes candidates in the order they arrive and the chosen device
applies them out of order (``candidates_in_order``); ``candidate_order =
"seq"`` fixes that without the server. With ``hold_out_of_order = false`` and
``candidate_audience = "any"`` a candidate can overtake the ack and a device
that was not chosen takes it (``candidates_to_selected``).

A mixin of :class:`mxsim.models.device.calls.Calls`.
"""

from __future__ import annotations

from mxsim.models import call as C
from mxsim.sim.model import Switch, View, always, eventually, sometimes
from mxsim.sim.node import Context

__all__ = ["IceSide", "SWITCHES", "PROPERTIES"]

SWITCHES = (
    Switch(
        "candidate_order",
        "stream",
        'VoIP, Event updates: "Update with ICE candidates as they appear." Action APIs: the '
        'action ID is "a sequence ID for ordering actions performed in parallel by that '
        'client" ("stream": a device applies candidates in the order its stream gives them; '
        '"seq": it orders them by their sequence number itself).',
        choices=("stream", "seq"),
    ),
    Switch(
        "candidate_audience",
        "addressed",
        'VoIP, Placing a call: after "m.call.ack device_id=foo" candidates pass between the '
        'caller and foo; Event updates: "Callees who weren\'t chosen then give up" '
        '("addressed": only the device a candidate is for takes it; "any": every callee '
        "device still in the call takes the caller's candidates).",
        choices=("addressed", "any"),
    ),
)


class IceSide:
    """The caller's trickled candidates and the callee's taking of them."""

    def ice_announce(self) -> dict:
        """What the ack adds: how many candidates follow it (none: nothing)."""
        n = self.config.get("candidates", 0)
        return {"candidates": n} if n else {}

    def send_candidates(self, ctx: Context, state: dict, cid: str, selected: str) -> None:
        """The caller's candidates for ``selected``, one request each, made at once."""
        for seq in range(self.config.get("candidates", 0)):
            self._child(ctx, state, cid, C.CANDIDATE, candidate=f"c{seq}", seq=seq, to=selected)

    def take_candidates(self, rec: dict, children: list[dict]) -> None:
        """Apply the caller's candidates this device sees, as the switches say;
        ``rec["ice"]``: [device it was for, seq] in the order applied."""
        me = self.node.name
        theirs = [c for c in children if c["type"] == C.CANDIDATE and "to" in c]
        if self.node.switches["candidate_audience"] == "addressed":
            theirs = [c for c in theirs if c["to"] == me]
        if self.node.switches["candidate_order"] == "stream":
            applied = [[c["to"], c["seq"]] for c in theirs]
        else:
            have = {c["seq"] for c in theirs if c["to"] == me}
            applied = []
            while len(applied) in have:
                applied.append([me, len(applied)])
        if applied:
            rec["ice"] = applied

    def ice_done(self, rec: dict, ack: dict | None) -> bool:
        """The chosen callee has every candidate the ack announced."""
        return ack is None or len(rec.get("ice", ())) >= ack.get("candidates", 0)


def _callee_records(view: View):
    for d in view.nodes:
        if view.kind(d) == "device" and "calls" in view.state(d):
            for cid, rec in view.state(d)["calls"]["calls"].items():
                if rec["role"] == "callee":
                    yield d, cid, rec


@always("candidates_in_order")
def candidates_in_order(view: View) -> bool:
    """The chosen device applies the caller's candidates in the order they were made."""
    for d, _, rec in _callee_records(view):
        seqs = [seq for to, seq in rec.get("ice", ()) if to == d]
        if seqs != list(range(len(seqs))):
            return False
    return True


@always("candidates_to_selected")
def candidates_to_selected(view: View) -> bool:
    """No device applies a candidate the caller made for another device."""
    return all(to == d for d, _, rec in _callee_records(view) for to, _ in rec.get("ice", ()))


@eventually("ice_complete")
def ice_complete(view: View) -> bool:
    """At quiescence the chosen device has applied every candidate the ack announced."""
    for d, _, rec in _callee_records(view):
        ack = C.outcome(rec["children"])["ack"]
        if not rec["connected"] or ack is None or ack["selected"] != d:
            continue
        mine = [seq for to, seq in rec.get("ice", ()) if to == d]
        if sorted(mine) != list(range(ack.get("candidates", 0))):
            return False
    return True


@sometimes(C.OVERTOOK)
def candidate_overtook(view: View) -> bool:
    """A caller's candidate reached its server ahead of an action the caller made
    before it (the race the action IDs order; the server's ``actions`` part
    notes it, whether or not it holds the request)."""
    return any(
        view.state(s).get("actions", {}).get(C.OVERTOOK)
        for s in view.nodes
        if view.kind(s) == "homeserver"
    )


PROPERTIES = (candidates_in_order, candidates_to_selected, ice_complete, candidate_overtook)
