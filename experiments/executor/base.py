"""What runs mxsim's units of parallel work: the seam each backend fills.

A *unit* is one independent piece of a larger job: a chunk of the random
walks of ``check --random``, a row of ``matrix``, a run of ``sweep``, a
point of ``experiment``. Its result depends on the unit alone (each carries
its own index and seed), so where and when it ran, and how often (a unit
whose worker died is run again elsewhere), change nothing: the caller puts
the results back in unit order.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from typing import Any

__all__ = ["Executor", "SchedulerError"]


class SchedulerError(Exception):
    """A ``--scheduler`` that is malformed or cannot be reached: bad input, exit code 2."""


class Executor(ABC):
    """Runs ``fn(unit)`` for a stream of units on some workers."""

    #: How many units it runs at once (its workers' slots).
    workers: int = 1

    @abstractmethod
    def stream(self, fn: Callable[[Any], Any], units: Iterable[Any]) -> Iterator[tuple[int, Any]]:
        """Yield ``(index, fn(unit))`` as units finish, in any order.

        ``units`` is read lazily, a unit only when a slot is free (two per
        worker are kept in hand), so a caller can stop handing out units (at
        a deadline, say) by ending its iterable. Each index is yielded once,
        however many times its unit had to be run. Leaving the loop early
        cancels the units not yet done.
        """

    @abstractmethod
    def describe(self) -> str:
        """Where the units run, in words (for reports and the bench)."""

    @abstractmethod
    def close(self) -> None:
        """Release the workers (and a cluster this executor started)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
