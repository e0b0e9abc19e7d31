"""voip-ice: Alice trickles two ICE candidates to the device she chose, each
its own request (proposal, "VoIP", "Event updates": "Update with ICE
candidates as they appear"; "Placing a call": candidates pass between the
caller and the chosen ``device_id=foo``). The requests race to the server;
the action IDs' ordering ("a sequence ID for ordering actions performed in
parallel by that client", Action APIs) puts them back in order, so the chosen
device applies them in order, and only it applies them.

The complete check (407,480 states, about a minute) is the README's claim;
here the breadth-first search is bounded by depth, which is enough to hold
every race the switches open (the counterexamples are 10 steps long)."""

from __future__ import annotations

import functools

from witness import initially, records, system, turns_true

from mxsim.experiments.jobs import load_scenario
from mxsim.sim.explore import Explorer
from mxsim.sim.timed import TimedRun

NAME = "voip-ice"
GUARD = "candidate_overtook"
SAFETY = ("candidates_in_order", "candidates_to_selected", "one_callee_in_call")


@functools.cache
def _bfs(*sets, depth=16):
    sys_ = system(NAME, *sets)
    return sys_, Explorer(sys_, max_depth=depth).bfs()


def _shortest(report, prop):
    return {c.property: c.actions for c in report.counterexamples}.get(prop)


def test_bounded_check_holds_and_the_candidates_really_overtake():
    _, report = _bfs()
    assert report.states > 10_000
    assert all(report.verdicts[p] == "holds" for p in SAFETY), report.verdicts
    assert report.verdicts[GUARD] == "reached"


def test_timed_runs_hold_every_property_and_end_the_call():
    for seed in range(1, 6):
        loaded = load_scenario(NAME, [])
        result = TimedRun(loaded.system(), seed, loaded.scenario.run.until).run()
        assert result.quiescent, seed
        verdicts = {k: v for k, v in result.verdicts.items() if k != GUARD}
        assert set(verdicts.values()) == {"holds"}, (seed, result.verdicts)


def test_the_guard_is_false_initially_and_its_witness_is_a_candidate_ahead_of_the_ack():
    sys_, report = _bfs()
    assert not initially(sys_, GUARD)
    actions = report.witnesses[GUARD]
    at = turns_true(sys_, GUARD, actions)
    assert at == len(actions) - 1
    steps = records(sys_, actions)
    last = steps[at]
    assert last["node"] == "hs" and last["src"] == "alice"
    assert last["msg"]["event_type"] == "m.call.candidate"
    # The server had not yet taken the ack (nor the candidates) Alice made before it.
    made = [m for s in steps for dst, m in s["sends"] if dst == "hs" and s["node"] == "alice"]
    earlier = [m["aid"] for m in made if m.get("aid", 99) < last["msg"]["aid"]]
    taken = [s["msg"]["aid"] for s in steps[:at] if s["node"] == "hs" and s["src"] == "alice"]
    assert set(earlier) - set(taken)


def test_without_holding_the_chosen_device_applies_c1_before_c0():
    sys_, report = _bfs("hold_out_of_order=false", depth=11)
    actions = _shortest(report, "candidates_in_order")
    assert actions is not None and len(actions) == 10  # after the node starts
    world = sys_.initial()[0]
    for action in actions:
        world, _ = sys_.apply(world, action)
    view = sys_.view(world)
    ice = {
        d: view.state(d)["calls"]["calls"].get("call.alice", {}).get("ice")
        for d in ("bob1", "bob2")
    }
    applied = [i for i in ice.values() if i]
    assert len(applied) == 1 and [seq for _, seq in applied[0]] == [1]


def test_ordering_by_seq_on_the_device_needs_no_server_ordering():
    _, report = _bfs("hold_out_of_order=false", "candidate_order=seq")
    assert all(report.verdicts[p] == "holds" for p in SAFETY), report.verdicts
    assert report.verdicts[GUARD] == "reached"


def test_a_device_that_takes_any_candidate_takes_one_meant_for_another():
    sys_, report = _bfs("candidate_audience=any", depth=11)
    actions = _shortest(report, "candidates_to_selected")
    assert actions is not None and len(actions) == 10
    world = sys_.initial()[0]
    for action in actions:
        world, _ = sys_.apply(world, action)
    view = sys_.view(world)
    for d in ("bob1", "bob2"):
        for to, _ in view.state(d)["calls"]["calls"].get("call.alice", {}).get("ice", ()):
            if to != d:
                return
    raise AssertionError("no device holds another's candidate")
