"""The default executor: this process alone, or a pool of local worker processes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from mxsim.experiments.executor.base import Executor

__all__ = ["LocalPool"]


class LocalPool(Executor):
    """``workers`` processes of this machine; with one, the units run in this process.

    The pool is started on first use and kept until :meth:`close`, so that
    several jobs (a bench's repetitions) share its warm workers. ``fn`` must
    be a module-level function: it is pickled to the workers.

    >>> with LocalPool(1) as pool:
    ...     sorted(pool.stream(abs, [-2, 3]))
    [(0, 2), (1, 3)]
    """

    def __init__(self, workers: int = 1) -> None:
        self.workers = max(1, workers)
        self._pool: ProcessPoolExecutor | None = None

    def stream(self, fn: Callable[[Any], Any], units: Iterable[Any]) -> Iterator[tuple[int, Any]]:
        if self.workers == 1 or (isinstance(units, list | tuple) and len(units) <= 1):
            for i, unit in enumerate(units):
                yield i, fn(unit)
            return
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=self.workers)
        pool = self._pool
        todo = iter(enumerate(units))
        pending: dict[Future, int] = {}

        def hand_out() -> None:
            nxt = next(todo, None)
            if nxt is not None:
                pending[pool.submit(fn, nxt[1])] = nxt[0]

        for _ in range(2 * self.workers):
            hand_out()
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in sorted(done, key=pending.__getitem__):
                    index = pending.pop(future)
                    yield index, future.result()
                    hand_out()
        finally:
            for future in pending:
                future.cancel()

    def describe(self) -> str:
        if self.workers == 1:
            return "this process"
        return f"a pool of {self.workers} local processes"

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
