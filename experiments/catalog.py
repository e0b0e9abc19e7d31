"""What ``mxsim models`` and ``mxsim describe`` show: a model or a scenario as plain data.

Everything here is read off the records the models already give the engine
(:class:`~mxsim.sim.model.Model`, its :class:`~mxsim.sim.model.Switch` and
:class:`~mxsim.sim.model.Property` records, and for nodes composed of parts
each :class:`~mxsim.sim.parts.Part`'s ``name``, ``section``, ``keys``,
``ops``, ``switches`` and ``properties``), so a switch or property added to
a model is described without touching this file.

A scenario *uses* the switches of the parts its nodes build (a part is built
when its node's config has its table, or when it is required), the model's
switches that belong to no part, and every switch its file sets; it checks
the properties of its ``[properties] check`` (default: all of the model's).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from mxsim.models.registry import MODELS, bundled
from mxsim.sim.model import Model, Switch
from mxsim.sim.parts import Composed
from mxsim.sim.scenario import Scenario

__all__ = [
    "one_line",
    "switch_values",
    "model_summary",
    "describe_model",
    "describe_scenario",
    "scenario_summary",
    "scenario_models",
]


def one_line(text: str | None) -> str:
    """``text`` with its whitespace runs (newlines too) made single spaces."""
    return " ".join((text or "").split())


def switch_values(switch: Switch) -> list[Any] | None:
    """The values a switch takes: its choices, ``[True, False]`` for a boolean, else None."""
    if switch.choices is not None:
        return list(switch.choices)
    if isinstance(switch.default, bool):
        return [True, False]
    return None


def _switch_type(switch: Switch) -> str:
    if switch.choices is not None:
        return "choice"
    return {bool: "boolean", int: "integer", float: "number", str: "string"}.get(
        type(switch.default), type(switch.default).__name__
    )


def _owners(model: Model) -> tuple[dict[str, str], dict[str, str]]:
    """Switch name -> ``kind.part`` and property name -> ``kind.part`` of the part bringing it."""
    switches: dict[str, str] = {}
    properties: dict[str, str] = {}
    for kind, cls in model.kinds.items():
        for part in _parts(cls):
            for s in part.switches:
                switches.setdefault(s.name, f"{kind}.{part.name}")
            for p in part.properties:
                properties.setdefault(p.name, f"{kind}.{part.name}")
    return switches, properties


def _parts(cls: type) -> tuple[type, ...]:
    return cls.parts if isinstance(cls, type) and issubclass(cls, Composed) else ()


def scenario_models() -> dict[str, str]:
    """Bundled scenario name -> the name of its model (read from the file, not loaded)."""
    out = {}
    for name, path in bundled().items():
        with path.open("rb") as f:
            out[name] = tomllib.load(f).get("scenario", {}).get("model", "")
    return out


def _switch_row(switch: Switch, owner: str | None) -> dict[str, Any]:
    return {
        "name": switch.name,
        "type": _switch_type(switch),
        "values": switch_values(switch),
        "default": switch.default,
        "part": owner,
        "doc": one_line(switch.doc),
    }


def _kind_row(kind: str, cls: type) -> dict[str, Any]:
    parts = [
        {
            "name": part.name,
            "section": part.section,
            "required": bool(part.required),
            "keys": dict(part.keys),
            "ops": list(part.ops),
            "switches": [s.name for s in part.switches],
            "properties": [p.name for p in part.properties],
        }
        for part in _parts(cls)
    ]
    return {
        "kind": kind,
        "doc": one_line(cls.__doc__),
        "keys": dict(getattr(cls, "keys", {}) or {}),
        "parts": parts,
    }


def _ops(kinds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each workload op of each node kind with the parts that take it, in part order."""
    rows: list[dict[str, Any]] = []
    for k in kinds:
        seen: dict[str, dict[str, Any]] = {}
        for part in k["parts"]:
            for op in part["ops"]:
                row = seen.get(op)
                if row is None:
                    row = seen[op] = {"op": op, "kind": k["kind"], "parts": []}
                    rows.append(row)
                row["parts"].append(part["name"])
    return rows


