"""Where each step of a diagram goes: one row per step, runs of polling folded into one,
rows for the violation's sentence under its step, and rows for messages still in flight.

Every row holds at most one thing that has a label (a step, a folded run, a line of
the sentence, an in-flight message), so labels placed on their row never collide.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mxsim.sim.diagram_trace import _step_index

#: A run of at least this many quiet steps is folded into one row.
FOLD = 4


@dataclass
class Row:
    """One row: ``kind`` is "step", "fold", "note" or "flight"."""

    kind: str
    y: float
    positions: tuple[int, ...] = ()
    text: str = ""
    flight: tuple[int, str, str, Any] | None = None  # (sent position, src, dst, msg)


@dataclass
class Layout:
    rows: list[Row] = field(default_factory=list)
    y_of: dict[int, float] = field(default_factory=dict)  # position -> row
    row_of_step: dict[int, int] = field(default_factory=dict)  # step index -> position

    @property
    def height(self) -> int:
        return len(self.rows)


def _runs(
    steps: list[dict[str, Any]],
    lo: int,
    hi: int,
    quiet: Callable[[dict[str, Any]], bool] | None,
    keep: set[int],
) -> list[tuple[int, int]]:
    """Positions [a, b) of the runs of quiet steps to fold (none of them kept)."""
    if quiet is None:
        return []
    out = []
    a = None
    for position in range(lo, hi + 1):
        ok = position < hi and position not in keep and quiet(steps[position])
        if ok and a is None:
            a = position
        elif not ok and a is not None:
            if position - a >= FOLD:
                out.append((a, position))
            a = None
    return out


def layout(
    steps: list[dict[str, Any]],
    lo: int,
    hi: int,
    *,
    highlight_row: int | None,
    note_lines: list[str],
    in_flight: list[tuple[int, str, str, Any]],
    quiet: Callable[[dict[str, Any]], bool] | None = None,
) -> Layout:
    """Rows for the steps at positions [lo, hi), the note under ``highlight_row``
    (a position) and the messages ``in_flight`` at the end (sent position, src, dst, msg)."""
    out = Layout()
    for position, step in enumerate(steps):
        out.row_of_step.setdefault(_step_index(step, position), position)
    keep = {highlight_row} if highlight_row is not None else set()
    folds = {a: b for a, b in _runs(steps, lo, hi, quiet, keep)}
    position = lo
    while position < hi:
        y = float(len(out.rows))
        if position in folds:
            b = folds[position]
            out.rows.append(
                Row("fold", y, tuple(range(position, b)), _fold_text(steps, position, b))
            )
            for p in range(position, b):
                out.y_of[p] = y
            position = b
            continue
        out.rows.append(Row("step", y, (position,)))
        out.y_of[position] = y
        if position == highlight_row:
            for line in note_lines:
                out.rows.append(Row("note", float(len(out.rows)), (), line))
        position += 1
    for flight in in_flight:
        sent, src, dst, _ = flight
        text = f"{src} \u2192 {dst}: still in flight at the end"
        out.rows.append(Row("flight", float(len(out.rows)), (sent,), text, flight))
    return out


def _fold_text(steps: list[dict[str, Any]], a: int, b: int) -> str:
    acts: dict[str, int] = {}
    nodes: dict[str, None] = {}
    for step in steps[a:b]:
        act = str(step.get("act"))
        acts[act] = acts.get(act, 0) + 1
        if isinstance(step.get("node"), str):
            nodes[step["node"]] = None
    what = ", ".join(f"{n} {act}" for act, n in sorted(acts.items()))
    first, last = _step_index(steps[a], a), _step_index(steps[b - 1], b - 1)
    return (
        f"steps {first}\u2013{last}: {b - a} polling steps folded ({what};"
        f" {', '.join(sorted(nodes))}): nothing new"
    )


def in_flight(steps: list[dict[str, Any]], row_of_step: dict[int, int]) -> list[tuple]:
    """(sent position, src, dst, msg) of every message sent and never delivered nor dropped.

    A delivery is matched to what it delivered (two messages one step sent on
    one link may arrive in either order), else to the first sent there.
    """
    consumed: dict[tuple, int] = {}
    for step in steps:
        if step.get("act") in ("deliver", "drop"):
            sent = step.get("sent")
            if isinstance(sent, int) and sent in row_of_step:
                key = (row_of_step[sent], str(step.get("src")), str(step.get("node")))
                key += (_canonical(step.get("msg")),)
                consumed[key] = consumed.get(key, 0) + 1
    out = []
    for position, step in enumerate(steps):
        effects = step.get("effects")
        if not isinstance(effects, dict):
            continue
        src = str(step.get("node"))
        for entry in effects.get("send") or []:
            if not isinstance(entry, list | tuple) or len(entry) < 1:
                continue
            dst = str(entry[0])
            msg = entry[1] if len(entry) > 1 else None
            exact, any_ = (position, src, dst, _canonical(msg)), (position, src, dst, None)
            key = exact if consumed.get(exact, 0) > 0 else any_
            if consumed.get(key, 0) > 0:
                consumed[key] -= 1
                continue
            out.append((position, src, dst, msg))
    return out


def _canonical(msg: Any) -> str | None:
    """A message as canonical JSON (None: a step that does not say what it delivered)."""
    if msg is None:
        return None
    return json.dumps(msg, sort_keys=True, separators=(",", ":"))
