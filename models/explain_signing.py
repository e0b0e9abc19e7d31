"""Explainers of the E2E signing properties (``models/homeserver/signing.py``,
``models/device/signing.py``): which signed event changed, or went unseen."""

from __future__ import annotations

from mxsim.models.explain import Moment, devices, explains
from mxsim.models.signatures import verifies


@explains("signatures_verify")
def signatures_verify(at: Moment) -> str | None:
    view = at.after
    for hs in sorted(n for n in view.nodes if view.kind(n) == "homeserver"):
        for room, store in sorted(view.state(hs)["rooms"]["stores"].items()):
            for eid, ev in sorted(store["events"].items()):
                if "signatures" in ev and not verifies(ev):
                    after = ", ".join(ev["prev_events"])
                    return (
                        f"{hs} placed {eid} in {room} after {after}, not after what"
                        f" {', '.join(ev['signatures'])} signed: the signature no longer verifies"
                    )
    return None


@explains("signed_messages_sent")
def signed_messages_sent(at: Moment) -> str | None:
    view = at.after
    for d in devices(view):
        mine = view.state(d).get("signing")
        if mine is None:
            continue
        for eid in sorted(mine["signed"]):
            if not mine["sent"].get(eid):
                return f"{d} signed {eid} but was told it was not sent"
    return None


@explains("signed_messages_shown")
def signed_messages_shown(at: Moment) -> str | None:
    view = at.after
    for d in devices(view):
        st = view.state(d)
        if "signing" not in st:
            continue
        shown = {eid for eids in st["timeline"]["timeline"].values() for eid in eids}
        for eid, ok in sorted(st["signing"]["sent"].items()):
            if ok and eid not in shown:
                return f"{d}'s server took its signed {eid}, but {d} is never shown it"
    return None
