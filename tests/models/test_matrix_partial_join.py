"""partial-join: a remote join answered with partial state ("Joining a room";
today's faster joins, MSC3706 / MSC3902). Carol on hs2 joins through hs1 and
is handed the room without Bob's membership; Bob welcomes her at once. With
``partial_state_join=resync`` hs2 asks for the rest (``fed.get_state``), holds
Bob's message while its state lacks him and judges it once the state is
complete; with ``trust`` it rejects the message and never shows Bob.

Mutations tried: ``partial_state_join=trust`` (timelines_agree,
state_consistency, members_complete, partial_state_resolved violated, 17
steps); the held events dropped instead of judged again after the state
came (timelines_agree violated); the partial mark kept after the state came
(partial_state_resolved violated); the resident's answer left untrimmed
(guard vacuous: nobody is missing); the hold removed from ``resync``
(timelines_agree violated: Bob's message rejected); the devices not told
the members the state lacked (members_complete, state_consistency violated);
in partial-join-servers, the servers the answer named not sent to
(state_consistency, members_complete violated, 15 steps); the partial mark
not durable, or not asked again on restart (the restart test fails).
"""

from __future__ import annotations

import functools

import pytest
from witness import check, drive, holds, initially, records, system, turns_true

from mxsim.experiments.jobs import load_scenario
from mxsim.models.explain import Moment, explain
from mxsim.models.homeserver.partial_state import PartialState, omitted, partial_payload
from mxsim.models.room import SEP
from mxsim.sim.timed import TimedRun

NAME = "partial-join"
GUARD = "event_during_partial_state"
ROOM = "!r:hs1"
EVENTUAL = ("timelines_agree", "state_consistency", "partial_state_resolved", "members_complete")


@functools.cache
def _checked(*sets: str):
    return check(NAME, *sets)


def _run(*sets: str):
    loaded = load_scenario(NAME, sets)
    run = loaded.scenario.run
    return TimedRun(loaded.system(), run.seed, run.until).run()


def _final(checked, prop: str):
    actions = next(c.actions for c in checked.report.counterexamples if c.property == prop)
    world, _ = checked.system.initial()
    for action in actions:
        world, _ = checked.system.apply(world, action)
    return actions, checked.system.view(world)


def _settle(sys_, world):
    """Deliver whatever is in flight, the first enabled delivery each time."""
    while True:
        moves = [a for a in sys_.enabled(world) if a[0] in ("deliver", "input")]
        if not moves:
            return world
        world, _ = sys_.apply(world, moves[0])


def _type(name):
    return lambda msg: msg["type"] == name


JOIN = [
    ("input", 0),  # Bob will welcome Carol
    ("input", 1),  # Carol joins
    ("deliver", "hs2", "carol1", _type("join")),
    ("deliver", "hs1", "hs2", _type("fed.make_join")),
    ("deliver", "hs2", "hs1", _type("fed.join_state")),
]


def test_resync_is_complete_holds_and_reaches_the_guard():
    report = _checked().report
    assert report.complete and report.verdict == "holds", report.verdicts
    assert report.verdicts[GUARD] == "reached"


def test_trusting_the_partial_state_rejects_bob_and_never_heals():
    checked = _checked("partial_state_join=trust")
    report = checked.report
    assert report.complete and report.verdicts[GUARD] == "reached"
    for prop in EVENTUAL:
        assert report.verdicts[prop] == "violated", (prop, report.verdicts)
    actions, view = _final(checked, "timelines_agree")
    assert len(actions) == 17
    store = view.state("hs2")["rooms"]["stores"][ROOM]
    welcome = [e for e, ev in store["events"].items() if ev["content"].get("body") == "welcome"]
    assert welcome and welcome[0] in store["rejected"]  # "not joined": Bob is not in its state
    assert f"m.room.member{SEP}@bob:hs1" not in view.state("carol1")["stream"]["view"][ROOM]


def test_a_full_state_join_holds_and_nothing_is_ever_partial():
    report = _checked("partial_state_join=off").report
    assert report.complete
    assert all(report.verdicts[p] == "holds" for p in EVENTUAL), report.verdicts
    assert report.verdicts[GUARD] == "vacuous"  # nobody is missing from a full state


def test_the_explanations_name_the_missing_member():
    checked = _checked("partial_state_join=trust")
    _, view = _final(checked, "members_complete")
    text = explain("members_complete", Moment(None, view, None))
    assert "without @bob:hs1" in text and "partial state" in text, text
    text = explain("partial_state_resolved", Moment(None, view, None))
    assert "hs2 still holds !r:hs1" in text and "never asked" in text, text


