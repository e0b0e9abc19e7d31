"""The Dask executor: the units on a ``dask.distributed`` cluster (``--scheduler``).

``--scheduler ADDRESS`` (or ``MXSIM_SCHEDULER``) names a running scheduler
(``tcp://HOST:PORT``, ``HOST:PORT``); ``--scheduler local:N`` starts a
``LocalCluster`` of N worker processes on this machine for the command's
life. ``distributed`` is imported only here, so the commands that do not
name a scheduler never load it.

Dask gives what the units need: a worker that dies mid-unit has its units
run again on the others (the scheduler's own rescheduling), and each future
resolves once, so a unit is neither lost nor counted twice; ``as_completed``
hands the results back as they come, which drives the progress bars.
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from mxsim.experiments.executor.base import Executor, SchedulerError

__all__ = ["DaskCluster", "CONNECT_TIMEOUT", "parse_address"]

#: Seconds to wait for a named scheduler before giving up (bad input, exit 2).
CONNECT_TIMEOUT = 5.0

_ADDRESS = re.compile(
    r"^(?:(?:tcp|tls|ws|wss)://)?(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+)(?::[0-9]{1,5})?$"
)


def parse_address(text: str) -> tuple[str, int | None]:
    """``(address, None)`` for a scheduler to connect to, ``("local", N)`` for a
    cluster to start; raises :class:`SchedulerError` naming what was expected.

    >>> parse_address("local:2"), parse_address("tcp://10.0.0.5:8786")
    (('local', 2), ('tcp://10.0.0.5:8786', None))
    >>> parse_address("local:none")
    Traceback (most recent call last):
    ...
    mxsim.experiments.executor.base.SchedulerError: --scheduler local:none: expected local:N \
with N a number of workers from 1, or tcp://HOST:PORT
    """
    text = text.strip()
    if text == "local" or text.startswith("local:"):
        count = text.partition(":")[2] or str(os.cpu_count() or 1)
        if not count.isdigit() or int(count) < 1:
            raise SchedulerError(
                f"--scheduler {text}: expected local:N with N a number of workers from 1, "
                "or tcp://HOST:PORT"
            )
        return "local", int(count)
    if not _ADDRESS.match(text):
        raise SchedulerError(
            f"--scheduler {text}: expected a scheduler address tcp://HOST:PORT (or HOST:PORT), "
            "or local:N"
        )
    return text, None


class DaskCluster(Executor):
    """A client of a Dask scheduler (or of a ``LocalCluster`` it started)."""

    def __init__(self, address: str, timeout: float | None = None) -> None:
        where, local_workers = parse_address(address)
        timeout = CONNECT_TIMEOUT if timeout is None else timeout
        try:
            from distributed import Client, LocalCluster
        except ImportError:  # pragma: no cover - a core dependency
            raise SchedulerError(
                f"--scheduler {address}: expected the distributed package (pip install distributed)"
            ) from None
        self.address = address
        self.cluster = None
        if local_workers is not None:
            self.cluster = LocalCluster(
                n_workers=local_workers,
                threads_per_worker=1,  # the units are CPU-bound Python: one per process
                processes=True,
                dashboard_address=None,
                # Its HTTP endpoint on a free port, not Dask's 8787 (which may be taken).
                scheduler_kwargs={"dashboard_address": ":0"},
                silence_logs=logging.ERROR,
            )
            self.client = Client(self.cluster, set_as_default=False)
        else:
            try:
                self.client = Client(where, timeout=timeout, set_as_default=False)
            except (OSError, TimeoutError) as e:
                why = " ".join(str(e).split()) or type(e).__name__
                raise SchedulerError(
                    f"--scheduler {address}: expected a reachable Dask scheduler, found none "
                    f"within {timeout:g} s ({why})"
                ) from None
        threads = sum(self.client.nthreads().values())
        # A scheduler whose workers have not joined yet still takes units.
        self.workers = max(1, threads)

    def stream(self, fn: Callable[[Any], Any], units: Iterable[Any]) -> Iterator[tuple[int, Any]]:
        from distributed import as_completed

        todo = iter(enumerate(units))
        index: dict[str, int] = {}
        run = f"mxsim-{getattr(fn, '__name__', 'unit')}-{uuid.uuid4().hex[:8]}"

        def hand_out():
            nxt = next(todo, None)
            if nxt is None:
                return None
            key = f"{run}-{nxt[0]}"
            index[key] = nxt[0]
            return self.client.submit(fn, nxt[1], key=key, pure=False)

        first = [f for f in (hand_out() for _ in range(2 * self.workers)) if f is not None]
        pending = as_completed(first, loop=self.client.loop)
        live = {f.key: f for f in first}
        try:
            for future in pending:
                result = future.result()
                live.pop(future.key, None)
                future.release()
                yield index[future.key], result
                nxt = hand_out()
                if nxt is not None:
                    live[nxt.key] = nxt
                    pending.add(nxt)
        finally:
            if live:
                self.client.cancel(list(live.values()))

    def describe(self) -> str:
        if self.cluster is not None:
            return f"a Dask LocalCluster of {self.workers} worker processes"
        return f"the Dask scheduler {self.address} ({self.workers} worker threads)"

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
