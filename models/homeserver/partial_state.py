"""Joining with partial state, then the rest (proposal: "Joining a room"; today's
"faster joins", MSC3706 and MSC3902, Synapse's partial-state rooms).

The proposal says a server not in a room joins through one that is; how much
of the room it is handed is the model's choice. With ``partial_state_join``
other than ``off`` the joining server asks for the state without the members
(``fed.make_join`` with ``omit_members``) and the resident server answers
with the room's state less every ``m.room.member`` event that the rest of
the state does not need for its auth (the creator's stays; ``partial`` in
``fed.join_state``). The member events still travel as events (history, auth
chain): only the state maps (``current`` and each event's ``after``) omit
them, so what the joining server lacks is the knowledge that they are state.

- ``resync``: the room is marked partial and the joining server asks for the
  full state at the events it was handed (``fed.get_state`` / ``fed.state``).
  Until it has it, an event whose sender is not a member of the partial
  state is *held*, not judged (the auth decision depends on a member it may
  not know); once the state is complete it patches the room, tells its
  devices the members they lack, clears the mark and takes the held events
  again, checking them against the whole state. A question or answer lost
  is asked again every ``RETRY_MS``. Meanwhile its new events also go to the
  servers the answer named (``servers``, MSC3706's ``servers_in_room``),
  which the partial state alone would not name.
- ``trust``: the partial state is taken as complete: an event of a member it
  omitted fails auth (``rejected``), devices are never shown that member,
  new events go only to the servers of the members it names, and the room
  stays partial for ever (the historical failures of partial
  joins: events wrongly rejected, member lists that never heal).

Config: none (``partial_state = {}``). State (``rooms`` and ``held`` survive a
restart, which asks again): ``rooms`` (room -> the
resident server and the events it placed from the join answer), ``held``
(``[src, event, fetched]``), ``seen`` (``during_partial``: an event of a
member missing from the partial state arrived while the state was partial;
a flag, so it multiplies no states).

>>> omitted({"m.room.member\\x1f@a:hs": "$2", "m.room.member\\x1f@b:hs": "$5",
...          "m.room.create\\x1f": "$1"}, keep={"$2"}, user="@c:hs2")
['m.room.member\\x1f@b:hs']
"""

from __future__ import annotations

from typing import Any

from mxsim.models import room as R
from mxsim.models import room_history as H
from mxsim.sim.model import Switch, View, eventually, sometimes
from mxsim.sim.node import Context
from mxsim.sim.parts import Part

__all__ = [
    "PartialState",
    "PARTIAL_STATE_JOIN",
    "omitted",
    "partial_payload",
    "MEMBER",
    "device_members",
    "server_members",
]

MEMBER = f"m.room.member{R.SEP}"

#: How often a server joined with partial state asks again for the rest (ms).
RETRY_MS = 500

PARTIAL_STATE_JOIN = Switch(
    "partial_state_join",
    "off",
    'Joining a room: "Room ID (with list of servers to join from)" (how much state the '
    'joining server is handed is left open). "off": the whole current state; "resync": '
    "the state without most members, the rest fetched afterwards, auth decisions that "
    'need a missing member held until then (faster joins, MSC3706); "trust": the '
    "partial state taken as complete.",
    ("off", "resync", "trust"),
)


def omitted(current: dict[str, str], keep: set[str], user: str) -> list[str]:
    """The member keys of ``current`` a partial state leaves out: all but those
    whose event is in ``keep`` (the auth chain of the rest) and ``user``'s own."""
    return sorted(
        k
        for k, eid in current.items()
        if k.startswith(MEMBER) and eid not in keep and k != MEMBER + user
    )


def partial_payload(store: dict[str, Any], payload: dict[str, Any], user: str) -> dict[str, Any]:
    """A join answer (:func:`~mxsim.models.room_history.join_payload`) without the
    members the rest of the state does not need (MSC3706 ``omit_members``)."""
    cur = store["current"]
    keep = set(H.auth_chain(store, [e for k, e in cur.items() if not k.startswith(MEMBER)]))
    drop = set(omitted(cur, keep, user))
    out = dict(payload)
    out["current"] = {k: v for k, v in cur.items() if k not in drop}
    out["after"] = {
        eid: {k: v for k, v in st.items() if k not in drop} for eid, st in payload["after"].items()
    }
    out["partial"] = True
    # MSC3706 ``servers_in_room``: whom to send to while the members are unknown.
    out["servers"] = R.servers_in_room(store)
    return out


