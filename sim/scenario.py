"""Scenarios: topology, links, faults, workload, switches, properties, bounds.

A scenario is a TOML file; :func:`load` turns it into a frozen
:class:`Scenario` or raises :class:`ScenarioError`, whose message is one line
naming the file, the field, what was expected and what was found.

Times in the file are milliseconds (int or float); inside the engine they are
integer microseconds, so that no float ever reaches a trace.
"""

from __future__ import annotations

import copy
import datetime
import json
import math
import pathlib
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NoReturn

from mxsim.sim import renaming
from mxsim.sim.model import Model
from mxsim.sim.node import ConfigError

__all__ = [
    "Latency",
    "Link",
    "Fault",
    "Input",
    "NodeSpec",
    "RunSpec",
    "CheckSpec",
    "Scenario",
    "ScenarioError",
    "load",
    "from_raw",
    "parse_overrides",
    "canonical_raw",
]


class ScenarioError(Exception):
    """Bad scenario input; ``str()`` is the one line shown to the user."""

    def __init__(self, source: str, field: str, expected: str, found: Any) -> None:
        shown = repr(found)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"{source}: {field}: expected {expected}, found {shown}")
        self.source = source
        self.field = field
        self.expected = expected
        self.found = found


@dataclass(frozen=True)
class Latency:
    """A latency distribution; parameters in microseconds.

    dist: "constant" (a), "uniform" (a..b), "exponential" (mean a),
    "lognormal" (median a, sigma b as a dimensionless shape in millionths).
    """

    dist: str = "constant"
    a: int = 1000
    b: int = 0


@dataclass(frozen=True)
class Link:
    latency: Latency = Latency()
    loss: float = 0.0
    duplicate: float = 0.0


@dataclass(frozen=True)
class Fault:
    """kind "partition" (groups, oneway, at, heal) or "crash" (node, at, restart)."""

    kind: str
    at: int
    until: int | None = None  # heal / restart time, None = never
    node: str | None = None
    groups: tuple[tuple[str, ...], ...] = ()
    oneway: bool = False


@dataclass(frozen=True)
class Input:
    at: int
    node: str
    data: dict[str, Any]


@dataclass(frozen=True)
class NodeSpec:
    name: str
    kind: str
    config: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunSpec:
    seed: int = 0
    until: int = 60_000_000


@dataclass(frozen=True)
class CheckSpec:
    max_depth: int = 40
    max_states: int = 200_000
    max_seconds: float = 120.0
    drops: int = 0
    duplicates: int = 0
    crashes: int = 0
    # "any": a timer may fire at any step; "idle": only when no message is in flight
    timers: str = "any"
    # groups of interchangeable nodes (sim/renaming.py): explored once up to renaming
    symmetry: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    model: str
    source: str
    switches: dict[str, Any]
    nodes: tuple[NodeSpec, ...]
    default_link: Link = Link()
    links: dict[tuple[str, str], Link] = field(default_factory=dict)
    faults: tuple[Fault, ...] = ()
    workload: tuple[Input, ...] = ()
    properties: tuple[str, ...] = ()
    run: RunSpec = RunSpec()
    check: CheckSpec = CheckSpec()

    def link(self, src: str, dst: str) -> Link:
        return self.links.get((src, dst), self.default_link)


# ---------------------------------------------------------------------------
# Loading


_NO_OVERRIDES: Mapping[str, str] = MappingProxyType({})

