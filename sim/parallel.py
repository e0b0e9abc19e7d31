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
(a shard does not resend a world it already sent); on few cores and small
state spaces that costs more than it saves (figures in the closing report
of issue 9), so the serial search stays the default.
"""

from __future__ import annotations

import heapq
import multiprocessing
import time
import traceback
from collections.abc import Callable
from typing import Any

from mxsim.sim.explore import Counterexample, Explorer, Report
from mxsim.sim.world import System, World

__all__ = ["parallel_bfs", "Shard", "ShardError", "owner"]


def owner(fp: bytes, shards: int) -> int:
    """The shard that keeps world ``fp`` (fingerprints are uniform hashes).

    >>> owner(bytes(15) + b"\\x07", 3)
    1
    """
    return int.from_bytes(fp[-8:], "big") % shards


class ShardError(RuntimeError):
    """A shard's process failed (a bug in a model or the engine); ``details`` has its traceback."""

    def __init__(self, details: str) -> None:
        super().__init__(f"a search shard failed: {details.strip().splitlines()[-1]}")
        self.details = details


class Shard:
    """One share of the search: the visited worlds it owns and its part of a level."""

    def __init__(self, system: System, index: int, shards: int, send: Callable | None = None):
        self.explorer = Explorer(system)
        self.system = system
        self.index = index
        self.shards = shards
        self.send = send  # (shard, batch) -> None; None when alone
        self.parent: dict[bytes, tuple[bytes, Any] | None] = {}
        self.sent: set[bytes] = set()  # worlds this shard already sent to their owner
        self.wire = [_Wire() for _ in range(shards)]  # to shard k; from shard k
        self.frontier: list[tuple[int, Any, bytes]] = []  # (position, world, fp) in order
        self.pending: list[tuple[tuple[int, int], Any, bytes]] = []  # next level, key order

    def start(self) -> list:
        """Own the initial world if it falls to this shard; its judgement."""
        init, _ = self.system.initial()
        f0 = self.system.fingerprint(init)
        self.sent.add(f0)
        if owner(f0, self.shards) != self.index:
            return []
        self.parent[f0] = None
        self.frontier = [(0, init, f0)]
        return self._judged([((0, 0), init, f0)], self.explorer.always, self.explorer.sometimes)

    def expand(self, children: bool, undecided: set[str], receive: Callable | None) -> dict:
        """Expand this shard's part of the level; exchange successors; admit the new ones."""
        ex = self.explorer
        always = [p for p in ex.always if p.name in undecided]
        eventually = [p for p in ex.eventually if p.name in undecided]
        sometimes = [p for p in ex.sometimes if p.name in undecided]
        finals = []
        batches: list[list] = [[] for _ in range(self.shards)]
        for pos, world, fp in self.frontier:
            succ = ex.successors(world)
            if not succ or ex._settled(world):
                view = self.system.view(world)
                names = [p.name for p in eventually if not p.predicate(view)]
                finals.append((pos, bool(succ), names, fp))
            if not succ or not children:
                continue
            for j, (action, nxt) in enumerate(succ):
                f = self.system.fingerprint(nxt)
                if f in self.sent:
                    continue  # sent before, with a smaller key: the owner has it
                self.sent.add(f)
                batches[owner(f, self.shards)].append(((pos, j), f, fp, action, nxt))
        incoming = [batches[self.index]]
        if children and self.shards > 1:
            for k in range(self.shards):
                if k != self.index:
                    self.send(k, (self.index, self.wire[k].pack(batches[k])))
            for _ in range(self.shards - 1):
                sender, packed = receive()
                incoming.append(self.wire[sender].unpack(packed))
        best: dict[bytes, tuple] = {}
        for batch in incoming:
            for key, f, pfp, action, nxt in batch:
                if f not in self.parent and (f not in best or key < best[f][0]):
                    best[f] = (key, pfp, action, nxt)
        new = sorted((v[0], f, v[1], v[2], v[3]) for f, v in best.items())
        self.pending = []
        for key, f, pfp, action, nxt in new:
            self.parent[f] = (pfp, action)
            self.pending.append((key, nxt, f))
        return {
            "finals": finals,  # quiescent or final worlds (with or without successors)
            "keys": [k for k, _, _ in self.pending],
            "judged": self._judged(self.pending, always, sometimes),
        }

    def _judged(self, worlds: list, always: list, sometimes: list) -> list:
        """(key, fp, violated, reached) of each world that decides a property."""
        out = []
        for key, world, fp in worlds:
            view = self.system.view(world)
            bad = [p.name for p in always if not p.predicate(view)]
            hit = [p.name for p in sometimes if p.predicate(view)]
            if bad or hit:
                out.append((key, fp, bad, hit))
        return out

    def advance(self, positions: list[int]) -> None:
        """The next level: this shard's new worlds at their serial positions."""
        self.frontier = [
            (pos, w, f) for pos, (_, w, f) in zip(positions, self.pending, strict=False)
        ]
        self.pending = []


