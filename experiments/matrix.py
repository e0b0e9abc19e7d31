"""The design matrix: every property under every combination of a scenario's switches.

``mxsim matrix SCENARIO`` answers DESIGN.md's "which properties hold under
which switch": one exhaustive check (breadth-first, the scenario's bounds)
per setting of the varied switches, a row per setting, a column per
property. A cell is ``holds``, ``violated (N)`` with N the steps of the
shortest counterexample (actions after the node starts, as ``check``
counts them), ``undecided``, ``reached`` or ``vacuous``; the row ends with
the states explored and whether the search was complete.

Without ``--vary`` the switches the scenario's ``[switches]`` table names
are varied (a scenario names the design choices it is about; with one
Matrix model of many parts, the rest mostly do not bear on it), or, for a
scenario without that table, every switch of the model; only switches with
finitely many values (booleans, and switches with ``choices``) are varied,
and none fixed by ``--set``. The
scenario's own value comes first, so the first row is the scenario as
written. Rows are independent checks, run over worker processes (or a Dask
cluster, ``--scheduler``) and put back in setting order, so the output is
the same bytes for any executor, ``--workers`` and ``PYTHONHASHSEED`` (as long as no row stops on
``--max-seconds``, a wall-clock bound).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mxsim.experiments.executor import Executor
from mxsim.experiments.sweep import pool_map
from mxsim.sim.files import write_atomic
from mxsim.sim.scenario import ScenarioError

__all__ = [
    "axes",
    "matrix",
    "cell",
    "table",
    "text_table",
    "markdown_table",
    "write_markdown",
    "MAX_ROWS",
]

MAX_ROWS = 64  # without --vary: more combinations than this need switches named


def _toml(value: Any) -> str:
    """A switch value as ``--set`` text (TOML), so strings are never misread.

    >>> [_toml(True), _toml("v2"), _toml(3)]
    ['true', '"v2"', '3']
    """
    return json.dumps(value)


def shown(value: Any) -> str:
    """A switch value as a table shows it.

    >>> [shown(False), shown("depth"), shown(2)]
    ['false', 'depth', '2']
    """
    return value if isinstance(value, str) else json.dumps(value)


def axes(
    scenario: str, vary: list[tuple[str, list[str]]], sets: Sequence[str] = ()
) -> list[tuple[str, list[Any]]]:
    """The switches to vary and their values (as the scenario loader reads them).

    Raises :class:`ScenarioError` for an unknown switch, a value it does not
    take, a switch named twice, or (without ``vary``) more than
    :data:`MAX_ROWS` combinations.
    """
    from mxsim.experiments.jobs import load_scenario

    loaded = load_scenario(scenario, sets)
    sc = loaded.scenario
    model = loaded.system().model
    if not vary:
        out = []
        named = loaded.raw.get("switches")
        for s in model.switches:
            if isinstance(named, dict) and s.name not in named:
                continue  # the scenario is not about this switch
            if s.name in loaded.overrides:
                continue  # fixed by --set
            values = list(s.choices) if s.choices is not None else None
            if values is None and isinstance(s.default, bool):
                values = [True, False]
            if values is None:
                continue
            current = sc.switches[s.name]
            out.append((s.name, [current, *[v for v in values if v != current]]))
        rows = 1
        for _, values in out:
            rows *= len(values)
        if rows > MAX_ROWS:
            names = ", ".join(n for n, _ in out)
            expected = f"at most {MAX_ROWS} settings: name the switches to vary (of {names})"
            raise ScenarioError(sc.source, "--vary", expected, f"{rows} settings")
        return out
    out, seen = [], []
    for name, texts in vary:
        where = f"--vary {name}"
        if model.switch(name) is None:
            known = ", ".join(s.name for s in model.switches) or "none"
            raise ScenarioError(sc.source, where, f"one of the model's switches: {known}", name)
        if name in seen:
            raise ScenarioError(sc.source, where, "each switch varied once", name)
        seen.append(name)
        values: list[Any] = []
        for text in texts:
            try:
                value = load_scenario(scenario, [*sets, f"{name}={text}"]).scenario.switches[name]
            except ScenarioError as e:
                raise ScenarioError(sc.source, where, e.expected, e.found) from None
            if value not in values:
                values.append(value)
        out.append((name, values))
    return out


def _row(args: tuple) -> dict[str, Any]:
    from mxsim.experiments.jobs import load_scenario
    from mxsim.sim.explore import Explorer

    scenario, sets, setting, bounds = args
    report = Explorer(load_scenario(scenario, sets).system(), **bounds).bfs()
    return {
        "setting": setting,
        "properties": report.verdicts,
        "steps": {c.property: len(c.actions) for c in report.counterexamples},
        "states": report.states,
        "depth": report.depth,
        "complete": report.complete,
        "stopped": report.stopped,
    }


def matrix(
    scenario: str,
    vary: list[tuple[str, list[str]]],
    sets: Sequence[str] = (),
    bounds: dict[str, Any] | None = None,
    workers: int = 1,
    executor: Executor | None = None,
    on_done: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Check every property under every setting, on ``executor`` (default: a local
    pool of ``workers``); the rows in setting order."""
    from mxsim.experiments.jobs import load_scenario

    chosen = axes(scenario, vary, sets)
    base = load_scenario(scenario, sets)
    bounds = {k: v for k, v in (bounds or {}).items() if v is not None}
    names = [n for n, _ in chosen]
    jobs = []
    for values in itertools.product(*[vals for _, vals in chosen]):
        combo = [f"{n}={_toml(v)}" for n, v in zip(names, values, strict=True)]
        jobs.append((scenario, [*sets, *combo], dict(zip(names, values, strict=True)), bounds))
    rows = pool_map(_row, jobs, workers, executor, on_done)
    return {
        "scenario": base.scenario.name,
        "switches": [n for n, _ in chosen],
        "fixed": dict(sorted((k, base.scenario.switches[k]) for k in base.overrides)),
        "properties": list(base.scenario.properties),
        "rows": rows,
    }


