"""One-line briefs of the matrix model's messages, for step listings and diagrams.

Each brief says what a person needs to follow a run: a request's action ID
and what it asks (``#0 send "hello"``), a state event's type and state key
(``m.room.topic[""] "from hs1"``), a stream batch's position and its entries
(``stream pos 9: answer bob3 $hs.4``), the VoIP signalling as the proposal
names it (``answer``, ``select``, ``hangup``, with the call and device),
federation by sequence number and event IDs (``fed.event seq 5: ...``,
``fed.ack seq 5``). Registered on :data:`mxsim.models.wire.WIRE`
(``WIRE.summarize(msg)``); every declared message has one
(tests/sim/test_diagram_story.py checks it).

>>> from mxsim.models.wire import WIRE
>>> WIRE.summarize({"type": "send", "aid": 0, "room": "!r:hs", "body": "hello",
...                 "whoami": "@a:hs", "out_of_order": False, "try": 2})
'#0 (try 2) send "hello" in !r:hs'
>>> WIRE.summarize({"type": "fed.ack", "seq": 5})
'fed.ack seq 5'
"""

from __future__ import annotations

from typing import Any

from mxsim.models import call as C
from mxsim.models.wire import WIRE

__all__ = ["event_brief", "entry_brief", "listing", "outcome", "session_note"]

Msg = dict[str, Any]

#: Text values are cut to this many characters.
_TEXT = 24
#: A stream batch or event list names all its entries up to this many, else the last one.
_ENTRIES = 3

_CALL_WORDS = {
    C.INVITE: "invite",
    C.ANSWER: "answer",
    C.REJECT: "reject",
    C.ACK: "select",
    C.CANDIDATE: "candidate",
    C.HANGUP: "hangup",
}

#: The content key that says what a state event of a type sets.
_STATE_VALUE = {
    "m.room.member": "membership",
    "m.room.topic": "topic",
    "m.room.name": "name",
    "m.room.join_rules": "join_rule",
}


def _text(value: Any) -> str:
    text = " ".join(str(value).split())
    if len(text) > _TEXT:
        text = text[: _TEXT - 1] + "\u2026"
    return f'"{text}"'


def session_note(msg: Msg) -> str:
    """`` [session]`` of a request or answer that names one."""
    return f" [{msg['session']}]" if msg.get("session") is not None else ""


def _aid(msg: Msg) -> str:
    """``#aid`` of a request, with its transmission when it is a retransmission, and a
    space after; nothing for a request without an action ID (a bot's)."""
    out = f"#{msg['aid']}" if msg.get("aid") is not None else ""
    tries = msg.get("try")
    if isinstance(tries, int) and tries > 1:
        out += f" (try {tries})"
    out += session_note(msg)
    return out + " " if out else ""


def _call(kind: str, content: dict[str, Any]) -> str:
    """``answer bob1 (call.alice)``; an ack is the caller's ``select`` of a device."""
    word = _CALL_WORDS[kind]
    cid = content.get("call_id", "?")
    if kind == C.ACK:
        answer = content.get("response")
        how = "" if answer in (None, C.ANSWER) else f", its {_CALL_WORDS.get(answer, answer)}"
        user = f" for {content['for_user']}" if content.get("for_user") else ""
        ice = f", {content['candidates']} candidates" if content.get("candidates") else ""
        return f"select {content.get('selected', '?')}{user} ({cid}{how}{ice})"
    who = content.get("device_id", "?")
    if kind == C.INVITE:
        callees = ",".join(content.get("callees") or [])
        return f"invite {cid} from {who} to {callees}"
    if kind == C.HANGUP and content.get("reason"):
        return f"hangup {who} ({cid}, {content['reason']})"
    if kind == C.CANDIDATE and "to" in content:
        return f"candidate c{content.get('seq', '?')} {who}\u2192{content['to']} ({cid})"
    return f"{word} {who} ({cid})"


