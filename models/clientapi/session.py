"""Proposal, "Sessions" and "Action IDs": one session per device, on the server.

"A session starts when the client makes any request. A session ends when the
client doesn't make a request for a particular amount of time (times out). A
session can also end when explicitly hitting a particular endpoint."
"Action IDs are scoped per session. The first action ID for a session should
be 0 [...] It should be reset to 0 when a new session starts."

A *session record* (plain data, in the server's state under ``sessions``)::

    {"id": "dev~3", "user": "@a:hs", "live": bool,
     "next": 0,                 # the lowest action ID not yet applied
     "done": {aid: response},   # applied actions: a retransmission gets the same answer
     "held": {aid: request},    # "block the request until it receives earlier seqnums"
     "rejected": [aid, ...],    # held too long: "missing sequence number"
     "presence": "online", "typing": [room_id, ...], "caps": hash | None}

Session IDs are ``device~n`` with ``n`` counting the device's sessions, so
a client can tell the newer of two IDs.
"""

from __future__ import annotations

from typing import Any

__all__ = ["start", "end", "number", "fresh"]


def number(session_id: str | None) -> int:
    """The sequence number in a session ID (-1 for none).

    >>> number("alice1~3"), number(None)
    (3, -1)
    """
    return -1 if session_id is None else int(session_id.rsplit("~", 1)[1])


def fresh(device: str, user: str, n: int) -> dict[str, Any]:
    """A new live session record: online, action IDs from 0."""
    return {
        "id": f"{device}~{n}",
        "user": user,
        "live": True,
        "next": 0,
        "done": {},
        "held": {},
        "rejected": [],
        "presence": "online",
        "typing": [],
        "caps": None,
    }


def start(sessions: dict[str, Any], device: str, user: str) -> dict[str, Any]:
    """Start the device's next session (the previous one must have ended)."""
    old = sessions.get(device)
    n = number(old["id"]) + 1 if old else 0
    rec = sessions[device] = fresh(device, user, n)
    return rec


def end(rec: dict[str, Any]) -> list[str]:
    """End a session; returns the held action IDs it drops (their requests fail)."""
    held = sorted(rec["held"], key=int)
    rec.update(
        live=False, next=0, done={}, held={}, rejected=[], presence="offline", typing=[], caps=None
    )
    return held
