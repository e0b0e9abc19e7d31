"""The matrix model's wire protocol, declared once.

Every message a device and a homeserver exchange, and every federation
message between homeservers, with its fields, direction and the proposal
section it models. ``docs/protocol.md`` is generated from here:

    python -m mxsim.models.wire docs/protocol.md

A client-server request is named after the action (``send``, ``join``...)
and carries ``whoami`` (the user, as an access token would identify it) and
``out_of_order`` (whether the device takes out-of-order events, so a request
that overtakes ``register`` still registers the device fully); it may carry
``aid``, the device's action ID ("Action APIs": "Action IDs are optional and
are only needed by clients that retransmit their requests, or display local
echo, or allow the submission of multiple requests in parallel"). The answer
to a request without one has ``aid`` null.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mxsim.sim.files import write_atomic
from mxsim.sim.wire import CLIENT_SERVER, SERVER_CLIENT, Wire

__all__ = ["WIRE", "REQUEST", "ACTION_ID", "SESSION_REQUEST", "TRY", "request_fields", "main"]

WIRE = Wire("The matrix model's wire protocol")

#: Fields every client-server request carries.
REQUEST = ("whoami", "out_of_order")

#: Optional on every request: the device's action ID ("Action APIs": "Action
#: ID (optional)"); a synchronous bot's requests have none.
ACTION_ID = "aid"

ACTIONS = "Action APIs"
JOINING = "Joining a room"
STREAM = "Event Stream API"
SCROLL = "Scrolling back"


#: Optional on every request: which transmission of the action this is (1: the
#: first, 2 and on: the device's retransmissions, "Action IDs").
TRY = "try"


#: Optional on every request, from a device with sessions ("Sessions", "Action
#: IDs"): its request number, its session ID and its own number of the action.
SESSION_FIELDS = ("rid", "session", "txn")


def _request(name: str, section: str, summary: str, fields=(), optional=()) -> None:
    extra = (TRY, *SESSION_FIELDS)
    WIRE.declare(
        name,
        CLIENT_SERVER,
        section,
        summary,
        REQUEST + tuple(fields),
        (ACTION_ID, *optional, *extra),
    )


def request_fields(op: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The fields a workload input for ``op`` must and may carry (besides ``op``).

    >>> request_fields("send")
    (('room', 'body'), ())
    """
    spec = WIRE.messages[op]
    needed = tuple(f for f in spec.fields if f not in REQUEST)
    skip = (ACTION_ID, "from", TRY, *SESSION_FIELDS)
    return needed, tuple(f for f in spec.optional if f not in skip)


# -- client -> server ------------------------------------------------------------

WIRE.declare(
    "register",
    CLIENT_SERVER,
    STREAM,
    "A device makes itself known to its server (who it is; whether it takes out-of-order events; "
    "`limit`: the messages per room of its initial sync; `state_types`: the state event types "
    "it holds).",
    ("user", "out_of_order"),
    ("limit", "state_types"),
)
WIRE.declare(
    "events",
    CLIENT_SERVER,
    STREAM,
    "A long-polling device asks for the events after position `from`; answered by one "
    "`stream` when there are some (it makes the device known, as `register` does); `send`: "
    "requests riding on the poll (one message per device in flight).",
    ("user", "out_of_order", "from"),
    ("send",),
)
WIRE.declare(
    "sync",
    CLIENT_SERVER,
    "Global /initialSync API",
    "A device that lost a stream response asks for what follows position `from` "
    '("If a streaming token is applied, you will get a delta"); with `filter` (a token, '
    "naming `user` and `out_of_order`) it opens the stream under that filter (`initial_filter`: "
    "the token of its initial sync's room starts, if another).",
    ("from",),
    ("filter", "user", "out_of_order", "initial_filter"),
)
_request(
    "create_room",
    "Room Creation",
    "Create a room with a preset, initial state, invites and power levels.",
    ("room",),
    ("preset", "invite", "state", "power"),
)
_request(
    "join",
    JOINING,
    "Join by room ID (through `via` servers), by alias, or by an invite; "
    "a `filter` without `stream` asks for the room's events in the response.",
    (),
    ("room", "via", "alias", "invite", "filter"),
)
_request("send", ACTIONS, "Send a message event.", ("room", "body"))
_request(
    "send_state", ACTIONS, "Send a state event.", ("room", "event_type"), ("state_key", "content")
)
_request("delete_state", ACTIONS, "Delete a state key.", ("room", "event_type"), ("state_key",))
for _op in ("invite", "kick", "ban", "unban"):
    _request(_op, ACTIONS, f"Change a user's membership: {_op}.", ("room", "user"))
