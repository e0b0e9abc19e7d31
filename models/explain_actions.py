"""Explainers of the Action ID and session properties (``models/properties_actions.py``,
``models/homeserver/sessions.py``, ``models/device/bot_properties.py``): which action
was applied twice, or out of order."""

from __future__ import annotations

from mxsim.models.device.bot_properties import answer_problem, order_problem, stuck_problem
from mxsim.models.explain import Moment, devices, explains, servers
from mxsim.models.properties_actions import rejected_again
from mxsim.sim.model import View


def _applied(view: View, server: str) -> dict[str, list[list]]:
    """Scope (device or session) -> its [action ID, event ID] pairs that made an event."""
    stores = view.state(server)["rooms"]["stores"]
    events = {eid for store in stores.values() for eid in store["events"]}
    clients = view.state(server).get("actions", {}).get("clients", {})
    return {
        scope: [[aid, eid] for aid, eid in c["applied"] if eid in events]
        for scope, c in sorted(clients.items())
    }


def _body(view: View, server: str, eid: str) -> str:
    for store in view.state(server)["rooms"]["stores"].values():
        ev = store["events"].get(eid)
        if ev is not None:
            body = ev.get("content", {}).get("body")
            return f' ("{body}")' if body is not None else ""
    return ""


@explains("idempotent")
def idempotent(at: Moment) -> str | None:
    view = at.after
    for s in servers(view):
        for scope, pairs in _applied(view, s).items():
            by_aid: dict[int, list[str]] = {}
            for aid, eid in pairs:
                by_aid.setdefault(aid, []).append(eid)
            for aid, eids in sorted(by_aid.items()):
                if len(eids) > 1:
                    return (
                        f"{s} applied action {aid} of {scope} {len(eids)} times:"
                        f" {', '.join(eids)}{_body(view, s, eids[0])}"
                    )
    return None


@explains("per_client_order")
def per_client_order(at: Moment) -> str | None:
    view = at.after
    for s in servers(view):
        stores = view.state(s)["rooms"]["stores"]
        for scope, pairs in _applied(view, s).items():
            placed = []
            for aid, eid in pairs:
                for room, store in stores.items():
                    if eid in store["events"]:
                        placed.append((room, store["events"][eid]["depth"], aid, eid))
            placed.sort()
            for (ra, _, a, ea), (rb, _, b, eb) in zip(placed, placed[1:], strict=False):
                if ra == rb and b <= a:
                    return (
                        f"{s} placed action {b} of {scope} ({eb}) after action {a} ({ea})"
                        f" in {ra}: the device's order is lost"
                    )
    return None


@explains("sent_means_applied")
def sent_means_applied(at: Moment) -> str | None:
    view = at.after
    for d in devices(view):
        server = view.config(d)["server"]
        if "actions" not in view.state(server):
            continue
        pairs = _applied(view, server).get(d, [])
        made = [aid for aid, _ in pairs]
        for key, ok in sorted(view.state(d)["requests"]["results"].items()):
            n = made.count(int(key))
            if ok and n != 1:
                times = "no event" if n == 0 else f"{n} events"
                return f"{d} was told action {key} succeeded, but it made {times} on {server}"
    return None


@explains("exactly_once")
def exactly_once(at: Moment) -> str | None:
    view = at.after
    for s in servers(view):
        seen: dict[tuple, list[str]] = {}
        for d, txn, eid in view.state(s).get("actions", {}).get("made", []):
            if eid is not None:
                seen.setdefault((d, txn), []).append(eid)
        for (d, txn), eids in sorted(seen.items()):
            if len(eids) > 1:
                return f"{s} applied {d}'s action {txn} {len(eids)} times: {', '.join(eids)}"
    return None


@explains("user_order_kept")
def user_order_kept(at: Moment) -> str | None:
    view = at.after
    for s in servers(view):
        last: dict[str, tuple[int, str]] = {}
        for d, txn, eid in view.state(s).get("actions", {}).get("made", []):
            if eid is None:
                continue
            if d in last and txn < last[d][0]:
                return (
                    f"{s} applied {d}'s action {txn} ({eid}) after its action"
                    f" {last[d][0]} ({last[d][1]}): the user's order is swapped"
                )
            last[d] = (txn, eid)
    return None


@explains("sends_recover")
def sends_recover(at: Moment) -> str | None:
    found = rejected_again(at.after)
    if found is None:
        return None
    s, scope, first, later, waited = found
    return (
        f"{s} rejected action {first} of {scope} for a missing seqnum, then action {later}"
        f" too, still waiting for action {waited}: the device's later sends never go through"
    )


@explains("bot_order")
def bot_order(at: Moment) -> str | None:
    return order_problem(at.after)


@explains("bot_sends_once")
def bot_sends_once(at: Moment) -> str | None:
    return answer_problem(at.after)


@explains("bot_goes_on")
def bot_goes_on(at: Moment) -> str | None:
    return stuck_problem(at.after)
