"""Properties of user redactions (proposal: "Event Stream API": "Deleted message
events are ``m.room.redaction`` events"; the ``redact`` power level).

They judge from what the servers hold, not from what the ``redactions`` part
says it did: a redaction is *owed* wherever some server placed and accepted
it and its sender sent the target or held the ``redact`` level there
(:func:`owed`).
"""

from __future__ import annotations

from typing import Any

from mxsim.models import room as R
from mxsim.models.events import REDACTION
from mxsim.models.power_levels import named_level, user_power_level
from mxsim.sim.model import View, always, eventually, sometimes

__all__ = [
    "owed",
    "allowed",
    "redactions_applied",
    "redacted_content_gone",
    "redaction_authorised",
    "redaction_before_target",
    "redaction_refused",
    "redaction_in_history",
    "shown_then_redacted",
]


def _servers(view: View) -> list[str]:
    return [s for s in view.nodes if view.kind(s) == "homeserver"]


def _devices(view: View) -> list[str]:
    return [d for d in view.nodes if view.kind(d) == "device"]


def _stores(view: View, server: str) -> dict[str, Any]:
    return view.state(server)["rooms"]["stores"]


def allowed(store: dict, rid: str, sender_of_target: str | None) -> bool:
    """May redaction ``rid`` of this store take effect on an event sent by
    ``sender_of_target``: its own sender's, or a sender at the ``redact`` level?"""
    ev = store["events"][rid]
    if ev["sender"] == sender_of_target:
        return True
    auth = R.auth_state(store["after"][rid], store["events"], ev)
    return user_power_level(ev["sender"], auth) >= named_level(auth, "redact")


def _senders(view: View) -> dict[str, str]:
    """Event ID -> sender, over every server's rooms."""
    out: dict[str, str] = {}
    for s in _servers(view):
        for store in _stores(view, s).values():
            for eid, ev in store["events"].items():
                out.setdefault(eid, ev["sender"])
    return out


def owed(view: View) -> dict[str, str]:
    """Target event ID -> a redaction some server accepted that may take effect on it."""
    senders, out = _senders(view), {}
    for s in _servers(view):
        for store in _stores(view, s).values():
            for rid in sorted(store["after"]):
                ev = store["events"][rid]
                if ev["type"] != REDACTION or rid in store["rejected"]:
                    continue
                target = ev.get("redacts")
                if target in senders and allowed(store, rid, senders[target]):
                    out.setdefault(target, rid)
    return out


def unredacted(view: View) -> list[tuple[str, str]]:
    """(node, target) for each server holding an owed target whole, and each
    device showing one not redacted."""
    due, out = owed(view), []
    for s in _servers(view):
        for store in _stores(view, s).values():
            for target in sorted(due):
                if R.placed(store, target) and store["events"][target].get("content"):
                    out.append((s, target))
    for d in _devices(view):
        tl = view.state(d)["timeline"]
        shown = {e for eids in tl["timeline"].values() for e in eids} - set(tl["redacted"])
        out += [(d, t) for t in sorted(shown & set(due))]
    return out


@eventually("redactions_applied")
def redactions_applied(view: View) -> bool:
    """Every server that holds an event some allowed redaction names holds it
    stripped, and every device that shows it shows it redacted."""
    return not unredacted(view)


def leaks(view: View) -> list[tuple[str, str]]:
    """(node, target): a server that applied a redaction and still holds, or has
    queued for a device, the target's content; a device handed the content of
    an event after it showed it redacted."""
    out = []
    for s in _servers(view):
        queued = [
            e["event"]
            for dev in view.state(s)["stream"]["devices"].values()
            for e in dev.get("poll", {}).get("queue", ())
        ]
        for store in _stores(view, s).values():
            for target in sorted(store.get("redacted", {})):
                copies = [store["events"][target]]
                copies += [ev for ev in queued if ev.get("event_id") == target]
                if any(ev.get("content") for ev in copies):
                    out.append((s, target))
    out += [(d, "") for d in _devices(view) if view.state(d)["timeline"].get("unredacted")]
    return out


@always("redacted_content_gone")
def redacted_content_gone(view: View) -> bool:
    """Once a server applied a redaction it never hands the target's content to a
    device again (the stored event, so initial sync and scrollback, and what it
    has queued for the stream); no device is handed it after showing it redacted."""
    return not leaks(view)


def unauthorised(view: View) -> list[tuple[str, str, str]]:
    """(server, target, redaction) for each redaction a server applied that it
    may not: refused by the auth rules, or neither the target's sender nor at
    the ``redact`` level."""
    senders, out = _senders(view), []
    for s in _servers(view):
        for store in _stores(view, s).values():
            for target, rid in sorted(store.get("redacted", {}).items()):
                if rid in store["rejected"] or not allowed(store, rid, senders.get(target)):
                    out.append((s, target, rid))
    return out


@always("redaction_authorised")
def redaction_authorised(view: View) -> bool:
    """No redaction takes effect on any server unless its sender sent the target
    or holds the room's ``redact`` power level."""
    return not unauthorised(view)


def _seen(view: View, name: str) -> bool:
    return any(
        view.state(s).get("redactions", {}).get("seen", {}).get(name) for s in _servers(view)
    )


@sometimes("redaction_before_target")
def redaction_before_target(view: View) -> bool:
    """A server received a redaction before the event it redacts."""
    return _seen(view, "early")


@sometimes("redaction_refused")
def redaction_refused(view: View) -> bool:
    """A server refused a redaction (the auth rules), or accepted one without
    effect (neither the target's sender nor at the ``redact`` level)."""
    return _seen(view, "refused")


@sometimes("redaction_in_history")
def redaction_in_history(view: View) -> bool:
    """A redaction entered a server's store with history: backfill (``fed.history``)
    or a join's answer (``fed.join_state``)."""
    return _seen(view, "history")


def shown_then_hidden(view: View) -> list[tuple[str, str]]:
    """(device, event) for each message a device showed whole (its ``redactions``
    part noted its body) and shows redacted now, by another user's redaction
    (the redacting user's own devices showed it whole before it was redacted)."""
    due, out = None, []
    for d in _devices(view):
        shown = view.state(d).get("redactions", {}).get("bodies", {}).values()
        both = set(shown) & set(view.state(d)["timeline"]["redacted"])
        if not both:
            continue
        due = owed(view) if due is None else due
        user = view.config(d)["user"]
        out += [(d, e) for e in sorted(both) if e in due and _sender(view, due[e]) != user]
    return out


def _sender(view: View, eid: str) -> str | None:
    for s in _servers(view):
        for store in _stores(view, s).values():
            if eid in store["events"]:
                return store["events"][eid]["sender"]
    return None


@sometimes("shown_then_redacted")
def shown_then_redacted(view: View) -> bool:
    """A device showed a message's content, then its redaction by another user."""
    return bool(shown_then_hidden(view))


PROPERTIES = (
    redactions_applied,
    redacted_content_gone,
    redaction_authorised,
    redaction_before_target,
    redaction_refused,
    redaction_in_history,
    shown_then_redacted,
)
