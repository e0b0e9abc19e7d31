"""The timed runtime (sim.timed): latencies, jitter, faults, timers, streams, quiescence."""

from __future__ import annotations

import math
import random
import statistics

import pytest
from toy import make_system

from mxsim.sim.links import sampler
from mxsim.sim.model import always, eventually
from mxsim.sim.scenario import Fault, Input, Latency, Link
from mxsim.sim.timed import TimedRun

FOREVER = 10**12  # µs


def run(system, seed: int = 0, until: int = FOREVER):
    return TimedRun(system, seed, until).run()


def delivers(result, src: str | None = None, dst: str | None = None) -> list[tuple]:
    """(t, src, dst, n) of every delivery, in trace order."""
    return [
        (t, s, node, m["n"])
        for _k, t, act, node, s, m, _sent, _extra, _eff in result.steps
        if act == "deliver" and (src is None or s == src) and (dst is None or node == dst)
    ]


def acts(result, act: str) -> list[tuple]:
    """(t, node, src, msg, extra) of every step of kind ``act``."""
    return [
        (t, node, s, m, extra)
        for _k, t, a, node, s, m, _sent, extra, _e in result.steps
        if a == act
    ]


def burst(count: int, link: Link, *props):
    return make_system(
        [("a", "burst", {"to": "b", "count": count}), ("b", "sink")], *props, link=link
    )


# ---------------------------------------------------------------------------
# Latency samplers


def draws(latency: Latency, n: int = 20_000, seed: str = "test") -> list[int]:
    draw = sampler(latency, random.Random(seed))
    return [draw() for _ in range(n)]


def test_constant_latency():
    assert set(draws(Latency("constant", 1234), 100)) == {1234}


def test_uniform_latency_covers_its_closed_range():
    xs = draws(Latency("uniform", 1000, 2000))
    assert all(isinstance(x, int) for x in xs)
    assert (min(xs), max(xs)) == (1000, 2000)  # both ends are drawn
    assert statistics.mean(xs) == pytest.approx(1500, rel=0.01)
    assert set(draws(Latency("uniform", 700, 700), 50)) == {700}


def test_exponential_latency_mean():
    xs = draws(Latency("exponential", 5000))
    assert min(xs) >= 0
    # int() truncates, which lowers the mean by about half a microsecond.
    assert statistics.mean(xs) == pytest.approx(5000, rel=0.03)


def test_lognormal_latency_median_and_mean():
    sigma = 0.5
    xs = draws(Latency("lognormal", 10_000, int(sigma * 1e6)))
    assert min(xs) > 0
    assert statistics.median(xs) == pytest.approx(10_000, rel=0.03)
    assert statistics.mean(xs) == pytest.approx(10_000 * math.exp(sigma**2 / 2), rel=0.03)


def test_samplers_are_deterministic_per_seed():
    for lat in (
        Latency("uniform", 0, 10**6),
        Latency("exponential", 500),
        Latency("lognormal", 9, 10**6),
    ):
        assert draws(lat, 200, "s") == draws(lat, 200, "s")
        assert draws(lat, 200, "s") != draws(lat, 200, "t")


def test_unknown_distribution():
    with pytest.raises(ValueError, match="pareto"):
        sampler(Latency("pareto", 1, 1), random.Random(0))


# ---------------------------------------------------------------------------
# Jitter, loss, duplication


def test_jitter_reorders_and_constant_latency_keeps_order():
    jittery = run(burst(20, Link(Latency("uniform", 1000, 50_000))))
    order = [n for *_, n in delivers(jittery)]
    assert sorted(order) == list(range(20))
    assert order != list(range(20))
    # Every message took a latency in the range after its send at t=0.
    assert all(1000 <= t <= 50_000 for t, *_ in delivers(jittery))
    assert run(burst(20, Link(Latency("uniform", 1000, 50_000)))).steps == jittery.steps
    steady = run(burst(20, Link(Latency("constant", 3000))))
    assert delivers(steady) == [(3000, "a", "b", n) for n in range(20)]


