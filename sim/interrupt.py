"""Ctrl-C as a bound: the search is asked to stop, and stops between two worlds.

A KeyboardInterrupt raised in the middle of a step could leave the search's
tables half-updated, so while a search runs in the main thread, SIGINT only
raises a flag that the search checks after each world it expands; a second
Ctrl-C raises KeyboardInterrupt as usual, for a user who will not wait.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["StopFlag", "stop_on_interrupt"]


class StopFlag:
    """Raised by SIGINT, read by the search."""

    __slots__ = ("raised",)

    def __init__(self) -> None:
        self.raised = False


@contextmanager
def stop_on_interrupt() -> Iterator[StopFlag]:
    """Within the block, the first SIGINT sets the flag instead of raising.

    >>> with stop_on_interrupt() as flag:
    ...     signal.raise_signal(signal.SIGINT)
    ...     flag.raised
    True
    """
    flag = StopFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag  # signals reach only the main thread; nothing to catch here
        return

    def handler(signum, frame):
        if flag.raised:
            raise KeyboardInterrupt
        flag.raised = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)
