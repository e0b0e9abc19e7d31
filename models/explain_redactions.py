"""Explainers of the redaction properties (``models/properties_redactions.py``;
proposal, "Event Stream API": "Deleted message events are ``m.room.redaction``
events")."""

from __future__ import annotations

from mxsim.models.explain import Moment, explains
from mxsim.models.properties_redactions import leaks, owed, unauthorised, unredacted


@explains("redactions_applied")
def redactions_applied(at: Moment) -> str | None:
    view = at.after
    found = unredacted(view)
    if not found:
        return None
    node, target = found[0]
    rid = owed(view)[target]
    if view.kind(node) == "device":
        server = view.state(view.config(node)["server"])
        history = server.get("redactions", {}).get("seen", {}).get("history")
        why = " (it came with history: a scrollback page, the join's answer)" if history else ""
        return f"{node} shows {target} whole for good, though {rid} redacted it{why}"
    early = view.state(node).get("redactions", {}).get("seen", {}).get("early")
    why = " (its redaction came before it and was not kept)" if early else ""
    return f"{node} holds {target} whole for good, though {rid} redacted it{why}"


@explains("redacted_content_gone")
def redacted_content_gone(at: Moment) -> str | None:
    found = leaks(at.after)
    if not found:
        return None
    node, target = found[0]
    if at.after.kind(node) == "device":
        return f"{node} was handed a message's content after it showed it redacted"
    return f"{node} applied the redaction of {target} and still holds or queues its content"


@explains("redaction_authorised")
def redaction_authorised(at: Moment) -> str | None:
    found = unauthorised(at.after)
    if not found:
        return None
    server, target, rid = found[0]
    store = next(
        st for st in at.after.state(server)["rooms"]["stores"].values() if rid in st["events"]
    )
    sender = store["events"][rid]["sender"]
    return (
        f"{server} applied {rid} of {target}: {sender} neither sent {target} nor holds"
        " the redact power level"
    )
