"""Saving a breadth-first search mid-way, and resuming it with the same result.

A checkpoint file is three parts:

1. the line ``mxsim checkpoint``;
2. one line of JSON: the format version, the identity of the check (the
   scenario's name and a SHA-256 of its table, the ``--set`` overrides and
   ``max_depth``, everything that decides which worlds the search meets) and
   the seconds spent so far;
3. a pickle of plain data only (ints, strings, bytes, tuples, lists, dicts,
   None and booleans) holding the :class:`sim.search.Search`.

The frontier is packed as tuples of ints over one table of its strings
(the node states and messages that many worlds share), so the pickle needs
no memo of shared objects.

Why a pickle: the visited set and the frontier are millions of small
values, which JSON would make several times larger and slower to write;
pickle reads
and writes them at C speed. It is loaded by an unpickler that refuses every
class and function, so a file can hold nothing but data. The key set is
written sorted and the frontier in search order, so the same search gives
the same payload.

A file is always written whole (sim.files.write_atomic): an interrupted save
leaves the previous checkpoint in place.
"""

from __future__ import annotations

import io
import json
import pickle
import sys
from array import array
from collections import deque
from pathlib import Path
from typing import Any

from mxsim.sim.files import write_atomic
from mxsim.sim.search import Search
from mxsim.sim.world import World, _world

__all__ = ["Checkpoint", "CheckpointError", "FORMAT"]

FORMAT = 1
MAGIC = b"mxsim checkpoint\n"


class CheckpointError(Exception):
    """A checkpoint that does not belong to this check, or is not one (bad input)."""


class _DataOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"{module}.{name} is not plain data")


class Checkpoint:
    """The checkpoint file of one check.

    ``identity`` names the check; a file of any other check is refused.
    ``every`` is the number of seconds between saves while the search runs
    (it is also saved when the search stops, whatever the reason).
    """

    def __init__(self, path: str | Path, identity: dict[str, Any], every: float = 60.0) -> None:
        self.path = Path(path)
        self.identity = identity
        self.every = every
        self.saves = 0
        self.resumed = False

    # -- writing ---------------------------------------------------------

    def save(self, search: Search) -> None:
        head = {"format": FORMAT, "check": self.identity, "seconds": round(search.seconds, 3)}
        data = {
            "byteorder": sys.byteorder,
            "seen": array("Q", sorted(search.seen)).tobytes(),
            "parent": search.parent.tobytes(),
            "via": search.via.tobytes(),
            "levels": list(search.levels),
            "frontier": _pack(search.frontier),
            "found": (dict(search.violated), dict(search.reached)),
            "position": (search.expanded, search.partial, search.depth, search.depth_cut),
            "counts": (search.transitions, search.quiescent),
            "actions": dict(sorted(search.actions.items())),
            "delivered": dict(sorted(search.delivered.items())),
        }
        line = json.dumps(head, sort_keys=True, separators=(",", ":")).encode()
        out = io.BytesIO()
        pickler = pickle.Pickler(out, protocol=4)
        # No memo: the frontier is packed as ints over one table of strings, so
        # nothing is shared, and a memo of millions of objects would double
        # the memory of a large search while it saves.
        pickler.fast = True
        pickler.dump(data)
        write_atomic(self.path, MAGIC + line + b"\n" + out.getvalue())
        self.saves += 1

    # -- reading ---------------------------------------------------------

    def load(self) -> Search | None:
        """The saved search, or None if there is no file yet."""
        try:
            blob = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as e:
            why = e.strerror
            raise CheckpointError(f"{self.path}: cannot read the checkpoint: {why}") from None
        where = f"{self.path}: expected an mxsim checkpoint"
        if not blob.startswith(MAGIC):
            raise CheckpointError(f"{where} (first line 'mxsim checkpoint')")
        end = blob.find(b"\n", len(MAGIC))
        try:
            head = json.loads(blob[len(MAGIC) : end])
        except ValueError:
            raise CheckpointError(f"{where}, found an unreadable header") from None
        if not isinstance(head, dict) or head.get("format") != FORMAT:
            got = head.get("format") if isinstance(head, dict) else None
            raise CheckpointError(f"{where} of format {FORMAT}, found format {got!r}")
        theirs = head.get("check")
        if theirs != self.identity:
            raise CheckpointError(
                f"{self.path}: the checkpoint is of another check ({_name(theirs)}); "
                f"expected one of {_name(self.identity)}"
            )
        try:
            data = _DataOnly(io.BytesIO(blob[end + 1 :])).load()
            search = _search(data, float(head.get("seconds", 0.0)))
        except Exception as e:  # any damage to the payload is bad input, not a crash
            raise CheckpointError(f"{where}, found a damaged payload ({e})") from None
        self.resumed = True
        return search


