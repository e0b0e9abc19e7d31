"""A user's signature over an event (proposal, "E2E Notes"): the model's stand-in.

"You send the original message to the HS and it will return the full event
JSON which will be sent. This full event is then signed and sent to the HS
again." A signature here is the user ID and a digest of the event without its
``signatures``: any change to the signed event after signing shows.

>>> ev = {"event_id": "$hs.1", "prev_events": ["$hs.0"], "content": {"body": "hi"}}
>>> signed = sign(ev, "@alice:hs")
>>> verifies(signed)
True
>>> verifies({**signed, "prev_events": ["$hs.2"]})
False
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

__all__ = ["sign", "verifies", "digest"]


def digest(ev: Mapping[str, Any]) -> str:
    """A short digest of the event's canonical JSON, ``signatures`` left out."""
    body = {k: v for k, v in ev.items() if k != "signatures"}
    data = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(data).hexdigest()[:12]


def sign(ev: Mapping[str, Any], user: str) -> dict[str, Any]:
    """The event with ``user``'s signature added."""
    return {**ev, "signatures": {user: digest(ev)}}


def verifies(ev: Mapping[str, Any]) -> bool:
    """True if every signature the event carries is over the event as it is."""
    sigs = ev.get("signatures") or {}
    return all(sig == digest(ev) for sig in sigs.values())
