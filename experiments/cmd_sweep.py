"""``mxsim sweep`` and ``mxsim matrix``: many runs or checks at once."""

from __future__ import annotations

import click

from mxsim.experiments import jobs
from mxsim.experiments.cmd_common import BadInput, _emit_json, scheduler_option, sets_option
from mxsim.experiments.executor import open_executor
from mxsim.experiments.executor.progress import UnitProgress

__all__ = ["sweep", "matrix"]


@click.command()
@click.argument("scenario")
@click.option("--vary", multiple=True, metavar="SWITCH=V1,V2", help="Switch values to compare.")
@sets_option
@click.option("--seeds", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True)
@scheduler_option
@click.option("--out", type=click.Path(file_okay=False), required=True, help="Output directory.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def sweep(scenario, vary, sets, seeds, workers, scheduler, out, as_json) -> None:
    """Run SCENARIO over seeds and switch values; tabulate and plot the verdicts."""
    from pathlib import Path

    from mxsim.experiments import sweep as sweep_mod

    target = Path(out)
    if target.exists() and not target.is_dir():
        raise BadInput(f"{out}: expected a directory, found a file")
    if not target.parent.is_dir():
        raise BadInput(f"{out}: expected an existing parent directory {target.parent}")
    varied = sweep_mod.parse_vary(vary)
    with open_executor(scheduler, workers) as ex:
        bar = None if as_json else UnitProgress("sweep", "runs")
        results = sweep_mod.sweep(scenario, varied, seeds, sets, workers, ex, bar)
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
    # Full variant labels: with two --vary, a cut label would hide the second switch.
    col = max(len(v) for v in variants)
    click.echo(f"{scenario}: runs that pass, of {seeds} seeds")
    click.echo(" " * (width + 2) + "  ".join(f"{v:>{col}}" for v in variants))
    for p in props:
        cells = "  ".join(f"{passed.get((v, p), 0):>{col}}" for v in variants)
        click.echo(f"{p:<{width}}  {cells}")
    for path in paths:
        click.echo(f"wrote {path}")


@click.command()
@click.argument("scenario")
@click.option("--vary", multiple=True, metavar="SWITCH=V1,V2", help="Switch values to combine.")
@sets_option
@click.option("--max-states", type=click.IntRange(min=1), help="Bound on distinct states.")
@click.option("--max-depth", type=click.IntRange(min=1), help="Bound on path length.")
@click.option("--max-seconds", type=click.FloatRange(min=0, min_open=True), help="Time bound.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True)
@scheduler_option
@click.option("--out", type=click.Path(dir_okay=False), help="Write the table as Markdown (.md).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def matrix(
    scenario, vary, sets, max_states, max_depth, max_seconds, workers, scheduler, out, as_json
):
    """Check every property under every combination of SCENARIO's switches; tabulate."""
    from mxsim.experiments import matrix as matrix_mod
    from mxsim.experiments import sweep as sweep_mod

    jobs.check_output(out, (".md",))
    bounds = {"max_states": max_states, "max_depth": max_depth, "max_seconds": max_seconds}
    varied = sweep_mod.parse_vary(vary)
    with open_executor(scheduler, workers) as ex:
        bar = None if as_json else UnitProgress("matrix", "rows")
        result = matrix_mod.matrix(scenario, varied, sets, bounds, workers, ex, bar)
    if out:
        matrix_mod.write_markdown(result, out)
    if as_json:
        _emit_json(result)
    else:
        for line in matrix_mod.text_table(result):
            click.echo(line)
        if out:
            click.echo(f"wrote {out}")
