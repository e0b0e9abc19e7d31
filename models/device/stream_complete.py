"""The property that a device's stream lost nothing (proposal: "Event Stream API")."""

from __future__ import annotations

from mxsim.sim.model import View, eventually

__all__ = ["stream_complete"]


@eventually("stream_complete")
def stream_complete(view: View) -> bool:
    """At quiescence each device applied every position its server gave its stream
    (nothing waits in its buffer, nothing is missing before its position); a
    stream that closed with its session, up to where it closed."""
    for d in view.nodes:
        if view.kind(d) != "device":
            continue
        mine = view.state(d)["stream"]
        server = view.state(view.config(d)["server"])
        info = server["stream"]["devices"].get(d)
        issued = 0 if info is None else info["pos"]
        held = server.get("sync", {}).get("held", {}).get(d)
        if held is not None:
            issued = held - 1  # its stream closed with its session (the sync part)
        if mine["buffer"] or mine["last_pos"] != issued:
            return False
    return True