def model_summary(model: Model, scenarios: dict[str, str] | None = None) -> dict[str, Any]:
    """One row of ``mxsim models``."""
    scenarios = scenario_models() if scenarios is None else scenarios
    return {
        "name": model.name,
        "doc": one_line(model.doc),
        "kinds": list(model.kinds),
        "switches": len(model.switches),
        "properties": len(model.properties),
        "scenarios": [n for n, m in scenarios.items() if m == model.name],
    }


def describe_model(model: Model) -> dict[str, Any]:
    """Everything ``mxsim describe MODEL`` shows."""
    switch_owner, property_owner = _owners(model)
    kinds = [_kind_row(kind, cls) for kind, cls in model.kinds.items()]
    return {
        "model": model.name,
        "doc": one_line(model.doc),
        "switches": [_switch_row(s, switch_owner.get(s.name)) for s in model.switches],
        "properties": [
            {
                "name": p.name,
                "kind": p.kind,
                "part": property_owner.get(p.name),
                "doc": one_line(p.doc),
            }
            for p in model.properties
        ],
        "kinds": kinds,
        "ops": _ops(kinds),
        "scenarios": model_summary(model)["scenarios"],
    }


def _used_parts(cls: type, config: dict[str, Any]) -> list[str]:
    return [p.name for p in _parts(cls) if p.required or p.name in config]


def used_switches(scenario: Scenario, model: Model, file_sets: dict[str, Any]) -> list[str]:
    """The switches ``scenario`` uses (module docstring), in the model's order."""
    owner, _ = _owners(model)
    built = set()
    for spec in scenario.nodes:
        cls = model.kinds[spec.kind]
        built.update(f"{spec.kind}.{p}" for p in _used_parts(cls, spec.config))
    return [
        s.name
        for s in model.switches
        if s.name not in owner or owner[s.name] in built or s.name in file_sets
    ]


def describe_scenario(
    scenario: Scenario, raw: dict[str, Any], overrides: dict[str, str], path: Path | None
) -> dict[str, Any]:
    """Everything ``mxsim describe SCENARIO`` shows (with ``--set`` overrides applied)."""
    model = MODELS[scenario.model]
    owner, property_owner = _owners(model)
    file_sets = raw.get("switches", {}) or {}
    switches = []
    for name in used_switches(scenario, model, file_sets):
        s = model.switch(name)
        row = _switch_row(s, owner.get(name))
        where = "--set" if name in overrides else "scenario" if name in file_sets else "default"
        switches.append({**row, "value": scenario.switches[name], "set_by": where})
    properties = []
    for name in scenario.properties:
        p = model.property(name)
        properties.append(
            {"name": name, "kind": p.kind, "part": property_owner.get(name), "doc": one_line(p.doc)}
        )
    nodes = [
        {
            "name": spec.name,
            "kind": spec.kind,
            "parts": _used_parts(model.kinds[spec.kind], spec.config),
            "config": spec.config,
        }
        for spec in scenario.nodes
    ]
    c, r = scenario.check, scenario.run
    return {
        "scenario": scenario.name,
        "description": scenario.description,
        "model": scenario.model,
        "path": str(path) if path is not None else scenario.source,
        "nodes": nodes,
        "switches": switches,
        "properties": properties,
        "workload": [
            {"at_ms": i.at / 1000, "node": i.node, "op": i.data.get("op")}
            for i in scenario.workload
        ],
        "faults": len(scenario.faults),
        "run": {"seed": r.seed, "until_ms": r.until / 1000},
        "check": {
            "max_depth": c.max_depth,
            "max_states": c.max_states,
            "max_seconds": c.max_seconds,
            "drops": c.drops,
            "duplicates": c.duplicates,
            "crashes": c.crashes,
            "timers": c.timers,
            "symmetry": [list(g) for g in c.symmetry],
        },
    }


def scenario_summary(name: str, path: Path, scenario: Scenario) -> dict[str, Any]:
    """One row of ``mxsim scenarios --json``."""
    return {
        "name": name,
        "description": scenario.description,
        "model": scenario.model,
        "nodes": len(scenario.nodes),
        "properties": list(scenario.properties),
        "path": str(path),
    }
