"""Presence and typing across federation: ephemeral events to the other servers.

The proposal's typing is an "ephemeral ROOM event" ("Events ... event version
2") and presence reaches whoever shares a room with the user ("Global
/initialSync": members with their presence and whether they are typing). It
assumes federation without specifying it, so how these updates cross to
other servers is the model's, and a switch:

- ``ephemeral_delivery = "latest"``: each update is numbered by its origin;
  the latest update per user (presence) or per room (typing) is resent to a
  server until that server acknowledges it, and an update older than one
  already applied is ignored;
- ``"once"``: each update is sent once and applied in arrival order, so a
  lost "stopped typing" or an older update that overtakes a newer one leaves
  another server showing what is no longer true.

A server shows its devices the union of its own users typing in a room and
what the room's other servers last told it, and every remote user's presence.
"""

from __future__ import annotations

from typing import Any

from mxsim.models import room as R
from mxsim.sim.model import Switch, View, eventually, sometimes
from mxsim.sim.node import Context
from mxsim.sim.parts import Part

__all__ = ["Ephemeral", "RETRY_MS"]

#: How often a server sends its unacknowledged latest updates again (ms).
RETRY_MS = 500

EPHEMERAL_DELIVERY = Switch(
    "ephemeral_delivery",
    "latest",
    'Typing, Presence: "ephemeral ROOM events (e.g. typing)" crossing federation, which the '
    'proposal assumes ("latest": numbered, the latest resent until acknowledged, an older '
    'one ignored; "once": sent once, applied as it arrives).',
    ("latest", "once"),
)

OFFLINE = {"presence": "offline", "caps": None}


