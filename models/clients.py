"""Client devices of one homeserver: sessions, action IDs, local echo, filters,
initial sync, the event stream, presence, typing, capabilities.

Proposal sections (``general_api.rst``): "Filter API", "Global /initialSync
API", "Event Stream API", "Joining a room", "Action APIs" (with its local-echo
diagram, "Leaving a room", "Sending state events"), "Scrolling back",
"Sessions", "Presence", "Typing", "Action IDs", "Capabilities".
The nodes are :class:`models.clientapi.server.Homeserver` and
:class:`models.clientapi.device.Device`; this module holds the design
switches (defaults: the proposal's own choice) and the properties.

Findings
--------
Each holds with the scenario's fixing switch and breaks with the proposal's
rule; ``--trace`` writes a shortest counterexample that ``mxsim replay`` runs
again and ``--diagram`` draws (tests/models/test_clients_findings.py).

- Action IDs scoped per session do not make a retransmission idempotent across
  a session expiry: the stale request is failed, renewed and re-sent under a
  new action ID, and applied a second time. ``mxsim check session-expiry-devices
  --set txn_scope=\"session\"`` violates ``exactly_once`` (shortest trace 9
  steps, complete, 12,092 states); ``mxsim check session-expiry --set
  txn_scope=\"session\"``: 13 steps. Fix: ``txn_scope = "device"``.
- Returning a join's events in its response while the stream carries the room to
  the user's other devices: a device gets a room's events from its stream before
  its join response says it knows the room. ``mxsim check multi-device-join
  --set join_returns_events=true`` violates ``no_unknown_rooms`` (11 steps).
  Fix: ``join_returns_events = false``.
- "When the session ends, the home server can treat the user as offline" with
  several devices: one device going offline makes the user offline while another
  session lives. ``mxsim check typing-presence --set
  presence_of_user=\"last_session\"`` violates ``presence_follows_sessions``
  (11 steps). Fix: ``presence_of_user = "any_session"``.
- Presence and typing are not action APIs, so nothing orders a device's
  requests for them: two presence (or typing) requests in flight together, or a
  late retransmission, are applied in arrival order and the server ends with an
  older wish. Found by the random workload (``random-clients``, timed seed 19
  before the fix). ``mxsim check presence-order --set
  presence_typing_order=\"arrival\"`` violates ``sessions_restored`` and
  ``never_typing_forever`` (14 steps). Fix: ``presence_typing_order =
  "latest_request"`` (the server ignores a device's request older than one it
  applied).
- Action IDs restart at 0 in a new session and a stale request "MUST fail", so
  a device whose session expired while it was idle, and which then made two
  actions in quick succession, gets both failed and re-sends each as its failure
  arrives, numbered then: failures that arrive in the other order swap the
  user's actions in the room (per-session order holds; the user's does not).
  ``mxsim check session-expiry-order --set renewal_order=\"as_answered\"``
  violates ``user_order_kept`` (14 steps, complete, 353 states). Fix:
  ``renewal_order = "as_made"`` (on a new session ID the device renumbers all
  its unanswered actions in the order they were made; the server's hold keeps
  that order), with ``stale_session_renewal = "once"`` (under "per_request"
  each stale copy starts yet another session: the check stays bounded at
  200,000 states without a violation) and ``txn_scope = "device"`` (a
  deduplicated retransmission uses up its action ID, so later ones are not held
  for it).

Leave, state changes and scrollback (``random-clients`` runs them): a leave and
a state change are actions with action IDs and local echo like a send (their
echo is over the room's state, placed when the event comes down the stream); a
device learns it left a room from its own leave event in the stream (so no
earlier event of the room comes after it) and gets no later event of it; the
published typing of a room is that of its joined users (a leave ends the
user's typing there, a rejoin brings the session's wish back). Scrollback is
not an action (it alters nothing): it returns the room's messages before the
device's earliest known event (or its stream position) with a new token, and
the device inserts them at its timeline's start without duplicates
(``timeline_in_order``). That property caught a model bug: a delta sync's join
snapshot was built from the room as it is now, so it carried later messages
before earlier ones; snapshots in a delta now stop at the join.

Not findings, but model fixes the random workload forced (``random-clients``):
a device that lost a stream batch never noticed (so a device polls again
``poll_ms`` after its stream moved on or showed a gap: a long poll's timeout);
a device counted its own event as foreign when a join snapshot had placed its
echo first; and (seen in review, not in a run) an action sent before the device
had a session ID would have had its action ID reused once the session ID arrived.
"""