class PartialState(Part):
    """State: ``rooms``, ``held``, ``seen`` (see the module's docstring)."""

    name = "partial_state"
    section = "Joining a room (partial state, then the rest)"
    handles = ("fed.get_state", "fed.state")
    switches = (PARTIAL_STATE_JOIN,)
    needs = ("joining", "federation")
    # A restart must not forget that a room's state is partial, nor what it held.
    durable = ("rooms", "held")

    def bind(self) -> None:
        self.rooms = self.node.part("rooms")

    def initial(self) -> dict[str, Any]:
        return {"rooms": {}, "held": [], "seen": {"during_partial": False}}

    def mode(self) -> str:
        return self.node.switches["partial_state_join"]

    # -- the joining server ----------------------------------------------------------

    def joined(self, ctx: Context, state: dict, src: str, room_id: str, payload: dict) -> None:
        """The join answer was partial: mark the room, and (``resync``) ask for the rest."""
        ids = sorted(payload["after"])
        ext = sorted(payload["extremities"])
        servers = sorted(payload.get("servers", ()))
        info = {"from": src, "placed": ids, "at": ext, "servers": servers}
        self.of(state)["rooms"][room_id] = info
        if self.mode() == "resync":
            self._ask(ctx, room_id, self.of(state)["rooms"][room_id])

    def on_start(self, ctx: Context, state: dict) -> None:
        if self.mode() == "resync":
            for room_id, info in sorted(self.of(state)["rooms"].items()):
                self._ask(ctx, room_id, info)  # a restart: the question is asked again

    def _ask(self, ctx: Context, room_id: str, info: dict) -> None:
        """Ask the resident server for the rest; asked again until it comes."""
        ctx.send(info["from"], {"type": "fed.get_state", "room": room_id, "ids": info["placed"]})
        ctx.set_timer(self.timer(f"resync:{room_id}"), RETRY_MS)

    def on_timer(self, ctx: Context, state: dict, name: str) -> None:
        room_id = name.split(":", 1)[1]
        info = self.of(state)["rooms"].get(room_id)
        if info is not None:
            self._ask(ctx, room_id, info)  # the question or its answer was lost

    def servers(self, state: dict, room_id: str) -> list[str]:
        """The servers a new event of a partial room also goes to (``resync``):
        those the join answer named, whose members the partial state omits."""
        info = self.of(state)["rooms"].get(room_id)
        if info is None or self.mode() != "resync":
            return []  # (trusted as complete: the partial state's servers only)
        return info["servers"]

    def holds(self, state: dict, src: str, store: dict, ev: dict, fetched: bool) -> bool:
        """Is ``ev`` held until the room's state is complete? An event whose
        sender the partial state does not name can only be judged with it."""
        mine = self.of(state)
        if ev["room_id"] not in mine["rooms"] or MEMBER + ev["sender"] in store["current"]:
            return False
        mine["seen"]["during_partial"] = True
        if self.mode() != "resync":
            return False  # trusted as complete: judged now, and wrongly
        mine["held"].append([src, ev, fetched])
        return True

    def on_fed_state(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        """The full state at the events of the join answer: complete the room,
        tell the devices what they lack, and judge the events held meanwhile."""
        mine = self.of(state)
        room_id = msg["room"]
        info = mine["rooms"].get(room_id)
        store = self.rooms.stores(state).get(room_id)
        if info is None or store is None:
            return  # complete already (a copy of the answer)
        for ev in msg["events"]:
            store["events"].setdefault(ev["event_id"], ev)
        full = msg["after"]
        # The events of the answer get their own full state; those placed since
        # get the members the join's extremities lacked (the deepest extremity's
        # where several differ: the scenarios have one; several would want a
        # resolution). Where an event placed since changed one of them (a known
        # member kicked an unknown one), its own value wins.
        missing: dict[str, str] = {}
        for x in sorted(info["at"], key=lambda e: (store["events"][e]["depth"], e)):
            for key, eid in sorted(full.get(x, {}).items()):
                if key not in store["after"][x]:
                    missing[key] = eid
        for eid in sorted(store["after"]):
            if eid in full:
                store["after"][eid] = dict(full[eid])
            else:
                store["after"][eid] = {**missing, **store["after"][eid]}
        old = store["current"]
        store["current"] = {**missing, **old}
        changed = sorted(k for k in missing if k not in old)
        del mine["rooms"][room_id]
        ctx.cancel_timer(self.timer(f"resync:{room_id}"))
        stream = self.node.part("stream")
        for device in sorted(stream.devices(state)):
            dev = stream.devices(state)[device]
            if room_id in dev["shown"] and R.membership(store, dev["user"]) == "join":
                for key in changed:
                    stream.send_state(state, store, device, room_id, key, store["current"][key])
        federation = self.node.part("federation")
        held = [h for h in mine["held"] if h[1]["room_id"] == room_id]
        mine["held"] = [h for h in mine["held"] if h[1]["room_id"] != room_id]
        for src_, ev, fetched in held:
            federation.receive(ctx, state, src_, ev, fetched=fetched)

    # -- the resident server ---------------------------------------------------------

    def on_fed_get_state(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        """Answer with the full state after each event asked for that is placed here."""
        store = self.rooms.stores(state).get(msg["room"])
        if store is None:
            return
        after = {e: store["after"][e] for e in msg["ids"] if R.placed(store, e)}
        named = {eid for st in after.values() for k, eid in st.items() if k.startswith(MEMBER)}
        events = [store["events"][e] for e in sorted(named)]
        ctx.send(src, {"type": "fed.state", "room": msg["room"], "after": after, "events": events})


# -- properties ----------------------------------------------------------------------


def device_members(view: View, device: str, room_id: str) -> list[str] | None:
    """The joined members ``device`` was shown (None: its user is not in the room
    on its server), read from its view of the room's state."""
    server = view.config(device)["server"]
    store = view.state(server)["rooms"]["stores"].get(room_id)
    info = view.state(server)["stream"]["devices"].get(device)
    if store is None or info is None or R.membership(store, info["user"]) != "join":
        return None
    out = []
    for key, eid in view.state(device)["stream"]["view"].get(room_id, {}).items():
        ev = store["events"].get(eid)
        if key.startswith(MEMBER) and ev is not None:
            if ev.get("content", {}).get("membership") == "join":
                out.append(key[len(MEMBER) :])
    return sorted(out)


def server_members(view: View) -> dict[str, dict[str, list[str]]]:
    """Room -> server -> its joined members, for each server one of whose users
    is joined (a server holding a room it only knows of does not count)."""
    out: dict[str, dict[str, list[str]]] = {}
    for s in view.nodes:
        if view.kind(s) != "homeserver":
            continue
        for room_id, store in sorted(view.state(s)["rooms"]["stores"].items()):
            members = R.members(store)
            if any(u.split(":", 1)[1] == s for u in members):
                out.setdefault(room_id, {})[s] = members
    return out


@eventually("partial_state_resolved")
def partial_state_resolved(view: View) -> bool:
    """Eventually no server holds a room whose state is partial (it fetched the rest)."""
    return not any(
        view.state(s).get("partial_state", {}).get("rooms")
        for s in view.nodes
        if view.kind(s) == "homeserver"
    )


@eventually("members_complete")
def members_complete(view: View) -> bool:
    """Eventually every server in a room names the same members, and every device
    of a joined user was shown exactly its server's members."""
    by_room = server_members(view)
    for lists in by_room.values():
        if any(m != next(iter(lists.values())) for m in lists.values()):
            return False
    for d in view.nodes:
        if view.kind(d) != "device":
            continue
        for room_id, lists in sorted(by_room.items()):
            shown = device_members(view, d, room_id)
            if shown is not None and shown != lists.get(view.config(d)["server"], shown):
                return False
    return True


@sometimes("event_during_partial_state")
def event_during_partial_state(view: View) -> bool:
    """An event from a member missing from a joining server's partial state reached
    it while that state was partial (the race a partial-state join must survive)."""
    return any(
        view.state(s).get("partial_state", {}).get("seen", {}).get("during_partial")
        for s in view.nodes
        if view.kind(s) == "homeserver"
    )


PartialState.properties = (partial_state_resolved, members_complete, event_during_partial_state)
