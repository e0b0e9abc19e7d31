"""Composed nodes: parts own their slice, messages, timers, ops and config."""

from __future__ import annotations

from typing import Any

import pytest
from toy import make_scenario

from mxsim.sim.explore import Explorer
from mxsim.sim.model import Model
from mxsim.sim.node import WORKLOAD, ConfigError, Node
from mxsim.sim.parts import Composed, Part, check_bool, check_count, check_positive
from mxsim.sim.system import System


class Recorder:
    """A context that records effects, for calling handlers directly."""

    def __init__(self) -> None:
        self.sent: list = []
        self.timers: list = []
        self.node, self.switches = "n", {}

    def send(self, dst: str, msg: dict) -> None:
        self.sent.append((dst, msg))

    def set_timer(self, name: str, delay_ms: float) -> None:
        self.timers.append(("set", name))

    def cancel_timer(self, name: str) -> None:
        self.timers.append(("cancel", name))

    def metric(self, name: str, value: int = 1) -> None:
        pass


class Core(Part):
    """Required: counts pings, answers pongs, asks the ledger to note each one."""

    name = "core"
    required = True
    handles = ("ping",)
    ops = ("poke",)
    durable = ("boots",)
    keys = {"to": "a node name"}

    @classmethod
    def check_config(cls, config, node_config, node_names) -> None:
        super().check_config(config, node_config, node_names)
        if config.get("to", "b") not in node_names:
            raise ConfigError("to", "a node name", config.get("to"))

    def initial(self) -> dict[str, Any]:
        return {"pings": 0, "boots": 0}

    def on_start(self, ctx, state) -> None:
        self.of(state)["boots"] += 1

    def on_ping(self, ctx, state, src, msg) -> None:
        self.of(state)["pings"] += 1
        ctx.send(src, {"type": "pong"})
        ledger = self.node.part("ledger")
        if ledger is not None:
            ledger.note(state, src)

    def on_input(self, ctx, state, data) -> None:
        ctx.send(self.config.get("to", "b"), {"type": "ping"})
        ctx.set_timer(self.timer("again"), 10)

    def on_timer(self, ctx, state, name) -> None:
        assert name == "again"
        self.of(state)["pings"] += 100


class Ledger(Part):
    """Optional: remembers who pinged; flushes a count after every input."""

    name = "ledger"
    handles = ("pong",)
    keys = {"limit": "an integer"}

    def initial(self) -> dict[str, Any]:
        return {"who": [], "steps": 0}

    def note(self, state, src) -> None:
        self.of(state)["who"].append(src)

    def on_pong(self, ctx, state, src, msg) -> None:
        self.of(state)["who"].append("pong:" + src)

    def after(self, ctx, state) -> None:
        self.of(state)["steps"] += 1


class Box(Composed):
    kind = "box"
    parts = (Core, Ledger)
    keys = {"label": "a string"}


def test_an_unused_part_adds_nothing_to_the_state():
    assert Box("a", {}, {}).initial_state() == {"core": {"pings": 0, "boots": 0}}
    with_ledger = Box("a", {"ledger": {}}, {}).initial_state()
    assert with_ledger == {"core": {"pings": 0, "boots": 0}, "ledger": {"who": [], "steps": 0}}


def test_messages_go_to_the_part_that_handles_their_type():
    box, ctx = Box("a", {"ledger": {}}, {}), Recorder()
    state = box.initial_state()
    box.on_message(ctx, state, "b", {"type": "ping"})
    box.on_message(ctx, state, "b", {"type": "pong"})
    assert state["core"]["pings"] == 1
    # Core called the ledger directly; the ledger's hook ran after each input.
    assert state["ledger"] == {"who": ["b", "pong:b"], "steps": 2}
    assert ctx.sent == [("b", {"type": "pong"})]


