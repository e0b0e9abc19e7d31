"""VoIP callee selection: a call is an event, its signalling are ``updates``.

Proposal sections (``general_api.rst``): "VoIP" ("This addresses one-to-one
calling with multiple devices. This uses the ``updates`` key to handle
signalling."), its "Event updates" and "Placing a call", and "Updates
(Events)", "Bundling" (children come down inside their parent). The call's
events are in :mod:`models.relate.call`.

Nodes:

- ``homeserver``: relays call events between the devices of the call's
  users (the caller and the users in the invite's ``callees``). It keeps each
  call as a bundle, the invite and its children in the order it took them,
  and pushes the whole bundle to every participating device whenever it
  grows (the sender included: the echo is its acknowledgement). A child
  whose call it does not know yet waits until the call arrives.
- ``device``: a caller places a call when it starts; a callee device rings
  when it first sees a call and answers or rejects it at once (config
  ``respond``). What a device does next is a function of the bundle.
  Signalling can be lost or duplicated: a device re-sends its own events
  until it sees them echoed and polls the server (``poll_ms``, at most
  ``max_polls`` times without news) while any call of its is unsettled.

Messages: the event stream as a long poll. A device keeps one request at the
server, ``{"type": "sync", "have": {call ID: children seen}, "events": [...]}``,
carrying the events it made and has not yet seen echoed (in HTTP these would
be separate action requests; riding on the stream request keeps one message
per device in flight). The server parks it until one of the device's calls
grows past ``have``, then answers ``{"type": "stream", "bundles": [{"call":
invite, "children": [...]}]}`` and the device asks again at once.

Switch ``caller_acknowledges`` (default true, the proposal's choice): without
the ack, callees that answered never learn that another device was chosen.
Switch ``rejection_scope`` (default "call", the proposal read literally;
``voip-multi-user`` sets "user"): what acknowledging a rejection ends.

Findings (``mxsim check``; lengths are the shortest traces, node starts included):

- ``mxsim check voip-1-to-n --set caller_acknowledges=false``: violates
  ``callees_settled`` and ``caller_and_callee_agree`` (45 steps): the devices
  that answered and were not chosen keep waiting; the ack is needed.
- ``mxsim check voip-multi-user --set caller_acknowledges=false``: violates
  ``caller_and_callee_agree`` (20 steps).
- ``mxsim check voip-multi-user --set rejection_scope=call`` (the proposal,
  literally): violates ``rejection_ends_only_its_user`` (19 steps): Carol's
  rejection reaches the server first, the caller acknowledges it ("either one
  which picked up or rejected") and the call ends for Bob, who answered, as
  "rejected elsewhere". The proposal only "addresses one-to-one calling with
  multiple devices"; ``rejection_scope = "user"`` fixes it for several users.
- Not checked: a lost message in ``voip-multi-user`` (``drops = 1``) leaves an
  in-call device that has spent its ``max_polls`` waiting forever for the
  hangup (``callees_settled``, 34 steps): an artefact of the bounded polling,
  which keeps the state space finite; ``voip-glare`` covers losses.
"""

from __future__ import annotations

from typing import Any

from mxsim.models.relate import call as C
from mxsim.sim.model import Model, Switch, View, always, eventually, sometimes
from mxsim.sim.node import WORKLOAD, ConfigError, Context, Node

__all__ = ["MODEL", "Homeserver", "Device"]

SWITCHES = (
    Switch(
        "caller_acknowledges",
        True,
        'VoIP, Event updates: "Caller acknowledges *one* of the callees (either one which '
        'picked up or rejected) by updating the event."',
    ),
    Switch(
        "rejection_scope",
        "call",
        'VoIP: "This addresses one-to-one calling with multiple devices"; Event updates: "Caller '
        'acknowledges *one* of the callees (either one which picked up or rejected)". "call" '
        "(the proposal, literally): the first response is acknowledged even if it is a "
        'rejection, and that ends the call for every callee user; "user" (mxsim\'s fix for '
        "calls to several users): a rejection is acknowledged for its user only (that user's "
        "other devices stop ringing) and the call goes on until one device answers or every "
        "callee user has rejected.",
        choices=("call", "user"),
    ),
)

