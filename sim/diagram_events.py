"""The diagram's events: one mark per row (deliveries, drops, duplicates, timers,
crashes, restarts, inputs, partitions, folded runs, the violation's sentence, the
messages still in flight), each with its label on its own row and its line in the
story column at the right.

Each message's arrow and label carry an SVG id (``msgN-a``, ``msgN-l``) and
``Marks.tooltips`` maps ``msgN`` to its full JSON, which :mod:`mxsim.sim.diagram_svg`
writes into the SVG as the element's ``<title>`` (a tooltip in a browser).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mxsim.sim.diagram_layout import Layout, Row
from mxsim.sim.diagram_marks import _arrow, _label, _note
from mxsim.sim.diagram_style import (
    _C_CRASH,
    _C_DELIVER,
    _C_DROP,
    _C_DUP,
    _C_FLIGHT,
    _C_HEAL,
    _C_INPUT,
    _C_PARTITION,
    _C_RESTART,
    _C_START,
    _C_TIMER,
    _CHARS_PER_COL,
    _CLOCK,
    _STORY_CHARS,
)
from mxsim.sim.diagram_trace import _groups, _short


@dataclass
class Marks:
    """What the events are drawn on: the axes, the columns, how messages are named."""

    ax: Any
    col: dict[str, int]
    x_max: float
    summarize: Callable[[Any], str]
    tooltips: dict[str, str] = field(default_factory=dict)

    def message(self, msg: Any) -> str:
        """A new SVG id for ``msg``, its full JSON kept as the tooltip."""
        gid = f"msg{len(self.tooltips)}"
        self.tooltips[gid] = json.dumps(msg, sort_keys=True, indent=1)
        return gid

    def story(self, y: float, text: str, color: str, *, bold: bool = False, gid=None) -> None:
        """A line of the story column, right of the chart, on row ``y``."""
        t = self.ax.text(
            self.x_max + 0.05,
            y,
            _short(text, _STORY_CHARS),
            fontsize=6.5,
            color=color,
            ha="left",
            va="center",
            fontweight="bold" if bold else "normal",
            clip_on=False,
            zorder=6,
        )
        if gid:
            t.set_gid(f"{gid}-s")


def _room(dx: float) -> int:
    """Characters that fit in a label along an arrow spanning ``dx`` columns."""
    return max(14, int(abs(dx) * _CHARS_PER_COL) - 2)


def _fit(m: Marks, x: float, ha: str, cols: float) -> int:
    """Characters of a label at ``x`` running ``ha`` for ``cols`` columns, kept inside
    the chart (the axes' left edge is at -0.55, its right edge at ``x_max``)."""
    free = (x + 0.55) if ha == "right" else (m.x_max - x)
    return max(8, int(min(cols, free) * _CHARS_PER_COL) - 2)


def draw_rows(m: Marks, steps: list[dict[str, Any]], lay: Layout) -> None:
    for row in lay.rows:
        if row.kind == "step":
            _step(m, steps, lay, row)
        elif row.kind == "fold":
            _fold(m, row)
        elif row.kind == "note":
            m.story(row.y, row.text, _C_CRASH, bold=True)
        elif row.kind == "flight" and row.flight is not None:
            _flight(m, lay, row)


def _sent_y(step: dict[str, Any], lay: Layout) -> float | None:
    sent = step.get("sent")
    if isinstance(sent, int) and sent in lay.row_of_step:
        return lay.y_of.get(lay.row_of_step[sent])
    return None


def _step(m: Marks, steps: list[dict[str, Any]], lay: Layout, row: Row) -> None:
    step = steps[row.positions[0]]
    ax, act, y = m.ax, step.get("act"), row.y
    node = step.get("node")
    x = m.col.get(node) if isinstance(node, str) else None
    if act in ("deliver", "drop", "duplicate") and x is not None:
        src = step.get("src")
        sx = m.col.get(src) if isinstance(src, str) else None
        if sx is None:
            sx = x - 0.5 if x > 0 else x + 0.5
        msg = step.get("msg")
        text = m.summarize(msg)
        gid = m.message(msg)
        sy = _sent_y(step, lay)
        if act == "deliver":
            _deliver(m, sx, sy, x, y, text, gid)
            m.story(y, f"{src} \u2192 {node}: {text}", _C_DELIVER, gid=gid)
        elif act == "drop":
            reason = f" ({step['reason']})" if step.get("reason") else ""
            _drop(m, sx, sy, x, y, f"\u2717{reason} {text}", gid)
            m.story(y, f"{src} \u2192 {node} dropped{reason}: {text}", _C_DROP, gid=gid)
        else:
            _duplicate(m, sx, sy, x, y, f"2\u00d7 {text}", gid)
            m.story(y, f"{src} \u2192 {node} duplicated: {text}", _C_DUP, gid=gid)
    elif act == "start" and x is not None:
        ax.plot([x], [y], marker="s", ms=4.5, color=_C_START, zorder=4)
        _note(ax, x, y, "start", _C_START)
    elif act == "input" and x is not None:
        text = m.summarize(_as_request(step.get("msg")))
        gid = m.message(step.get("msg"))
        _arrow(ax, (x - 0.45, y), (x, y), _C_INPUT, lw=1.3, gid=f"{gid}-a")
        room = _fit(m, x - 0.47, "right", 1.0)
        _label(ax, x - 0.47, y, _short(text, room), _C_INPUT, ha="right", gid=f"{gid}-l")
        m.story(y, f"input at {node}: {text}", _C_INPUT, gid=gid)
    elif act == "timer" and x is not None:
        ax.plot([x], [y], marker=_CLOCK, ms=8, mfc="white", mec=_C_TIMER, mew=1.1, ls="none")
        _note(ax, x, y, _short(str(step.get("timer", "?"))), _C_TIMER)
    elif act == "crash" and x is not None:
        ax.plot([x], [y], marker="X", ms=11, color=_C_CRASH, mec="white", mew=0.6, zorder=4)
        _note(ax, x + 0.04, y, "crash", _C_CRASH)
    elif act == "restart" and x is not None:
        ax.plot([x], [y], marker="^", ms=8, color=_C_RESTART, mec="white", mew=0.5, zorder=4)
        _note(ax, x + 0.02, y, "restart", _C_RESTART)
    elif act in ("partition", "heal"):
        color = _C_PARTITION if act == "partition" else _C_HEAL
        ax.axhspan(y - 0.5, y + 0.5, color=color, alpha=0.07, lw=0, zorder=0.4)
        ax.axhline(y, color=color, lw=1.2, ls=(0, (6, 3)), zorder=2)
        groups = _groups(step.get("groups"))
        m.story(y, f"{act} {groups}" if groups else str(act), color)
    elif x is not None:
        ax.plot([x], [y], marker="o", ms=3.5, color=_C_START, zorder=4)
        _note(ax, x, y, _short(str(act)), _C_START)
    elif act is not None:
        m.story(y, str(act), _C_START)
    _emissions(m, step, y, x)


def _as_request(msg: Any) -> Any:
    """A workload input (``op``) named as the request it asks for (``type``)."""
    if isinstance(msg, dict) and "op" in msg and "type" not in msg:
        return {"type": msg["op"], **{k: v for k, v in msg.items() if k != "op"}}
    return msg


def _emissions(m: Marks, step: dict[str, Any], y: float, x: int | None) -> None:
    """A start, timer or restart that sent: what it sent, in the story column."""
    act = step.get("act")
    sends = (step.get("effects") or {}).get("send") or []
    if x is None or not sends or act not in ("timer", "start", "restart"):
        return
    what = "; ".join(
        f"\u2192 {s[0]}: {m.summarize(s[1])}"
        for s in sends
        if isinstance(s, list | tuple) and s[1:]
    )
    name = f" {step['timer']}" if act == "timer" and step.get("timer") else ""
    color = _C_TIMER if act == "timer" else _C_START
    m.story(y, f"{act}{name} at {step.get('node')} {what}", color)


def _deliver(m: Marks, sx: float, sy: float | None, x: float, y: float, text: str, gid: str):
    if sy is None:  # sent outside the drawing: a short dotted lead-in
        sy, ls = y - 0.7, (0, (1.5, 1.5))
    else:
        ls = "-"
    if sx == x:  # a message to itself: a loop out to the right
        _arrow(m.ax, (sx, sy), (x, y), _C_DELIVER, ls=ls, rad=-0.6, gid=f"{gid}-a")
        room = _fit(m, x + 0.1, "left", 0.9)
        _label(m.ax, x + 0.1, y, _short(text, room), _C_DELIVER, ha="left", gid=f"{gid}-l")
        return
    _arrow(m.ax, (sx, sy), (x, y), _C_DELIVER, ls=ls, gid=f"{gid}-a")
    _head_label(m, sx, x, y, text, _C_DELIVER, gid)


def _head_label(m: Marks, sx: float, x: float, y: float, text: str, color: str, gid: str):
    """The label on the arrow's own row, beside its head, on the side it comes from."""
    if sx < x:
        room = _fit(m, x - 0.06, "right", x - sx)
        _label(m.ax, x - 0.06, y, _short(text, room), color, ha="right", gid=f"{gid}-l")
    else:
        room = _fit(m, x + 0.06, "left", sx - x)
        _label(m.ax, x + 0.06, y, _short(text, room), color, ha="left", gid=f"{gid}-l")


def _drop(m: Marks, sx: float, sy: float | None, x: float, y: float, text: str, gid: str):
    if sy is None:
        sy = y - 0.7
    dx = x - sx if x != sx else 0.5
    ex = sx + 0.6 * dx
    (line,) = m.ax.plot([sx, ex], [sy, y], color=_C_DROP, lw=1.1, zorder=3)
    line.set_gid(f"{gid}-a")
    m.ax.plot([ex], [y], marker="x", ms=7, mew=1.8, color=_C_DROP, ls="none", zorder=4)
    # Past the cross, the way the message was going: the rest of its row is free.
    ha = "left" if dx > 0 else "right"
    lx = ex + (0.08 if dx > 0 else -0.08)
    _label(m.ax, lx, y, _short(text, _fit(m, lx, ha, 1.0)), _C_DROP, ha=ha, gid=f"{gid}-l")


def _duplicate(m: Marks, sx: float, sy: float | None, x: float, y: float, text: str, gid: str):
    dx = x - sx if x != sx else 0.5
    mx = sx + 0.5 * dx
    if sy is not None:
        (line,) = m.ax.plot([sx, mx], [sy, y], color=_C_DUP, lw=0.8, ls=(0, (2, 2)), zorder=3)
        line.set_gid(f"{gid}-a")
    for ms in (9, 4.5):
        m.ax.plot([mx], [y], marker="o", ms=ms, mfc="white", mec=_C_DUP, mew=1.0, ls="none")
    _head_label(m, sx, mx, y, text, _C_DUP, gid)


def _fold(m: Marks, row: Row) -> None:
    m.ax.axhspan(row.y - 0.4, row.y + 0.4, color="#e8e8e8", lw=0, zorder=0.6)
    m.ax.text(
        (m.x_max - 0.45) / 2,
        row.y,
        "\u22ee folded: nothing new \u22ee",
        fontsize=6.5,
        color="#666666",
        ha="center",
        va="center",
        zorder=5,
    )
    m.story(row.y, row.text, "#666666")


def _flight(m: Marks, lay: Layout, row: Row) -> None:
    sent, src, dst, msg = row.flight  # type: ignore[misc]
    sx, x = m.col.get(src), m.col.get(dst)
    sy = lay.y_of.get(sent)
    text = m.summarize(msg)
    gid = m.message(msg)
    if sx is None:
        return
    if x is None:
        x = sx + 0.5
    start = (float(sx), sy if sy is not None else row.y - 0.7)
    rad = -0.6 if x == sx else 0.0
    _arrow(
        m.ax, start, (float(x), row.y), _C_FLIGHT, ls=(0, (2, 2)), lw=1.0, rad=rad, gid=f"{gid}-a"
    )
    _head_label(m, sx if sx != x else x - 1, x, row.y, text, _C_FLIGHT, gid)
    m.story(row.y, f"{src} \u2192 {dst} in flight at the end: {text}", _C_FLIGHT, gid=gid)
