"""The matrix model's federation messages, server to server.

The proposal assumes federation without specifying it; these messages are
the model's, named after what they do, as homeservers do it today. They are
declared on the one ``WIRE`` of :mod:`mxsim.models.wire`, which calls
:func:`declare_federation` after its client-server messages:

>>> from mxsim.models.wire import WIRE
>>> WIRE.messages["fed.ack"].fields
('seq',)
"""

from __future__ import annotations

from mxsim.sim.wire import SERVER_SERVER, Wire

__all__ = ["FED", "EPHEMERAL", "declare_federation"]

FED = "Federation (assumed by the proposal)"
EPHEMERAL = "Typing; Presence (ephemeral events across federation)"


def declare_federation(wire: Wire) -> None:
    """Declare the federation messages on ``wire``."""
    # The section names the client-server messages share.
    from mxsim.models.wire import JOINING, SCROLL

    wire.declare(
        "fed.event",
        SERVER_SERVER,
        FED,
        "A new event for a server in the room; resent until acknowledged.",
        ("seq", "event"),
    )
    wire.declare(
        "fed.ack", SERVER_SERVER, FED, "Acknowledges a `fed.event` by its `seq`.", ("seq",)
    )
    wire.declare(
        "fed.get",
        SERVER_SERVER,
        "Message Events Ordering Notes",
        "Ask for events a received one refers to and the asker lacks.",
        ("room", "ids"),
    )
    wire.declare(
        "fed.events",
        SERVER_SERVER,
        "Message Events Ordering Notes",
        "Events asked for.",
        ("events",),
    )
    wire.declare(
        "fed.make_join",
        SERVER_SERVER,
        JOINING,
        "Ask a resident server to let a user join (by room ID or alias); `omit_members`: "
        "answer with a partial state (faster joins, MSC3706).",
        ("room", "alias", "key", "user"),
        ("omit_members",),
    )
    wire.declare(
        "fed.join_state",
        SERVER_SERVER,
        JOINING,
        "The room's current state, its auth chain, extremities and recent events; `partial`: "
        "the state maps omit the members the rest of the state does not need, and "
        "`servers` names the servers in the room (MSC3706 `servers_in_room`).",
        ("room", "key", "events", "after", "hidden", "current", "extremities"),
        ("partial", "servers"),
    )
    wire.declare(
        "fed.get_state",
        SERVER_SERVER,
        JOINING,
        "A server joined with partial state asks for the full state after the events it "
        "was handed (`ids`).",
        ("room", "ids"),
    )
    wire.declare(
        "fed.state",
        SERVER_SERVER,
        JOINING,
        "The full state after each event asked for (`after`: event ID -> state) and the "
        "member events it names.",
        ("room", "after", "events"),
    )
    wire.declare(
        "fed.join_denied", SERVER_SERVER, JOINING, "A remote join refused.", ("key", "error")
    )
    wire.declare(
        "fed.backfill",
        SERVER_SERVER,
        SCROLL,
        "Ask for older events (backfill over federation).",
        ("room", "frontier", "limit", "req"),
    )
    wire.declare(
        "fed.history",
        SERVER_SERVER,
        SCROLL,
        "Older events, each with the state after it.",
        ("req", "events", "after", "hidden"),
    )
    wire.declare(
        "fed.reject",
        SERVER_SERVER,
        "Rejecting an invite",
        "Reject an invite through the inviter's server (the rejecting one is not in the room).",
        ("invite", "user", "req"),
    )
    wire.declare(
        "fed.rejected",
        SERVER_SERVER,
        "Rejecting an invite",
        "The outcome of a `fed.reject`.",
        ("invite", "req", "ok", "error"),
    )

    wire.declare(
        "fed.ephemeral",
        SERVER_SERVER,
        EPHEMERAL,
        "A user's presence (`edu` presence, `key` the user) or a room's typing users of the"
        " sender (`edu` typing, `key` the room), numbered `n` by the sender.",
        ("edu", "key", "n"),
        ("presence", "caps", "users"),
    )
    wire.declare(
        "fed.ephemeral_ack",
        SERVER_SERVER,
        EPHEMERAL,
        "Acknowledges the `fed.ephemeral` numbered `n` (with `ephemeral_delivery = latest`).",
        ("edu", "key", "n"),
    )

    wire.declare(
        "fed.caps_lookup",
        SERVER_SERVER,
        "Capabilities: Federation",
        "Ask a user's server for the capability set behind a hash (`of`: the user).",
        ("hash", "of"),
    )
    wire.declare(
        "fed.caps",
        SERVER_SERVER,
        "Capabilities: Federation",
        "The capability set of a `fed.caps_lookup` (`caps` null: unknown hash).",
        ("hash", "caps"),
    )