def test_the_join_answer_omits_bob_and_keeps_the_creator():
    sys_ = system(NAME)
    world, taken = drive(sys_, JOIN[:4])
    answer = records(sys_, taken)[-1]["sends"][0][1]
    assert answer["type"] == "fed.join_state" and answer["partial"]
    members = sorted(k for k in answer["current"] if k.startswith("m.room.member"))
    assert members == [f"m.room.member{SEP}@alice:hs1"]  # in the auth chain of the rest
    assert all(f"m.room.member{SEP}@bob:hs1" not in st for st in answer["after"].values())
    assert any(e["state_key"] == "@bob:hs1" for e in answer["events"] if "state_key" in e)
    store = sys_.view(world).state("hs1")["rooms"]["stores"][ROOM]
    assert f"m.room.member{SEP}@bob:hs1" in store["current"]  # the resident's own is whole


def test_omitted_keeps_the_joining_user_and_the_auth_chain():
    cur = {f"m.room.member{SEP}@a:x": "$1", f"m.room.member{SEP}@b:x": "$2"}
    cur[f"m.room.member{SEP}@c:y"] = "$3"
    assert omitted(cur, keep={"$1"}, user="@c:y") == [f"m.room.member{SEP}@b:x"]
    assert omitted(cur, keep={"$1", "$2"}, user="@d:y") == [f"m.room.member{SEP}@c:y"]


def test_the_guard_is_false_initially_and_when_the_state_comes_first():
    sys_ = system(NAME)
    assert not initially(sys_, GUARD)
    moves = [
        *JOIN,
        ("deliver", "hs1", "hs2", _type("fed.get_state")),
        ("deliver", "hs2", "hs1", _type("fed.state")),
    ]
    world, _ = drive(sys_, moves)
    world = _settle(sys_, world)
    assert not holds(sys_, GUARD, world)
    view = sys_.view(world)
    assert all(sys_.model.property(p).predicate(view) for p in EVENTUAL)


def test_the_witness_is_bobs_message_reaching_hs2_before_its_state():
    checked = _checked()
    sys_, actions = checked.system, checked.report.witnesses[GUARD]
    assert turns_true(sys_, GUARD, actions) == len(actions) - 1
    steps = records(sys_, actions)
    last = steps[-1]
    assert last["node"] == "hs2" and last["msg"]["type"] == "fed.event"
    assert last["msg"]["event"]["sender"] == "@bob:hs1"
    asked = [s for s in steps if any(m["type"] == "fed.get_state" for _, m in s["sends"])]
    assert asked  # hs2 asked for the rest ...
    answered = [s for s in steps if s.get("msg", {}).get("type") == "fed.state"]
    assert not answered  # ... and the answer had not come


def test_a_lost_state_question_is_asked_again():
    def edit(raw):
        raw["check"]["drops"] = 1

    sys_ = system(NAME, edit=edit)
    world, _ = drive(sys_, [*JOIN, ("drop", "hs1", "hs2", _type("fed.get_state"))])
    world = _settle(sys_, world)
    assert sys_.view(world).state("hs2")["partial_state"]["rooms"]  # still partial
    timers = [a for a in sys_.enabled(world) if a[0] == "timer"]
    assert [a[1:3] for a in timers] == [("hs2", "partial_state:resync:!r:hs1")]
    world, _ = sys_.apply(world, timers[0])
    world = _settle(sys_, world)
    view = sys_.view(world)
    assert all(sys_.model.property(p).predicate(view) for p in EVENTUAL)
    assert not [a for a in sys_.enabled(world) if a[0] == "timer"]  # cancelled


def test_the_timed_runs_resync_trust_and_off():
    result = _run()
    assert result.quiescent and result.verdicts[GUARD] == "reached"
    assert set(result.verdicts.values()) <= {"holds", "reached"}, result.verdicts
    trusted = _run("partial_state_join=trust").verdicts
    assert all(trusted[p] == "violated" for p in EVENTUAL), trusted
    full = _run("partial_state_join=off").verdicts
    assert all(full[p] == "holds" for p in EVENTUAL), full


# -- the fix is what holds: break it and the properties see it ---------------------


@pytest.fixture
def broken(monkeypatch):
    def breaking(how):
        original = PartialState.on_fed_state

        def on_fed_state(self, ctx, state, src, msg):
            mine = self.of(state)
            kept = dict(mine["rooms"])
            if how == "no_recheck":
                mine["held"] = []  # the held events are never judged again
            original(self, ctx, state, src, msg)
            if how == "keep_mark":
                mine["rooms"].update(kept)  # the room stays marked partial

        monkeypatch.setattr(PartialState, "on_fed_state", on_fed_state)
        return check(NAME).report

    return breaking


def test_dropping_the_held_events_loses_bobs_message(broken):
    report = broken("no_recheck")
    assert report.verdicts["timelines_agree"] == "violated", report.verdicts


def test_keeping_the_partial_mark_never_resolves(broken):
    report = broken("keep_mark")
    assert report.verdicts["partial_state_resolved"] == "violated", report.verdicts
    assert report.verdicts["members_complete"] == "holds"


