"""What a running search shows on a terminal, and the memory it measures.

The search calls its ``progress`` callback about four times a second with a
:class:`Progress`; :func:`progress_printer` draws it as one line on a
terminal (and is None elsewhere, so logs and ``--json`` stay clean).
"""

from __future__ import annotations

import math
import os
import resource
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

__all__ = ["Progress", "Memory", "progress_printer", "rss_bytes", "describe"]


@dataclass(frozen=True)
class Progress:
    elapsed: float
    max_seconds: float
    states: int
    max_states: int
    rate: float  # states per second in this session
    depth: int
    max_depth: int
    violations: int  # properties found violated so far
    memory: int  # resident bytes of the process


def rss_bytes() -> int:
    """Resident memory of this process now (Linux), else its peak so far."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


def _bound(value: float) -> str:
    return "∞" if math.isinf(value) else f"{value:,.0f}"


def describe(p: Progress) -> str:
    """The progress line.

    >>> describe(Progress(12.5, 60, 40_000, 1_000_000, 3200.0, 17, 60, 1, 250 * 2**20))
    '  12s/60s  states 40,000 (4% of 1,000,000)  3,200/s  depth 17/60  violated 1  mem 250 MiB'
    """
    share = f" ({100 * p.states / p.max_states:.0f}% of {p.max_states:,})" if p.max_states else ""
    return (
        f"  {p.elapsed:.0f}s/{_bound(p.max_seconds)}s  states {p.states:,}{share}  "
        f"{p.rate:,.0f}/s  depth {p.depth}/{p.max_depth}  violated {p.violations}  "
        f"mem {p.memory / 2**20:,.0f} MiB"
    )


def progress_printer(stream: TextIO | None = None) -> Callable[[Progress], None] | None:
    """A one-line progress display on a terminal; None when not a terminal."""
    stream = stream or sys.stderr
    if not stream.isatty():
        return None

    def show(p: Progress) -> None:
        stream.write("\r" + describe(p).ljust(100)[:100])
        stream.flush()

    return show


class Memory:
    """Resident memory over a search, and what it comes to per visited world."""

    __slots__ = ("search", "base", "peak", "first_states")

    def __init__(self, search) -> None:
        self.search = search
        self.base = self.peak = rss_bytes()
        self.first_states = search.states

    def sample(self) -> None:
        self.peak = max(self.peak, rss_bytes())

    def finish(self, first_states: int) -> dict[str, float | int | None]:
        """``bytes_per_state``: growth of resident memory over the worlds this
        session added (caches and frontier included); ``visited_bytes_per_state``:
        what the visited set and its parent links hold, per world."""
        self.sample()
        grown = self.search.states - first_states
        return {
            "bytes_per_state": round((self.peak - self.base) / grown) if grown else None,
            "visited_bytes_per_state": round(self.search.visited_bytes() / self.search.states, 1),
            "peak_rss_bytes": self.peak,
        }
