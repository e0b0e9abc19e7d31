"""Matrix authorization rules for room events (room-version-1 semantics).

The rules decide whether an event may enter a room given the room state it
is checked against (its *auth state*): the ``m.room.create`` event comes
first and alone, membership changes follow the join rules and power levels,
senders must be joined to send, and power levels bound who may change what.
They follow Matrix room versions 1 and 2 as Synapse implements them (so that
Synapse can serve as an oracle for state resolution v2, which runs these
checks), with the proposal's additions and a few mxsim choices:

- Event version 2's state-key prefixes (proposal, "Events (breaking
  changes; event version 2)") replace Matrix's "a state key starting with
  ``@`` must equal the sender": ``@user[/path]`` keys may be set by that user
  or by a room op (power level at least ``state_default``), ``server/path``
  keys only by senders on that server, ``_`` keys by anyone allowed to send
  the type (:func:`models.state_keys.state_key_permitted`). ``m.room.member``
  keys are governed by the membership rules instead.
- A type prefixed ``state:`` must carry a state key, one prefixed
  ``message:`` must not, and an ``ephemeral:`` event never enters a room.
- Deletions (proposal, "Deleting a state event"): deleting an
  ``m.room.member`` event is a ``leave`` (so the invitee deleting their
  invite rejects it, proposal "Rejecting an invite"); ``m.room.create`` and
  ``m.room.power_levels`` cannot be deleted; other deletions need the same
  power as setting the state.
- Malformed content (a power level that is not an integer, a membership that
  is not a string, ...) fails the check instead of raising another error.
- Not modelled: third-party invites (an invite carrying
  ``third_party_invite`` is refused), knocking and restricted joins (later
  room versions).
- A redaction by a sender below the ``redact`` level passes when its ID and
  the redacted ID name the same server (room version 1) or carry no server
  name (room version 3 onward: checked when the redaction is applied).
- A create event without ``content.creator`` names its sender as creator.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mxsim.models.auth_events import (
    AuthError,
    AuthState,
)
from mxsim.models.auth_membership import _can_federate, _check_joined, _check_membership
from mxsim.models.event_kinds import type_kind
from mxsim.models.events import (
    ALIASES,
    CREATE,
    CREATE_KEY,
    MEMBER,
    POWER_LEVELS,
    REDACTION,
    THIRD_PARTY_INVITE,
    is_deletion,
    is_state,
)
from mxsim.models.power_levels import (
    _check_power_levels,
    named_level,
    send_level,
    user_power_level,
)
from mxsim.models.state_keys import domain_of, state_key_permitted

__all__ = ["check_auth", "auth_allows"]


def auth_allows(event: Mapping[str, Any], auth_state: AuthState) -> bool:
    """:func:`check_auth` as a boolean."""
    try:
        check_auth(event, auth_state)
    except AuthError:
        return False
    return True


def check_auth(event: Mapping[str, Any], auth_state: AuthState) -> None:
    """Check ``event`` against the authorization rules and ``auth_state``.

    ``auth_state`` maps state keys to events; only the keys
    :func:`auth_types_for_event` names are consulted. This is the part of the
    rules that depends on room state (what state resolution v2 re-runs),
    plus the create event's own rule (no prev events).

    Raises
    ------
    AuthError
        If the event is not allowed; the message says which rule refused it.

    Examples
    --------
    >>> from mxsim.models.events import make_event
    >>> create = make_event(room_id="!r:a.test", type="m.room.create", sender="@a:a.test",
    ...                     content={"creator": "@a:a.test"}, state_key="")
    >>> topic = make_event(room_id="!r:a.test", type="m.room.topic", sender="@a:a.test",
    ...                    content={"topic": "hi"}, state_key="", depth=2)
    >>> try:
    ...     check_auth(topic, {("m.room.create", ""): create})
    ... except AuthError as e:
    ...     print(e)
    @a:a.test is not joined (membership None)
    """
    etype = event.get("type")
    sender = event.get("sender")
    if not isinstance(etype, str) or not isinstance(sender, str):
        raise AuthError("type and sender must be strings")

    if etype == CREATE:
        if event.get("prev_events"):
            raise AuthError("m.room.create has prev events")
        if not is_state(event) or event["state_key"] not in ("", "_"):
            raise AuthError("m.room.create must be state with the empty state key")
        if is_deletion(event):
            raise AuthError("m.room.create cannot be a deletion")
        return

    create = auth_state.get(CREATE_KEY)
    if create is None:
        raise AuthError("no m.room.create event in the auth state")
    if create.get("room_id") != event.get("room_id"):
        raise AuthError("the create event is for another room")
    if domain_of(create.get("sender", "")) != domain_of(sender) and not _can_federate(create):
        raise AuthError("the room is not federated (m.federate is false)")

    kind = type_kind(etype)
    if kind == "ephemeral":
        raise AuthError(f"{etype} is ephemeral and cannot enter the room graph")
    if kind == "state" and not is_state(event):
        raise AuthError(f"{etype} is a state type but the event has no state_key")
    if kind == "message" and is_state(event):
        raise AuthError(f"{etype} is a message type but the event has a state_key")

    if etype == ALIASES and is_state(event):
        # Room versions 1-5: a server may set its own aliases, member or not.
        if event["state_key"] in ("", "_") or event["state_key"] != domain_of(sender):
            raise AuthError("m.room.aliases state key must be the sender's server")
        return

    if etype == MEMBER:
        _check_membership(event, auth_state, create)
        return

    _check_joined(sender, auth_state)

    if etype == THIRD_PARTY_INVITE:
        if user_power_level(sender, auth_state) < named_level(auth_state, "invite"):
            raise AuthError(f"{sender} may not invite")
        return

    state = is_state(event)
    user_level = user_power_level(sender, auth_state)
    needed = send_level(etype, state, auth_state)
    if user_level < needed:
        raise AuthError(f"{sender} has power {user_level} < {needed} needed for {etype}")

    if state:
        ops = user_level >= named_level(auth_state, "state_default")
        if not state_key_permitted(event, ops):
            raise AuthError(f"{sender} may not use state key {event['state_key']!r}")
        if is_deletion(event) and etype == POWER_LEVELS:
            raise AuthError("m.room.power_levels cannot be deleted")

    if etype == POWER_LEVELS and state:
        _check_power_levels(event, auth_state, user_level)

    if etype == REDACTION:
        _check_redaction(event, auth_state, user_level)


def _check_redaction(event: Mapping[str, Any], auth_state: AuthState, user_level: int) -> None:
    if user_level >= named_level(auth_state, "redact"):
        return
    own_id = event.get("event_id")
    redacts = event.get("redacts")
    if not isinstance(own_id, str) or not isinstance(redacts, str):
        raise AuthError("a redaction below the redact level must name the event it redacts")
    if ":" in own_id and ":" in redacts:
        if domain_of(own_id) != domain_of(redacts):
            raise AuthError(f"{event['sender']} may not redact events from other servers")
    # IDs without a server name: checked when the redaction is applied.
