"""The diagram's frame: step rows, node columns (dashed while down), arrows and labels."""

from __future__ import annotations

from typing import Any

from matplotlib.patches import FancyArrowPatch
from matplotlib.transforms import blended_transform_factory

from mxsim.sim.diagram_layout import Layout
from mxsim.sim.diagram_style import (
    _C_COLUMN,
    _C_DOWN,
    _COL,
)
from mxsim.sim.diagram_trace import _ms, _step_index


def _draw_row_labels(ax: Any, steps: list[dict[str, Any]], lay: Layout, ncols: int) -> None:
    """Step numbers at the left of each row and, for timed traces, the time in
    milliseconds further left whenever it changes.  Plain texts rather than
    tick labels: 400 ticks cost seconds, 400 texts a fraction of that."""
    to_axes = 1.0 / (_COL * ncols)  # inches to axes fraction
    tr = blended_transform_factory(ax.transAxes, ax.transData)
    previous: Any = None
    style = {"fontsize": 7, "ha": "right", "va": "center", "transform": tr}
    for row in lay.rows:
        if row.kind not in ("step", "fold"):
            continue
        first = row.positions[0]
        k = str(_step_index(steps[first], first))
        if row.kind == "fold":
            last = row.positions[-1]
            k += f"\u2013{_step_index(steps[last], last)}"
        ax.text(-0.08 * to_axes, row.y, k, color="#555555", **style)
        t = steps[first].get("t")
        timed = isinstance(t, int | float) and not isinstance(t, bool)
        if timed and (t != previous or row is lay.rows[0]):
            ax.text(-0.5 * to_axes, row.y, _ms(t), color="#1a1a1a", **style)
        previous = t


def _draw_columns(
    ax: Any,
    steps: list[dict[str, Any]],
    col: dict[str, int],
    nodes: list[str],
    lay: Layout,
    y_top: float,
    y_bottom: float,
) -> None:
    """The node lifelines: solid while up, dashed and grey while down."""
    down_since: dict[str, float] = {}
    intervals: dict[str, list[tuple[float, float]]] = {name: [] for name in nodes}
    last = max(lay.y_of) if lay.y_of else -1
    for position, step in enumerate(steps):
        if position > last:
            break
        node = step.get("node")
        act = step.get("act")
        if node not in col:
            continue
        y = lay.y_of.get(position, y_top)
        if act == "crash" and node not in down_since:
            down_since[node] = y
        elif act in ("restart", "start") and node in down_since:
            intervals[node].append((down_since.pop(node), y))
    for node, since in down_since.items():
        intervals[node].append((since, y_bottom))
    for name in nodes:
        x = col[name]
        y = y_top
        for a, b in intervals[name]:
            a, b = max(a, y_top), min(b, y_bottom)
            if b <= y_top or a >= y_bottom:
                continue
            if a > y:
                ax.plot([x, x], [y, a], color=_C_COLUMN, lw=1.4, zorder=1, solid_capstyle="butt")
            ax.plot([x, x], [a, b], color=_C_DOWN, lw=1.4, ls=(0, (3, 3)), zorder=1)
            y = b
        if y < y_bottom:
            ax.plot([x, x], [y, y_bottom], color=_C_COLUMN, lw=1.4, zorder=1, solid_capstyle="butt")


def _arrow(
    ax: Any,
    start: tuple[float, float],
    end: tuple[float, float],
    color: str,
    *,
    style: str = "-|>",
    ls: Any = "-",
    lw: float = 1.1,
    rad: float = 0.0,
    gid: str | None = None,
) -> None:
    # add_artist, not add_patch: the limits are fixed, and computing each
    # arrow's extent for autoscaling is what would make long traces slow.
    patch = ax.add_artist(
        FancyArrowPatch(
            start,
            end,
            arrowstyle=style,
            mutation_scale=9,
            color=color,
            lw=lw,
            ls=ls,
            shrinkA=2,
            shrinkB=3,
            connectionstyle=f"arc3,rad={rad}",
            zorder=3,
        )
    )
    if gid:
        patch.set_gid(gid)


def _label(
    ax: Any, x: float, y: float, text: str, color: str, *, ha: str = "center", gid=None
) -> None:
    t = ax.text(
        x,
        y,
        text,
        fontsize=6.5,
        color=color,
        ha=ha,
        va="center",
        zorder=5,
        clip_on=True,
        bbox={"boxstyle": "round,pad=0.12", "fc": "white", "ec": "none", "alpha": 0.85},
    )
    if gid:
        t.set_gid(gid)


def _note(ax: Any, x: float, y: float, text: str, color: str) -> None:
    """A short note to the right of a marker on a column."""
    ax.text(x + 0.07, y, text, fontsize=6.5, color=color, ha="left", va="center", zorder=5)
