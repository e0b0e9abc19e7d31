"""Breadth-first search across worker processes, with the serial search's answers.

Level-synchronous: the worlds of one depth (a *level*) are split among N
shards by fingerprint (owner = fingerprint mod N). Each shard expands the
worlds it owns, sends each successor to its owner, and the owner keeps the
visited set and parent links of its share. Then the next level begins.

Every world carries its *key*: (position of its parent in the serial
breadth-first order of its level, index of the action among the parent's
successors). The serial search admits a world when it first meets it,
which is the smallest key among the ways to reach it, and its queue holds
each level in key order. So each owner keeps, for a new world, the link
with the smallest key; the coordinator merges the shards' keys into the
serial order of the next level, and replays the serial loop over those
summaries (judgements, quiescent worlds, bounds) to decide where the serial
search would have stopped. Hence, for any N, the same verdicts, states,
depth, completeness and the *same* counterexample and witness paths as
:meth:`Explorer.bfs` (tested), bounds included, except ``max_seconds``,
which is wall-clock and is checked between levels.

Costs: a successor whose owner is another shard is pickled and sent once
(a shard does not resend a world it already sent), its strings once per
pair of shards (see :class:`mxsim.sim.shard.Shard`); every level is a
barrier. Measured on superseded-state (14,923 states): one shard in-process
uses the serial CPU time (1.08 s against 1.10 s); two shards use 1.4 times
the serial CPU in all (1.82 s against 1.28 s, on a machine loaded 5 times
over, where two shards took longer in wall time than one: 8.1 s against
5.7 s). So the serial search stays the default.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable

from mxsim.sim.explore import Counterexample, Explorer, Report
from mxsim.sim.shard import Local, Processes, ShardError, owner
from mxsim.sim.world import System

__all__ = ["parallel_bfs", "ShardError"]


def parallel_bfs(
    make_system: Callable[[], System],
    workers: int,
    max_depth: int | None = None,
    max_states: int | None = None,
    max_seconds: float | None = None,
    progress: Callable[[int, float, int], None] | None = None,
) -> Report:
    """:meth:`Explorer.bfs` of ``make_system()`` over ``workers`` shards.

    ``make_system`` builds the system in each worker (it must be picklable
    where processes are spawned rather than forked). The report equals the
    serial one but for ``seconds`` (and a ``max_seconds`` stop).
    """
    ex = Explorer(make_system(), max_depth, max_states, max_seconds)
    pool = Local(make_system) if workers == 1 else Processes(make_system, workers)
    try:
        return _Search(ex, pool, workers, progress).run()
    finally:
        pool.close()


class _Search:
    """The serial loop of :meth:`Explorer.bfs`, replayed over the shards' summaries."""

    def __init__(self, ex: Explorer, pool, workers: int, progress) -> None:
        self.ex, self.pool, self.workers, self.progress = ex, pool, workers, progress
        self.violated: dict[str, bytes] = {}
        self.reached: dict[str, bytes] = {}

    def _all(self, cmd: str, *args) -> list:
        if self.workers == 1:
            return [self.pool.call(cmd, *args)]
        return self.pool.broadcast(cmd, *args)

    def _note(self, fp: bytes, bad: list, hit: list) -> None:
        for name in bad:
            self.violated.setdefault(name, fp)
        for name in hit:
            self.reached.setdefault(name, fp)

    def run(self) -> Report:
        ex, start = self.ex, time.monotonic()
        for judged in self._all("start"):
            for _key, fp, bad, hit in judged:
                self._note(fp, bad, hit)
        states, level, size, deepest, stopped, done = 1, 0, 1, 0, None, False
        while size and not done:
            undecided = {p.name for p in ex.system.properties} - set(self.violated)
            undecided -= set(self.reached)
            replies = self._all("expand", level < ex.max_depth, undecided)
            finals = {f[0]: f for r in replies for f in r["finals"]}
            judged = {j[0]: j for r in replies for j in r["judged"]}
            order = heapq.merge(*[[(k, i) for k in r["keys"]] for i, r in enumerate(replies)])
            children = list(order)
            admitted, c = [], 0
            for pos in range(size):
                if ex._all_decided(self.violated, self.reached):
                    stopped, done = stopped or "all decided", True
                    break
                deepest = level
                if pos in finals:
                    _, has_succ, names, fp = finals[pos]
                    ex.quiescent_judged += 1
                    self._note(fp, names, [])
                    if not has_succ:
                        continue
                if level >= ex.max_depth:
                    stopped = stopped or "max_depth"
                    continue
                while c < len(children) and children[c][0][0] == pos:
                    key = children[c][0]
                    admitted.append(children[c])
                    states += 1
                    c += 1
                    if key in judged:
                        self._note(*judged[key][1:])
                    if states >= ex.max_states:
                        break
                if states >= ex.max_states:
                    stopped, done = "max_states", True
                    break
            if not done and time.monotonic() - start > ex.max_seconds:
                stopped, done = "max_seconds", True
            if not done:
                self._advance(admitted)
            level, size = level + 1, len(admitted)
            if self.progress is not None:
                now = time.monotonic()
                self.progress(states, states / max(now - start, 1e-9), level)
        # The serial loop stops for "all decided" only with worlds left in its queue.
        complete = stopped is None
        return self._report(states, deepest, complete, stopped, time.monotonic() - start)

    def _advance(self, admitted: list) -> None:
        positions: list[list[int]] = [[] for _ in range(self.workers)]
        for pos, (_key, shard) in enumerate(admitted):
            positions[shard].append(pos)
        if self.workers == 1:
            self.pool.call("advance", positions[0])
        else:
            for k in range(self.workers):
                self.pool.send(k, "advance", positions[k])

    def _path(self, fp: bytes) -> list:
        out = []
        while True:
            if self.workers == 1:
                link = self.pool.call("parent", fp)
            else:
                link = self.pool.one(owner(fp, self.workers), "parent", fp)
            if link is None:
                break
            fp, action = link
            out.append(action)
        out.reverse()
        return out

    def _report(self, states, deepest, complete, stopped, seconds) -> Report:
        report = Report(
            verdicts=self.ex._verdicts(self.violated, self.reached, complete),
            states=states,
            depth=deepest,
            complete=complete,
            stopped=None if complete else stopped,
            seconds=seconds,
        )
        for name, f in self.violated.items():
            report.counterexamples.append(Counterexample(name, self._path(f)))
        for name, f in self.reached.items():
            report.witnesses[name] = self._path(f)
        return report