def test_loss_probability_and_determinism():
    result = run(burst(1000, Link(loss=0.3)))
    c = result.counts
    assert c["sent"] == 1000
    assert c["delivered"] + c["dropped"] == 1000
    assert 250 <= c["dropped"] <= 350  # 1000 * 0.3, +- 3.5 standard deviations
    drops = acts(result, "drop")
    assert len(drops) == c["dropped"]
    assert {extra["reason"] for *_, extra in drops} == {"loss"}
    again = run(burst(1000, Link(loss=0.3)))
    assert again.steps == result.steps and again.counts == c
    assert run(burst(1000, Link(loss=0.3)), seed=1).steps != result.steps


def test_duplicate_probability_and_determinism():
    result = run(burst(1000, Link(duplicate=0.2)))
    c = result.counts
    assert 150 <= c["duplicated"] <= 250  # 1000 * 0.2, +- 4 standard deviations
    assert c["delivered"] == 1000 + c["duplicated"]
    assert c["dropped"] == 0
    order = [n for *_, n in delivers(result)]
    assert len(order) - len(set(order)) == c["duplicated"]
    assert run(burst(1000, Link(duplicate=0.2))).steps == result.steps


# ---------------------------------------------------------------------------
# Partitions


def pacers(*faults, latency: int = 1000):
    """a and b each send {"n": 0..9} to the other at t = 0, 10, ..., 90 ms."""
    return make_system(
        [
            ("a", "pacer", {"to": "b", "count": 10, "every_ms": 10}),
            ("b", "pacer", {"to": "a", "count": 10, "every_ms": 10}),
        ],
        link=Link(Latency("constant", latency)),
        faults=faults,
    )


def partition(at_ms: int, heal_ms: int | None, groups, oneway: bool = False) -> Fault:
    return Fault(
        "partition",
        at=at_ms * 1000,
        until=None if heal_ms is None else heal_ms * 1000,
        groups=tuple(tuple(g) for g in groups),
        oneway=oneway,
    )


def test_partition_drops_what_is_sent_while_it_lasts():
    # Open at 25 ms, healed at 55 ms: the sends at 30, 40, 50 ms are lost in
    # both directions, the others arrive 1 ms after they were sent.
    result = run(pacers(partition(25, 55, [["a"], ["b"]])))
    kept = [0, 1, 2, 6, 7, 8, 9]
    assert delivers(result, src="a") == [(n * 10_000 + 1000, "a", "b", n) for n in kept]
    assert delivers(result, src="b") == [(n * 10_000 + 1000, "b", "a", n) for n in kept]
    drops = acts(result, "drop")
    assert sorted((t, src, m["n"], extra["reason"]) for t, _dst, src, m, extra in drops) == [
        (t, src, n, "partition") for n, t in ((3, 30_000), (4, 40_000), (5, 50_000)) for src in "ab"
    ]
    groups = {"groups": [["a"], ["b"]], "oneway": False}
    assert acts(result, "partition") == [(25_000, None, None, None, groups)]
    assert acts(result, "heal") == [(55_000, None, None, None, groups)]
    assert result.quiescent


def test_oneway_partition_blocks_only_from_the_first_group():
    result = run(pacers(partition(25, 55, [["a"], ["b"]], oneway=True)))
    assert [n for *_, n in delivers(result, src="a")] == [0, 1, 2, 6, 7, 8, 9]
    assert [n for *_, n in delivers(result, src="b")] == list(range(10))
    assert {(src, extra["reason"]) for _t, _d, src, _m, extra in acts(result, "drop")} == {
        ("a", "partition")
    }


def test_partition_that_never_heals():
    result = run(pacers(partition(25, None, [["b"], ["a"]], oneway=True)))
    assert [n for *_, n in delivers(result, src="b")] == [0, 1, 2]
    assert [n for *_, n in delivers(result, src="a")] == list(range(10))
    assert acts(result, "heal") == []