_TOP_KEYS = (
    "scenario",
    "switches",
    "nodes",
    "network",
    "faults",
    "workload",
    "properties",
    "run",
    "check",
)
_SCENARIO_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")
_NODE_NAME = re.compile(r"[A-Za-z0-9_.:-]+")
_OVERRIDE = re.compile(r"([A-Za-z0-9_.-]+)\s*=(.*)", re.DOTALL)
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def load(
    arg: str,
    models: Mapping[str, Model],
    bundled: Mapping[str, pathlib.Path],
    overrides: Mapping[str, str] = _NO_OVERRIDES,
) -> Scenario:
    """Load the scenario ``arg``: a path to a TOML file or a bundled scenario name.

    An existing file wins over a bundled name, so a local copy can shadow a
    bundled scenario. ``overrides`` are ``--set`` values (see
    :func:`parse_overrides`), applied over the file's switches. Any problem
    raises :class:`ScenarioError` with ``source`` the argument as given.
    """
    path = pathlib.Path(arg)
    if arg and path.is_file():
        pass
    elif arg in bundled:
        path = bundled[arg]
    elif arg and path.exists():
        raise ScenarioError(arg, "(file)", "a TOML file", "a directory" if path.is_dir() else arg)
    else:
        names = ", ".join(sorted(bundled)) or "none"
        expected = f"a TOML file or a bundled scenario name (one of: {names})"
        raise ScenarioError(arg, "scenario", expected, arg)
    return from_raw(_read_toml(path, arg), arg, models, overrides)


