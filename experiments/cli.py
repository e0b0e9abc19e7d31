"""The ``mxsim`` command: scenarios, run, check, replay, bench, resolve.

Exit codes: 0 every property holds, 1 a property is violated (or a
``sometimes`` guard was never reached, or an ``eventually`` could not be
decided), 2 bad input, 3 an internal error (a bug in a model or the engine;
``MXSIM_DEBUG=1`` shows its traceback). Bad input is one line on stderr,
never a traceback.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

import click

from mxsim.experiments import evidence, jobs
from mxsim.experiments.cmd_resolve import resolve
from mxsim.experiments.receipts import ExperimentError
from mxsim.models.registry import bundled, describe
from mxsim.sim.checkpoint import CheckpointError
from mxsim.sim.coverage import coverage_lines
from mxsim.sim.reduce import MODES as REDUCE_MODES
from mxsim.sim.scenario import ScenarioError
from mxsim.sim.trace import Mismatch, TraceError
from mxsim.sim.verdict import PASSING

__all__ = ["cli", "main"]


class BadInput(Exception):
    """One line for stderr, exit code 2."""


def _emit_json(obj: Any) -> None:
    click.echo(json.dumps(obj, sort_keys=True, indent=2))


def _verdict_lines(verdicts: dict[str, str]) -> list[str]:
    width = max((len(n) for n in verdicts), default=0)
    return [f"  {name:<{width}}  {v}" for name, v in verdicts.items()]


sets_option = click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="SWITCH=VALUE",
    help="Override a design switch (repeatable).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mxsim")
def cli() -> None:
    """Deterministic simulator and model checker for the Matrix C-S API v2 proposal."""


@cli.command()
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


@cli.command()
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


@cli.command()
@click.argument("scenario")
@sets_option
@click.option("--max-states", type=click.IntRange(min=1), help="Bound on distinct states.")
@click.option("--max-depth", type=click.IntRange(min=1), help="Bound on path length.")
@click.option("--max-seconds", type=click.FloatRange(min=0, min_open=True), help="Time bound.")
@click.option("--random", "random_mode", is_flag=True, help="Random walks instead of BFS.")
@click.option("--walks", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Processes: random walks, or breadth-first search split by fingerprint.",
)
@click.option(
    "--swarm/--no-swarm",
    default=True,
    show_default=True,
    help="Random walks: each walk draws its own fault rates and choice biases.",
)
@click.option(
    "--shrink/--no-shrink",
    default=True,
    show_default=True,
    help="Random walks: shrink each counterexample (delta debugging) before writing it.",
)
@click.option(
    "--liveness",
    is_flag=True,
    help="Also look for fair cycles on which an eventually property never holds (lassos).",
)
@click.option(
    "--liveness-bound",
    type=click.IntRange(min=1),
    help="With --liveness: also report runs over this many steps where one never holds.",
)
@click.option("--trace", type=click.Path(dir_okay=False), help="Also write the first one here.")
@click.option("--trace-dir", type=click.Path(file_okay=False), help="Directory for the traces.")
@click.option("--property", "only", multiple=True, metavar="NAME", help="Check only NAME.")
@click.option("--witness", multiple=True, metavar="GUARD", help="Save GUARD's witness trace.")
@click.option("--diagram", type=click.Path(dir_okay=False), help="Draw it (.png or .svg).")
@click.option(
    "--reduce",
    type=click.Choice(REDUCE_MODES),
    default=jobs.DEFAULT_REDUCE,
    show_default=True,
    help="State-space reductions of the search (symmetry: the scenario's [check] symmetry).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--checkpoint",
    type=click.Path(dir_okay=False),
    help="Save the search here as it runs and resume from it (same check only).",
)
@click.option(
    "--checkpoint-every",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="Seconds between checkpoint saves.",
)
def check(
    scenario,
    sets,
    max_states,
    max_depth,
    max_seconds,
    random_mode,
    walks,
    seed,
    workers,
    swarm,
    shrink,
    liveness,
    liveness_bound,
    trace,
    trace_dir,
    only,
    witness,
    diagram,
    reduce,
    as_json,
    checkpoint,
    checkpoint_every,
) -> None:
    """Explore SCENARIO exhaustively (or by random walks) and judge its properties.

    Each violated property's shortest counterexample goes to a file of its
    own (in --trace-dir, else the working directory). Ctrl-C stops the
    search like a bound: the partial report is printed and the
    counterexamples found so far are written.
    """
    if checkpoint and random_mode:
        raise BadInput("--checkpoint: expected a breadth-first check, not --random")
    if checkpoint and reduce in ("por", "both"):
        raise BadInput(
            "--checkpoint: expected --reduce none or symmetry (POR's choices are not saved)"
        )
    if checkpoint and workers > 1:
        raise BadInput("--checkpoint: expected --workers 1 (a parallel search is not saved)")
    jobs.check_output(trace)
    jobs.check_output(checkpoint)
    jobs.check_output(diagram, (".png", ".svg"))
    jobs.check_directory(trace_dir)
    loaded = jobs.load_scenario(scenario, sets)
    from mxsim.experiments.random_search import walk_progress_printer
    from mxsim.sim.explore import progress_printer

    printer = walk_progress_printer if random_mode else progress_printer
    progress = None if as_json else printer()
    report = jobs.check_job(
        loaded,
        max_states=max_states,
        max_depth=max_depth,
        max_seconds=max_seconds,
        random_walks=walks if random_mode else None,
        seed=seed,
        workers=workers,
        trace=trace,
        diagram=diagram,
        progress=progress,
        checkpoint=checkpoint,
        checkpoint_every=checkpoint_every,
        swarm=swarm,
        shrink=shrink,
        properties=only,
        witnesses=witness,
        trace_dir=trace_dir,
        liveness=liveness,
        liveness_bound=liveness_bound,
        reduce=reduce,
    )
    if progress is not None:
        click.echo("\r" + " " * 100 + "\r", nl=False, err=True)
    if as_json:
        _emit_json(report)
    elif report["mode"] == "random":
        from mxsim.experiments.random_search import describe

        for line in describe(report):
            click.echo(line)
    else:
        how = "random walks" if report["mode"] == "random" else "breadth-first"
        extent = "complete" if report["complete"] else f"bounded ({report['stopped']})"
        click.echo(
            f"{report['scenario']}: {how}, {report['states']:,} states, depth {report['depth']} "
            f"(steps after the {report['starts']} node starts), "
            f"{extent}, {report['seconds']:.2f} s; timers fire: {report['timers']}; "
            f"budgets {report['budgets']}; reduce: {report['reduce']}"
        )
        for line in _verdict_lines(report["properties"]):
            click.echo(line)
        for line in coverage_lines(report):
            click.echo(line)
    if not as_json:
        for line in evidence.lines(report, trace):
            click.echo(line)
        if "liveness" in report:
            from mxsim.experiments.lassos import describe

            for line in describe(report["liveness"]):
                click.echo(line)
        click.echo(f"verdict: {report['verdict']}")
    live = report.get("liveness", {})
    stuck = live.get("lassos") or live.get("long_runs")
    sys.exit(0 if all(v in PASSING for v in report["properties"].values()) and not stuck else 1)


@cli.command()
@click.argument("trace_file", metavar="TRACE")
@click.option("--diagram", type=click.Path(dir_okay=False), help="Draw it (.png or .svg).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def replay(trace_file, diagram, as_json) -> None:
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
    if as_json:
        _emit_json({**report, "reproduced": True})
    else:
        click.echo(
            f"{trace_file}: reproduced {report['steps']} steps of {report['scenario']}; "
            f"trace_hash {report['trace_hash']}"
        )
        for line in _verdict_lines(report["verdicts"]):
            click.echo(line)
    sys.exit(0)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--deliveries", type=click.IntRange(min=1000), default=200_000, show_default=True)
@click.option(
    "--only",
    type=click.Choice(["engine", "rooms", "checker", "swarm"]),
    help="Run one part: the engine against bare simpy, the homeserver model, the checker "
    "(states/s, reductions, time to each seeded violation), or swarm against plain random "
    "walks (only run when named).",
)
def bench(as_json: bool, deliveries: int, only: str | None) -> None:
    """Measure deliveries/s against bare simpy, the rooms model, and the checker."""
    from mxsim.experiments import bench as bench_mod
    from mxsim.experiments import bench_rooms

    report: dict = {}
    lines: list[str] = []
    if only in (None, "engine"):
        report["engine"] = bench_mod.run(deliveries)
        lines += bench_mod.describe(report["engine"])
    if only in (None, "rooms"):
        report["rooms"] = bench_rooms.run()
        lines += bench_rooms.describe(report["rooms"])
    if only in (None, "checker"):
        from mxsim.experiments import bench_checker

        report["checker"] = bench_checker.run()
        lines += bench_checker.describe(report["checker"])
    if only == "swarm":
        from mxsim.experiments import bench_swarm

        report["swarm"] = bench_swarm.run()
        lines += bench_swarm.describe(report["swarm"])
    if as_json:
        _emit_json(report)
    else:
        for line in lines:
            click.echo(line)


@cli.command()
@click.argument("scenario")
@click.option("--vary", multiple=True, metavar="SWITCH=V1,V2", help="Switch values to compare.")
@sets_option
@click.option("--seeds", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Output directory.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def sweep(scenario, vary, sets, seeds, workers, out, as_json) -> None:
    """Run SCENARIO over seeds and switch values; tabulate and plot the verdicts."""
    from pathlib import Path

    from mxsim.experiments import sweep as sweep_mod

    target = Path(out)
    if target.exists() and not target.is_dir():
        raise BadInput(f"{out}: expected a directory, found a file")
    if not target.parent.is_dir():
        raise BadInput(f"{out}: expected an existing parent directory {target.parent}")
    results = sweep_mod.sweep(scenario, sweep_mod.parse_vary(vary), seeds, sets, workers)
    paths = sweep_mod.write_outputs(results, target, f"{scenario}: {seeds} seeds per variant")
    variants, props, passed = sweep_mod.summarize(results)
    if as_json:
        _emit_json(
            {
                "scenario": scenario,
                "seeds": seeds,
                "passed": {v: {p: passed.get((v, p), 0) for p in props} for v in variants},
                "files": [str(p) for p in paths],
            }
        )
        return
    width = max(len(p) for p in props)
    click.echo(f"{scenario}: runs that pass, of {seeds} seeds")
    click.echo(" " * (width + 2) + "  ".join(f"{v[:24]:>24}" for v in variants))
    for p in props:
        cells = "  ".join(f"{passed.get((v, p), 0):>24}" for v in variants)
        click.echo(f"{p:<{width}}  {cells}")
    for path in paths:
        click.echo(f"wrote {path}")


@cli.command()
@click.argument("scenario")
@click.option("--vary", multiple=True, metavar="SWITCH=V1,V2", help="Switch values to combine.")
@sets_option
@click.option("--max-states", type=click.IntRange(min=1), help="Bound on distinct states.")
@click.option("--max-depth", type=click.IntRange(min=1), help="Bound on path length.")
@click.option("--max-seconds", type=click.FloatRange(min=0, min_open=True), help="Time bound.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), help="Write the table as Markdown (.md).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def matrix(scenario, vary, sets, max_states, max_depth, max_seconds, workers, out, as_json):
    """Check every property under every combination of SCENARIO's switches; tabulate."""
    from mxsim.experiments import matrix as matrix_mod
    from mxsim.experiments import sweep as sweep_mod

    jobs.check_output(out, (".md",))
    bounds = {"max_states": max_states, "max_depth": max_depth, "max_seconds": max_seconds}
    result = matrix_mod.matrix(scenario, sweep_mod.parse_vary(vary), sets, bounds, workers)
    if out:
        matrix_mod.write_markdown(result, out)
    if as_json:
        _emit_json(result)
    else:
        for line in matrix_mod.text_table(result):
            click.echo(line)
        if out:
            click.echo(f"wrote {out}")


