"""The one seam for mxsim's parallel work: units in, results out in unit order.

Every embarrassingly parallel job (the rows of ``matrix``, the runs of
``sweep``, the points of ``experiment``) calls :func:`map_ordered`. A unit's
result depends on the unit alone (each carries its own seed), and results
come back in the units' order whoever computed them, so the output is the
same bytes for any number of workers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

__all__ = ["map_ordered"]


def map_ordered(
    fn: Callable[[Any], Any],
    units: Sequence[Any],
    workers: int = 1,
    on_done: Callable[[int, int], None] | None = None,
) -> list[Any]:
    """``[fn(u) for u in units]`` over ``workers`` processes, in unit order.

    ``on_done(done, total)`` is called in this process after each unit ends
    (for a progress bar). ``fn`` must be a module-level function (it is
    pickled to the workers).

    >>> map_ordered(abs, [-2, 3, -1], workers=1)
    [2, 3, 1]
    """
    total = len(units)
    results: list[Any] = [None] * total
    if workers <= 1 or total <= 1:
        for i, unit in enumerate(units):
            results[i] = fn(unit)
            if on_done:
                on_done(i + 1, total)
        return results
    with ProcessPoolExecutor(max_workers=min(workers, total)) as pool:
        futures = {pool.submit(fn, unit): i for i, unit in enumerate(units)}
        for done, future in enumerate(as_completed(futures), start=1):
            results[futures[future]] = future.result()
            if on_done:
                on_done(done, total)
    return results
