"""``mxsim check``: explore a scenario's worlds and judge its properties."""

from __future__ import annotations

import sys

import click

from mxsim.experiments import evidence, jobs
from mxsim.experiments.cmd_common import (
    BadInput,
    _emit_json,
    _verdict_lines,
    budget_words,
    diagram_lines,
    scheduler_option,
    sets_option,
)
from mxsim.sim.coverage import coverage_lines
from mxsim.sim.reduce import MODES as REDUCE_MODES
from mxsim.sim.verdict import PASSING

__all__ = ["check"]


@click.command()
@click.argument("scenario")
@sets_option
@click.option("--max-states", type=click.IntRange(min=1), help="Bound on distinct states.")
@click.option("--max-depth", type=click.IntRange(min=1), help="Bound on path length.")
@click.option("--max-seconds", type=click.FloatRange(min=0, min_open=True), help="Time bound.")
@click.option("--random", "random_mode", is_flag=True, help="Random walks instead of BFS.")
@click.option(
    "--walks",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="With --random: how many random walks (walk i draws from stream mxsim/SEED/walk/i).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="With --random: the seed of the walks (the same seed, the same walks and traces).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Processes: with --random, the walks are split over them; else the breadth-first "
    "search is split by fingerprint (same report and traces for any number).",
)
@scheduler_option
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
    scheduler,
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
    if scheduler and not random_mode:
        source = click.get_current_context().get_parameter_source("scheduler")
        if source is not click.core.ParameterSource.ENVIRONMENT:
            raise BadInput(
                f"--scheduler {scheduler}: expected --random (the breadth-first search runs "
                "on this machine: --workers)"
            )
        scheduler = None  # MXSIM_SCHEDULER names where distributable work goes
    jobs.check_output(trace)
    jobs.check_output(checkpoint)
    jobs.check_output(diagram, (".png", ".svg"))
    jobs.check_directory(trace_dir)
    loaded = jobs.load_scenario(scenario, sets)
    from mxsim.experiments.executor import open_executor
    from mxsim.experiments.random_search import walk_progress_printer
    from mxsim.sim.explore import progress_printer

    printer = walk_progress_printer if random_mode else progress_printer
    progress = None if as_json else printer()
    with open_executor(scheduler, workers) as executor:
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
            executor=executor,
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
            f"fault budgets: {budget_words(report['budgets'])}; reduce: {report['reduce']}"
        )
        for line in _verdict_lines(report["properties"]):
            click.echo(line)
        for line in coverage_lines(report):
            click.echo(line)
    if not as_json:
        for line in evidence.lines(report, trace):
            click.echo(line)
        for line in diagram_lines(report.get("diagram")):
            click.echo(line)
        if "liveness" in report:
            from mxsim.experiments.lassos import describe

            for line in describe(report["liveness"]):
                click.echo(line)
        click.echo(f"verdict: {report['verdict']}")
    live = report.get("liveness", {})
    stuck = live.get("lassos") or live.get("long_runs")
    sys.exit(0 if all(v in PASSING for v in report["properties"].values()) and not stuck else 1)
