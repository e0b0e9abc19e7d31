"""Sessions on the homeserver (proposal: "Sessions").

"A session starts when the client makes any request. A session ends when the
client doesn't make a request for a particular amount of time (times out). A
session can also end when explicitly hitting a particular endpoint." "If the
server expires a session and the client uses an old session ID, the server
should fail the request with the old session ID and send a new session ID in
response."

Every request that carries a session ID (presence, typing, going offline)
passes this part first; it then goes to the part that handles it (its
``apply``). Session IDs are ``device~n`` with ``n`` counting the device's
sessions, so a client can tell the newer of two IDs. The event stream does not
keep a session alive: sessions expire as those of a client that stopped
polling (``session_timeout_ms``; 0: never). These requests do not register
their device with the stream: a device that never opens its stream
(``stream = { open = false }``) is sent no stream.
"""

from __future__ import annotations

from typing import Any

from mxsim.models.capability_sets import capability_hash
from mxsim.sim.model import Switch, View, always, sometimes
from mxsim.sim.node import ConfigError, Context
from mxsim.sim.parts import Part

__all__ = ["Sessions", "number", "SESSION_OPS"]

#: Requests with a session ID and the part that applies each.
SESSION_OPS = {"presence": "presence", "typing": "typing", "offline": "sessions"}
SESSION_OPS.update(dict.fromkeys(("caps", "caps_upload", "caps_lookup"), "capabilities"))
SESSION_OPS["filter"] = "filters"

STALE_SESSION_RENEWAL = Switch(
    "stale_session_renewal",
    "per_request",
    'Action IDs: "If the client sends an action request with a stale session ID, the '
    'home server MUST fail the request and start a new session." ("once": a stale '
    "request gets the session a previous stale request of the device already started).",
    ("per_request", "once"),
)

TXN_SCOPE = Switch(
    "txn_scope",
    "session",
    'Action IDs: "Action IDs are scoped per session." ("device": the server also '
    "deduplicates by a per-device transaction ID kept across sessions, as Matrix's "
    "later txnId).",
    ("session", "device"),
)

PRESENCE_TYPING_ORDER = Switch(
    "presence_typing_order",
    "arrival",
    'Presence and Typing are not "Action APIs" (no action ID): the server applies '
    'their requests as they arrive ("latest_request": it ignores a device\'s presence '
    "or typing request older than one it already applied, by the device's request "
    "number).",
    ("arrival", "latest_request"),
)


#: The races the guards look for (flags: seen once stays seen).
SEEN = ("stale", "expired", "overtaken", "stale_action")


def number(session_id: str | None) -> int:
    """The sequence number in a session ID (-1 for none).

    >>> number("alice1~3"), number(None)
    (3, -1)
    """
    return -1 if session_id is None else int(session_id.rsplit("~", 1)[1])


