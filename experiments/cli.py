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

import click

from mxsim.experiments import jobs
from mxsim.experiments.cmd_bench import bench
from mxsim.experiments.cmd_check import check
from mxsim.experiments.cmd_common import BadInput, error_object
from mxsim.experiments.cmd_describe import describe, models, scenarios
from mxsim.experiments.cmd_experiment import experiment
from mxsim.experiments.cmd_resolve import resolve
from mxsim.experiments.cmd_run import replay, run
from mxsim.experiments.cmd_show import show
from mxsim.experiments.cmd_sweep import matrix, sweep
from mxsim.experiments.executor import SchedulerError
from mxsim.experiments.experiment.base import ExperimentError
from mxsim.sim.checkpoint import CheckpointError
from mxsim.sim.scenario import ScenarioError
from mxsim.sim.trace import TraceError

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mxsim")
def cli() -> None:
    """Deterministic simulator and model checker for the Matrix C-S API v2 proposal.

    Start with `mxsim scenarios`, `mxsim models` and `mxsim describe NAME`.

    \b
    Exit codes:
      0  every property holds
      1  a property is violated (or a sometimes guard was never reached, or
         an eventually property could not be decided)
      2  bad input: one line on stderr naming the file, the field and what
         was expected (with --json also a JSON object on stdout:
         {"error", "field", "expected", "found"})
      3  an internal error (MXSIM_DEBUG=1 shows the traceback)
    """


COMMANDS = (scenarios, models, describe, run, check, replay, bench, sweep, matrix, experiment)
for command in (*COMMANDS, resolve):
    cli.add_command(command)
cli.add_command(show)


def main(argv: list[str] | None = None) -> None:
    """Entry point: one-line errors with exit code 2 for every kind of bad input.

    With ``--json`` among the arguments, bad input and internal errors are
    also printed on stdout as one JSON object (``error``, ``field``,
    ``expected``, ``found``; see :func:`cmd_common.error_object`).
    """
    args = sys.argv[1:] if argv is None else list(argv)
    code, error, line = _main(args)
    if line is not None:
        click.echo(line, err=True)
        if "--json" in args and error is not None:
            click.echo(json.dumps(error_object(error, line), sort_keys=True, default=str))
    sys.exit(code)


def _main(argv: list[str]) -> tuple[int, BaseException | None, str | None]:
    """(exit code, the error, its line) of one command."""
    try:
        code = cli.main(args=argv, prog_name="mxsim", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as e:
        click.echo(e.ctx.get_help() if e.ctx else str(e))
        return 2, None, None
    except click.UsageError as e:
        where = f"mxsim {e.ctx.info_name}" if e.ctx and e.ctx.info_name != "mxsim" else "mxsim"
        return 2, e, f"{where}: {e.format_message()}"
    except click.ClickException as e:
        return 2, e, f"mxsim: {e.format_message()}"
    except (
        ScenarioError,
        TraceError,
        jobs.OutputError,
        BadInput,
        ExperimentError,
        CheckpointError,
        SchedulerError,
    ) as e:
        return 2, e, str(e).replace("\n", " ")
    except click.exceptions.Abort:
        return 130, None, "mxsim: aborted"
    except KeyboardInterrupt:
        return 130, None, "mxsim: interrupted"
    except SystemExit as e:  # a command's own exit code (0 or 1)
        return (e.code if isinstance(e.code, int) else 0 if e.code is None else 1), None, None
    except Exception as e:  # a bug in a model or the engine, not bad input
        if os.environ.get("MXSIM_DEBUG"):
            raise
        where = traceback.extract_tb(e.__traceback__)[-1]
        return (
            3,
            e,
            f"mxsim: internal error: {type(e).__name__}: {e} "
            f"(at {Path(where.filename).name}:{where.lineno}; MXSIM_DEBUG=1 shows the traceback)",
        )
    return code or 0, None, None
