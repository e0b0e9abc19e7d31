"""What the ``mxsim`` commands share: the bad-input error, JSON and verdict output, ``--set``."""

from __future__ import annotations

import json
from typing import Any

import click

__all__ = [
    "BadInput",
    "sets_option",
    "scheduler_option",
    "budget_words",
    "error_object",
    "diagram_lines",
]


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


scheduler_option = click.option(
    "--scheduler",
    envvar="MXSIM_SCHEDULER",
    metavar="ADDRESS",
    help="Run the units on a Dask cluster: its scheduler's tcp://HOST:PORT, or local:N to "
    "start N worker processes here [env MXSIM_SCHEDULER]; the output is the same bytes.",
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


def error_object(error: BaseException, line: str) -> dict[str, Any]:
    """What ``--json`` prints for bad input: the line, and the field, expectation and
    finding it names (None where the error names none).

    >>> e = error_object(BadInput("x"), "a.toml: nodes[1].kind: expected one of: hs, found 'h'")
    >>> e["field"], e["expected"], e["found"]
    ('nodes[1].kind', 'one of: hs', "'h'")
    """
    out: dict[str, Any] = {"error": line, "field": None, "expected": None, "found": None}
    if hasattr(error, "field") and hasattr(error, "expected"):  # ScenarioError and its kin
        out.update(field=error.field, expected=error.expected, found=getattr(error, "found", None))
        return out
    if isinstance(error, click.UsageError):
        param = getattr(error, "param", None)
        name = getattr(error, "option_name", None)
        if param is not None:
            name = param.opts[0] if getattr(param, "opts", None) else param.name
        out.update(field=name, expected=getattr(error, "message", None) or error.format_message())
        return out
    head, sep, rest = line.partition(": expected ")
    if sep:
        expected, found_sep, found = rest.rpartition(", found ")
        out["field"] = head.rsplit(": ", 1)[-1]
        out["expected"] = expected if found_sep else rest
        out["found"] = found if found_sep else None
    return out


def diagram_lines(drawn: dict[str, Any] | None) -> list[str]:
    """Where ``--diagram`` drew, and what (the pages of a long trace, a passing
    check's witness or why there was nothing to draw).

    >>> pages = ["c.page1.svg", "c.page2.svg"]
    >>> diagram_lines({"diagram": "c.svg", "pages": pages, "violation": True})
    ['diagram: c.svg (the steps around the violation); every step: c.page1.svg, c.page2.svg']
    >>> diagram_lines({"diagram": "c.svg", "pages": [], "witness": None, "why": "nothing"})
    ['diagram: c.svg (nothing)']
    """
    if not drawn:
        return []
    what = ""
    if drawn.get("witness"):
        what = f" (the witness of {drawn['witness']}, {drawn['steps']} steps)"
    elif "why" in drawn:
        what = f" ({drawn['why']})"
    elif drawn.get("pages"):
        around = drawn.get("violation")
        what = " (the steps around the violation)" if around else " (the first page)"
    line = f"diagram: {drawn['diagram']}{what}"
    if drawn.get("pages"):
        line += "; every step: " + ", ".join(drawn["pages"])
    return [line]