class Ephemeral(Part):
    """State: ``n`` (this server's last update number), ``out`` (server -> "edu key"
    -> [n, content] not yet acknowledged), ``latest`` (origin -> "edu key" -> the
    highest n applied), ``presence`` (remote user -> {"presence", "caps"}),
    ``typing`` (room -> origin -> users) and ``seen`` (an update overtaken by a
    newer one arrived)."""

    name = "ephemeral"
    section = "Typing; Presence; Federation (assumed by the proposal)"
    handles = ("fed.ephemeral", "fed.ephemeral_ack")
    switches = (EPHEMERAL_DELIVERY,)
    needs = ("federation",)

    def initial(self) -> dict[str, Any]:
        return {"n": 0, "out": {}, "latest": {}, "presence": {}, "typing": {}, "seen": {}}

    def bind(self) -> None:
        self.rooms = self.node.part("rooms")
        self.stream = self.node.part("stream")

    def _latest(self) -> bool:
        return self.node.switches["ephemeral_delivery"] == "latest"

    # -- sending --------------------------------------------------------------

    def presence(self, ctx: Context, state: dict, user: str, content: dict) -> None:
        """A local user's presence changed: tell every server sharing a room with them."""
        servers: set[str] = set()
        for store in self.rooms.stores(state).values():
            if user in R.members(store):
                servers |= set(R.servers_in_room(store))
        for server in sorted(servers - {self.node.name}):
            self._send(ctx, state, server, "presence", user, content)

    def typing(self, ctx: Context, state: dict, room: str, users: list[str]) -> None:
        """The room's local typing users changed: tell the room's other servers."""
        store = self.rooms.stores(state).get(room)
        if store is None:
            return
        for server in sorted(set(R.servers_in_room(store)) - {self.node.name}):
            self._send(ctx, state, server, "typing", room, {"users": users})

    def _send(self, ctx: Context, state: dict, server: str, edu: str, key: str, content) -> None:
        mine = self.of(state)
        mine["n"] += 1
        n = mine["n"]
        ctx.send(server, {"type": "fed.ephemeral", "edu": edu, "key": key, "n": n, **content})
        if self._latest():
            out = mine["out"].setdefault(server, {})
            if not out:
                ctx.set_timer(self.timer(server), RETRY_MS)
            out[f"{edu} {key}"] = [n, content]

    def on_timer(self, ctx: Context, state: dict, server: str) -> None:
        out = self.of(state)["out"].get(server)
        if not out:
            return
        for edu_key in sorted(out):
            edu, key = edu_key.split(" ", 1)
            n, content = out[edu_key]
            ctx.send(server, {"type": "fed.ephemeral", "edu": edu, "key": key, "n": n, **content})
        ctx.set_timer(self.timer(server), RETRY_MS)

    def on_fed_ephemeral_ack(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        out = self.of(state)["out"].get(src, {})
        edu_key = f"{msg['edu']} {msg['key']}"
        if edu_key in out and out[edu_key][0] == msg["n"]:
            del out[edu_key]
            if not out:
                del self.of(state)["out"][src]
                ctx.cancel_timer(self.timer(src))

    # -- receiving ------------------------------------------------------------

    def on_fed_ephemeral(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        mine = self.of(state)
        edu, key, n = msg["edu"], msg["key"], msg["n"]
        latest = mine["latest"].setdefault(src, {})
        last = latest.get(f"{edu} {key}", 0)
        if n < last:
            # An older update arrived after a newer one had been applied.
            mine["seen"]["overtaken"] = True
        if self._latest():
            ctx.send(src, {"type": "fed.ephemeral_ack", "edu": edu, "key": key, "n": n})
            if n <= last:
                return
        latest[f"{edu} {key}"] = max(n, last)
        if edu == "presence":
            content = {"presence": msg["presence"], "caps": msg.get("caps")}
            if mine["presence"].get(key, OFFLINE) == content:
                return
            mine["presence"][key] = content
            ev = {"type": "m.presence", "user": key, **content}
            for d in sorted(self.stream.devices(state)):
                self.stream.push(state, d, None, ev)
        else:
            mine["typing"].setdefault(key, {})[src] = list(msg["users"])
            typing = self.node.part("typing")
            if typing is not None:
                typing.show(state, key)

    def remote_typing(self, state: dict, room: str) -> set[str]:
        """Users of other servers typing in ``room``, as those servers last said."""
        return {u for users in self.of(state)["typing"].get(room, {}).values() for u in users}


# -- properties ------------------------------------------------------------------------


def _servers(view: View) -> list[str]:
    return [n for n in view.nodes if view.kind(n) == "homeserver" and "ephemeral" in view.state(n)]


@eventually("remote_typing_agrees")
def remote_typing_agrees(view: View) -> bool:
    """In the end every server shows, for each other server in a room, the typing
    users that server last published for it."""
    servers = set(_servers(view))
    for s in sorted(servers):
        st = view.state(s)
        for room, store in sorted(st["rooms"]["stores"].items()):
            told = st["ephemeral"]["typing"].get(room, {})
            for o in sorted((set(R.servers_in_room(store)) & servers) - {s}):
                published = view.state(o).get("typing", {}).get("published", {}).get(room, [])
                if sorted(told.get(o, [])) != sorted(published):
                    return False
    return True


@eventually("remote_presence_agrees")
def remote_presence_agrees(view: View) -> bool:
    """In the end every server shows each user it shares a room with the presence
    that user's own server last published."""
    servers = set(_servers(view))
    for s in sorted(servers):
        st = view.state(s)
        users = {u for store in st["rooms"]["stores"].values() for u in R.members(store)}
        for user in sorted(users):
            home = user.split(":", 1)[1]
            if home == s or home not in servers or "presence" not in view.state(home):
                continue
            published = view.state(home)["presence"]["users"].get(user, OFFLINE)
            if st["ephemeral"]["presence"].get(user, OFFLINE) != published:
                return False
    return True


@sometimes("remote_typing_seen")
def remote_typing_seen(view: View) -> bool:
    """A device was shown a user of another server typing."""
    for d in view.nodes:
        if view.kind(d) != "device" or "presence" not in view.state(d):
            continue
        server = view.config(d)["server"]
        for users in view.state(d)["presence"]["typing"].values():
            if any(u.split(":", 1)[1] != server for u in users):
                return True
    return False


@sometimes("ephemeral_overtaken")
def ephemeral_overtaken(view: View) -> bool:
    """A server received an older presence or typing update after a newer one."""
    return any(view.state(s)["ephemeral"]["seen"].get("overtaken") for s in _servers(view))


Ephemeral.properties = (
    remote_typing_agrees,
    remote_presence_agrees,
    remote_typing_seen,
    ephemeral_overtaken,
)
