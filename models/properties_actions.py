"""Action IDs in the matrix model: their switches and properties.

Parts: the homeserver's ``actions`` (:mod:`mxsim.models.homeserver.actions`)
and the device's ``retransmission`` (:mod:`mxsim.models.device.retransmission`).
Proposal sections: "Action APIs", "Send a message" (ordering notes), "Action IDs".

Findings (README, "The matrix model"):

- ``mxsim check action-ids --set idempotent_retransmission=false``: a
  retransmitted send is applied twice (``idempotent``);
- ``mxsim check action-ids-parallel --set hold_out_of_order=false``: sends
  that overtake each other on the link reach the room out of order
  (``per_client_order``);
- ``mxsim check action-ids-gap --set after_missing_seqnum=wait``: once one send
  is lost for good, the server keeps waiting for it, so the device's later
  sends are held and rejected for the same gap (``sends_recover``).
"""

from __future__ import annotations

from mxsim.sim.model import Switch, View, always, eventually, sometimes

__all__ = ["SWITCHES", "PROPERTIES", "rejected_again"]

SWITCHES = (
    Switch(
        "idempotent_retransmission",
        True,
        'Action APIs: "This ID serves as a transaction ID for idempotency".',
    ),
    Switch(
        "hold_out_of_order",
        True,
        'Send a message, ordering notes: "When sending a message with a higher seqnum, '
        'it will block the request until it receives earlier seqnums."',
    ),
    Switch(
        "after_missing_seqnum",
        "wait",
        'Send a message, ordering notes: "The block will expire after a timeout and reject '
        'the message stating that it was missing a seqnum." (what the server expects next is '
        'not said: "wait" for the missing ID still, or "skip" past the rejected one)',
        ("wait", "skip"),
    ),
)


def _servers(view: View) -> list[str]:
    return [n for n in view.nodes if view.kind(n) == "homeserver"]


def _clients(view: View, server: str) -> dict:
    """The action-ID sequences the server keeps ({} where it has no ``actions`` part)."""
    return view.state(server).get("actions", {}).get("clients", {})


def _made(view: View, server: str, applied: list) -> list[list]:
    """The [action ID, event] pairs whose request made an event in the server's rooms."""
    stores = view.state(server)["rooms"]["stores"]
    events = {eid: ev for store in stores.values() for eid, ev in store["events"].items()}
    return [[aid, events[eid]] for aid, eid in applied if eid in events]


@always("idempotent")
def idempotent(view: View) -> bool:
    """Each (device, action ID) makes at most one event in the room."""
    for s in _servers(view):
        for c in _clients(view, s).values():
            aids = [aid for aid, _ in _made(view, s, c["applied"])]
            if len(aids) != len(set(aids)):
                return False
    return True


@always("per_client_order")
def per_client_order(view: View) -> bool:
    """A device's events are in the room's graph in action-ID order."""
    for s in _servers(view):
        for c in _clients(view, s).values():
            made = _made(view, s, c["applied"])
            made.sort(key=lambda pair: (pair[1]["room_id"], pair[1]["depth"]))
            for (a, ea), (b, eb) in zip(made, made[1:], strict=False):
                if ea["room_id"] == eb["room_id"] and b <= a:
                    return False
    return True


def _devices(view: View) -> list[str]:
    return [
        n for n in view.nodes if view.kind(n) == "device" and "retransmission" in view.config(n)
    ]


@always("sent_means_applied")
def sent_means_applied(view: View) -> bool:
    """An action the device was told succeeded made exactly one event in the room."""
    for d in [n for n in view.nodes if view.kind(n) == "device"]:
        server = view.config(d)["server"]
        if "actions" not in view.state(server):
            continue  # no action IDs: nothing says what a request made
        c = _clients(view, server).get(d)
        made = [aid for aid, _ in _made(view, server, c["applied"])] if c else []
        for key, ok in view.state(d)["requests"]["results"].items():
            if ok and made.count(int(key)) != 1:
                return False
    return True


@eventually("settled")
def settled(view: View) -> bool:
    """At quiescence every action is settled: answered, or given up."""
    return all(not view.state(d)["retransmission"]["pending"] for d in _devices(view))


@sometimes("retransmission_race")
def retransmission_race(view: View) -> bool:
    """A retransmission by the device (its retry timer fired and it sent the
    action again) reached the server after an earlier transmission of the
    action was applied; a network duplicate of the applied request is not one."""
    return any(view.state(s).get("actions", {}).get("retransmission_race") for s in _servers(view))


@sometimes("out_of_order_actions")
def out_of_order_actions(view: View) -> bool:
    """A higher action ID reached the server before a lower one."""
    return any(view.state(s).get("actions", {}).get("out_of_order") for s in _servers(view))


def rejected_again(view: View) -> tuple[str, str, int, int, int] | None:
    """(server, scope, rejected ID, a later one rejected, the ID still waited for)
    where a later send was rejected for a gap at or below an ID rejected already."""
    for s in _servers(view):
        for scope, c in sorted(_clients(view, s).items()):
            rejected = c["rejected"]
            for k, first in enumerate(rejected):
                later = [a for a in rejected[k + 1 :] if a > first]
                if c["next"] <= first and later:
                    return s, scope, first, later[0], c["next"]
    return None


@eventually("sends_recover")
def sends_recover(view: View) -> bool:
    """After a send was rejected for a missing seqnum, every send of the device
    with a higher ID is applied or rejected for a gap of its own: none is
    rejected while the server still waits for an ID at or below the one it
    rejected."""
    return rejected_again(view) is None


@sometimes("missing_seqnum_rejected")
def missing_seqnum_rejected(view: View) -> bool:
    """A held send's block expired: the server rejected it for a missing seqnum."""
    return any(c["rejected"] for s in _servers(view) for c in _clients(view, s).values())


PROPERTIES = (
    idempotent,
    per_client_order,
    sent_means_applied,
    settled,
    retransmission_race,
    out_of_order_actions,
    sends_recover,
    missing_seqnum_rejected,
)
