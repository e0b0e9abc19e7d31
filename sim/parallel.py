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
pair of shards (see ``_Wire`` in :mod:`mxsim.sim.shard`); every level is a
barrier; and the bookkeeping (keys, the coordinator's replay of the loop)
costs about as much per world as the fast serial search itself. Measured
on a 2-core machine loaded 3 to 5 times over (CPU seconds, all processes):
rejected-event (54,707 states) serial 1.4-1.8, one shard in-process 2.3-2.9,
two shards 6.2; superseded-state (14,923) serial 0.48, two shards 1.47, and
two shards took 3.1 s of wall time against 0.95. So the serial search stays
the default; the split pays only where one core's memory or time is short.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable

from mxsim.sim.coverage import coverage
from mxsim.sim.explore import Explorer
from mxsim.sim.explore_report import Counterexample, Report
from mxsim.sim.interrupt import stop_on_interrupt
from mxsim.sim.progress import Progress, rss_bytes
from mxsim.sim.shard import Local, Processes, ShardError, owner
from mxsim.sim.system import System

__all__ = ["parallel_bfs", "ShardError"]


def parallel_bfs(
    make_system: Callable[[], System],
    workers: int,
    max_depth: int | None = None,
    max_states: int | None = None,
    max_seconds: float | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> Report:
    """:meth:`Explorer.bfs` of ``make_system()`` over ``workers`` shards.

    ``make_system`` builds the system in each worker (it must be picklable
    where processes are spawned rather than forked). The report equals the
    serial one but for ``seconds``, ``memory`` (left empty: it is spread over
    processes) and a ``max_seconds`` or Ctrl-C stop, which come between levels.
    """
    ex = Explorer(make_system(), max_depth, max_states, max_seconds)
    pool = Local(make_system) if workers == 1 else Processes(make_system, workers)
    try:
        with stop_on_interrupt() as flag:
            return _Search(ex, pool, workers, progress, flag).run()
    finally:
        pool.close()


class _Tally:
    """What :func:`sim.coverage.coverage` reads of a search, summed over the shards."""

    def __init__(self) -> None:
        self.transitions = 0
        self.actions: dict[str, int] = {}
        self.delivered: dict[str, int] = {}
        self.reached: dict[str, int] = {}  # guard -> depth of its first witness

    def add(self, tally: tuple[int, dict, dict]) -> None:
        transitions, actions, delivered = tally
        self.transitions += transitions
        for mine, theirs in ((self.actions, actions), (self.delivered, delivered)):
            for k, v in theirs.items():
                mine[k] = mine.get(k, 0) + v

    @staticmethod
    def depth_of(depth: int) -> int:
        return depth


class _Search:
    """The serial loop of :meth:`Explorer.bfs`, replayed over the shards' summaries."""

    def __init__(self, ex: Explorer, pool, workers: int, progress, flag) -> None:
        self.ex, self.pool, self.workers, self.progress, self.flag = (
            ex,
            pool,
            workers,
            progress,
            flag,
        )
        self.violated: dict[str, int] = {}
        self.reached: dict[str, int] = {}
        self.tally = _Tally()

    def _all(self, cmd: str, *args) -> list:
        if self.workers == 1:
            return [self.pool.call(cmd, *args)]
        return self.pool.broadcast(cmd, *args)

    def _note(self, key: int, bad: list, hit: list, depth: int) -> None:
        for name in bad:
            self.violated.setdefault(name, key)
        for name in hit:
            if name not in self.reached:
                self.reached[name] = key
                self.tally.reached[name] = depth

    def run(self) -> Report:
        ex, start = self.ex, time.monotonic()
        for judged in self._all("start"):
            for _key, f, bad, hit in judged:
                self._note(f, bad, hit, 0)
        states, level, size, deepest, quiescent = 1, 0, 1, 0, 0
        stopped, depth_cut, last = None, False, start
        if ex._all_decided(self.violated, self.reached):
            stopped = "all decided"  # e.g. the initial world already violates everything
        while size and stopped is None:
            undecided = {p.name for p in ex.system.properties} - set(self.violated)
            undecided -= set(self.reached)
            replies = self._all("expand", level < ex.max_depth, undecided)
            finals = {f[0]: f for r in replies for f in r["finals"]}
            judged = {j[0]: j for r in replies for j in r["judged"]}
            order = heapq.merge(*[[(k, i) for k in r["keys"]] for i, r in enumerate(replies)])
            children = list(order)
            admitted, c, cut = [], 0, size
            for pos in range(size):
                if states >= ex.max_states:
                    stopped, cut = "max_states", pos
                    break
                if ex._all_decided(self.violated, self.reached):
                    stopped, cut = "all decided", pos
                    break
                deepest = level
                if pos in finals:
                    _, has_succ, names, f = finals[pos]
                    quiescent += 1
                    self._note(f, names, [], level)
                    if not has_succ:
                        continue
                if level >= ex.max_depth:
                    depth_cut = True
                    continue
                while c < len(children) and children[c][0][0] == pos:
                    key = children[c][0]
                    admitted.append(children[c])
                    states += 1
                    c += 1
                    if key in judged:
                        self._note(*judged[key][1:], level + 1)
                    if states >= ex.max_states:
                        break
                if states >= ex.max_states:
                    stopped, cut = "max_states", pos + 1
                    break
            if cut == size:
                for r in replies:
                    self.tally.add(r["tally"])
            else:  # the serial search stopped inside this level
                for t in self._all("tally", cut):
                    self.tally.add(t)
            now = time.monotonic()
            if stopped is None and self.flag.raised:
                stopped = "interrupted"
            elif stopped is None and now - start > ex.max_seconds:
                stopped = "max_seconds"
            if stopped is None:
                self._advance(admitted)
            level, size = level + 1, len(admitted)
            if self.progress is not None and now - last >= 0.25:
                last = now
                self.progress(self._progress(now - start, states, deepest))
        ex.quiescent_judged = quiescent
        if stopped is None and depth_cut:
            stopped = "max_depth"
        # The serial loop stops for "all decided" only with worlds left in its queue.
        complete = stopped is None
        return self._report(states, deepest, complete, stopped, time.monotonic() - start)

    def _progress(self, elapsed: float, states: int, depth: int) -> Progress:
        ex = self.ex
        return Progress(
            elapsed=elapsed,
            max_seconds=ex.max_seconds,
            states=states,
            max_states=ex.max_states,
            rate=states / max(elapsed, 1e-9),
            depth=depth,
            max_depth=ex.max_depth,
            violations=len(self.violated),
            memory=rss_bytes(),  # the coordinator's; the shards hold the visited sets
        )

    def _advance(self, admitted: list) -> None:
        positions: list[list[int]] = [[] for _ in range(self.workers)]
        for pos, (_key, shard) in enumerate(admitted):
            positions[shard].append(pos)
        if self.workers == 1:
            self.pool.call("advance", positions[0])
        else:
            for k in range(self.workers):
                self.pool.send(k, "advance", positions[k])

    def _path(self, fp: int) -> list:
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
        ex = self.ex
        report = Report(
            verdicts=ex._verdicts(self.violated, self.reached, complete),
            states=states,
            depth=deepest,
            complete=complete,
            stopped=None if complete else stopped,
            seconds=seconds,
            transitions=self.tally.transitions,
            stop_reason="complete" if complete else stopped,
            coverage=coverage(ex.system, self.tally, ex.sometimes),
        )
        for name, f in self.violated.items():
            report.counterexamples.append(Counterexample(name, self._path(f)))
        for name, f in self.reached.items():
            report.witnesses[name] = self._path(f)
        return report