def test_a_message_for_an_unused_part_is_dropped():
    box, ctx = Box("a", {}, {}), Recorder()
    state = box.initial_state()
    box.on_message(ctx, state, "b", {"type": "pong"})
    box.on_message(ctx, state, "b", {"type": "nobody"})
    assert state == {"core": {"pings": 0, "boots": 0}}


def test_workload_inputs_go_by_op_and_timers_by_prefix():
    box, ctx = Box("a", {"core": {"to": "c"}}, {}), Recorder()
    state = box.initial_state()
    box.on_message(ctx, state, WORKLOAD, {"op": "poke"})
    assert ctx.sent == [("c", {"type": "ping"})]
    assert ctx.timers == [("set", "core:again")]
    box.on_timer(ctx, state, "core:again")
    box.on_timer(ctx, state, "ledger:whatever")  # not used here: ignored
    assert state["core"]["pings"] == 100


def test_a_restart_keeps_each_parts_durable_keys():
    box = Box("a", {"ledger": {}}, {})
    old = {"core": {"pings": 7, "boots": 3}, "ledger": {"who": ["x"], "steps": 9}}
    assert box.restart_state(old) == {
        "core": {"pings": 0, "boots": 3},
        "ledger": {"who": [], "steps": 0},
    }


@pytest.mark.parametrize(
    ("config", "field", "expected"),
    [
        ({"colour": 1}, "colour", "one of: label, core, ledger"),
        ({"ledger": 3}, "ledger", "a table: the config of part ledger"),
        ({"ledger": {"limt": 1}}, "ledger.limt", "one of: limit"),
        ({"core": {"to": "zz"}}, "core.to", "a node name"),
    ],
)
def test_config_errors_name_the_part_and_field(config, field, expected):
    with pytest.raises(ConfigError) as e:
        Box.check_config(config, ("a", "b"))
    assert (e.value.field, e.value.expected) == (field, expected)


def test_check_input_asks_the_part_that_takes_the_op():
    Box.check_input({"op": "poke"})
    with pytest.raises(ConfigError) as e:
        Box.check_input({"op": "prod"})
    assert e.value.field == "op" and "poke" in e.value.expected


class Pinger(Node):
    kind = "pinger"

    def on_start(self, ctx, state) -> None:
        ctx.send("a", {"type": "ping"})


def explore(config: dict) -> int:
    model = Model("parts", "test", {"box": Box, "pinger": Pinger})
    scenario = make_scenario([("a", "box", config), ("b", "pinger"), ("c", "pinger")])
    return Explorer(System(scenario, model)).bfs().states


def test_an_unused_part_costs_no_states():
    # The ledger records the order in which b and c pinged (and its step count): it can only
    # multiply states, and a box that does not use it must not pay for it.
    assert explore({"ledger": {}}) > explore({})
    assert explore({}) == explore({"core": {}})


def test_a_kind_lists_the_switches_and_properties_its_parts_bring():
    class Noisy(Part):
        name = "noisy"
        switches = ("loud",)
        properties = ("quiet_eventually",)

    class Loud(Composed):
        parts = (Core, Noisy, Ledger)

    assert Loud.switches_of() == ("loud",)
    assert Loud.properties_of() == ("quiet_eventually",)


@pytest.mark.parametrize(
    ("check", "config", "expected"),
    [
        (lambda c: check_bool(c, "on"), {"on": 1}, "a boolean"),
        (lambda c: check_positive(c, "ms", 5), {"ms": 0}, "a positive number"),
        (lambda c: check_positive(c, "ms", 5), {"ms": True}, "a positive number"),
        (lambda c: check_count(c, "n", 3), {"n": 0}, "an integer >= 1"),
        (lambda c: check_count(c, "n", 3), {"n": 2.0}, "an integer >= 1"),
    ],
)
def test_value_checks_name_the_key(check, config, expected):
    check({})  # the defaults pass
    with pytest.raises(ConfigError) as e:
        check(config)
    assert e.value.field == next(iter(config)) and e.value.expected == expected
