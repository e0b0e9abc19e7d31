"""The one seam for mxsim's parallel work: units in, results out in unit order.

Every embarrassingly parallel job calls it: the walk chunks of ``check
--random``, the rows of ``matrix``, the runs of ``sweep``, the points of
``experiment``. :func:`open_executor` picks the backend: a local process
pool by default (:class:`LocalPool`), a Dask cluster with ``--scheduler
ADDRESS`` or ``MXSIM_SCHEDULER`` (:class:`~.cluster.DaskCluster`;
``local:N`` starts a ``LocalCluster`` of N workers).

A unit's result depends on the unit alone (each carries its own index and
seed), and results are put back in the units' order whoever computed them,
so the output is the same bytes for any executor and any number of workers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from mxsim.experiments.executor.base import Executor, SchedulerError
from mxsim.experiments.executor.local import LocalPool

__all__ = [
    "Executor",
    "LocalPool",
    "SchedulerError",
    "open_executor",
    "map_ordered",
    "SCHEDULER_ENV",
]

#: The environment variable that names a scheduler when ``--scheduler`` is not given.
SCHEDULER_ENV = "MXSIM_SCHEDULER"


def open_executor(scheduler: str | None = None, workers: int = 1) -> Executor:
    """A Dask client of ``scheduler`` if one is named, else a pool of ``workers``.

    Raises :class:`SchedulerError` for a malformed or unreachable scheduler.

    >>> with open_executor(None, 1) as ex:
    ...     ex.describe()
    'this process'
    """
    if scheduler:
        from mxsim.experiments.executor.cluster import DaskCluster

        return DaskCluster(scheduler)
    return LocalPool(workers)


def map_ordered(
    fn: Callable[[Any], Any],
    units: Sequence[Any],
    workers: int = 1,
    on_done: Callable[[int, int], None] | None = None,
    executor: Executor | None = None,
) -> list[Any]:
    """``[fn(u) for u in units]`` on ``executor`` (default: a pool of ``workers``), in
    unit order.

    ``on_done(done, total)`` is called in this process after each unit ends
    (for a progress bar). ``fn`` must be a module-level function (it is
    pickled to the workers).

    >>> map_ordered(abs, [-2, 3, -1], workers=1)
    [2, 3, 1]
    """
    own = executor is None
    ex = LocalPool(workers) if executor is None else executor
    total = len(units)
    results: list[Any] = [None] * total
    try:
        for done, (i, result) in enumerate(ex.stream(fn, list(units)), start=1):
            results[i] = result
            if on_done:
                on_done(done, total)
    finally:
        if own:
            ex.close()
    return results
