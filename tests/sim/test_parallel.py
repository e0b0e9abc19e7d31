"""Breadth-first search across processes (sim.parallel) gives the serial search's answers.

Same verdicts, states, depth, completeness, stop reason, and the very same
counterexample and witness paths, for 1, 2 and 3 shards, on toy models
(every bound and stop reason) and on bundled scenarios.
"""

from __future__ import annotations

import functools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from toy import make_system

from mxsim.experiments.jobs import load_scenario
from mxsim.sim.explore import Explorer
from mxsim.sim.model import always, eventually, sometimes
from mxsim.sim.parallel import ShardError, parallel_bfs
from mxsim.sim.scenario import CheckSpec, Input
from mxsim.sim.shard import owner


def summary(report) -> tuple:
    paths = [(c.property, c.actions) for c in report.counterexamples]
    return (
        report.verdicts,
        report.states,
        report.depth,
        report.complete,
        report.stopped,
        paths,
        report.witnesses,
        report.transitions,
        report.stop_reason,
        report.coverage,
    )


def same_for_any_shards(build, **bounds) -> tuple:
    serial = summary(Explorer(build(), **bounds).bfs())
    for workers in (1, 2, 3):
        assert summary(parallel_bfs(build, workers, **bounds)) == serial, workers
    return serial


got = lambda v: v.state("sink")["got"]  # noqa: E731
not_201 = always("not_201")(lambda v: got(v)[-3:] != [2, 0, 1])
short = always("short")(lambda v: len(got(v)) < 4)
reversed_ = sometimes("reversed")(lambda v: got(v)[:2] == [1, 0])
never_dup = sometimes("twice")(lambda v: len(got(v)) > len(set(got(v))))
all_three = eventually("all_three")(lambda v: sorted(got(v)) == [0, 1, 2])
BURST = [("src", "burst", {"to": "sink", "count": 3}), ("sink", "sink")]
FAULTS = CheckSpec(drops=1, duplicates=1)


@pytest.mark.parametrize(
    ("props", "check", "bounds", "stopped"),
    [
        ((not_201,), FAULTS, {}, "all decided"),
        ((not_201, short, reversed_, never_dup, all_three), FAULTS, {}, "all decided"),
        ((short, reversed_), FAULTS, {"max_depth": 3}, "max_depth"),
        ((reversed_,), FAULTS, {}, None),
        ((short, never_dup), FAULTS, {"max_states": 40}, "max_states"),
        ((reversed_, all_three), CheckSpec(), {}, None),
    ],
)
def test_toy_bursts_under_every_bound(props, check, bounds, stopped):
    build = functools.partial(make_system, BURST, *props, check=check)
    result = same_for_any_shards(build, **bounds)
    assert result[4] == stopped


def test_timers_crashes_and_inputs():
    lost = sometimes("cache_lost")(lambda v: v.state("k")["boots"] == 2)
    cached = eventually("cached")(lambda v: v.state("k")["cache"] == "x")
    build = functools.partial(
        make_system,
        [("k", "keeper", {"tick_ms": 5})],
        lost,
        cached,
        check=CheckSpec(crashes=1),
        workload=[Input(0, "k", {"put": "x"})],
    )
    result = same_for_any_shards(build)
    assert result[0] == {"cache_lost": "reached", "cached": "violated"}  # a crash loses it


def scenario(name: str, sets: tuple[str, ...]):
    return load_scenario(name, list(sets)).system()


@pytest.mark.parametrize(
    ("name", "sets", "bounds"),
    [
        ("action-ids", ("idempotent_retransmission=false",), {}),
        ("action-ids", (), {"max_states": 777}),
        ("action-ids-parallel", ("hold_out_of_order=false",), {}),
        ("voip-glare", ("caller_acknowledges=false",), {}),
    ],
)
def test_bundled_scenarios(name, sets, bounds):
    result = same_for_any_shards(functools.partial(scenario, name, sets), **bounds)
    assert result[1] > 50


def test_owner_spreads_keys_over_the_shards():
    system = make_system(BURST, short, check=FAULTS)
    keys = [system.key(w) for _, w in Explorer(system).successors(system.initial()[0])]
    assert sorted({owner(k, 3) for k in range(300)}) == [0, 1, 2]
    assert len({owner(k, 2) for k in keys}) == 2  # the successors of one world


def _broken(v) -> bool:
    if got(v) == [1, 0]:
        raise ZeroDivisionError("a bug in a property")
    return True


def test_a_failing_shard_is_one_error_not_a_hang():
    bug = always("bug")(_broken)
    build = functools.partial(make_system, BURST, bug, check=FAULTS)
    with pytest.raises(ShardError, match="ZeroDivisionError: a bug in a property") as info:
        parallel_bfs(build, 2)
    assert "Traceback" in info.value.details


PROPS = (not_201, short, reversed_, never_dup, all_three)


@settings(max_examples=12, deadline=None)
@given(
    count=st.integers(1, 3),
    sorted_sink=st.booleans(),
    drops=st.integers(0, 1),
    dups=st.integers(0, 1),
    chosen=st.sets(st.integers(0, len(PROPS) - 1), min_size=1),
    depth=st.integers(1, 6),
    workers=st.integers(2, 3),
)
def test_random_small_models(count, sorted_sink, drops, dups, chosen, depth, workers):
    sink = ("sink", "sink", {"sorted": sorted_sink})
    nodes = [("src", "burst", {"to": "sink", "count": count}), sink]
    props = [PROPS[i] for i in sorted(chosen)]
    build = functools.partial(
        make_system, nodes, *props, check=CheckSpec(drops=drops, duplicates=dups)
    )
    serial = summary(Explorer(build(), max_depth=depth).bfs())
    assert summary(parallel_bfs(build, workers, max_depth=depth)) == serial


def test_ctrl_c_stops_between_levels_with_what_was_found(monkeypatch):
    # The first progress call (after a level) plays the user's Ctrl-C.
    import signal

    build = functools.partial(scenario, "action-ids", ("idempotent_retransmission=false",))
    calls = []

    def interrupt(p) -> None:
        calls.append(p)
        if len(calls) == 1:
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr("mxsim.sim.parallel.time.monotonic", iter(range(0, 10**6)).__next__)
    report = parallel_bfs(build, 2, progress=interrupt)
    assert report.stop_reason == "interrupted" and not report.complete
    # It stops at the end of the level after the Ctrl-C, keeping what it found.
    assert report.depth == calls[0].depth + 1 < 26
    assert report.states > calls[0].states and report.verdicts["settled"] == "undecided"