def _name(identity: Any) -> str:
    if not isinstance(identity, dict):
        return "unknown"
    sets = identity.get("overrides") or {}
    how = ", ".join(f"{k}={v}" for k, v in sorted(sets.items())) or "no --set"
    return f"{identity.get('scenario')} with {how}, max_depth {identity.get('max_depth')}"


def _pack(frontier: deque[World]) -> tuple[list[str], list[tuple]]:
    """The frontier as tuples of ints indexing one table of its strings, in order."""
    table: dict[str, int] = {}
    ref = table.setdefault
    worlds = []
    for w in frontier:
        worlds.append(
            (
                tuple(ref(t, len(table)) for t in w.states),
                w.up,
                tuple(
                    (ref(d, len(table)), ref(s, len(table)), ref(m, len(table)))
                    for d, s, m in w.inflight
                ),
                tuple((ref(n, len(table)), ref(t, len(table)), delay) for n, t, delay in w.timers),
                w.workload,
                w.budget,
                w._key,
            )
        )
    return list(table), worlds


def _unpack(packed: tuple[list[str], list[tuple]]) -> deque[World]:
    strings, worlds = packed
    # Worlds shared their in-flight entries before the save; share them again.
    entries: dict[tuple, tuple] = {}
    out: deque[World] = deque()
    for states, up, inflight, timers, workload, budget, key in worlds:
        msgs = []
        for ints in inflight:
            e = entries.get(ints)
            if e is None:
                d, s, m = ints
                e = entries[ints] = (strings[d], strings[s], strings[m])
            msgs.append(e)
        armed = []
        for n, t, delay in timers:
            armed.append((strings[n], strings[t], delay))
        out.append(
            _world(
                tuple([strings[i] for i in states]),
                tuple(up),
                tuple(msgs),
                tuple(armed),
                workload,
                tuple(budget),
                key,
            )
        )
    return out


def _ints(code: str, blob: bytes, byteorder: str) -> array:
    a = array(code)
    a.frombytes(blob)
    if byteorder != sys.byteorder:
        a.byteswap()
    return a


def _search(data: dict, seconds: float) -> Search:
    order = data["byteorder"]
    expanded, partial, depth, depth_cut = data["position"]
    transitions, quiescent = data["counts"]
    violated, reached = data["found"]
    frontier = _unpack(data["frontier"])
    search = Search(
        seen=set(_ints("Q", data["seen"], order)),
        parent=_ints("I", data["parent"], order),
        via=_ints("H", data["via"], order),
        levels=list(data["levels"]),
        frontier=frontier,
        expanded=expanded,
        partial=partial,
        violated=dict(violated),
        reached=dict(reached),
        depth=depth,
        depth_cut=bool(depth_cut),
        transitions=transitions,
        quiescent=quiescent,
        actions=dict(data["actions"]),
        delivered=dict(data["delivered"]),
        seconds=seconds,
    )
    if len(search.parent) != len(search.via) or len(search.seen) != len(search.parent):
        raise ValueError("tables of different lengths")
    return search
