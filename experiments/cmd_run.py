"""``mxsim run`` (the timed runtime) and ``mxsim replay``.

``run`` reports like ``check``: steps are counted after the node starts (a
trace also holds one ``start`` line per node), a violation's trace is
written (``--trace FILE``, else ``mxsim-SCENARIO[+overrides].seedN.PROPERTY.jsonl``
in the working directory, named like check's counterexamples: see
:mod:`mxsim.experiments.evidence`), and the last line is ``verdict: ...``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import click

from mxsim.experiments import jobs
from mxsim.experiments.cmd_common import (
    BadInput,
    _emit_json,
    _verdict_lines,
    diagram_lines,
    sets_option,
)
from mxsim.experiments.evidence import overrides_tag, trace_name
from mxsim.sim import trace as tracefile
from mxsim.sim.trace import Mismatch
from mxsim.sim.verdict import overall

__all__ = ["run", "replay", "run_trace_name"]


def run_trace_name(loaded: jobs.Loaded, switches: dict[str, Any], seed: int, prop: str) -> Path:
    """Where a violating run's trace goes without ``--trace``.

    >>> from mxsim.experiments.jobs import load_scenario
    >>> loaded = load_scenario("superseded-state", ["omit_superseded_state=false"])
    >>> str(run_trace_name(loaded, loaded.scenario.switches, 3, "no_clobbering"))
    'mxsim-superseded-state+bc914438.seed3.no_clobbering.jsonl'
    """
    tag = overrides_tag(switches, loaded.overrides)
    return trace_name(None, loaded.scenario.name, f"{tag}.seed{seed}", prop)


@click.command()
@click.argument("scenario")
@click.option("--seed", type=click.IntRange(min=0), help="Random seed (default: the scenario's).")
@click.option("--until", type=click.FloatRange(min=0, min_open=True), help="Stop at T ms.")
@sets_option
@click.option(
    "--trace",
    type=click.Path(dir_okay=False),
    help="Write the trace here (default: only a violating run's, to "
    "mxsim-SCENARIO[+overrides].seedN.PROPERTY.jsonl).",
)
@click.option("--diagram", type=click.Path(dir_okay=False), help="Draw it (.png or .svg).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def run(scenario, seed, until, sets, trace, diagram, as_json) -> None:
    """Run SCENARIO (a bundled name or a TOML file) on the timed runtime."""
    jobs.check_output(trace)
    jobs.check_output(diagram, (".png", ".svg"))
    loaded = jobs.load_scenario(scenario, sets)
    report = _run_writing_violations(loaded, seed, until, trace, diagram)
    starts = len(loaded.scenario.nodes)
    # One unit everywhere (as in check): steps after the node starts.
    report["trace_length"] = report["steps"]
    report["steps"] = report["steps"] - starts
    report["starts"] = starts
    report["verdict"] = overall(report["properties"])
    if as_json:
        _emit_json(report)
    else:
        for line in run_lines(report, scenario, sets):
            click.echo(line)
    sys.exit(0 if report["passed"] else 1)


def _run_writing_violations(loaded, seed, until, trace, diagram) -> dict[str, Any]:
    """``jobs.run_job``; without ``--trace`` a violation's trace still goes to its default file.

    The trace is written to a temporary file beside the default name and
    renamed onto it only if a property was violated (so a passing run
    leaves nothing behind, and no file is ever half-written).
    """
    if trace is not None:
        return jobs.run_job(loaded, seed=seed, until_ms=until, trace=trace, diagram=diagram)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".mxsim-run-", suffix=".jsonl", dir=".")
        os.close(fd)
    except OSError:  # an unwritable working directory: run without the trace
        return jobs.run_job(loaded, seed=seed, until_ms=until, diagram=diagram)
    try:
        report = jobs.run_job(loaded, seed=seed, until_ms=until, trace=tmp, diagram=diagram)
        violation = report["violation"]
        if violation:
            path = run_trace_name(loaded, report["switches"], report["seed"], violation["property"])
            os.replace(tmp, path)
            report["trace"] = str(path)
        else:
            report["trace"] = None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return report


def run_lines(report: dict[str, Any], scenario: str, sets: tuple[str, ...]) -> list[str]:
    """What ``mxsim run`` prints for ``report``."""
    state = "quiescent" if report["quiescent"] else "stopped (not quiescent)"
    out = [
        f"{report['scenario']} seed {report['seed']}: {report['steps']} steps "
        f"(after the {report['starts']} node starts; {report['trace_length']} trace steps), "
        f"{state} at {report['time_ms']:.3f} ms"
    ]
    c = report["counts"]
    out.append(
        f"  messages: {c['sent']} sent, {c['delivered']} delivered, "
        f"{c['dropped']} dropped, {c['duplicated']} duplicated; {c['timers']} timers fired"
    )
    out += _verdict_lines(report["properties"])
    out.append(f"trace_hash {report['trace_hash']}")
    out += diagram_lines(report.get("diagram"))
    v = report["violation"]
    if v:
        # The violation's step is the trace's step index (starts included, from 0).
        after = v["step"] - report["starts"] + 1
        where = f"step {after} (trace step {v['step'] + 1} of {report['trace_length']})"
        if report["trace"]:
            out.append(f"VIOLATED: {v['property']} at {where}: mxsim replay {report['trace']}")
        else:
            out.append(f"VIOLATED: {v['property']} at {where}")
    elif not report["passed"]:
        again = (
            f"mxsim run {scenario} --seed {report['seed']} "
            + "".join(f"--set {s} " for s in sets)
            + "--trace run.jsonl"
        )
        out.append(f"trace: {report['trace'] or again}")
    out.append(f"verdict: {report['verdict']}")
    return out


@click.command()
@click.argument("trace_file", metavar="TRACE")
@click.option("--diagram", type=click.Path(dir_okay=False), help="Draw it (.png or .svg).")
@click.option("--steps", is_flag=True, help="Then print it one step a line (as `mxsim show`).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def replay(trace_file, diagram, steps, as_json) -> None:
    """Re-execute TRACE and check that every step reproduces."""
    if not os.path.exists(trace_file):
        raise BadInput(f"{trace_file}: expected a trace file, found no such file")
    if os.path.isdir(trace_file):
        raise BadInput(f"{trace_file}: expected a trace file, found a directory")
    jobs.check_output(diagram, (".png", ".svg"))
    try:
        report = jobs.replay_job(trace_file, diagram=diagram)
    except Mismatch as m:
        if as_json:
            _emit_json({"trace": trace_file, "reproduced": False, "step": m.step, "why": m.why})
        else:
            click.echo(f"{trace_file}: does not reproduce: step {m.step}: {m.why}")
        sys.exit(1)
    starts = _starts(trace_file)
    # One unit everywhere (as in run and check): steps after the node starts.
    report = {**report, "trace_length": report["steps"], "starts": starts}
    report["steps"] = report["trace_length"] - starts
    told = None
    if steps:  # the listing of `mxsim show` (experiments/cmd_show.py)
        from mxsim.experiments.cmd_show import story

        told = story(tracefile.read(trace_file))
    if as_json:
        _emit_json({**report, "reproduced": True, **({"story": told} if told else {})})
    else:
        click.echo(
            f"{trace_file}: reproduced {report['steps']} steps (after the {starts} node starts; "
            f"{report['trace_length']} trace steps) of {report['scenario']}; "
            f"trace_hash {report['trace_hash']}"
        )
        for line in _verdict_lines(report["verdicts"]):
            click.echo(line)
        for line in diagram_lines(report.get("diagram")):
            click.echo(line)
        for line in told["lines"] if told else []:
            click.echo(line)
    sys.exit(0)


def _starts(trace_file: str) -> int:
    """How many nodes the (already replayed, so well-formed) trace starts."""
    with open(trace_file, encoding="utf-8") as f:
        return len(json.loads(f.readline())["nodes"])
