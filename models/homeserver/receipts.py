"""Read receipts: three strategies the proposal weighs, and what each costs.

- ``local`` (the proposal's choice): "*Local* Delivery/Read receipts: 'Local'
  means they are not shared with other users on the same home server or via
  federation but *are* shared between clients for the same user ... This is
  done to avoid the ``n^2`` problem for sending receipts" (Updates (Events),
  main use cases). A receipt is an ``updates`` child of the message read,
  marked ``local``: a server-local event, never in the room's graph, streamed
  to the reader's own devices only and never federated.
- ``relates_to``: "Non-local delivery/read receipts: If doing separate
  receipt events for each message" (Relates to (Events), main use cases). A
  receipt is a ``relates_to`` child of each message read: a room event made
  through the rooms part (auth rules, state resolution), federated and
  streamed to every device in the room.
- ``read_up_to``: "What do read-up-to markers look like?" (Notes, TODO). One
  marker per user, a room event naming the last message read; it only moves
  forward (the reader's server refuses a marker that is not deeper in the
  room than the user's last one).

A device asks with the request ``receipt`` (room, the message read); the
switch ``receipts`` says which event its server makes of it.

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

The ``n^2`` of the proposal is ``relates_to``'s ``(N-1) M N D``. The runs
count what is sent (:class:`Counted`): each ``receipt`` request a device
sends, each stream entry carrying a receipt a device takes, each
``fed.event`` carrying one a server sends (not its ``fed.ack``, nor the
answers to requests); bytes are the length of the canonical JSON of each
(``mxsim run receipts --json`` reports both under ``metrics``).

>>> expected("relates_to", users=4, messages=3, servers=2, devices=2)
{'c2s': 9, 's2c': 72, 's2s': 9}
>>> expected("local", users=4, messages=3, servers=2, devices=2)
{'c2s': 9, 's2c': 18, 's2s': 0}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mxsim.models import room as R
from mxsim.models import room_history as H
from mxsim.models.homeserver.rooms import result
from mxsim.sim.model import Switch
from mxsim.sim.node import Context
from mxsim.sim.parts import Part
from mxsim.sim.relay import Relay
from mxsim.sim.world import canonical

__all__ = [
    "Receipts",
    "STRATEGIES",
    "RECEIPT",
    "ROOM_RECEIPT",
    "MARKER",
    "KINDS",
    "expected",
    "is_receipt",
    "Counted",
    "count",
]

STRATEGIES = ("local", "relates_to", "read_up_to")
#: A local receipt: an ephemeral event (event version 2), kept out of the graph.
RECEIPT = "m.receipt"
#: A receipt that is a room event: a message event of the receipt type.
ROOM_RECEIPT = "message:m.receipt"
MARKER = "m.read_up_to"
KINDS = ("c2s", "s2c", "s2s")

RECEIPTS = Switch(
    "receipts",
    "local",
    'Updates (Events), main use cases: "*Local* Delivery/Read receipts ... This is done to '
    'avoid the n^2 problem for sending receipts" (against non-local receipts via '
    "relates_to, and read-up-to markers).",
    choices=STRATEGIES,
)
LOCAL_RECEIPT_AUDIENCE = Switch(
    "local_receipt_audience",
    "own_devices",
    'Updates (Events), main use cases: local receipts "are not shared with other users on '
    "the same home server or via federation but *are* shared between clients for the same "
    'user". "own_devices" follows it; "room" is the leak (the server streams a local '
    "receipt to every device it serves in the room, still not federating it).",
    choices=("own_devices", "room"),
)


def expected(strategy: str, users: int, messages: int, servers: int, devices: int) -> dict:
    """The closed-form message counts of the table above."""
    readers = users - 1
    sent = readers * (messages if strategy in ("local", "relates_to") else 1)
    if strategy == "local":
        return {"c2s": sent, "s2c": sent * devices, "s2s": 0}
    return {"c2s": sent, "s2c": sent * users * devices, "s2s": sent * (servers - 1)}


def is_receipt(ev: dict) -> bool:
    return ev.get("type") in (RECEIPT, ROOM_RECEIPT, MARKER)


def count(ctx: Context, link: str, item: Any) -> None:
    """Record one receipt message on ``link`` (a kind of :data:`KINDS`) and its bytes."""
    ctx.metric(f"receipts.{link}.messages")
    ctx.metric(f"receipts.{link}.bytes", len(canonical(item)))


class Counted(Relay):
    """A context that counts, on ``link``, the messages sent through it that ``carries``."""

    def __init__(self, ctx: Context, link: str, carries: Callable[[dict], bool]) -> None:
        super().__init__(ctx)
        self._link, self._carries = link, carries

    def send(self, dst: str, msg: dict) -> None:
        if self._carries(msg):
            count(self._ctx, self._link, msg)
        self._ctx.send(dst, msg)


def _federated_receipt(msg: dict) -> bool:
    return msg["type"] == "fed.event" and is_receipt(msg["event"])


class Receipts(Part):
    """State: ``local`` (the local receipts this server made) and ``markers``
    (room -> user -> depth of the message their last read-up-to marker names)."""

    name = "receipts"
    section = "Updates (Events); Relates to (Events)"
    handles = ("receipt",)
    durable = ("local", "markers")
    switches = (RECEIPTS, LOCAL_RECEIPT_AUDIENCE)

    def bind(self) -> None:
        self.rooms = self.node.part("rooms")
        self.stream = self.node.part("stream")

    def initial(self) -> dict[str, Any]:
        return {"local": [], "markers": {}}

    def on_receipt(self, ctx: Context, state: dict, device: Any, msg: dict) -> None:
        rooms = self.rooms
        aid, room_id, target = msg.get("aid"), msg["room"], msg["event_id"]
        user = rooms.user(state, device, msg)
        store = rooms.stores(state).get(room_id)
        if store is None or not R.placed(store, target) or is_receipt(store["events"][target]):
            rooms.answer(ctx, device, result(aid, False, error="no such message"))
            return
        strategy = self.node.switches["receipts"]
        content: dict[str, Any] = {"device_id": device}
        if strategy == "local":
            self._local(ctx, state, store, device, aid, user, target)
            return
        markers = self.of(state)["markers"]
        depth = store["events"][target]["depth"]
        if strategy == "read_up_to":
            if depth <= markers.get(room_id, {}).get(user, 0):
                rooms.answer(ctx, device, result(aid, False, error="not after the marker"))
                return
            content["event_id"] = target
            ev = rooms.new_event(state, store, room_id, MARKER, user, content)
        else:
            ev = rooms.new_event(state, store, room_id, ROOM_RECEIPT, user, content)
            ev["relates_to"] = target
        # A room event like a message: accepted, answered, federated, streamed.
        rooms.local(Counted(ctx, "s2s", _federated_receipt), state, device, aid, store, ev)
        if strategy == "read_up_to" and H.visible(store, ev["event_id"]):
            markers.setdefault(room_id, {})[user] = depth  # it moved: it was accepted

    def _local(self, ctx, state, store, device, aid, user, target) -> None:
        """A server-local event: streamed to the reader's devices, kept out of the graph."""
        mine = self.of(state)
        room_id = store["events"][target]["room_id"]
        ev = {
            "event_id": f"${self.node.name}.local.{len(mine['local']) + 1}",
            "type": RECEIPT,
            "room_id": room_id,
            "sender": user,
            "updates": target,
            "local": True,
            "content": {"device_id": device},
        }
        mine["local"].append(ev)
        everyone = self.node.switches["local_receipt_audience"] == "room"
        devices = self.stream.devices(state)
        for d in sorted(devices):
            reader = devices[d]["user"]
            if (everyone or reader == user) and R.membership(store, reader) == "join":
                self.stream.push(state, d, room_id, ev)
        rooms = self.rooms
        rooms.answer(ctx, device, result(aid, True, event_id=ev["event_id"], room=room_id))

    def snapshot(self, state: dict, device: str, room_id: str, into: list | None) -> None:
        """A device new to a room is also given its user's local receipts there
        (they "*are* shared between clients for the same user")."""
        user = self.stream.devices(state)[device]["user"]
        everyone = self.node.switches["local_receipt_audience"] == "room"
        for ev in self.of(state)["local"]:
            if ev["room_id"] == room_id and (everyone or ev["sender"] == user):
                self.stream.push(state, device, room_id, ev, into=into)
