"""What an experiment is: one question, a sweep of points, one measurement per point.

Each module of :mod:`mxsim.experiments.experiment` defines one
``EXPERIMENT = Experiment(...)``; :mod:`.registry` finds them. The runner
(``mxsim experiment NAME``) asks ``points(quick)`` for the sweep, calls
``measure(point)`` once per point (in worker processes, so both must be
module-level functions), gathers the rows (the point's parameters, then the
measured values) in the order of the points, lets ``check(rows)`` refuse data
that contradicts the experiment's claim, and writes ``data.csv``, the
figures ``draw(rows)`` returns and ``summary.md``.

A measurement's keys that start with ``_`` are for the experiment's own
use and stay out of ``data.csv``; ``_files`` (relative path -> bytes) are
extra files the runner writes into the output directory (a check's
counterexample diagrams, say), so a measurement in a worker process writes
nothing itself.

A point is a flat dict of plain values (str, int, float, bool); where
randomness matters it carries its ``seed``, so a point's measurement depends
on the point alone: the same points give the same bytes, whatever the number
of workers or the order they finish in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from matplotlib.figure import Figure

__all__ = ["Experiment", "ExperimentError", "Point", "Row"]

Point = Mapping[str, Any]
Row = dict[str, Any]


class ExperimentError(Exception):
    """Data that contradicts what the experiment claims (a run that broke a property,
    a count that differs from its formula): no figure is drawn from it."""


@dataclass(frozen=True)
class Experiment:
    name: str
    """The command's name: ``mxsim experiment NAME``."""
    question: str
    """The question it answers, one sentence ending in '?' (``--list`` prints it)."""
    setup: str
    """What is swept and measured, a short paragraph of ``summary.md``."""
    points: Callable[[bool], list[Point]]
    """The sweep: ``points(quick)``; ``quick`` is a reduced sweep that runs in seconds."""
    measure: Callable[[Point], Mapping[str, Any]]
    """One point's measured values (deterministic in the point)."""
    draw: Callable[[list[Row]], Mapping[str, Figure]]
    """The figures, by file stem (written as ``STEM.png`` and ``STEM.svg``)."""
    answer: Callable[[list[Row]], str]
    """The answer in two sentences, read off the rows (numbers, not adjectives)."""
    check: Callable[[list[Row]], None] = field(default=lambda rows: None)
    """Raise :class:`ExperimentError` if the rows contradict the claim."""
    report: Callable[[list[Row]], str] = field(default=lambda rows: "")
    """More of ``summary.md`` after the figures (Markdown: tables, links to ``_files``)."""
    proposal: str = ""
    """The proposal's section (or Synapse habit) the question comes from."""
