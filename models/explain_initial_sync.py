"""Explainers of the initial sync's properties (``models/device/initial_sync.py``;
proposal, "Global /initialSync API", Outputs)."""

from __future__ import annotations

from mxsim.models import room as R
from mxsim.models.device.initial_sync import (
    _records,
    _state,
    expected_messages,
    joined_at,
    limit_of,
    requested_state,
    shown_messages,
)
from mxsim.models.explain import Moment, explains


def _keys(state: dict[str, str]) -> str:
    return ", ".join(f"{R.split_key(k)[0]} {v}" for k, v in sorted(state.items())) or "none"


@explains("initial_sync_state_types")
def initial_sync_state_types(at: Moment) -> str | None:
    view = at.after
    for d, config, store, rec in _records(view):
        want = requested_state(view, config, store, rec)
        if rec["state"] != want:
            return (
                f"{d}'s initial sync of {rec['room']} holds the state {_keys(rec['state'])};"
                f" the requested types at its position are {_keys(want)}"
            )
    return None


@explains("initial_sync_member_count")
def initial_sync_member_count(at: Moment) -> str | None:
    view = at.after
    for d, _config, store, rec in _records(view):
        joined = joined_at(_state(view, store, rec), store["events"])
        if rec["members"] != len(joined):
            return (
                f"{d}'s initial sync of {rec['room']} says {rec['members']} members; at its"
                f" position the room has {len(joined)} joined: {', '.join(joined) or 'none'}"
            )
    return None


@explains("initial_sync_limit")
def initial_sync_limit(at: Moment) -> str | None:
    view = at.after
    for d, config, store, rec in _records(view):
        limit = limit_of(view, d, config)
        want, cut = expected_messages(store, rec, limit)
        want = shown_messages(view, d, store, rec, want)
        if rec["messages"] != want or rec["limited"] != cut:
            have = ", ".join(rec["messages"]) or "none"
            return (
                f"{d}'s initial sync of {rec['room']} holds messages {have}"
                f" (limited: {rec['limited']}); with limit {limit} the last ones at its"
                f" position are {', '.join(want) or 'none'} (limited: {cut})"
            )
    return None
