"""Space-time (Lamport) diagrams of an ``mxsim-trace/1`` trace, drawn with matplotlib.

One column per node, time going down, one arrow per delivered message from
the step that sent it to the step that delivered it.  Drops end in an "x",
duplicates are double rings, timers little clocks, crashes red crosses (the
column is dashed and grey while the node is down), restarts green triangles,
workload inputs short arrows from the left, partitions and heals dashed
horizontal lines across every column.  ``highlight`` paints a red band at the
step where a property was violated, and ``explanation`` (the model's sentence
saying what went wrong) is written under it and in the caption.

Each arrow is labelled with what its message says (``summarize``: the model's
wire briefs, e.g. ``#0 send "hello"`` or ``answer bob1 (call.alice)``), on the
row of its delivery, beside its head: one row holds one labelled thing, so
labels never collide. A story column at the right repeats each row in full
("alice -> hs: ..."). Runs of polling that change nothing (``quiet``) fold into
one row; messages still in flight at the end are dotted arrows to rows of their
own at the bottom. In SVG, text stays text (``svg.fonttype = "none"``) and each
message's arrow, label and story line carry its full JSON as a tooltip.

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
from collections.abc import Callable
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from mxsim.sim.diagram_events import Marks, draw_rows
from mxsim.sim.diagram_layout import in_flight, layout
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
    _STORY_CHARS,
    _SVG_SALT,
    _legend_handles,
)
from mxsim.sim.diagram_svg import add_titles
from mxsim.sim.diagram_trace import _msg_label, _read, _step_index, _Trace
from mxsim.sim.files import write_atomic

__all__ = ["draw", "pages", "page_path", "MAX_STEPS"]

#: At most this many steps are drawn on a page; a longer trace shows the window
#: around its violation, and its pages (:func:`pages`) show every step.
MAX_STEPS = 400

#: At most this many messages still in flight at the end get a row of their own.
MAX_IN_FLIGHT = 24

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


def pages(lines: list[dict]) -> int:
    """How many pages of :data:`MAX_STEPS` steps the trace's diagram has.

    >>> pages([{"act": "start"}] * 3), pages([{"act": "deliver"}] * 801)
    (1, 3)
    """
    n = sum(1 for line in lines if "act" in line)
    return max(1, math.ceil(n / MAX_STEPS))


def page_path(path: str | pathlib.Path, page: int) -> pathlib.Path:
    """Where page ``page`` of the diagram drawn to ``path`` goes.

    >>> str(page_path("out/c.svg", 2))
    'out/c.page2.svg'
    """
    path = pathlib.Path(path)
    return path.with_name(f"{path.stem}.page{page}{path.suffix}")


def draw(
    lines: list[dict],
    path: str | pathlib.Path,
    *,
    highlight: int | None = None,
    title: str | None = None,
    summarize: Callable[[Any], str] | None = None,
    explanation: str | None = None,
    quiet: Callable[[dict[str, Any]], bool] | None = None,
    page: int | None = None,
) -> None:
    """Draw the space-time diagram of a trace to ``path`` (``.png`` or ``.svg``).

    ``lines`` are the parsed JSON lines of an ``mxsim-trace/1`` trace (header,
    steps, end).  ``highlight`` is the index of a step to mark as a property
    violation; the property's name comes from the end line, ``explanation``
    says what went wrong.  ``summarize`` gives a message's label (default: its
    type); ``quiet`` says which steps are polling that may fold.  ``title``
    replaces the default title ("scenario (mode)").  ``page`` (1 to
    :func:`pages`) draws that page's steps instead of the window around the
    violation.  The same trace always gives the same bytes.
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
    # Texts are read literally: event IDs start with "$", which is not mathtext here.
    rc = {
        "svg.hashsalt": _SVG_SALT,
        "svg.fonttype": "none",
        "path.simplify": True,
        "text.parse_math": False,
    }
    name = summarize if summarize is not None else (lambda msg: _msg_label(msg, "type", "op"))
    with matplotlib.rc_context():
        # Whatever style the caller set, draw with matplotlib's own defaults.
        matplotlib.rcdefaults()
        matplotlib.rcParams.update(rc)
        fig, tooltips = _figure(
            trace,
            highlight=highlight,
            title=title,
            summarize=name,
            explanation=explanation,
            quiet=quiet,
            page=page,
        )
        if fmt == "png":
            metadata: dict[str, Any] = {"Software": None}
        else:
            metadata = {"Date": None, "Creator": None}
        fig.savefig(buffer, format=fmt, dpi=_DPI, metadata=metadata)
    data = buffer.getvalue()
    if fmt == "svg":
        data = add_titles(data, tooltips)
    write_atomic(path, data)


