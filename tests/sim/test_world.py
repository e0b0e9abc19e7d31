"""The step function both runtimes share (sim.world): World, System, actions."""

from __future__ import annotations

import pytest
from toy import make_system, msg

from mxsim.sim.scenario import CheckSpec, Input
from mxsim.sim.world import StepError, World, canonical


def burst(count: int = 1, same: bool = False, **kw):
    nodes = [("src", "burst", {"to": "sink", "count": count, "same": same}), ("sink", "sink")]
    return make_system(nodes, **kw)


def step(system, world: World, *actions) -> World:
    for action in actions:
        world, _ = system.apply(world, action)
    return world


def got(system, world: World) -> list:
    return system.view(world).state("sink")["got"]


def test_canonical_json():
    assert canonical({"b": [1, {"d": None, "c": True}], "a": "é"}) == (
        '{"a":"\\u00e9","b":[1,{"c":true,"d":null}]}'
    )


def test_initial_world_runs_every_on_start_in_node_order():
    system = burst(2)
    world, records = system.initial()
    assert records == [
        {
            "act": "start",
            "node": "src",
            "effects": {"send": [["sink", {"n": 0}], ["sink", {"n": 1}]]},
        },
        {"act": "start", "node": "sink", "effects": {}},
    ]
    assert world.states == ("{}", '{"got":[]}')
    assert world.up == (True, True)
    assert world.inflight == (("sink", "src", msg(0)), ("sink", "src", msg(1)))
    assert (world.timers, world.workload, world.budget) == ((), 0, (0, 0, 0))
    assert system.enabled(world) == [
        ("deliver", "sink", "src", msg(0)),
        ("deliver", "sink", "src", msg(1)),
    ]
    assert system.view(world).inflight() == [("src", "sink", {"n": 0}), ("src", "sink", {"n": 1})]


def test_deliver_runs_the_handler_and_records_it():
    system = burst(2)
    world, _ = system.initial()
    after, rec = system.apply(world, ("deliver", "sink", "src", msg(1)))
    assert rec == {"act": "deliver", "node": "sink", "effects": {}, "src": "src", "msg": {"n": 1}}
    assert got(system, after) == [1]
    assert after.inflight == (("sink", "src", msg(0)),)
    # Worlds are values: the one applied to is unchanged.
    assert got(system, world) == [] and len(world.inflight) == 2


# ---------------------------------------------------------------------------
# Actions that are not enabled


def test_apply_refuses_actions_that_are_not_enabled():
    system = make_system(
        [("src", "burst", {"to": "sink"}), ("sink", "sink"), ("k", "keeper", {"tick_ms": 5})],
        workload=(Input(0, "k", {"put": "a"}), Input(0, "k", {"put": "b"})),
    )
    world, _ = system.initial()
    before = world
    refused = [
        ("deliver", "sink", "src", msg(7)),  # never sent
        ("deliver", "src", "sink", msg(0)),  # wrong direction
        ("drop", "sink", "src", msg(0)),  # no drop budget
        ("duplicate", "sink", "src", msg(0)),  # no duplicate budget
        ("timer", "k", "nope"),  # not armed
        ("timer", "sink", "tick"),  # armed at another node
        ("input", 1),  # input 0 comes first
        ("input", 2),  # there is no input 2
        ("restart", "k"),  # k is up
        ("frobnicate", "k"),
    ]
    for action in refused:
        assert action not in system.enabled(world)
        with pytest.raises(StepError):
            system.apply(world, action)
    assert world == before
    # After the input both inputs are done; after a crash, crash is refused.
    world = step(system, world, ("input", 0), ("input", 1))
    with pytest.raises(StepError):
        system.apply(world, ("input", 1))
    world = step(system, world, ("crash", "k"))
    with pytest.raises(StepError):
        system.apply(world, ("crash", "k"))


