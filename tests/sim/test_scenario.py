"""Scenario loading and validation: sim.scenario."""

from __future__ import annotations

import copy
import datetime
import json
import pathlib
import tomllib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mxsim.sim.model import Model, Property, Switch
from mxsim.sim.node import ConfigError, Node
from mxsim.sim.scenario import (
    CheckSpec,
    Fault,
    Input,
    Latency,
    Link,
    NodeSpec,
    RunSpec,
    Scenario,
    ScenarioError,
)
from mxsim.sim.scenario_load import from_raw, load
from mxsim.sim.scenario_reader import canonical_raw
from mxsim.sim.scenario_switches import parse_overrides

# ---------------------------------------------------------------------------
# A tiny model


class Peer(Node):
    """Needs config ``peer`` naming a node; inputs are ``{op: send|ping}``."""

    kind = "peer"

    @classmethod
    def check_config(cls, config: dict[str, Any], node_names: tuple[str, ...]) -> None:
        for key in config:
            if key != "peer":
                raise ConfigError(key, "no key but peer", key)
        peer = config.get("peer")
        if not isinstance(peer, str) or peer not in node_names:
            raise ConfigError("peer", "a node name", peer)

    @classmethod
    def check_input(cls, data: dict[str, Any]) -> None:
        if data.get("op") not in ("send", "ping"):
            raise ConfigError("op", "'send' or 'ping'", data.get("op"))


class Observer(Node):
    kind = "observer"


MODEL = Model(
    name="fake",
    doc="A model for the scenario tests.",
    kinds={"peer": Peer, "observer": Observer},
    switches=(
        Switch("omit", False, "a boolean switch"),
        Switch("retries", 3, "an integer switch"),
        Switch("strategy", "local", "a switch with choices", choices=("local", "global")),
        Switch("backoff", 1.5, "a float switch"),
    ),
    properties=(
        Property("safe", "always", lambda view: True),
        Property("done", "eventually", lambda view: True),
        Property("raced", "sometimes", lambda view: True),
    ),
)
MODELS = {"fake": MODEL}

VALID = """
[scenario]
name = "two-peers"
description = "Two peers and an observer."
model = "fake"

[switches]
omit = true
strategy = "global"

[[nodes]]
name = "a"
kind = "peer"
config = { peer = "b" }

[[nodes]]
name = "b"
kind = "peer"
config = { peer = "a" }

[[nodes]]
name = "obs"
kind = "observer"

[network]
latency = { dist = "uniform", low = 1, high = 2.5 }
loss = 0.1

[[network.links]]
src = "a"
dst = "b"
both = true
latency = { dist = "constant", ms = 0.25 }

[[network.links]]
src = "obs"
dst = "a"
duplicate = 0.5

[[faults]]
kind = "partition"
at = 100
heal = 200.5
groups = [["a"], ["b", "obs"]]
oneway = true

[[faults]]
kind = "crash"
node = "b"
at = 50

[[workload]]
at = 30
node = "a"
input = { op = "send" }

[[workload]]
at = 10
node = "b"
input = { op = "ping" }

[[workload]]
at = 10
node = "a"
input = { op = "ping" }

[properties]
check = ["raced", "safe"]

[run]
seed = 7
until = 1000

[check]
max_depth = 12
drops = 1
timers = "idle"
"""

MINIMAL = """
[scenario]
name = "one"
description = "One observer."
model = "fake"

[[nodes]]
name = "o"
kind = "observer"
"""


def valid_raw() -> dict[str, Any]:
    return tomllib.loads(VALID)


