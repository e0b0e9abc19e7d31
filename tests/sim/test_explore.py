"""The exhaustive runtime (sim.explore) on tiny models whose state spaces are counted by hand.

Notation in the derivations: a world is written by what differs between
worlds of one model, e.g. (sink's list, messages in flight, budgets left).
``report.states`` counts distinct worlds, the initial world (after every
node's ``on_start``) included.
"""

from __future__ import annotations

import math

import pytest
from toy import make_system, msg

from mxsim.sim.explore import Explorer
from mxsim.sim.model import always, eventually, sometimes
from mxsim.sim.scenario import CheckSpec, Input
from mxsim.sim.trace import path_lines
from mxsim.sim.walks import walks


def burst(k: int, *props, sorted_sink: bool = False, **kw):
    """``src`` sends ``{"n": 0..k-1}`` to ``sink`` on start."""
    nodes = [
        ("src", "burst", {"to": "sink", "count": k}),
        ("sink", "sink", {"sorted": sorted_sink}),
    ]
    return make_system(nodes, *props, **kw)


def deliver(n: int) -> tuple:
    return ("deliver", "sink", "src", msg(n))


def drop(n: int) -> tuple:
    return ("drop", "sink", "src", msg(n))


def dup(n: int) -> tuple:
    return ("duplicate", "sink", "src", msg(n))


# ---------------------------------------------------------------------------
# (a), (b): counting worlds


@pytest.mark.parametrize(("k", "expected"), [(1, 2), (2, 5), (3, 16)])
def test_ordered_sink_worlds_are_arrival_orders_of_each_delivered_subset(k, expected):
    # The sender's state never changes, so a world is fixed by the sink's list.
    # The list is an arrangement of j of the k messages (the others are in
    # flight): sum over j of C(k, j) * j! = sum k! / (k - j)!.
    #   k=1: 1 + 1 = 2;  k=2: 1 + 2 + 2 = 5;  k=3: 1 + 3 + 6 + 6 = 16.
    assert expected == sum(math.perm(k, j) for j in range(k + 1))
    report = Explorer(burst(k)).bfs()
    assert report.states == expected
    assert report.complete is True
    assert report.stopped is None
    assert report.depth == k  # every path delivers each message once
    assert report.verdicts == {} and report.counterexamples == [] and report.witnesses == {}


@pytest.mark.parametrize(("k", "expected"), [(1, 2), (2, 4), (3, 8)])
def test_sorted_sink_worlds_are_subsets(k, expected):
    # An order-insensitive sink: a world is the subset delivered, 2^k of them.
    assert expected == 2**k
    report = Explorer(burst(k, sorted_sink=True)).bfs()
    assert (report.states, report.complete, report.depth) == (expected, True, k)


# ---------------------------------------------------------------------------
# (c): fault budgets


def test_one_message_with_a_drop_and_a_duplicate_budget():
    # World = (g deliveries so far, c copies in flight, drops left, dups left).
    #   (0,1,1,1) start
    #     deliver   -> (1,0,1,1) terminal
    #     drop      -> (0,0,0,1) terminal
    #     duplicate -> (0,2,1,0)
    #   (0,2,1,0): deliver -> (1,1,1,0); drop -> (0,1,0,0)
    #   (1,1,1,0): deliver -> (2,0,1,0) terminal; drop -> (1,0,0,0) terminal
    #   (0,1,0,0): deliver -> (1,0,0,0) (already seen)
    # Distinct: 8; the longest path (dup, deliver, deliver / dup, drop, deliver) is 3.
    got_twice = sometimes("got_twice")(lambda v: v.state("sink")["got"] == [0, 0])
    got_none = sometimes("got_none_at_end")(
        lambda v: not v.inflight() and not v.state("sink")["got"]
    )
    system = burst(1, got_twice, got_none, check=CheckSpec(drops=1, duplicates=1))
    report = Explorer(system).bfs()
    assert report.states == 8
    assert report.depth == 3
    assert report.complete is True
    assert report.verdicts == {"got_twice": "reached", "got_none_at_end": "reached"}
    assert report.witnesses == {
        "got_twice": [dup(0), deliver(0), deliver(0)],
        "got_none_at_end": [drop(0)],
    }


def test_budgets_are_spent_not_refilled():
    # With the same message but no budgets, only the delivery is possible.
    report = Explorer(burst(1)).bfs()
    assert report.states == 2
    with_drop = Explorer(burst(1, check=CheckSpec(drops=1))).bfs()
    assert with_drop.states == 3  # start, delivered, dropped
    with_two_dups = Explorer(burst(1, check=CheckSpec(duplicates=2))).bfs()
    # World = (g delivered, c in flight, d dups left); each duplicate adds a
    # copy, so g + c = 1 + (2 - d), and every split of those copies is
    # reachable: d=2: g in 0..1 (2 worlds), d=1: g in 0..2 (3), d=0: g in 0..3 (4).
    assert with_two_dups.states == 9


# ---------------------------------------------------------------------------
# (d): timers race messages, or wait for quiet links


