"""Running one experiment: its points measured, then ``data.csv``, figures, ``summary.md``.

:func:`run` asks the experiment for its points, shifts their seeds by
``--seed``, measures them through the one parallel seam
(:func:`mxsim.experiments.executor.map_ordered`: local processes or a Dask
cluster), and writes into the
output directory

- ``data.csv``: one row per measured point, the point's parameters then the
  measured values, columns in the order they first appear;
- ``STEM.png`` and ``STEM.svg`` for each figure ``draw(rows)`` returns;
- ``summary.md``: the question, the setup, the answer in two sentences, the
  figures, the points that failed, and the command that regenerates it.

A point whose measurement raises is reported (its parameters and seed, in
one line) and left out; the others are kept. Rows that ``check`` refuses
are written to ``data.csv`` and named in ``summary.md``, but no figure is
drawn from them. Nothing written depends on the number of workers, the
order they finish in, the time or the directory: the same experiment and
seed give the same bytes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from mxsim.experiments.executor import Executor, map_ordered
from mxsim.experiments.executor.progress import UnitProgress
from mxsim.experiments.experiment import figures
from mxsim.experiments.experiment.base import Experiment, ExperimentError, Point, Row
from mxsim.sim.files import write_atomic

__all__ = ["Outcome", "run", "shifted", "describe_point", "data_csv", "Progress"]


@dataclass
class Outcome:
    """What a run of an experiment produced."""

    rows: list[Row]
    failed: list[tuple[Point, str]] = field(default_factory=list)
    """(point, ``Type: message``) of each point whose measurement raised."""
    refused: str | None = None
    """The message of the :class:`ExperimentError` ``check`` raised, if it did."""
    answer: str = ""
    files: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and self.refused is None


def shifted(points: Sequence[Point], seed: int) -> list[dict[str, Any]]:
    """The points with every ``seed`` moved by ``seed`` (``--seed N``).

    >>> shifted([{"n": 2, "seed": 0}, {"n": 3}], 5)
    [{'n': 2, 'seed': 5}, {'n': 3}]
    """
    out = []
    for p in points:
        q = dict(p)
        if "seed" in q:
            q["seed"] = int(q["seed"]) + seed
        out.append(q)
    return out


def describe_point(point: Point) -> str:
    """A point as ``key=value`` words, in its own order.

    >>> describe_point({"strategy": "local", "users": 5, "seed": 1})
    'strategy=local users=5 seed=1'
    """
    return " ".join(f"{k}={v}" for k, v in point.items())


def _attempt(unit: tuple[Callable[[Point], Mapping[str, Any]], Point]) -> tuple[bool, Any]:
    """Measure one point in a worker: (True, values) or (False, ``Type: message``)."""
    measure, point = unit
    try:
        return True, dict(measure(point))
    except Exception as e:  # one broken point must not lose the others
        text = " ".join(str(e).split())
        return False, f"{type(e).__name__}: {text}" if text else type(e).__name__


def data_csv(rows: Sequence[Row]) -> bytes:
    """The rows as CSV, columns in the order they first appear (a missing value is
    empty; keys starting with ``_`` are left out).

    >>> data_csv([{"n": 2, "x": 1.5}, {"n": 3, "y": True, "_files": {}}]).decode()
    'n,x,y\\n2,1.5,\\n3,,True\\n'
    """
    columns = list(dict.fromkeys(k for r in rows for k in r if not k.startswith("_")))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for r in rows:
        writer.writerow([r.get(c, "") for c in columns])
    return buf.getvalue().encode()


class Progress(UnitProgress):
    """Points done, points per second and time left on ``stream``, redrawn in place;
    silent off a terminal."""

    def __init__(self, name: str, stream: TextIO | None = None) -> None:
        super().__init__(name, "points", stream)


def command(exp: Experiment, quick: bool, seed: int) -> str:
    """The command that regenerates the experiment's files.

    The output directory and the number of workers are left out: neither
    changes a byte of what is written.
    """
    words = ["mxsim", "experiment", exp.name]
    if quick:
        words.append("--quick")
    if seed:
        words += ["--seed", str(seed)]
    return " ".join(words)


def run(
    exp: Experiment,
    out: Path,
    quick: bool = False,
    jobs: int = 1,
    seed: int = 0,
    on_done: Callable[[int, int], None] | None = None,
    on_failure: Callable[[str], None] | None = None,
    executor: Executor | None = None,
) -> Outcome:
    """Measure every point of ``exp`` and write its files into ``out`` (made if missing).

    ``exp.measure(point)`` runs once per point on ``executor`` (default: a
    local pool of ``jobs`` processes; a Dask cluster with ``--scheduler``).
    """
    points = shifted(exp.points(quick), seed)
    units = [(exp.measure, p) for p in points]
    results = map_ordered(_attempt, units, jobs, on_done, executor)
    outcome = Outcome(rows=[])
    for point, (ok, value) in zip(points, results, strict=True):
        if ok:
            outcome.rows.append({**point, **value})
        else:
            outcome.failed.append((point, value))
            if on_failure:
                on_failure(f"{exp.name}: point failed: {describe_point(point)}: {value}")
    out.mkdir(parents=True, exist_ok=True)
    stems: list[str] = []
    if outcome.rows:
        try:
            exp.check(outcome.rows)
        except ExperimentError as e:
            outcome.refused = " ".join(str(e).split())
    data = out / "data.csv"
    write_atomic(data, data_csv(outcome.rows))
    outcome.files.append(data)
    for row in outcome.rows:
        for name, blob in sorted(row.get("_files", {}).items()):
            path = out / name
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, blob)
            outcome.files.append(path)
    if outcome.rows and outcome.refused is None:
        for stem, fig in exp.draw(outcome.rows).items():
            for fmt in ("png", "svg"):
                path = out / f"{stem}.{fmt}"
                write_atomic(path, figures.save(fig, fmt))
                outcome.files.append(path)
            stems.append(stem)
        outcome.answer = " ".join(exp.answer(outcome.rows).split())
    summary = out / "summary.md"
    write_atomic(summary, _summary(exp, outcome, stems, command(exp, quick, seed), len(points)))
    outcome.files.append(summary)
    return outcome


def _summary(exp: Experiment, outcome: Outcome, stems: list[str], cmd: str, total: int) -> bytes:
    lines = [f"# {exp.name}", "", f"**Question.** {exp.question}", ""]
    lines += [f"**Setup.** {' '.join(exp.setup.split())}", ""]
    if exp.proposal:
        lines += [f"**From the proposal.** {exp.proposal}", ""]
    if outcome.refused is not None:
        why = f"the data contradicts the experiment's claim: {outcome.refused}"
        lines += [f"**No answer, no figure:** {why}", ""]
    elif outcome.answer:
        lines += [f"**Answer.** {outcome.answer}", ""]
    for stem in stems:
        lines += [f"![{exp.name}: {stem}]({stem}.png)", ""]
    if outcome.rows and outcome.refused is None:
        more = exp.report(outcome.rows).strip("\n")
        if more:
            lines += [more, ""]
    if outcome.failed:
        head = f"**Failed points** ({len(outcome.failed)} of {total}, left out of the data):"
        lines += [head, ""]
        lines += [f"- `{describe_point(p)}`: {why}" for p, why in outcome.failed]
        lines.append("")
    lines += [f"{len(outcome.rows)} rows in `data.csv` ({total} points). Regenerate with:", ""]
    lines += ["```sh", cmd, "```", ""]
    return "\n".join(lines).encode()
