"""A test room's new event with the auth events a server would pick for it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mxsim.models.auth_events import select_auth_events
from mxsim.models.events import Event, StateKey, make_event


def authed_event(
    room: str,
    etype: str,
    sender: str,
    content: dict[str, Any] | None,
    state_key: str | None,
    prev_ids: list[str],
    before: Mapping[StateKey, str],
    known: Mapping[str, Event],
    ts: int,
    event_id: str | None = None,
) -> Event:
    """``make_event`` on ``prev_ids``, its ``auth_events`` chosen from ``before``."""
    proto: dict[str, Any] = {"type": etype, "sender": sender, "content": content}
    if state_key is not None:
        proto["state_key"] = state_key
    return make_event(
        room_id=room,
        type=etype,
        sender=sender,
        content=content,
        state_key=state_key,
        prev_events=prev_ids,
        auth_events=select_auth_events(proto, before),
        origin_server_ts=ts,
        event_id=event_id,
        known=known,
    )
