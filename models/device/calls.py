"""A device's calls (proposal: "VoIP", "Event updates", "Placing a call").

"This addresses one-to-one calling with multiple devices. This uses the
``updates`` key to handle signalling." A caller places a call (a room event
``m.call.invite`` whose content names the ``callees``); a callee device
rings when its stream first shows a call for its user and answers or
rejects it at once (config ``respond``); the caller acknowledges one
response; the others give up. Every signal is a child of the call event
(``updates``), sent with ``send_event`` and seen when the device's stream
shows it, so what a device does is a function of the call's children in
stream order (:mod:`mxsim.models.call`), whichever server made them.

Signalling can be lost or duplicated: while a call of its is unsettled a
device polls (``poll_ms``, at most ``max_polls`` times without news): it
sends again the requests not yet answered (the server makes each event
once) and polls its stream again from the position it has (the server
sends again what it sent past it).

Config (``calls = {...}``): ``room`` (where calls happen), ``call`` (callee
user IDs to call at start), ``respond`` ("answer" or "reject"),
``early_candidate`` (the offer carries an ICE candidate gathered while setting up),
``hangup_in_call`` (the chosen callee sends its candidate, then hangs up),
``poll_ms``, ``max_polls``, ``lifetime_ms`` (the invite's lifetime:
:mod:`mxsim.models.device.expiry`), ``candidates`` (how many ICE candidates
the caller trickles to the device it chose: :mod:`mxsim.models.device.call_ice`);
``respond = "ignore"``: the callee's user never picks up, it rings until
the call ends. Workload input ``{"op": "hangup"}`` hangs up every unsettled
call. ``hangup_in_call``: the chosen callee hangs up once it has every
candidate the caller's ack announced.
"""

from __future__ import annotations

from typing import Any

from mxsim.models import call as C
from mxsim.models import properties_voip as P
from mxsim.models.device import call_ice as ICE
from mxsim.models.device.call_caller import CallerSide, _end
from mxsim.models.device.call_ice import IceSide
from mxsim.models.device.expiry import CALL_EXPIRY, Expiry
from mxsim.models.device.expiry import PROPERTIES as EXPIRY_PROPERTIES
from mxsim.sim.node import ConfigError, Context
from mxsim.sim.parts import Part

__all__ = ["Calls", "UNSETTLED"]

UNSETTLED = C.UNSETTLED


