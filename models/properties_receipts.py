"""Properties of read receipts (parts ``receipts``, :mod:`mxsim.models.homeserver.receipts`).

Proposal, "Updates (Events)": local receipts "are not shared with other
users on the same home server or via federation but *are* shared between
clients for the same user"; the other strategies share every receipt with
the room. The ``always`` properties and the guards read the devices' flags
(cheap enough to judge after every step of a run with hundreds of devices).
"""

from __future__ import annotations

from mxsim.models import room as R
from mxsim.models.homeserver.receipts import is_receipt
from mxsim.sim.model import View, always, eventually, sometimes

__all__ = ["PROPERTIES"]


def _readers(view: View) -> list[str]:
    """The devices with the receipts part."""
    return [n for n in view.nodes if view.kind(n) == "device" and "receipts" in view.state(n)]


def _flagged(view: View, flag: str) -> bool:
    """Whether some device raised ``flag`` (:mod:`mxsim.models.device.receipts`)."""
    return any(view.state(d)["receipts"][flag] for d in _readers(view))


@always("local_receipts_stay_local")
def local_receipts_stay_local(view: View) -> bool:
    """No device is streamed a local receipt of another user (one from another
    server is another user's)."""
    return not _flagged(view, "leaked")


def _meant_for(view: View) -> tuple[dict, list]:
    """Receipts in some server's room graph (room -> IDs), and the local ones."""
    shared: dict[str, set] = {}
    local: list = []
    for s in view.nodes:
        if view.kind(s) != "homeserver" or "receipts" not in view.state(s):
            continue
        local += view.state(s)["receipts"]["local"]
        for room, store in view.state(s)["rooms"]["stores"].items():
            ids = shared.setdefault(room, set())
            ids.update(e for e in store["after"] if is_receipt(store["events"][e]))
    return shared, local


@eventually("receipts_delivered")
def receipts_delivered(view: View) -> bool:
    """Each device has every receipt meant for it: its user's own local ones, and
    every receipt and marker of the rooms its user is in; no other."""
    shared, local = _meant_for(view)
    for d in _readers(view):
        config = view.config(d)
        user = config["user"]
        store_of = view.state(config["server"])["rooms"]["stores"]
        want: set = set()
        for room, ids in shared.items():
            if room in store_of and R.membership(store_of[room], user) == "join":
                want |= ids
        want |= {ev["event_id"] for ev in local if ev["sender"] == user}
        if set(view.state(d)["receipts"]["got"]) != want:
            return False
    return True


@sometimes("receipt_reached_own_device")
def receipt_reached_own_device(view: View) -> bool:
    """A receipt one device sent reached another device of the same user."""
    return _flagged(view, "own")


@sometimes("receipt_from_another_server")
def receipt_from_another_server(view: View) -> bool:
    """A device was streamed a receipt or marker its server had over federation."""
    return _flagged(view, "remote")


PROPERTIES = (
    local_receipts_stay_local,
    receipts_delivered,
    receipt_reached_own_device,
    receipt_from_another_server,
)
