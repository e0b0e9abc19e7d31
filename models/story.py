"""The story of a trace: one readable line per step, the violation explained.

``mxsim show TRACE`` and ``mxsim replay TRACE --steps`` print :func:`step_lines`;
diagrams take their arrow labels, tooltips and the violation's sentence from
:func:`summarize` and :func:`mxsim.models.explain.explain_lines` (:func:`draw`).
A message is summarised by the wire registry of the trace's model
(``WIRE.summarize``, :mod:`mxsim.models.wire_brief`); a model without one
shows each message's type and scalar fields.

A line reads: step, time (timed runs), the node, what happened to it, and
``=>`` what it emitted::

       6  hs       <- alice: #0 send "hello" in !r:hs  => alice: result #0 ok $hs.1
"""

from __future__ import annotations

import pathlib
from typing import Any

from mxsim.models.wire import WIRE
from mxsim.sim.scenario import ScenarioError
from mxsim.sim.wire import Wire, plain
from mxsim.sim.world import StepError

__all__ = ["summarize", "step_text", "emitted", "step_lines", "draw", "draw_passing", "polling"]

#: The wire registry of each model whose messages have briefs.
WIRES: dict[str, Wire] = {"matrix": WIRE}


def summarize(msg: Any, model: str | None = "matrix") -> str:
    """One line for a message of ``model``."""
    wire = WIRES.get(model or "")
    if wire is not None:
        return wire.summarize(msg)
    return plain(msg) if isinstance(msg, dict) else str(msg)


def _input(msg: Any, model: str | None) -> str:
    """A workload input: its op, read as the request it becomes where one is declared."""
    if not isinstance(msg, dict):
        return str(msg)
    op = msg.get("op")
    as_msg = {"type": op, **{k: v for k, v in msg.items() if k != "op"}}
    return summarize(as_msg, model).strip()


def step_text(step: dict[str, Any], model: str | None = "matrix") -> str:
    """What a step did, without its emissions: ``<- alice: #0 send "hello" in !r:hs``."""
    act = step.get("act")
    src = step.get("src")
    if act == "deliver":
        return f"<- {src}: {summarize(step.get('msg'), model)}"
    if act == "drop":
        reason = f" ({step['reason']})" if step.get("reason") else ""
        return f"x  {src}: {summarize(step.get('msg'), model)} dropped{reason}"
    if act == "duplicate":
        return f"2x {src}: {summarize(step.get('msg'), model)} duplicated"
    if act == "input":
        return f"input: {_input(step.get('msg'), model)}"
    if act == "timer":
        return f"timer {step.get('timer')}"
    if act in ("partition", "heal"):
        groups = step.get("groups")
        return f"{act} {groups}" if groups else str(act)
    return str(act)


def emitted(step: dict[str, Any], model: str | None = "matrix") -> list[str]:
    """``dst: summary`` for each message the step sent."""
    effects = step.get("effects") or {}
    return [f"{dst}: {summarize(msg, model)}" for dst, msg in effects.get("send") or []]


def _ms(t: Any) -> str:
    if not isinstance(t, int | float) or isinstance(t, bool):
        return ""
    return f"{t / 1000:.3f}".rstrip("0").rstrip(".") + " ms"


def step_lines(lines: list[dict[str, Any]], explanation: str | None = None) -> list[str]:
    """The readable listing of a trace: a title, one line per step, the verdict.

    The violating step is marked ``!!`` and followed by the property's name
    and ``explanation`` (the caller's: :func:`mxsim.models.explain.explain_lines`).
    """
    head, end = lines[0], lines[-1]
    model = head.get("model")
    steps = [line for line in lines if line.get("kind") == "step"]
    overrides = head.get("overrides") or {}
    sets = "".join(f" --set {k}={v}" for k, v in sorted(overrides.items()))
    starts = len(head.get("nodes") or [])
    out = [
        f"{head.get('scenario')} ({head.get('mode')}){sets}: {len(steps) - starts} steps"
        f" after the {starts} node starts"
    ]
    violation = end.get("violation") if isinstance(end.get("violation"), dict) else None
    bad = violation.get("step") if violation else None
    timed = any(isinstance(s.get("t"), int) for s in steps)
    node_w = max([len(str(s.get("node"))) for s in steps] + [4])
    for position, step in enumerate(steps):
        k = step.get("step", position)
        mark = "!!" if k == bad else "  "
        when = f"{_ms(step.get('t')):>11} " if timed else ""
        text = step_text(step, model)
        sends = emitted(step, model)
        if sends:
            text += "  => " + "; ".join(sends)
        if step.get("cycle"):
            text += "  (cycle)"  # a lasso's loop, which repeats for ever
        node = str(step.get("node") or "*")
        out.append(f"{mark}{k:>4} {when}{node:<{node_w}} {text}")
        if k == bad and violation is not None:
            why = f": {explanation}" if explanation else ""
            out.append(f"{' ' * 7}^ VIOLATED {violation.get('property')}{why}")
    verdicts = end.get("verdicts") or {}
    if verdicts:
        out.append("verdicts: " + ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items())))
    return out


