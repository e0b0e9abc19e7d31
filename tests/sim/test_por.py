"""Partial-order reduction: sim.por (persistent sets, visibility, the cycle proviso)."""

from __future__ import annotations

from typing import Any

import pytest
from reductions_help import replays, search
from toy import KINDS, make_scenario, msg

from mxsim.sim.model import Model, always, sometimes
from mxsim.sim.node import Context, Node
from mxsim.sim.por import PartialOrder, independent
from mxsim.sim.scenario import CheckSpec
from mxsim.sim.system import System


class Flipper(Node):
    """Flips a bit on a timer that re-arms itself: two worlds in a cycle."""

    kind = "flipper"

    def initial_state(self) -> dict[str, Any]:
        return {"bit": 0}

    def on_start(self, ctx: Context, state: dict) -> None:
        ctx.set_timer("flip", 10)

    def on_timer(self, ctx: Context, state: dict, name: str) -> None:
        state["bit"] = 1 - state["bit"]
        ctx.set_timer("flip", 10)


def system(nodes, *props, **kw) -> System:
    model = Model("toy", "toy", {**KINDS, "flipper": Flipper}, properties=props)
    return System(make_scenario(nodes, props, **kw), model)


TWO_PAIRS = [
    ("b1", "burst", {"to": "s1", "count": 2}),
    ("b2", "burst", {"to": "s2", "count": 2}),
    ("s1", "sink"),
    ("s2", "sink"),
]


def test_independent_actions_are_not_interleaved() -> None:
    sys_ = system(TWO_PAIRS)
    full, finals = search(sys_, "none")
    reduced, rfinals = search(sys_, "por")
    assert reduced.complete and rfinals == finals and len(finals) == 4
    assert reduced.states < full.states


def test_dependence() -> None:
    sys_ = system(TWO_PAIRS, check=CheckSpec(drops=1, timers="idle"))
    world = sys_.initial()[0]
    to_s1, to_s2 = ("deliver", "s1", "b1", msg(0)), ("deliver", "s2", "b2", msg(0))
    drop1, drop2 = ("drop", "s1", "b1", msg(0)), ("drop", "s2", "b2", msg(0))
    assert independent(sys_, world, to_s1, to_s2)
    assert not independent(sys_, world, to_s1, ("deliver", "s1", "b1", msg(1)))  # one node
    assert not independent(sys_, world, drop1, drop2)  # the last drop of the budget
    assert independent(sys_, world, drop1, to_s2)
    two = system(TWO_PAIRS, check=CheckSpec(drops=2))
    assert independent(two, two.initial()[0], drop1, drop2)
    assert not independent(sys_, world, ("timer", "s1", "t"), to_s2)  # idle: the network


@always("never_s2_first")
def never_s2_first(view) -> bool:
    """s2 takes a message while s1 has none: a world only one interleaving shows."""
    return not (view.state("s1")["got"] == [] and view.state("s2")["got"] == [0])


def test_visible_actions_are_not_postponed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(PartialOrder, "horizon", 16)  # room for s2's two deliveries
    sys_ = system(TWO_PAIRS, never_s2_first)
    reduced, _ = search(sys_, "por")
    assert reduced.verdicts == {"never_s2_first": "violated"}
    assert replays(sys_, reduced)


def test_without_the_visibility_condition_the_violation_is_lost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The mutant: every action counts as invisible. This test guards the one above."""
    sys_ = system(TWO_PAIRS, never_s2_first)
    monkeypatch.setattr(PartialOrder, "horizon", 16)
    monkeypatch.setattr(PartialOrder, "_invisible", lambda self, u, ample: True)
    reduced, _ = search(sys_, "por")
    assert reduced.verdicts == {"never_s2_first": "holds"}


@sometimes("delivered")
def delivered(view) -> bool:
    return view.state("s")["got"] == [0]


CYCLE = [("f", "flipper"), ("b", "burst", {"to": "s"}), ("s", "sink")]


def test_the_cycle_proviso_stops_an_action_being_ignored() -> None:
    sys_ = system(CYCLE, delivered)
    reduced, _ = search(sys_, "por")
    assert reduced.verdicts == {"delivered": "reached"}
    assert reduced.complete


def test_without_the_proviso_the_delivery_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    """The mutant: a reduced world may lead back to a world already met."""
    sys_ = system(CYCLE, delivered)
    monkeypatch.setattr(PartialOrder, "successors", _no_proviso)
    reduced, _ = search(sys_, "por")
    assert reduced.verdicts == {"delivered": "vacuous"}


def _no_proviso(self: PartialOrder, world):
    enabled = self.system.enabled(world)
    ample = self._ample(world, enabled) or enabled
    return [(a, self.canonical(self.system.apply(world, a)[0])) for a in ample]


def test_a_crash_budget_leaves_settled_worlds_alone() -> None:
    """Settled worlds with crash budget left still have actions; none is skipped."""
    sys_ = system(TWO_PAIRS, check=CheckSpec(crashes=1))
    full, finals = search(sys_, "none")
    reduced, rfinals = search(sys_, "por")
    assert rfinals == finals
