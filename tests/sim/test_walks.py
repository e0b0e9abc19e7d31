"""Random walks (sim.walks) and swarm configurations (sim.swarm) on toy models."""

from __future__ import annotations

import random
from dataclasses import asdict

import pytest
from toy import make_system, msg

from mxsim.sim.model import always, eventually, sometimes
from mxsim.sim.scenario import CheckSpec
from mxsim.sim.swarm import Swarm
from mxsim.sim.walks import Walker, merge, walks


def walk_system(**check):
    pattern = always("not_201")(lambda v: v.state("sink")["got"][-3:] != [2, 0, 1])
    every = eventually("all_three")(lambda v: sorted(set(v.state("sink")["got"])) == [0, 1, 2])
    twice = sometimes("some_twice")(
        lambda v: len(v.state("sink")["got"]) > len(set(v.state("sink")["got"]))
    )
    nodes = [("src", "burst", {"to": "sink", "count": 3}), ("sink", "sink")]
    spec = CheckSpec(**{"drops": 1, "duplicates": 1, **check})
    return make_system(nodes, pattern, every, twice, check=spec)


def comparable(report) -> dict:
    d = asdict(report)
    del d["seconds"]
    for f in d["first"].values():
        del f["seconds"]
    return d


@pytest.mark.parametrize("swarm", [False, True])
def test_walks_are_deterministic_per_seed(swarm):
    a = walks(walk_system(), 10, seed=7, swarm=swarm)
    b = walks(walk_system(), 10, seed=7, swarm=swarm)
    assert comparable(a) == comparable(b)
    assert (a.walks, a.walks_requested, a.stopped, a.timing_dependent) == (10, 10, "walks", False)
    c = walks(walk_system(), 10, seed=8, swarm=swarm)
    assert comparable(a) != comparable(c)


def test_plain_walks_are_the_walks_mxsim_made_before_swarm():
    # Facts about seed 7 that held for the uniform walks before this module:
    # only walks 0-4 break not_201 and only walks 5-9 reach some_twice.
    system = walk_system()
    whole = walks(system, 10, seed=7, swarm=False)
    assert whole.verdicts == {
        "not_201": "violated",
        "all_three": "violated",
        "some_twice": "reached",
    }
    low = walks(system, 5, seed=7, swarm=False)
    high = walks(system, 5, seed=7, first=5, swarm=False)
    assert low.verdicts["some_twice"] == "vacuous"
    assert high.verdicts["not_201"] == "holds"


@pytest.mark.parametrize("swarm", [False, True])
def test_any_split_of_the_walk_indices_merges_to_the_same_report(swarm):
    system = walk_system()
    walker = Walker(system, swarm=swarm)
    whole = merge(system, [walker.run(7, 0, 12)], 12, 0.0, swarm)
    for cuts in ([4, 8], [1, 2, 11], [6]):
        edges = [0, *cuts, 12]
        other = Walker(walk_system(), swarm=swarm)  # a fresh process, say
        parts = [other.run(7, a, b - a) for a, b in zip(edges, edges[1:], strict=False)]
        merged = merge(system, list(reversed(parts)), 12, 0.0, swarm)
        assert comparable(merged) == comparable(whole)
    # walk i is walk i, whichever walker makes it
    assert Walker(system, swarm=swarm).walk(7, 9) == walker.walk(7, 9)


def test_counterexamples_name_their_walk_and_are_the_shortest_earliest():
    report = walks(walk_system(), 30, seed=3)
    walker = Walker(walk_system())
    for cex in report.counterexamples:
        lengths = []
        for i in range(30):
            path, broke, *_ = walker.walk(3, i)
            if cex.property in broke:
                lengths.append((len(path), i))
        assert (cex.walk_length, cex.walk) == min(lengths)
        assert report.first[cex.property]["walk"] == min(i for _, i in lengths)
        assert cex.actions == walker.walk(3, cex.walk)[0]


