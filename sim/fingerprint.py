"""Incremental fingerprints of worlds: a sum of per-component digests.

A world's key is the sum, modulo 2**60, of one digest per component: each
node's state (tagged with the node's index), each node that is down, each
message in flight (copies counted), each armed timer, the workload position
and the budgets left. A sum of digests is a multiset hash, so a step changes
the key by the digests it removes and adds, and nothing else is rehashed:
delivering a message subtracts that message's digest and the old state's,
adds the new state's and those of the messages sent.

Why 60 bits: a Python int below 2**60 takes 32 bytes, one above it 40, and
the visited set of a search holds one per world. Two distinct worlds share
a key with probability about n**2 / 2**61 over a search of n worlds (under
1e-6 for a million worlds); the 16-byte :meth:`World.fingerprint` stays the
exact identity for anything that needs one.

Digests of strings are cached, bounded: a cache that outgrows its bound is
emptied (its values are pure functions of their keys, so this changes
speed, never a result).
"""

from __future__ import annotations

from hashlib import blake2b
from typing import Any

__all__ = ["Digests", "MASK", "BITS"]

BITS = 60
MASK = (1 << BITS) - 1
LIMIT = 200_000  # entries per cache before it is emptied


def _digest(data: bytes) -> int:
    return int.from_bytes(blake2b(data, digest_size=8).digest(), "little") & MASK


class Digests:
    """The component digests of one system's worlds (``nodes`` node names).

    >>> d = Digests(["a", "b"], workload=1)
    >>> k = d.key(('{}', '{}'), (True, True), (("a", "b", "{}"),), (), 0, (0, 0, 0))
    >>> k == d.key(('{}', '{}'), (True, True), (("a", "b", "{}"),) * 2, (), 0, (0, 0, 0))
    False
    >>> moved = (k - d.message(("a", "b", "{}")) + d.state(1, '{"x":1}') - d.state(1, '{}')) & MASK
    >>> moved == d.key(('{}', '{"x":1}'), (True, True), (), (), 0, (0, 0, 0))
    True
    """

    __slots__ = ("_states", "_messages", "_timers", "_budgets", "down", "workload", "names")

    def __init__(self, nodes: list[str] | tuple[str, ...], workload: int) -> None:
        self.names = tuple(nodes)
        self._states: list[dict[str, int]] = [{} for _ in self.names]
        self._messages: dict[tuple[str, str, str], int] = {}
        self._timers: dict[tuple[str, str, int], int] = {}
        self._budgets: dict[tuple[int, int, int], int] = {}
        self.down = tuple(_digest(f"down\x00{i}".encode()) for i in range(len(self.names)))
        self.workload = tuple(_digest(f"workload\x00{k}".encode()) for k in range(workload + 1))

    def state(self, i: int, text: str) -> int:
        """Digest of node ``i`` holding the state ``text`` (canonical JSON)."""
        cache = self._states[i]
        d = cache.get(text)
        if d is None:
            if len(cache) >= LIMIT:
                cache.clear()
            d = cache[text] = _digest(f"state\x00{i}\x00{text}".encode())
        return d

    def message(self, entry: tuple[str, str, str]) -> int:
        """Digest of one copy of an in-flight ``(dst, src, msg)``."""
        d = self._messages.get(entry)
        if d is None:
            if len(self._messages) >= LIMIT:
                self._messages.clear()
            d = self._messages[entry] = _digest("msg\x00{}\x00{}\x00{}".format(*entry).encode())
        return d

    def timer(self, entry: tuple[str, str, int]) -> int:
        """Digest of an armed ``(node, name, delay)``."""
        d = self._timers.get(entry)
        if d is None:
            if len(self._timers) >= LIMIT:
                self._timers.clear()
            d = self._timers[entry] = _digest("timer\x00{}\x00{}\x00{}".format(*entry).encode())
        return d

    def budget(self, budget: tuple[int, int, int]) -> int:
        d = self._budgets.get(budget)
        if d is None:
            d = self._budgets[budget] = _digest("budget\x00{}\x00{}\x00{}".format(*budget).encode())
        return d

    def key(
        self,
        states: Any,
        up: Any,
        inflight: Any,
        timers: Any,
        workload: int,
        budget: tuple[int, int, int],
    ) -> int:
        """The key of a world from scratch (what every incremental step must equal)."""
        total = self.workload[workload] + self.budget(budget)
        for i, text in enumerate(states):
            total += self.state(i, text)
            if not up[i]:
                total += self.down[i]
        for entry in inflight:
            total += self.message(entry)
        for entry in timers:
            total += self.timer(entry)
        return total & MASK

    def sizes(self) -> int:
        """Entries held by the caches (for memory accounting)."""
        return sum(map(len, self._states)) + len(self._messages) + len(self._timers)