def test_delivered_message_is_gone():
    system = burst(1)
    world, _ = system.initial()
    world = step(system, world, ("deliver", "sink", "src", msg(0)))
    with pytest.raises(StepError):
        system.apply(world, ("deliver", "sink", "src", msg(0)))
    assert system.enabled(world) == []


# ---------------------------------------------------------------------------
# Messages in flight are a multiset


def test_identical_messages_are_copies_in_a_multiset():
    system = burst(2, same=True, check=CheckSpec(drops=1, duplicates=1))
    world, _ = system.initial()
    entry = ("sink", "src", msg(0))
    assert world.inflight == (entry, entry)
    # Copies give the same successors, so each action is listed once.
    assert system.enabled(world) == [
        ("deliver", *entry),
        ("drop", *entry),
        ("duplicate", *entry),
    ]
    three, rec = system.apply(world, ("duplicate", *entry))
    assert rec == {"act": "duplicate", "node": "sink", "src": "src", "msg": {"n": 0}}
    assert three.inflight == (entry, entry, entry)
    assert three.budget == (1, 0, 0)
    assert ("duplicate", *entry) not in system.enabled(three)
    two = step(system, three, ("deliver", *entry))
    assert two.inflight == (entry, entry) and got(system, two) == [0]
    one, rec = system.apply(two, ("drop", *entry))
    assert rec["reason"] == "budget"
    assert one.inflight == (entry,) and one.budget == (0, 0, 0)
    done = step(system, one, ("deliver", *entry))
    assert got(system, done) == [0, 0]
    assert done.inflight == ()


def test_send_order_does_not_matter_to_the_world():
    # Two deliveries in either order of distinct messages to a sorted sink
    # end in the same world (same fingerprint).
    system = make_system(
        [("src", "burst", {"to": "sink", "count": 2}), ("sink", "sink", {"sorted": True})]
    )
    world, _ = system.initial()
    a = step(system, world, ("deliver", "sink", "src", msg(0)), ("deliver", "sink", "src", msg(1)))
    b = step(system, world, ("deliver", "sink", "src", msg(1)), ("deliver", "sink", "src", msg(0)))
    assert a == b
    assert a.fingerprint() == b.fingerprint()
    assert a.fingerprint() != world.fingerprint()
    assert len(a.fingerprint()) == 16


# ---------------------------------------------------------------------------
# Timers


def clock(**config):
    return make_system([("c", "clock", config)])


def test_rearming_a_timer_replaces_it():
    system = clock(timers=[["a", 5], ["a", 7.5]])
    world, [rec] = system.initial()
    assert world.timers == (("c", "a", 7500),)
    assert rec["effects"] == {"set": [["a", 5000], ["a", 7500]]}
    assert system.enabled(world) == [("timer", "c", "a")]
    world, rec = system.apply(world, ("timer", "c", "a"))
    assert rec == {"act": "timer", "node": "c", "effects": {}, "timer": "a"}
    assert world.timers == ()
    assert system.view(world).state("c") == {"fired": ["a"]}


def test_cancel_removes_a_timer():
    system = clock(timers=[["a", 5], ["b", 6]], cancel=["a", "never-set"])
    world, [rec] = system.initial()
    assert world.timers == (("c", "b", 6000),)
    assert rec["effects"] == {"set": [["a", 5000], ["b", 6000]], "cancel": ["a", "never-set"]}
    with pytest.raises(StepError):
        system.apply(world, ("timer", "c", "a"))


def test_timer_rearmed_by_its_own_handler():
    system = make_system([("k", "keeper", {"tick_ms": 2, "repeat": True})])
    world, _ = system.initial()
    for n in range(1, 4):
        world, rec = system.apply(world, ("timer", "k", "tick"))
        assert rec["effects"] == {"set": [["tick", 2000]]}
        assert world.timers == (("k", "tick", 2000),)
        assert system.view(world).state("k")["fired"] == ["tick"] * n
    assert not system.quiescent(world)


# ---------------------------------------------------------------------------
# Crashed nodes


