"""join-outputs: what a join returns besides the room's events (issue 11; proposal,
"Joining a room", Outputs: "member list (f.e. member: user ID, avatar, presence,
display name, power level, whether they are typing), enough messages to fill
screen (and whether there are more)").

Carol joins (limit 2 of 3 messages) while Alice starts typing, stops and goes
busy. At the join's stream position (``join_snapshot=at_token``) the answer
agrees with the server and what changes later follows in the stream; a
snapshot from before (``stale``) loses a change for good.

Mutations tried: ``join_snapshot`` defaulting to ``stale`` (10 tests fail);
``more`` always false (join_output_agrees violated, 8 fail); the device
ignoring ``m.typing`` after its join (joiner_view_current violated, 6 fail);
the guard counting a change in any batch after the answer, not only the first
(1 fails); the device taking a batch's members before its events (the guard
turns vacuous, 3 fail)."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from witness import check, cli, drive, holds, initially, records, system, turns_true

from mxsim.experiments.jobs import load_scenario
from mxsim.models.explain import Moment, explain
from mxsim.models.registry import bundled
from mxsim.sim.scenario import ScenarioError
from mxsim.sim.timed import TimedRun

NAME = "join-outputs"
GUARD = "changed_during_join"


@functools.cache
def _checked(*sets: str):
    return check(NAME, *sets)


def _timed(seed: int = 1, *sets: str, edit=None):
    sys_ = system(NAME, *sets, edit=edit)
    runner = TimedRun(sys_, seed, sys_.scenario.run.until)
    result = runner.run()
    return result, dict(zip(sys_.names, runner.states, strict=True))


def _found(report) -> dict[str, list]:
    return {c.property: c.actions for c in report.counterexamples}


def test_the_check_is_complete_holds_and_reaches_the_guard():
    report = _checked().report
    assert report.complete and report.verdict == "holds", report.verdicts
    assert report.verdicts[GUARD] == "reached"


def test_the_answer_lists_presence_typing_power_and_names_and_more():
    result, states = _timed()
    assert result.quiescent and set(result.verdicts.values()) <= {"holds", "reached"}
    (out,) = states["carol1"]["members"]["outputs"].values()
    assert out["more"] is True  # 3 messages, limit 2
    alice, bob = out["members"]["@alice:hs"], out["members"]["@bob:hs"]
    assert (alice["power"], alice["name"]) == (100, None)
    assert (bob["power"], bob["name"], bob["presence"], bob["typing"]) == (
        50,
        "Bob",
        "offline",
        False,
    )
    view = states["carol1"]["members"]["rooms"]["!r:hs"]
    assert view["@alice:hs"]["presence"] == "busy" and not view["@alice:hs"]["typing"]


@pytest.mark.parametrize("limit, more", [(2, True), (3, False), (5, False)])
def test_more_says_whether_messages_were_cut(limit, more):
    def limited(raw):
        raw["workload"][1]["input"]["filter"]["limit"] = limit

    result, states = _timed(edit=limited)
    (out,) = states["carol1"]["members"]["outputs"].values()
    assert out["more"] is more
    assert result.verdicts["join_output_agrees"] == "holds"


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_timed_runs_hold(seed):
    result, _ = _timed(seed)
    assert result.quiescent
    assert set(result.verdicts.values()) <= {"holds", "reached", "vacuous"}, result.verdicts


def test_a_stale_snapshot_loses_a_change_for_good():
    checked = _checked("join_snapshot=stale")
    report = checked.report
    assert report.complete
    assert report.verdicts["join_output_agrees"] == "violated"
    assert report.verdicts["joiner_view_current"] == "violated"
    found = _found(report)
    assert len(found["join_output_agrees"]) == 5
    assert len(found["joiner_view_current"]) == 13
    world, _ = checked.system.initial()
    for action in found["joiner_view_current"]:
        world, _ = checked.system.apply(world, action)
    view = checked.system.view(world)
    assert view.state("hs")["presence"]["users"]["@alice:hs"]["presence"] == "busy"
    assert view.state("carol1")["members"]["rooms"]["!r:hs"]["@alice:hs"]["presence"] == "offline"
    text = explain("joiner_view_current", Moment(None, view, None))
    assert "@alice:hs's presence 'offline' where the server has 'busy'" in text, text


def test_the_guard_is_false_initially_and_when_every_change_precedes_the_join():
    sys_ = system(NAME)
    assert not initially(sys_, GUARD)
    # Alice's three requests are answered before Carol's join reaches the server.
    moves = [("input", 0), ("deliver", "hs", "alice1"), ("deliver", "alice1", "hs")]
    moves += [("input", 1), ("input", 2), ("deliver", "hs", "alice1")]
    moves += [("deliver", "alice1", "hs"), ("input", 3), ("deliver", "hs", "alice1")]
    moves += [("deliver", "hs", "carol1"), ("deliver", "carol1", "hs")]
    world, _ = drive(sys_, moves)
    while True:
        moves = [a for a in sys_.enabled(world) if a[0] == "deliver"]
        if not moves:
            break
        world, _ = sys_.apply(world, moves[0])
    assert not holds(sys_, GUARD, world)
    assert holds(sys_, "joiner_view_current", world)


def test_the_witness_is_a_change_that_lands_after_the_join():
    checked = _checked()
    sys_, actions = checked.system, checked.report.witnesses[GUARD]
    assert turns_true(sys_, GUARD, actions) == len(actions) - 1
    steps = records(sys_, actions)
    at_hs = [
        (s["src"], s["msg"]["type"]) for s in steps if s["act"] == "deliver" and s["node"] == "hs"
    ]
    join = at_hs.index(("carol1", "join"))
    assert any(src == "alice1" for src, _ in at_hs[join + 1 :])  # a change after the join
    last = steps[-1]
    assert last["node"] == "carol1" and last["msg"]["type"] == "stream"
    kinds = {e["event"]["type"] for e in last["msg"]["events"]}
    assert kinds & {"m.typing", "m.presence"}
    delivered = [s for s in steps if s["act"] == "deliver" and s["node"] == "carol1"]
    answered = next(s for s in delivered if s["msg"]["type"] == "joined")
    assert last["msg"]["pos"] == answered["msg"]["pos"] + 1  # the first batch after it


def test_runs_give_the_same_bytes_under_any_hash_seed():
    for sets in ([], ["--set", "join_snapshot=stale"]):
        outputs = set()
        for seed in ("0", "7"):
            done = cli("run", NAME, "--json", *sets, hash_seed=seed)
            assert done.returncode in (0, 1) and b"trace_hash" in done.stdout, done.stderr
            outputs.add(done.stdout)
        assert len(outputs) == 1, sets


def test_only_the_first_batch_after_the_answer_counts_as_racing_the_join():
    sys_ = system(NAME)
    carol = sys_.nodes[sys_.index["carol1"]]
    members, state = carol.part("members"), carol.initial_state()
    listed = {"@alice:hs": {"presence": "online", "typing": True, "power": 100, "name": None}}
    typing = {"room": "!r:hs", "event": {"type": "m.typing", "room_id": "!r:hs", "users": []}}
    members.took(state, "!r:hs", listed)
    members.batch_done(state)  # a first batch that changed nobody
    members.applied(state, typing)
    assert not state["members"]["seen"][GUARD]
    assert not state["members"]["rooms"]["!r:hs"]["@alice:hs"]["typing"]
    members.took(state, "!r:hs", listed)
    members.applied(state, typing)  # in the first batch: it raced the join
    assert state["members"]["seen"][GUARD]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('"@bob:hs" = "Bob"', '"@bob:hs" = 5', "genesis[0].names: expected a table of user -> str"),
        ('"@bob:hs" = 50', '"@bob:hs" = true', "genesis[0].power: expected a table of user -> int"),
    ],
)
def test_a_bad_genesis_table_is_one_line_naming_it(tmp_path, old, new, message):
    text = bundled()[NAME].read_text()
    assert old in text
    path = Path(tmp_path) / "bad.toml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ScenarioError) as e:
        load_scenario(str(path))
    assert message in str(e.value) and "\n" not in str(e.value)
