"""Scrolling back, backfill over federation, contextual windows, and the join
response (proposal: "Scrolling back", "Contextual windowing", "Joining a room")."""

from __future__ import annotations

from mxsim.experiments.jobs import load_scenario
from mxsim.models import room as R
from mxsim.models.device import Device
from mxsim.models.homeserver import Homeserver
from mxsim.models.homeserver.joining import JOIN_HISTORY
from mxsim.models.matrix import MODEL
from mxsim.sim.explore import Explorer
from mxsim.sim.timed import TimedRun

# Every switch at its default (the model may gain switches), these as named.
SWITCHES = {
    **{s.name: s.default for s in MODEL.switches},
    "state_resolution": "v2",
    "omit_superseded_state": True,
    "rejected_events": True,
}
ROOM = "!r:hs1"


class Ctx:
    """Records what a handler sends; delivers nothing by itself."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict]] = []

    def send(self, dst, msg):
        self.sent.append((dst, msg))

    def set_timer(self, name, delay_ms):
        pass

    def cancel_timer(self, name):
        pass

    def metric(self, name, value=1):
        pass


def server(name: str, messages: int = 0, members=()) -> tuple[Homeserver, dict]:
    genesis = {
        "room": ROOM,
        "creator": "@alice:hs1",
        "members": list(members),
        "messages": [f"m{i}" for i in range(1, messages + 1)],
    }
    parts = {"federation": {}, "joining": {}, "scrollback": {}}
    if name == "hs1":
        parts["rooms"] = {"genesis": [genesis]}
    hs = Homeserver(name, parts, SWITCHES)
    state = hs.initial_state()
    hs.on_start(Ctx(), state)
    return hs, state


def act(hs, state, device, user, streams=False, **action) -> list[tuple[str, dict]]:
    """What the server sends on a device's action (stream batches only if asked)."""
    ctx = Ctx()
    aid = action.pop("aid", 0)
    msg = {"type": action.pop("op"), "aid": aid, "whoami": user, "out_of_order": False, **action}
    hs.on_message(ctx, state, device, msg)
    return [(d, m) for d, m in ctx.sent if streams or m["type"] != "stream"]


def deliver(hs, state, src, msg) -> list[tuple[str, dict]]:
    ctx = Ctx()
    hs.on_message(ctx, state, src, msg)
    return ctx.sent


def bodies(events) -> list[str]:
    return [ev["content"]["body"] for ev in events if ev["type"] == "m.room.message"]


def test_scrollback_pages_back_to_the_start_with_tokens():
    hs, st = server("hs1", messages=5)
    [(_, first)] = act(hs, st, "a", "@alice:hs1", op="scrollback", room=ROOM, limit=2)
    assert bodies(first["chunk"]) == ["m5", "m4"]  # newest first
    assert first["more_local"] and not first["more_remote"]
    sent = act(
        hs, st, "a", "@alice:hs1", op="scrollback", room=ROOM, limit=10, **{"from": first["token"]}
    )
    second = sent[0][1]
    assert bodies(second["chunk"]) == ["m3", "m2", "m1"]
    assert second["token"] == [] and not second["more_local"] and not second["more_remote"]


def test_scrollback_of_state_events_carries_what_the_old_value_was():
    hs, st = server("hs1")
    for topic in ("old", "new"):
        act(
            hs,
            st,
            "a",
            "@alice:hs1",
            op="send_state",
            room=ROOM,
            event_type="m.room.topic",
            state_key="",
            content={"topic": topic},
        )
    [(_, res)] = act(
        hs, st, "a", "@alice:hs1", op="scrollback", room=ROOM, limit=2, types=["m.room.topic"]
    )
    assert [ev["content"]["topic"] for ev in res["chunk"]] == ["new", "old"]
    assert res["chunk"][0]["prev_content"] == {"topic": "old"}
    assert "prev_content" not in res["chunk"][1]


def _remote_join(messages: int):
    hs1, s1 = server("hs1", messages=messages)
    hs2, s2 = server("hs2")
    [(dst, make_join)] = act(hs2, s2, "carol", "@carol:hs2", op="join", room=ROOM, via=["hs1"])
    assert dst == "hs1" and make_join["type"] == "fed.make_join"
    [(_, join_state)] = deliver(hs1, s1, "hs2", make_join)
    out = deliver(hs2, s2, "hs1", join_state)
    for dst, msg in out:  # the join event reaches hs1
        if dst == "hs1":
            deliver(hs1, s1, "hs2", msg)
    return hs1, s1, hs2, s2, join_state


def test_a_server_joining_remotely_gets_state_and_recent_history_only():
    hs1, s1, hs2, s2, join_state = _remote_join(messages=6)
    store = s2["rooms"]["stores"][ROOM]
    assert R.membership(store, "@carol:hs2") == "join"
    # The current state and its auth chain are there, the older messages are not.
    assert len(join_state["after"]) <= JOIN_HISTORY + 1
    placed = [e for e in store["after"] if "state_key" not in store["events"][e]]
    assert len(placed) == JOIN_HISTORY
    assert store["current"] == s1["rooms"]["stores"][ROOM]["current"]