from __future__ import annotations

from typing import Any

from mxsim.models import properties_actions as action_ids
from mxsim.models import room as R
from mxsim.models.clientapi import filters as F
from mxsim.models.clientapi.capabilities import capability_hash, union
from mxsim.models.clientapi.device import Device
from mxsim.models.clientapi.presence import typing_users
from mxsim.models.clientapi.server import Homeserver
from mxsim.sim.model import Model, Switch, View, always, eventually, sometimes

__all__ = ["MODEL", "SWITCHES"]

SWITCHES = (
    # The two rules of the action-ID send path, as the foundation's model has them.
    *action_ids.SWITCHES,
    Switch(
        "txn_scope",
        "session",
        'Action IDs: "Action IDs are scoped per session." ("device": the server also '
        "deduplicates by a per-device transaction ID kept across sessions, as Matrix's "
        "later txnId).",
        ("session", "device"),
    ),
    Switch(
        "stale_session_renewal",
        "per_request",
        'Action IDs: "If the client sends an action request with a stale session ID, the '
        'home server MUST fail the request and start a new session." ("once": a stale '
        "request gets the session a previous stale request of the device already started).",
        ("per_request", "once"),
    ),
    Switch(
        "presence_of_user",
        "last_session",
        'Presence: "When the session ends, the home server can treat the user as offline." '
        '"TODO: Handle multiple devices." ("any_session": offline only when no session '
        "of the user is live).",
        ("last_session", "any_session"),
    ),
    Switch(
        "join_returns_events",
        True,
        'Joining a room: "the join response should return events *instead of* to the '
        'event stream, depending on the client." (false: the joining device, too, '
        "gets the room down its stream, in stream order).",
    ),
    Switch(
        "action_id_streams",
        "sender_device",
        'Action APIs: "The action ID will *not* appear in other client\'s event streams." '
        '("all_devices": every device of the sending user sees it).',
        ("sender_device", "all_devices"),
    ),
    Switch(
        "presence_typing_order",
        "arrival",
        'Presence and Typing are not "Action APIs" (no action ID): the server applies '
        'their requests as they arrive ("latest_request": it ignores a device\'s presence '
        "or typing request older than one it already applied, by the device's request "
        "number).",
        ("arrival", "latest_request"),
    ),
    Switch(
        "renewal_order",
        "as_answered",
        'Action IDs: "It should be reset to 0 when a new session starts" and a stale '
        'request "MUST fail": the client re-sends each failed action as its failure '
        'arrives, numbered then ("as_made": on a new session ID the client renumbers '
        "all its unanswered actions in the order the user made them).",
        ("as_answered", "as_made"),
    ),
    Switch(
        "negative_filters",
        False,
        "Filter API, TODO: \"Do we want to specify negative filters (e.g. don't give me "
        'event.type.here events)" (true: the server honours not_types).',
    ),
)


# -- helpers over the view ------------------------------------------------------------


def _servers(view: View) -> list[str]:
    return [n for n in view.nodes if view.kind(n) == "homeserver"]


def _devices(view: View) -> list[str]:
    return [n for n in view.nodes if view.kind(n) == "device"]


def _config(view: View, node: str) -> dict[str, Any]:
    return view.config(node)


def _server_of(view: View, device: str) -> dict[str, Any]:
    return view.state(_config(view, device)["server"])


def _action_entries(log: list[dict]) -> list[dict]:
    return [e for e in log if "txn" in e]


# -- properties ---------------------------------------------------------------------------


@always("exactly_once")
def exactly_once(view: View) -> bool:
    """Each action takes effect at most once; every action a device was told
    succeeded is in the room exactly once."""
    for hs in _servers(view):
        seen = set()
        for e in _action_entries(view.state(hs)["log"]):
            key = (e["device"], e["txn"])
            if key in seen:
                return False
            seen.add(key)
    for d in _devices(view):
        log = _server_of(view, d)["log"]
        for txn, echo in view.state(d)["echoes"].items():
            if echo["status"] == "sent":
                n = sum(
                    1 for e in _action_entries(log) if e["device"] == d and str(e["txn"]) == txn
                )
                if n != 1:
                    return False
    return True


