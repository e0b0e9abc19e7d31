"""The matrix model: one homeserver node kind and one device node kind, each
composed of parts (one per proposal section), with every part's switches and
properties.

Switches are named after the proposal's sections; their defaults are the
proposal's choices (state resolution, which the proposal leaves open,
defaults to the v2 algorithm homeservers run today). The node state of a
homeserver is ``{part: slice}`` (see :mod:`mxsim.models.homeserver`), of a
device likewise (:mod:`mxsim.models.device`); the helpers below read them.

Findings (README, "The matrix model"):

- ``check superseded-state --set omit_superseded_state=false``: a device is
  handed a topic its server already superseded (``no_clobbering``);
- ``check rejected-event --set rejected_events=false``: timelines disagree;
- ``check rejected-state --set rejected_state_events=false``: a device keeps
  a topic its server no longer has (``state_consistency``);
- ``run state-reset --set state_resolution=depth`` (and ``check --random``):
  the ban is reset (``bans_stick``);
- ``check receipts --set local_receipt_audience=room``: a local receipt
  reaches another user's devices (``local_receipts_stay_local``, 8 steps).
"""

from __future__ import annotations

from mxsim.models import room as R
from mxsim.models import room_history as H
from mxsim.models.device import Device
from mxsim.models.homeserver import Homeserver
from mxsim.models.properties_actions import PROPERTIES as ACTION_PROPERTIES
from mxsim.models.properties_actions import SWITCHES as ACTION_SWITCHES
from mxsim.models.properties_join import PROPERTIES as JOIN_PROPERTIES
from mxsim.models.properties_receipts import PROPERTIES as RECEIPT_PROPERTIES
from mxsim.models.properties_rejected import PROPERTIES as REJECTED_PROPERTIES
from mxsim.models.properties_rejected import SWITCHES as REJECTED_SWITCHES
from mxsim.models.properties_rejected import same_room_state
from mxsim.models.properties_relations import PROPERTIES as RELATION_PROPERTIES
from mxsim.models.properties_rooms import PROPERTIES as ROOM_PROPERTIES
from mxsim.models.state_key_types import PROPERTIES as TYPE_KEY_PROPERTIES
from mxsim.models.state_key_types import SWITCHES as TYPE_KEY_SWITCHES
from mxsim.sim.model import Model, View, always, eventually, sometimes

__all__ = ["MODEL"]


def _servers(view: View) -> list[str]:
    return [n for n in view.nodes if view.kind(n) == "homeserver"]


def _devices(view: View) -> list[str]:
    return [n for n in view.nodes if view.kind(n) == "device"]


def _stores(view: View, server: str) -> dict:
    return view.state(server)["rooms"]["stores"]


def _devices_of(view: View, server: str) -> dict:
    return view.state(server)["stream"]["devices"]


def _seen(view: View, part: str, name: str) -> bool:
    """Whether some server's ``part`` saw race ``name`` (False where it is not used)."""
    return any(view.state(s).get(part, {}).get("seen", {}).get(name) for s in _servers(view))


def _rooms(view: View) -> list[str]:
    return sorted({r for s in _servers(view) for r in _stores(view, s)})


def _resident(view: View, server: str, room: str) -> dict | None:
    """The server's store for ``room`` if one of its users is joined to it."""
    store = _stores(view, server).get(room)
    if store is None:
        return None
    devices = _devices_of(view, server)
    users = {devices[d]["user"] for d in devices}
    if any(R.membership(store, u) == "join" for u in users):
        return store
    return None


@eventually("state_consistency")
def state_consistency(view: View) -> bool:
    """At quiescence the servers in a room agree on its state; each device sees its server's."""
    for room in _rooms(view):
        states = []
        for s in _servers(view):
            store = _resident(view, s, room)
            if store is not None:
                states.append(store["current"])
        if any(st != states[0] for st in states[1:]):
            return False
    for d in _devices(view):
        dev = view.state(d)["stream"]
        server = _server_of(view, d)
        for room, store in _stores(view, server).items():
            user = _devices_of(view, server).get(d, {}).get("user")
            if user is None or R.membership(store, user) != "join":
                continue
            if not same_room_state(dev["view"].get(room, {}), store):
                return False
    return True


def _server_of(view: View, device: str) -> str:
    # A device's server is the domain of its user, which the config guarantees.
    return view.config(device)["server"]


@always("no_clobbering")
def no_clobbering(view: View) -> bool:
    """No device is sent a state event that is superseded by one it was sent before."""
    return not _seen(view, "stream", "clobber")


@always("events_once")
def events_once(view: View) -> bool:
    """No device is handed an event it already holds (it would have to drop it)."""
    return all(view.state(d)["timeline"]["duplicates"] == 0 for d in _devices(view))


@always("stream_positions_increase")
def stream_positions_increase(view: View) -> bool:
    """Each device sees strictly increasing stream positions."""
    return all(view.state(d)["stream"]["positions_increase"] for d in _devices(view))


@eventually("timelines_agree")
def timelines_agree(view: View) -> bool:
    """Joined devices that take out-of-order events display the same messages."""
    shown: dict[str, set] = {}
    for d in _devices(view):
        dev = view.state(d)["timeline"]
        server = _server_of(view, d)
        info = _devices_of(view, server).get(d)
        if info is None or not info["ooo"]:
            continue
        for room, store in _stores(view, server).items():
            if R.membership(store, info["user"]) != "join":
                continue
            visible = set(dev["timeline"].get(room, [])) - set(dev["redacted"])
            if shown.setdefault(room, visible) != visible:
                return False
    return True