class Sessions(Part):
    """Config: ``session_timeout_ms``. State: ``sessions`` (device -> {"id",
    "user", "live", "wishes": {key: request number}}) and ``seen`` (flags of
    the races: ``stale``, ``expired``, ``overtaken``)."""

    name = "sessions"
    section = "Sessions"
    handles = tuple(SESSION_OPS)
    keys = {"session_timeout_ms": "a number of milliseconds >= 0 (0: never)"}
    switches = (STALE_SESSION_RENEWAL, TXN_SCOPE, PRESENCE_TYPING_ORDER)

    @classmethod
    def check_config(cls, config, node_config, node_names) -> None:
        super().check_config(config, node_config, node_names)
        value = config.get("session_timeout_ms", 0)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError("session_timeout_ms", cls.keys["session_timeout_ms"], value)

    def initial(self) -> dict[str, Any]:
        return {"sessions": {}, "seen": dict.fromkeys(SEEN, False)}

    def records(self, state: dict) -> dict[str, Any]:
        return self.of(state)["sessions"]

    # -- requests -----------------------------------------------------------------------

    def on_message(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        rec = self.gate(ctx, state, src, msg)
        if rec is None:
            return
        owner = self.node.part(SESSION_OPS[msg["type"]])
        if owner is not None:
            owner.apply(ctx, state, src, rec, msg)

    def gate(self, ctx: Context, state: dict, src: str, msg: dict) -> dict | None:
        """The live session a request with a session ID runs in: started for a
        request without one; None (the request failed, with a new session ID) for
        a stale one."""
        mine = self.of(state)
        rec = mine["sessions"].get(src)
        live = rec is not None and rec["live"]
        sid = msg["session"]
        if sid is None and not live:
            rec = self.start(ctx, state, src, msg["whoami"])
        elif sid is not None and (not live or rec["id"] != sid):
            mine["seen"]["stale"] = True
            if "aid" in msg:
                mine["seen"]["stale_action"] = True
            once = self.node.switches["stale_session_renewal"] == "once"
            if not (once and live and number(rec["id"]) > number(sid)):
                if live:
                    self.end(ctx, state, src)
                rec = self.start(ctx, state, src, msg["whoami"])
            self.touch(ctx, src)
            self.answer(ctx, src, rec, msg, False, error="stale session")
            return None
        self.touch(ctx, src)
        return rec

    def apply(self, ctx: Context, state: dict, device: str, rec: dict, msg: dict) -> None:
        """Going "offline": "A session can also end when explicitly hitting a
        particular endpoint"."""
        self.answer(ctx, device, rec, msg, True, ended=True)
        self.end(ctx, state, device)

    def answer(self, ctx: Context, device: str, rec: dict, req: dict, ok: bool, **fields) -> None:
        ctx.send(
            device, {"type": "answer", "rid": req["rid"], "ok": ok, "session": rec["id"], **fields}
        )

    def touch(self, ctx: Context, device: str) -> None:
        timeout = self.config.get("session_timeout_ms", 0)
        if timeout:
            # "Sessions time out after a short amount of time without any requests."
            ctx.set_timer(self.timer(device), timeout)

    def stale_wish(self, state: dict, rec: dict, key: str, msg: dict) -> bool:
        """Under ``presence_typing_order = "latest_request"``: True if the session
        already applied a later presence (or typing, per room) request of its
        device, so this one, overtaken or retransmitted late, must not undo it."""
        last = rec["wishes"]
        if msg["rid"] < last.get(key, -1):
            self.of(state)["seen"]["overtaken"] = True
            return self.node.switches["presence_typing_order"] == "latest_request"
        last[key] = msg["rid"]
        return False

    # -- start and end ----------------------------------------------------------------------

    def start(self, ctx: Context, state: dict, device: str, user: str) -> dict:
        sessions = self.records(state)
        old = sessions.get(device)
        n = number(old["id"]) + 1 if old else 0
        rec = sessions[device] = {"id": f"{device}~{n}", "user": user, "live": True, "wishes": {}}
        presence = self.node.part("presence")
        if presence is not None:
            # "When a session starts, the home server can treat the user as online."
            presence.started(ctx, state, device)
        return rec

    def end(self, ctx: Context, state: dict, device: str) -> None:
        rec = self.records(state)[device]
        rec["live"] = False
        rec["wishes"] = {}
        ctx.cancel_timer(self.timer(device))
        actions = self.node.part("actions")
        if actions is not None:
            actions.close(ctx, state, rec["id"])
        capabilities = self.node.part("capabilities")
        if capabilities is not None:
            capabilities.ended(state, device)
        typing = self.node.part("typing")
        if typing is not None:
            # "They are no longer typing when either the session ends or ..."
            typing.ended(ctx, state, device)
        presence = self.node.part("presence")
        if presence is not None:
            # "When the session ends, the home server can treat the user as offline."
            presence.ended(ctx, state, device)

    def on_timer(self, ctx: Context, state: dict, name: str) -> None:
        rec = self.records(state).get(name)
        if rec is not None and rec["live"]:
            self.of(state)["seen"]["expired"] = True
            self.end(ctx, state, name)


# -- properties ------------------------------------------------------------------------


def servers(view: View) -> list[str]:
    return [n for n in view.nodes if view.kind(n) == "homeserver" and "sessions" in view.state(n)]


def devices(view: View) -> list[str]:
    return [n for n in view.nodes if view.kind(n) == "device" and "sessions" in view.state(n)]


def _quiet_between(view: View, device: str, server: str) -> bool:
    return not any(
        (src, dst) in ((device, server), (server, device)) for src, dst, _ in view.inflight()
    )


@always("sessions_restored")
def sessions_restored(view: View) -> bool:
    """Once a device and its server are quiet, the device's live session carries
    the presence, typing and capabilities the device asked for (after a renewal too)."""
    for d in devices(view):
        st = view.state(d)
        if st["sessions"]["session"] is None or st["sessions"]["inflight"]:
            continue
        server = view.config(d)["server"]
        hs = view.state(server)
        rec = hs["sessions"]["sessions"].get(d)
        if rec is None or not rec["live"] or rec["id"] != st["sessions"]["session"]:
            continue
        if not _quiet_between(view, d, server):
            continue
        wants = st["presence"]["wants"] if "presence" in st else {"presence": None, "typing": []}
        if "presence" in hs and hs["presence"]["wish"].get(d) != (wants["presence"] or "online"):
            return False
        if "typing" in hs and hs["typing"]["typing"].get(d, []) != wants["typing"]:
            return False
        caps = view.config(d).get("capabilities", {}).get("caps")
        if caps and hs["capabilities"]["session"].get(d) != capability_hash(caps):
            return False
    return True


@sometimes("stale_session")
def stale_session(view: View) -> bool:
    """A request arrived with a stale session ID."""
    return any(view.state(s)["sessions"]["seen"]["stale"] for s in servers(view))


@sometimes("wish_overtaken")
def wish_overtaken(view: View) -> bool:
    """A presence or typing request reached the server after a later one of its device."""
    return any(view.state(s)["sessions"]["seen"]["overtaken"] for s in servers(view))


@sometimes("expiry_during_action")
def expiry_during_action(view: View) -> bool:
    """An action request arrived with a stale session ID: its session had expired
    before the request arrived (while the device was idle, or while the action
    was unanswered and before its retransmission)."""
    return any(view.state(s)["sessions"]["seen"]["stale_action"] for s in servers(view))


@sometimes("session_expiry_between_actions")
def session_expiry_between_actions(view: View) -> bool:
    """A session expired and a later request of its device renewed it."""
    expired = any(view.state(s)["sessions"]["seen"]["expired"] for s in servers(view))
    return expired and any(view.state(d)["sessions"]["renewed"] for d in devices(view))


@sometimes("renewed_on_several_devices")
def renewed_on_several_devices(view: View) -> bool:
    """Sessions of at least two devices of one user were renewed."""
    for hs in servers(view):
        users: dict[str, int] = {}
        for rec in view.state(hs)["sessions"]["sessions"].values():
            if number(rec["id"]) >= 1:
                users[rec["user"]] = users.get(rec["user"], 0) + 1
        if any(n >= 2 for n in users.values()):
            return True
    return False


def _made(view: View, server: str) -> list:
    return view.state(server).get("actions", {}).get("made", [])


@always("exactly_once")
def exactly_once(view: View) -> bool:
    """Each action takes effect at most once; every action a device was told
    succeeded is in the room exactly once."""
    for hs in servers(view):
        made = [(d, txn) for d, txn, eid in _made(view, hs) if eid is not None]
        if len(made) != len(set(made)):
            return False
    for d in devices(view):
        if "echo" not in view.state(d):
            continue
        made = _made(view, view.config(d)["server"])
        for txn, echo in view.state(d)["echo"]["echoes"].items():
            if echo["status"] == "sent":
                n = sum(1 for dev, t, eid in made if dev == d and str(t) == txn and eid)
                if n != 1:
                    return False
    return True


@always("user_order_kept")
def user_order_kept(view: View) -> bool:
    """The actions a user made on one device take effect in the order they were
    made (the device's own transaction numbers), across session renewals too."""
    for hs in servers(view):
        last: dict[str, int] = {}
        for d, txn, eid in _made(view, hs):
            if eid is None:
                continue
            if txn < last.get(d, -1):
                return False
            last[d] = txn
    return True


Sessions.properties = (
    sessions_restored,
    exactly_once,
    user_order_kept,
    stale_session,
    wish_overtaken,
    expiry_during_action,
    session_expiry_between_actions,
    renewed_on_several_devices,
)
