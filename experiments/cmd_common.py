"""What the ``mxsim`` commands share: the bad-input error, JSON and verdict output, ``--set``."""

from __future__ import annotations

import json
from typing import Any

import click

__all__ = ["BadInput", "sets_option", "budget_words"]


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


def budget_words(b: dict[str, Any]) -> str:
    """The checker's fault budgets in words.

    >>> budget_words({"drops": 1, "duplicates": 0, "crashes": 2})
    '1 drop, 0 duplicates, 2 crashes'
    """
    words = []
    for key, one in (("drops", "drop"), ("duplicates", "duplicate"), ("crashes", "crash")):
        n = b[key]
        words.append(f"{n} {one if n == 1 else key}")
    return ", ".join(words)