@eventually("bans_stick")
def bans_stick(view: View) -> bool:
    """A ban some server accepted, never lifted, holds in every server's state."""
    for room in _rooms(view):
        banned, lifted = set(), set()
        for s in _servers(view):
            store = _stores(view, s).get(room)
            if store is None:
                continue
            for eid, ev in store["events"].items():
                if ev["type"] != "m.room.member" or eid in store["rejected"]:
                    continue
                membership = ev.get("content", {}).get("membership")
                if membership == "ban":
                    banned.add(ev["state_key"])
                elif ev["sender"] != ev["state_key"] and membership == "leave":
                    lifted.add(ev["state_key"])
        for s in _servers(view):
            store = _stores(view, s).get(room)
            if store is None or not store["current"]:
                continue
            for user in sorted(banned - lifted):
                if R.membership(store, user) != "ban":
                    return False
    return True


def _graph(view: View, room: str) -> dict:
    """Every placed event of ``room`` any server holds (for judging, not for nodes)."""
    events: dict = {}
    for s in _servers(view):
        store = _stores(view, s).get(room)
        if store is not None:
            for eid in store["after"]:
                events.setdefault(eid, store["events"][eid])
    return events


def _ancestors(events: dict, eid: str, memo: dict) -> frozenset:
    if eid not in memo:
        out: set = set()
        for p in events[eid].get("prev_events", ()):
            if p in events:
                out.add(p)
                out |= _ancestors(events, p, memo)
        memo[eid] = frozenset(out)
    return memo[eid]


@eventually("scrollback")
def scrollback(view: View) -> bool:
    """A device that persists scrollback holds each message at most once, never a
    parent after its child; once it has scrolled back to the room's start, it
    holds every message its server shows, exactly once."""
    for d in _devices(view):
        if not _persists(view, d):
            continue
        dev, shown = view.state(d)["timeline"], view.state(d)["scrollback"]
        server = _server_of(view, d)
        info = _devices_of(view, server).get(d)
        if info is None:
            continue
        for room, timeline in sorted(dev["timeline"].items()):
            store = _stores(view, server).get(room)
            if store is None or R.membership(store, info["user"]) != "join":
                continue
            if len(set(timeline)) != len(timeline):
                return False
            events, memo = _graph(view, room), {}
            pos = {eid: i for i, eid in enumerate(timeline)}
            for i, eid in enumerate(timeline):
                older = _ancestors(events, eid, memo) if eid in events else ()
                if any(pos.get(a, -1) > i for a in older):
                    return False  # a parent shown after its child
            if shown["more"].get(room) == [False, False] and room in shown["earliest"]:
                visible = {e for e in store["after"] if H.visible(store, e)}
                visible = {e for e in visible if "state_key" not in store["events"][e]}
                if set(timeline) - set(dev["redacted"]) != visible - set(dev["redacted"]):
                    return False
    return True


def _persists(view: View, device: str) -> bool:
    return bool(view.config(device).get("scrollback", {}).get("persist"))


@sometimes("backfill")
def backfill(view: View) -> bool:
    """A server fetched history over federation and a device scrolled back to the start."""
    if not any(view.state(s).get("scrollback", {}).get("backfilled") for s in _servers(view)):
        return False
    return any(
        _persists(view, d) and [False, False] in view.state(d)["scrollback"]["more"].values()
        for d in _devices(view)
    )


@sometimes("out_of_order_shown")
def out_of_order_shown(view: View) -> bool:
    """A device was sent a message older than one it was shown, with the event it comes after."""
    return _seen(view, "stream", "ooo_shown")


@sometimes("state_conflict")
def state_conflict(view: View) -> bool:
    """Some server resolved conflicting state sets."""
    return any(
        store["conflicts"] > 0 for s in _servers(view) for store in _stores(view, s).values()
    )


@sometimes("out_of_order_arrival")
def out_of_order_arrival(view: View) -> bool:
    """An event reached a server before an event it refers to."""
    return _seen(view, "federation", "out_of_order")


@sometimes("superseded_arrival")
def superseded_arrival(view: View) -> bool:
    """A state event reached a server after one that supersedes it."""
    return _seen(view, "stream", "superseded")


@sometimes("late_rejection")
def late_rejection(view: View) -> bool:
    """A server learned it should not have accepted an event it had shown."""
    return _seen(view, "stream", "late_rejection")


MODEL = Model(
    name="matrix",
    doc="One homeserver and one device, each composed of parts, one per proposal section.",
    kinds={"homeserver": Homeserver, "device": Device},
    # Each part brings its switches and properties; the ones above judge
    # several parts and nodes at once.
    switches=Homeserver.switches_of()
    + Device.switches_of()
    + ACTION_SWITCHES
    + REJECTED_SWITCHES
    + TYPE_KEY_SWITCHES,
    properties=(
        state_consistency,
        no_clobbering,
        stream_positions_increase,
        events_once,
        timelines_agree,
        bans_stick,
        state_conflict,
        out_of_order_arrival,
        superseded_arrival,
        late_rejection,
        scrollback,
        backfill,
        out_of_order_shown,
        *Homeserver.properties_of(),
        *Device.properties_of(),
        *ACTION_PROPERTIES,
        *RELATION_PROPERTIES,
        *RECEIPT_PROPERTIES,
        *REJECTED_PROPERTIES,
        *ROOM_PROPERTIES,
        *TYPE_KEY_PROPERTIES,
        *JOIN_PROPERTIES,
    ),
)