def _content(kind: str, content: Any, state_key: Any = None) -> str:
    """What an event of ``kind`` says: call signalling, a state key and value, a body."""
    content = content if isinstance(content, dict) else {}
    if kind in _CALL_WORDS:
        return _call(kind, content)
    if state_key is not None:
        key = _STATE_VALUE.get(kind)
        value = f" {content[key]}" if key and key in content else ""
        shown = state_key if state_key else '""'
        if kind in ("m.room.topic", "m.room.name") and value:
            value = " " + _text(content[key])
        return f"{kind}[{shown}]{value}"
    if "body" in content:
        return f"{kind.removeprefix('m.room.')} {_text(content['body'])}"
    return kind


def event_brief(ev: Any) -> str:
    """A room event (or a stream's presence, typing, joined note) in a few words."""
    if not isinstance(ev, dict):
        return "?"
    kind = str(ev.get("type", "?"))
    if kind == "m.server.joined":
        if "members" in ev:  # an initial sync's room start: "# members"
            cut = ", limited" if ev.get("limited") else ""
            return f"joined {ev.get('room_id', '?')} ({ev['members']} members{cut})"
        return f"joined {ev.get('room_id', '?')}"
    if kind == "m.presence":
        return f"presence {ev.get('user', '?')} {ev.get('presence', '?')}"
    if kind == "m.typing":
        return f"typing {','.join(ev.get('users') or []) or 'nobody'}"
    if kind == "m.receipt":
        where = " (local)" if ev.get("local") else ""
        return f"receipt of {ev.get('updates') or ev.get('relates_to', '?')}{where}"
    if kind == "m.room.redaction":
        return f"redaction of {ev.get('redacts', '?')} {ev.get('event_id', '')}".rstrip()
    text = _content(kind, ev.get("content"), ev.get("state_key"))
    if ev.get("redacted_because"):
        text += " (redacted)"
    parent = ev.get("updates") or ev.get("relates_to")
    if parent and kind not in _CALL_WORDS:
        text += f" on {parent}"
    if ev.get("event_id"):
        text += f" {ev['event_id']}"
    replies = ev.get("replies") or {}
    if replies.get("chunk") or replies.get("start"):
        # A bundle (Relates to, "Bundling"): its replies, and its token when cut.
        token = f", token {replies['start']}" if replies.get("start") else ""
        text += f" (+{len(replies.get('chunk') or [])} replies{token})"
    return text


def entry_brief(entry: Any) -> str:
    """One stream entry: its event, and the sender's action ID when it carries one."""
    if not isinstance(entry, dict):
        return "?"
    text = event_brief(entry.get("event"))
    if entry.get("action_id") is not None:
        text += f" (#{entry['action_id']})"
    if entry.get("after"):
        text += f" after {entry['after']}"
    return text


def listing(items: list[Any], brief) -> str:
    """Every item, or how many came before the last and the last (a batch's newest is
    the news: an initial sync ends with the event that brought the device in)."""
    briefs = [brief(i) for i in items]
    if len(briefs) <= _ENTRIES:
        return "; ".join(briefs) if briefs else "nothing"
    return f"[{len(briefs) - 1} earlier] {briefs[-1]}"


# -- client -> server --------------------------------------------------------------


@WIRE.brief("register")
def _register(msg: Msg) -> str:
    return f"register {msg.get('user', '?')}"


@WIRE.brief("events")
def _events(msg: Msg) -> str:
    text = f"poll from {msg.get('from')}"
    riding = [WIRE.summarize(r) for r in msg.get("send") or []]
    return text + "".join(f" + {r}" for r in riding)


@WIRE.brief("sync")
def _sync(msg: Msg) -> str:
    if msg.get("initial_filter"):
        tokens = f"{msg['filter']}, initial {msg['initial_filter']}"
        return f"sync from {msg.get('from')} (open filter {tokens})"
    return f"sync from {msg.get('from')}" + (" (open filter)" if msg.get("filter") else "")


@WIRE.brief("send")
def _send(msg: Msg) -> str:
    return f"{_aid(msg)}send {_text(msg['body'])} in {msg.get('room', '?')}"


@WIRE.brief("send_state")
def _send_state(msg: Msg) -> str:
    text = _content(msg["event_type"], msg.get("content"), msg.get("state_key", ""))
    return f"{_aid(msg)}state {text}"


@WIRE.brief("delete_state")
def _delete_state(msg: Msg) -> str:
    return f"{_aid(msg)}delete {msg['event_type']}[{msg.get('state_key') or chr(34) * 2}]"


