"""``mxsim scenarios``, ``mxsim run`` (the timed runtime) and ``mxsim replay``."""

from __future__ import annotations

import sys

import click

from mxsim.experiments import jobs
from mxsim.experiments.cmd_common import _emit_json, _verdict_lines, sets_option
from mxsim.models.registry import bundled, describe
from mxsim.sim import trace as tracefile
from mxsim.sim.trace import Mismatch

__all__ = ["scenarios", "run", "replay"]


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def scenarios(as_json: bool) -> None:
    """List the bundled scenarios, one line each."""
    rows = [
        {"name": name, "description": describe(path), "path": str(path)}
        for name, path in bundled().items()
    ]
    if as_json:
        _emit_json(rows)
        return
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        click.echo(f"{r['name']:<{width}}  {r['description']}")


@click.command()
@click.argument("scenario")
@click.option("--seed", type=click.IntRange(min=0), help="Random seed (default: the scenario's).")
@click.option("--until", type=click.FloatRange(min=0, min_open=True), help="Stop at T ms.")
@sets_option
@click.option("--trace", type=click.Path(dir_okay=False), help="Write the trace here.")
@click.option("--diagram", type=click.Path(dir_okay=False), help="Draw it (.png or .svg).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def run(scenario, seed, until, sets, trace, diagram, as_json) -> None:
    """Run SCENARIO (a bundled name or a TOML file) on the timed runtime."""
    jobs.check_output(trace)
    jobs.check_output(diagram, (".png", ".svg"))
    loaded = jobs.load_scenario(scenario, sets)
    report = jobs.run_job(loaded, seed=seed, until_ms=until, trace=trace, diagram=diagram)
    if as_json:
        _emit_json(report)
    else:
        state = "quiescent" if report["quiescent"] else "stopped (not quiescent)"
        click.echo(
            f"{report['scenario']} seed {report['seed']}: {report['steps']} steps, "
            f"{state} at {report['time_ms']:.3f} ms"
        )
        c = report["counts"]
        click.echo(
            f"  messages: {c['sent']} sent, {c['delivered']} delivered, "
            f"{c['dropped']} dropped, {c['duplicated']} duplicated; {c['timers']} timers fired"
        )
        for line in _verdict_lines(report["properties"]):
            click.echo(line)
        click.echo(f"trace_hash {report['trace_hash']}")
        if not report["passed"]:
            v = report["violation"]
            if v:
                click.echo(f"VIOLATED: {v['property']} at step {v['step']}")
            how = trace or "run.jsonl"
            again = (
                ""
                if trace
                else (
                    f"mxsim run {scenario} --seed {report['seed']} "
                    + "".join(f"--set {s} " for s in sets)
                    + f"--trace {how} && "
                )
            )
            click.echo(f"replay: {again}mxsim replay {how}")
    sys.exit(0 if report["passed"] else 1)


@click.command()
@click.argument("trace_file", metavar="TRACE")
@click.option("--diagram", type=click.Path(dir_okay=False), help="Draw it (.png or .svg).")
@click.option("--steps", is_flag=True, help="Then print it one step a line (as `mxsim show`).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def replay(trace_file, diagram, steps, as_json) -> None:
    """Re-execute TRACE and check that every step reproduces."""
    jobs.check_output(diagram, (".png", ".svg"))
    try:
        report = jobs.replay_job(trace_file, diagram=diagram)
    except Mismatch as m:
        if as_json:
            _emit_json({"trace": trace_file, "reproduced": False, "step": m.step, "why": m.why})
        else:
            click.echo(f"{trace_file}: does not reproduce: step {m.step}: {m.why}")
        sys.exit(1)
    told = None
    if steps:  # the listing of `mxsim show` (experiments/cmd_show.py)
        from mxsim.experiments.cmd_show import story

        told = story(tracefile.read(trace_file))
    if as_json:
        _emit_json({**report, "reproduced": True, **({"story": told} if told else {})})
    else:
        click.echo(
            f"{trace_file}: reproduced {report['steps']} steps of {report['scenario']}; "
            f"trace_hash {report['trace_hash']}"
        )
        for line in _verdict_lines(report["verdicts"]):
            click.echo(line)
        for line in told["lines"] if told else []:
            click.echo(line)
    sys.exit(0)