def write(tmp_path: pathlib.Path, text: str, name: str = "s.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def assert_one_line(err: ScenarioError, source: str) -> str:
    msg = str(err)
    assert msg.splitlines() == [msg]
    assert msg.startswith(source + ": ")
    return msg


# ---------------------------------------------------------------------------
# Valid scenarios


def test_valid_scenario(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path, VALID)
    got = load(path, MODELS, {}, {"retries": "5"})
    slow = Latency("uniform", a=1000, b=2500)
    fast = Link(Latency("constant", a=250), loss=0.1)
    assert got == Scenario(
        name="two-peers",
        description="Two peers and an observer.",
        model="fake",
        source=path,
        switches={"omit": True, "retries": 5, "strategy": "global", "backoff": 1.5},
        nodes=(
            NodeSpec("a", "peer", {"peer": "b"}),
            NodeSpec("b", "peer", {"peer": "a"}),
            NodeSpec("obs", "observer", {}),
        ),
        default_link=Link(slow, loss=0.1),
        links={
            ("a", "b"): fast,
            ("b", "a"): fast,  # both = true
            ("obs", "a"): Link(slow, loss=0.1, duplicate=0.5),  # the rest inherited
        },
        faults=(
            Fault(
                "partition", at=100_000, until=200_500, groups=(("a",), ("b", "obs")), oneway=True
            ),
            Fault("crash", at=50_000, node="b"),
        ),
        workload=(  # sorted by time, file order kept among equals
            Input(10_000, "b", {"op": "ping"}),
            Input(10_000, "a", {"op": "ping"}),
            Input(30_000, "a", {"op": "send"}),
        ),
        properties=("raced", "safe"),
        run=RunSpec(seed=7, until=1_000_000),
        check=CheckSpec(max_depth=12, drops=1, timers="idle"),
    )
    assert got.link("a", "obs") == got.default_link


def test_defaults(tmp_path: pathlib.Path) -> None:
    got = load(write(tmp_path, MINIMAL), MODELS, {})
    assert got.switches == {"omit": False, "retries": 3, "strategy": "local", "backoff": 1.5}
    assert got.default_link == Link(Latency("constant", a=1000))
    assert got.links == {} and got.faults == () and got.workload == ()
    assert got.properties == ("safe", "done", "raced")  # model order
    assert got.run == RunSpec(seed=0, until=60_000_000)
    assert got.check == CheckSpec()


@pytest.mark.parametrize(
    "latency, expected",
    [
        ({"dist": "constant", "ms": 5}, Latency("constant", a=5000)),
        ({"dist": "constant", "ms": 0}, Latency("constant", a=0)),
        ({"dist": "uniform", "low": 2, "high": 2}, Latency("uniform", a=2000, b=2000)),
        ({"dist": "exponential", "mean": 0.0015}, Latency("exponential", a=2)),
        ({"dist": "lognormal", "median": 5, "sigma": 0.5}, Latency("lognormal", 5000, 500_000)),
        ({"dist": "lognormal", "median": 5, "sigma": 0}, Latency("lognormal", 5000, 0)),
    ],
)
def test_latencies(latency: dict[str, Any], expected: Latency) -> None:
    raw = tomllib.loads(MINIMAL)
    raw["network"] = {"latency": latency}
    assert from_raw(raw, "x", MODELS, {}).default_link.latency == expected


def test_raw_survives_json(tmp_path: pathlib.Path) -> None:
    """A trace embeds the raw table as JSON and replays it through from_raw."""
    path = write(tmp_path, VALID)
    direct = load(path, MODELS, {}, {"omit": "false"})
    replayed = from_raw(json.loads(json.dumps(valid_raw())), path, MODELS, {"omit": "false"})
    assert replayed == direct


def test_scenario_does_not_share_raw() -> None:
    raw = valid_raw()
    got = from_raw(raw, "x", MODELS, {})
    got.nodes[0].config["peer"] = "changed"
    assert raw["nodes"][0]["config"]["peer"] == "b"


def test_bundled_name(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    bundled = {"two-peers": pathlib.Path(write(tmp_path, VALID, "bundled.toml"))}
    assert load("two-peers", MODELS, bundled).source == "two-peers"
    # an existing file wins over a bundled name
    (tmp_path / "two-peers").write_text(MINIMAL, encoding="utf-8")
    assert load("two-peers", MODELS, bundled).name == "one"


def test_bom_is_accepted(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + MINIMAL.encode())
    assert load(str(path), MODELS, {}).name == "one"


# ---------------------------------------------------------------------------
# Overrides


@pytest.mark.parametrize(
    "item, value",
    [
        ("strategy=local", "local"),  # not TOML: the bare string
        ('strategy="global"', "global"),
        ("omit=false", False),
        ("retries=10", 10),
        ("backoff=2.5", 2.5),
        ("backoff = 2", 2),
    ],
)
def test_override_values(item: str, value: Any) -> None:
    overrides = parse_overrides([item])
    got = from_raw(tomllib.loads(MINIMAL), "x", MODELS, overrides)
    name = item.split("=")[0].strip()
    assert got.switches[name] == value
    assert type(got.switches[name]) is type(value)


def test_override_wins_over_file() -> None:
    got = from_raw(valid_raw(), "x", MODELS, {"strategy": "local"})
    assert got.switches["strategy"] == "local"


def test_parse_overrides() -> None:
    assert parse_overrides(["a=1", "b.c-d=x=y", "a=2", "e="]) == {"a": "2", "b.c-d": "x=y", "e": ""}


@pytest.mark.parametrize("item", ["noequals", "=1", "a b=1", "a\nb=1"])
def test_parse_overrides_malformed(item: str) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_overrides(["ok=1", item])
    assert info.value.field == (item if item.isprintable() else json.dumps(item))
    assert info.value.expected == "NAME=VALUE"
    assert_one_line(info.value, "--set")


@pytest.mark.parametrize(
    "overrides, field, expected",
    [
        ({"colour": "red"}, "--set colour", "one of the model's switches: omit, retries"),
        ({"retries": "many"}, "--set retries", "an integer"),
        ({"retries": "true"}, "--set retries", "an integer"),
        ({"omit": "1"}, "--set omit", "a boolean"),
        ({"strategy": "both"}, "--set strategy", "one of 'local', 'global'"),
        ({"omit": "1979-05-27"}, "--set omit", "a boolean"),  # a date falls back to a string
    ],
)
def test_override_errors(overrides: dict[str, str], field: str, expected: str) -> None:
    with pytest.raises(ScenarioError) as info:
        from_raw(tomllib.loads(MINIMAL), "s.toml", MODELS, overrides)
    assert info.value.field == field
    assert info.value.expected.startswith(expected)
    assert_one_line(info.value, "s.toml")


# ---------------------------------------------------------------------------
# Errors in the table


def put(path: str, value: Any) -> Any:
    """A mutation setting the dotted ``path`` (list indexes as numbers) to ``value``."""

    def mutate(raw: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        box: Any = raw
        for p in parents:
            box = box[int(p)] if isinstance(box, list) else box.setdefault(p, {})
        box[int(last) if isinstance(box, list) else last] = value

    return mutate


def drop(path: str) -> Any:
    def mutate(raw: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        box: Any = raw
        for p in parents:
            box = box[int(p)] if isinstance(box, list) else box[p]
        del box[int(last) if isinstance(box, list) else last]

    return mutate


UNIFORM = {"dist": "uniform", "low": 1, "high": 2}

ERRORS = [
    # scenario table
    (drop("scenario"), "scenario", "a table"),
    (put("scenario", [1]), "scenario", "a table"),
    (drop("scenario.name"), "scenario.name", "a string"),
    (put("scenario.name", "Two Peers"), "scenario.name", "a name matching"),
    (put("scenario.name", 3), "scenario.name", "a string"),
    (put("scenario.description", "two\nlines"), "scenario.description", "a non-empty single"),
    (put("scenario.description", " "), "scenario.description", "a non-empty single"),
    (put("scenario.model", "other"), "scenario.model", "one of: fake"),
    # unknown keys
    (put("extra", 1), "extra", "one of: scenario, switches, nodes"),
    (put("scenario.version", 2), "scenario.version", "one of: name, description, model"),
    (put("nodes.0.colour", "red"), "nodes[0].colour", "one of: name, kind, config"),
    (put("nodes.0.a b", 1), 'nodes[0]."a b"', "one of: name, kind, config"),
    (put("nodes.0.café", 1), 'nodes[0]."café"', "one of: name, kind, config"),
    (put("nodes.0.x\u2028y", 1), 'nodes[0]."x\\u2028y"', "one of: name, kind, config"),
    (put("nodes.0.config.x\ny", 1), 'nodes[0].config."x\\ny"', "no key but peer"),
    (put("run.steps", 1), "run.steps", "one of: seed, until"),
    (put("check.max_steps", 1), "check.max_steps", "one of: max_depth"),
    (put("properties.skip", []), "properties.skip", "one of: check"),
    # nodes
    (drop("nodes"), "nodes", "an array of at least one table"),
    (put("nodes", []), "nodes", "an array of at least one table"),
    (put("nodes", {"name": "a"}), "nodes", "an array of at least one table"),
    (put("nodes.1", "b"), "nodes[1]", "a table"),
    (put("nodes.1.name", "a"), "nodes[1].name", "a name not used by another node (nodes[0])"),
    (put("nodes.0.name", "a b"), "nodes[0].name", "a node name matching"),
    (put("nodes.2.kind", "server"), "nodes[2].kind", "one of: peer, observer"),
    (put("nodes.2.kind", True), "nodes[2].kind", "a string"),
    (put("nodes.0.config", "b"), "nodes[0].config", "a table"),
    (put("nodes.0.config.peer", "zed"), "nodes[0].config.peer", "a node name"),
    (drop("nodes.0.config"), "nodes[0].config.peer", "a node name"),
    # network
    (put("network.latency.dist", "gaussian"), "network.latency.dist", "one of: constant, uniform"),
    (drop("network.latency.dist"), "network.latency.dist", "a string"),
    (put("network.latency", {"dist": "constant", "mean": 1}), "network.latency.mean", "one of:"),
    (put("network.latency.high", 0.5), "network.latency.high", "a number of milliseconds >= low"),
    (put("network.latency.low", -1), "network.latency.low", "a number of milliseconds >= 0"),
    (put("network.latency.low", float("nan")), "network.latency.low", "a finite number"),
    (put("network.latency.high", float("inf")), "network.latency.high", "a finite number"),
    (put("network.latency.high", 1e308), "network.latency.high", "a number of milliseconds"),
    (put("network.latency.high", True), "network.latency.high", "a number of milliseconds"),
    (put("network.latency", {"dist": "exponential", "mean": 0}), "network.latency.mean", "a num"),
    (
        put("network.latency", {"dist": "lognormal", "median": 1, "sigma": -0.1}),
        "network.latency.sigma",
        "a finite number >= 0",
    ),
    (put("network.loss", 1), "network.loss", "a number in [0, 1)"),
    (put("network.loss", True), "network.loss", "a number"),
    (put("network.duplicate", -0.1), "network.duplicate", "a number in [0, 1)"),
    (put("network.links.1.src", "zed"), "network.links[1].src", "a node name, one of: a, b, obs"),
    (drop("network.links.0.dst"), "network.links[0].dst", "a string"),
    (put("network.links.0.latency.dist", "x"), "network.links[0].latency.dist", "one of:"),
    (put("network.links.0.both", "yes"), "network.links[0].both", "a boolean"),
    (put("network.links.0.weight", 1), "network.links[0].weight", "one of: src, dst, both"),
    (put("network.links.1", {"src": "b", "dst": "a"}), "network.links[1]", "at most one override"),
    (put("network.links", UNIFORM), "network.links", "an array of tables"),
    # faults
    (put("faults.0.kind", "flood"), "faults[0].kind", "one of: partition, crash"),
    (put("faults.0.node", "a"), "faults[0].node", "one of: kind, at, heal, groups, oneway"),
    (put("faults.1.groups", []), "faults[1].groups", "one of: kind, node, at, restart"),
    (drop("faults.0.at"), "faults[0].at", "a number of milliseconds >= 0"),
    (put("faults.0.heal", 100), "faults[0].heal", "a time after at (100 ms)"),
    (put("faults.1.restart", 10), "faults[1].restart", "a time after at (50 ms)"),
    (put("faults.0.groups", [["a", "b", "obs"]]), "faults[0].groups", "an array of at least 2"),
    (put("faults.0.groups", "a"), "faults[0].groups", "an array"),
    (put("faults.0.groups", [["a"], []]), "faults[0].groups[1]", "a non-empty array"),
    (put("faults.0.groups", [["a"], "b"]), "faults[0].groups[1]", "a non-empty array"),
    (put("faults.0.groups", [["a"], ["b", "a"]]), "faults[0].groups[1][1]", "a node not already"),
    (put("faults.0.groups", [["a"], ["b", "zed"]]), "faults[0].groups[1][1]", "a node name"),
    (put("faults.0.groups", [["a"], ["b", 1]]), "faults[0].groups[1][1]", "a node name"),
    (put("faults.0.oneway", 1), "faults[0].oneway", "a boolean"),
    (put("faults.1.node", "zed"), "faults[1].node", "a node name, one of: a, b, obs"),
    # workload
    (put("workload.0.node", "zed"), "workload[0].node", "a node name"),
    (drop("workload.0.input"), "workload[0].input", "a table"),
    (put("workload.1.input.op", "shout"), "workload[1].input.op", "'send' or 'ping'"),
    (put("workload.2.at", -5), "workload[2].at", "a number of milliseconds >= 0"),
    (put("workload.2.at", "5"), "workload[2].at", "a number of milliseconds >= 0"),
    # properties
    (put("properties.check", ["safe", "fast"]), "properties.check[1]", "a property name, one"),
    (put("properties.check", ["safe", "safe"]), "properties.check[1]", "each property at most"),
    (put("properties.check", "safe"), "properties.check", "an array"),
    # switches
    (put("switches.colour", "red"), "switches.colour", "one of: omit, retries, strategy"),
    (put("switches.strategy", "both"), "switches.strategy", "one of 'local', 'global'"),
    (put("switches.retries", True), "switches.retries", "an integer"),
    (put("switches", [1]), "switches", "a table"),
    # run and check
    (put("run.seed", True), "run.seed", "an integer"),
    (put("run.seed", 1.0), "run.seed", "an integer"),
    (put("run.seed", -1), "run.seed", "an integer >= 0"),
    (put("run.until", 0), "run.until", "a number of milliseconds >= 0.001"),
    (put("run.until", 0.0001), "run.until", "a number of milliseconds >= 0.001"),
    (put("check.max_depth", 0), "check.max_depth", "an integer >= 1"),
    (put("check.max_states", False), "check.max_states", "an integer"),
    (put("check.max_seconds", 0), "check.max_seconds", "a finite number > 0"),
    (put("check.max_seconds", 10**400), "check.max_seconds", "a finite number > 0"),
    (put("check.drops", -1), "check.drops", "an integer >= 0"),
    (put("check.timers", "never"), "check.timers", "one of: any, idle"),
    # values that are not plain JSON data
    (put("nodes.0.config.when", datetime.date(2015, 1, 1)), "nodes[0].config.when", "a string or"),
    (put("run.seed", datetime.datetime(2015, 1, 1)), "run.seed", "a string or number (TOML dates"),
    (put("workload.0.input.t", datetime.time(12)), "workload[0].input.t", "a string or number"),
    (put("run.seed", None), "run.seed", "a string, number, boolean, array or table"),
    (put("run.seed", (1,)), "run.seed", "a string, number, boolean, array or table"),
    (put("network.links.0.loss", float("nan")), "network.links[0].loss", "a finite number"),
    (lambda raw: raw["run"].update({7: 1}), "run", "string keys"),
]


@pytest.mark.parametrize(
    "mutate, field, expected", ERRORS, ids=[f"{i}-{e[1]}" for i, e in enumerate(ERRORS)]
)
def test_errors(mutate: Any, field: str, expected: str) -> None:
    raw = valid_raw()
    mutate(raw)
    with pytest.raises(ScenarioError) as info:
        from_raw(raw, "bad.toml", MODELS, {})
    assert (info.value.field, info.value.expected[: len(expected)]) == (field, expected)
    msg = assert_one_line(info.value, "bad.toml")
    assert f": {field}: expected {expected}" in msg


def test_raw_must_be_a_table() -> None:
    with pytest.raises(ScenarioError) as info:
        from_raw([1], "t.json", MODELS, {})  # type: ignore[arg-type]
    assert info.value.field == "(top level)"
    assert_one_line(info.value, "t.json")


def test_canonical_raw() -> None:
    raw = valid_raw()
    assert canonical_raw(raw) is raw
    with pytest.raises(ScenarioError) as info:
        canonical_raw({"a": [1, {"b": {1, 2}}]}, "src")
    assert info.value.field == "a[1].b"
    assert_one_line(info.value, "src")


# ---------------------------------------------------------------------------
# Errors in the file


def load_error(arg: str, bundled: dict[str, pathlib.Path] | None = None) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load(arg, MODELS, bundled or {})
    assert_one_line(info.value, arg)
    return info.value


def test_toml_syntax_error(tmp_path: pathlib.Path) -> None:
    path = write(tmp_path, MINIMAL + "\nbroken = \n")
    err = load_error(path)
    assert (err.field, err.expected) == ("(syntax)", "valid TOML")
    assert "line 11" in err.found


def test_toml_datetime(tmp_path: pathlib.Path) -> None:
    err = load_error(write(tmp_path, MINIMAL + "when = 1979-05-27T07:32:00Z\n"))
    assert err.field == "nodes[0].when"  # the array-of-tables header still applies
    assert "dates and times are not supported" in err.expected


def test_missing_file(tmp_path: pathlib.Path) -> None:
    err = load_error(str(tmp_path / "nope.toml"), {"beta": tmp_path, "alpha": tmp_path})
    assert err.field == "scenario"
    assert err.expected == "a TOML file or a bundled scenario name (one of: alpha, beta)"


def test_directory(tmp_path: pathlib.Path) -> None:
    err = load_error(str(tmp_path))
    assert (err.field, err.expected) == ("(file)", "a TOML file")


def test_bundled_file_missing(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    err = load_error("gone", {"gone": tmp_path / "gone.toml"})
    assert (err.field, err.expected) == ("(file)", "a readable file")


def test_not_utf8(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(MINIMAL.encode() + b'x = "caf\xe9"\n')
    err = load_error(str(path))
    assert (err.field, err.expected) == ("(file)", "UTF-8 text")
    assert err.found == f"byte 0xe9 at offset {len(MINIMAL) + 8}"


@pytest.mark.parametrize("text", ["a = " + "[" * 5000, "a = " + "1" * 5000])
def test_pathological_toml(tmp_path: pathlib.Path, text: str) -> None:
    assert load_error(write(tmp_path, text)).field == "(syntax)"


# ---------------------------------------------------------------------------
# Properties: every input either loads or gives a one-line ScenarioError

LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=6)
    | st.dates()
    | st.datetimes()
    # values that pass the type checks and so get further into validation
    | st.sampled_from(["a", "b", "obs", "zed", "peer", "uniform", "crash", "send", 0, 1, 0.5, -1])
)
JSONISH = st.recursive(
    LEAVES,
    lambda kids: (
        st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=6), kids, max_size=3)
    ),
    max_leaves=6,
)


def containers(value: Any) -> list[Any]:
    """Every table and array inside ``value``, ``value`` included."""
    found = []
    if isinstance(value, dict | list):
        found.append(value)
        for item in value.values() if isinstance(value, dict) else value:
            found.extend(containers(item))
    return found


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_mutated_raw(data: st.DataObject) -> None:
    raw = valid_raw()
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        box = data.draw(st.sampled_from(containers(raw)))
        slots = list(box) if isinstance(box, dict) else list(range(len(box)))
        op = data.draw(st.sampled_from(["delete", "replace", "add"]))
        if op == "add" or not slots:
            value = data.draw(JSONISH)
            if isinstance(box, dict):
                box[data.draw(st.text(max_size=8))] = value
            else:
                box.append(value)
        else:
            slot = data.draw(st.sampled_from(slots))
            if op == "delete":
                del box[slot]
            else:
                box[slot] = data.draw(JSONISH)
    names = st.sampled_from(["omit", "retries", "strategy", "backoff", "nope"])
    overrides = data.draw(st.dictionaries(names, st.text(max_size=6), max_size=2))
    try:
        got = from_raw(copy.deepcopy(raw), "fuzz.toml", MODELS, overrides)
    except ScenarioError as e:
        assert_one_line(e, "fuzz.toml")
    else:
        assert isinstance(got, Scenario)


def spliced(text: str) -> st.SearchStrategy[str]:
    """``text`` with a random slice replaced by random text."""
    n = len(text)
    return st.tuples(st.integers(0, n), st.integers(0, 20), st.text(max_size=20)).map(
        lambda t: text[: t[0]] + t[2] + text[t[0] + t[1] :]
    )


@settings(max_examples=300, deadline=None)
@given(
    content=st.binary(max_size=200)
    | st.text(max_size=200).map(str.encode)
    | spliced(VALID).map(str.encode)
    | spliced(MINIMAL).map(str.encode)
)
def test_random_files(tmp_path_factory: pytest.TempPathFactory, content: bytes) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "f.toml"
    path.write_bytes(content)
    try:
        load(str(path), MODELS, {})
    except ScenarioError as e:
        assert_one_line(e, str(path))
