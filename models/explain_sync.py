"""Explainers of the sync properties: limited deltas and their gaps
(``models/device/gaps.py``), and the replies an initial sync bundles
(``models/properties_relations.py``); proposal, "Global /initialSync API",
"Scrolling back", "Example using updates and relates_to"."""

from __future__ import annotations

from mxsim.models import room as R
from mxsim.models.device.gaps import expected_timeline
from mxsim.models.explain import Moment, devices, explains
from mxsim.models.homeserver.updates import children
from mxsim.models.wire_brief import event_brief


@explains("timeline_complete")
def timeline_complete(at: Moment) -> str | None:
    view = at.after
    for d in devices(view):
        if "gaps" not in view.state(d):
            continue
        server, user = view.config(d)["server"], view.config(d)["user"]
        shown = view.state(d)["timeline"]["timeline"]
        for room, store in sorted(view.state(server)["rooms"]["stores"].items()):
            if R.membership(store, user) != "join":
                continue
            want, have = expected_timeline(store), shown.get(room, [])
            missing = [e for e in want if e not in have]
            if missing:
                what = ", ".join(event_brief(store["events"][e]) for e in missing)
                return (
                    f"{d} never shows {what} of {room}: its server left it out of a limited"
                    " delta and the device did not scroll back through the gap"
                )
            if have != want:
                return f"{d} shows the messages of {room} out of order: {', '.join(have)}"
    return None


@explains("replies_after_token")
def replies_after_token(at: Moment) -> str | None:
    view = at.after
    for d in devices(view):
        if "bundles" not in view.state(d):
            continue
        config = view.config(d)
        store = view.state(config["server"])["rooms"]["stores"].get(config["bundles"]["room"])
        for top, entry in sorted(view.state(d)["bundles"]["shown"].items()):
            replies = [ev["event_id"] for ev in children(store, top, "relates_to")]
            want = replies[entry["start"] or 0 :]
            missing = [e for e in want if e not in entry["replies"]]
            extra = [e for e in entry["replies"] if e not in want]
            if missing or extra:
                return (
                    f"{d} shows {top} with replies {', '.join(entry['replies']) or 'none'} and"
                    f" token {entry['start']}: the server's replies from that token are"
                    f" {', '.join(want) or 'none'}"
                )
    return None


@explains("bundle_limit_honoured")
def bundle_limit_honoured(at: Moment) -> str | None:
    from mxsim.models.device.bundles import bundle_limit

    view = at.after
    for d in devices(view):
        for top, entry in sorted(view.state(d).get("bundles", {}).get("shown", {}).items()):
            if "bundled" not in entry:
                continue
            limit = bundle_limit(view.config(d), view.switches, entry["api"])
            token = entry["start"]
            if entry["bundled"] > limit or (token is not None and entry["bundled"] != limit):
                return (
                    f"{d} got {top} by its {entry['api']} filter (bundle_limit {limit}) with"
                    f" {entry['bundled']} replies bundled and token {token}"
                )
    return None


@explains("keys_honoured")
def keys_honoured(at: Moment) -> str | None:
    from mxsim.models.device.filters import wanted as wanted_keys
    from mxsim.models.homeserver.filters import KEPT_KEYS

    view = at.after
    for d in devices(view):
        held = view.state(d).get("filters", {}).get("keys", {})
        for api, keys in sorted(held.items()):
            mine = view.state(d)["filters"]
            wanted = wanted_keys(view.config(d)["filters"], mine, api)
            if "lacking" in keys:
                return f"{d} got an event by its {api} filter without one of the keys it needs"
            extra = [
                k for k in keys if wanted is not None and k not in wanted and k not in KEPT_KEYS
            ]
            if extra:
                return (
                    f"{d} got events by its {api} filter with keys {', '.join(extra)}; it asked"
                    f" for {', '.join(wanted) or 'none'} besides the ones every client needs"
                )
    return None
