"""One-line briefs of the matrix model's federation messages (see :mod:`mxsim.models.wire_brief`).

>>> from mxsim.models.wire import WIRE
>>> WIRE.summarize({"type": "fed.get", "room": "!r:hs1", "ids": ["$hs1.2"]})
'fed.get $hs1.2'
"""

from __future__ import annotations

from mxsim.models.wire import WIRE
from mxsim.models.wire_brief import Msg, event_brief, outcome

# -- server -> server --------------------------------------------------------------


@WIRE.brief("fed.event")
def _fed_event(msg: Msg) -> str:
    return f"fed.event seq {msg['seq']}: {event_brief(msg['event'])}"


@WIRE.brief("fed.ack")
def _fed_ack(msg: Msg) -> str:
    return f"fed.ack seq {msg['seq']}"


@WIRE.brief("fed.get")
def _fed_get(msg: Msg) -> str:
    return f"fed.get {', '.join(msg['ids'])}"


@WIRE.brief("fed.events")
def _fed_events(msg: Msg) -> str:
    ids = [ev.get("event_id", "?") for ev in msg.get("events") or []]
    return f"fed.events {', '.join(ids) or 'none'}"


@WIRE.brief("fed.make_join")
def _fed_make_join(msg: Msg) -> str:
    text = f"fed.make_join {msg['user']} to {msg.get('room') or msg.get('alias')}"
    return text + (" (omit members)" if msg.get("omit_members") else "")


@WIRE.brief("fed.join_state")
def _fed_join_state(msg: Msg) -> str:
    text = f"fed.join_state {msg['room']}: {len(msg.get('events') or [])} events"
    if msg.get("partial"):
        keys = [k for k in msg["current"] if k.startswith("m.room.member")]
        members = sorted(k.split("\x1f", 1)[1] for k in keys)
        text += f", partial state (members {', '.join(members) or 'none'})"
    return text


@WIRE.brief("fed.get_state")
def _fed_get_state(msg: Msg) -> str:
    return f"fed.get_state {msg['room']} at {', '.join(msg.get('ids') or [])}"


@WIRE.brief("fed.state")
def _fed_state(msg: Msg) -> str:
    members = sorted({e.get("state_key", "?") for e in msg.get("events") or []})
    return f"fed.state {msg['room']}: members {', '.join(members) or 'none'}"


@WIRE.brief("fed.join_denied")
def _fed_join_denied(msg: Msg) -> str:
    return f"fed.join_denied: {msg['error']}"


@WIRE.brief("fed.backfill")
def _fed_backfill(msg: Msg) -> str:
    return f"fed.backfill {msg['room']} before {', '.join(msg.get('frontier') or [])}"


@WIRE.brief("fed.history")
def _fed_history(msg: Msg) -> str:
    ids = [ev.get("event_id", "?") for ev in msg.get("events") or []]
    return f"fed.history {', '.join(ids) or 'none'}"


@WIRE.brief("fed.reject")
def _fed_reject(msg: Msg) -> str:
    return f"fed.reject {msg['invite']} by {msg['user']}"


@WIRE.brief("fed.rejected")
def _fed_rejected(msg: Msg) -> str:
    return f"fed.rejected {msg['invite']} {outcome(msg)}"


@WIRE.brief("fed.ephemeral")
def _fed_ephemeral(msg: Msg) -> str:
    if msg["edu"] == "presence":
        return f"fed.ephemeral #{msg['n']} {msg['key']} {msg.get('presence')}"
    users = ", ".join(msg.get("users") or []) or "nobody"
    return f"fed.ephemeral #{msg['n']} typing in {msg['key']}: {users}"


@WIRE.brief("fed.ephemeral_ack")
def _fed_ephemeral_ack(msg: Msg) -> str:
    return f"fed.ephemeral_ack #{msg['n']}"


@WIRE.brief("fed.caps_lookup")
def _fed_caps_lookup(msg: Msg) -> str:
    return f"fed.caps_lookup {msg['hash']} of {msg['of']}"


@WIRE.brief("fed.caps")
def _fed_caps(msg: Msg) -> str:
    caps = msg.get("caps")
    if caps is None:
        return f"fed.caps {msg['hash']}: unknown"
    return f"fed.caps {msg['hash']}: {', '.join(caps) or 'none'}"
