"""The ``mxsim`` command: scenarios, run, check, replay, bench, resolve.

Exit codes: 0 every property holds, 1 a property is violated (or a
``sometimes`` guard was never reached, or an ``eventually`` could not be
decided), 2 bad input, 3 an internal error (a bug in a model or the engine;
``MXSIM_DEBUG=1`` shows its traceback). Bad input is one line on stderr,
never a traceback.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

import click

from mxsim.experiments import jobs
from mxsim.experiments.cmd_bench import bench
from mxsim.experiments.cmd_check import check
from mxsim.experiments.cmd_common import BadInput
from mxsim.experiments.cmd_resolve import resolve
from mxsim.experiments.cmd_run import replay, run, scenarios
from mxsim.experiments.cmd_show import show
from mxsim.experiments.cmd_sweep import experiment, matrix, sweep
from mxsim.experiments.receipts import ExperimentError
from mxsim.sim.checkpoint import CheckpointError
from mxsim.sim.scenario import ScenarioError
from mxsim.sim.trace import TraceError

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mxsim")
def cli() -> None:
    """Deterministic simulator and model checker for the Matrix C-S API v2 proposal."""


for command in (scenarios, run, check, replay, bench, sweep, matrix, experiment, resolve):
    cli.add_command(command)
cli.add_command(show)


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
