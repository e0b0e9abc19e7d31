"""Room actions checked in scenarios (proposal: "Room Creation", "Joining a
room", "Rejecting an invite", "Deleting a state event", "Action APIs").

The actions themselves are the homeserver's ``rooms`` and ``joining`` parts;
these properties judge what they leave in every server's copy of a room:

- ``rejected_invite_deleted`` (eventually): "Rejecting an invite results in
  the m.room.member state event being DELETEd for that user": once a server
  took the deletion, no server still holds the invite it deleted;
- ``kicks_stick`` (eventually): a kick some server accepted holds on every
  server unless the user joined again after it (a join built on the kick).

Guards: ``invite_rejected_remotely`` (a user rejected an invite to a room its
server is not in, through the inviting server) and ``early_event_kept`` (a
server joining through another was sent an event of the room before the
room's state, and kept it: switch ``join_keeps_early_events``).

Finding (README, "The matrix model"):

- ``mxsim check room-actions --random --set join_keeps_early_events=false``:
  the ban of Bob reaches hs2 while Bob's join handshake is under way; hs2,
  not yet in the room, drops it, then joins Bob on the state from before the
  ban: hs1 holds Bob banned, hs2 joined (``bans_stick``, ``state_consistency``).
"""

from __future__ import annotations

from mxsim.models import room as R
from mxsim.sim.model import View, eventually, sometimes

__all__ = ["PROPERTIES"]

MEMBER = "m.room.member"


def _stores(view: View) -> list[tuple[str, str, dict]]:
    """(server, room, store) of every room every server holds."""
    return [
        (s, room, store)
        for s in view.nodes
        if view.kind(s) == "homeserver"
        for room, store in sorted(view.state(s)["rooms"]["stores"].items())
    ]


def _accepted(store: dict, eid: str) -> bool:
    return R.placed(store, eid) and eid not in store["rejected"]


def _deletions(store: dict) -> list[tuple[str, dict]]:
    """(invite event ID, its deletion) of every member deletion the store took."""
    out = []
    for eid, ev in sorted(store["events"].items()):
        if ev["type"] != MEMBER or "content" in ev or not _accepted(store, eid):
            continue
        for aid in ev.get("auth_events", ()):
            invite = store["events"].get(aid, {})
            if invite.get("type") == MEMBER and invite.get("state_key") == ev["state_key"]:
                out.append((aid, ev))
    return out


@eventually("rejected_invite_deleted")
def rejected_invite_deleted(view: View) -> bool:
    """Once a server took the deletion of a rejected invite, no server in the
    room still holds that invite as the user's membership."""
    deleted: dict[str, dict[str, str]] = {}  # room -> {invite event ID: user}
    for _, room, store in _stores(view):
        for invite, ev in _deletions(store):
            deleted.setdefault(room, {})[invite] = ev["state_key"]
    for _, room, store in _stores(view):
        for invite, user in sorted(deleted.get(room, {}).items()):
            if store["current"].get(f"{MEMBER}{R.SEP}{user}") == invite:
                return False
    return True


def _kicks(store: dict) -> list[dict]:
    out = []
    for eid, ev in sorted(store["events"].items()):
        if ev["type"] != MEMBER or not _accepted(store, eid) or eid in store["soft_failed"]:
            continue
        if ev.get("content", {}).get("membership") == "leave" and ev["sender"] != ev["state_key"]:
            out.append(ev)
    return out


@eventually("kicks_stick")
def kicks_stick(view: View) -> bool:
    """A kick some server accepted holds on every server in the room, unless the
    user joined again after it (a join with the kick among its ancestors)."""
    kicks: dict[str, list[dict]] = {}
    for _, room, store in _stores(view):
        for ev in _kicks(store):
            if all(k["event_id"] != ev["event_id"] for k in kicks.get(room, [])):
                kicks.setdefault(room, []).append(ev)
    for _, room, store in _stores(view):
        if not store["current"]:
            continue
        for kick in kicks.get(room, []):
            user = kick["state_key"]
            if R.membership(store, user) != "join":
                continue
            join = store["current"][f"{MEMBER}{R.SEP}{user}"]
            if kick["event_id"] not in R.ancestors(store, join, kick["depth"]):
                return False
    return True


@sometimes("invite_rejected_remotely")
def invite_rejected_remotely(view: View) -> bool:
    """A user rejected an invite to a room its server is not in: the inviting
    server made the deletion for it."""
    for s, _, store in _stores(view):
        for _, ev in _deletions(store):
            if ev["state_key"].split(":", 1)[1] != s and ev["event_id"].startswith(f"${s}."):
                return True
    return False


@sometimes("early_event_kept")
def early_event_kept(view: View) -> bool:
    """A server joining a room through another was sent one of the room's events
    before the room's state reached it, and kept it."""
    return any(
        view.state(s).get("federation", {}).get("seen", {}).get("early_event")
        for s in view.nodes
        if view.kind(s) == "homeserver"
    )


PROPERTIES = (rejected_invite_deleted, kicks_stick, invite_rejected_remotely, early_event_kept)
