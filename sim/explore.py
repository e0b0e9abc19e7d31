"""The exhaustive runtime: breadth-first search over worlds.

Time is abstracted away: in each world any in-flight message may be
delivered next, any armed timer may fire (or, with ``timers = "idle"``, only
when nothing is in flight), and within the scenario's budgets a message may
be dropped or duplicated and a node may crash. Worlds are deduplicated by
fingerprint; breadth-first order makes the first counterexample found for
each property a shortest one.

Successors come from :meth:`Explorer.successors`, the one place a state-space
reduction (partial order, symmetry) would plug in. Random walks are in
:mod:`mxsim.sim.walks`, shrinking in :mod:`mxsim.sim.shrink`, lassos in
:mod:`mxsim.sim.liveness`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from mxsim.sim.checkpoint import Checkpoint
from mxsim.sim.explore_report import Judging, Report
from mxsim.sim.interrupt import stop_on_interrupt
from mxsim.sim.progress import Memory, Progress, progress_printer
from mxsim.sim.reduce import Reduction
from mxsim.sim.search import Search
from mxsim.sim.system import System
from mxsim.sim.world import Action, World

__all__ = ["Explorer", "progress_printer"]


class Explorer(Judging):
    """Explores the worlds of ``system`` within its scenario's bounds."""

    def __init__(
        self,
        system: System,
        max_depth: int | None = None,
        max_states: int | None = None,
        max_seconds: float | None = None,
        progress: Callable[[Progress], None] | None = None,
        reduce: str = "none",
    ) -> None:
        c = system.scenario.check
        self.system = system
        self.max_depth = c.max_depth if max_depth is None else max_depth
        self.max_states = c.max_states if max_states is None else max_states
        self.max_seconds = c.max_seconds if max_seconds is None else max_seconds
        self.progress = progress
        props = system.properties
        self.always = [p for p in props if p.kind == "always"]
        self.eventually = [p for p in props if p.kind == "eventually"]
        self.sometimes = [p for p in props if p.kind == "sometimes"]
        self.quiescent_judged = 0
        self.torn = False  # a KeyboardInterrupt hit mid-step: no checkpoint of it
        self.progress_every = 0.25  # seconds between progress calls (and memory samples)
        # State-space reductions (sim/reduce.py): "none", "por", "symmetry", "both".
        # A reduction's successors are canonical worlds (representatives);
        # paths found among them are mapped back to the real system.
        self.reduction = None if reduce == "none" else Reduction(system, reduce, self._seen)
        if self.reduction is not None and not self.reduction.active:
            self.reduction = None
        self._search_state: Search | None = None

    def _seen(self, world: World) -> bool:
        """Whether the running search has met ``world`` (the cycle proviso asks)."""
        search = self._search_state
        return search is not None and self.system.key(world) in search.seen

    def actions(self, world: World) -> list[Action]:
        """The actions the search takes in ``world``: all enabled ones.

        A reduction that only prunes actions (a persistent set) overrides
        this and keeps the search's fast path.
        """
        return self.system.enabled(world)

    def successors(self, world: World) -> list[tuple[Action, World]]:
        """Every (action, next world) of ``world``, in a fixed order.

        The search takes its steps from here (or, unless this or
        :meth:`key` is overridden, from :meth:`actions` with the same
        worlds built only when new); a path is stored as positions in this
        list and rebuilt by calling it again, so it must be a pure function
        of the world.
        """
        if self.reduction is not None:
            return self.reduction.successors(world)
        step = self.system.next
        return [(a, step(world, a)) for a in self.actions(world)]

    def key(self, world: World) -> int:
        """The key under which the search deduplicates ``world`` (sim.fingerprint).

        The one place to canonicalise a world first (symmetry reduction).
        """
        return self.system.key(world)

    # -- breadth-first search ------------------------------------------------

    def bfs(self, checkpoint: Checkpoint | None = None) -> Report:
        """Breadth-first search to the bounds; resumes from ``checkpoint`` if it holds one.

        Ctrl-C stops it like a bound (``stopped`` is "interrupted") and the
        report holds what was found so far.
        """
        system = self.system
        start = time.monotonic()
        real, _ = system.initial()
        init = real if self.reduction is None else self.reduction.root(real)
        if checkpoint is not None and self.reduction is not None and self.reduction.por:
            raise ValueError("a checkpoint cannot hold the choices of partial-order reduction")
        search = checkpoint.load() if checkpoint is not None else None
        self._search_state = search
        if search is None:
            search = Search.start(self.key(init))
            self._judge(init, 0, search.violated, search.reached)
            search.frontier.append(init)
            self._search_state = search
        first_states = search.states
        memory = Memory(search)
        with stop_on_interrupt() as flag:
            stopped = self._search(search, start, flag, checkpoint, memory)
            seconds = search.seconds + time.monotonic() - start
            used = memory.finish(first_states)  # before the save's own buffers
            if checkpoint is not None and not self.torn:
                # Inside the block: a Ctrl-C now only raises the flag, so the
                # save completes and the report is still printed.
                search.seconds = seconds
                checkpoint.save(search)
        report = self._report(init, search, stopped, seconds, used)
        if self.reduction is not None:
            for c in report.counterexamples:
                c.actions = self.reduction.concrete(real, c.actions)
            for name, actions in report.witnesses.items():
                report.witnesses[name] = self.reduction.concrete(real, actions)
        return report

    def _search(self, search: Search, start: float, flag, checkpoint, memory) -> str | None:
        """Run the search loop; the reason it stopped (None: the frontier ran dry)."""
        key, successors, judge = self.key, self.successors, self._judge
        system = self.system
        actions_of, step, peek, system_key = self.actions, system.next, system.peek_key, system.key
        # A subclass that replaces successors() or key() (a reduction) gets them
        # called; otherwise successors are built only when their key is new.
        cls = type(self)
        fast = (
            self.reduction is None
            and cls.successors is Explorer.successors
            and cls.key is Explorer.key
        )
        settled = self._settled
        seen, frontier = search.seen, search.frontier
        violated, reached = search.violated, search.reached
        actions, delivered = search.actions, search.delivered
        max_depth, max_states = self.max_depth, self.max_states
        decided = len(violated) + len(reached)
        if self._all_decided(violated, reached):
            return "all decided"  # e.g. the initial world already violates everything
        last_report = last_save = time.monotonic()
        try:
            while frontier:
                if search.states >= max_states:
                    return "max_states"
                # Checked before each world, so that a decision made while
                # judging a quiescent world (which `continue`s) stops it too.
                if len(violated) + len(reached) != decided:
                    decided = len(violated) + len(reached)
                    if self._all_decided(violated, reached):
                        return "all decided"
                world = frontier.popleft()
                n = search.expanded
                depth = search.depth_of(n)
                search.depth = depth
                # Fix (from the per-property traces work): a world violating one
                # property is expanded like any other while another property is
                # undecided: the shortest path to a violation of B may pass
                # through a world that violates A, and skipping it made B's
                # counterexample longer, or B "hold".
                if fast:
                    acts, worlds = actions_of(world), None
                else:
                    succ = successors(world)
                    acts, worlds = [a for a, _ in succ], [w for _, w in succ]
                taken = search.partial
                if not taken:
                    # Fix: judge ``eventually`` in every quiescent world, not only
                    # in worlds without successors. A crash budget left unspent
                    # keeps ("crash", n) enabled, so the run that never crashes
                    # used to end in no judged world and its violations went
                    # unreported.
                    if not acts or settled(world):
                        search.quiescent += 1
                        self._judge_final(world, n, violated)
                        if not acts:
                            search.expanded += 1
                            continue
                    if depth >= max_depth:
                        search.depth_cut = True
                        search.expanded += 1
                        continue
                    search.transitions += len(acts)
                    for a in acts:
                        if a[0] == "deliver":
                            delivered[a[1]] = delivered.get(a[1], 0) + 1
                        else:
                            actions[a[0]] = actions.get(a[0], 0) + 1
                full = False
                for j in range(taken, len(acts)):
                    if worlds is None:
                        # A successor already seen is dropped on its key alone.
                        nxt = None
                        f = peek(world, acts[j])
                        if f is None:
                            nxt = step(world, acts[j])
                            f = system_key(nxt)
                    else:
                        nxt = worlds[j]
                        f = key(nxt)
                    if f in seen:
                        continue
                    if nxt is None:
                        nxt = step(world, acts[j])
                    m = search.admit(f, n, j)
                    judge(nxt, m, violated, reached)
                    frontier.append(nxt)
                    if m + 1 >= max_states:
                        full = j + 1 < len(acts)
                        if full:  # the bound is exact: the rest of this world waits
                            frontier.appendleft(world)
                            search.partial = j + 1
                        break
                if not full:
                    search.expanded += 1
                    search.partial = 0
                if search.states >= max_states:
                    return "max_states"
                if flag.raised:
                    return "interrupted"
                now = time.monotonic()
                if now - start > self.max_seconds:
                    return "max_seconds"
                if now - last_report >= self.progress_every:
                    last_report = now
                    memory.sample()
                    if self.progress is not None:
                        self.progress(self._progress(search, now - start, memory))
                if checkpoint is not None and now - last_save >= checkpoint.every:
                    last_save = now
                    search.seconds += now - start
                    checkpoint.save(search)
                    search.seconds -= now - start
        except KeyboardInterrupt:
            # A second Ctrl-C, or no handler: the tables may be mid-update, so
            # report what was found but save no checkpoint of it.
            self.torn = True
            return "interrupted"
        return None

    def _progress(self, search: Search, elapsed: float, memory: Memory) -> Progress:
        return Progress(
            elapsed=search.seconds + elapsed,
            max_seconds=self.max_seconds,
            states=search.states,
            max_states=self.max_states,
            rate=(search.states - memory.first_states) / max(elapsed, 1e-9),
            depth=search.depth,
            max_depth=self.max_depth,
            violations=len(search.violated),
            memory=memory.peak,
        )

    def walks(self, walks: int, seed: int, first: int = 0):
        """Plain random walks, kept for old callers: see :mod:`mxsim.sim.walks`."""
        from mxsim.sim.walks import walks as run

        return run(self.system, walks, seed, first, self.max_depth, self.max_seconds, swarm=False)
