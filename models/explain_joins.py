"""Explainers of the join's outputs (``models/properties_join.py``; proposal,
"Joining a room", Outputs)."""

from __future__ import annotations

from typing import Any

from mxsim.models.explain import Moment, devices, explains
from mxsim.models.homeserver.join_outputs import member_summary
from mxsim.sim.model import View


def _differ(said: dict[str, Any], held: dict[str, Any]) -> str | None:
    """The first member field two member lists disagree on, in words."""
    for user in sorted(set(said) | set(held)):
        a, b = said.get(user), held.get(user)
        if a is None:
            return f"no {user} where the server has {b}"
        if b is None:
            return f"{user}, not a member on the server"
        for field in ("presence", "typing", "power", "name"):
            if a.get(field) != b.get(field):
                return f"{user}'s {field} {a.get(field)!r} where the server has {b.get(field)!r}"
    return None


def _joiners(view: View) -> list[str]:
    return [d for d in devices(view) if "members" in view.state(d)]


@explains("join_output_agrees")
def join_output_agrees(at: Moment) -> str | None:
    view = at.after
    for d in _joiners(view):
        server = view.config(d)["server"]
        truths = view.state(server).get("join_outputs", {}).get("truth", {})
        for room, out in sorted(view.state(d)["members"]["outputs"].items()):
            truth = truths.get(out["event_id"])
            if truth is None:
                continue
            differ = _differ(out["members"], truth["members"])
            if differ is not None:
                return f"{d}'s join of {room} lists {differ} at the answer's stream position"
            cut = truth["messages"] > truth["limit"]
            if out["more"] != cut:
                return (
                    f"{d}'s join of {room} says more={out['more']} but the room had"
                    f" {truth['messages']} messages for a limit of {truth['limit']}"
                )
    return None


@explains("joiner_view_current")
def joiner_view_current(at: Moment) -> str | None:
    view = at.after
    for d in _joiners(view):
        server = view.config(d)["server"]
        st = view.state(server)
        for room, members in sorted(view.state(d)["members"]["rooms"].items()):
            store = st["rooms"]["stores"].get(room)
            if store is None:
                return f"{d} shows members of {room}, which {server} does not hold"
            differ = _differ(members, member_summary(st, store, room))
            if differ is not None:
                return f"{d} ends showing {differ} in {room}: the change never reached it"
    return None
