"""Capabilities on the homeserver (proposal: "Capabilities").

"When a session is started, the client needs to provide a capability set.
The server will take the "union" of all the user's connected clients'
capability sets and send the hash of the capabilities as part of presence
information." A hash the server does not know is "most likely refused by the
home server as it does not know the full capability set for that hash"; the
client then uploads the set; other clients look hashes up. Hashes and unions
are those of :mod:`mxsim.models.capability_sets`.

"Federation: ... Same as the server capability API": a user's hash reaches
other servers with their presence (:mod:`.ephemeral`), and a server asked for
a hash it does not know, of a user of another server, asks that user's server
(``fed.caps_lookup`` / ``fed.caps``) before it answers; the switch
``caps_over_federation = "local_only"`` answers from its own sets alone.
"""

from __future__ import annotations

from typing import Any

from mxsim.models.capability_sets import capability_hash, union
from mxsim.sim.model import Switch, View, always, eventually, sometimes
from mxsim.sim.node import Context
from mxsim.sim.parts import Part

__all__ = ["Capabilities"]

CAPS_OVER_FEDERATION = Switch(
    "caps_over_federation",
    "ask_origin",
    'Capabilities, Federation: "Same as the server capability API" ("ask_origin": a hash '
    'of another server\'s user is asked of that server; "local_only": unknown, refused).',
    ("ask_origin", "local_only"),
)


class Capabilities(Part):
    """State: ``sets`` (hash -> capability names), ``session`` (device -> the
    hash its live session provided), ``waiting`` (hash -> [device, rid, session]
    of lookups waiting on another server) and ``seen`` (flags: ``unknown_hash``,
    ``lookup``, ``remote_lookup``)."""

    name = "capabilities"
    section = "Capabilities"
    handles = ("fed.caps_lookup", "fed.caps")
    switches = (CAPS_OVER_FEDERATION,)

    def initial(self) -> dict[str, Any]:
        return {
            "sets": {},
            "session": {},
            "waiting": {},
            "seen": {"unknown_hash": False, "lookup": False},
        }

    def bind(self) -> None:
        self.sessions = self.node.part("sessions")
        self.presence = self.node.part("presence")

    def apply(self, ctx: Context, state: dict, device: str, rec: dict, msg: dict) -> None:
        mine, answer = self.of(state), self.sessions.answer
        if msg["type"] == "caps_lookup":
            mine["seen"]["lookup"] = True
            caps = mine["sets"].get(msg["hash"])
            if caps is None and self._ask_origin(ctx, state, device, rec, msg):
                return
            if caps is None:
                answer(ctx, device, rec, msg, False, error="unknown capability hash")
            else:
                answer(ctx, device, rec, msg, True, hash=msg["hash"], caps=caps)
            return
        if msg["type"] == "caps_upload":
            caps = union([msg["caps"]])
            h = capability_hash(caps)
            mine["sets"][h] = caps
        elif msg["hash"] not in mine["sets"]:
            mine["seen"]["unknown_hash"] = True
            answer(ctx, device, rec, msg, False, error="unknown capability hash")
            return
        else:
            h = msg["hash"]
        mine["session"][device] = h
        if self.presence is not None:
            self.presence.changed(ctx, state, device)
        answer(ctx, device, rec, msg, True, hash=h)

    def _ask_origin(self, ctx: Context, state: dict, device: str, rec: dict, msg: dict) -> bool:
        """Ask the server of the hash's user (another server) for its set; True if asked."""
        origin = msg["of"].split(":", 1)[1]
        if origin == self.node.name or self.node.switches["caps_over_federation"] != "ask_origin":
            return False
        mine = self.of(state)
        mine["seen"]["remote_lookup"] = True
        waiting = mine["waiting"].setdefault(msg["hash"], [])
        entry = [device, msg["rid"], rec["id"]]
        if entry not in waiting:
            waiting.append(entry)
        # Asked again on each lookup, so a lost question or answer is repaired
        # when the device asks again.
        ctx.send(origin, {"type": "fed.caps_lookup", "hash": msg["hash"], "of": msg["of"]})
        return True

    def on_fed_caps_lookup(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        caps = self.of(state)["sets"].get(msg["hash"])
        ctx.send(src, {"type": "fed.caps", "hash": msg["hash"], "caps": caps})

    def on_fed_caps(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        mine = self.of(state)
        if msg["caps"] is not None:
            mine["sets"][msg["hash"]] = msg["caps"]
        for device, rid, session in mine["waiting"].pop(msg["hash"], []):
            rec, req, h = {"id": session}, {"rid": rid}, msg["hash"]
            if msg["caps"] is None:
                self.sessions.answer(ctx, device, rec, req, False, error="unknown capability hash")
            else:
                self.sessions.answer(ctx, device, rec, req, True, hash=h, caps=msg["caps"])

    def ended(self, state: dict, device: str) -> None:
        self.of(state)["session"].pop(device, None)

    def of_user(self, state: dict, user: str) -> str | None:
        """The hash of the union of the capability sets of the user's live sessions."""
        mine = self.of(state)
        sessions = self.sessions.records(state)
        sets = [
            mine["sets"][h]
            for d, h in sorted(mine["session"].items())
            if sessions[d]["user"] == user
        ]
        if not sets:
            return None
        merged = union(sets)
        h = capability_hash(merged)
        mine["sets"][h] = merged
        return h


# -- properties ------------------------------------------------------------------------


def _servers(view: View) -> list[str]:
    return [
        n for n in view.nodes if view.kind(n) == "homeserver" and "capabilities" in view.state(n)
    ]


@always("capability_union")
def capability_union(view: View) -> bool:
    """The hash published with a user's presence is that of the union of the
    capability sets of the user's live sessions."""
    for hs in _servers(view):
        st = view.state(hs)
        caps, sessions = st["capabilities"], st["sessions"]["sessions"]
        for user, p in st.get("presence", {}).get("users", {}).items():
            sets = [
                caps["sets"][h]
                for d, h in caps["session"].items()
                if sessions[d]["user"] == user and sessions[d]["live"]
            ]
            if p["caps"] != (capability_hash(union(sets)) if sets else None):
                return False
    return True


@eventually("capabilities_resolved")
def capabilities_resolved(view: View) -> bool:
    """At quiescence every device knows the capability set of every hash it was shown."""
    for d in view.nodes:
        st = view.state(d)
        if view.kind(d) != "device" or "capabilities" not in st or "presence" not in st:
            continue
        for _, h in st["presence"]["presence"].values():
            if h is not None and h not in st["capabilities"]["known"]:
                return False
    return True


@sometimes("unknown_hash_refused")
def unknown_hash_refused(view: View) -> bool:
    """A capability hash the server did not know was refused."""
    return any(view.state(s)["capabilities"]["seen"]["unknown_hash"] for s in _servers(view))


@sometimes("hash_looked_up")
def hash_looked_up(view: View) -> bool:
    """A device looked up another's capability hash."""
    return any(view.state(s)["capabilities"]["seen"]["lookup"] for s in _servers(view))


@sometimes("remote_hash_looked_up")
def remote_hash_looked_up(view: View) -> bool:
    """A server asked another server for the capability set of one of its users."""
    return any(view.state(s)["capabilities"]["seen"].get("remote_lookup") for s in _servers(view))


Capabilities.properties = (
    capability_union,
    capabilities_resolved,
    unknown_hash_refused,
    hash_looked_up,
    remote_hash_looked_up,
)
