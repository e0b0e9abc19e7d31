"""Presence on the homeserver (proposal: "Presence").

"When a session starts, the home server can treat the user as "online". When
the session ends, the home server can treat the user as "offline"." The
proposal leaves several devices open ("TODO: Handle multiple devices"), so
how a user's presence follows several sessions is the switch
``presence_of_user``: ``"last_session"`` (the text read literally: the user
takes the presence of whichever session changed last, so one device going
offline makes the user offline while another is online) or
``"any_session"`` (offline only when no session is live; otherwise the
presence most recently set by a live session).

A change of a user's presence is an ``m.presence`` event in the stream of
every device of this server (it is not a room event).
"""

from __future__ import annotations

from typing import Any

from mxsim.sim.model import Switch, View, always, sometimes
from mxsim.sim.node import Context
from mxsim.sim.parts import Part

__all__ = ["Presence"]

PRESENCE_OF_USER = Switch(
    "presence_of_user",
    "last_session",
    'Presence: "When the session ends, the home server can treat the user as offline." '
    '"TODO: Handle multiple devices." ("any_session": offline only when no session '
    "of the user is live).",
    ("last_session", "any_session"),
)

OFFLINE = {"presence": "offline", "caps": None}


class Presence(Part):
    """State: ``wish`` (device -> the presence its live session set) and
    ``users`` (user -> {"presence", "caps"}: what was last published)."""

    name = "presence"
    section = "Presence"
    switches = (PRESENCE_OF_USER,)

    def initial(self) -> dict[str, Any]:
        return {"wish": {}, "users": {}}

    def bind(self) -> None:
        self.sessions = self.node.part("sessions")
        self.stream = self.node.part("stream")

    def apply(self, ctx: Context, state: dict, device: str, rec: dict, msg: dict) -> None:
        if not self.sessions.stale_wish(state, rec, "presence", msg):
            self.of(state)["wish"][device] = msg["presence"]
            self.changed(ctx, state, device)
        self.sessions.answer(ctx, device, rec, msg, True)

    def started(self, ctx: Context, state: dict, device: str) -> None:
        self.of(state)["wish"][device] = "online"
        self.changed(ctx, state, device)

    def ended(self, ctx: Context, state: dict, device: str) -> None:
        self.of(state)["wish"].pop(device, None)
        self.changed(ctx, state, device)

    def user_presence(self, state: dict, user: str, changed: str, last: str) -> str:
        """The user's presence after the session of device ``changed`` changed."""
        wish = self.of(state)["wish"]
        sessions = self.sessions.records(state)
        if self.node.switches["presence_of_user"] == "last_session" or changed in wish:
            return wish.get(changed, "offline")
        live = [wish[d] for d in sorted(wish) if sessions[d]["user"] == user]
        if not live:
            return "offline"
        return last if last in live else live[-1]

    def changed(self, ctx: Context, state: dict, device: str) -> None:
        """Recompute the user's presence; publish it if it changed (to this server's
        devices, and with ``ephemeral``, to the servers sharing a room with the user)."""
        mine = self.of(state)
        user = self.sessions.records(state)[device]["user"]
        old = mine["users"].get(user, OFFLINE)
        capabilities = self.node.part("capabilities")
        caps = capabilities.of_user(state, user) if capabilities is not None else None
        new = {"presence": self.user_presence(state, user, device, old["presence"]), "caps": caps}
        if new == old:
            return
        mine["users"][user] = new
        ev = {"type": "m.presence", "user": user, **new}
        for d in sorted(self.stream.devices(state)):
            self.stream.push(state, d, None, ev)
        ephemeral = self.node.part("ephemeral")
        if ephemeral is not None:
            ephemeral.presence(ctx, state, user, new)


# -- properties ------------------------------------------------------------------------


def _servers(view: View) -> list[str]:
    return [n for n in view.nodes if view.kind(n) == "homeserver" and "presence" in view.state(n)]


@always("presence_follows_sessions")
def presence_follows_sessions(view: View) -> bool:
    """A user is offline exactly when none of their sessions is live."""
    for hs in _servers(view):
        st = view.state(hs)
        sessions = st["sessions"]["sessions"]
        for user, p in st["presence"]["users"].items():
            live = any(r["live"] for r in sessions.values() if r["user"] == user)
            if live != (p["presence"] != "offline"):
                return False
    return True


@sometimes("offline_seen")
def offline_seen(view: View) -> bool:
    """A device was shown a user going offline."""
    return any(
        p[0] == "offline"
        for d in view.nodes
        if view.kind(d) == "device" and "presence" in view.state(d)
        for p in view.state(d)["presence"]["presence"].values()
    )


Presence.properties = (presence_follows_sessions, offline_seen)