def test_a_deadline_stops_the_search_and_the_report_says_so():
    report = walks(walk_system(), 1000, seed=0, max_seconds=1e-9)
    assert report.stopped == "max_seconds"
    assert report.walks < report.walks_requested == 1000
    assert report.timing_dependent is True


def test_a_quiescent_world_ends_a_walk_with_crash_budget_left():
    restarted = eventually("restarted")(lambda v: v.state("k")["boots"] == 2)
    system = make_system([("k", "keeper")], restarted, check=CheckSpec(crashes=1))
    assert walks(system, 5, seed=0).verdicts == {"restarted": "violated"}


# ---------------------------------------------------------------------------
# swarm configurations


def test_each_walk_draws_its_own_configuration_from_its_stream():
    walker = Walker(walk_system())
    configs = [walker.policy(0, i)[1] for i in range(60)]
    assert configs[5] == Walker(walk_system()).policy(0, 5)[1]
    assert len(set(configs)) > 50  # configurations vary between walks
    for kind in ("drop", "duplicate", "crash"):
        rates = {getattr(c, kind) for c in configs}
        assert 0.0 in rates and max(rates) > 0.0
    assert {c.order for c in configs} == {"random", "oldest", "newest"}


def test_a_walk_with_a_zero_fault_rate_never_takes_that_fault():
    walker = Walker(walk_system(drops=3, duplicates=3))
    seen = {"drop": 0, "duplicate": 0}
    for i in range(200):
        _, config = walker.policy(1, i)
        path = walker.walk(1, i)[0]
        for kind in seen:
            taken = sum(a[0] == kind for a in path)
            if getattr(config, kind) == 0.0:
                assert taken == 0, (i, config)
            seen[kind] += taken
    assert seen["drop"] > 0 and seen["duplicate"] > 0


def swarm(**kw) -> Swarm:
    base = dict(
        drop=0.0,
        duplicate=0.0,
        crash=0.0,
        weights=(1.0, 1.0, 1.0, 1.0),
        favour=None,
        favour_weight=1.0,
        order="random",
    )
    return Swarm(**{**base, **kw})


def test_oldest_first_delivers_in_sending_order_and_newest_first_reverses_it():
    system = walk_system()
    world, _ = system.initial()
    acts = [("deliver", "sink", "src", msg(n)) for n in range(3)]
    ages = {("sink", "src", msg(0)): 3, ("sink", "src", msg(1)): 1, ("sink", "src", msg(2)): 2}
    rng = random.Random(0)
    for _ in range(20):
        assert swarm(order="oldest").choose(system, world, acts, ages, rng) == acts[1]
        assert swarm(order="newest").choose(system, world, acts, ages, rng) == acts[0]
    picks = {swarm().choose(system, world, acts, ages, rng) for _ in range(50)}
    assert picks == set(acts)


def test_a_favoured_node_is_preferred_and_a_starved_one_waits():
    system = make_system([("a", "burst", {"to": "s"}), ("b", "burst", {"to": "s"}), ("s", "sink")])
    world, _ = system.initial()
    acts = system.enabled(world)
    assert acts == [("deliver", "s", "a", msg(0)), ("deliver", "s", "b", msg(0))]
    rng = random.Random(0)
    prefer = [
        swarm(favour="a", favour_weight=5.0).choose(system, world, acts, {}, rng)[2]
        for _ in range(600)
    ]
    starve = [
        swarm(favour="a", favour_weight=0.1).choose(system, world, acts, {}, rng)[2]
        for _ in range(600)
    ]
    assert prefer.count("a") > 400 and starve.count("a") < 150


def test_a_fault_rate_of_one_always_takes_the_fault():
    system = walk_system()
    world, _ = system.initial()
    acts = system.enabled(world)
    rng = random.Random(0)
    assert swarm(drop=1.0).choose(system, world, acts, {}, rng)[0] == "drop"
    assert swarm(duplicate=1.0).choose(system, world, acts, {}, rng)[0] == "duplicate"
    assert swarm().choose(system, world, acts, {}, rng)[0] == "deliver"
