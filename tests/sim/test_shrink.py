"""Shrinking violating walks (sim.shrink): toy models whose minimal
counterexamples are known by hand, and the bundled findings."""

from __future__ import annotations

import json

import pytest
from toy import make_system, msg

from mxsim.experiments.jobs import load_scenario
from mxsim.sim import shrink as shrink_mod
from mxsim.sim import trace as tracefile
from mxsim.sim.model import always, eventually
from mxsim.sim.scenario import CheckSpec
from mxsim.sim.shrink import ddmin, shrink, verify, violating_run
from mxsim.sim.walks import Walker
from mxsim.sim.world import StepError, digest_states


def deliver(n: int, dst: str = "sink", src: str = "src") -> tuple:
    return ("deliver", dst, src, msg(n))


def burst(k: int, *props, **check):
    nodes = [("src", "burst", {"to": "sink", "count": k}), ("sink", "sink")]
    return make_system(nodes, *props, check=CheckSpec(**check))


not_201 = always("not_201")(lambda v: v.state("sink")["got"][-3:] != [2, 0, 1])
two_arrive = eventually("two_arrive")(lambda v: len(set(v.state("sink")["got"])) >= 2)


def violating_walks(system, name: str, walks: int = 300, seed: int = 0):
    walker = Walker(system)
    for i in range(walks):
        path, broke, *_ = walker.walk(seed, i)
        if name in broke:
            yield i, path


def test_ddmin_finds_the_one_minimal_subsequence():
    must = {3, 9, 14}
    test = lambda c: c if must <= set(c) else None  # noqa: E731
    assert ddmin(list(range(20)), test) == [3, 9, 14]
    with pytest.raises(ValueError):
        ddmin([1, 2], test)


def test_an_always_violation_shrinks_to_the_only_three_step_counterexample():
    # Five messages, drops and duplicates: the walks that leave 2, 0, 1 as the
    # sink's last three arrivals are long; the one minimal run delivers just those.
    system = burst(5, not_201, drops=2, duplicates=2)
    found = list(violating_walks(system, "not_201"))
    assert len(found) >= 3 and max(len(p) for _, p in found) > 3
    for _, path in found:
        assert shrink(system, path, "not_201") == [deliver(2), deliver(0), deliver(1)]


def test_an_eventually_violation_shrinks_to_two_drops_and_one_delivery():
    # All three messages must leave the network for the run to end; for fewer
    # than two distinct arrivals, two must be dropped: 3 steps, and no fewer.
    system = burst(3, two_arrive, drops=2, duplicates=1)
    found = list(violating_walks(system, "two_arrive"))
    assert found and max(len(p) for _, p in found) > 3
    for _, path in found:
        shrunk = shrink(system, path, "two_arrive")
        assert len(shrunk) == 3
        assert sorted(a[0] for a in shrunk) == ["deliver", "drop", "drop"]
        assert verify(system, shrunk, "two_arrive")


def racer_system(*props):
    nodes = [("r", "racer", {"to": "sink", "delay_ms": 10}), ("sink", "sink")]
    return make_system(nodes, *props, check=CheckSpec(timers="idle"))


late = always("never_late")(lambda v: 1 not in v.state("sink")["got"])
LEGAL = [("deliver", "sink", "r", msg(0)), ("timer", "r", "t"), ("deliver", "sink", "r", msg(1))]


def test_a_step_that_is_no_longer_possible_is_skipped_not_applied():
    system = racer_system(late)
    # With timers "idle", t fires only once nothing is in flight; System.apply
    # alone would let it fire early, enabled() does not.
    world, _ = system.initial()
    system.apply(world, ("timer", "r", "t"))
    assert ("timer", "r", "t") not in system.enabled(world)
    assert violating_run(system, LEGAL[1:], "never_late") is None
    assert violating_run(system, [("timer", "r", "t"), *LEGAL], "never_late") == LEGAL
    assert violating_run(system, LEGAL, "never_late") == LEGAL


def test_verify_demands_each_step_enabled_and_the_same_property_violated():
    other = always("never_anything")(lambda v: not v.state("sink")["got"])
    system = racer_system(late, other)
    assert verify(system, LEGAL, "never_late")
    assert not verify(system, LEGAL[1:], "never_late")  # an early timer (apply allows it)
    assert not verify(system, LEGAL[:1], "never_late")  # never_anything broke, not never_late
    assert verify(system, LEGAL[:1], "never_anything")
    assert not verify(system, [("deliver", "sink", "r", msg(7))], "never_late")


def test_a_shrunk_list_that_fails_verification_is_not_used(monkeypatch):
    # A candidate runner that trusts System.apply (not enabled()) shrinks to the
    # impossible [timer, deliver 1]; verification must reject it and keep the walk.
    system = racer_system(late)

    def lenient(system, actions, name):
        world, _ = system.initial()
        ran = []
        for a in actions:
            try:
                world, _ = system.apply(world, a)
            except StepError:
                continue
            ran.append(a)
            if 1 in system.view(world).state("sink")["got"]:
                return ran
        return None

    monkeypatch.setattr(shrink_mod, "violating_run", lenient)
    assert ddmin(LEGAL, lambda c: lenient(system, c, "never_late")) == LEGAL[1:]
    assert shrink(system, LEGAL, "never_late") == LEGAL


FINDINGS = [
    ("superseded-state", ["omit_superseded_state=false"]),
    ("action-ids", ["idempotent_retransmission=false"]),
    ("voip-1-to-n", ["caller_acknowledges=false"]),
    ("multi-device-join", ["join_returns_events=true"]),
]


@pytest.mark.parametrize(("scenario", "sets"), FINDINGS)
def test_bundled_findings_shrink_replay_and_still_violate(scenario, sets):
    loaded = load_scenario(scenario, sets)
    system = loaded.system()
    walker = Walker(system)
    longest: dict[str, list] = {}
    for i in range(40):
        path, broke, *_ = walker.walk(0, i)
        for name in broke:
            if len(path) > len(longest.get(name, [])):
                longest[name] = path
    assert longest
    for name, path in longest.items():
        shrunk = shrink(system, path, name)
        assert len(shrunk) <= len(path)
        assert verify(system, shrunk, name)
        lines, world, judge = tracefile.path_lines(system, shrunk)
        assert judge.verdicts[name] == "violated"
        head = tracefile.header(system, "check", loaded.raw, loaded.overrides, None)
        digest = digest_states(world.states, world.up)
        data, _ = tracefile.finish(lines, head, judge.verdicts, judge.first_violation, digest)
        parsed = [json.loads(x) for x in data.decode().splitlines()]
        assert tracefile.replay(system, parsed)["verdicts"][name] == "violated"
