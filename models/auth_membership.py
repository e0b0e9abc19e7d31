"""The authorization rules of ``m.room.member``: joins under the join rules,
invites (proposal, "Inviting a user"), leaves and rejections ("Leaving a
room", "Rejecting an invite"), kicks ("Kicking a user") and bans.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mxsim.models.auth_events import (
    AuthError,
    AuthState,
)
from mxsim.models.events import JOIN_RULES_KEY, MEMBER, content_of, membership_of
from mxsim.models.power_levels import (
    creator_of,
    is_user_id,
    named_level,
    user_power_level,
)
from mxsim.models.state_keys import domain_of


def _can_federate(create: Mapping[str, Any]) -> bool:
    return content_of(create).get("m.federate", True) is True


def _check_joined(user_id: str, auth_state: AuthState) -> None:
    membership = membership_of(auth_state.get((MEMBER, user_id)))
    if membership != "join":
        raise AuthError(f"{user_id} is not joined (membership {membership})")


def _check_membership(
    event: Mapping[str, Any], auth_state: AuthState, create: Mapping[str, Any]
) -> None:
    sender = event["sender"]
    target = event.get("state_key")
    if not is_user_id(target):
        raise AuthError(f"m.room.member state key is not a user ID: {target!r}")
    membership = membership_of(event)
    if membership is None:
        raise AuthError("m.room.member content has no string membership")
    prev = event.get("prev_events")

    # The creator's own join, right after the create event.
    if (
        membership == "join"
        and isinstance(prev, list)
        and len(prev) == 1
        and prev[0] == create.get("event_id")
        and creator_of(create) == target
    ):
        return

    if domain_of(create.get("sender", "")) != domain_of(target) and not _can_federate(create):
        raise AuthError("the room is not federated (m.federate is false)")

    caller = membership_of(auth_state.get((MEMBER, sender)))
    current = membership_of(auth_state.get((MEMBER, target)))
    caller_joined = caller == "join"
    caller_invited = caller == "invite"
    target_joined = current == "join"
    target_banned = current == "ban"
    join_rule = content_of(auth_state.get(JOIN_RULES_KEY)).get("join_rule", "invite")

    user_level = user_power_level(sender, auth_state)
    target_level = user_power_level(target, auth_state)
    ban_level = named_level(auth_state, "ban")

    if membership == "invite" and "third_party_invite" in content_of(event):
        raise AuthError("third-party invites are not modelled")

    if membership != "join":
        if caller_invited and membership == "leave" and target == sender:
            return  # rejecting an invite
        if not caller_joined:
            raise AuthError(f"{sender} is not joined (membership {caller})")

    if membership == "invite":
        if target_banned:
            raise AuthError(f"{target} is banned")
        if target_joined:
            raise AuthError(f"{target} is already joined")
        if user_level < named_level(auth_state, "invite"):
            raise AuthError(f"{sender} may not invite")
    elif membership == "join":
        if sender != target:
            raise AuthError("a user can only join themselves")
        if target_banned:
            raise AuthError(f"{target} is banned")
        if join_rule == "public":
            return
        if join_rule == "invite":
            if not (caller_joined or caller_invited):
                raise AuthError(f"{target} is not invited")
            return
        raise AuthError(f"join rule {join_rule!r} does not let {target} join")
    elif membership == "leave":
        if target_banned and user_level < ban_level:
            raise AuthError(f"{sender} may not unban {target}")
        if target != sender:
            kick_level = named_level(auth_state, "kick")
            if user_level < kick_level or user_level <= target_level:
                raise AuthError(f"{sender} may not kick {target}")
    elif membership == "ban":
        if user_level < ban_level:
            raise AuthError(f"{sender} may not ban")
        if user_level <= target_level:
            raise AuthError(f"{sender} may not ban {target}, whose power is not lower")
    else:
        raise AuthError(f"unknown membership {membership!r}")
