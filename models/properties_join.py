"""The join's outputs, judged (proposal, "Joining a room", Outputs: "member list (f.e.
member: user ID, avatar, presence, display name, power level, whether they are
typing), enough messages to fill screen (and whether there are more)").

- ``join_output_agrees`` (always): every ``joined`` answer a device holds lists
  the members as its server had them at the answer's stream position (the
  server's ``join_outputs`` truth), and says ``more`` exactly when the room had
  more messages than the join's limit;
- ``joiner_view_current`` (eventually): a device's view of each member's
  presence, typing, power level and display name is its server's.

Guard: ``changed_during_join``, a member's presence or typing changed in the
first stream batch after the answer (the change raced the join).

Finding (README): ``mxsim check join-outputs --set join_snapshot=stale``.
"""

from __future__ import annotations

from mxsim.models.homeserver.join_outputs import member_summary
from mxsim.sim.model import View, always, eventually, sometimes

__all__ = ["PROPERTIES"]


def _joiners(view: View) -> list[str]:
    return [d for d in view.nodes if view.kind(d) == "device" and "members" in view.state(d)]


def _server(view: View, device: str) -> dict:
    return view.state(view.config(device)["server"])


@always("join_output_agrees")
def join_output_agrees(view: View) -> bool:
    """A join's answer lists the members as they were at its stream position, and
    ``more`` says whether messages were cut."""
    for d in _joiners(view):
        truths = _server(view, d).get("join_outputs", {}).get("truth", {})
        for out in view.state(d)["members"]["outputs"].values():
            truth = truths.get(out["event_id"])
            if truth is None:
                continue  # a server without the part records nothing to judge by
            if out["members"] != truth["members"]:
                return False
            if out["more"] != (truth["messages"] > truth["limit"]):
                return False
    return True


@eventually("joiner_view_current")
def joiner_view_current(view: View) -> bool:
    """A device's view of every member of the rooms it joined is its server's."""
    for d in _joiners(view):
        st = _server(view, d)
        for room, members in view.state(d)["members"]["rooms"].items():
            store = st["rooms"]["stores"].get(room)
            if store is None or member_summary(st, store, room) != members:
                return False
    return True


@sometimes("changed_during_join")
def changed_during_join(view: View) -> bool:
    """A member's presence or typing changed in the joiner's first stream batch
    after its join's answer."""
    return any(view.state(d)["members"]["seen"]["changed_during_join"] for d in _joiners(view))


PROPERTIES = (join_output_agrees, joiner_view_current, changed_during_join)
