"""A progress bar for units done anywhere: units done, units per second, time left.

The executor calls ``on_done(done, total)`` in this process as each unit's
result comes back (from a local pool or over a Dask cluster alike), so the
bar shows the whole job's progress whichever machines ran it.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["UnitProgress", "clock"]


class UnitProgress:
    """Redrawn in place on ``stream`` (stderr); silent when it is not a terminal.

    >>> import io
    >>> class Tty(io.StringIO):
    ...     def isatty(self):
    ...         return True
    >>> bar = UnitProgress("matrix", "rows", Tty())
    >>> bar(4, 4)
    >>> "4/4 rows" in bar.stream.getvalue() and "rows/s" in bar.stream.getvalue()
    True
    """

    def __init__(self, name: str, unit: str = "units", stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.name = name
        self.unit = unit
        self.start = time.monotonic()
        self.shown = self.stream.isatty()

    def __call__(self, done: int, total: int) -> None:
        if not self.shown:
            return
        elapsed = time.monotonic() - self.start
        rate = done / elapsed if elapsed > 0 else 0.0
        left = (total - done) / rate if rate else 0.0
        bar = "#" * (20 * done // max(total, 1))
        self.stream.write(
            f"\r{self.name} [{bar:<20}] {done}/{total} {self.unit}  {rate:,.1f} {self.unit}/s  "
            f"{clock(elapsed)} elapsed  {clock(left)} left "
        )
        if done == total:
            self.stream.write("\n")
        self.stream.flush()


def clock(seconds: float) -> str:
    """``m:ss``.

    >>> clock(75.4)
    '1:15'
    """
    s = int(seconds + 0.5)
    return f"{s // 60}:{s % 60:02d}"