@WIRE.brief("prepare")
def _prepare(msg: Msg) -> str:
    return f"{_aid(msg)}prepare {_content(msg['event_type'], msg.get('content'))}"


@WIRE.brief("send_signed")
def _send_signed(msg: Msg) -> str:
    ev = msg.get("event") or {}
    after = ", ".join(ev.get("prev_events") or [])
    return f"{_aid(msg)}send signed {ev.get('event_id', '?')} after {after or 'nothing'}"


@WIRE.brief("send_event")
def _send_event(msg: Msg) -> str:
    kind = msg["event_type"]
    text = _content(kind, msg.get("content"))
    parent = msg.get("updates") or msg.get("relates_to")
    if parent and kind not in _CALL_WORDS:
        text += f" on {parent}"
    return f"{_aid(msg)}{text}"


def _membership(op: str):
    def brief(msg: Msg) -> str:
        return f"{_aid(msg)}{op} {msg.get('user', '?')} in {msg.get('room', '?')}"

    return brief


for _op in ("invite", "kick", "ban", "unban"):
    WIRE.brief(_op)(_membership(_op))


@WIRE.brief("create_room")
def _create_room(msg: Msg) -> str:
    return f"{_aid(msg)}create {msg['room']}" + (f" ({msg['preset']})" if msg.get("preset") else "")


@WIRE.brief("join")
def _join(msg: Msg) -> str:
    where = msg.get("room") or msg.get("alias") or msg.get("invite") or "?"
    return f"{_aid(msg)}join {where}"


@WIRE.brief("leave")
def _leave(msg: Msg) -> str:
    return f"{_aid(msg)}leave {msg['room']}"


@WIRE.brief("reject_invite")
def _reject_invite(msg: Msg) -> str:
    return f"{_aid(msg)}reject invite {msg['invite']}"


@WIRE.brief("scrollback")
def _scrollback(msg: Msg) -> str:
    return f"{_aid(msg)}scrollback {msg['room']} from {msg.get('from')}"


@WIRE.brief("context")
def _context(msg: Msg) -> str:
    return f"{_aid(msg)}context of {msg['event_id']}"


@WIRE.brief("replies")
def _replies(msg: Msg) -> str:
    return f"{_aid(msg)}replies of {msg['event_id']} from {msg.get('from')}"


@WIRE.brief("receipt")
def _receipt(msg: Msg) -> str:
    return f"{_aid(msg)}read {msg['event_id']}"


@WIRE.brief("redact")
def _redact(msg: Msg) -> str:
    return f"{_aid(msg)}redact {msg['redacts']}"


@WIRE.brief("presence")
def _presence(msg: Msg) -> str:
    return f"r{msg.get('rid')} presence {msg['presence']}{session_note(msg)}"


@WIRE.brief("typing")
def _typing(msg: Msg) -> str:
    state = "on" if msg.get("typing") else "off"
    return f"r{msg.get('rid')} typing {state} in {msg['room']}{session_note(msg)}"


@WIRE.brief("offline")
def _offline(msg: Msg) -> str:
    return f"r{msg.get('rid')} offline{session_note(msg)}"


@WIRE.brief("filter")
def _filter(msg: Msg) -> str:
    flt = msg.get("filter") or {}
    limit = f" bundle_limit {flt['bundle_limit']}" if "bundle_limit" in flt else ""
    return f"r{msg.get('rid')} upload filter{limit}"


@WIRE.brief("caps")
def _caps(msg: Msg) -> str:
    return f"r{msg.get('rid')} caps {msg['hash']}"


@WIRE.brief("caps_upload")
def _caps_upload(msg: Msg) -> str:
    return f"r{msg.get('rid')} caps upload"


@WIRE.brief("caps_lookup")
def _caps_lookup(msg: Msg) -> str:
    return f"r{msg.get('rid')} caps lookup {msg['hash']} of {msg['of']}"


def outcome(msg: Msg) -> str:
    return "ok" if msg.get("ok") else f"failed: {msg.get('error', '?')}"


# The server-to-client and federation messages' briefs, in modules of their own.
from mxsim.models import wire_brief_answers, wire_brief_fed  # noqa: E402, F401
