"""One server's copy of a room: its event graph, the state at each event, its current state.

Plain data only (it lives inside a homeserver's node state): a *room store* is

    {"events": {event_id: event}, "after": {event_id: state}, "rejected": {event_id: reason},
     "soft_failed": {event_id: reason}, "extremities": [event_id, ...], "current": state,
     "conflicts": int}

where a *state* is a flat dict ``{"type\\x1fstate_key": event_id}`` (JSON keys must
be strings). Proposal: "Event Stream API" (state and message ordering notes,
rejected events).

Cost: accepting an event whose ``prev_events`` is a single event copies one
state map (its size is the room's state, not its history) and checks auth
against it; resolution runs only where the graph forks, over the forked
states. Nothing walks the whole graph per event.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mxsim.models.auth import check_auth
from mxsim.models.auth_events import AuthError, auth_types_for_event, check_auth_events
from mxsim.models.events import is_state, make_event
from mxsim.models.state_key_types import declaration_breach
from mxsim.models.state_keys import canonical_state_key
from mxsim.models.stateres import resolve

__all__ = [
    "SEP",
    "SOFT_FAILED",
    "new_store",
    "key_of",
    "split_key",
    "missing_prevs",
    "accept",
    "next_event",
    "passes_current",
    "ancestors",
    "recent_messages",
    "auth_events_for",
    "auth_state",
    "members",
    "servers_in_room",
    "membership",
    "placed",
    "prev_content",
    "adopt",
    "insert_history",
    "aliases",
]

SEP = "\x1f"

#: How many recent message events a room keeps at hand: for a device's
#: initial sync, and to re-examine when a ban or power change arrives late.
RECENT = 64

Event = dict[str, Any]
State = dict[str, str]


def new_store() -> dict[str, Any]:
    return {
        "events": {},
        "after": {},
        "rejected": {},
        "soft_failed": {},
        "extremities": [],
        "current": {},
        "conflicts": 0,
        "auth_depths": {},  # memo of state resolution v2, kept across resolutions
        "recent": [],  # the last RECENT message events accepted (not soft-failed)
    }


def key_of(ev: Mapping[str, Any]) -> str:
    """The flat state key; ``_`` and the empty state key are one key (event version 2)."""
    return f"{ev['type']}{SEP}{canonical_state_key(ev['state_key'])}"


def split_key(key: str) -> tuple[str, str]:
    t, _, sk = key.partition(SEP)
    return t, sk


def missing_prevs(store: Mapping[str, Any], ev: Mapping[str, Any]) -> list[str]:
    """The prev events of ``ev`` this store has not placed, and auth events it lacks.

    A room joined over federation holds some events as *outliers* (auth and
    state events known by ID, without a place in the graph): an event built
    on one must wait for it to be fetched and placed.
    """
    placed_, known = store["after"], store["events"]
    ids = [i for i in ev.get("prev_events", ()) if i not in placed_]
    ids += [i for i in ev.get("auth_events", ()) if i not in known]
    return sorted(set(ids))


def placed(store: Mapping[str, Any], eid: str) -> bool:
    """Is ``eid`` in this store's graph (not only known as an outlier)?"""
    return eid in store["after"]


def auth_state(state: Mapping[str, str], events: Mapping[str, Event], ev: Mapping[str, Any]):
    """The events of ``state`` that the auth rules consult for ``ev``."""
    out = {}
    for t, sk in auth_types_for_event(ev):
        eid = state.get(f"{t}{SEP}{sk}")
        if eid is not None:
            out[(t, sk)] = events[eid]
    return out


def auth_events_for(store: Mapping[str, Any], ev: Mapping[str, Any]) -> list[str]:
    """The auth event IDs a new event gets from the current state."""
    cur = store["current"]
    ids = []
    for t, sk in auth_types_for_event(ev):
        eid = cur.get(f"{t}{SEP}{sk}")
        if eid is not None:
            ids.append(eid)
    return sorted(ids)


