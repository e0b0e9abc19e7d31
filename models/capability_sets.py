"""Proposal, "Capabilities" (Client): capability sets, their hashes, their union.

"When a session is started, the client needs to provide a capability set. The
server will take the "union" of all the user's connected clients' capability
sets and send the hash of the capabilities as part of presence information."

A capability set is modelled as a sorted list of names (the proposal's JSON
object ``{"m.cap.voip.v1": {}, ...}`` with empty values). Its hash is SHA-256
of canonical JSON, truncated so that traces stay readable.

>>> capability_hash(["b", "a"]) == capability_hash(["a", "b", "a"])
True
>>> union([["voip"], ["files", "voip"]])
['files', 'voip']
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from mxsim.models.events import canonical_json

__all__ = ["capability_hash", "union", "HASH_CHARS"]

#: Hex digits kept of the SHA-256 digest.
HASH_CHARS = 12


def capability_hash(caps: Iterable[str]) -> str:
    """The hash a client sends instead of its set: SHA-256 of canonical JSON."""
    body = canonical_json({name: {} for name in sorted(set(caps))})
    return hashlib.sha256(body.encode()).hexdigest()[:HASH_CHARS]


def union(sets: Iterable[Iterable[str]]) -> list[str]:
    """The union of capability sets, sorted (a set would iterate by hash)."""
    out: list[str] = []
    for caps in sets:
        out.extend(caps)
    return sorted(set(out))