class _Wire:
    """Worlds sent between two shards, their strings sent once.

    Node states and messages (canonical JSON) recur in many worlds, so each
    direction keeps a table: a string's first batch carries its text, later
    ones its number. Batches between two shards arrive in the order they
    were sent, so both ends number the strings alike. The receiver thus
    also shares one string object per text, as the serial search does.
    """

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}  # sending end
        self.texts: list[str] = []  # receiving end

    def pack(self, batch: list) -> tuple[list[str], list]:
        codes, fresh = self.codes, []

        def code(text: str) -> int:
            c = codes.get(text)
            if c is None:
                c = codes[text] = len(codes)
                fresh.append(text)
            return c

        out = []
        for key, f, pfp, action, w in batch:
            states = tuple(code(t) for t in w.states)
            inflight = tuple((d, s, code(m)) for d, s, m in w.inflight)
            out.append(
                (key, f, pfp, action, (states, w.up, inflight, w.timers, w.workload, w.budget))
            )
        return fresh, out

    def unpack(self, packed: tuple[list[str], list]) -> list:
        fresh, batch = packed
        texts = self.texts
        texts.extend(fresh)
        out = []
        for key, f, pfp, action, (states, up, inflight, timers, workload, budget) in batch:
            world = World(
                states=tuple(texts[c] for c in states),
                up=up,
                inflight=tuple((d, s, texts[c]) for d, s, c in inflight),
                timers=timers,
                workload=workload,
                budget=budget,
            )
            out.append((key, f, pfp, action, world))
        return out


# -- the shards' processes -----------------------------------------------------


def _shard_main(make_system, index, shards, conn, inboxes) -> None:
    try:
        inbox = inboxes[index]
        shard = Shard(make_system(), index, shards, lambda k, batch: inboxes[k].put(batch))
        while True:
            cmd, *args = conn.recv()
            if cmd == "start":
                conn.send(("ok", shard.start()))
            elif cmd == "expand":
                conn.send(("ok", shard.expand(*args, inbox.get)))
            elif cmd == "advance":
                shard.advance(*args)
            elif cmd == "parent":
                conn.send(("ok", shard.parent[args[0]]))
            else:
                return
    except BaseException:  # reported to the coordinator, which raises it
        for k, box in enumerate(inboxes):
            if k != index:
                box.put((index, ([], [])))  # so that no shard waits for this one's successors
        conn.send(("error", traceback.format_exc()))


class _Local:
    """One shard in this process (N = 1): the same protocol without processes."""

    def __init__(self, make_system) -> None:
        self.shard = Shard(make_system(), 0, 1)

    def call(self, cmd: str, *args) -> Any:
        if cmd == "advance":
            return self.shard.advance(*args)
        if cmd == "parent":
            return self.shard.parent[args[0]]
        return getattr(self.shard, cmd)(*args, *((None,) if cmd == "expand" else ()))

    def close(self) -> None:
        pass


class _Processes:
    def __init__(self, make_system, shards: int) -> None:
        ctx = multiprocessing.get_context()
        inboxes = [ctx.Queue() for _ in range(shards)]
        self.conns, self.procs = [], []
        for i in range(shards):
            mine, theirs = ctx.Pipe()
            p = ctx.Process(target=_shard_main, args=(make_system, i, shards, theirs, inboxes))
            p.daemon = True
            p.start()
            self.conns.append(mine)
            self.procs.append(p)

    def broadcast(self, cmd: str, *args) -> list:
        for c in self.conns:
            c.send((cmd, *args))
        return [self._reply(c) for c in self.conns]

    def one(self, k: int, cmd: str, *args) -> Any:
        self.conns[k].send((cmd, *args))
        return self._reply(self.conns[k])

    def send(self, k: int, cmd: str, *args) -> None:
        self.conns[k].send((cmd, *args))

    @staticmethod
    def _reply(conn) -> Any:
        status, value = conn.recv()
        if status == "error":
            raise ShardError(value)
        return value

    def close(self) -> None:
        for c, p in zip(self.conns, self.procs, strict=True):
            try:
                c.send(("stop",))
            except OSError:
                pass
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
                p.join()


# -- the coordinator -------------------------------------------------------------


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
    pool = _Local(make_system) if workers == 1 else _Processes(make_system, workers)
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
