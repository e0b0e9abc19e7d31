"""``mxsim scenarios``, ``mxsim models`` and ``mxsim describe``: what can be run and checked.

The data comes from :mod:`mxsim.experiments.catalog`; this module prints it.
"""

from __future__ import annotations

import json
import os
import textwrap
from typing import Any

import click

from mxsim.experiments import catalog, jobs
from mxsim.experiments.cmd_common import BadInput, _emit_json, budget_words, sets_option
from mxsim.models.registry import MODELS, bundled
from mxsim.models.registry import describe as one_line_of

__all__ = ["scenarios", "models", "describe"]

WIDTH = 100


def _value(v: Any) -> str:
    """A switch value as it is written in TOML and ``--set``."""
    return json.dumps(v)


def _wrapped(text: str, indent: int) -> list[str]:
    pad = " " * indent
    if not text:
        return []
    return textwrap.wrap(
        text, WIDTH, initial_indent=pad, subsequent_indent=pad, break_on_hyphens=False
    )


def _table(rows: list[tuple[str, ...]], indent: int = 2) -> list[str]:
    """Left-aligned columns; the last column is not padded."""
    if not rows:
        return []
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    pad = " " * indent
    return [
        (
            pad + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1]
        ).rstrip()
        for r in rows
    ]


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def scenarios(as_json: bool) -> None:
    """List the bundled scenarios, one line each (--json: with model, nodes, properties)."""
    if as_json:
        rows = [
            catalog.scenario_summary(name, path, jobs.load_scenario(name).scenario)
            for name, path in bundled().items()
        ]
        _emit_json(rows)
        return
    rows = [(name, one_line_of(path)) for name, path in bundled().items()]
    for line in _table(rows, indent=0):
        click.echo(line)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def models(as_json: bool) -> None:
    """List the models: node kinds, how many switches and properties, bundled scenarios."""
    names = catalog.scenario_models()
    rows = [catalog.model_summary(m, names) for m in MODELS.values()]
    if as_json:
        _emit_json(rows)
        return
    for r in rows:
        click.echo(f"{r['name']}: {r['doc']}")
        click.echo(
            f"  node kinds: {', '.join(r['kinds'])}; "
            f"{r['switches']} switches, {r['properties']} properties"
        )
        lines = _wrapped("scenarios: " + (", ".join(r["scenarios"]) or "none"), 2)
        for line in lines:
            click.echo(line)
    click.echo("mxsim describe MODEL|SCENARIO tells the switches, properties and node kinds.")


@click.command()
@click.argument("name", metavar="SCENARIO|MODEL")
@sets_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def describe(name: str, sets: tuple[str, ...], as_json: bool) -> None:
    """Describe a model (switches, properties, node kinds, config keys, workload ops)
    or a scenario (its nodes, the switches it uses and their values, its
    properties and bounds)."""
    if name in MODELS and not os.path.isfile(name):
        if sets:
            raise BadInput(f"--set: expected a scenario to set switches of, found model {name!r}")
        data = catalog.describe_model(MODELS[name])
        lines = model_lines(data)
    else:
        if name not in bundled() and not os.path.exists(name):
            known = ", ".join([*MODELS, *bundled()])
            raise BadInput(
                f"{name}: expected a model, a bundled scenario or a TOML file (one of: {known})"
            )
        loaded = jobs.load_scenario(name, sets)
        path = bundled().get(name) if not os.path.isfile(name) else None
        data = catalog.describe_scenario(loaded.scenario, loaded.raw, loaded.overrides, path)
        lines = scenario_lines(data)
    if as_json:
        _emit_json(data)
        return
    for line in lines:
        click.echo(line)


def _switch_lines(switches: list[dict[str, Any]], with_value: bool) -> list[str]:
    out = []
    for s in switches:
        values = " | ".join(_value(v) for v in s["values"]) if s["values"] else f"any {s['type']}"
        where = f"  [{s['part']}]" if s["part"] else ""
        if with_value:
            set_by = {"default": "default", "scenario": "set by the scenario", "--set": "--set"}
            head = (
                f"  {s['name']} = {_value(s['value'])}  ({set_by[s['set_by']]}; "
                f"values {values}; default {_value(s['default'])}){where}"
            )
        else:
            head = f"  {s['name']}: {values} (default {_value(s['default'])}){where}"
        out.append(head)
        out.extend(_wrapped(s["doc"], 6))
    return out


def _property_lines(properties: list[dict[str, Any]]) -> list[str]:
    out = []
    for p in properties:
        where = f"  [{p['part']}]" if p["part"] else ""
        out.append(f"  {p['name']} ({p['kind']}){where}")
        out.extend(_wrapped(p["doc"], 6))
    return out


def model_lines(d: dict[str, Any]) -> list[str]:
    """``mxsim describe MODEL`` as text."""
    out = [f"model {d['model']}: {d['doc']}", "", f"switches ({len(d['switches'])}):"]
    out += _switch_lines(d["switches"], with_value=False)
    out += ["", f"properties ({len(d['properties'])}; always: after every step, "]
    out[-1] += "eventually: in every quiescent state, sometimes: in some reachable state):"
    out += _property_lines(d["properties"])
    out += ["", "node kinds (config: node-wide keys, then one table per part used):"]
    for k in d["kinds"]:
        out.append(f"  {k['kind']}: {k['doc']}")
        keys = ", ".join(f"{n} ({what})" for n, what in k["keys"].items())
        if keys:
            out += _wrapped("node-wide keys: " + keys, 4)
        for p in k["parts"]:
            tag = " (always)" if p["required"] else ""
            pkeys = ", ".join(f"{n} ({what})" for n, what in p["keys"].items())
            out.append(f"    {p['name']}{tag}: {p['section']}" + ("" if pkeys else " (no keys)"))
            out += _wrapped("keys: " + pkeys if pkeys else "", 8)
    out += [
        "",
        "workload ops (input = { op = ..., ... }; of several parts, the last one used takes it):",
    ]
    out += _table([(o["kind"], o["op"], "parts: " + ", ".join(o["parts"])) for o in d["ops"]])
    out += [""] + _wrapped("scenarios: " + (", ".join(d["scenarios"]) or "none"), 0)
    return out


def scenario_lines(d: dict[str, Any]) -> list[str]:
    """``mxsim describe SCENARIO`` as text."""
    out = [f"scenario {d['scenario']} (model {d['model']}, {d['path']})"]
    out += _wrapped(d["description"], 2)
    out += ["", f"nodes ({len(d['nodes'])}):"]
    out += _table([(n["name"], n["kind"], "parts: " + ", ".join(n["parts"])) for n in d["nodes"]])
    out += ["", f"switches it uses ({len(d['switches'])}):"]
    out += _switch_lines(d["switches"], with_value=True)
    out += ["", f"properties checked ({len(d['properties'])}):"]
    out += _property_lines(d["properties"])
    out += ["", f"workload ({len(d['workload'])} inputs):"]
    out += _table([(f"{w['at_ms']:g} ms", w["node"], str(w["op"])) for w in d["workload"]])
    r, c = d["run"], d["check"]
    out += [
        "",
        f"run: seed {r['seed']}, until {r['until_ms']:g} ms; {d['faults']} timed faults",
        f"check: max_depth {c['max_depth']}, max_states {c['max_states']:,}, "
        f"max_seconds {c['max_seconds']:g}; timers fire: {c['timers']}; "
        f"fault budgets: {budget_words(c)}",
    ]
    if c["symmetry"]:
        groups = "; ".join(", ".join(g) for g in c["symmetry"])
        out.append(f"  symmetry: {groups}")
    return out