def _read_toml(path: pathlib.Path, source: str) -> dict[str, Any]:
    """Parse the TOML file at ``path``, turning every failure into a ScenarioError."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ScenarioError(source, "(file)", "a readable file", e.strerror or str(e)) from None
    try:
        # utf-8-sig: editors on some systems prepend a byte order mark, which
        # tomllib would otherwise report as an invalid statement.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        found = f"byte 0x{data[e.start]:02x} at offset {e.start}"
        raise ScenarioError(source, "(file)", "UTF-8 text", found) from None
    try:
        return tomllib.loads(text)
    except ValueError as e:
        # a TOMLDecodeError, or e.g. an integer literal beyond Python's digit limit
        raise ScenarioError(source, "(syntax)", "valid TOML", _one_line(str(e))) from None
    except RecursionError:
        # tomllib parses nested arrays and inline tables recursively
        raise ScenarioError(source, "(syntax)", "valid TOML", "nesting too deep") from None


def parse_overrides(items: Sequence[str]) -> dict[str, str]:
    """Parse ``--set NAME=VALUE`` items into ``{NAME: VALUE}``; a later item wins.

    Values stay text here (that is what a trace records); :func:`from_raw`
    reads each as a TOML value, or as a bare string if it is not one.
    """
    result: dict[str, str] = {}
    for item in items:
        m = _OVERRIDE.fullmatch(item.strip())
        if m is None:
            where = item if item.isprintable() else _quote(item)
            raise ScenarioError("--set", where, "NAME=VALUE", item)
        result[m.group(1)] = m.group(2)
    return result


def canonical_raw(raw: Any, source: str = "<raw>") -> dict[str, Any]:
    """Return ``raw`` unchanged after checking that it is plain JSON data.

    Plain means: a table with string keys whose values are strings, integers,
    finite floats, booleans, arrays and tables of the same. That is what a
    trace can embed and read back to the same scenario.
    """
    if not isinstance(raw, dict):
        raise ScenarioError(source, "(top level)", "a table", type(raw).__name__)
    bad = _unplain(raw)
    if bad is not None:
        path, expected, found = bad
        raise ScenarioError(source, path or "(top level)", expected, found)
    return raw


def _unplain(value: Any) -> tuple[str, str, Any] | None:
    """The first part of ``value`` that is not plain JSON data, or None.

    Returns (field path, expected, found). Iterative rather than recursive so
    that deeply nested input cannot blow the stack.
    """
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, v = stack.pop()
        if isinstance(v, dict):
            for k in v:
                if not isinstance(k, str):
                    return path, "string keys", k
            # reversed, so that the first problem in document order is reported
            stack.extend((_join(path, k), item) for k, item in reversed(v.items()))
        elif isinstance(v, list):
            stack.extend((f"{path}[{i}]", item) for i, item in reversed(list(enumerate(v))))
        elif isinstance(v, float):
            if not math.isfinite(v):
                return path, "a finite number", v
        elif isinstance(v, datetime.date | datetime.time):
            # a datetime is a date subclass, so this catches all TOML date/time values
            return path, "a string or number (TOML dates and times are not supported)", v
        elif not isinstance(v, str | int):  # bool is an int subclass
            return path, "a string, number, boolean, array or table", v
    return None


def from_raw(
    raw: dict[str, Any],
    source: str,
    models: Mapping[str, Model],
    overrides: Mapping[str, str] = _NO_OVERRIDES,
) -> Scenario:
    """Validate a parsed scenario table and build the :class:`Scenario`.

    ``raw`` is what tomllib returned, or the same after a JSON round trip (a
    trace embeds it), so only JSON types are relied on. ``source`` names the
    file in error messages and becomes ``Scenario.source``.
    """
    # Deep copy: the Scenario must not share mutable tables with ``raw``, which
    # the caller may keep (a trace stores it) while nodes read their config.
    try:
        raw = copy.deepcopy(canonical_raw(raw, source))
    except RecursionError:
        expected = "less deeply nested tables and arrays"
        raise ScenarioError(source, "(top level)", expected, "nesting too deep") from None
    top = _Reader(source, "", raw)
    top.only(*_TOP_KEYS)

    head = top.table("scenario", required=True)
    head.only("name", "description", "model")
    name = head.req("name", _STR)
    if not _SCENARIO_NAME.fullmatch(name):
        head.fail("name", "a name matching [a-z0-9][a-z0-9-]*", name)
    description = head.req("description", _STR)
    if not description.strip() or description.splitlines() != [description]:
        head.fail("description", "a non-empty single line", description)
    model_name = head.req("model", _STR)
    if model_name not in models:
        head.fail("model", _one_of(models), model_name)
    model = models[model_name]

    nodes = _nodes(top, model)
    names = tuple(n.name for n in nodes)
    default_link, links = _network(top.table("network"), names)
    faults = tuple(_fault(r, names) for r in top.array("faults"))
    kinds = {n.name: n.kind for n in nodes}
    workload = tuple(_input(r, kinds, model) for r in top.array("workload"))

    return Scenario(
        name=name,
        description=description,
        model=model_name,
        source=source,
        switches=_switches(top.table("switches"), model, overrides),
        nodes=nodes,
        default_link=default_link,
        links=links,
        faults=faults,
        # stable: inputs at the same time keep their file order
        workload=tuple(sorted(workload, key=lambda i: i.at)),
        properties=_properties(top.table("properties"), model),
        run=_run(top.table("run")),
        check=_check(top.table("check"), nodes, workload),
    )


# ---------------------------------------------------------------------------
# Sections


def _switches(r: _Reader, model: Model, overrides: Mapping[str, str]) -> dict[str, Any]:
    """All of the model's switches: defaults, then the file, then ``--set``."""
    values = {s.name: s.default for s in model.switches}
    known = [s.name for s in model.switches]
    for key, value in r.data.items():
        switch = model.switch(key)
        if switch is None:
            r.fail(key, _one_of(known), key)
        problem = switch.check(value)
        if problem is not None:
            r.fail(key, problem, value)
        values[key] = value
    for key, text in overrides.items():
        where = "--set " + _key(key)
        switch = model.switch(key)
        if switch is None:
            names = ", ".join(known) or "none"
            raise ScenarioError(r.source, where, f"one of the model's switches: {names}", key)
        if not isinstance(text, str):  # only possible when replaying a damaged trace
            raise ScenarioError(r.source, where, "a string", text)
        value = _override_value(text)
        problem = switch.check(value)
        if problem is not None:
            raise ScenarioError(r.source, where, problem, value)
        values[key] = value
    return values


def _override_value(text: str) -> Any:
    """Read ``text`` as a TOML value; fall back to the bare (stripped) string.

    The fallback is what lets ``--set strategy=local`` mean the string
    "local" without shell-unfriendly quotes.
    """
    try:
        parsed = tomllib.loads("v = " + text)
    except (ValueError, RecursionError):  # TOMLDecodeError is a ValueError
        return text.strip()
    # More than one key means the text smuggled in a newline and another
    # assignment; a date or NaN could not go into a trace. Neither is a value.
    if list(parsed) != ["v"] or _unplain(parsed["v"]) is not None:
        return text.strip()
    return parsed["v"]