_request("leave", ACTIONS, "Leave a room.", ("room",))
_request("reject_invite", "Rejecting an invite", "Reject an invite (by its event ID).", ("invite",))
_request(
    "scrollback",
    SCROLL,
    "Events older than the device's earliest (`from`), optionally backfilled over federation "
    "(`filter`: the token of the device's scrollback filter; its `keys` are returned).",
    ("room",),
    ("from", "limit", "backfill", "types", "filter"),
)
_request(
    "context",
    "Contextual windowing",
    "Messages around an event, pagination tokens, and the state at the end (`filter`: a "
    "token, as for scrollback).",
    ("event_id",),
    ("before", "after", "types", "filter"),
)

_request(
    "send_event",
    "Updates (Events)",
    "Send an event of any type; with `updates` or `relates_to` (a parent event ID) it is a "
    "child of that event, bundled with it. The device's action ID makes a re-sent request "
    "idempotent.",
    ("room", "event_type"),
    ("content", "updates", "relates_to"),
)
_request(
    "replies",
    "Relates to (Events)",
    "The `limit` `relates_to` children of `event_id` before the pagination token `from` "
    "(a bundle's `replies.start`; without it, the last ones; `filter`: a token, as for "
    "scrollback).",
    ("room", "event_id"),
    ("from", "limit", "filter"),
)

_request(
    "prepare",
    "E2E Notes",
    'Make the full event JSON that "will be sent", without sending it (for the client to sign).',
    ("room", "event_type"),
    ("content",),
)
_request(
    "send_signed",
    "E2E Notes",
    "Send an event the server prepared, as the client signed it.",
    ("room", "event"),
)

_request(
    "receipt",
    "Updates (Events); Relates to (Events)",
    "The device's user read `event_id`: a read receipt, made as the switch `receipts` "
    "says (a local receipt, a `relates_to` child, or the user's read-up-to marker).",
    ("room", "event_id"),
)

_request(
    "redact",
    STREAM,
    'Delete a message event ("Deleted message events are `m.room.redaction` events"): the '
    "server makes an `m.room.redaction` naming `redacts`, allowed for the event's sender or "
    "a user at the `redact` power level.",
    ("room", "redacts"),
)

#: Fields every request with a session ID carries (proposal, "Sessions"):
#: ``rid`` numbers the device's requests, ``session`` is None before the first answer.
SESSION_REQUEST = ("rid", "whoami", "out_of_order", "session")

WIRE.declare(
    "presence",
    CLIENT_SERVER,
    "Presence",
    "Set the session's presence (not an action: no action ID).",
    SESSION_REQUEST + ("presence",),
)
WIRE.declare(
    "typing",
    CLIENT_SERVER,
    "Typing",
    "Start or stop typing in a room (not an action: no action ID).",
    SESSION_REQUEST + ("room", "typing"),
)
WIRE.declare(
    "offline",
    CLIENT_SERVER,
    "Sessions",
    'End the session ("explicitly hitting a particular endpoint").',
    SESSION_REQUEST,
)

WIRE.declare(
    "filter",
    CLIENT_SERVER,
    "Filter API",
    "Upload a filter definition; the answer holds its opaque `token`.",
    SESSION_REQUEST + ("filter",),
)
WIRE.declare(
    "caps",
    CLIENT_SERVER,
    "Capabilities",
    "Provide the session's capability set by its hash.",
    SESSION_REQUEST + ("hash",),
)
WIRE.declare(
    "caps_upload",
    CLIENT_SERVER,
    "Capabilities",
    "Upload the full capability set (its hash was refused).",
    SESSION_REQUEST + ("caps",),
)
WIRE.declare(
    "caps_lookup",
    CLIENT_SERVER,
    "Capabilities",
    "Ask for the capability set of a hash shown in `of`'s presence.",
    SESSION_REQUEST + ("hash", "of"),
)

