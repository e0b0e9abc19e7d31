"""Read receipts: three strategies the proposal weighs, and what each costs.

- ``local`` (the proposal's choice): "*Local* Delivery/Read receipts: 'Local'
  means they are not shared with other users on the same home server or via
  federation but *are* shared between clients for the same user ... This is
  done to avoid the ``n^2`` problem for sending receipts" (Updates (Events),
  main use cases). A receipt is an ``updates`` child of the message read,
  marked ``local``; the server streams it to the reader's own devices only
  and never federates it.
- ``relates_to``: "Non-local delivery/read receipts: If doing separate
  receipt events for each message" (Relates to (Events), main use cases). A
  receipt is a ``relates_to`` child of each message read, federated and
  streamed to every device in the room.
- ``read_up_to``: "What do read-up-to markers look like?" (Notes, TODO). One
  marker per user, naming the last message read; it only moves forward
  (a server drops a marker that is not after the one it has), and is
  federated and streamed to every device in the room.

Traffic, in a room of ``N`` users spread over ``S`` servers, each user with
``D`` devices, where one user sends ``M`` messages and the other ``N - 1``
each read all of them at once (one device reads); counted per link kind,
one message per request (client -> server), per device the server streams to
(server -> client, the reader's own devices included: the stream echoes
a device's own events), per server it federates to (server -> server):

=============  =================  ======================  ====================
strategy       client -> server   server -> client        server -> server
=============  =================  ======================  ====================
``local``      ``(N-1) M``        ``(N-1) M D``           ``0``
``relates_to`` ``(N-1) M``        ``(N-1) M N D``         ``(N-1) M (S-1)``
``read_up_to`` ``N-1``            ``(N-1) N D``           ``(N-1) (S-1)``
=============  =================  ======================  ====================

The ``n^2`` of the proposal is ``relates_to``'s ``(N-1) M N D``. Bytes are the
counts times the size of one message of each kind (canonical JSON; a receipt
event is about the same size in every strategy, so bytes scale as the
counts: ``mxsim run receipts --json`` reports both under ``metrics``).

>>> expected("relates_to", users=4, messages=3, servers=2, devices=2)
{'c2s': 9, 's2c': 72, 's2s': 9}
>>> expected("local", users=4, messages=3, servers=2, devices=2)
{'c2s': 9, 's2c': 18, 's2s': 0}
"""

from __future__ import annotations

from typing import Any

__all__ = ["STRATEGIES", "RECEIPT", "MARKER", "receipt", "expected", "is_receipt", "link_metric"]

STRATEGIES = ("local", "relates_to", "read_up_to")

RECEIPT = "m.receipt"
MARKER = "m.read_up_to"

Event = dict[str, Any]


def receipt(strategy: str, user: str, device: str, message: str, n: int) -> Event:
    """The event a device sends for reading ``message`` (its ``n``-th receipt)."""
    base: Event = {
        "event_id": f"${device}.r{n}",
        "sender": user,
        "device_id": device,
    }
    if strategy == "local":
        return {**base, "type": RECEIPT, "updates": message, "local": True, "content": {}}
    if strategy == "relates_to":
        return {**base, "type": RECEIPT, "relates_to": message, "content": {}}
    return {**base, "type": MARKER, "content": {"event_id": message}}


def is_receipt(ev: Event) -> bool:
    return ev["type"] in (RECEIPT, MARKER)


def expected(strategy: str, users: int, messages: int, servers: int, devices: int) -> dict:
    """The closed-form message counts of the table above."""
    readers = users - 1
    per = messages if strategy in ("local", "relates_to") else 1
    sent = readers * per
    if strategy == "local":
        return {"c2s": sent, "s2c": sent * devices, "s2s": 0}
    return {"c2s": sent, "s2c": sent * users * devices, "s2s": sent * (servers - 1)}


def link_metric(link: str) -> tuple[str, str]:
    """Metric names for one link kind: message count and bytes."""
    return f"receipts.{link}.messages", f"receipts.{link}.bytes"