def next_event(
    store: Mapping[str, Any],
    room_id: str,
    etype: str,
    sender: str,
    content: dict[str, Any] | None,
    state_key: str | None,
    event_id: str,
    ts: int = 0,
) -> Event:
    """A new event on top of the room: after every forward extremity, one deeper
    than the deepest of them, with the auth events the current state names."""
    extremities = store["extremities"]
    ev = make_event(
        room_id=room_id,
        type=etype,
        sender=sender,
        content=content,
        state_key=state_key,
        prev_events=list(extremities),
        depth=1 + max((store["events"][p]["depth"] for p in extremities), default=0),
        origin_server_ts=ts,
        event_id=event_id,
    )
    ev["auth_events"] = auth_events_for(store, ev)
    return ev


def _resolve(algorithm: str, states: list[State], store: Mapping[str, Any]) -> State:
    """Resolve flat state maps, counting the conflicts a ``sometimes`` guard looks for."""
    unique: list[State] = []
    for s in states:
        if not any(s is u or s == u for u in unique):
            unique.append(s)
    if len(unique) == 1:
        return unique[0]
    sets = [{split_key(k): v for k, v in s.items()} for s in unique]
    resolved = resolve(
        algorithm, sets, store["events"], rejected=store["rejected"], depths=store["auth_depths"]
    )
    return {f"{t}{SEP}{sk}": v for (t, sk), v in resolved.items()}


def _conflicted(states: list[State]) -> bool:
    keys = set().union(*states)
    return any(len({s.get(k) for s in states}) > 1 for k in keys)


#: Why ``accept`` soft-failed an event (``soft_failed`` also holds events the
#: stream rejected after showing them, :mod:`mxsim.models.homeserver.rejected`).
SOFT_FAILED = "fails against the current state"


def accept(
    store: dict[str, Any], ev: Event, algorithm: str, soft_fail: bool = True, declared=False
) -> tuple[str | None, list[str]]:
    """Add ``ev`` (whose prev and auth events the store holds) to the room.

    Returns (None if accepted, else why it was rejected; the state keys
    whose current value changed, sorted). A rejected event is
    kept (descendants need it) but changes no state and is no extremity. An
    event that passes against the state before it but fails against the
    current state is *soft-failed* (recorded in ``soft_failed``): it is part
    of the graph, but moves no extremity and clients are not shown it.
    ``declared``: a state key its type does not declare is refused too
    (switch ``type_declares_state_key``, :mod:`mxsim.models.state_key_types`).
    """
    eid = ev["event_id"]
    events = store["events"]
    prevs = ev.get("prev_events", [])
    afters = [store["after"][p] for p in prevs]
    if not afters:
        before: State = {}
    elif len(afters) == 1:
        before = afters[0]
    else:
        if _conflicted(afters):
            store["conflicts"] += 1
        before = _resolve(algorithm, afters, store)
    events[eid] = ev
    reason = None
    try:
        own = check_auth_events(
            ev, [events[a] for a in ev.get("auth_events", [])], store["rejected"]
        )
        check_auth(ev, own)
        check_auth(ev, auth_state(before, events, ev))
        breach = declaration_breach(ev) if declared else None
        if breach is not None:
            raise AuthError(breach)
    except AuthError as e:
        reason = str(e)
    if reason is not None:
        store["rejected"][eid] = reason
        store["after"][eid] = before
        return reason, []
    if is_state(ev):
        after = dict(before)
        after[key_of(ev)] = eid
    else:
        after = before
    store["after"][eid] = after
    old = store["current"]
    if soft_fail and old and not _passes(ev, old, events):
        # Allowed where it sits in the graph, refused by the room as it is now
        # (e.g. a message from a user banned meanwhile): kept for descendants,
        # but it moves no extremity and is never shown to clients.
        store["soft_failed"][eid] = SOFT_FAILED
        return None, []
    if not is_state(ev):
        recent = store["recent"]
        recent.append(eid)
        if len(recent) > RECENT:
            del recent[0]
    prev_set = set(prevs)
    ext = [x for x in store["extremities"] if x not in prev_set]
    ext.append(eid)
    ext.sort()
    store["extremities"] = ext
    if len(ext) == 1:
        new = after
    else:
        states = [store["after"][x] for x in ext]
        if _conflicted(states):
            store["conflicts"] += 1
        new = _resolve(algorithm, states, store)
    store["current"] = new
    if len(ext) == 1 and len(prevs) == 1 and old is afters[0]:
        # The common case, a linear graph: only the event's own key can change.
        changed = [key_of(ev)] if is_state(ev) else []
    else:
        changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return None, changed