@always("per_client_order")
def per_client_order(view: View) -> bool:
    """Events from one session's actions appear in action-ID order."""
    for hs in _servers(view):
        last: dict[str, int] = {}
        for e in _action_entries(view.state(hs)["log"]):
            if e["aid"] <= last.get(e["session"], -1):
                return False
            last[e["session"]] = e["aid"]
    return True


@always("user_order_kept")
def user_order_kept(view: View) -> bool:
    """The actions a user made on one device take effect in the order they were
    made (the device's own transaction numbers), across session renewals too."""
    for hs in _servers(view):
        last: dict[str, int] = {}
        for e in _action_entries(view.state(hs)["log"]):
            if e["txn"] < last.get(e["device"], -1):
                return False
            last[e["device"]] = e["txn"]
    return True


@eventually("local_echo_settles")
def local_echo_settles(view: View) -> bool:
    """At quiescence every local echo is settled (sent or failed), a sent one is
    placed at its own event (if that came after the device's initial sync: older
    ones are scrollback), and nothing is shown twice."""
    for d in _devices(view):
        st = view.state(d)
        start = st["start"]
        for txn, echo in st["echoes"].items():
            if echo["status"] == "pending":
                return False
            if echo["status"] == "sent" and echo["placed_id"] != echo["sent_id"]:
                if echo["placed_id"] is not None or (start is not None and echo["pos"] > start):
                    return False
            if "kind" in echo:
                continue  # an echo over the room's state: nothing in the timeline
            if echo["placed_id"] is not None and f"~{txn}" in st["timeline"][echo["room"]]:
                return False
        for timeline in st["timeline"].values():
            if len(timeline) != len(set(timeline)):
                return False
    return True


@always("stream_exactly_once")
def stream_exactly_once(view: View) -> bool:
    """No device is given one stream entry twice."""
    for d in _devices(view):
        got = view.state(d)["got"]
        if len(got) != len(set(got)):
            return False
    return True


@eventually("stream_complete")
def stream_complete(view: View) -> bool:
    """At quiescence each device that opened its stream got every entry after its
    initial sync that passes its filter and it may see, up to its position, and its
    position is the server's (for an open stream)."""
    negative = view.switches["negative_filters"]
    for d in _devices(view):
        st = view.state(d)
        if st["start"] is None:
            continue
        server = _server_of(view, d)
        user = _config(view, d)["user"]
        defn = F.normalise(_config(view, d).get("filter", {}))
        start, last = st["start"], st["last_pos"]
        want = sorted(
            e["order"]
            for e in server["log"]
            if start < e["order"] <= last and user in e["vis"] and F.matches(defn, e, negative)
        )
        if sorted(o for o in st["got"] if start < o <= last) != want:
            return False
        stream = server["streams"].get(d)
        if stream is not None and stream["filter"] is not None and stream["pos"] != last:
            return False
    return True


@always("presence_follows_sessions")
def presence_follows_sessions(view: View) -> bool:
    """A user is offline exactly when none of their sessions is live."""
    for hs in _servers(view):
        st = view.state(hs)
        for user, p in st["presence"].items():
            live = any(r["live"] for r in st["sessions"].values() if r["user"] == user)
            if live != (p["presence"] != "offline"):
                return False
    return True


@always("typing_follows_sessions")
def typing_follows_sessions(view: View) -> bool:
    """The typing a room last published is that of the live sessions: a session's
    end (or an explicit stop) ends its typing."""
    for hs in _servers(view):
        st = view.state(hs)
        latest: dict[str, list[str]] = {}
        for e in st["log"]:
            if e["type"] == "m.typing":
                latest[e["room"]] = e["users"]
        for room, users in latest.items():
            if users != typing_users(st["sessions"], room, R.members(st["rooms"][room])):
                return False
    return True


@always("timeline_in_order")
def timeline_in_order(view: View) -> bool:
    """Each device's timeline of a room holds each event once, in the server's
    order (the stream appends, a scrollback inserts older ones at the start)."""
    for d in _devices(view):
        orders = {e["event_id"]: e["order"] for e in _server_of(view, d)["log"] if "event_id" in e}
        for timeline in view.state(d)["timeline"].values():
            seen = [orders[x] for x in timeline if x[0] != "~"]
            if any(a >= b for a, b in zip(seen, seen[1:], strict=False)):
                return False
    return True


