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
from dataclasses import dataclass, field
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch
from matplotlib.path import Path
from matplotlib.transforms import blended_transform_factory

from mxsim.sim.files import write_atomic

__all__ = ["draw", "MAX_STEPS"]

#: At most this many steps are drawn; longer traces show a window of them.
MAX_STEPS = 400

_FORMATS = {".png": "png", ".svg": "svg"}

# Layout, in inches.
_ROW = 0.26  # height of one step
_COL = 1.9  # width of one node column
_LEFT = 1.25  # step numbers and times
_RIGHT = 1.9  # labels of partitions, heals and the violation band
_LINE = 0.19  # one line of caption text
_DPI = 100

_LABEL_CHARS = 18  # message labels are cut to this length

# Colours.
_C_COLUMN = "#333333"
_C_DOWN = "#b0b0b0"
_C_DELIVER = "#1f5fae"
_C_DROP = "#d9730d"
_C_DUP = "#8e44ad"
_C_TIMER = "#138d75"
_C_CRASH = "#c0392b"
_C_RESTART = "#1e9e4a"
_C_INPUT = "#222222"
_C_START = "#555555"
_C_PARTITION = "#7b4f1d"
_C_HEAL = "#2e8b57"
_C_FLIGHT = "#8a8a8a"
_C_HIGHLIGHT = "#e74c3c"

_SVG_SALT = "mxsim-diagram"


def _clock_marker() -> Path:
    """A circle with two hands, for timers."""
    circle = Path.unit_circle()
    hands = Path(
        [(0.0, 0.0), (0.0, 0.72), (0.0, 0.0), (0.5, -0.18)],
        [Path.MOVETO, Path.LINETO, Path.MOVETO, Path.LINETO],
    )
    return Path.make_compound_path(circle, hands)


_CLOCK = _clock_marker()


# --------------------------------------------------------------------------
# Reading the trace


@dataclass
class _Trace:
    header: dict[str, Any]
    steps: list[dict[str, Any]]
    end: dict[str, Any] | None
    nodes: list[str] = field(default_factory=list)


def _read(lines: list[dict]) -> _Trace:
    header: dict[str, Any] = {}
    end: dict[str, Any] | None = None
    steps: list[dict[str, Any]] = []
    for line in lines:
        if not isinstance(line, dict):
            raise TypeError(f"diagram: trace lines must be dicts, found {type(line).__name__}")
        kind = line.get("kind")
        if kind == "header":
            header = line
        elif kind == "step":
            steps.append(line)
        elif kind == "end":
            end = line
    nodes: list[str] = []
    seen: dict[str, None] = {}  # an ordered set: never iterate over a real set

    def add(name: Any) -> None:
        if isinstance(name, str) and name not in seen:
            seen[name] = None
            nodes.append(name)

    for name in header.get("nodes") or []:
        add(name)
    for step in steps:
        add(step.get("node"))
        add(step.get("src"))
    return _Trace(header=header, steps=steps, end=end, nodes=nodes)


def _msg_label(msg: Any, *keys: str) -> str:
    """A short label for a message: its ``type`` (or another key), else its first key."""
    if isinstance(msg, dict):
        for key in keys:
            value = msg.get(key)
            if value is not None:
                return _short(str(value))
        for key in msg:
            return _short(str(key))
        return "{}"
    if msg is None:
        return "?"
    return _short(str(msg))


