"""The diagram's events: one mark per step (deliveries, drops, duplicates, timers,
crashes, restarts, inputs, partitions) and the messages still in flight at the end.
"""

from __future__ import annotations

from typing import Any

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
    _CLOCK,
)
from mxsim.sim.diagram_trace import _groups, _msg_label, _short


def _draw_events(
    ax: Any,
    steps: list[dict[str, Any]],
    col: dict[str, int],
    row_of: dict[int, int],
    lo: int,
    hi: int,
    x_max: float,
) -> None:
    # Which sends were delivered, dropped or duplicated: (sent row, src, dst) -> count.
    consumed: dict[tuple[int, str, str], int] = {}
    for step in steps:
        if step.get("act") in ("deliver", "drop"):
            sent = step.get("sent")
            if isinstance(sent, int) and sent in row_of:
                key = (row_of[sent], str(step.get("src")), str(step.get("node")))
                consumed[key] = consumed.get(key, 0) + 1

    for position in range(lo, hi):
        step = steps[position]
        act = step.get("act")
        node = step.get("node")
        y = float(position)
        x = col.get(node) if isinstance(node, str) else None

        if act in ("deliver", "drop", "duplicate") and x is not None:
            src = step.get("src")
            sx = col.get(src) if isinstance(src, str) else None
            sent = step.get("sent")
            sy = float(row_of[sent]) if isinstance(sent, int) and sent in row_of else None
            label = _msg_label(step.get("msg"), "type")
            if sx is None:
                sx = x - 0.5 if x > 0 else x + 0.5
            if act == "deliver":
                _deliver(ax, sx, sy, x, y, label)
            elif act == "drop":
                reason = step.get("reason")
                _drop(ax, sx, sy, x, y, f"{label} ({reason})" if reason else label)
            else:
                _duplicate(ax, sx, sy, x, y, label)
        elif act == "start" and x is not None:
            ax.plot([x], [y], marker="s", ms=4.5, color=_C_START, zorder=4)
            _note(ax, x, y, "start", _C_START)
        elif act == "input" and x is not None:
            label = _msg_label(step.get("msg"), "op", "type")
            _arrow(ax, (x - 0.45, y), (x, y), _C_INPUT, lw=1.3)
            _label(ax, x - 0.3, y - 0.32, label, _C_INPUT)
        elif act == "timer" and x is not None:
            ax.plot(
                [x],
                [y],
                marker=_CLOCK,
                ms=8,
                mfc="white",
                mec=_C_TIMER,
                mew=1.1,
                ls="none",
                zorder=4,
            )
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
            text = f"{act} {groups}" if groups else act
            ax.text(
                x_max + 0.03,
                y,
                _short(text, 34),
                fontsize=7,
                color=color,
                ha="left",
                va="center",
                clip_on=False,
            )
        elif x is not None:
            ax.plot([x], [y], marker="o", ms=3.5, color=_C_START, zorder=4)
            _note(ax, x, y, _short(str(act)), _C_START)
        elif act is not None:
            ax.text(x_max + 0.03, y, _short(str(act), 34), fontsize=7, color=_C_START, va="center")

        _in_flight(ax, step, position, col, consumed, x)


def _deliver(ax: Any, sx: float, sy: float | None, x: float, y: float, label: str) -> None:
    if sy is None:  # sent at an unknown step: a short dotted lead-in
        sy = y - 0.7
        ls: Any = (0, (1.5, 1.5))
    else:
        ls = "-"
    if sx == x:
        # A message to itself: a loop out to the right.
        _arrow(ax, (sx, sy), (x, y), _C_DELIVER, ls=ls, rad=-0.6)
        _label(ax, x + 0.14, (sy + y) / 2, label, _C_DELIVER, ha="left")
        return
    _arrow(ax, (sx, sy), (x, y), _C_DELIVER, ls=ls)
    # The label sits near the head, where rows (and so labels) are distinct.
    f = 0.72 if abs(x - sx) > 1.2 else 0.6
    _label(ax, sx + f * (x - sx), sy + f * (y - sy), label, _C_DELIVER)


def _drop(ax: Any, sx: float, sy: float | None, x: float, y: float, label: str) -> None:
    if sy is None:
        sy = y - 0.7
    dx = x - sx if x != sx else 0.5
    ex = sx + 0.6 * dx
    ax.plot([sx, ex], [sy, y], color=_C_DROP, lw=1.1, zorder=3)
    ax.plot([ex], [y], marker="x", ms=7, mew=1.8, color=_C_DROP, ls="none", zorder=4)
    _label(ax, ex, y + 0.36, label, _C_DROP)


def _duplicate(ax: Any, sx: float, sy: float | None, x: float, y: float, label: str) -> None:
    dx = x - sx if x != sx else 0.5
    mx = sx + 0.5 * dx
    if sy is not None:
        ax.plot([sx, mx], [sy, y], color=_C_DUP, lw=0.8, ls=(0, (2, 2)), zorder=3)
    ax.plot([mx], [y], marker="o", ms=9, mfc="white", mec=_C_DUP, mew=1.0, ls="none", zorder=4)
    ax.plot([mx], [y], marker="o", ms=4.5, mfc="white", mec=_C_DUP, mew=1.0, ls="none", zorder=4)
    _label(ax, mx, y + 0.38, f"2\u00d7 {label}", _C_DUP)


def _in_flight(
    ax: Any,
    step: dict[str, Any],
    position: int,
    col: dict[str, int],
    consumed: dict[tuple[int, str, str], int],
    x: int | None,
) -> None:
    """Stubs for messages this step sent that are never delivered nor dropped."""
    effects = step.get("effects")
    if x is None or not isinstance(effects, dict):
        return
    sends = effects.get("send") or []
    src = str(step.get("node"))
    for entry in sends:
        if not isinstance(entry, list | tuple) or len(entry) < 1:
            continue
        dst = str(entry[0])
        key = (position, src, dst)
        left = consumed.get(key, 0)
        if left > 0:
            consumed[key] = left - 1
            continue
        dx = col.get(dst)
        direction = (1 if dx > x else -1) if dx is not None and dx != x else 1
        end = (x + 0.3 * direction, position + 0.45)
        _arrow(ax, (x, float(position)), end, _C_FLIGHT, ls=(0, (1.5, 1.5)), lw=0.9)
