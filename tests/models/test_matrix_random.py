"""random-clients on the matrix model: each device's random steps are drawn
from its seeded stream (device part ``random``), the same for the same seed;
the check and random walks hold, each guard is false until its race happens
and its witness shows that race; and the gaps the migration closed stay
closed (a leave reaches the leaving user's devices, a re-join sends only
what the device missed, an empty scrollback token is the room's start)."""

from __future__ import annotations

import functools
import json

import pytest
from test_matrix_history import act, bodies, server
from test_matrix_sessions import RACES
from witness import check, initially, records, system, turns_true

from mxsim.experiments.cli import main
from mxsim.experiments.jobs import load_scenario
from mxsim.models.device import Device
from mxsim.models.device.random_steps import draw
from mxsim.models.registry import bundled
from mxsim.sim.explore import Explorer
from mxsim.sim.node import ConfigError

NAME = "random-clients"
#: The bound within which the bundled check reaches every guard.
BOUND = 20000


@functools.cache
def _checked():
    return check(NAME, max_states=BOUND)


def _run(capsys, tmp_path, scenario: str = NAME, tuned: bool = True) -> tuple[str, list]:
    """``mxsim run``: its trace hash and what the devices sent on their
    ``random:step`` timers, in order. The bundled seed is tuned so the run
    shows every race it names (exit 0); another seed need only violate nothing."""
    trace = tmp_path / "run.jsonl"
    with pytest.raises(SystemExit) as exit_info:
        main(["run", scenario, "--json", "--trace", str(trace)])
    out, _ = capsys.readouterr()
    report = json.loads(out)
    if tuned:
        assert exit_info.value.code == 0, out
        assert set(report["properties"].values()) <= {"holds", "reached"}
    else:
        assert "violated" not in report["properties"].values(), out
    steps = []
    for line in trace.read_text().splitlines():
        rec = json.loads(line)
        if rec.get("act") == "timer" and rec.get("timer") == "random:step":
            sends = rec.get("effects", {}).get("send", [])
            steps.append([rec["node"], [m for _, m in sends]])
    return report["trace_hash"], steps


# -- the random part ----------------------------------------------------------------------


def test_draw_is_a_function_of_seed_device_and_step():
    assert draw(1, "alice1", 3, "op") == draw(1, "alice1", 3, "op")
    assert draw(1, "alice1", 3, "op") != draw(2, "alice1", 3, "op")
    assert draw(1, "alice1", 3, "op") != draw(1, "alice2", 3, "op")


def _device(**random) -> tuple[Device, dict]:
    config = {"server": "hs", "user": "@alice:hs", "sessions": {}, "presence": {}, "echo": {}}
    dev = Device("a1", {**config, "random": {"rooms": ["!r:hs"], **random}}, {})
    return dev, dev.initial_state()


def test_a_step_follows_the_device_state():
    dev, state = _device(seed=7, ops=["typing"])
    steps = dev.part("random")
    assert steps.step(state) == {"op": "typing", "room": "!r:hs", "typing": True}
    state["presence"]["wants"]["typing"] = ["!r:hs"]
    assert steps.step(state)["typing"] is False


def test_steps_draw_every_op_they_are_given():
    dev, state = _device(seed=3, ops=["send", "leave", "state", "scrollback", "presence"])
    steps, seen = dev.part("random"), {}
    for k in range(40):
        state["random"]["steps"] = k
        inp = steps.step(state)
        seen[inp["op"]] = inp
    assert set(seen) == {"send", "leave", "send_state", "scrollback", "presence"}
    assert seen["send_state"]["event_type"] == "m.room.topic"
    assert seen["scrollback"]["limit"] >= 1


@pytest.mark.parametrize(
    ("random", "field"),
    [
        ({"random_steps": -1}, "random_steps"),
        ({"random_steps": 2, "random_every_ms": 0}, "random_every_ms"),
        ({"seed": "x"}, "seed"),
        ({"ops": ["dance"]}, "ops"),
        ({"random_steps": 2, "rooms": []}, "rooms"),
    ],
)
def test_bad_random_config_names_the_field(random, field):
    from mxsim.models.device.random_steps import RandomSteps

    config = {"rooms": ["!r:hs"], **random}
    with pytest.raises(ConfigError) as info:
        RandomSteps.check_config(config, {"server": "hs", "random": config}, ("hs",))
    assert info.value.field == field


# -- the bundled scenario -----------------------------------------------------------------


def test_same_seed_same_trace_and_steps(capsys, tmp_path):
    first = _run(capsys, tmp_path)
    assert len(first[1]) == 18  # 3 devices x 6 random steps
    assert _run(capsys, tmp_path) == first


def test_a_different_seed_config_draws_different_steps(capsys, tmp_path):
    base = _run(capsys, tmp_path)
    text = bundled()[NAME].read_text()
    assert text.count("seed = 12, rooms") == 3
    other_file = tmp_path / "random-clients-seed2.toml"
    other_file.write_text(text.replace("seed = 12, rooms", "seed = 2, rooms"))
    other = _run(capsys, tmp_path, str(other_file), tuned=False)
    assert other[0] != base[0]
    assert [m for _, m in other[1]] != [m for _, m in base[1]]


def test_random_walks_hold_and_reach_every_guard():
    loaded = load_scenario(NAME)
    assert loaded.scenario.model == "matrix"
    report = Explorer(loaded.system()).walks(walks=60, seed=0)
    assert "violated" not in report.verdicts.values(), report.verdicts
    guards = [
        p
        for p in loaded.scenario.properties
        if loaded.system().model.property(p).kind == "sometimes"
    ]
    assert {g: report.verdicts[g] for g in guards} == dict.fromkeys(guards, "reached")


