"""Explainers of the session, presence and typing properties (``models/homeserver/
sessions.py``, ``presence.py``, ``typing.py``): which wish the server lost."""

from __future__ import annotations

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