def test_partition_cuts_at_send_time():
    # With 10 ms latency the message sent at 20 ms is in flight when the
    # partition opens at 25 ms: it still arrives (at 30 ms).
    result = run(pacers(partition(25, 55, [["a"], ["b"]]), latency=10_000))
    assert [(t, n) for t, *_, n in delivers(result, src="a")][:3] == [
        (10_000, 0),
        (20_000, 1),
        (30_000, 2),
    ]


# ---------------------------------------------------------------------------
# Crashes


def test_crash_and_restart():
    # k: tick timer 30 ms after each start; p sends to k every 10 ms (arrivals
    # at 1, 11, ..., 91 ms); input put=x at 5 ms, put=y at 30 ms.
    # k crashes at 25 ms (tick due at 30 is lost) and restarts at 45 ms
    # (volatile cache/got/fired reset, boots kept and bumped, tick re-armed
    # for 75 ms). Arrivals at 31 and 41 ms are dropped: k is down.
    system = make_system(
        [
            ("p", "pacer", {"to": "k", "count": 10, "every_ms": 10}),
            ("k", "keeper", {"tick_ms": 30}),
        ],
        link=Link(Latency("constant", 1000)),
        faults=(Fault("crash", at=25_000, until=45_000, node="k"),),
        workload=(Input(5000, "k", {"put": "x"}), Input(30_000, "k", {"put": "y"})),
    )
    runner = TimedRun(system, 0, FOREVER)
    result = runner.run()
    assert runner.states[1] == {
        "boots": 2,
        "cache": None,
        "got": [5, 6, 7, 8, 9],
        "fired": ["tick"],
    }
    assert runner.up == [True, True]
    assert [(t, node) for t, node, *_ in acts(result, "crash")] == [(25_000, "k")]
    assert [(t, node) for t, node, *_ in acts(result, "restart")] == [(45_000, "k")]
    ticks = [(t, extra) for t, node, _s, _m, extra in acts(result, "timer") if node == "k"]
    assert ticks == [(75_000, {"timer": "tick"})]
    assert [(t, src, m["n"], extra) for t, _d, src, m, extra in acts(result, "drop")] == [
        (31_000, "p", 3, {"reason": "down"}),
        (41_000, "p", 4, {"reason": "down"}),
    ]
    inputs = [(t, m, extra) for t, _node, _s, m, extra in acts(result, "input")]
    assert inputs == [
        (5000, {"put": "x"}, {"input": 0}),
        (30_000, {"put": "y"}, {"input": 1, "reason": "down"}),
    ]
    assert [n for *_, n in delivers(result)] == [0, 1, 2, 5, 6, 7, 8, 9]
    assert result.quiescent and result.time == 91_000


def test_node_that_stays_down():
    system = make_system(
        [("a", "burst", {"to": "b", "count": 2}), ("b", "sink")],
        link=Link(Latency("constant", 5000)),
        faults=(Fault("crash", at=1000, node="b"),),
    )
    runner = TimedRun(system, 0, FOREVER)
    result = runner.run()
    assert runner.up == [True, False]
    assert [(t, extra) for t, *_, extra in acts(result, "drop")] == [(5000, {"reason": "down"})] * 2
    assert result.quiescent  # nothing left to happen


# ---------------------------------------------------------------------------
# Timers


def test_timers_fire_exactly_their_delay_after_being_set():
    system = make_system(
        [
            (
                "c",
                "clock",
                {
                    "timers": [["a", 7.5], ["b", 0.001], ["re", 1], ["re", 4], ["gone", 2]],
                    "cancel": ["gone"],
                },
            ),
            ("r", "racer", {"to": "c", "delay_ms": 2.25}),
        ],
        link=Link(Latency("constant", 1000)),
    )
    runner = TimedRun(system, 0, FOREVER)
    result = runner.run()
    fired = [(t, node, extra["timer"]) for t, node, _s, _m, extra in acts(result, "timer")]
    # "re" was re-armed (fires once, at the second delay); "gone" was cancelled.
    assert fired == [(1, "c", "b"), (2250, "r", "t"), (4000, "c", "re"), (7500, "c", "a")]
    assert runner.states[0] == {"fired": ["b", "re", "a"]}
    assert result.counts["timers"] == 4


