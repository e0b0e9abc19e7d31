"""Expiry of calls and their invites (proposal: "VoIP", "Expiry": "WIP: Of
invites"; "WIP: Of calls themselves (as they may never send a
``m.call.hangup``)").

A caller with ``lifetime_ms`` puts the invite's ``lifetime`` in its content
(as Matrix VoIP later did). Each device that knows the call (the caller when
it places it, a callee when its stream first shows it) arms one timer of that
lifetime; if the call is still unsettled when it fires, the device gives up:
a callee that rings or waits for the caller's choice ends it as "invite
expired"; a caller still calling hangs up ("invite expired"); a device in the
call hangs up ("call expired"). The lifetime bounds the whole call: the model
has no media to tell a live call from a dead one. So a lost hangup ends the
call for every device in bounded time. With ``call_expiry = "off"`` devices
ignore the lifetime, and a device whose hangup never arrives rings for ever.

A mixin of :class:`mxsim.models.device.calls.Calls`.
"""

from __future__ import annotations

from mxsim.models import call as C
from mxsim.models import properties_voip as P
from mxsim.models.device.call_caller import _end
from mxsim.sim.model import Switch, View, sometimes
from mxsim.sim.node import Context

__all__ = ["CALL_EXPIRY", "Expiry", "PROPERTIES"]

CALL_EXPIRY = Switch(
    "call_expiry",
    "on",
    'VoIP, Expiry: "WIP: Of invites"; "WIP: Of calls themselves (as they may never send a '
    'm.call.hangup)" ("off": devices ignore an invite\'s lifetime).',
    choices=("on", "off"),
)


class Expiry:
    """The timers that end a call whose end never arrived."""

    def lifetime(self, ev_content: dict) -> int | None:
        """The invite's lifetime in milliseconds, if the devices honour one."""
        if self.node.switches["call_expiry"] != "on":
            return None
        return ev_content.get("lifetime")

    def arm_expiry(self, ctx: Context, state: dict, cid: str, lifetime: int | None) -> None:
        if lifetime is not None:
            self.of(state)["calls"][cid]["expires"] = True
            ctx.set_timer(self.timer(f"expire:{cid}"), lifetime)

    def settle_expiry(self, ctx: Context, state: dict, cid: str) -> None:
        """A call that ended by itself needs its expiry no more."""
        rec = self.of(state)["calls"][cid]
        if rec["state"] == "ended":
            rec.pop("lifetime", None)  # it ended before it rang
        if rec["state"] == "ended" and rec.pop("expires", False):
            ctx.cancel_timer(self.timer(f"expire:{cid}"))

    def on_expire(self, ctx: Context, state: dict, cid: str) -> None:
        rec = self.of(state)["calls"][cid]
        rec.pop("expires", None)
        if rec["state"] not in C.UNSETTLED:
            return
        ctx.metric("voip.expired")
        if rec["state"] == "in_call":
            self._child(ctx, state, cid, C.HANGUP, reason="call expired")
            _end(rec, "call expired")
        elif rec["role"] == "caller":
            self._child(ctx, state, cid, C.HANGUP, reason="invite expired")
            _end(rec, "invite expired")
        else:
            _end(rec, "invite expired")  # it stops ringing (or waiting for the ack)


@sometimes("ring_expired")
def ring_expired(view: View) -> bool:
    """A callee stopped ringing when the invite expired, its caller having hung
    up for good: no server took the hangup, and it never will (the caller has
    no resends left and nothing is in flight to or from it)."""
    calls = {
        d: view.state(d)["calls"]
        for d in view.nodes
        if view.kind(d) == "device" and "calls" in view.state(d)
    }
    taken = {cid for cid, _, kids in P.bundles(view) if C.outcome(kids)["hangup"] is not None}
    for mine in calls.values():
        for cid, rec in mine["calls"].items():
            if rec["role"] != "callee" or rec["reason"] != "invite expired" or cid in taken:
                continue
            for d, theirs in calls.items():
                caller = theirs["calls"].get(cid)
                if caller is None or caller["role"] != "caller" or caller["reason"] != "hangup":
                    continue
                budget = view.config(d).get("calls", {}).get("max_polls", 2)
                talking = any(d in (src, dst) for src, dst, _ in view.inflight())
                if theirs["polls"] >= budget and not talking:
                    return True
    return False


PROPERTIES = (ring_expired,)
