"""Explainers of the session, presence and typing properties (``models/homeserver/
sessions.py``, ``presence.py``, ``typing.py``, ``ephemeral.py``): which wish the
server lost, or which update another server never applied."""

from __future__ import annotations

from mxsim.models import room as R
from mxsim.models.explain import Moment, devices, explains, servers


@explains("sessions_restored")
def sessions_restored(at: Moment) -> str | None:
    view = at.after
    for d in devices(view):
        st = view.state(d)
        if "sessions" not in st or st["sessions"]["session"] is None:
            continue
        server = view.config(d)["server"]
        hs = view.state(server)
        session = st["sessions"]["session"]
        wants = st["presence"]["wants"] if "presence" in st else {"presence": None, "typing": []}
        if "presence" in hs:
            has, want = hs["presence"]["wish"].get(d), wants["presence"] or "online"
            if has != want:
                return (
                    f"{d} asked for presence {want}, but {server} holds {has}"
                    f" for its session {session}"
                )
        if "typing" in hs:
            has = hs["typing"]["typing"].get(d, [])
            if has != wants["typing"]:
                want = ", ".join(wants["typing"]) or "no room"
                return (
                    f"{d} wants to be typing in {want}, but {server}"
                    f" has it typing in {', '.join(has) or 'no room'} (session {session})"
                )
    return None


@explains("presence_follows_sessions")
def presence_follows_sessions(at: Moment) -> str | None:
    view = at.after
    for hs in servers(view):
        st = view.state(hs)
        if "presence" not in st:
            continue
        sessions = st["sessions"]["sessions"]
        for user, p in sorted(st["presence"]["users"].items()):
            live = sorted(d for d, r in sessions.items() if r["user"] == user and r["live"])
            if live and p["presence"] == "offline":
                return f"{hs} shows {user} offline while {', '.join(live)} has a live session"
            if not live and p["presence"] != "offline":
                return f"{hs} shows {user} {p['presence']} with no live session"
    return None


@explains("never_typing_forever")
def never_typing_forever(at: Moment) -> str | None:
    view = at.after
    for hs in servers(view):
        st = view.state(hs)
        if "typing" not in st:
            continue
        for device, rooms in sorted(st["typing"]["typing"].items()):
            wants = view.state(device).get("presence", {}).get("wants", {}).get("typing", [])
            stale = [r for r in rooms if r not in wants]
            if stale:
                return (
                    f"{hs} keeps {device} typing in {', '.join(stale)} though it stopped, for ever"
                )
    return None


@explains("remote_typing_agrees")
def remote_typing_agrees(at: Moment) -> str | None:
    view = at.after
    for hs in servers(view):
        st = view.state(hs)
        if "ephemeral" not in st:
            continue
        for room, store in sorted(st["rooms"]["stores"].items()):
            told = st["ephemeral"]["typing"].get(room, {})
            for other in R.servers_in_room(store):
                if other == hs or "ephemeral" not in view.state(other):
                    continue
                published = view.state(other).get("typing", {}).get("published", {}).get(room, [])
                shown = told.get(other, [])
                if sorted(shown) != sorted(published):
                    return (
                        f"{hs} shows {', '.join(shown) or 'nobody'} of {other} typing in {room}"
                        f" for ever, but {other} last published {', '.join(published) or 'nobody'}"
                    )
    return None


@explains("remote_presence_agrees")
def remote_presence_agrees(at: Moment) -> str | None:
    view = at.after
    for hs in servers(view):
        st = view.state(hs)
        if "ephemeral" not in st:
            continue
        users = {u for store in st["rooms"]["stores"].values() for u in R.members(store)}
        for user in sorted(users):
            home = user.split(":", 1)[1]
            if home == hs or home not in view.nodes or "presence" not in view.state(home):
                continue
            published = view.state(home)["presence"]["users"].get(user, {}).get("presence")
            shown = st["ephemeral"]["presence"].get(user, {}).get("presence")
            if (shown or "offline") != (published or "offline"):
                return (
                    f"{hs} shows {user} {shown or 'offline'} for ever,"
                    f" but {home} last published {published or 'offline'}"
                )
    return None