class Calls(CallerSide, IceSide, Expiry, Part):
    """State: ``calls`` (call ID -> record), ``pending`` (action ID -> request
    not yet answered), ``made``, ``polls``, ``glare`` (the guard's flag)."""

    name = "calls"
    section = "VoIP"
    switches = (*P.SWITCHES, CALL_EXPIRY, *ICE.SWITCHES)
    properties = (*P.PROPERTIES, *EXPIRY_PROPERTIES, *ICE.PROPERTIES)
    handles = ()
    ops = ("hangup",)
    keys = {
        "room": "a room ID",
        "call": "a list of user IDs",
        "respond": '"answer", "reject" or "ignore"',
        "early_candidate": "a boolean",
        "hangup_in_call": "a boolean",
        "poll_ms": "a positive integer",
        "max_polls": "a positive integer",
        "lifetime_ms": "a positive integer",
        "candidates": "a non-negative integer",
    }

    @classmethod
    def check_config(cls, config, node_config, node_names) -> None:
        super().check_config(config, node_config, node_names)
        if not isinstance(config.get("room"), str):
            raise ConfigError("room", "a room ID", config.get("room"))
        callees = config.get("call", [])
        if not isinstance(callees, list) or not all(isinstance(u, str) for u in callees):
            raise ConfigError("call", "a list of user IDs", callees)
        if config.get("respond", "answer") not in ("answer", "reject", "ignore"):
            raise ConfigError("respond", '"answer", "reject" or "ignore"', config.get("respond"))
        for key in ("early_candidate", "hangup_in_call"):
            if not isinstance(config.get(key, True), bool):
                raise ConfigError(key, "a boolean", config.get(key))
        n = config.get("candidates", 0)
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ConfigError("candidates", "a non-negative integer", n)
        for key in ("poll_ms", "max_polls", "lifetime_ms"):
            v = config.get(key, 1)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(key, "a positive integer", v)

    @classmethod
    def check_input(cls, data: dict[str, Any]) -> None:
        for key in data:
            if key != "op":
                raise ConfigError(key, "no field besides op", key)

    def initial(self) -> dict[str, Any]:
        return {"calls": {}, "pending": {}, "made": 0, "polls": 0, "glare": False}

    # -- entry points ------------------------------------------------------------

    def on_start(self, ctx: Context, state: dict) -> None:
        mine = self.of(state)
        callees = self.config.get("call", [])
        if not callees or mine["calls"]:
            return
        cid = f"call.{self.node.name}"
        mine["calls"][cid] = _record("caller", "calling", callees=sorted(callees))
        content = {
            "device_id": self.node.name,
            "offer": f"sdp-offer-{self.node.name}",
            "callees": sorted(callees),
        }
        if self.config.get("early_candidate", True):
            # The candidate gathered while setting up goes with the offer: the
            # call's event ID is the server's, so an update could only follow
            # the echo, and every callee would see the call with and without it.
            content["candidates"] = ["early"]
        if "lifetime_ms" in self.config:
            content["lifetime"] = self.config["lifetime_ms"]
        self._send(ctx, state, C.INVITE, cid, None, content)
        self.arm_expiry(ctx, state, cid, self.lifetime(content))

    def on_input(self, ctx: Context, state: dict, data: dict[str, Any]) -> None:
        calls = self.of(state)["calls"]
        for cid in sorted(calls):
            if calls[cid]["state"] in UNSETTLED:
                self._child(ctx, state, cid, C.HANGUP, reason="user hangup")
                _end(calls[cid], "hangup")

    def on_timer(self, ctx: Context, state: dict, name: str) -> None:
        if name.startswith("expire:"):
            self.on_expire(ctx, state, name.split(":", 1)[1])
            return
        # A request, its answer or a push may have been lost: ask again.
        mine = self.of(state)
        mine["polls"] += 1
        ctx.metric("voip.polls")
        server, stream = self.node.config["server"], self.node.part("stream")
        for aid in sorted(mine["pending"], key=int):
            if stream.long_poll():
                stream.carry(state, mine["pending"][aid])
            else:
                ctx.send(server, mine["pending"][aid])
        stream.ask(state)

    def after(self, ctx: Context, state: dict) -> None:
        mine = self.of(state)
        for cid in dict.fromkeys(mine.pop("news", [])):
            self._react(ctx, state, cid)
            self._flush(ctx, state, cid)
            self.settle_expiry(ctx, state, cid)
        results = self.node.part("requests").of(state)["results"]
        for aid in [a for a in mine["pending"] if a in results]:
            del mine["pending"][aid]
        stream = self.node.part("stream")
        if mine.pop("fresh", False):
            # A new request rides with every one not yet answered, in the order
            # they were made: a poll may overtake an earlier one, and the
            # server must not take a hangup before the ack made ahead of it.
            for aid in sorted(mine["pending"], key=int):
                stream.carry(state, mine["pending"][aid])
        # A device its stream never answered may have lost its first poll.
        unheard = stream.of(state)["last_pos"] == 0
        busy = bool(mine["pending"]) or unheard
        busy = busy or any(r["state"] in UNSETTLED for r in mine["calls"].values())
        if busy and mine["polls"] < self.config.get("max_polls", 2):
            ctx.set_timer(self.timer("poll"), self.config.get("poll_ms", 200))
        else:
            ctx.cancel_timer(self.timer("poll"))
        if mine["calls"] and not busy:
            stream.of(state).pop("ask", None)  # every call of its is over: it stops listening
        stream.poll(ctx, state)  # with what it carries

    # -- the stream --------------------------------------------------------------

    def takes(self, ev: dict) -> bool:
        """Call events are this part's (the stream hands it them)."""
        return ev["type"] in C.CALL_TYPES

    def apply(self, state: dict, entry: dict) -> None:
        ev, mine = entry["event"], self.of(state)
        calls = mine["calls"]
        me, _, aid = ev.get("txn", "").partition("/")
        if me == self.node.name:
            mine["pending"].pop(aid, None)  # the echo answers the request
        if ev["type"] == C.INVITE:
            cid = ev["content"]["call_id"]
            rec = calls.get(cid)
            if rec is None:
                if self.node.config["user"] not in ev["content"]["callees"]:
                    return  # a call for other users
                rec = calls[cid] = _record("callee", "new")
            elif rec["event"] is not None:
                return  # seen before (an answer sent again shows it again)
            rec["event"] = ev["event_id"]
            rec["from"] = ev["sender"]
            if rec["role"] == "callee" and self.lifetime(ev["content"]) is not None:
                rec["lifetime"] = self.lifetime(ev["content"])  # armed once it rings
        else:
            cid = next((c for c in sorted(calls) if calls[c]["event"] == ev.get("updates")), None)
            if cid is None:
                return  # never shown without its parent
            rec = calls[cid]
            if any(c["id"] == ev["event_id"] for c in rec["children"]):
                return
            rec["children"].append(C.record(ev))
        mine["polls"] = 0
        # Reacting sends requests, which needs the step's context: :meth:`after`.
        mine.setdefault("news", []).append(cid)

    # -- the call, as a function of its children ----------------------------------

    def _react(self, ctx: Context, state: dict, cid: str) -> None:
        mine = self.of(state)
        rec = mine["calls"][cid]
        children = rec["children"]
        o = C.outcome(children)
        if rec["role"] == "caller":
            self.react_as_caller(ctx, state, cid, rec, o)
            return
        me = self.node.name
        if rec["state"] == "new":
            if o["hangup"] is not None:
                _end(rec, "missed")  # it rang nowhere: the caller gave up first
                return
            if self._glare(ctx, state, cid, rec):
                return
            rec["state"] = "ringing"
            self.arm_expiry(ctx, state, cid, rec.pop("lifetime", None))
            if self.config.get("respond", "answer") == "ignore":
                return  # its user does not pick up: it rings until the call ends
            if self.config.get("respond", "answer") == "reject":
                self._child(ctx, state, cid, C.REJECT)
                _end(rec, "rejected")
                return
            # What it knew when answering: the answers of other devices it had seen.
            rec["seen"] = sorted({c["device_id"] for c in o["responses"] if c["type"] == C.ANSWER})
            self._child(ctx, state, cid, C.ANSWER, answer=f"sdp-answer-{me}")
            rec["state"] = "answered"
        if rec["state"] in ("answered", "in_call"):
            self.take_candidates(rec, children)
        if rec["state"] in ("ringing", "answered"):
            ack = self._ack_for_me(children, o)
            if ack is not None and ack["selected"] == me:
                rec["state"] = "in_call"
                rec["connected"] = True
                self._child(ctx, state, cid, C.CANDIDATE, candidate=me)
                self.take_candidates(rec, children)
                if self._hang_up_done(ctx, state, cid, rec, ack):
                    return
            elif ack is not None:
                answered = ack["response"] == C.ANSWER
                _end(rec, "answered elsewhere" if answered else "rejected elsewhere")
                return
            elif o["hangup"] is not None:
                _end(rec, "hangup")
                return
        if rec["state"] == "in_call" and o["hangup"] is not None:
            _end(rec, "hangup")
        elif rec["state"] == "in_call":
            self._hang_up_done(ctx, state, cid, rec, self._ack_for_me(children, o))

    def _hang_up_done(self, ctx: Context, state: dict, cid: str, rec: dict, ack) -> bool:
        """``hangup_in_call``: "... in call ..." then "Send hangup update when
        hanging up", once the caller's announced candidates are all in."""
        if not self.config.get("hangup_in_call", True) or not self.ice_done(rec, ack):
            return False
        self._child(ctx, state, cid, C.HANGUP, reason="done")
        _end(rec, "hangup")
        return True

    def _ack_for_me(self, children: list[dict], o: dict) -> dict | None:
        """The ack that decides this device: the first one, or per user (``rejection_scope``)."""
        if self.node.switches["rejection_scope"] == "call":
            return o["ack"]
        me = self.node.config["user"]
        for c in children:
            if c["type"] == C.ACK and (c["response"] == C.ANSWER or c.get("for_user") == me):
                return c
        return None

    def _glare(self, ctx, state, cid, rec) -> bool:
        """Two users calling each other: the lower call ID wins (:mod:`mxsim.models.call`)."""
        mine = self.of(state)
        calls = mine["calls"]
        own = [
            c
            for c in sorted(calls)
            if calls[c]["role"] == "caller"
            and calls[c]["state"] == "calling"
            and rec["from"] in calls[c]["callees"]
        ]
        if not own:
            return False
        mine["glare"] = True
        if C.glare_winner(own[0], cid) == own[0]:
            _end(rec, "glare")  # the other side hangs its call up
            return True
        self._child(ctx, state, own[0], C.HANGUP, reason="glare")
        _end(calls[own[0]], "glare")
        return False

    # -- sending -----------------------------------------------------------------

    def _child(self, ctx: Context, state: dict, cid: str, etype: str, **content: Any) -> None:
        """A signalling update of call ``cid``; held until the call event is known."""
        rec = self.of(state)["calls"][cid]
        content = {"device_id": self.node.name, **content}
        if rec["event"] is None:
            rec["owed"].append([etype, content])
        else:
            self._send(ctx, state, etype, cid, rec["event"], content)

    def _flush(self, ctx: Context, state: dict, cid: str) -> None:
        rec = self.of(state)["calls"][cid]
        if rec["event"] is not None and rec["owed"]:
            owed, rec["owed"] = rec["owed"], []
            for etype, content in owed:
                self._send(ctx, state, etype, cid, rec["event"], content)

    def _send(self, ctx, state, etype, cid, parent, content) -> None:
        requests = self.node.part("requests")
        request = {
            "op": "send_event",
            "room": self.config["room"],
            "event_type": etype,
            "content": {"call_id": cid, **content},
        }
        if parent is not None:
            request["updates"] = parent
        aid = requests.of(state)["next_aid"]
        sent: list = []
        stream = self.node.part("stream")
        if stream.long_poll():
            requests.on_input(_Capture(None, sent), state, request)
            self.of(state)["fresh"] = True  # :meth:`after` carries it
        else:
            requests.on_input(_Capture(ctx, sent), state, request)
        self.of(state)["pending"][str(aid)] = sent[0]


class _Capture:
    """A context that also keeps what is sent (to re-send it as it was)."""

    def __init__(self, ctx: Context | None, sent: list) -> None:
        self._ctx, self._sent = ctx, sent

    def send(self, dst: str, msg: dict) -> None:
        self._sent.append(msg)
        if self._ctx is not None:
            self._ctx.send(dst, msg)


def _record(role: str, st: str, callees: list[str] | None = None) -> dict[str, Any]:
    rec = {"role": role, "state": st, "reason": None, "peer": None, "connected": False}
    rec.update({"event": None, "children": [], "owed": []})
    if callees is not None:
        rec["callees"] = callees
    return rec