@eventually("never_typing_forever")
def never_typing_forever(view: View) -> bool:
    """At quiescence a user types in a room only if a device of theirs still wants to."""
    for hs in _servers(view):
        st = view.state(hs)
        for device, rec in st["sessions"].items():
            if rec["live"] and rec["typing"]:
                if device not in view.nodes:
                    return False
                wants = view.state(device)["wants"]["typing"]
                if any(room not in wants for room in rec["typing"]):
                    return False
    return True


def _quiet_between(view: View, device: str, server: str) -> bool:
    return not any(
        (src, dst) in ((device, server), (server, device)) for src, dst, _ in view.inflight()
    )


@always("sessions_restored")
def sessions_restored(view: View) -> bool:
    """Once a device and its server are quiet, the device's live session carries
    the presence, typing and capabilities the device asked for (after a renewal too)."""
    for d in _devices(view):
        st = view.state(d)
        if st["session"] is None or st["inflight"]:
            continue
        server_name = _config(view, d)["server"]
        rec = view.state(server_name)["sessions"].get(d)
        if rec is None or not rec["live"] or rec["id"] != st["session"]:
            continue
        if not _quiet_between(view, d, server_name):
            continue
        if rec["presence"] != (st["wants"]["presence"] or "online"):
            return False
        if rec["typing"] != st["wants"]["typing"]:
            return False
        caps = _config(view, d).get("caps")
        if caps and rec["caps"] != capability_hash(caps):
            return False
    return True


@always("capability_union")
def capability_union(view: View) -> bool:
    """The hash published with a user's presence is that of the union of the
    capability sets of the user's live sessions."""
    for hs in _servers(view):
        st = view.state(hs)
        for user, p in st["presence"].items():
            sets = [
                st["caps"][r["caps"]]
                for r in st["sessions"].values()
                if r["user"] == user and r["live"] and r["caps"] is not None
            ]
            if p["caps"] != (capability_hash(union(sets)) if sets else None):
                return False
    return True


@eventually("capabilities_resolved")
def capabilities_resolved(view: View) -> bool:
    """At quiescence every device knows the capability set of every hash it was shown."""
    for d in _devices(view):
        st = view.state(d)
        for _, h in st["presence"].values():
            if h is not None and h not in st["known_caps"]:
                return False
    return True


@always("action_id_private")
def action_id_private(view: View) -> bool:
    """A device's stream carries action IDs of its own actions only."""
    return not any(view.state(d)["seen_more"]["foreign_action_id"] for d in _devices(view))


@always("no_unknown_rooms")
def no_unknown_rooms(view: View) -> bool:
    """No device is given an event of a room it does not know (proposal TODO:
    "Receiving events for unknown rooms. How do you handle this?")."""
    return not any(view.state(d)["seen"]["unknown_room"] for d in _devices(view))


@eventually("actions_complete")
def actions_complete(view: View) -> bool:
    """At quiescence every action a user took succeeded (for scenarios whose
    faults a client's retransmissions can overcome)."""
    for d in _devices(view):
        if any(e["status"] != "sent" for e in view.state(d)["echoes"].values()):
            return False
    return True


# -- sometimes: the races each scenario must show ------------------------------------------


def _any_device(view: View, group: str, key: str) -> bool:
    return any(view.state(d)[group][key] for d in _devices(view))


def _any_server(view: View, group: str, key: str) -> bool:
    return any(view.state(hs)[group][key] for hs in _servers(view))


@sometimes("response_after_stream")
def response_after_stream(view: View) -> bool:
    """A send's response reached its device after the stream echo (2b, then 3)."""
    return _any_device(view, "seen", "resp_after_stream")


@sometimes("stream_after_response")
def stream_after_response(view: View) -> bool:
    """A send's event came down to its device after the send's response (2a, then 3).

    Seen when the event comes, not when the response does (a device whose
    stream never brings the event has not shown this order)."""
    return _any_device(view, "seen", "stream_after_resp")


@sometimes("retransmission_after_lost_response")
def retransmission_after_lost_response(view: View) -> bool:
    """The device's own re-send of an action (a retransmission, or a re-send under a
    renewed session) reached the server after the action had been applied; a
    network copy of the applied request is not one (requests carry their try)."""
    return _any_server(view, "seen", "retransmit")


@sometimes("out_of_order_arrival")
def out_of_order_arrival(view: View) -> bool:
    """A higher action ID reached the server before a lower one of its session."""
    return _any_server(view, "seen", "out_of_order")


