"""Figures that read the same everywhere: fixed bytes, log-log scaling with a fitted slope.

Every experiment draws with :func:`figure` and lets the runner save with
:func:`save`, so the same rows give the same PNG and SVG bytes (no dates, a
fixed SVG hash salt).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator  # noqa: E402

__all__ = ["figure", "save", "slope", "loglog", "legend_outside"]

_RC = {"svg.hashsalt": "mxsim", "font.size": 9, "svg.fonttype": "none"}


def figure(width: float = 6.4, height: float = 4.0) -> Figure:
    """A new figure (not registered with pyplot, so nothing leaks between runs)."""
    with matplotlib.rc_context(_RC):
        return Figure(figsize=(width, height), layout="constrained")


def save(fig: Figure, fmt: str) -> bytes:
    """The figure's bytes as ``png`` or ``svg``, the same for the same figure."""
    buf = io.BytesIO()
    with matplotlib.rc_context(_RC):
        if fmt == "svg":
            fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
        else:
            fig.savefig(buf, format="png", metadata={"Software": None}, dpi=120)
    return buf.getvalue()


def slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """The least-squares slope of log y against log x (the exponent of a power law).

    >>> round(slope([2, 4, 8, 16], [4, 16, 64, 256]), 3)
    2.0
    """
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys, strict=True) if x > 0 and y > 0]
    if len(pts) < 2:
        return float("nan")
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    den = sum((p[0] - mx) ** 2 for p in pts)
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / den if den else float("nan")


def loglog(ax: Axes, xs: Sequence[float], ys: Sequence[float], label: str, **style) -> float:
    """Plot ys against xs on log-log axes, the fitted slope in the legend label; return it."""
    k = slope(xs, ys)
    ax.plot(xs, ys, marker="o", label=f"{label} (slope {k:.2f})", **style)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ticks = sorted({int(x) for x in xs if x > 0})
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([str(t) for t in ticks])
    ax.yaxis.set_minor_formatter(NullFormatter())  # decades only: 2x10^0 labels crowd
    return k


def band(
    ax: Axes,
    xs: Sequence[float],
    ys: Sequence[float] | None,
    lo: Sequence[float],
    hi: Sequence[float],
    label: str = "",
    *,
    color: str,
    alpha: float = 0.2,
    **style,
) -> None:
    """A shaded band from ``lo`` to ``hi`` (a spread over seeds) and, unless
    ``ys`` is None, the line through ``ys`` (a median or mean) over it."""
    ax.fill_between(xs, lo, hi, color=color, alpha=alpha, lw=0)
    if ys is not None:
        ax.plot(xs, ys, marker="o", label=label, color=color, **style)


def legend_outside(ax: Axes) -> None:
    """The legend beside the plot, never over its lines or bars."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False)
