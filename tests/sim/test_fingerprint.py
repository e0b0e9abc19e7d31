"""Incremental keys (sim.fingerprint): every step's key equals the key from scratch."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from mxsim.experiments import jobs
from mxsim.models.registry import MODELS, bundled
from mxsim.sim.fingerprint import MASK
from mxsim.sim.system import System
from mxsim.sim.world import World


def scratch(system, w: World) -> int:
    return system.digests.key(w.states, w.up, w.inflight, w.timers, w.workload, w.budget)


@pytest.mark.parametrize("name", sorted(bundled()))
def test_every_step_keeps_the_key_equal_to_the_key_from_scratch(name):
    # Budgets raised so that drops, duplicates, crashes and restarts all occur.
    sc = jobs.load_scenario(name).scenario
    sc = replace(sc, check=replace(sc.check, drops=2, duplicates=2, crashes=2))
    system = System(sc, MODELS[sc.model])
    init, _ = system.initial()
    rng = random.Random(f"fingerprint/{name}")
    kinds = set()
    for _ in range(8):
        world = init
        system.key(world)
        for _ in range(40):
            acts = system.enabled(world)
            if not acts:
                break
            action = acts[rng.randrange(len(acts))]
            kinds.add(action[0])
            world, _ = system.apply(world, action)
            assert world._key is not None  # derived from the parent's, not recomputed
            assert world._key == scratch(system, world), action
            assert 0 <= world._key <= MASK
    assert {"drop", "duplicate", "crash", "restart"} <= kinds, kinds


def test_keys_tell_worlds_apart_and_replace_forgets_the_key():
    loaded = jobs.load_scenario("action-ids")
    system = loaded.system()
    init, _ = system.initial()
    k0 = system.key(init)
    nxt = system.next(init, system.enabled(init)[0])
    assert system.key(nxt) != k0
    # A copy of the message in flight is a different world (a multiset, not a set).
    dst, src, msg = init.inflight[0] if init.inflight else nxt.inflight[0]
    base = init if init.inflight else nxt
    doubled = replace(base, inflight=tuple(sorted(base.inflight + ((dst, src, msg),))))
    assert doubled._key is None
    assert system.key(doubled) != system.key(base)
    assert system.key(replace(base)) == system.key(base)


@pytest.mark.parametrize("name", ["voip-1-to-n", "session-expiry", "action-ids", "filters"])
def test_peeked_key_is_the_key_of_the_world_the_step_builds(name):
    sc = jobs.load_scenario(name).scenario
    sc = replace(sc, check=replace(sc.check, drops=1, duplicates=1, crashes=1))
    system = System(sc, MODELS[sc.model])
    world, _ = system.initial()
    system.key(world)
    rng = random.Random(f"peek/{name}")
    peeked = {"deliver": 0, "timer": 0}
    for _ in range(300):
        acts = system.enabled(world)
        if not acts:
            world, _ = system.initial()
            system.key(world)
            continue
        for a in acts:
            built = system.next(world, a)  # fills the memo, so the peek can hit
            got = system.peek_key(world, a)
            if got is not None:
                assert got == built._key == scratch(system, built), a
                peeked[a[0]] += 1
        world = system.next(world, acts[rng.randrange(len(acts))])
    assert peeked["deliver"] > 0
    if name in ("voip-1-to-n", "session-expiry"):
        assert peeked["timer"] > 0
