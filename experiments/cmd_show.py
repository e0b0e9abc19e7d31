"""``mxsim show TRACE``: a trace as one readable line per step (also ``replay --steps``)."""

from __future__ import annotations

import sys
from typing import Any

import click

from mxsim.experiments.cmd_common import _emit_json
from mxsim.models.explain import explain_lines
from mxsim.models.story import emitted, step_lines, step_text
from mxsim.sim import trace as tracefile

__all__ = ["show", "story"]


def story(lines: list[dict[str, Any]]) -> dict[str, Any]:
    """The listing of a trace as data: its steps' texts and the violation explained."""
    model = lines[0].get("model")
    end = lines[-1]
    violation = end.get("violation") if isinstance(end.get("violation"), dict) else None
    explanation = explain_lines(lines) if violation is not None else None
    steps = [
        {
            "step": s.get("step"),
            "t": s.get("t"),
            "node": s.get("node"),
            "text": step_text(s, model),
            "emitted": emitted(s, model),
        }
        for s in lines
        if s.get("kind") == "step"
    ]
    out: dict[str, Any] = {"scenario": lines[0].get("scenario"), "steps": steps}
    out["verdicts"] = end.get("verdicts") or {}
    out["violation"] = {**violation, "explanation": explanation} if violation else None
    out["lines"] = step_lines(lines, explanation)
    return out


@click.command()
@click.argument("trace_file", metavar="TRACE")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def show(trace_file: str, as_json: bool) -> None:
    """Print TRACE one step a line: time, node, what arrived from whom, what it emitted.

    The violating step is marked "!!" with a sentence saying what went wrong.
    Nothing is checked; `mxsim replay TRACE --steps` re-executes it first.
    """
    told = story(tracefile.read(trace_file))
    if as_json:
        _emit_json({"trace": trace_file, **told})
    else:
        for line in told["lines"]:
            click.echo(line)
    sys.exit(0)