def cell(row: dict[str, Any], prop: str) -> str:
    """One cell: the verdict, with the shortest counterexample's steps if violated.

    >>> cell({"properties": {"p": "violated"}, "steps": {"p": 4}}, "p")
    'violated (4)'
    >>> cell({"properties": {"p": "holds"}, "steps": {}}, "p")
    'holds'
    """
    verdict = row["properties"][prop]
    return f"violated ({row['steps'][prop]})" if verdict == "violated" else verdict


def table(result: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of strings: switch values, a cell per property, states, search."""
    head = [*result["switches"], *result["properties"], "states", "search"]
    rows = []
    for r in result["rows"]:
        search = "complete" if r["complete"] else f"bounded ({r['stopped']})"
        rows.append(
            [
                *[shown(r["setting"][n]) for n in result["switches"]],
                *[cell(r, p) for p in result["properties"]],
                f"{r['states']:,}",
                search,
            ]
        )
    return head, rows


def _title(result: dict[str, Any]) -> str:
    fixed = " ".join(f"{k}={shown(v)}" for k, v in result["fixed"].items())
    return (
        f"{result['scenario']}: {len(result['rows'])} settings x "
        f"{len(result['properties'])} properties, breadth-first"
        + (f"; fixed: {fixed}" if fixed else "")
    )


_LEGEND = (
    "cells: holds, violated (steps of the shortest counterexample), undecided, reached, vacuous"
)


def text_table(result: dict[str, Any]) -> list[str]:
    """The matrix as aligned text lines (what ``mxsim matrix`` prints)."""
    head, rows = table(result)
    widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=True)]
    out = [_title(result)]
    for line in [head, *rows]:
        out.append("  ".join(x.ljust(w) for x, w in zip(line, widths, strict=True)).rstrip())
    out.append(_LEGEND)
    return out


def markdown_table(result: dict[str, Any]) -> str:
    """The matrix as a Markdown document: a title line and one table."""
    head, rows = table(result)
    lines = [f"**{_title(result)}**", "", "| " + " | ".join(head) + " |"]
    lines.append("|" + "|".join("---" for _ in head) + "|")
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    lines += ["", _LEGEND]
    return "\n".join(lines) + "\n"


def write_markdown(result: dict[str, Any], path: str | Path) -> None:
    """Write :func:`markdown_table` atomically."""
    write_atomic(path, markdown_table(result).encode())