#: Call states of a device; "ended" is the only settled one.
UNSETTLED = ("calling", "ringing", "answered", "in_call")


def _check_keys(config: dict, allowed: tuple[str, ...]) -> None:
    for key in config:
        if key not in allowed:
            raise ConfigError(key, "one of: " + ", ".join(allowed), key)


class Homeserver(Node):
    """Relays call bundles between the devices of a call's users.

    Config: ``devices``: device node name -> user ID, for every device.
    """

    kind = "homeserver"

    @classmethod
    def check_config(cls, config: dict[str, Any], node_names: tuple[str, ...]) -> None:
        _check_keys(config, ("devices",))
        devices = config.get("devices")
        if not isinstance(devices, dict) or not devices:
            raise ConfigError("devices", "a table of device name = user ID", devices)
        for dev, user in devices.items():
            if dev not in node_names:
                raise ConfigError(f"devices.{dev}", "the name of a node", dev)
            if not isinstance(user, str) or not user.startswith("@"):
                raise ConfigError(f"devices.{dev}", "a user ID", user)

    def initial_state(self) -> dict[str, Any]:
        # calls: call ID -> {"call": invite, "children": [child, ...]}
        # parked: device -> the "have" of its waiting stream request
        # late_answer, concurrent_answers: the guards' observations, flags (a
        # race seen once is seen; counting would multiply states).
        return {"calls": {}, "parked": {}, "late_answer": False, "concurrent_answers": False}

    def on_message(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        if msg.get("type") != "sync" or src not in self.config["devices"]:
            return
        calls = state["calls"]
        grown = False
        for ev in msg["events"]:
            if ev["type"] == C.INVITE:
                if ev["event_id"] not in calls:
                    calls[ev["event_id"]] = {"call": ev, "children": []}
                    grown = True
            elif ev["updates"] in calls:  # a device only updates calls it was shown
                seen = msg["have"].get(ev["updates"], 0)
                grown |= self._adopt(state, calls[ev["updates"]], ev, seen)
        state["parked"][src] = msg["have"]
        targets = sorted(state["parked"]) if grown else [src]
        for dev in targets:
            bundles = self._behind(state, dev)
            if bundles:
                del state["parked"][dev]
                # A copy: the bundle in the state keeps growing, a sent one must not.
                copies = [{"call": b["call"], "children": list(b["children"])} for b in bundles]
                ctx.send(dev, {"type": "stream", "bundles": copies})

    def _behind(self, state: dict, dev: str) -> list[dict]:
        """Bundles of the calls ``dev`` takes part in that grew past what it has."""
        have = state["parked"][dev]
        user = self.config["devices"][dev]
        out = []
        for cid in sorted(state["calls"]):
            bundle = state["calls"][cid]
            call = bundle["call"]
            if user != call["sender"] and user not in call["content"]["callees"]:
                continue
            if have.get(cid, -1) < len(bundle["children"]):
                out.append(bundle)
        return out

    def _adopt(self, state: dict, bundle: dict, ev: dict, seen: int) -> bool:
        """Add a child to its call's bundle once; True if it is new.

        ``seen``: how many children of the call the sending device had when it
        sent this request (its ``have``). The bundle only grows at its end, so
        the device had seen ``children[:seen]``.
        """
        children = bundle["children"]
        if any(c["event_id"] == ev["event_id"] for c in children):
            return False
        if ev["type"] == C.ANSWER:
            if C.outcome(children)["hangup"] is not None:
                state["late_answer"] = True
            # Concurrent answers: another device's answer that this device had
            # not received. That device cannot have seen this answer either: the
            # server is the only way between devices and takes it only now. (A
            # device answers in the handler that sends this request, so ``seen``
            # is what it knew when answering; after a lost request, a later copy
            # may claim more, which can only hide a race, never invent one.)
            if any(
                c["type"] == C.ANSWER and c["device_id"] != ev["device_id"] for c in children[seen:]
            ):
                state["concurrent_answers"] = True
        children.append(ev)
        return True


class Device(Node):
    """A caller or callee device.

    Config: ``server``, ``user``; ``call``: callee user IDs to call at start
    (a caller); ``respond``: "answer" (default) or "reject" when a call rings;
    ``early_candidate`` (default true): the caller sends an ICE candidate
    with the invite, while setting up; ``hangup_in_call`` (default true): the
    chosen callee sends its candidate and then hangs up (the proposal's
    "Placing a call" ends with the callee's hangup);
    ``poll_ms`` (default 200), ``max_polls`` (default 2).
    Workload input: ``{"op": "hangup"}`` hangs up every unsettled call.
    """

    kind = "device"

    @classmethod
    def check_config(cls, config: dict[str, Any], node_names: tuple[str, ...]) -> None:
        _check_keys(
            config,
            (
                "server",
                "user",
                "call",
                "respond",
                "early_candidate",
                "hangup_in_call",
                "poll_ms",
                "max_polls",
            ),
        )
        if config.get("server") not in node_names:
            raise ConfigError("server", "the name of a node", config.get("server"))
        user = config.get("user")
        if not isinstance(user, str) or not user.startswith("@"):
            raise ConfigError("user", "a user ID", user)
        callees = config.get("call", [])
        if not isinstance(callees, list) or not all(isinstance(u, str) for u in callees):
            raise ConfigError("call", "a list of user IDs", callees)
        if config.get("respond", "answer") not in ("answer", "reject"):
            raise ConfigError("respond", '"answer" or "reject"', config.get("respond"))
        for key in ("early_candidate", "hangup_in_call"):
            if not isinstance(config.get(key, True), bool):
                raise ConfigError(key, "a boolean", config.get(key))
        for key in ("poll_ms", "max_polls"):
            v = config.get(key, 1)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(key, "a positive integer", v)

    @classmethod
    def check_input(cls, data: dict[str, Any]) -> None:
        _check_keys(data, ("op",))
        if data.get("op") != "hangup":
            raise ConfigError("op", '"hangup"', data.get("op"))

    def initial_state(self) -> dict[str, Any]:
        # calls: call ID -> {"role", "state", "reason", "peer", "connected",
        #                    "children": [child IDs seen], "n": bundle length seen}
        # pending: own events not yet echoed by the server
        # glare: the guard's observation, a flag
        return {"calls": {}, "pending": [], "made": 0, "polls": 0, "glare": False}

    # -- entry points ----------------------------------------------------

    def on_start(self, ctx: Context, state: dict) -> None:
        callees = self.config.get("call", [])
        if callees and not state["calls"]:
            cid = f"$call.{self.name}"
            state["pending"].append(C.invite(self.name, self.config["user"], callees, cid))
            state["calls"][cid] = self._record("caller", "calling", callees=sorted(callees))
            if self.config.get("early_candidate", True):
                # "Update with ICE candidates as they appear": while setting up.
                state["pending"].append(self._child(state, cid, C.CANDIDATE, candidate="early"))
        self._request(ctx, state)

    def on_message(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        if src == WORKLOAD:
            for cid in sorted(state["calls"]):
                rec = state["calls"][cid]
                if rec["state"] in UNSETTLED:
                    hangup = self._child(state, cid, C.HANGUP, reason="user hangup")
                    state["pending"].append(hangup)
                    self._end(rec, "hangup")
            self._request(ctx, state)
            return
        if msg.get("type") != "stream":
            return
        news = False
        for bundle in msg["bundles"]:
            news |= self._take(state, bundle)
        if news:
            state["polls"] = 0
        self._request(ctx, state)

    def on_timer(self, ctx: Context, state: dict, name: str) -> None:
        # The stream request or its response may have been lost: ask again.
        state["polls"] += 1
        ctx.metric("voip.polls")
        self._request(ctx, state)

    def _request(self, ctx: Context, state: dict) -> None:
        """The next stream request, carrying the events not yet echoed."""
        have = {cid: len(rec["children"]) for cid, rec in state["calls"].items()}
        for ev in state["pending"]:
            if ev["type"] == C.INVITE:
                have.pop(ev["event_id"], None)  # the server has not shown it yet
        busy = self._unsettled(state)
        if state["calls"] and not busy:
            ctx.cancel_timer("poll")
            return  # every call of this device is over: it stops listening
        msg = {"type": "sync", "have": have, "events": list(state["pending"])}
        ctx.send(self.config["server"], msg)
        if busy and state["polls"] < self.config.get("max_polls", 2):
            ctx.set_timer("poll", self.config.get("poll_ms", 200))
        else:
            ctx.cancel_timer("poll")

    # -- the call, as a function of its bundle -----------------------------

    def _take(self, state: dict, bundle: dict) -> bool:
        """Merge a bundle (the server only appends, so the longer one is newer)."""
        call, children = bundle["call"], bundle["children"]
        cid = call["event_id"]
        ids = [c["event_id"] for c in children]
        state["pending"] = [
            p for p in state["pending"] if p["event_id"] not in ids and p["event_id"] != cid
        ]
        rec = state["calls"].get(cid)
        news = False
        if rec is None:
            rec = state["calls"][cid] = self._record("callee", "new")
            news = True
        if len(ids) > len(rec["children"]):
            rec["children"] = ids
            news = True
        if news:
            out: list[dict] = []
            self._react(state, cid, rec, call, children, out)
            state["pending"].extend(out)
        return news

    def _react(self, state, cid, rec, call, children, out) -> None:
        me = self.name
        o = C.outcome(children)
        if rec["role"] == "caller":
            if rec["state"] == "calling" and self.switches["rejection_scope"] == "user":
                if self._select_per_user(state, cid, rec, o, out):
                    return
            if rec["state"] == "calling":
                if not o["responses"]:
                    return
                first = o["responses"][0]
                if self.switches["rejection_scope"] == "user":
                    first = next(r for r in o["responses"] if r["type"] == C.ANSWER)
                rec["peer"] = first["device_id"]
                if self.switches["caller_acknowledges"]:
                    out.append(
                        self._child(
                            state,
                            cid,
                            C.ACK,
                            selected=first["device_id"],
                            response=first["type"],
                        )
                    )
                if first["type"] == C.REJECT:
                    self._end(rec, "rejected")
                    return
                rec["state"] = "in_call"
                rec["connected"] = True
            if rec["state"] == "in_call" and o["hangup"] is not None:
                self._end(rec, "hangup")
            return
        # a callee device
        if rec["state"] == "new":
            if o["hangup"] is not None:
                self._end(rec, "missed")  # it rang nowhere: the caller gave up first
                return
            if self._glare(state, cid, call, rec, out):
                return
            rec["state"] = "ringing"
            if self.config.get("respond", "answer") == "reject":
                out.append(self._child(state, cid, C.REJECT))
                self._end(rec, "rejected")
                return
            out.append(self._child(state, cid, C.ANSWER, answer=f"sdp-answer-{me}"))
            rec["state"] = "answered"
        if rec["state"] in ("ringing", "answered"):
            ack = self._ack_for_me(children, o)
            if ack is not None and ack["content"]["selected"] == me:
                rec["state"] = "in_call"
                rec["connected"] = True
                out.append(self._child(state, cid, C.CANDIDATE, candidate=me))
                if self.config.get("hangup_in_call", True):
                    # "... in call ..." then "Send hangup update when hanging up".
                    out.append(self._child(state, cid, C.HANGUP, reason="done"))
                    self._end(rec, "hangup")
                    return
            elif ack is not None:
                answered = ack["content"]["response"] == C.ANSWER
                self._end(rec, "answered elsewhere" if answered else "rejected elsewhere")
                return
            elif o["hangup"] is not None:
                self._end(rec, "hangup")
                return
        if rec["state"] == "in_call" and o["hangup"] is not None:
            self._end(rec, "hangup")

    def _select_per_user(self, state, cid, rec, o, out) -> bool:
        """``rejection_scope = "user"``: False when an answer is there to acknowledge.

        Acknowledges each user's first rejection (for that user only) and the
        first answer; the call goes on while some callee user has not rejected.
        """
        rejected = rec.setdefault("rejected", [])
        for r in o["responses"]:
            if r["type"] == C.ANSWER:
                return False  # the shared branch below acknowledges the first answer
            if r["sender"] in rejected:
                continue
            rejected.append(r["sender"])
            if self.switches["caller_acknowledges"]:
                ack = self._child(
                    state,
                    cid,
                    C.ACK,
                    selected=r["device_id"],
                    response=C.REJECT,
                    for_user=r["sender"],
                )
                out.append(ack)
        if sorted(rejected) == rec["callees"]:
            rec["peer"] = o["responses"][0]["device_id"]
            self._end(rec, "rejected")
            return True
        return not any(r["type"] == C.ANSWER for r in o["responses"])

    def _ack_for_me(self, children: list[dict], o: dict) -> dict | None:
        """The ack that decides this device: the first one, or per user (``rejection_scope``)."""
        if self.switches["rejection_scope"] == "call":
            return o["ack"]
        me = self.config["user"]
        for c in children:
            if c["type"] == C.ACK:
                if c["content"]["response"] == C.ANSWER or c["content"].get("for_user") == me:
                    return c
        return None

    def _glare(self, state, cid, call, rec, out) -> bool:
        """Two users calling each other: the lower call ID wins (module docstring)."""
        mine = [
            c
            for c, r in state["calls"].items()
            if r["role"] == "caller" and r["state"] == "calling" and call["sender"] in r["callees"]
        ]
        if not mine:
            return False
        state["glare"] = True
        own = mine[0]
        if C.glare_winner(own, cid) == own:
            self._end(rec, "glare")  # the other side hangs its call up
            return True
        out.append(self._child(state, own, C.HANGUP, reason="glare"))
        self._end(state["calls"][own], "glare")
        return False

    # -- helpers -----------------------------------------------------------

    @staticmethod
    def _record(role: str, st: str, callees: list[str] | None = None) -> dict[str, Any]:
        rec = {"role": role, "state": st, "reason": None, "peer": None, "connected": False}
        rec["children"] = []
        if callees is not None:
            rec["callees"] = callees
        return rec

    @staticmethod
    def _end(rec: dict, reason: str) -> None:
        rec["state"] = "ended"
        rec["reason"] = reason

    def _child(self, state: dict, cid: str, etype: str, **content: Any) -> dict:
        state["made"] += 1
        return C.child(cid, etype, self.name, self.config["user"], state["made"], **content)

    def _unsettled(self, state: dict) -> bool:
        busy = any(r["state"] in UNSETTLED for r in state["calls"].values())
        return bool(state["pending"]) or busy


# -- properties ------------------------------------------------------------


def _servers(view: View) -> list[str]:
    return [n for n in view.nodes if view.kind(n) == "homeserver"]


def _devices(view: View) -> list[str]:
    return [n for n in view.nodes if view.kind(n) == "device"]


def _calls(view: View) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for s in _servers(view):
        out.update(view.state(s)["calls"])
    return out


@always("one_callee_in_call")
def one_callee_in_call(view: View) -> bool:
    """At most one callee device is ever in a call with the caller."""
    count: dict[str, int] = {}
    for d in _devices(view):
        for cid, rec in view.state(d)["calls"].items():
            if rec["role"] == "callee" and rec["connected"]:
                count[cid] = count.get(cid, 0) + 1
    return all(n <= 1 for n in count.values())


@eventually("callees_settled")
def callees_settled(view: View) -> bool:
    """At quiescence no device still rings or waits, and each says why it stopped."""
    for d in _devices(view):
        for rec in view.state(d)["calls"].values():
            if rec["state"] in UNSETTLED or not rec["reason"]:
                return False
    return True


@eventually("caller_and_callee_agree")
def caller_and_callee_agree(view: View) -> bool:
    """The caller's chosen device, and only it, was in the call with it."""
    records = {d: view.state(d)["calls"] for d in _devices(view)}
    for cid, bundle in _calls(view).items():
        caller = bundle["call"]["device_id"]
        rec = records.get(caller, {}).get(cid)
        if rec is None:
            continue
        joined = sorted(
            d for d, calls in records.items() if d != caller and calls.get(cid, {}).get("connected")
        )
        want = [rec["peer"]] if rec["connected"] else []
        if joined != want:
            return False
    return True


@eventually("hangup_ends_call")
def hangup_ends_call(view: View) -> bool:
    """After a hangup no device is in that call or ringing for it."""
    records = {d: view.state(d)["calls"] for d in _devices(view)}
    for cid, bundle in _calls(view).items():
        if C.outcome(bundle["children"])["hangup"] is None:
            continue
        for calls in records.values():
            if cid in calls and calls[cid]["state"] in UNSETTLED:
                return False
    return True


@eventually("rejection_ends_only_its_user")
def rejection_ends_only_its_user(view: View) -> bool:
    """A caller gives up as rejected only when every callee user rejected."""
    calls = _calls(view)
    for d in _devices(view):
        for cid, rec in view.state(d)["calls"].items():
            if rec["role"] != "caller" or rec["reason"] != "rejected" or cid not in calls:
                continue
            out = C.outcome(calls[cid]["children"])
            users = sorted({r["sender"] for r in out["responses"] if r["type"] == C.REJECT})
            if users != rec["callees"]:
                return False
    return True


@sometimes("concurrent_answers")
def concurrent_answers(view: View) -> bool:
    """Two devices answered the same call concurrently: neither had received the
    other's answer when it sent its own (an answer given after the other was
    seen is ordered after it, not concurrent)."""
    return any(view.state(s)["concurrent_answers"] for s in _servers(view))


@sometimes("answer_after_hangup")
def answer_after_hangup(view: View) -> bool:
    """An answer reached the server after the call was hung up."""
    return any(view.state(s)["late_answer"] for s in _servers(view))


@sometimes("rejection_before_answer")
def rejection_before_answer(view: View) -> bool:
    """One callee user's rejection reached the server before another user's answer."""
    for bundle in _calls(view).values():
        kinds = [r["type"] for r in C.outcome(bundle["children"])["responses"]]
        if kinds[:1] == [C.REJECT] and C.ANSWER in kinds:
            return True
    return False


@sometimes("glare")
def glare(view: View) -> bool:
    """Two users called each other at once and a device saw both calls."""
    return any(view.state(d)["glare"] for d in _devices(view))


MODEL = Model(
    name="voip",
    doc="VoIP callee selection: call signalling as updates to the call event.",
    kinds={"homeserver": Homeserver, "device": Device},
    switches=SWITCHES,
    properties=(
        one_callee_in_call,
        callees_settled,
        caller_and_callee_agree,
        hangup_ends_call,
        rejection_ends_only_its_user,
        concurrent_answers,
        answer_after_hangup,
        rejection_before_answer,
        glare,
    ),
)
