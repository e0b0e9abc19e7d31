"""Breadth-first search gives every violated property its own shortest counterexample."""

from __future__ import annotations

from toy import make_system, msg

from mxsim.sim.explore import Explorer
from mxsim.sim.model import always


def deliver(n: int) -> tuple:
    return ("deliver", "sink", "src", msg(n))


def test_a_violation_reached_through_another_violation_is_found():
    # The only path to [0, 1] passes through [0], which violates first_zero.
    # A search that stopped at a violating world never saw [0, 1].
    first_zero = always("first_zero")(lambda v: v.state("sink")["got"] != [0])
    in_order = always("in_order")(lambda v: v.state("sink")["got"] != [0, 1])
    nodes = [("src", "burst", {"to": "sink", "count": 2}), ("sink", "sink")]
    report = Explorer(make_system(nodes, first_zero, in_order)).bfs()
    assert report.verdicts == {"first_zero": "violated", "in_order": "violated"}
    paths = {c.property: c.actions for c in report.counterexamples}
    assert paths == {"first_zero": [deliver(0)], "in_order": [deliver(0), deliver(1)]}


def test_each_length_equals_a_search_for_that_property_alone():
    # got ends with 2: 1 step; got == [1, 0]: 2 steps; three arrivals: 3 steps.
    props = [
        always("no_2_last")(lambda v: v.state("sink")["got"][-1:] != [2]),
        always("not_10")(lambda v: v.state("sink")["got"] != [1, 0]),
        always("short")(lambda v: len(v.state("sink")["got"]) < 3),
    ]
    nodes = [("src", "burst", {"to": "sink", "count": 3}), ("sink", "sink")]
    together = Explorer(make_system(nodes, *props)).bfs()
    lengths = {c.property: len(c.actions) for c in together.counterexamples}
    for p in props:
        [alone] = Explorer(make_system(nodes, p)).bfs().counterexamples
        assert lengths[p.name] == len(alone.actions)
    assert lengths == {"no_2_last": 1, "not_10": 2, "short": 3}