def _nodes(top: _Reader, model: Model) -> tuple[NodeSpec, ...]:
    readers = top.array("nodes", required=True)
    specs: list[NodeSpec] = []
    first: dict[str, int] = {}
    for i, r in enumerate(readers):
        r.only("name", "kind", "config")
        name = r.req("name", _STR)
        if not _NODE_NAME.fullmatch(name):
            r.fail("name", "a node name matching [A-Za-z0-9_.:-]+", name)
        if name in first:
            r.fail("name", f"a name not used by another node (nodes[{first[name]}])", name)
        first[name] = i
        kind = r.req("kind", _STR)
        if kind not in model.kinds:
            r.fail("kind", _one_of(model.kinds), kind)
        specs.append(NodeSpec(name, kind, r.opt("config", _TABLE, {})))
    # Configs are checked once all names are known: they may name later nodes.
    names = tuple(first)
    for r, spec in zip(readers, specs, strict=True):
        try:
            model.kinds[spec.kind].check_config(spec.config, names)
        except ConfigError as e:
            raise _config_error(r, "config", e) from None
    return tuple(specs)


def _network(r: _Reader, names: tuple[str, ...]) -> tuple[Link, dict[tuple[str, str], Link]]:
    r.only("latency", "loss", "duplicate", "links")
    default = _link(r, Link())
    links: dict[tuple[str, str], Link] = {}
    set_by: dict[tuple[str, str], str] = {}
    for lr in r.array("links"):
        lr.only("src", "dst", "both", "latency", "loss", "duplicate")
        src = _node_ref(lr, "src", names)
        dst = _node_ref(lr, "dst", names)
        pairs = [(src, dst)]
        if lr.opt("both", _BOOL, False) and dst != src:
            pairs.append((dst, src))
        link = _link(lr, default)
        for pair in pairs:
            # Two overrides of one link would silently shadow each other.
            if pair in set_by:
                expected = f"at most one override per directed link (also set by {set_by[pair]})"
                raise ScenarioError(lr.source, lr.path, expected, f"{pair[0]} -> {pair[1]}")
            set_by[pair] = lr.path
            links[pair] = link
    return default, links


def _link(r: _Reader, inherit: Link) -> Link:
    """The latency/loss/duplicate keys of ``r``; missing ones come from ``inherit``."""
    latency = inherit.latency
    if r.has("latency"):
        latency = _latency(r.table("latency"))
    return Link(
        latency=latency,
        loss=r.fraction("loss", inherit.loss),
        duplicate=r.fraction("duplicate", inherit.duplicate),
    )


_DISTS = {
    "constant": ("ms",),
    "uniform": ("low", "high"),
    "exponential": ("mean",),
    "lognormal": ("median", "sigma"),
}


def _latency(r: _Reader) -> Latency:
    dist = r.req("dist", _STR)
    if dist not in _DISTS:
        r.fail("dist", _one_of(_DISTS), dist)
    r.only("dist", *_DISTS[dist])
    if dist == "constant":
        return Latency("constant", a=r.ms("ms"))
    if dist == "uniform":
        low, high = r.ms("low"), r.ms("high")
        if low > high:
            r.fail("high", f"a number of milliseconds >= low ({r.data['low']!r})", r.data["high"])
        return Latency("uniform", a=low, b=high)
    if dist == "exponential":
        return Latency("exponential", a=r.ms("mean", positive=True))
    sigma = r.req("sigma", _NUMBER)
    millionths = _scaled(sigma, 1_000_000)
    if millionths is None or millionths < 0:
        r.fail("sigma", "a finite number >= 0", sigma)
    return Latency("lognormal", a=r.ms("median", positive=True), b=millionths)