def racer(timers: str, *props):
    nodes = [("r", "racer", {"to": "sink", "delay_ms": 10}), ("sink", "sink")]
    return make_system(nodes, *props, check=CheckSpec(timers=timers))


late_first = sometimes("late_overtakes_early")(lambda v: v.state("sink")["got"][:1] == [1])


def test_timers_any_fire_while_messages_fly():
    # r sends early (n=0) and arms t; t fires -> r sends late (n=1).
    #   W0 got=[]   {0}   t armed
    #   W1 got=[0]  {}    t armed      (deliver 0)
    #   W2 got=[]   {0,1} fired        (t)
    #   W3 got=[0]  {1}   fired        (W1 t, or W2 deliver 0)
    #   W4 got=[1]  {0}   fired        (W2 deliver 1)
    #   W5 got=[0,1]                   (W3 deliver 1)
    #   W6 got=[1,0]                   (W4 deliver 0)
    report = Explorer(racer("any", late_first)).bfs()
    assert report.states == 7
    assert report.verdicts == {"late_overtakes_early": "reached"}
    assert report.witnesses["late_overtakes_early"] == [
        ("timer", "r", "t"),
        ("deliver", "sink", "r", msg(1)),
    ]


def test_timers_idle_fire_only_when_nothing_is_in_flight():
    # Only W0 -> W1 -> W3 -> W5 remain: the late message can never overtake.
    report = Explorer(racer("idle", late_first)).bfs()
    assert report.states == 4
    assert report.complete is True
    assert report.verdicts == {"late_overtakes_early": "vacuous"}
    assert report.verdict == "vacuous"


# ---------------------------------------------------------------------------
# (e): crashes


def keeper(*props, crashes: int = 1):
    return make_system(
        [("k", "keeper")],
        *props,
        workload=(Input(0, "k", {"put": "x"}),),
        check=CheckSpec(crashes=crashes),
    )


def test_crash_budget_worlds_and_restart_state():
    # keeper: durable boots (on_start adds 1), volatile cache (input put=x).
    # World = (up?, boots, cache, input consumed?, crashes left).
    #   W0 up 1 -  no  1
    #   W1 up 1 x  yes 1   (input)
    #   W2 dn 1 -  no  0   (crash)
    #   W3 dn 1 x  yes 0   (W1 crash)
    #   W4 dn 1 -  yes 0   (W2 input: lost, the node is down)
    #   W5 up 2 -  no  0   (W2 restart: on_start ran again)
    #   W6 up 2 -  yes 0   (W3 restart: cache was volatile; or W4 restart)
    #   W7 up 2 x  yes 0   (W5 input)
    lost = sometimes("cache_lost")(
        lambda v: v.state("k")["boots"] == 2 and v.state("k")["cache"] is None
    )
    again = sometimes("cache_again")(
        lambda v: v.state("k")["boots"] == 2 and v.state("k")["cache"] == "x"
    )
    system = keeper(lost, again)
    report = Explorer(system).bfs()
    assert report.states == 8
    assert report.complete is True
    assert report.witnesses == {
        "cache_lost": [("crash", "k"), ("restart", "k")],
        "cache_again": [("crash", "k"), ("restart", "k"), ("input", 0)],
    }
    # The restart step itself: only durable keys survive, and on_start re-ran.
    world, _ = system.initial()
    world, _ = system.apply(world, ("input", 0))
    world, _ = system.apply(world, ("crash", "k"))
    assert system.view(world).state("k") == {"boots": 1, "cache": "x", "got": [], "fired": []}
    assert system.enabled(world) == [("restart", "k")]
    world, rec = system.apply(world, ("restart", "k"))
    assert system.view(world).state("k") == {"boots": 2, "cache": None, "got": [], "fired": []}
    assert rec == {"act": "restart", "node": "k", "effects": {}}
    assert world.budget == (0, 0, 0)
    assert system.enabled(world) == []


def test_no_crash_budget_no_crash():
    report = Explorer(keeper(crashes=0)).bfs()
    assert report.states == 2  # before and after the input


# ---------------------------------------------------------------------------
# (f): breadth-first gives the shortest counterexample


def test_bfs_finds_the_shortest_counterexample():
    # Violated once the sink's last three arrivals are 2, 0, 1. With drop and
    # duplicate budgets, longer violating paths exist (dup 2, deliver 2,
    # deliver 2, deliver 0, deliver 1, ...); the only one of length 3 is:
    pattern = always("not_201")(lambda v: v.state("sink")["got"][-3:] != [2, 0, 1])
    system = burst(3, pattern, check=CheckSpec(drops=1, duplicates=1))
    report = Explorer(system).bfs()
    assert report.verdicts == {"not_201": "violated"}
    assert report.verdict == "violated"
    [cex] = report.counterexamples
    assert cex.property == "not_201"
    assert cex.actions == [deliver(2), deliver(0), deliver(1)]
    # Every property has an answer, so the search stopped early, not complete.
    assert (report.complete, report.stopped) == (False, "all decided")
    # The counterexample as a trace: 2 start steps, then the 3 deliveries;
    # the violation is at the last one (step 4).
    lines, _, judge = path_lines(system, cex.actions)
    assert [(x["act"], x["node"], x.get("msg")) for x in lines] == [
        ("start", "src", None),
        ("start", "sink", None),
        ("deliver", "sink", {"n": 2}),
        ("deliver", "sink", {"n": 0}),
        ("deliver", "sink", {"n": 1}),
    ]
    assert [x["sent"] for x in lines[2:]] == [0, 0, 0]
    assert judge.first_violation == {"property": "not_201", "step": 4}