def _passes(ev: Event, state: State, events: Mapping[str, Event]) -> bool:
    try:
        check_auth(ev, auth_state(state, events, ev))
    except AuthError:
        return False
    return True


def passes_current(store: Mapping[str, Any], ev: Event) -> bool:
    """Would ``ev`` be allowed against the room's current state?"""
    return _passes(ev, store["current"], store["events"])


def membership(store: Mapping[str, Any], user: str) -> str | None:
    eid = store["current"].get(f"m.room.member{SEP}{user}")
    if eid is None:
        return None
    ev = store["events"][eid]
    if "content" not in ev:
        return "leave"  # a deleted member event (a rejected invite)
    return ev["content"].get("membership")


def members(store: Mapping[str, Any], state: str = "join") -> list[str]:
    """Users whose membership in the current state is ``state``, sorted."""
    prefix = f"m.room.member{SEP}"
    out = []
    for key in store["current"]:
        if key.startswith(prefix):
            user = key[len(prefix) :]
            if membership(store, user) == state:
                out.append(user)
    return sorted(out)


def servers_in_room(store: Mapping[str, Any]) -> list[str]:
    """Servers with a joined (or invited) user, by the current state, sorted."""
    servers = set()
    for state in ("join", "invite"):
        for user in members(store, state):
            servers.add(user.split(":", 1)[1])
    return sorted(servers)


def ancestors(store: Mapping[str, Any], eid: str, min_depth: int) -> set[str]:
    """Events reachable from ``eid`` by ``prev_events`` down to ``min_depth``.

    Bounded by depth, so its cost is that of the recent part of the graph.
    """
    events = store["events"]
    seen: set[str] = set()
    stack = [eid]
    while stack:
        x = stack.pop()
        for p in events[x].get("prev_events", ()):
            if p not in seen and p in events and events[p]["depth"] >= min_depth:
                seen.add(p)
                stack.append(p)
    return seen


def recent_messages(store: Mapping[str, Any], limit: int) -> list[str]:
    """The last ``limit`` visible message events, oldest first (by depth, then ID).

    Reads the room's short ``recent`` list only, never the whole history.
    """
    events, hidden = store["events"], store["soft_failed"]
    chosen = sorted(
        (events[eid]["depth"], eid)
        for eid in store["recent"]
        if eid not in hidden and events[eid]["type"] != "m.room.redaction"
    )[-limit:]
    return [eid for _, eid in chosen]


def prev_content(store: Mapping[str, Any], eid: str):
    """The content the state event ``eid`` replaced (``None``: none, or a deletion)."""
    ev = store["events"][eid]
    key = key_of(ev)
    for p in sorted(ev.get("prev_events", ())):
        old = store["after"].get(p, {}).get(key)
        if old is not None and old in store["events"]:
            return store["events"][old].get("content")
    return None


def insert_history(store: dict[str, Any], payload: Mapping[str, Any]) -> list[str]:
    """Take in events another server placed (backfill): the IDs newly placed."""
    new = []
    for ev in payload["events"]:
        store["events"].setdefault(ev["event_id"], ev)
    for eid in sorted(payload["after"]):
        if eid not in store["after"]:
            store["after"][eid] = payload["after"][eid]
            new.append(eid)
    for eid in payload.get("hidden", ()):
        if eid not in store["rejected"]:
            store["soft_failed"].setdefault(eid, "hidden where it came from")
    return new


def adopt(store: dict[str, Any], payload: Mapping[str, Any]) -> None:
    """Start a room from a resident server's :func:`join_payload` (partial history)."""
    insert_history(store, payload)
    store["current"] = dict(payload["current"])
    store["extremities"] = list(payload["extremities"])
    store["recent"] = [
        e["event_id"]
        for e in payload["events"]
        if e["event_id"] in store["after"] and not is_state(e)
    ][-RECENT:]


def aliases(store: Mapping[str, Any]) -> list[str]:
    """The room's aliases, from its ``m.room.aliases`` state events."""
    out = set()
    prefix = f"m.room.aliases{SEP}"
    for key, eid in store["current"].items():
        if key.startswith(prefix):
            out.update(store["events"][eid].get("content", {}).get("aliases", []))
    return sorted(out)