def test_scrollback_backfills_over_federation_when_the_local_history_ends():
    hs1, s1, hs2, s2, _ = _remote_join(messages=6)
    local = act(hs2, s2, "carol", "@carol:hs2", op="scrollback", room=ROOM, limit=10)
    assert bodies(local[0][1]["chunk"]) == ["m6", "m5", "m4", "m3"]
    assert local[0][1]["more_remote"] and not local[0][1]["more_local"]
    [(dst, ask)] = act(
        hs2, s2, "carol", "@carol:hs2", op="scrollback", room=ROOM, limit=10, backfill=True, aid=1
    )
    assert dst == "hs1" and ask["type"] == "fed.backfill"
    [(_, history)] = deliver(hs1, s1, "hs2", ask)
    [(dst, res)] = deliver(hs2, s2, "hs1", history)
    assert dst == "carol" and res["aid"] == 1
    assert bodies(res["chunk"]) == ["m6", "m5", "m4", "m3", "m2", "m1"]
    assert not res["more_remote"] and res["token"] == []
    assert s2["scrollback"]["backfilled"] is True


def test_context_returns_messages_around_an_event_with_tokens_and_state():
    hs, st = server("hs1", messages=6)
    target = "$genesis.8.!r:hs1"  # m4: four initial state events come first
    [(_, res)] = act(hs, st, "a", "@alice:hs1", op="context", event_id=target, before=2, after=1)
    assert bodies(res["chunk"]) == ["m2", "m3", "m4", "m5"]
    assert res["end"] == res["chunk"][-1]["event_id"]
    assert res["start"] == [[5, "$genesis.5.!r:hs1"]]
    assert {ev["type"] for ev in res["state"]} >= {"m.room.create", "m.room.member"}


def test_join_with_a_filter_answers_in_the_response_instead_of_the_stream():
    hs1, s1 = server("hs1", messages=3)
    for dev in ("bob1", "bob2"):
        deliver(hs1, s1, dev, {"type": "register", "user": "@bob:hs1", "out_of_order": False})
    sent = act(hs1, s1, "bob1", "@bob:hs1", op="join", room=ROOM, filter={"limit": 2}, streams=True)
    results = [m for d, m in sent if d == "bob1" and m["type"] == "joined"]
    streams = {d: m for d, m in sent if m["type"] == "stream"}
    [result] = results
    types = [e["event"]["type"] for e in result["events"]]
    assert types[0] == "m.server.joined" and result["events"][0]["event"]["token"]
    assert bodies(e["event"] for e in result["events"]) == ["m2", "m3"]
    assert "bob1" not in streams  # nothing of the join comes down bob1's stream
    # bob2 learns of the room through the stream, from the server-generated event.
    other = [e["event"] for e in streams["bob2"]["events"]]
    assert other[0]["type"] == "m.server.joined" and other[0]["token"] == []  # all shown
    assert bodies(other) == ["m1", "m2", "m3"]


def test_device_applies_a_join_response_at_its_stream_position():
    dev = Device("bob1", {"server": "hs1", "user": "@bob:hs1"}, SWITCHES)
    state = dev.initial_state()
    joined = {"room": ROOM, "event": {"type": "m.server.joined", "room_id": ROOM, "token": []}}
    topic = {"type": "m.room.topic", "state_key": "", "event_id": "$t", "content": {}}
    ctx = Ctx()
    # The stream's next batch overtakes the join response: it waits its turn.
    dev.on_message(
        ctx, state, "hs1", {"type": "stream", "pos": 2, "events": [{"room": ROOM, "event": topic}]}
    )
    assert state["stream"]["view"] == {}
    dev.on_message(
        ctx,
        state,
        "hs1",
        {
            "type": "joined",
            "aid": 0,
            "ok": True,
            "event_id": "$j",
            "pos": 1,
            "events": [joined],
            "room": ROOM,
        },
    )
    assert state["stream"]["joined"] == {ROOM: 1}
    assert state["stream"]["view"][ROOM] == {"m.room.topic\x1f": "$t"}
    assert state["requests"]["results"] == {"0": True}


def test_bundled_scrollback_scenario_holds_in_run_and_check():
    loaded = load_scenario("scrollback")
    result = TimedRun(loaded.system(), loaded.scenario.run.seed, 5_000_000).run()
    assert result.verdicts["scrollback"] == "holds"
    assert result.verdicts["backfill"] == "reached"
    assert result.verdicts["out_of_order_shown"] == "reached"
    report = Explorer(loaded.system()).bfs()
    assert report.complete and report.verdict == "holds", report.verdicts
