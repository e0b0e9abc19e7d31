"""Space-time (Lamport) diagrams of an ``mxsim-trace/1`` trace, drawn with matplotlib.

One column per node, time going down, one arrow per delivered message from
the step that sent it to the step that delivered it.  Drops end in an "x",
duplicates are double rings, timers little clocks, crashes red crosses (the
column is dashed and grey while the node is down), restarts green triangles,
workload inputs short arrows from the left, partitions and heals dashed
horizontal lines across every column.  ``highlight`` paints a red band at the
step where a property was violated.

Vertical axis: the step index, in both modes.  Check-mode traces have no
clock at all, and in run mode many steps share one instant (a burst of
deliveries at the same microsecond) while long idle gaps separate bursts; a
time-proportional axis would stack bursts on top of each other and waste most
of the page on gaps.  One row per step keeps every event legible and keeps the
causal order readable; for timed traces the time in milliseconds is written
at the left whenever it changes.

The output depends only on the trace: no ``pyplot`` (a private ``Figure``
with its own canvas), rcParams reset to matplotlib's defaults inside an
``rc_context``, a fixed SVG hash salt, and no date or software version in the
file's metadata.  The file is written to a temporary file next to the target
and moved into place, so a failure never leaves a half-written diagram.
"""

from __future__ import annotations

import io
import math
import pathlib
import textwrap
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from mxsim.sim.diagram_events import _draw_events
from mxsim.sim.diagram_marks import _draw_columns, _draw_row_labels
from mxsim.sim.diagram_style import (
    _C_CRASH,
    _C_HIGHLIGHT,
    _COL,
    _DPI,
    _LEFT,
    _LEGEND,
    _LINE,
    _RIGHT,
    _ROW,
    _SVG_SALT,
    _legend_handles,
)
from mxsim.sim.diagram_trace import _read, _short, _step_index, _Trace
from mxsim.sim.files import write_atomic

__all__ = ["draw", "MAX_STEPS"]

#: At most this many steps are drawn; longer traces show a window of them.
MAX_STEPS = 400

_FORMATS = {".png": "png", ".svg": "svg"}


def _window(n: int, highlight: int | None) -> tuple[int, int]:
    """Positions [lo, hi) of the steps drawn: the first MAX_STEPS, or a window
    ending a little after the highlighted step if that lies further on."""
    if n <= MAX_STEPS:
        return 0, n
    if highlight is None or highlight < MAX_STEPS - 40:
        return 0, MAX_STEPS
    lo = max(0, min(highlight - MAX_STEPS + 40, n - MAX_STEPS))
    return lo, lo + MAX_STEPS


def draw(
    lines: list[dict],
    path: str | pathlib.Path,
    *,
    highlight: int | None = None,
    title: str | None = None,
) -> None:
    """Draw the space-time diagram of a trace to ``path`` (``.png`` or ``.svg``).

    ``lines`` are the parsed JSON lines of an ``mxsim-trace/1`` trace (header,
    steps, end).  ``highlight`` is the index of a step to mark as a property
    violation; the property's name comes from the end line.  ``title``
    replaces the default title ("scenario (mode)").  The same trace always
    gives the same bytes.
    """
    path = pathlib.Path(path)
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"diagram: expected a .png or .svg file name, found {str(path)!r}"
            f" (suffix {path.suffix!r})"
        )
    trace = _read(lines)
    buffer = io.BytesIO()
    rc = {"svg.hashsalt": _SVG_SALT, "svg.fonttype": "path", "path.simplify": True}
    with matplotlib.rc_context():
        # Whatever style the caller set, draw with matplotlib's own defaults.
        matplotlib.rcdefaults()
        matplotlib.rcParams.update(rc)
        fig = _figure(trace, highlight=highlight, title=title)
        if fmt == "png":
            metadata: dict[str, Any] = {"Software": None}
        else:
            metadata = {"Date": None, "Creator": None}
        fig.savefig(buffer, format=fmt, dpi=_DPI, metadata=metadata)
    write_atomic(path, buffer.getvalue())


