"""What a check leaves behind: one trace per violated property, and saved witnesses.

Every violated property gets its own shortest counterexample, in its own
file, so that two violations never compete for one ``--trace``. Names are

    <dir>/<prefix><scenario>[+<digest>].<property>.jsonl           counterexample
    <dir>/<prefix><scenario>[+<digest>].<guard>.witness.jsonl      ``--witness``

``prefix`` is ``mxsim-`` when the files go to the working directory by
default, and ``digest`` is 8 hex digits of the ``--set`` overrides (their
effective values), so a run with other switches does not silently replace
the traces of this one. Each file is a checker trace that ``mxsim replay``
re-executes; it is judged against every property of the scenario (the
trace embeds the whole scenario), even when ``--property`` checked fewer.

Lengths are counted two ways, and both are reported: ``steps`` are the
actions the search took after every node started (the unit of the search's
depth), ``trace_length`` the trace's step lines, which also hold one
``start`` line per node.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from mxsim.sim import trace as tracefile
from mxsim.sim.explore_report import Report
from mxsim.sim.scenario import ScenarioError
from mxsim.sim.system import System
from mxsim.sim.world import Action, canonical, digest_states

__all__ = [
    "overrides_tag",
    "trace_name",
    "select_properties",
    "write_path_trace",
    "write_evidence",
    "lines",
]


def overrides_tag(switches: dict[str, Any], overrides: dict[str, str]) -> str:
    """``""`` without overrides, else ``+`` and 8 hex digits of their effective values.

    >>> overrides_tag({"a": True}, {})
    ''
    >>> overrides_tag({"a": True}, {"a": "true"}) == overrides_tag({"a": True}, {"a": " true"})
    True
    """
    if not overrides:
        return ""
    effective = {name: switches[name] for name in sorted(overrides)}
    return "+" + hashlib.sha256(canonical(effective).encode()).hexdigest()[:8]


def trace_name(
    directory: str | None, scenario: str, tag: str, prop: str, witness: bool = False
) -> Path:
    """Where the trace of ``prop`` goes (see the module docstring).

    >>> str(trace_name(None, "action-ids", "+0a1b2c3d", "idempotent"))
    'mxsim-action-ids+0a1b2c3d.idempotent.jsonl'
    >>> str(trace_name("out", "voip", "", "answered", witness=True))
    'out/voip.answered.witness.jsonl'
    """
    prefix = "mxsim-" if directory is None else ""
    kind = ".witness" if witness else ""
    return Path(directory or ".") / f"{prefix}{scenario}{tag}.{prop}{kind}.jsonl"


def select_properties(system: System, only: Sequence[str], extra: Sequence[str] = ()) -> System:
    """``system`` checking only the properties named in ``only`` (and ``extra``).

    Unknown names raise :class:`ScenarioError` listing the scenario's
    properties. An empty ``only`` keeps every property.
    """
    sc = system.scenario
    known = list(sc.properties)
    for flag, names in (("--property", only), ("--witness", extra)):
        for name in names:
            if name not in known:
                expected = "one of the scenario's properties: " + ", ".join(known)
                raise ScenarioError(sc.source, flag, expected, name)
    for name in extra:
        if system.model.property(name).kind != "sometimes":
            guards = [p.name for p in system.properties if p.kind == "sometimes"]
            expected = "a sometimes guard: " + (", ".join(guards) or "none")
            raise ScenarioError(sc.source, "--witness", expected, name)
    if not only:
        return system
    chosen = tuple(n for n in known if n in only or n in extra)
    return System(replace(sc, properties=chosen), system.model)


def write_path_trace(
    full: System, head: dict[str, Any], actions: list[Action], path: Path
) -> tuple[dict[str, Any], list[dict], bytes, Any]:
    """Write the checker trace of ``actions`` to ``path`` (atomically).

    Returns its summary (steps, trace length, file, trace hash), its step
    lines, its bytes and its first violation (what a diagram needs).
    """
    lines, world, judge = tracefile.path_lines(full, actions)
    digest = digest_states(world.states, world.up)
    data, trace_hash = tracefile.finish(lines, head, judge.verdicts, judge.first_violation, digest)
    tracefile.write(path, data)
    summary = {
        "steps": len(actions),
        "trace_length": len(lines),
        "trace": str(path),
        "trace_hash": trace_hash,
    }
    return summary, lines, data, judge.first_violation


def write_evidence(
    full: System,
    head: dict[str, Any],
    overrides: dict[str, str],
    report: Report,
    out: dict[str, Any],
    directory: str | None,
    witnesses: Sequence[str] = (),
) -> tuple[list[dict], bytes, Any] | None:
    """Write one trace per violated property and the witnesses asked for; fill ``out``.

    ``out["violations"]`` gets one entry per violated property, in the
    scenario's property order, ``out["witnesses"]`` the length of every
    witness found (and the file of each in ``witnesses``). Returns the
    first violation's (lines, bytes, violation), or None.
    """
    sc = full.scenario
    tag = overrides_tag(full.switches, overrides)
    order = {p.name: i for i, p in enumerate(full.properties)}
    first = None
    for cex in sorted(report.counterexamples, key=lambda c: order[c.property]):
        path = trace_name(directory, sc.name, tag, cex.property)
        summary, lines, data, violation = write_path_trace(full, head, cex.actions, path)
        out["violations"].append({"property": cex.property, **summary})
        if first is None:
            first = (lines, data, violation)
            out["trace"] = summary["trace"]
            out["trace_hash"] = summary["trace_hash"]
    starts = len(full.nodes)
    for name, actions in report.witnesses.items():
        out["witnesses"][name] = {"steps": len(actions), "trace_length": len(actions) + starts}
    for name in witnesses:
        found = report.witnesses.get(name)
        if found is None:
            out["witnesses"][name] = {"trace": None}
            continue
        path = trace_name(directory, sc.name, tag, name, witness=True)
        out["witnesses"][name] = write_path_trace(full, head, found, path)[0]
    return first


def lines(report: dict[str, Any], trace: str | None) -> list[str]:
    """Where each violation's and witness's trace went, and how long each is."""
    out = []
    for v in report["violations"]:
        if report["mode"] == "random":
            # random_search.describe() said how it was found and shrunk; say where it went.
            out.append(f"  {v['property']}: mxsim replay {v['trace']}")
            continue
        out.append(
            f"VIOLATED: {v['property']}: shortest {v['steps']} steps "
            f"({v['trace_length']} trace steps with the starts): mxsim replay {v['trace']}"
        )
    if trace and report["violations"]:
        out.append(f"first violation also in {trace}")
    for name, w in report["witnesses"].items():
        if "trace" in w:
            where = f"mxsim replay {w['trace']}" if w["trace"] else "none: the guard is vacuous"
            out.append(f"witness {name}: {where}")
    return out
