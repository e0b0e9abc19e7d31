"""Proposal, "Presence" and "Typing": a user's presence and typing, from sessions.

"When a session starts, the home server can treat the user as "online". When
the session ends, the home server can treat the user as "offline"." The
proposal leaves several devices open ("TODO: Handle multiple devices"), so
how a user's presence follows several sessions is the switch
``presence_of_user``:

- ``"last_session"`` (the text read literally): the user takes the presence
  of whichever session changed last; one device going offline makes the
  user offline while another device is still online;
- ``"any_session"``: the user is offline only when no session is live, and
  otherwise takes the presence most recently set by a live session.

"They are no longer typing when either the session ends or they explicitly
send another request to say they are no longer typing": a user types in a
room while some live session of theirs says so and they are joined to it
(leaving a room ends the user's typing there; the session keeps the device's
wish, so a rejoin brings it back).
"""

from __future__ import annotations

from typing import Any

__all__ = ["user_presence", "typing_users"]


def user_presence(
    sessions: dict[str, Any], user: str, changed: str, rule: str, last: str | None
) -> str:
    """The user's presence after session ``changed`` (a device) changed.

    ``last`` is the user's presence before the change, ``rule`` the switch.
    """
    rec = sessions[changed]
    if rule == "last_session" or rec["live"]:
        return rec["presence"]
    live = [
        sessions[d]["presence"]
        for d in sorted(sessions)
        if sessions[d]["user"] == user and sessions[d]["live"]
    ]
    if not live:
        return "offline"
    return last if last in live else live[-1]


def typing_users(
    sessions: dict[str, Any], room: str, members: list[str] | None = None
) -> list[str]:
    """Users typing in ``room``: those with a live session typing there, sorted;
    with ``members``, only those of them joined to the room (a user who left no
    longer types there, though a session of theirs still wishes to)."""
    return sorted(
        {
            rec["user"]
            for rec in sessions.values()
            if rec["live"] and room in rec["typing"] and (members is None or rec["user"] in members)
        }
    )
