"""A room's history: scrollback, backfill and partial joins.

Proposal: "Scrolling back (infinite scrolling)" and "Joining a room". The
walk goes back from a frontier of events in (depth, ID) order, so that a
later walk from the token it returns yields nothing yielded before.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["visible", "walk_back", "history_payload", "join_payload", "newer", "auth_chain"]


# -- history: scrollback, backfill, partial joins -----------------------------
#
# A scrollback *token* is the frontier of a backwards walk: a list of
# ``[depth, event_id]`` pairs, the events to yield next (with their ancestors).
# The walk pops the greatest (depth, ID) first, so a child is always yielded
# before its parent, and a later walk from the token yields nothing yielded
# before (every ancestor of a yielded event is deeper than nothing popped
# since). A prev event this server lacks enters the frontier with its child's
# depth minus one, an upper bound of its own: when it comes to the top, the
# local history ends there and the rest is over federation.


def visible(store: Mapping[str, Any], eid: str) -> bool:
    """Shown to clients: placed, not rejected, not soft-failed, not a redaction."""
    if eid not in store["after"] or eid in store["rejected"] or eid in store["soft_failed"]:
        return False
    return store["events"][eid]["type"] != "m.room.redaction"


def walk_back(
    store: Mapping[str, Any],
    frontier: list,
    limit: int,
    wanted=None,
    hidden: bool = False,
    budget: int | None = None,
) -> tuple[list[str], list, bool]:
    """Yield up to ``limit`` visible events older than the token ``frontier``.

    ``wanted(ev) -> bool`` filters which events count (default: all visible).
    ``hidden``: yield placed events clients are not shown, too (for servers).
    ``budget``: walk at most this many events (a room of many state events
    and few messages would otherwise be walked to its start for one page).
    Returns (event IDs, newest first; the new token; whether the walk stopped
    at an event this server lacks). Cost: the events walked, never the room.
    """
    events, after = store["events"], store["after"]
    heap = sorted((events[e]["depth"] if e in after else int(d), e) for d, e in frontier)
    seen = {e for _, e in heap}
    out: list[str] = []
    gap = False
    walked = 0
    while heap and len(out) < limit and (budget is None or walked < budget):
        walked += 1
        depth, eid = heap[-1]
        if eid not in store["after"]:
            gap = True
            break
        heap.pop()
        ev = events[eid]
        shown = hidden or visible(store, eid)
        if shown and (wanted is None or wanted(ev)):
            out.append(eid)
        for p in ev.get("prev_events", ()):
            if p not in seen:
                seen.add(p)
                key = (events[p]["depth"], p) if p in store["after"] else (ev["depth"] - 1, p)
                # keep ``heap`` sorted: the frontier is small, insertion is cheap
                i = len(heap)
                while i and heap[i - 1] > key:
                    i -= 1
                heap.insert(i, key)
    if heap and heap[-1][1] not in store["after"]:
        gap = True
    return out, [[d, e] for d, e in heap], gap


def history_payload(store: Mapping[str, Any], frontier: list, limit: int) -> dict[str, Any]:
    """Events for another server: up to ``limit`` events walked back from
    ``frontier``, each with the state after it, and the state events those
    states name (as outliers), so the receiver can place them without the rest."""
    ids, _, _ = walk_back(store, frontier, limit, hidden=True)
    walked = set(ids)
    after = {eid: store["after"][eid] for eid in sorted(walked)}
    refs = sorted({x for st in after.values() for x in st.values()} - walked)
    hidden = sorted(
        e for e in walked | set(refs) if e in store["rejected"] or e in store["soft_failed"]
    )
    return {
        "events": [store["events"][e] for e in sorted(walked | set(refs))],
        "after": after,
        "hidden": hidden,
    }


def auth_chain(store: Mapping[str, Any], ids) -> list[str]:
    """``ids`` and every event their auth events reach, sorted."""
    events = store["events"]
    seen: set[str] = set()
    stack = [i for i in ids if i in events]
    while stack:
        x = stack.pop()
        if x in seen:
            continue
        seen.add(x)
        stack.extend(a for a in events[x].get("auth_events", ()) if a in events)
    return sorted(seen)


def join_payload(store: Mapping[str, Any], history: int) -> dict[str, Any]:
    """What a resident server sends a joining one: the current state and its
    auth chain, the forward extremities, and the last ``history`` events."""
    frontier = [[store["events"][e]["depth"], e] for e in store["extremities"]]
    out = history_payload(store, frontier, history)
    for x in store["extremities"]:
        out["after"].setdefault(x, store["after"][x])
    known = {e["event_id"] for e in out["events"]}
    extra = set(store["extremities"]) | set(auth_chain(store, store["current"].values()))
    for st in out["after"].values():
        extra |= set(st.values())
    out["events"] += [store["events"][e] for e in sorted(extra - known)]
    out["events"].sort(key=lambda e: (e["depth"], e["event_id"]))
    out["current"] = store["current"]
    out["extremities"] = store["extremities"]
    return out


def newer(store: Mapping[str, Any], eid: str, limit: int, wanted=None) -> list[str]:
    """Up to ``limit`` visible events just after ``eid`` in (depth, ID) order, oldest first.

    Walks back from the forward extremities to ``eid``: its cost is the part
    of the graph newer than ``eid``.
    """
    events = store["events"]
    mark = (events[eid]["depth"], eid)
    frontier = [[events[e]["depth"], e] for e in store["extremities"]]
    found: list[str] = []
    while True:
        ids, frontier, _ = walk_back(store, frontier, 1, hidden=True)
        if not ids or (events[ids[0]]["depth"], ids[0]) <= mark:
            break
        x = ids[0]
        if visible(store, x) and (wanted is None or wanted(events[x])):
            found.append(x)
    return list(reversed(found))[:limit]