def _guards() -> list[str]:
    sys_ = system(NAME)
    return [p for p in sys_.scenario.properties if sys_.model.property(p).kind == "sometimes"]


def test_the_bounded_check_violates_nothing_and_reaches_every_guard():
    verdicts = _checked().report.verdicts
    assert "violated" not in verdicts.values(), verdicts
    assert {g: verdicts[g] for g in _guards()} == dict.fromkeys(_guards(), "reached")


def test_guards_are_false_in_the_initial_world():
    sys_ = system(NAME)
    assert [g for g in _guards() if initially(sys_, g)] == []


def _stream_events(step: dict) -> list[dict]:
    return list(step["msg"].get("events", []))


def _own_membership(steps, membership: str) -> tuple[str, list[dict]]:
    """The last step is a stream batch to a device; its user's own ``membership``
    entries in it (the device, the entries)."""
    last = steps[-1]
    dev = last["node"]
    assert last["act"] == "deliver" and last["msg"]["type"] == "stream"
    user = "@alice:hs" if dev.startswith("alice") else "@bob:hs"
    return dev, [
        e
        for e in _stream_events(last)
        if e["event"]["type"] == "m.room.member"
        and e["event"].get("state_key") == user
        and e["event"]["content"]["membership"] == membership
    ]


def _left_room(steps):
    _, entries = _own_membership(steps, "leave")
    leaves = [e["event"] for e in entries]
    assert leaves, "the device is told its user left"
    # A device of the user asked to leave that room.
    asked = [s for s in steps if s["act"] == "deliver" and s["msg"].get("type") == "leave"]
    assert any(s["msg"]["room"] == leaves[0]["room_id"] for s in asked)


def _scrolled_back(steps):
    last = steps[-1]
    assert last["act"] == "deliver" and last["msg"]["type"] == "chunk"
    dev = last["node"]
    messages = [ev for ev in last["msg"]["chunk"] if "state_key" not in ev]
    assert messages, "the page brings messages"
    # None of them had come down the device's stream before.
    streamed = {
        e["event"].get("event_id")
        for s in steps[:-1]
        if s["act"] == "deliver" and s["node"] == dev and s["msg"].get("type") == "stream"
        for e in s["msg"]["events"]
    }
    assert any(ev["event_id"] not in streamed for ev in messages)


def _state_echo_placed(steps):
    last = steps[-1]
    dev = last["node"]
    assert last["act"] == "deliver" and last["msg"]["type"] == "stream"
    state = [e for e in _stream_events(last) if "state_key" in e["event"]]
    answered = {
        s["msg"].get("event_id")
        for s in steps[:-1]
        if s["act"] == "deliver" and s["node"] == dev and s["msg"].get("type") == "result"
    }
    # The device's own state change: its action ID, or the event its answer named.
    assert any("action_id" in e or e["event"]["event_id"] in answered for e in state)
    asked = {"join", "leave", "send_state"}
    assert any(s["src"] == dev and s["msg"].get("type") in asked for s in steps if "src" in s)


def _joined_elsewhere(steps):
    dev, entries = _own_membership(steps, "join")
    joins = [e for e in entries if not e["event"]["event_id"].startswith("$genesis.")]
    assert joins and "action_id" not in joins[0]
    # Another device of the user asked for that join (a random step).
    asked = [s for s in steps if s["act"] == "deliver" and s["msg"].get("type") == "join"]
    assert asked and all(s["src"] != dev and s["src"].startswith(dev[:-1]) for s in asked)


WITNESSES = {
    **RACES,
    "left_room": _left_room,
    "scrolled_back": _scrolled_back,
    "state_echo_placed": _state_echo_placed,
    "joined_elsewhere": _joined_elsewhere,
}


@pytest.mark.parametrize("guard", _guards())
def test_bundled_witness_shows_the_race(guard):
    checked = _checked()
    actions = checked.report.witnesses[guard]
    assert turns_true(checked.system, guard, actions) == len(actions) - 1
    WITNESSES[guard](records(checked.system, actions))


def _ops_without(*ops):
    def edit(raw):
        for n in raw["nodes"]:
            r = n["config"].get("random")
            if r is not None:
                r["ops"] = [o for o in r["ops"] if o not in ops]

    return edit


def _no_persist(raw):
    for n in raw["nodes"]:
        if "scrollback" in n["config"]:
            n["config"]["scrollback"] = {}


@pytest.mark.parametrize(
    ("edit", "guards"),
    [
        (_ops_without("leave"), ["left_room"]),
        (_no_persist, ["scrolled_back"]),
        (_ops_without("join", "leave", "state"), ["state_echo_placed", "left_room"]),
        (_ops_without("typing"), ["typing_seen"]),
    ],
)
def test_a_guard_is_not_reached_where_its_race_cannot_happen(edit, guards):
    """Within the same bound that reaches it in the bundled scenario."""
    checked = check(NAME, edit=edit, max_states=BOUND)
    got = {g: checked.report.verdicts[g] for g in guards}
    assert "reached" not in got.values(), got


# -- the gaps the migration closed ---------------------------------------------------------


def test_an_empty_scrollback_token_is_the_rooms_start_not_its_newest_events():
    hs, st = server("hs1", messages=3)
    [(_, page)] = act(hs, st, "a", "@alice:hs1", op="scrollback", room="!r:hs1", limit=2)
    assert bodies(page["chunk"]) == ["m3", "m2"]
    [(_, start)] = act(
        hs, st, "a", "@alice:hs1", op="scrollback", room="!r:hs1", limit=2, **{"from": []}
    )
    assert start["chunk"] == [] and not start["more_local"]