def test_violation_in_the_initial_world_has_an_empty_counterexample():
    never = always("never")(lambda v: False)
    report = Explorer(burst(2, never)).bfs()
    assert [(c.property, c.actions) for c in report.counterexamples] == [("never", [])]
    assert report.states == 1  # a violating world is not expanded


# ---------------------------------------------------------------------------
# (g): sometimes


def test_unreachable_sometimes_is_vacuous():
    three = sometimes("got_three")(lambda v: len(v.state("sink")["got"]) == 3)
    holds = always("at_most_two")(lambda v: len(v.state("sink")["got"]) <= 2)
    report = Explorer(burst(2, three, holds)).bfs()
    assert report.complete is True
    assert report.verdicts == {"got_three": "vacuous", "at_most_two": "holds"}
    assert report.verdict == "vacuous"
    assert report.witnesses == {}


def test_reachable_sometimes_is_reached_with_a_shortest_witness():
    reversed_ = sometimes("reversed")(lambda v: v.state("sink")["got"] == [1, 0])
    report = Explorer(burst(2, reversed_)).bfs()
    assert report.verdicts == {"reversed": "reached"}
    assert report.verdict == "holds"
    assert report.witnesses == {"reversed": [deliver(1), deliver(0)]}


# ---------------------------------------------------------------------------
# (h): eventually


all_arrived = eventually("all_arrived")(lambda v: v.state("sink")["got"] == [0, 1])


def test_eventually_is_judged_only_at_terminal_worlds():
    # "both arrived" is false in 3 of the 4 worlds, but true in the only
    # terminal one: it holds. (Intermediate worlds have messages in flight.)
    report = Explorer(burst(2, all_arrived, sorted_sink=True)).bfs()
    assert report.states == 4
    assert report.complete is True
    assert report.verdicts == {"all_arrived": "holds"}


def test_eventually_violated_by_a_drop():
    got_it = eventually("got_it")(lambda v: v.state("sink")["got"] == [0])
    report = Explorer(burst(1, got_it, check=CheckSpec(drops=1))).bfs()
    assert report.verdicts == {"got_it": "violated"}
    assert [(c.property, c.actions) for c in report.counterexamples] == [("got_it", [drop(0)])]


def test_eventually_is_judged_where_crash_budget_is_left_unspent():
    # A budget is an upper bound: the run that never crashes is a run too.
    # keeper "k" (no input here) ends that run with boots == 1, so "k
    # restarted" is false in a quiescent world even though every run that
    # spends the crash budget ends with boots == 2.
    restarted = eventually("restarted")(lambda v: v.state("k")["boots"] == 2)
    system = make_system([("k", "keeper")], restarted, check=CheckSpec(crashes=1))
    report = Explorer(system).bfs()
    assert report.verdicts == {"restarted": "violated"}
    assert [(c.property, c.actions) for c in report.counterexamples] == [("restarted", [])]
    walked = walks(system, 5, seed=0)
    assert walked.verdicts == {"restarted": "violated"}


# ---------------------------------------------------------------------------
# (i): bounds


def test_max_depth_bound():
    # k=3 ordered: worlds at depth 0, 1, 2 are 1 + 3 + 6 = 10; those at depth
    # 2 are found but not expanded.
    report = Explorer(burst(3), max_depth=2).bfs()
    assert (report.states, report.depth) == (10, 2)
    assert (report.complete, report.stopped) == (False, "max_depth")


def test_max_depth_equal_to_the_longest_path_is_complete():
    # Worlds at depth 3 are terminal: they are judged, not cut off.
    report = Explorer(burst(3), max_depth=3).bfs()
    assert (report.states, report.complete, report.stopped) == (16, True, None)


def test_max_depth_from_the_scenario():
    report = Explorer(burst(3, check=CheckSpec(max_depth=1))).bfs()
    assert (report.states, report.stopped) == (4, "max_depth")


def test_max_states_bound():
    # The bound is exact: the start world and its 3 successors make 4, and the
    # first world of depth 1 may add only one of its 2 successors.
    report = Explorer(burst(3), max_states=5).bfs()
    assert report.states == 5
    assert (report.complete, report.stopped) == (False, "max_states")


def test_bounded_search_keeps_its_unreached_sometimes_vacuous():
    deep = sometimes("all_three")(lambda v: len(v.state("sink")["got"]) == 3)
    report = Explorer(burst(3, deep), max_depth=2).bfs()
    assert report.verdicts == {"all_three": "vacuous"}
    assert report.complete is False
