"""What a synchronous bot without action IDs may rely on (proposal: "Action APIs").

A bot "which operate[s] using basic request/responses in a synchronous
fashion" needs no action ID: its messages reach the room once each, in the
order it sent them, and each answer it was given is the answer to its own
request. Read from the bot's ``sent`` and ``told`` (:mod:`mxsim.models.device.bot`)
and its server's room events.
"""

from __future__ import annotations

from mxsim.sim.model import View, always, eventually, sometimes

__all__ = [
    "bot_order",
    "bot_sends_once",
    "bot_goes_on",
    "bot_passed_hold",
    "bots",
    "bot_messages",
]


def bots(view: View) -> list[str]:
    """The devices with the ``bot`` part."""
    return [n for n in view.nodes if view.kind(n) == "device" and "bot" in view.state(n)]


def bot_messages(view: View, bot: str) -> dict[str, list[dict]]:
    """Room -> the bot user's message events on its server, in the room's order."""
    user = view.config(bot)["user"]
    out: dict[str, list[dict]] = {}
    stores = view.state(view.config(bot)["server"])["rooms"]["stores"]
    for room, store in sorted(stores.items()):
        mine = [
            ev
            for ev in store["events"].values()
            if ev.get("sender") == user and ev["type"] == "m.room.message"
        ]
        if mine:
            out[room] = sorted(mine, key=lambda ev: (ev["depth"], ev["event_id"]))
    return out


def _index(sent: list, ev: dict) -> int | None:
    body = ev.get("content", {}).get("body")
    return sent.index(body) if body in sent else None


@always("bot_order")
def bot_order(view: View) -> bool:
    """A bot's messages are in the room in the order it sent them, none twice."""
    for b in bots(view):
        sent = view.state(b)["bot"]["sent"]
        for events in bot_messages(view, b).values():
            order = [i for i in (_index(sent, ev) for ev in events) if i is not None]
            if any(later <= first for first, later in zip(order, order[1:], strict=False)):
                return False
    return True


@always("bot_sends_once")
def bot_sends_once(view: View) -> bool:
    """Each send a bot was told succeeded made one event in the room: its own
    message (the answer was to its request), and only one of it."""
    for b in bots(view):
        mine = view.state(b)["bot"]
        events = [ev for evs in bot_messages(view, b).values() for ev in evs]
        by_id = {ev["event_id"]: ev for ev in events}
        for k, ok, eid in mine["told"]:
            body = mine["sent"][k]
            if not ok or body is None:
                continue
            made = by_id.get(eid)
            if made is None or made.get("content", {}).get("body") != body:
                return False
            if sum(1 for ev in events if ev.get("content", {}).get("body") == body) != 1:
                return False
    return True


@sometimes("bot_passed_hold")
def bot_passed_hold(view: View) -> bool:
    """A bot's request without an action ID was applied while the server held
    another device's higher action ID, waiting for a lower one."""
    servers = [n for n in view.nodes if view.kind(n) == "homeserver"]
    return any(view.state(s).get("actions", {}).get("passed_hold") for s in servers)


@eventually("bot_goes_on")
def bot_goes_on(view: View) -> bool:
    """A bot whose every request was answered has sent every message it was given
    (only a lost request or answer leaves it waiting)."""
    for b in bots(view):
        mine = view.state(b)["bot"]
        if mine["queue"] and len(mine["told"]) == len(mine["sent"]):
            return False
    return True