def test_the_answer_carries_every_member_after_the_join():
    store = {
        "events": {
            "$1": {"event_id": "$1", "auth_events": []},
            "$2": {"event_id": "$2", "auth_events": ["$1"]},
            "$3": {"event_id": "$3", "auth_events": ["$1", "$2"]},
            "$5": {"event_id": "$5", "auth_events": ["$1", "$3"]},
        },
        "current": {
            f"m.room.create{SEP}": "$1",
            f"m.room.member{SEP}@a:x": "$2",
            f"m.room.power_levels{SEP}": "$3",
            f"m.room.member{SEP}@b:x": "$5",
        },
    }
    payload = {"after": {"$5": dict(store["current"])}, "current": store["current"]}
    out = partial_payload(store, payload, "@c:y")
    assert sorted(out["current"]) == sorted(k for k in store["current"] if "@b:x" not in k)
    assert f"m.room.member{SEP}@b:x" not in out["after"]["$5"]
    assert f"m.room.member{SEP}@b:x" in store["current"]  # the store is not changed


def test_the_run_and_the_counterexample_are_the_same_bytes_under_any_hash_seed(tmp_path):
    import os
    import subprocess
    import sys

    cmd = [sys.executable, "-c", "from mxsim.experiments.cli import main; main()"]
    outputs = set()
    for seed in ("0", "99"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run([*cmd, "run", NAME, "--json"], env=env, capture_output=True)
        trace = tmp_path / f"cex{seed}.jsonl"
        checked = [*cmd, "check", NAME, "--set", "partial_state_join=trust", "--trace", str(trace)]
        subprocess.run(checked, env=env, capture_output=True, cwd=tmp_path)
        outputs.add((run.stdout, trace.read_bytes()))
    assert len(outputs) == 1


# -- partial-join-servers: Bob on a third server ---------------------------------------

SERVERS = "partial-join-servers"


@functools.cache
def _servers_checked(*sets: str):
    return check(SERVERS, *sets)


def test_sending_to_the_servers_the_answer_named_holds():
    report = _servers_checked().report
    assert report.complete and report.verdict == "holds", report.verdicts
    steps = _servers_checked().witness(GUARD)
    assert steps[-1]["node"] == "hs2" and steps[-1]["src"] == "hs3"  # Bob's welcome, early


def test_the_partial_answer_names_every_server_in_the_room():
    sys_ = system(SERVERS)
    _, taken = drive(sys_, JOIN[:4])
    answer = records(sys_, taken)[-1]["sends"][0][1]
    members = sorted(k for k in answer["current"] if k.startswith("m.room.member"))
    assert members == [f"m.room.member{SEP}@alice:hs1"] and answer["servers"] == ["hs1", "hs3"]


def test_trusting_the_partial_state_sends_the_join_to_hs1_only():
    checked = _servers_checked("partial_state_join=trust")
    report = checked.report
    assert report.complete
    for prop in ("state_consistency", "members_complete", "partial_state_resolved"):
        assert report.verdicts[prop] == "violated", (prop, report.verdicts)
    actions, view = _final(checked, "members_complete")
    assert len(actions) == 12
    joined = [s for s in records(checked.system, actions) if s["node"] == "hs2"]
    sent = [d for s in joined for d, m in s["sends"] if m["type"] == "fed.event"]
    assert sent == ["hs1"]  # the partial state names no member on hs3
    store = view.state("hs3")["rooms"]["stores"][ROOM]
    assert f"m.room.member{SEP}@carol:hs2" not in store["current"]
    text = explain("members_complete", Moment(None, view, None))
    assert "@carol:hs2" in text, text


def test_forgetting_the_named_servers_leaves_hs3_behind(monkeypatch):
    monkeypatch.setattr(PartialState, "servers", lambda self, state, room_id: [])
    report = check(SERVERS).report
    assert report.verdicts["state_consistency"] == "violated", report.verdicts


def test_the_timed_runs_of_the_third_server():
    loaded = load_scenario(SERVERS, [])
    run = loaded.scenario.run
    result = TimedRun(loaded.system(), run.seed, run.until).run()
    assert result.quiescent and result.verdicts[GUARD] == "reached", result.verdicts
    assert set(result.verdicts.values()) <= {"holds", "reached"}, result.verdicts
    loaded = load_scenario(SERVERS, ["partial_state_join=trust"])
    trusted = TimedRun(loaded.system(), run.seed, run.until).run().verdicts
    assert trusted["state_consistency"] == "violated", trusted


def test_a_restart_keeps_the_partial_mark_and_asks_again():
    def edit(raw):
        raw["check"]["crashes"] = 1

    sys_ = system(NAME, edit=edit)
    world, _ = drive(sys_, [*JOIN, ("crash", "hs2")])
    world = _take(sys_, world, "restart", "hs2")
    state = sys_.view(world).state("hs2")["partial_state"]
    assert list(state["rooms"]) == [ROOM]  # durable: the room is still known to be partial
    asked = [m for _, dst, m in sys_.view(world).inflight() if m["type"] == "fed.get_state"]
    assert len(asked) == 2  # the one before the crash, and the one its restart sent


def _take(sys_, world, act, node):
    """Apply the first enabled ``act`` at ``node``."""
    found = next(a for a in sys_.enabled(world) if a[0] == act and a[1] == node)
    return sys_.apply(world, found)[0]
