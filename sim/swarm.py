"""Swarm testing: every random walk draws its own configuration first.

A plain random walk picks uniformly among the enabled actions, so every walk
has the same mix: a fault (drop, duplicate, crash) is about as likely as a
delivery wherever a budget allows it, budgets are spent in the first steps,
and runs that need many steps without a fault, or one node starved, or the
network delivering strictly in order, are rare. Swarm testing (Groce et al.,
"Swarm Testing", ISSTA 2012) varies the mix between walks instead: walk ``i``
first draws a :class:`Swarm` from its own seeded stream, then walks with it.

A configuration says

- how likely a fault of each kind is taken when one is enabled (0 included:
  some walks never drop, duplicate or crash);
- the weight of each kind of progress (an input, a delivery, a timer, a
  restart) against the others;
- a node whose messages are preferred or starved (or none);
- the delivery order: uniformly among the messages in flight, oldest first
  (FIFO-ish) or newest first (the most reordering).

Every draw comes from the walk's stream and depends only on the enabled
actions, so a walk is a function of (scenario, seed, index).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from mxsim.sim.system import System
from mxsim.sim.world import Action, World

__all__ = ["Swarm", "FAULT_RATES", "WEIGHTS", "ORDERS"]

# Rates at which an enabled fault of one kind is taken; 0 twice as likely as
# any other so that a third of the walks run without that fault at all.
FAULT_RATES = (0.0, 0.0, 0.02, 0.1, 0.3, 0.6)
# Relative weights of one kind of progress; 0.1 nearly starves it.
WEIGHTS = (0.1, 1.0, 1.0, 4.0)
ORDERS = ("random", "oldest", "newest")
PROGRESS = ("input", "deliver", "timer", "restart")


@dataclass(frozen=True)
class Swarm:
    """One walk's choice policy.

    >>> import random
    >>> Swarm.draw(random.Random("mxsim/0/walk/0"), ("a", "b")) == Swarm.draw(
    ...     random.Random("mxsim/0/walk/0"), ("a", "b"))
    True
    """

    drop: float
    duplicate: float
    crash: float
    weights: tuple[float, float, float, float]  # input, deliver, timer, restart
    favour: str | None  # a node whose messages (to or from it) are weighted
    favour_weight: float  # > 1 prefers, < 1 starves
    order: str  # one of ORDERS

    @classmethod
    def draw(cls, rng: random.Random, names: tuple[str, ...]) -> Swarm:
        """A configuration from the walk's stream (a fixed number of draws' order)."""
        drop, dup, crash = (rng.choice(FAULT_RATES) for _ in range(3))
        weights = tuple(rng.choice(WEIGHTS) for _ in PROGRESS)
        favour = rng.choice((None, *names))
        favour_weight = rng.choice((0.1, 5.0))
        order = rng.choice(ORDERS)
        return cls(drop, dup, crash, weights, favour, favour_weight, order)  # type: ignore[arg-type]

    def describe(self) -> dict:
        return {
            "drop": self.drop,
            "duplicate": self.duplicate,
            "crash": self.crash,
            "weights": dict(zip(PROGRESS, self.weights, strict=True)),
            "favour": self.favour,
            "favour_weight": self.favour_weight,
            "order": self.order,
        }

    def choose(
        self, system: System, world: World, acts: list[Action], ages: dict, rng: random.Random
    ) -> Action:
        """One of ``acts``; ``ages`` maps an in-flight entry to when it was sent."""
        faults: dict[str, list[Action]] = {"drop": [], "duplicate": [], "crash": []}
        progress: list[Action] = []
        for a in acts:
            kind = a[0]
            # A drop to a node that is down is the network's only option, not a fault.
            if kind == "drop" and not world.up[system.index[a[1]]]:
                progress.append(a)
            elif kind in faults:
                faults[kind].append(a)
            else:
                progress.append(a)
        rates = (("drop", self.drop), ("duplicate", self.duplicate), ("crash", self.crash))
        for kind, rate in rates:
            if faults[kind] and rng.random() < rate:
                return faults[kind][rng.randrange(len(faults[kind]))]
        if not progress:
            return acts[rng.randrange(len(acts))]
        if self.order != "random":
            progress = self._ordered(progress, ages)
        weights = [self._weight(a) for a in progress]
        return rng.choices(progress, weights)[0]

    def _weight(self, a: Action) -> float:
        kind = a[0]
        w = self.weights[PROGRESS.index("deliver" if kind == "drop" else kind)]
        if self.favour is not None and self.favour in _nodes_of(a):
            w *= self.favour_weight
        return w

    def _ordered(self, progress: list[Action], ages: dict) -> list[Action]:
        """Keep only the oldest (or newest) message in flight among the deliveries."""
        msgs = [a for a in progress if a[0] in ("deliver", "drop")]
        if len(msgs) < 2:
            return progress
        pick = min if self.order == "oldest" else max
        chosen = pick(msgs, key=lambda a: (ages.get(a[1:], 0), a))
        return [a for a in progress if a[0] not in ("deliver", "drop")] + [chosen]


def _nodes_of(a: Action) -> tuple:
    """The nodes an action concerns: for a message, its destination and source."""
    if a[0] in ("deliver", "drop", "duplicate"):
        return (a[1], a[2])
    if a[0] == "input":
        return ()
    return (a[1],)
