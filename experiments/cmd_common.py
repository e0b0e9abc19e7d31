"""What the ``mxsim`` commands share: the bad-input error, JSON and verdict output, ``--set``."""

from __future__ import annotations

import json
from typing import Any

import click

__all__ = ["BadInput", "sets_option"]


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