def _fault(r: _Reader, names: tuple[str, ...]) -> Fault:
    kind = r.req("kind", _STR)
    if kind == "partition":
        r.only("kind", "at", "heal", "groups", "oneway")
        at = r.ms("at")
        return Fault(
            "partition",
            at=at,
            until=_after(r, "heal", at),
            groups=_groups(r, names),
            oneway=r.opt("oneway", _BOOL, False),
        )
    if kind == "crash":
        r.only("kind", "node", "at", "restart")
        at = r.ms("at")
        node = _node_ref(r, "node", names)
        return Fault("crash", at=at, until=_after(r, "restart", at), node=node)
    r.fail("kind", _one_of(("partition", "crash")), kind)


def _after(r: _Reader, key: str, at: int) -> int | None:
    """Optional time ``key`` that must come strictly after ``at`` (µs)."""
    if not r.has(key):
        return None
    t = r.ms(key)
    if t <= at:
        r.fail(key, f"a time after at ({r.data['at']!r} ms)", r.data[key])
    return t


def _groups(r: _Reader, names: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    expected = "an array of at least 2 non-empty arrays of node names"
    groups = r.req("groups", _ARRAY)
    if len(groups) < 2:
        r.fail("groups", expected, groups)
    where: dict[str, str] = {}
    result = []
    for g, group in enumerate(groups):
        path = f"{r.at('groups')}[{g}]"
        if not isinstance(group, list) or not group:
            raise ScenarioError(r.source, path, "a non-empty array of node names", group)
        for k, name in enumerate(group):
            at = f"{path}[{k}]"
            if not isinstance(name, str) or name not in names:
                raise ScenarioError(r.source, at, "a node name, " + _one_of(names), name)
            # A node in two groups would be both cut off from and joined to them.
            if name in where:
                raise ScenarioError(r.source, at, f"a node not already in {where[name]}", name)
            where[name] = at
        result.append(tuple(group))
    return tuple(result)


def _input(r: _Reader, kinds: Mapping[str, str], model: Model) -> Input:
    r.only("at", "node", "input")
    at = r.ms("at")
    node = _node_ref(r, "node", tuple(kinds))
    data = r.req("input", _TABLE)
    try:
        model.kinds[kinds[node]].check_input(data)
    except ConfigError as e:
        raise _config_error(r, "input", e) from None
    return Input(at, node, data)


def _properties(r: _Reader, model: Model) -> tuple[str, ...]:
    r.only("check")
    known = [p.name for p in model.properties]
    if not r.has("check"):
        return tuple(known)
    chosen = r.req("check", _ARRAY)
    for i, name in enumerate(chosen):
        at = f"{r.at('check')}[{i}]"
        if not isinstance(name, str) or model.property(name) is None:
            raise ScenarioError(r.source, at, "a property name, " + _one_of(known), name)
        if name in chosen[:i]:
            raise ScenarioError(r.source, at, "each property at most once", name)
    return tuple(chosen)


def _run(r: _Reader) -> RunSpec:
    r.only("seed", "until")
    d = RunSpec()
    return RunSpec(
        seed=r.integer("seed", d.seed, minimum=0),
        until=r.ms("until", d.until, positive=True),
    )


def _check(r: _Reader, nodes: tuple[NodeSpec, ...], workload: tuple[Input, ...]) -> CheckSpec:
    r.only(
        "max_depth",
        "max_states",
        "max_seconds",
        "drops",
        "duplicates",
        "crashes",
        "timers",
        "symmetry",
    )
    d = CheckSpec()
    max_seconds = r.opt("max_seconds", _NUMBER, d.max_seconds)
    try:
        seconds = float(max_seconds)
    except OverflowError:  # an integer too large for a float
        seconds = math.inf
    if not (math.isfinite(seconds) and seconds > 0):
        r.fail("max_seconds", "a finite number > 0", max_seconds)
    timers = r.opt("timers", _STR, d.timers)
    if timers not in ("any", "idle"):
        r.fail("timers", _one_of(("any", "idle")), timers)
    return CheckSpec(
        max_depth=r.integer("max_depth", d.max_depth, minimum=1),
        max_states=r.integer("max_states", d.max_states, minimum=1),
        max_seconds=seconds,
        drops=r.integer("drops", d.drops, minimum=0),
        duplicates=r.integer("duplicates", d.duplicates, minimum=0),
        crashes=r.integer("crashes", d.crashes, minimum=0),
        timers=timers,
        symmetry=_symmetry(r, nodes, workload),
    )


def _symmetry(
    r: _Reader, nodes: tuple[NodeSpec, ...], workload: tuple[Input, ...]
) -> tuple[tuple[str, ...], ...]:
    """Groups of interchangeable nodes: each maps the scenario to itself."""
    groups = r.opt("symmetry", _ARRAY, [])
    names = tuple(n.name for n in nodes)
    specs = [(n.name, n.kind, n.config) for n in nodes]
    inputs = [(i.node, i.data) for i in workload]
    out: list[tuple[str, ...]] = []
    seen: list[str] = []
    for g, group in enumerate(groups):
        at = f"{r.at('symmetry')}[{g}]"
        if not isinstance(group, list) or len(group) < 2:
            raise ScenarioError(r.source, at, "an array of at least two node names", group)
        for name in group:
            if not isinstance(name, str) or name not in names:
                raise ScenarioError(r.source, at, "node names, " + _one_of(names), name)
            if not renaming.TOKEN.fullmatch(name):
                raise ScenarioError(r.source, at, "names matching [A-Za-z_][A-Za-z0-9_]*", name)
            if name in seen:
                raise ScenarioError(r.source, at, "each node in at most one group, once", name)
            seen.append(name)
        problem = renaming.interchangeable(group, specs, inputs)
        if problem is not None:
            raise ScenarioError(r.source, at, f"interchangeable nodes ({problem})", group)
        out.append(tuple(group))
    return tuple(out)


def _node_ref(r: _Reader, key: str, names: tuple[str, ...]) -> str:
    name = r.req(key, _STR)
    if name not in names:
        r.fail(key, "a node name, " + _one_of(names), name)
    return name


def _config_error(r: _Reader, key: str, e: ConfigError) -> ScenarioError:
    """Map a node's ConfigError about table ``key`` to a ScenarioError.

    The node's field and expected text are model code's wording, possibly
    built from user keys: quote or collapse them so the message stays one line.
    """
    inner = e.field if e.field.isprintable() else _quote(e.field)
    where = r.at(key) + (f".{inner}" if inner else "")
    return ScenarioError(r.source, where, _one_line(e.expected), e.found)


# ---------------------------------------------------------------------------
# Reading tables


@dataclass(frozen=True)
class _Type:
    """A JSON type as the messages name it, and its test."""

    name: str
    test: Callable[[Any], bool]


_STR = _Type("a string", lambda v: isinstance(v, str))
_BOOL = _Type("a boolean", lambda v: isinstance(v, bool))
# bool is an int subclass in Python; `true` where a number is expected is a mistake.
_INT = _Type("an integer", lambda v: isinstance(v, int) and not isinstance(v, bool))
_NUMBER = _Type("a number", lambda v: isinstance(v, int | float) and not isinstance(v, bool))
_TABLE = _Type("a table", lambda v: isinstance(v, dict))
_ARRAY = _Type("an array", lambda v: isinstance(v, list))


class _Missing:
    """Marks an absent key; shown as ``found nothing`` in messages."""

    def __repr__(self) -> str:
        return "nothing"


_MISSING: Any = _Missing()


class _Reader:
    """One table of the scenario, with its field path for error messages."""

    def __init__(self, source: str, path: str, data: dict[str, Any]) -> None:
        self.source = source
        self.path = path
        self.data = data

    def at(self, key: str) -> str:
        """The field path of ``key`` in this table."""
        return _join(self.path, key)

    def fail(self, key: str, expected: str, found: Any) -> NoReturn:
        raise ScenarioError(self.source, self.at(key), expected, found)

    def has(self, key: str) -> bool:
        return key in self.data

    def only(self, *allowed: str) -> None:
        """Reject keys not in ``allowed``: most likely a misspelling."""
        for key in self.data:
            if key not in allowed:
                self.fail(key, _one_of(allowed), key)

    def req(self, key: str, type_: _Type) -> Any:
        """The value of required ``key``, which must be of ``type_``."""
        value = self.data.get(key, _MISSING)
        if value is _MISSING or not type_.test(value):
            self.fail(key, type_.name, value)
        return value

    def opt(self, key: str, type_: _Type, default: Any) -> Any:
        """The value of optional ``key``, or ``default`` if absent."""
        return self.req(key, type_) if key in self.data else default

    def table(self, key: str, *, required: bool = False) -> _Reader:
        """Sub-table ``key``; an absent optional one reads as empty."""
        value = self.req(key, _TABLE) if required else self.opt(key, _TABLE, {})
        return _Reader(self.source, self.at(key), value)

    def array(self, key: str, *, required: bool = False) -> list[_Reader]:
        """Array of tables ``key`` (``[[key]]``); required means at least one."""
        expected = "an array of at least one table" if required else "an array of tables"
        value = self.data.get(key, _MISSING)
        if value is _MISSING and not required:
            return []
        if not isinstance(value, list) or (required and not value):
            self.fail(key, expected, value)
        readers = []
        for i, item in enumerate(value):
            path = f"{self.at(key)}[{i}]"
            if not isinstance(item, dict):
                raise ScenarioError(self.source, path, "a table", item)
            readers.append(_Reader(self.source, path, item))
        return readers

    def integer(self, key: str, default: int, *, minimum: int) -> int:
        value = self.opt(key, _INT, default)
        if value < minimum:
            self.fail(key, f"an integer >= {minimum}", value)
        return value

    def fraction(self, key: str, default: float) -> float:
        """A probability in [0, 1): 1 would make a link lose or repeat forever."""
        value = self.opt(key, _NUMBER, default)
        if not 0 <= value < 1:  # also false for NaN
            self.fail(key, "a number in [0, 1)", value)
        return float(value)

    def ms(self, key: str, default: int = _MISSING, *, positive: bool = False) -> int:
        """Milliseconds in the file, integer microseconds out.

        ``default`` is already in microseconds. With ``positive`` the value
        must be at least one microsecond, else it must be >= 0.
        """
        if key not in self.data and default is not _MISSING:
            return default
        value = self.data.get(key, _MISSING)
        us = _scaled(value, 1000)
        if us is None or us < (1 if positive else 0):
            expected = "a number of milliseconds >= " + ("0.001" if positive else "0")
            self.fail(key, expected, value)
        return us


def _scaled(value: Any, factor: int) -> int | None:
    """``round(value * factor)``, or None if ``value`` is not a finite number.

    Used to turn milliseconds into microseconds (factor 1000).
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value * factor  # exact; a float detour could overflow or lose digits
    if isinstance(value, float):
        scaled = value * factor
        return round(scaled) if math.isfinite(scaled) else None
    return None


def _key(key: str) -> str:
    """``key`` as it would be written in TOML: bare if possible, else quoted."""
    return key if _BARE_KEY.fullmatch(key) else _quote(key)


def _quote(text: str) -> str:
    """``text`` as a one-line quoted string; non-ASCII kept when printable."""
    quoted = json.dumps(text, ensure_ascii=False)
    # json leaves e.g. U+2028 (a line separator) and lone surrogates as they are
    return quoted if quoted.isprintable() else json.dumps(text)


def _join(path: str, key: str) -> str:
    return f"{path}.{_key(key)}" if path else _key(key)


def _one_of(names: Any) -> str:
    return "one of: " + (", ".join(str(n) for n in names) or "(none)")


def _one_line(text: str) -> str:
    return " ".join(text.split())