def _figure(
    trace: _Trace,
    *,
    highlight: int | None,
    title: str | None,
    summarize: Callable[[Any], str],
    explanation: str | None,
    quiet: Callable[[dict[str, Any]], bool] | None,
    page: int | None = None,
) -> tuple[Figure, dict[str, str]]:
    steps = trace.steps
    nodes = trace.nodes or ["?"]
    col = {name: i for i, name in enumerate(nodes)}
    ncols = len(nodes)
    n = len(steps)

    # Step indices to positions in the step list.
    row_of: dict[int, int] = {}
    for position, step in enumerate(steps):
        row_of.setdefault(_step_index(step, position), position)
    hl_row = row_of.get(highlight) if highlight is not None else None
    if highlight is not None and hl_row is None and 0 <= highlight < n:
        hl_row = highlight
    total = max(1, math.ceil(n / MAX_STEPS))
    if page is None:
        lo, hi = _window(n, hl_row)
    elif 1 <= page <= total:
        lo, hi = (page - 1) * MAX_STEPS, min(n, page * MAX_STEPS)
    else:
        raise ValueError(f"diagram: expected a page from 1 to {total}, found {page}")

    end = trace.end or {}
    violation = end.get("violation") if isinstance(end.get("violation"), dict) else None
    prop = violation.get("property") if violation is not None else None
    shown_hl = hl_row if hl_row is not None and lo <= hl_row < hi else None
    note = f"violated {prop}: {explanation}" if prop and explanation else None
    if note is None and shown_hl is not None:
        note = f"violated {prop}" if prop else f"highlight: step {highlight}"
    note_lines = textwrap.wrap(note, _STORY_CHARS - 5) if note and shown_hl is not None else []
    flying = in_flight(steps, row_of) if hi == n else []
    lay = layout(
        steps,
        lo,
        hi,
        highlight_row=shown_hl,
        note_lines=note_lines,
        in_flight=flying[:MAX_IN_FLIGHT],
        quiet=quiet,
    )
    rows = max(lay.height, 1)

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
        what = f"violation: {prop or '?'} at step {violation.get('step', '?')}"
        if explanation:
            what += f": {explanation}"
        caption.extend(textwrap.wrap(what, wrap, subsequent_indent="    "))
    if lo > 0 or hi < n:
        parts = [
            f"showing steps {_step_index(steps[lo], lo)}\u2013{_step_index(steps[hi - 1], hi - 1)}"
        ]
        if page is not None:
            parts.insert(0, f"page {page} of {total}")
        if lo > 0:
            parts.append(f"{lo} earlier steps not drawn")
        if hi < n:
            parts.append(f"\u2026 {n - hi} more steps not drawn")
        if page is None:
            parts.append(f"every step on {total} pages")
        caption.append("; ".join(parts))
    if len(flying) > MAX_IN_FLIGHT:
        caption.append(
            f"{len(flying) - MAX_IN_FLIGHT} more messages in flight at the end not drawn"
        )
    if highlight is not None and shown_hl is None:
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
    x_text = 0.5 * _LEFT / width_in + 0.02
    heading = title if title is not None else f"{scenario} ({mode})"
    fig.text(x_text, y_in / height_in, heading, fontsize=13, fontweight="bold", va="top")
    y_in -= 0.35
    for text in caption:
        fig.text(x_text, y_in / height_in, text, fontsize=8, va="top", color="#333333")
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
    y_top, y_bottom = -0.8, rows - 0.2
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
    ax.text(
        x_max + 0.05,
        -0.75,
        "what happened (hover for the JSON)",
        fontsize=7,
        fontweight="bold",
        color="#333333",
        ha="left",
        va="center",
        clip_on=False,
    )
    _draw_row_labels(ax, steps, lay, ncols)
    # Faint guides every row, to read along it into the story column.
    ax.hlines([r.y for r in lay.rows], x_min, x_max, colors="#efefef", lw=0.6, zorder=0)

    _draw_columns(ax, steps, col, nodes, lay, y_top, y_bottom)
    marks = Marks(ax, col, x_max, summarize)
    draw_rows(marks, steps, lay)

    if shown_hl is not None:
        y = lay.y_of[shown_hl]
        ax.axhspan(y - 0.5, y + 0.5, color=_C_HIGHLIGHT, alpha=0.22, lw=0, zorder=0.5)
        if note_lines:
            ax.axhspan(y + 0.5, y + 0.5 + len(note_lines), color=_C_HIGHLIGHT, alpha=0.08, lw=0)
            ax.text(
                (x_max + x_min) / 2,
                y + 0.5 + len(note_lines) / 2,
                "\u2191 what is wrong \u2192",
                color=_C_CRASH,
                fontsize=7,
                fontweight="bold",
                ha="center",
                va="center",
            )
    return fig, marks.tooltips


def _verdict(value: Any) -> str:
    if isinstance(value, bool):
        return "pass" if value else "FAIL"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_verdict(v)}" for k, v in value.items()) + "}"
    return str(value)
