"""Loading a scenario: a TOML file or a bundled name, validated into a :class:`Scenario`.

:func:`load` reads the file, :func:`from_raw` checks every section (each in
its own module: ``scenario_switches``, ``scenario_network``,
``scenario_check``) and builds the frozen value.
"""

from __future__ import annotations

import copy
import pathlib
import re
import tomllib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from mxsim.sim.model import Model
from mxsim.sim.node import ConfigError
from mxsim.sim.scenario import Input, NodeSpec, RunSpec, Scenario, ScenarioError
from mxsim.sim.scenario_check import _check
from mxsim.sim.scenario_network import _fault, _network
from mxsim.sim.scenario_reader import (
    _ARRAY,
    _STR,
    _TABLE,
    _config_error,
    _node_ref,
    _one_line,
    _one_of,
    _Reader,
    canonical_raw,
)
from mxsim.sim.scenario_switches import _switches

__all__ = ["load", "from_raw"]


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
