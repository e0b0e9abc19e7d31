"""The bundling properties and guards of the matrix model (proposal: "Updates
(Events)", "Relates to (Events)", their "Bundling").

What a device shows is its ``bundles`` part (:mod:`mxsim.models.device.bundles`);
what it should show is read from its server's room graph: the children that
server accepted (:mod:`mxsim.models.homeserver.bundling`).

Findings (``mxsim check``; lengths are the shortest traces, node starts included):

- ``check relations --set withhold_orphan_children=false``: violates
  ``bundles_whole`` (15 steps): a late device whose initial sync holds an
  edit whose message it has not reached shows the edit alone, as the
  proposal's "No you shouldn't be told about child events" foresees.
"""

from __future__ import annotations

from mxsim.models.device.bundles import bundle_limit
from mxsim.models.homeserver.bundling import descendants
from mxsim.models.homeserver.updates import children, parent_of
from mxsim.sim.model import View, always, eventually, sometimes

__all__ = ["PROPERTIES"]


def _devices(view: View) -> list[tuple[str, dict, dict | None]]:
    """(device, its bundles part, its server's store of the part's room)."""
    out = []
    for d in view.nodes:
        if view.kind(d) != "device" or "bundles" not in view.state(d):
            continue
        config = view.config(d)
        stores = view.state(config["server"])["rooms"]["stores"]
        out.append((d, view.state(d)["bundles"], stores.get(config["bundles"]["room"])))
    return out


@always("bundles_whole")
def bundles_whole(view: View) -> bool:
    """No device shows a child without its parent."""
    return not any(mine["alone"] for _d, mine, _s in _devices(view))


@always("updates_applied_once")
def updates_applied_once(view: View) -> bool:
    """No ``updates`` child is applied twice to a shown parent."""
    return all(
        len(entry["applied"]) == len(set(entry["applied"]))
        for _d, mine, _s in _devices(view)
        for entry in mine["shown"].values()
    )


@eventually("updates_complete")
def updates_complete(view: View) -> bool:
    """Each shown parent has every ``updates`` child (recursively) its device's server has."""
    for _d, mine, store in _devices(view):
        for top, entry in mine["shown"].items():
            want = sorted(ev["event_id"] for ev in descendants(store, top))
            if want != sorted(entry["applied"]):
                return False
    return True


@always("pagination_once")
def pagination_once(view: View) -> bool:
    """Bundles, deltas and pages hand each reply over at most once."""
    return all(n <= 1 for _d, mine, _s in _devices(view) for n in mine["handed"].values())


@eventually("pagination_complete")
def pagination_complete(view: View) -> bool:
    """A parent with no replies left to page has every reply its device's server has."""
    for _d, mine, store in _devices(view):
        for top, entry in mine["shown"].items():
            if entry["start"] is None:
                want = sorted(ev["event_id"] for ev in children(store, top, "relates_to"))
                if sorted(entry["replies"]) != want:
                    return False
    return True


@sometimes("child_before_parent")
def child_before_parent(view: View) -> bool:
    """A child reached a server before its parent, or a window held a child back."""
    for s in view.nodes:
        if view.kind(s) != "homeserver":
            continue
        st = view.state(s)
        if st.get("bundling", {}).get("seen", {}).get("held_back"):
            return True
        stores = st["rooms"]["stores"]
        for ev, _pushed in st.get("federation", {}).get("pending", {}).values():
            parent = parent_of(ev)
            store = stores.get(ev["room_id"])
            if parent is not None and store is not None and parent not in store["after"]:
                return True
    return False


@sometimes("paged_to_the_end")
def paged_to_the_end(view: View) -> bool:
    """A device paged a parent's replies past the bundle limit to the end: it took
    the last page itself (replies that came down as deltas are not paging)."""
    return any(
        entry.get("paged") and len(entry["replies"]) > bundle_limit(view.config(d), view.switches)
        for d, mine, _s in _devices(view)
        for entry in mine["shown"].values()
    )


@eventually("replies_after_token")
def replies_after_token(view: View) -> bool:
    """Each shown parent holds exactly the replies its server has from the parent's
    pagination token on: a bundle brings the most recent ones, and the token
    pages the earlier ones (proposal, "Example using updates and relates_to":
    "the most recent 3 comments and a pagination token to request earlier comments")."""
    for _d, mine, store in _devices(view):
        for top, entry in mine["shown"].items():
            replies = [ev["event_id"] for ev in children(store, top, "relates_to")]
            if sorted(entry["replies"]) != sorted(replies[entry["start"] or 0 :]):
                return False
    return True


@sometimes("bundle_with_token")
def bundle_with_token(view: View) -> bool:
    """A device shows a parent whose bundle held more replies than its limit, so it
    came with a pagination token for the earlier ones."""
    return any(
        entry["start"] is not None
        for _d, mine, _s in _devices(view)
        for entry in mine["shown"].values()
    )


@always("bundle_limit_honoured")
def bundle_limit_honoured(view: View) -> bool:
    """Every bundle a device with a filter got holds at most its filter's
    ``bundle_limit`` replies (the filter of the API it came by), all of them if
    it has no pagination token, and a full bundle if it has one (proposal,
    "Relates to (Events)", "Bundling": "If the limit is exceeded, then the
    bundle should also include a pagination token")."""
    for d, mine, _s in _devices(view):
        for entry in mine["shown"].values():
            if "bundled" not in entry:
                continue
            limit = bundle_limit(view.config(d), view.switches, entry["api"])
            cut = entry["start"] is not None
            if entry["bundled"] > limit or (cut and entry["bundled"] != limit):
                return False
    return True


@sometimes("bundles_differ_by_filter")
def bundles_differ_by_filter(view: View) -> bool:
    """Two devices of one user show one parent, one with a bundle cut at its
    filter's limit (a pagination token), the other with more replies bundled:
    each got the bundle its own filter asked for, from the same server."""
    got: dict[tuple[str, str], list[tuple[int, bool]]] = {}
    for d, mine, _s in _devices(view):
        user = view.config(d)["user"]
        for top, entry in mine["shown"].items():
            if "bundled" in entry:
                cut = entry["start"] is not None
                got.setdefault((user, top), []).append((entry["bundled"], cut))
    return any(
        cut and other > n for sizes in got.values() for n, cut in sizes for other, _ in sizes
    )


PROPERTIES = (
    bundles_whole,
    updates_applied_once,
    updates_complete,
    pagination_once,
    pagination_complete,
    child_before_parent,
    paged_to_the_end,
    replies_after_token,
    bundle_with_token,
    bundle_limit_honoured,
    bundles_differ_by_filter,
)
