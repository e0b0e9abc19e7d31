"""How the space-time diagrams look: layout in inches, colours, the timer marker, the legend."""

from __future__ import annotations

from typing import Any

from matplotlib.lines import Line2D
from matplotlib.path import Path

# Layout, in inches.
_ROW = 0.26  # height of one step
_COL = 2.1  # width of one node column
_LEFT = 1.25  # step numbers and times
_RIGHT = 6.4  # the story column: one line per row (what arrived, the violation's sentence)
_LINE = 0.19  # one line of caption text
_DPI = 100

_LABEL_CHARS = 18  # timer and other notes are cut to this length
_CHARS_PER_COL = 40  # characters of a 6.5 pt label that fit along one column's width
_STORY_CHARS = 125  # a line of the story column is cut to this length

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