def _short(text: str, limit: int = _LABEL_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _ms(t: int | float) -> str:
    text = f"{t / 1000:.3f}".rstrip("0").rstrip(".")
    return f"{text} ms"


def _groups(groups: Any) -> str:
    if not isinstance(groups, list | tuple):
        return ""
    parts = []
    for group in groups:
        if isinstance(group, list | tuple):
            parts.append("{" + ",".join(str(x) for x in group) + "}")
        else:
            parts.append(str(group))
    return " | ".join(parts)


def _step_index(step: dict[str, Any], position: int) -> int:
    k = step.get("step")
    return k if isinstance(k, int) and not isinstance(k, bool) else position


def _window(n: int, highlight: int | None) -> tuple[int, int]:
    """Positions [lo, hi) of the steps drawn: the first MAX_STEPS, or a window
    ending a little after the highlighted step if that lies further on."""
    if n <= MAX_STEPS:
        return 0, n
    if highlight is None or highlight < MAX_STEPS - 40:
        return 0, MAX_STEPS
    lo = max(0, min(highlight - MAX_STEPS + 40, n - MAX_STEPS))
    return lo, lo + MAX_STEPS


# --------------------------------------------------------------------------
# Drawing


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


def _draw_row_labels(ax: Any, steps: list[dict[str, Any]], lo: int, hi: int, ncols: int) -> None:
    """Step numbers at the left of each row and, for timed traces, the time in
    milliseconds further left whenever it changes.  Plain texts rather than
    tick labels: 400 ticks cost seconds, 400 texts a fraction of that."""
    to_axes = 1.0 / (_COL * ncols)  # inches to axes fraction
    tr = blended_transform_factory(ax.transAxes, ax.transData)
    previous: Any = None
    for position in range(lo, hi):
        step = steps[position]
        k = _step_index(step, position)
        style = {"fontsize": 7, "ha": "right", "va": "center", "transform": tr}
        ax.text(-0.08 * to_axes, position, str(k), color="#555555", **style)
        t = step.get("t")
        timed = isinstance(t, int | float) and not isinstance(t, bool)
        if timed and (t != previous or position == lo):
            ax.text(-0.5 * to_axes, position, _ms(t), color="#1a1a1a", **style)
        previous = t


def _draw_columns(
    ax: Any,
    steps: list[dict[str, Any]],
    col: dict[str, int],
    nodes: list[str],
    lo: int,
    hi: int,
    y_top: float,
    y_bottom: float,
) -> None:
    """The node lifelines: solid while up, dashed and grey while down."""
    down_since: dict[str, float] = {}
    intervals: dict[str, list[tuple[float, float]]] = {name: [] for name in nodes}
    for position, step in enumerate(steps):
        if position >= hi:
            break
        node = step.get("node")
        act = step.get("act")
        if node not in col:
            continue
        if act == "crash" and node not in down_since:
            down_since[node] = position
        elif act in ("restart", "start") and node in down_since:
            intervals[node].append((down_since.pop(node), position))
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
) -> None:
    # add_artist, not add_patch: the limits are fixed, and computing each
    # arrow's extent for autoscaling is what would make long traces slow.
    ax.add_artist(
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


def _label(ax: Any, x: float, y: float, text: str, color: str, *, ha: str = "center") -> None:
    ax.text(
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


def _note(ax: Any, x: float, y: float, text: str, color: str) -> None:
    """A short note to the right of a marker on a column."""
    ax.text(x + 0.07, y, text, fontsize=6.5, color=color, ha="left", va="center", zorder=5)


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


def _legend_handles() -> list[Line2D]:
    return [
        Line2D([], [], color=color, label=label, **style)  # type: ignore[arg-type]
        for label, color, style in _LEGEND
    ]


_LEGEND: list[tuple[str, str, dict[str, Any]]] = [
    ("delivered", _C_DELIVER, {"lw": 1.2, "marker": ">", "ms": 5}),
    ("dropped", _C_DROP, {"lw": 1.2, "marker": "x", "ms": 6, "mew": 1.6}),
    ("duplicated", _C_DUP, {"ls": "none", "marker": "o", "ms": 7, "mfc": "white"}),
    ("in flight at end", _C_FLIGHT, {"lw": 1.0, "ls": (0, (1.5, 1.5)), "marker": ">", "ms": 4}),
    ("input", _C_INPUT, {"lw": 1.2, "marker": ">", "ms": 5}),
    ("timer", _C_TIMER, {"ls": "none", "marker": _CLOCK, "ms": 8, "mfc": "white"}),
    ("crash / down", _C_CRASH, {"ls": "none", "marker": "X", "ms": 8}),
    ("restart", _C_RESTART, {"ls": "none", "marker": "^", "ms": 7}),
    ("partition", _C_PARTITION, {"lw": 1.2, "ls": (0, (6, 3))}),
    ("heal", _C_HEAL, {"lw": 1.2, "ls": (0, (6, 3))}),
]