@cli.group()
def experiment() -> None:
    """Experiments: sweeps that answer one question each, with a CSV and a figure."""


@experiment.command("receipts")
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Output directory.")
@click.option("--users", default="2,3,4,6,8,12,16,20", show_default=True, help="Room sizes N.")
@click.option("--messages", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
def experiment_receipts(out, users, messages, workers, as_json) -> None:
    """Receipt traffic of each strategy against room size (the n^2 of relates_to)."""
    from pathlib import Path

    from mxsim.experiments import receipts

    try:
        sizes = [int(n) for n in users.split(",")]
    except ValueError:
        raise BadInput(f"--users: expected integers separated by commas, found {users!r}") from None
    if not sizes or min(sizes) < 2:
        raise BadInput(f"--users: expected room sizes of at least 2, found {users!r}")
    target = Path(out)
    if not target.parent.is_dir() or (target.exists() and not target.is_dir()):
        raise BadInput(f"{out}: expected a directory (or a new one in an existing directory)")
    rows = receipts.run(sizes, messages, workers=workers)
    paths = receipts.write_outputs(rows, target)
    if as_json:
        _emit_json({"rows": rows, "files": [str(p) for p in paths]})
        return
    click.echo(f"{'strategy':<11} {'N':>3} {'c2s':>6} {'s2c':>8} {'s2s':>6} {'bytes':>10}")
    for r in rows:
        total_bytes = r["c2s_bytes"] + r["s2c_bytes"] + r["s2s_bytes"]
        click.echo(
            f"{r['strategy']:<11} {r['users']:>3} {r['c2s_messages']:>6} {r['s2c_messages']:>8} "
            f"{r['s2s_messages']:>6} {total_bytes:>10}"
        )
    click.echo("every run passed its properties and matched its formula")
    for path in paths:
        click.echo(f"wrote {path}")


cli.add_command(resolve)


def main(argv: list[str] | None = None) -> None:
    """Entry point: one-line errors with exit code 2 for every kind of bad input."""
    try:
        code = cli.main(args=argv, prog_name="mxsim", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as e:
        click.echo(e.ctx.get_help() if e.ctx else str(e))
        sys.exit(2)
    except click.UsageError as e:
        where = f"mxsim {e.ctx.info_name}" if e.ctx and e.ctx.info_name != "mxsim" else "mxsim"
        click.echo(f"{where}: {e.format_message()}", err=True)
        sys.exit(2)
    except click.ClickException as e:
        click.echo(f"mxsim: {e.format_message()}", err=True)
        sys.exit(2)
    except (
        ScenarioError,
        TraceError,
        jobs.OutputError,
        BadInput,
        ExperimentError,
        CheckpointError,
    ) as e:
        click.echo(str(e).replace("\n", " "), err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("mxsim: aborted", err=True)
        sys.exit(130)
    except KeyboardInterrupt:
        click.echo("mxsim: interrupted", err=True)
        sys.exit(130)
    except Exception as e:  # a bug in a model or the engine, not bad input
        if os.environ.get("MXSIM_DEBUG"):
            raise
        where = traceback.extract_tb(e.__traceback__)[-1]
        click.echo(
            f"mxsim: internal error: {type(e).__name__}: {e} "
            f"(at {Path(where.filename).name}:{where.lineno}; MXSIM_DEBUG=1 shows the traceback)",
            err=True,
        )
        sys.exit(3)
    sys.exit(code or 0)
