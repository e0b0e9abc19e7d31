"""Random workload steps of client devices: drawn from each device's seeded
stream, the same for the same seed, and checked like scripted ones."""

from __future__ import annotations

import json

import pytest

from mxsim.experiments.cli import main
from mxsim.experiments.jobs import load_scenario
from mxsim.models.clientapi.device import Device, draw
from mxsim.sim.explore import Explorer
from mxsim.sim.node import ConfigError


def _run(
    capsys, tmp_path, scenario: str = "random-clients", tuned: bool = True
) -> tuple[str, list]:
    """``mxsim run random-clients``: its trace hash and the requests the devices
    made on their ``step`` timers, in order. The bundled seed is tuned so the run
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
        if rec.get("act") == "timer" and rec.get("timer") == "step":
            sends = rec.get("effects", {}).get("send", [])
            steps.append([rec["node"], [m for _, m in sends]])
    return report["trace_hash"], steps


def test_draw_is_a_function_of_seed_device_and_step():
    assert draw(1, "alice1", 3, "op") == draw(1, "alice1", 3, "op")
    assert draw(1, "alice1", 3, "op") != draw(2, "alice1", 3, "op")
    assert draw(1, "alice1", 3, "op") != draw(1, "alice2", 3, "op")


def test_random_input_follows_the_device_state():
    dev = Device("a1", {"seed": 7, "rooms": ["!r:hs"], "ops": ["typing"]}, {})
    state = {"steps": 0, "wants": {"presence": None, "typing": []}}
    assert dev.random_input(state) == {"op": "typing", "room": "!r:hs", "typing": True}
    state["wants"]["typing"] = ["!r:hs"]
    assert dev.random_input(state)["typing"] is False
    seen = set()
    dev = Device("a1", {"seed": 7, "rooms": ["!r:hs"]}, {})
    for k in range(40):
        state["steps"] = k
        seen.add(dev.random_input(state)["op"])
    assert seen == {"send", "join", "typing", "presence", "sync"}


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"random_steps": -1}, "random_steps"),
        ({"random_steps": 2, "random_every_ms": 0, "rooms": ["!r"]}, "random_every_ms"),
        ({"seed": "x"}, "seed"),
        ({"ops": ["dance"]}, "ops"),
        ({"random_steps": 2}, "rooms"),
        ({"poll_ms": -5}, "poll_ms"),
    ],
)
def test_bad_random_config_names_the_field(config, field):
    with pytest.raises(ConfigError) as info:
        Device.check_config({"server": "hs", "user": "@a:hs", **config}, ("hs",))
    assert info.value.field == field


def test_same_seed_same_trace_and_steps(capsys, tmp_path):
    first = _run(capsys, tmp_path)
    assert len(first[1]) == 18  # 3 devices x 6 random steps
    assert _run(capsys, tmp_path) == first
    # (tests/sim/test_trace.py runs it under several PYTHONHASHSEEDs, too)


def test_a_different_seed_config_draws_different_steps(capsys, tmp_path):
    from mxsim.models.registry import bundled

    base = _run(capsys, tmp_path)
    text = bundled()["random-clients"].read_text()
    assert text.count("seed = 12, rooms") == 3
    other_file = tmp_path / "random-clients-seed2.toml"
    other_file.write_text(text.replace("seed = 12, rooms", "seed = 2, rooms"))
    other = _run(capsys, tmp_path, str(other_file), tuned=False)
    assert other[0] != base[0]
    assert [m for _, m in other[1]] != [m for _, m in base[1]]


def test_random_walks_hold():
    loaded = load_scenario("random-clients")
    report = Explorer(loaded.system()).walks(walks=60, seed=0)
    assert "violated" not in report.verdicts.values(), report.verdicts
    assert report.verdicts["typing_seen"] == "reached"
    assert report.verdicts["left_room"] == "reached"
    assert report.verdicts["scrolled_back"] == "reached"
    assert report.verdicts["state_echo_placed"] == "reached"


def test_random_steps_draw_leave_state_and_scrollback():
    dev = Device("a1", {"seed": 3, "rooms": ["!r:hs"], "ops": ["leave", "state", "scrollback"]}, {})
    state = {"steps": 0, "wants": {"presence": None, "typing": []}}
    seen = {}
    for k in range(30):
        state["steps"] = k
        inp = dev.random_input(state)
        seen[inp["op"]] = inp
        Device.check_input(inp)
    assert set(seen) == {"leave", "send_state", "scrollback"}
    assert seen["send_state"]["event_type"] == "m.room.topic"
    assert seen["scrollback"]["limit"] >= 1
