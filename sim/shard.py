"""One shard of the parallel breadth-first search, and the processes that hold them.

A :class:`Shard` owns the worlds whose fingerprint falls to it (see
:func:`owner`): their parent links, and its part of the current level. It
expands that part, sends each successor to the successor's owner and keeps,
of the new worlds it owns, the link with the smallest key (see
:mod:`mxsim.sim.parallel`). Shards run in processes of their own
(:class:`Processes`), or one in the coordinator's (:class:`Local`).
"""

from __future__ import annotations

import multiprocessing
import signal
import traceback
from collections.abc import Callable
from typing import Any

from mxsim.sim.explore import Explorer
from mxsim.sim.system import System
from mxsim.sim.world import _world

__all__ = ["Shard", "ShardError", "owner", "Local", "Processes"]


def owner(key: int, shards: int) -> int:
    """The shard that keeps the world of ``key`` (keys are sums of uniform digests).

    >>> [owner(k, 3) for k in (0, 7, 2**60 - 1)]
    [0, 1, 0]
    """
    return key % shards


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
        self.parent: dict[int, tuple[int, Any] | None] = {}
        self.sent: set[int] = set()  # worlds this shard already sent to their owner
        self.wire = [_Wire() for _ in range(shards)]  # to shard k; from shard k
        self.frontier: list[tuple[int, Any, int]] = []  # (position, world, key) in order
        self.pending: list[tuple[tuple[int, int], Any, int]] = []  # next level, key order
        self.taken: list[tuple[int, list]] = []  # (position, actions) of the worlds expanded

    def start(self) -> list:
        """Own the initial world if it falls to this shard; its judgement."""
        init, _ = self.system.initial()
        f0 = self.explorer.key(init)
        self.sent.add(f0)
        if owner(f0, self.shards) != self.index:
            return []
        self.parent[f0] = None
        self.frontier = [(0, init, f0)]
        return self._judged([((0, 0), init, f0)], self.explorer.always, self.explorer.sometimes)

    def expand(self, children: bool, undecided: set[str], receive: Callable | None) -> dict:
        """Expand this shard's part of the level; exchange successors; admit the new ones.

        As in :meth:`Explorer._search`, a successor already met is dropped on
        its key alone (``System.peek_key``) unless the explorer's
        ``successors`` or ``key`` is overridden (a reduction).
        """
        ex, system = self.explorer, self.system
        cls = type(ex)
        fast = cls.successors is Explorer.successors and cls.key is Explorer.key
        always = [p for p in ex.always if p.name in undecided]
        eventually = [p for p in ex.eventually if p.name in undecided]
        sometimes = [p for p in ex.sometimes if p.name in undecided]
        finals, self.taken = [], []
        batches: list[list] = [[] for _ in range(self.shards)]
        for pos, world, fp in self.frontier:
            if fast:
                acts, worlds = ex.actions(world), None
            else:
                succ = ex.successors(world)
                acts, worlds = [a for a, _ in succ], [w for _, w in succ]
            if not acts or ex._settled(world):
                view = system.view(world)
                names = [p.name for p in eventually if not p.predicate(view)]
                finals.append((pos, bool(acts), names, fp))
            if not acts or not children:
                continue
            self.taken.append((pos, acts))
            for j, action in enumerate(acts):
                if worlds is None:
                    nxt, f = None, system.peek_key(world, action)
                    if f is None:
                        nxt = system.next(world, action)
                        f = system.key(nxt)
                else:
                    nxt = worlds[j]
                    f = ex.key(nxt)
                if f in self.sent or f in self.parent:
                    continue  # sent before, with a smaller key, or already owned here
                self.sent.add(f)
                if nxt is None:
                    nxt = system.next(world, action)
                batches[owner(f, self.shards)].append(((pos, j), f, fp, action, nxt))
        incoming = [batches[self.index]]
        if children and self.shards > 1:
            for k in range(self.shards):
                if k != self.index:
                    self.send(k, (self.index, self.wire[k].pack(batches[k])))
            for _ in range(self.shards - 1):
                sender, packed = receive()
                incoming.append(self.wire[sender].unpack(packed))
        best: dict[int, tuple] = {}
        for batch in incoming:
            for key, f, pfp, action, nxt in batch:
                if f not in self.parent and (f not in best or key < best[f][0]):
                    best[f] = (key, pfp, action, nxt)
        self.pending = []
        parent = self.parent
        for f in sorted(best, key=lambda f: best[f][0]):  # keys are unique: serial order
            key, pfp, action, nxt = best[f]
            parent[f] = (pfp, action)
            self.pending.append((key, nxt, f))
        return {
            "finals": finals,  # quiescent or final worlds (with or without successors)
            "keys": [k for k, _, _ in self.pending],
            "judged": self._judged(self.pending, always, sometimes),
            "tally": self.tally(None),
        }

    def tally(self, cut: int | None) -> tuple[int, dict[str, int], dict[str, int]]:
        """Transitions, actions by kind and deliveries by node of the worlds this
        shard expanded in the level, those before position ``cut`` (None: all)."""
        transitions, actions, delivered = 0, {}, {}
        for pos, acts in self.taken:
            if cut is not None and pos >= cut:
                break
            transitions += len(acts)
            for a in acts:
                if a[0] == "deliver":
                    delivered[a[1]] = delivered.get(a[1], 0) + 1
                else:
                    actions[a[0]] = actions.get(a[0], 0) + 1
        return transitions, actions, delivered

    def _judged(self, worlds: list, always: list, sometimes: list) -> list:
        """(key, fp, violated, reached) of each world that decides a property."""
        out = []
        if not always and not sometimes:
            return out  # every property decided: nothing to judge (as Explorer._judge)
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
            rest = (w.up, inflight, w.timers, w.workload, w.budget, w._key)
            out.append((key, f, pfp, action, (states, *rest)))
        return fresh, out

    def unpack(self, packed: tuple[list[str], list]) -> list:
        fresh, batch = packed
        texts = self.texts
        texts.extend(fresh)
        out = []
        for key, f, pfp, action, (states, *rest) in batch:
            up, inflight, timers, workload, budget, wkey = rest
            world = _world(
                tuple(texts[c] for c in states),
                up,
                tuple((d, s, texts[c]) for d, s, c in inflight),
                timers,
                workload,
                budget,
                wkey,  # its incremental key travels too: System.key need not recompute it
            )
            out.append((key, f, pfp, action, world))
        return out


# -- the shards' processes -----------------------------------------------------


def _shard_main(make_system, index, shards, conn, inboxes) -> None:
    # Ctrl-C is the coordinator's to handle (it stops between levels, as a
    # bound); a shard killed by it mid-level would take its share with it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
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
            elif cmd == "tally":
                conn.send(("ok", shard.tally(*args)))
            else:
                return
    except BaseException:  # reported to the coordinator, which raises it
        for k, box in enumerate(inboxes):
            if k != index:
                box.put((index, ([], [])))  # so that no shard waits for this one's successors
        conn.send(("error", traceback.format_exc()))


class Local:
    """One shard in this process (N = 1): the same protocol without processes."""

    def __init__(self, make_system) -> None:
        self.shard = Shard(make_system(), 0, 1)

    def call(self, cmd: str, *args) -> Any:
        if cmd == "advance":
            return self.shard.advance(*args)
        if cmd == "parent":
            return self.shard.parent[args[0]]
        if cmd == "tally":
            return self.shard.tally(*args)
        return getattr(self.shard, cmd)(*args, *((None,) if cmd == "expand" else ()))

    def close(self) -> None:
        pass


class Processes:
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