# ---------------------------------------------------------------------------
# Per-component random streams


def test_adding_an_unrelated_node_leaves_other_links_draws_alone():
    link = Link(Latency("uniform", 1000, 50_000), duplicate=0.3)
    two = make_system([("a", "burst", {"to": "b", "count": 20}), ("b", "sink")], link=link)
    three = make_system(
        # c comes first, so it starts first and its link draws come first
        [
            ("c", "burst", {"to": "b", "count": 20}),
            ("a", "burst", {"to": "b", "count": 20}),
            ("b", "sink"),
        ],
        link=link,
    )
    r2, r3 = run(two, seed=4), run(three, seed=4)
    assert delivers(r3, src="a") == delivers(r2, src="a")
    assert len(delivers(r3, src="c")) >= 20
    # The seed does matter for the a->b link.
    assert delivers(run(two, seed=5), src="a") != delivers(r2, src="a")


# ---------------------------------------------------------------------------
# Quiescence and verdicts


def test_run_ends_quiescent_at_its_last_step():
    result = run(burst(3, Link(Latency("constant", 2500))))
    assert result.quiescent
    assert result.time == result.steps[-1][1] == 2500
    assert [a for _k, _t, a, *_ in result.steps] == [
        "start",
        "start",
        "deliver",
        "deliver",
        "deliver",
    ]
    assert result.counts == {"sent": 3, "delivered": 3, "dropped": 0, "duplicated": 0, "timers": 0}


def test_periodic_timer_never_quiesces():
    settled = eventually("settled")(lambda v: True)
    system = make_system([("k", "keeper", {"tick_ms": 10, "repeat": True})], settled)
    runner = TimedRun(system, 0, 95_000)
    result = runner.run()
    assert not result.quiescent
    assert result.verdicts == {"settled": "undecided"}
    assert result.time == 90_000
    assert runner.states[0]["fired"] == ["tick"] * 9


def test_eventually_is_judged_at_quiescence():
    both = eventually("both")(lambda v: sorted(v.state("b")["got"]) == [0, 1])
    ok = run(burst(2, Link(), both))
    assert ok.verdicts == {"both": "holds"} and ok.violation is None
    lost = make_system(
        [("a", "burst", {"to": "b", "count": 2}), ("b", "sink")],
        both,
        faults=(Fault("crash", at=0, node="b"),),
    )
    result = run(lost)
    assert result.quiescent
    assert result.verdicts == {"both": "violated"}
    assert result.violation == {"property": "both", "step": len(result.steps) - 1}


def test_always_violation_stops_the_run_at_that_step():
    few = always("fewer_than_5")(lambda v: len(v.state("b")["got"]) < 5)
    later = eventually("all_20")(lambda v: len(v.state("b")["got"]) == 20)
    result = run(burst(20, Link(Latency("constant", 1000)), few, later))
    # steps 0, 1 start a and b; deliveries 1..5 are steps 2..6
    assert result.violation == {"property": "fewer_than_5", "step": 6}
    assert result.verdicts == {"fewer_than_5": "violated", "all_20": "undecided"}
    assert len(result.steps) == 7 and result.steps[-1][2] == "deliver"
    assert not result.quiescent


def test_inflight_view_lists_messages_on_their_way():
    seen = []

    def watch(view):
        if view.state("b")["got"] == [0]:
            seen.append(view.inflight())
        return True

    watcher = always("watch")(watch)
    run(burst(3, Link(Latency("constant", 1000)), watcher))
    assert seen == [[("a", "b", {"n": 1}), ("a", "b", {"n": 2})]]