def draw(
    lines: list[dict[str, Any]],
    path: str | pathlib.Path,
    *,
    highlight: int | None = None,
    title: str | None = None,
) -> list[str]:
    """Draw the trace's space-time diagram with message summaries and the violation's
    sentence (:func:`mxsim.sim.diagram.draw` with this model's story).

    A trace longer than one page (:data:`mxsim.sim.diagram.MAX_STEPS` steps) is
    drawn to ``path`` around its violation, and page by page to
    :func:`mxsim.sim.diagram.page_path` files; returns those pages' paths."""
    from mxsim.models.explain import explain_lines
    from mxsim.sim import diagram

    model = lines[0].get("model") if lines else None
    try:
        explanation = explain_lines(lines)
    except (StepError, ScenarioError, KeyError, TypeError, ValueError):
        explanation = None  # a trace that does not re-execute: no sentence, still a diagram
    kwargs = dict(
        highlight=highlight,
        title=title,
        summarize=lambda msg: summarize(msg, model),
        explanation=explanation,
        quiet=polling,
    )
    diagram.draw(lines, path, **kwargs)
    count = diagram.pages(lines)
    if count == 1:
        return []
    out = []
    for page in range(1, count + 1):
        target = diagram.page_path(path, page)
        diagram.draw(lines, target, page=page, **kwargs)
        out.append(str(target))
    return out


def draw_passing(
    system: Any, head: dict[str, Any], witnesses: dict[str, list], path: str | pathlib.Path
) -> dict[str, Any]:
    """A passing check's diagram: the longest of its ``sometimes`` guards' witnesses
    (the most story a holding check has), else a page saying why there is none.

    Returns what was drawn: ``{"diagram", "witness", "steps"}``, or ``{"diagram",
    "witness": None, "why"}``.
    """
    import json

    from mxsim.sim import trace as tracefile
    from mxsim.sim.world import digest_states

    scenario = head.get("scenario")
    if not witnesses:
        why = "no violation, and no sometimes guard was reached: nothing to draw"
        draw([head], path, title=f"{scenario} (check): {why}")
        return {"diagram": str(path), "pages": [], "witness": None, "why": why}
    name = max(sorted(witnesses), key=lambda n: len(witnesses[n]))
    actions = witnesses[name]
    lines, world, judge = tracefile.path_lines(system, actions)
    digest = digest_states(world.states, world.up)
    data, _ = tracefile.finish(lines, head, judge.verdicts, None, digest)
    whole = [json.loads(line) for line in data.decode().splitlines()]
    title = f"{scenario} (check) holds: witness of {name}, {len(actions)} steps"
    pages = draw(whole, path, title=title)
    return {"diagram": str(path), "pages": pages, "witness": name, "steps": len(actions)}


def polling(step: dict[str, Any]) -> bool:
    """Whether a step is a poll that changes nothing: a poll timer sending only a bare
    long poll, or a bare long poll delivered and answered by nothing (yet)."""
    sends = (step.get("effects") or {}).get("send") or []
    act = step.get("act")
    if act == "timer":
        return bool(sends) and all(_bare_poll(m) for _, m in sends)
    msg = step.get("msg")
    return act == "deliver" and _bare_poll(msg) and not sends


def _bare_poll(msg: Any) -> bool:
    return isinstance(msg, dict) and msg.get("type") == "events" and not msg.get("send")