def _figure(trace: _Trace, *, highlight: int | None, title: str | None) -> Figure:
    steps = trace.steps
    nodes = trace.nodes or ["?"]
    col = {name: i for i, name in enumerate(nodes)}
    ncols = len(nodes)
    n = len(steps)

    # Map step indices to rows; rows are positions in the step list.
    row_of: dict[int, int] = {}
    for position, step in enumerate(steps):
        row_of.setdefault(_step_index(step, position), position)
    hl_row = row_of.get(highlight) if highlight is not None else None
    if highlight is not None and hl_row is None and 0 <= highlight < n:
        hl_row = highlight
    lo, hi = _window(n, hl_row)
    rows = max(hi - lo, 1)

    end = trace.end or {}
    violation = end.get("violation") if isinstance(end.get("violation"), dict) else None

    # ---- caption text (top of the page)
    header = trace.header
    scenario = str(header.get("scenario", "?"))
    mode = str(header.get("mode", "?"))
    width_in = _LEFT + _RIGHT + _COL * ncols
    wrap = max(40, int(width_in * 13))
    caption: list[str] = []
    caption.append(
        f"scenario {scenario} \u2022 mode {mode} \u2022 {len(trace.nodes)} nodes"
        f" \u2022 {end.get('steps', n)} steps"
    )
    verdicts = end.get("verdicts")
    if isinstance(verdicts, dict) and verdicts:
        text = "verdicts: " + ", ".join(f"{k}: {_verdict(v)}" for k, v in verdicts.items())
        caption.extend(textwrap.wrap(text, wrap, subsequent_indent="    "))
    if violation is not None:
        caption.append(
            f"violation: {violation.get('property', '?')} at step {violation.get('step', '?')}"
        )
    if lo > 0 or hi < n:
        parts = [
            f"showing steps {_step_index(steps[lo], lo)}\u2013{_step_index(steps[hi - 1], hi - 1)}"
        ]
        if lo > 0:
            parts.append(f"{lo} earlier steps not drawn")
        if hi < n:
            parts.append(f"\u2026 {n - hi} more steps not drawn")
        caption.append("; ".join(parts))
    if highlight is not None and (hl_row is None or not lo <= hl_row < hi):
        caption.append(f"highlighted step {highlight} is not in the drawing")
    if end.get("trace_hash"):
        caption.append(f"trace hash {end['trace_hash']}")

    legend_cols = max(1, min(len(_LEGEND), int((width_in - 0.4) / 1.35)))
    legend_rows = math.ceil(len(_LEGEND) / legend_cols)

    top_in = 0.25 + 0.35 + _LINE * len(caption) + 0.1 + 0.24 * legend_rows + 0.35
    bottom_in = 0.45
    body_in = _ROW * rows + 0.3
    height_in = top_in + body_in + bottom_in

    fig = Figure(figsize=(width_in, height_in), dpi=_DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_axes(
        (
            _LEFT / width_in,
            bottom_in / height_in,
            (_COL * ncols) / width_in,
            body_in / height_in,
        )
    )

    # ---- header texts
    y_in = height_in - 0.25
    fig.text(
        0.5 * _LEFT / width_in + 0.02,
        y_in / height_in,
        title if title is not None else f"{scenario} ({mode})",
        fontsize=13,
        fontweight="bold",
        va="top",
        ha="left",
    )
    y_in -= 0.35
    for text in caption:
        fig.text(
            0.5 * _LEFT / width_in + 0.02,
            y_in / height_in,
            text,
            fontsize=8,
            va="top",
            ha="left",
            color="#333333",
        )
        y_in -= _LINE
    y_in -= 0.1
    fig.legend(
        handles=_legend_handles(),
        loc="upper left",
        bbox_to_anchor=(0.5 * _LEFT / width_in, y_in / height_in),
        ncol=legend_cols,
        fontsize=7.5,
        frameon=False,
        handlelength=2.2,
        columnspacing=1.2,
        borderaxespad=0.0,
    )

    # ---- axes
    x_min, x_max = -0.55, ncols - 0.45
    y_top, y_bottom = lo - 0.8, lo + rows - 0.2
    ax.set_xlim(x_min, x_max)
    ax.set_ylim(y_bottom, y_top)  # time goes down
    for side in ("left", "right", "bottom", "top"):
        ax.spines[side].set_visible(False)
    ax.set_xticks(range(ncols), nodes)
    ax.tick_params(axis="x", which="both", length=0, labeltop=True, labelbottom=True, pad=4)
    for label in ax.get_xticklabels(which="both"):
        label.set_fontweight("bold")
        label.set_fontsize(10)
    ax.set_yticks([])
    _draw_row_labels(ax, steps, lo, hi, ncols)
    # Faint guides every step, to read along a row.
    ax.hlines(range(lo, hi), x_min, x_max, colors="#efefef", lw=0.6, zorder=0)

    _draw_columns(ax, steps, col, nodes, lo, hi, y_top, y_bottom)
    _draw_events(ax, steps, col, row_of, lo, hi, x_max)

    if hl_row is not None and lo <= hl_row < hi:
        ax.axhspan(hl_row - 0.5, hl_row + 0.5, color=_C_HIGHLIGHT, alpha=0.22, lw=0, zorder=0.5)
        prop = violation.get("property") if violation is not None else None
        label = f"violation: {prop}" if prop else f"highlight: step {highlight}"
        ax.text(
            x_max + 0.03,
            hl_row,
            _short(label, 30),
            color=_C_CRASH,
            fontsize=7.5,
            fontweight="bold",
            ha="left",
            va="center",
            zorder=6,
            clip_on=False,
        )
    return fig


def _verdict(value: Any) -> str:
    if isinstance(value, bool):
        return "pass" if value else "FAIL"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_verdict(v)}" for k, v in value.items()) + "}"
    return str(value)