# -- server -> client ------------------------------------------------------------

WIRE.declare(
    "answer",
    SERVER_CLIENT,
    "Sessions",
    "The outcome of a request with a session ID, and the session ID it ran in "
    "(a new one when the request's was stale).",
    ("rid", "ok", "session"),
    ("error", "ended", "hash", "caps", "token"),
)

WIRE.declare(
    "result",
    SERVER_CLIENT,
    ACTIONS,
    "The outcome of a request (`aid` null for a request without an action ID; "
    "with `rid` and `session` for a request that named them).",
    ("aid", "ok"),
    ("error", "event_id", "room", "rid", "session", "event"),
)
WIRE.declare(
    "joined",
    SERVER_CLIENT,
    JOINING,
    'A join answered with the room\'s events "instead of" the stream, at a stream position '
    "(`pos`; null under `join_returns_events`: outside the stream), its `members` (presence, "
    "typing, power level, display name) and whether there are `more` messages than its limit.",
    ("aid", "ok", "event_id", "room", "pos", "events", "members", "more"),
)
WIRE.declare(
    "chunk",
    SERVER_CLIENT,
    SCROLL,
    "A page of older events, newest first, with the token to go on from.",
    ("aid", "ok", "room", "chunk", "token", "more_local", "more_remote"),
)
WIRE.declare(
    "window",
    SERVER_CLIENT,
    "Contextual windowing",
    "The events around `event_id`, with start and end tokens and the state at the end.",
    ("aid", "ok", "room", "event_id", "chunk", "start", "end", "state"),
)
WIRE.declare(
    "replies_chunk",
    SERVER_CLIENT,
    "Relates to (Events)",
    "A page of `event_id`'s replies, oldest first, with the token for the ones before (`start`).",
    ("aid", "ok", "room", "event_id", "chunk", "start"),
)
WIRE.declare(
    "stream",
    SERVER_CLIENT,
    STREAM,
    "0-N events the device has not seen, at its next stream position "
    "(each entry: `room`, `event`, [`after`], [`local`], [`action_id`]: the sender's own; "
    "from a server with `bundling`, a top-level event holds its children: `updated_by`, "
    "`replies`). "
    "To a long poll: every entry after the poll's `from`, `pos` being the position of the last; "
    "`limited` (a server with the `limited` part): room -> the token to scroll back through "
    "the messages left out past `limit=` (today's `limited` and `prev_batch`); "
    '`state_after` (a server with the `sync_state` part, switch `sync_state = "state_after"`): '
    "room -> its state events at the end of the answer (MSC4222).",
    ("pos", "events"),
    ("limited", "state_after"),
)
WIRE.declare(
    "synced",
    SERVER_CLIENT,
    "Global /initialSync API",
    "The stream responses the device was given past `from`, again, as they were "
    "(`opened`: the stream opened now, its start follows; `error`: an unknown filter token).",
    ("from", "batches"),
    ("opened", "error"),
)
WIRE.declare(
    "invited",
    SERVER_CLIENT,
    STREAM,
    "An invite for the device's user to a room, at its next stream position.",
    ("pos", "event"),
)

# Federation messages (server -> server), declared in a module of their own
# after the client-server ones, so the protocol document keeps this order.
from mxsim.models.wire_fed import declare_federation  # noqa: E402

declare_federation(WIRE)

# One-line briefs of every message (WIRE.summarize), declared beside the
# messages' fields but in a module of their own; imported here so WIRE has them.
from mxsim.models import wire_brief  # noqa: E402, F401


def main(argv: list[str] | None = None) -> int:
    """Write the protocol document to the path given (default: print it)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1 or (args and args[0].startswith("-")):
        # Not a path: one line, exit code 2, nothing written.
        sys.stderr.write(
            "usage: python -m mxsim.models.wire [FILE.md] (writes the protocol document)\n"
        )
        return 2
    # Run as ``python -m``, this file is ``__main__``, a second copy of the
    # module; the messages are declared on the importable one's WIRE.
    from mxsim.models import wire

    text = wire.WIRE.markdown()
    if not args:
        sys.stdout.write(text)
    else:
        write_atomic(Path(args[0]), text.encode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
