"""What a synchronous bot without action IDs may rely on (proposal: "Action APIs").

A bot "which operate[s] using basic request/responses in a synchronous
fashion" needs no action ID: its messages reach the room once each, in the
order it sent them, and each answer it was given is the answer to its own
request. Read from the bot's ``sent`` and ``told`` (:mod:`mxsim.models.device.bot`)
and its server's room events; each property's ``*_problem`` function says
why it fails, for the explainers (``models/explain_actions.py``).
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
    "order_problem",
    "answer_problem",
    "stuck_problem",
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


def _body(ev: dict) -> str | None:
    return ev.get("content", {}).get("body")


def order_problem(view: View) -> str | None:
    """Why ``bot_order`` fails (None: it holds)."""
    for b in bots(view):
        sent, server = view.state(b)["bot"]["sent"], view.config(b)["server"]
        for room, events in bot_messages(view, b).items():
            bodies = [_body(ev) for ev in events if _body(ev) in sent]
            for first, later in zip(bodies, bodies[1:], strict=False):
                if first == later:
                    return f'{server} placed {b}\'s message "{first}" twice in {room}'
                if sent.index(later) < sent.index(first):
                    return (
                        f'{b} sent "{later}" before "{first}" without action IDs, but'
                        f' {server} placed "{first}" first in {room}'
                    )
    return None


def answer_problem(view: View) -> str | None:
    """Why ``bot_sends_once`` fails (None: it holds)."""
    for b in bots(view):
        mine = view.state(b)["bot"]
        events = [ev for evs in bot_messages(view, b).values() for ev in evs]
        by_id = {ev["event_id"]: ev for ev in events}
        for k, ok, eid in mine["told"]:
            body = mine["sent"][k]
            if not ok or body is None:
                continue
            got = _body(by_id[eid]) if eid in by_id else None
            if got != body:
                return (
                    f'{b} took the answer {eid} as its send of "{body}", but {eid} is'
                    f' "{got}": without action IDs an answer cannot say which request it is for'
                )
            n = sum(1 for ev in events if _body(ev) == body)
            if n != 1:
                return f'{b}\'s message "{body}" is in the room {n} times'
    return None


def stuck_problem(view: View) -> str | None:
    """Why ``bot_goes_on`` fails (None: it holds)."""
    for b in bots(view):
        mine = view.state(b)["bot"]
        if mine["queue"] and len(mine["told"]) == len(mine["sent"]):
            left = ", ".join(f'"{m.get("body")}"' for m in mine["queue"])
            return f"every request of {b} was answered, but it never sent {left}"
    return None


@always("bot_order")
def bot_order(view: View) -> bool:
    """A bot's messages are in the room in the order it sent them, none twice."""
    return order_problem(view) is None


@always("bot_sends_once")
def bot_sends_once(view: View) -> bool:
    """Each send a bot was told succeeded made one event in the room: its own
    message (the answer was to its request), and only one of it."""
    return answer_problem(view) is None


@eventually("bot_goes_on")
def bot_goes_on(view: View) -> bool:
    """A bot whose every request was answered has sent every message it was given
    (only a lost request or answer leaves it waiting)."""
    return stuck_problem(view) is None


@sometimes("bot_passed_hold")
def bot_passed_hold(view: View) -> bool:
    """A bot's request without an action ID was applied while the server held
    another device's higher action ID, waiting for a lower one."""
    servers = [n for n in view.nodes if view.kind(n) == "homeserver"]
    return any(view.state(s).get("actions", {}).get("passed_hold") for s in servers)