@sometimes("session_expiry_between_actions")
def session_expiry_between_actions(view: View) -> bool:
    """A session expired and a later request of its device renewed it."""
    return _any_server(view, "seen", "expired") and _any_device(view, "seen_more", "renewed")


@sometimes("stale_session")
def stale_session(view: View) -> bool:
    """A request arrived with a stale session ID."""
    return _any_server(view, "seen", "stale")


@sometimes("expiry_during_action")
def expiry_during_action(view: View) -> bool:
    """An action request arrived with a stale session ID: its session had expired
    before the request arrived (while the device was idle, or while the action
    was unanswered and before its retransmission). Not only "during" an action:
    with ``timers = "idle"`` and no loss, an expiry cannot fire while a request
    is in flight, and ``session-expiry-order`` shows the idle case."""
    return _any_server(view, "seen_more", "stale_action")


@sometimes("renewed_on_several_devices")
def renewed_on_several_devices(view: View) -> bool:
    """Sessions of at least two devices of one user were renewed."""
    for hs in _servers(view):
        users: dict[str, int] = {}
        for rec in view.state(hs)["sessions"].values():
            if int(rec["id"].rsplit("~", 1)[1]) >= 1:
                users[rec["user"]] = users.get(rec["user"], 0) + 1
        if any(n >= 2 for n in users.values()):
            return True
    return False


@sometimes("wish_overtaken")
def wish_overtaken(view: View) -> bool:
    """A presence or typing request reached the server after a later one of its device."""
    return _any_server(view, "seen_more", "overtaken")


@sometimes("unknown_hash_refused")
def unknown_hash_refused(view: View) -> bool:
    """A capability hash the server did not know was refused."""
    return _any_server(view, "seen_more", "unknown_hash")


@sometimes("hash_looked_up")
def hash_looked_up(view: View) -> bool:
    """A device looked up another's capability hash."""
    return _any_server(view, "seen_more", "lookup")


@sometimes("filter_expired")
def filter_expired(view: View) -> bool:
    """A request named a filter token that had expired."""
    return _any_server(view, "seen_more", "filter_expired")


@sometimes("joined_elsewhere")
def joined_elsewhere(view: View) -> bool:
    """A device learned from its stream that its user joined a room on another device."""
    return _any_device(view, "seen_more", "joined_elsewhere")


@sometimes("scrolled_back")
def scrolled_back(view: View) -> bool:
    """A device inserted older messages at the start of a timeline."""
    return _any_device(view, "seen_more", "scrolled_back")


@sometimes("left_room")
def left_room(view: View) -> bool:
    """A device learned from its stream that its user left a room."""
    return _any_device(view, "seen_more", "left")


@sometimes("state_echo_placed")
def state_echo_placed(view: View) -> bool:
    """A device's local echo of a state change (or leave) met its event."""
    return any(
        "kind" in echo and echo["placed_id"] is not None
        for d in _devices(view)
        for echo in view.state(d)["echoes"].values()
    )


@sometimes("typing_seen")
def typing_seen(view: View) -> bool:
    """A device was shown someone typing."""
    return any(any(v for v in view.state(d)["typing"].values()) for d in _devices(view))


@sometimes("offline_seen")
def offline_seen(view: View) -> bool:
    """A device was shown a user going offline."""
    return any(
        p[0] == "offline" for d in _devices(view) for p in view.state(d)["presence"].values()
    )


MODEL = Model(
    name="clients",
    doc="Devices of several users on one homeserver: sessions, action IDs, local echo, "
    "filters, sync, the event stream, presence, typing, capabilities.",
    kinds={"homeserver": Homeserver, "device": Device},
    switches=SWITCHES,
    properties=(
        exactly_once,
        per_client_order,
        user_order_kept,
        local_echo_settles,
        stream_exactly_once,
        stream_complete,
        presence_follows_sessions,
        typing_follows_sessions,
        timeline_in_order,
        never_typing_forever,
        sessions_restored,
        capability_union,
        capabilities_resolved,
        action_id_private,
        no_unknown_rooms,
        actions_complete,
        response_after_stream,
        stream_after_response,
        retransmission_after_lost_response,
        out_of_order_arrival,
        session_expiry_between_actions,
        stale_session,
        expiry_during_action,
        renewed_on_several_devices,
        wish_overtaken,
        unknown_hash_refused,
        hash_looked_up,
        filter_expired,
        joined_elsewhere,
        scrolled_back,
        left_room,
        state_echo_placed,
        typing_seen,
        offline_seen,
    ),
)
