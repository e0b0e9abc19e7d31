"""initial-sync: Bob's device opens its stream with a global initial sync ("Global
/initialSync API": state types ``m.room.name`` / ``m.room.topic``, ``limit`` 2)
while Carol leaves and Alice sets a topic. Each room's start must hold
"Requested state events, # members, max of limit= message events" as the room
was at the position the start was taken at.

Mutations tried (each made a test here fail, then was restored):
``member_count = all_memberships`` (initial_sync_member_count violated, 5 steps);
the server counting members in the current state of a later position
(``summary`` after the leave) would be the same; the server ignoring the
requested state types (initial_sync_state_types violated); the server ignoring
``limit`` (all three genesis messages: initial_sync_limit violated); the
``limited`` flag never set (initial_sync_limit violated)."""

from __future__ import annotations

import functools

import pytest
from witness import check, cli, drive, holds, initially, records, system, turns_true, view_after

from mxsim.experiments.jobs import load_scenario
from mxsim.models.explain import Moment, explain
from mxsim.models.homeserver import initial_sync_rooms
from mxsim.models.homeserver.stream import Stream
from mxsim.sim.timed import TimedRun

NAME = "initial-sync"
GUARD = "membership_changed_during_sync"
PROPS = ("initial_sync_state_types", "initial_sync_member_count", "initial_sync_limit")


@functools.cache
def _checked(*sets: str):
    return check(NAME, *sets)


def test_the_check_is_complete_holds_and_reaches_the_guard():
    report = _checked().report
    assert report.complete and report.verdict == "holds", report.verdicts
    assert report.verdicts[GUARD] == "reached"
    assert all(report.verdicts[p] == "holds" for p in PROPS)


def test_counting_every_membership_is_a_short_counterexample():
    checked = _checked("member_count=all_memberships")
    report = checked.report
    assert report.complete and report.verdicts["initial_sync_member_count"] == "violated"
    (found,) = [c for c in report.counterexamples if c.property == "initial_sync_member_count"]
    assert 4 <= len(found.actions) <= 8
    view = view_after(checked.system, found.actions)
    rec = view.state("bob1")["initial_sync"]["rooms"]["!r:hs"]
    assert rec["members"] == 3  # Alice, Bob and Carol, who left before the sync
    text = explain("initial_sync_member_count", Moment(None, view, None))
    assert "says 3 members" in text and "2 joined: @alice:hs, @bob:hs" in text, text


def test_the_guard_is_false_when_the_leave_comes_before_the_sync():
    sys_ = system(NAME)
    assert not initially(sys_, GUARD)
    # The workload's inputs come in order: Bob's sync, Alice's topic, Carol's leave.
    moves = [("input", 0), ("input", 1), ("input", 2), ("deliver", "hs", "bob1")]
    world, _ = drive(sys_, [*moves, ("deliver", "bob1", "hs")])
    view = sys_.view(world)
    rec = view.state("bob1")["initial_sync"]["rooms"]["!r:hs"]
    assert rec["members"] == 2 and not holds(sys_, GUARD, world)
    # The start holds the new topic, and only the requested types (no m.room.name is set).
    store = view.state("hs")["rooms"]["stores"]["!r:hs"]
    assert [store["events"][e]["type"] for e in rec["state"].values()] == ["m.room.topic"]
    bodies = [store["events"][e]["content"]["body"] for e in rec["messages"]]
    assert bodies == ["two", "three"] and rec["limited"]


def test_the_witness_is_a_leave_after_the_sync_was_taken():
    checked = _checked()
    sys_, actions = checked.system, checked.report.witnesses[GUARD]
    assert turns_true(sys_, GUARD, actions) == len(actions) - 1
    steps = records(sys_, actions)
    taken = next(i for i, r in enumerate(steps) if r.get("msg", {}).get("type") == "register")
    leave = next(i for i, r in enumerate(steps) if r["act"] == "input" and r["input"] == 2)
    applied = len(steps) - 1
    assert taken < leave  # the sync was taken before Carol left ...
    assert steps[applied]["node"] == "bob1"  # ... and applied after
    (_, delta), *_ = steps[leave]["sends"]
    assert delta["pos"] == 2 and "leave" in str(delta["events"])


def _wrapped(monkeypatch, **forced):
    real = Stream.register

    def register(self, state, device, user, ooo, limit=None, types=None, flt=None):
        args = {"limit": limit, "types": types} | forced
        real(self, state, device, user, ooo, args["limit"], args["types"], flt)

    monkeypatch.setattr(Stream, "register", register)


def test_ignoring_the_requested_state_types_is_caught(monkeypatch):
    _wrapped(monkeypatch, types=None)
    report = check(NAME).report
    assert report.verdicts["initial_sync_state_types"] == "violated"


def test_ignoring_the_limit_is_caught(monkeypatch):
    _wrapped(monkeypatch, limit=None)  # the server's default limit, 10
    report = check(NAME).report
    assert report.verdicts["initial_sync_limit"] == "violated"


def test_a_start_that_never_says_limited_is_caught(monkeypatch):
    monkeypatch.setattr(initial_sync_rooms, "older_messages", lambda store, token: False)
    checked = check(NAME)
    assert checked.report.verdicts["initial_sync_limit"] == "violated"
    found = checked.report.counterexamples[0].actions
    text = explain("initial_sync_limit", Moment(None, view_after(checked.system, found), None))
    assert "(limited: False)" in text and "(limited: True)" in text, text


def test_the_timed_run_holds_and_is_the_same_under_any_hash_seed():
    loaded = load_scenario(NAME)
    run = loaded.scenario.run
    result = TimedRun(loaded.system(), run.seed, run.until).run()
    assert result.quiescent and set(result.verdicts.values()) <= {"holds", "reached"}
    hashes = set()
    for seed in ("0", "7"):
        done = cli("run", NAME, "--json", hash_seed=seed)
        assert done.returncode == 0, done.stderr
        out = done.stdout
        hashes.add(out)
    assert len(hashes) == 1


def _with_initial_sync_parts(raw):
    """Every homeserver and device of a scenario also builds its ``initial_sync`` part."""
    for node in raw["nodes"]:
        node["config"]["initial_sync"] = {}
    raw["properties"]["check"] = list(PROPS)


@pytest.mark.parametrize("name", ["proposal-example", "relations"])
def test_the_properties_hold_in_other_scenarios_initial_syncs(name):
    # Bundles (a comment comes inside its message), a limit asked by the bundles
    # part's sync, rooms started later by a join or a first event: only the
    # initial sync's starts are judged, and they hold.
    checked = check(name, edit=_with_initial_sync_parts)
    assert checked.report.complete and checked.report.verdict == "holds", checked.report.verdicts
    sys_ = system(name, edit=_with_initial_sync_parts)
    world, _ = sys_.initial()
    while moves := sys_.enabled(world):  # one run to the end: the first move each time
        world, _ = sys_.apply(world, moves[0])
    view = sys_.view(world)
    synced = [d for d in view.nodes if view.state(d).get("initial_sync", {}).get("rooms")]
    assert synced, "no initial sync was judged"
