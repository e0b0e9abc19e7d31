"""``mxsim experiment NAME``: one question answered with data, figures and a summary."""

from __future__ import annotations

import sys

import click

from mxsim.experiments.cmd_common import BadInput, _emit_json, scheduler_option

__all__ = ["experiment"]


@click.command()
@click.argument("name", required=False)
@click.option("--quick", is_flag=True, help="A reduced sweep that runs in seconds.")
@click.option(
    "--out", type=click.Path(file_okay=False), help="Output directory [default: results/NAME/]."
)
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True)
@scheduler_option
@click.option("--seed", type=int, default=0, show_default=True, help="Shift every point's seed.")
@click.option("--list", "as_list", is_flag=True, help="Name every experiment and its question.")
@click.option("--json", "as_json", is_flag=True, help="With --list: one JSON object.")
def experiment(name, quick, out, jobs, scheduler, seed, as_list, as_json) -> None:
    """Run experiment NAME: data.csv, figures (PNG, SVG) and summary.md in DIR.

    Exit code 1 if a point failed (the others are kept) or the data
    contradicts the experiment's claim (then no figure is drawn).
    """
    from pathlib import Path

    from mxsim.experiments.experiment import runner
    from mxsim.experiments.experiment.registry import experiments

    found = experiments()
    if as_list:
        if name:
            raise BadInput(f"experiment: expected NAME or --list, found both ({name})")
        if as_json:
            _emit_json({n: {"question": e.question, "setup": e.setup} for n, e in found.items()})
        else:
            width = max((len(n) for n in found), default=0)
            for n, e in found.items():
                click.echo(f"{n:<{width}}  {e.question}")
        return
    if not name:
        raise BadInput(f"experiment: expected NAME (one of {', '.join(found)}) or --list")
    if name not in found:
        raise BadInput(f"experiment {name}: expected one of {', '.join(found)}")
    if as_json:
        raise BadInput("experiment: --json goes with --list")
    target = Path(out) if out else Path("results") / name
    if target.exists() and not target.is_dir():
        raise BadInput(f"{target}: expected a directory, found a file")
    exp = found[name]
    from mxsim.experiments.executor import open_executor

    with open_executor(scheduler, jobs) as ex:
        outcome = runner.run(
            exp,
            target,
            quick=quick,
            jobs=jobs,
            seed=seed,
            on_done=runner.Progress(name),
            on_failure=lambda line: click.echo(line, err=True),
            executor=ex,
        )
    if outcome.refused is not None:
        click.echo(f"{name}: {outcome.refused}", err=True)
    elif outcome.answer:
        click.echo(outcome.answer)
    for path in outcome.files:
        click.echo(f"wrote {path}")
    if not outcome.ok:
        failed = f"{len(outcome.failed)} points failed" if outcome.failed else "check failed"
        click.echo(f"{name}: {failed} (see {target / 'summary.md'})", err=True)
        sys.exit(1)
