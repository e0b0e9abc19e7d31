"""room-actions: room creation with invitees and initial state, join by alias
and by invite event ID, invite, reject invite (the member event deleted),
kick, ban and delete state, across two servers, judged by properties in a
bundled scenario (proposal: "Room Creation", "Joining a room", "Rejecting an
invite", "Deleting a state event", "Action APIs").

The race it is written for: Alice bans Bob while his join through hs1 is
under way; the ban reaches hs2 before the room's state does. Without
``join_keeps_early_events`` hs2 drops it and joins Bob on the state from
before the ban, and the servers disagree for good."""

from __future__ import annotations

import functools

from witness import initially, records, system, turns_true

from mxsim.experiments.jobs import load_scenario
from mxsim.models import room as R
from mxsim.sim.shrink import shrink
from mxsim.sim.timed import TimedRun
from mxsim.sim.walks import walks

NAME = "room-actions"
CLUB = "!club:hs1"
GUARDS = ["state_conflict", "invite_rejected_remotely", "early_event_kept"]
NEW = ["kicks_stick", "rejected_invite_deleted"]


def _run(*sets):
    loaded = load_scenario(NAME, sets)
    run = TimedRun(loaded.system(), loaded.scenario.run.seed, loaded.scenario.run.until)
    result = run.run()
    return result, lambda node: run.states[loaded.system().index[node]]


@functools.cache
def _walked(*sets):
    sys_ = load_scenario(NAME, sets).system()
    return sys_, walks(sys_, 1000, 0, 0, 200, None, swarm=True)


def test_the_timed_run_holds_and_shows_every_race():
    result, _ = _run()
    assert result.quiescent
    assert {p: result.verdicts[p] for p in GUARDS} == dict.fromkeys(GUARDS, "reached")
    assert set(result.verdicts.values()) == {"holds", "reached"}, result.verdicts


def test_the_timed_run_did_every_action():
    _, state = _run()
    hs1, hs2 = (state(s)["rooms"]["stores"][CLUB] for s in ("hs1", "hs2"))
    for store in (hs1, hs2):
        assert store["current"] == hs1["current"]
        assert R.aliases(store) == ["#club:hs1"]  # initial state of the creation
        assert R.membership(store, "@bob:hs2") == "ban"
        assert R.membership(store, "@dave:hs2") == "leave"  # kicked after his join
        erin = store["events"][store["current"]["m.room.member\x1f@erin:hs2"]]
        assert "content" not in erin and erin["sender"] == "@erin:hs2"  # the invite deleted
        topic = store["events"][store["current"]["m.room.topic\x1f"]]
        assert "content" not in topic  # delete state: an event lacking content
    assert any(ev.get("content", {}).get("membership") == "join" and
               ev["state_key"] == "@dave:hs2" for ev in hs1["events"].values())  # fmt: skip
    # Bob's device joined (by alias) and was shown the room's state, power levels included.
    bob = state("bob")
    assert bob["requests"]["results"]["0"] is True
    assert "m.room.power_levels\x1f" in bob["stream"]["view"][CLUB]


def test_random_walks_hold_and_reach_every_guard():
    _, report = _walked()
    assert "violated" not in report.verdicts.values(), report.verdicts
    assert {p: report.verdicts[p] for p in GUARDS} == dict.fromkeys(GUARDS, "reached")
    assert {p: report.verdicts[p] for p in NEW} == dict.fromkeys(NEW, "holds")


def test_without_keeping_early_events_the_ban_is_lost_at_hs2():
    sys_, report = _walked("join_keeps_early_events=false")
    assert report.verdicts["bans_stick"] == "violated"
    assert report.verdicts["state_consistency"] == "violated"
    assert report.verdicts["kicks_stick"] == "violated"  # Dave's kick is lost the same way
    assert report.verdicts["early_event_kept"] != "reached"
    found = {c.property: c.actions for c in report.counterexamples}
    short = shrink(sys_, found["bans_stick"], "bans_stick")
    assert len(short) == 43
    steps = records(sys_, short)
    # The ban reached hs2 before the room's state, which then made Bob joined there.
    ban = next(i for i, s in enumerate(steps) if s["act"] == "deliver" and s["node"] == "hs2"
               and s["msg"]["type"] == "fed.event"
               and s["msg"]["event"].get("content", {}).get("membership") == "ban")  # fmt: skip
    joined = next(i for i, s in enumerate(steps) if s["act"] == "deliver" and s["node"] == "hs2"
                  and s["msg"]["type"] == "fed.join_state")  # fmt: skip
    assert ban < joined


def test_the_guards_are_false_in_the_initial_world():
    assert [g for g in GUARDS if initially(system(NAME), g)] == []


def test_the_early_event_witness_is_an_event_ahead_of_the_room_state():
    sys_, report = _walked()
    actions = report.witnesses["early_event_kept"]
    k = turns_true(sys_, "early_event_kept", actions)
    step = records(sys_, actions[: k + 1])[-1]
    assert step["node"] == "hs2" and step["msg"]["type"] == "fed.event"
    before = records(sys_, actions[:k])
    asked = [s for s in before if any(m["type"] == "fed.make_join" for _, m in s["sends"])]
    got = [s for s in before if s["act"] == "deliver" and s["msg"]["type"] == "fed.join_state"]
    assert asked and not got  # hs2 asked to join and has not the room yet


def test_the_remote_rejection_witness_goes_through_the_inviting_server():
    sys_, report = _walked()
    actions = report.witnesses["invite_rejected_remotely"]
    k = turns_true(sys_, "invite_rejected_remotely", actions)
    step = records(sys_, actions[: k + 1])[-1]
    assert step["node"] == "hs1" and step["msg"]["type"] == "fed.reject"
    assert step["msg"]["user"] == "@erin:hs2"


def test_the_causal_event_clock_stamps_events_after_what_they_build_on():
    from mxsim.models.homeserver import Homeserver
    from mxsim.models.matrix import MODEL

    switches = {s.name: s.default for s in MODEL.switches}
    genesis = [{"room": "!r:hs2", "creator": "@bob:hs2"}]
    stamps = {}
    for clock in ("per_server", "causal"):
        hs = Homeserver("hs2", {"rooms": {"genesis": genesis}}, {**switches, "event_clock": clock})
        state = hs.initial_state()
        hs.on_start(None, state)
        store = state["rooms"]["stores"]["!r:hs2"]
        tip = store["events"][store["extremities"][0]]
        tip["origin_server_ts"] = 40  # made by a server whose clock is ahead
        ev = hs.part("rooms").new_event(state, store, "!r:hs2", "m.room.message", "@bob:hs2", {})
        stamps[clock] = ev["origin_server_ts"], ev["event_id"]
    assert stamps == {"per_server": (1, "$hs2.1"), "causal": (41, "$hs2.1")}
