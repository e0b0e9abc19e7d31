"""What a join returns besides the room's events (proposal, "Joining a room", Outputs:
"member list (f.e. member: user ID, avatar, presence, display name, power level,
whether they are typing), enough messages to fill screen (and whether there are
more)").

Before this part a ``joined`` answer held the room ID, the room's current
state as the join's filter passes it (aliases, name, topic, the member events
and power levels among it) and up to ``limit`` messages with the scrollback
token; now it also carries ``members`` (user -> ``presence``, ``typing``,
``power``, ``name``) and ``more`` (older messages than the ``limit`` exist).
Not modelled: avatars, and typing users of other servers (``ephemeral``).

Which moment the members' presence and typing describe is switch
``join_snapshot``: ``at_token``, the answer's stream position (what changes
later follows in the stream past it); ``stale``, a summary the server refreshes
when the room gets an event, not when presence or typing change (so a change
between the room's last event and the join is in neither the answer nor the
stream after it). With this part configured the server records, per join
event, the members and messages at the answer's stream position (its
``truth``) for the property ``join_output_agrees``.
"""

from __future__ import annotations

from typing import Any

from mxsim.models import room as R
from mxsim.models import room_history as H
from mxsim.models.events import is_state
from mxsim.models.room import SEP
from mxsim.sim.model import Switch
from mxsim.sim.node import Context
from mxsim.sim.parts import Part

__all__ = ["JoinOutputs", "member_summary", "more_messages", "outputs"]

JOIN_SNAPSHOT = Switch(
    "join_snapshot",
    "at_token",
    'Joining a room, Outputs: "member list (f.e. member: user ID, avatar, presence, display '
    'name, power level, whether they are typing)" (at_token: as they are at the stream '
    "position the join returns; stale: from a summary refreshed when the room gets an "
    "event, so a presence or typing change since is lost for the joiner).",
    ("at_token", "stale"),
)


def typing_users(st: dict, store: dict, room: str) -> list[str]:
    """The room's typing users on a server with state ``st`` (proposal, "Typing")."""
    if "typing" not in st:
        return []
    sessions, typing = st["sessions"]["sessions"], st["typing"]["typing"]
    members = set(R.members(store))
    return sorted({sessions[d]["user"] for d in typing if room in typing[d]} & members)


def member_summary(st: dict, store: dict, room: str) -> dict[str, dict[str, Any]]:
    """Each joined member's presence, typing, power level and display name, as the
    server with state ``st`` holds them now."""
    presence = st.get("presence", {}).get("users", {})
    typing = typing_users(st, store, room)
    pl = store["events"].get(store["current"].get(f"m.room.power_levels{SEP}"), {})
    levels = pl.get("content", {})
    out = {}
    for user in R.members(store):
        member = store["events"][store["current"][f"m.room.member{SEP}{user}"]]
        out[user] = {
            "presence": presence.get(user, {}).get("presence", "offline"),
            "typing": user in typing,
            "power": levels.get("users", {}).get(user, levels.get("users_default", 0)),
            "name": member.get("content", {}).get("displayname"),
        }
    return out


def more_messages(store: dict, limit: int) -> bool:
    """Whether the room has more messages than the ``limit`` newest a join shows."""
    frontier = [[store["events"][e]["depth"], e] for e in store["extremities"]]
    shown, _, _ = H.walk_back(store, frontier, limit + 1, lambda ev: not is_state(ev))
    return len(shown) > limit


def messages_in(store: dict) -> int:
    """The room's messages clients may be shown, counted over the whole graph."""
    events, hidden = store["events"], set(store["rejected"]) | set(store["soft_failed"])
    return sum(1 for e, ev in events.items() if not is_state(ev) and e not in hidden)


def outputs(node: Any, state: dict, store: dict, ev: dict, limit: int) -> dict[str, Any]:
    """The ``members`` and ``more`` of the answer to join event ``ev`` (``limit``:
    the messages it holds)."""
    part = node.part("join_outputs")
    if part is not None:
        return part.answer(state, store, ev, limit)
    return {
        "members": member_summary(state, store, ev["room_id"]),
        "more": more_messages(store, limit),
    }


class JoinOutputs(Part):
    """State: ``truth`` (join event ID -> the members, the room's messages and the
    join's limit at the answer's stream position) and, under ``stale``,
    ``summary`` (room -> the room's event count and its members then)."""

    name = "join_outputs"
    section = "Joining a room (Outputs)"
    switches = (JOIN_SNAPSHOT,)

    def initial(self) -> dict[str, Any]:
        return {"truth": {}, "summary": {}}

    def stale(self) -> bool:
        return self.node.switches["join_snapshot"] == "stale"

    def answer(self, state: dict, store: dict, ev: dict, limit: int) -> dict[str, Any]:
        room = ev["room_id"]
        now = member_summary(state, store, room)
        truth = {"members": now, "messages": messages_in(store), "limit": limit}
        self.of(state)["truth"][ev["event_id"]] = truth
        members = now
        if self.stale():
            then = self.of(state)["summary"].get(room, {}).get("members", {})
            members = {u: {**m, **_ephemeral(then.get(u))} for u, m in now.items()}
        return {"members": members, "more": more_messages(store, limit)}

    def after(self, ctx: Context, state: dict) -> None:
        if not self.stale():
            return
        summary = self.of(state)["summary"]
        stores = self.node.part("rooms").stores(state)
        for room in sorted(stores):
            count = len(stores[room]["events"])
            if summary.get(room, {}).get("events") != count:
                members = member_summary(state, stores[room], room)
                summary[room] = {"events": count, "members": members}


def _ephemeral(member: dict | None) -> dict[str, Any]:
    """A summary's presence and typing of a member (offline, not typing if absent)."""
    member = member or {}
    return {"presence": member.get("presence", "offline"), "typing": member.get("typing", False)}