def test_messages_to_a_down_node_can_only_be_dropped():
    system = burst(1, check=CheckSpec(crashes=1))
    world, _ = system.initial()
    entry = ("sink", "src", msg(0))
    world, rec = system.apply(world, ("crash", "sink"))
    assert rec == {"act": "crash", "node": "sink"}
    assert world.up == (True, False) and world.budget == (0, 0, 0)
    # No drop budget is needed; no deliver, no duplicate, no more crashes.
    assert system.enabled(world) == [("drop", *entry), ("restart", "sink")]
    for kind in ("deliver", "duplicate"):
        with pytest.raises(StepError):
            system.apply(world, (kind, *entry))
    after, rec = system.apply(world, ("drop", *entry))
    assert rec == {"act": "drop", "node": "sink", "src": "src", "msg": {"n": 0}, "reason": "down"}
    assert after.inflight == () and after.budget == (0, 0, 0)


def test_crash_disarms_the_node_s_timers_and_restart_reruns_on_start():
    system = make_system(
        [("k", "keeper", {"tick_ms": 3}), ("c", "clock", {"timers": [["x", 1]]})],
        check=CheckSpec(crashes=1),
    )
    world, _ = system.initial()
    assert world.timers == (("c", "x", 1000), ("k", "tick", 3000))
    world = step(system, world, ("crash", "k"))
    assert world.timers == (("c", "x", 1000),)
    world, rec = system.apply(world, ("restart", "k"))
    assert rec == {"act": "restart", "node": "k", "effects": {"set": [["tick", 3000]]}}
    assert world.timers == (("c", "x", 1000), ("k", "tick", 3000))
    assert system.view(world).state("k")["boots"] == 2


def test_input_to_a_down_node_is_lost():
    system = make_system(
        [("k", "keeper")], workload=(Input(0, "k", {"put": "a"}),), check=CheckSpec(crashes=1)
    )
    world, _ = system.initial()
    world = step(system, world, ("crash", "k"))
    world, rec = system.apply(world, ("input", 0))
    assert rec == {"act": "input", "node": "k", "input": 0, "msg": {"put": "a"}, "reason": "down"}
    assert world.workload == 1
    world = step(system, world, ("restart", "k"))
    assert system.view(world).state("k")["cache"] is None


# ---------------------------------------------------------------------------
# Workload and quiescence


def test_inputs_are_delivered_in_order():
    inputs = tuple(Input(0, "k", {"put": v}) for v in ("a", "b", "c"))
    system = make_system([("k", "keeper")], workload=inputs)
    world, _ = system.initial()
    seen = []
    for k in range(3):
        assert system.enabled(world) == [("input", k)]
        world, rec = system.apply(world, ("input", k))
        assert rec == {
            "act": "input",
            "node": "k",
            "effects": {},
            "input": k,
            "msg": {"put": "abc"[k]},
        }
        seen.append(system.view(world).state("k")["cache"])
    assert seen == ["a", "b", "c"]
    assert system.enabled(world) == []


def test_quiescent():
    system = burst(1)
    world, _ = system.initial()
    assert not system.quiescent(world)  # a message in flight
    assert system.quiescent(step(system, world, ("deliver", "sink", "src", msg(0))))
    timer, _ = clock(timers=[["a", 1]]).initial()
    assert not clock().quiescent(timer)  # an armed timer
    assert clock().quiescent(clock().initial()[0])
    pending = make_system([("k", "keeper")], workload=(Input(5, "k", {"put": 1}),))
    w, _ = pending.initial()
    assert not pending.quiescent(w)  # an input still to come
    assert pending.quiescent(step(pending, w, ("input", 0)))
    # A crashed node that never restarts does not prevent quiescence.
    down = make_system([("k", "keeper")], check=CheckSpec(crashes=1))
    w, _ = down.initial()
    w = step(down, w, ("crash", "k"))
    assert down.quiescent(w)
