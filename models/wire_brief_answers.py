"""One-line briefs of the server-to-client messages (see :mod:`mxsim.models.wire_brief`).

>>> from mxsim.models.wire import WIRE
>>> WIRE.summarize({"type": "result", "aid": 0, "ok": True, "event_id": "$hs.1"})
'result #0 ok $hs.1'
"""

from __future__ import annotations

from mxsim.models.wire import WIRE
from mxsim.models.wire_brief import Msg, entry_brief, event_brief, listing, outcome, session_note

# -- server -> client --------------------------------------------------------------


@WIRE.brief("answer")
def _answer(msg: Msg) -> str:
    return f"r{msg.get('rid')} {outcome(msg)}{session_note(msg)}"


@WIRE.brief("result")
def _result(msg: Msg) -> str:
    made = f" {msg['event_id']}" if msg.get("event_id") else ""
    if isinstance(msg.get("event"), dict):
        ev = msg["event"]
        made = f" prepared {ev.get('event_id')} after {', '.join(ev.get('prev_events') or [])}"
    aid = f" #{msg['aid']}" if msg.get("aid") is not None else ""
    return f"result{aid} {outcome(msg)}{made}"


@WIRE.brief("joined")
def _joined(msg: Msg) -> str:
    text = f"joined #{msg.get('aid')} {msg['room']} at pos {msg.get('pos')}, " + listing(
        msg.get("events") or [], entry_brief
    )
    members = msg.get("members") or {}
    listed = [_member(u, members[u]) for u in sorted(members)]
    more = " (more before)" if msg.get("more") else ""
    return text + more + (f"; members {', '.join(listed)}" if listed else "")


def _member(user: str, m: Msg) -> str:
    """A member as a join lists it: ``@bob:hs "Bob" 50 offline`` (+ ``typing``)."""
    name = f' "{m["name"]}"' if m.get("name") else ""
    typing = " typing" if m.get("typing") else ""
    return f"{user}{name} {m.get('power')} {m.get('presence')}{typing}"


@WIRE.brief("chunk")
def _chunk(msg: Msg) -> str:
    return f"chunk #{msg.get('aid')} {listing(msg.get('chunk') or [], event_brief)}"


@WIRE.brief("window")
def _window(msg: Msg) -> str:
    return f"window #{msg.get('aid')} around {msg['event_id']}"


@WIRE.brief("replies_chunk")
def _replies_chunk(msg: Msg) -> str:
    return f"replies #{msg.get('aid')} of {msg['event_id']}: " + listing(
        msg.get("chunk") or [], event_brief
    )


@WIRE.brief("stream")
def _stream(msg: Msg) -> str:
    text = f"stream pos {msg.get('pos')}: {listing(msg.get('events') or [], entry_brief)}"
    if msg.get("limited"):
        text += " (limited: " + ", ".join(sorted(msg["limited"])) + " has a gap)"
    for _, events in sorted((msg.get("state_after") or {}).items()):
        fresh = [ev for ev in events if not str(ev.get("event_id")).startswith("$genesis.")]
        text += f"; state after: {listing(fresh, event_brief)}" if fresh else "; state after"
    return text


@WIRE.brief("synced")
def _synced(msg: Msg) -> str:
    if msg.get("error"):
        return f"synced from {msg.get('from')}: {msg['error']}"
    return f"synced from {msg.get('from')}: {len(msg.get('batches') or [])} batches"


@WIRE.brief("invited")
def _invited(msg: Msg) -> str:
    return f"invited at pos {msg.get('pos')}: {event_brief(msg.get('event'))}"
