"""The timed runtime's links: latency samplers, one random stream per directed
link, and the pairs a partition cuts.

Each link's stream is seeded from the run's seed and the link's name, so
adding a node or a link leaves the draws of the others unchanged.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import TYPE_CHECKING

from mxsim.sim.scenario import Fault, Latency

if TYPE_CHECKING:
    from mxsim.sim.system import System

__all__ = ["sampler"]


def sampler(latency: Latency, rng: random.Random) -> Callable[[], int]:
    """A function drawing one latency in microseconds from ``rng``.

    >>> draw = sampler(Latency("uniform", 1000, 2000), random.Random("x"))
    >>> all(1000 <= draw() <= 2000 for _ in range(100))
    True
    """
    a, b = latency.a, latency.b
    if latency.dist == "constant":
        return lambda: a
    if latency.dist == "uniform":
        span = b - a + 1
        rand = rng.random
        return lambda: a + int(rand() * span)
    if latency.dist == "exponential":
        lam = 1.0 / a
        expo = rng.expovariate
        return lambda: int(expo(lam))
    if latency.dist == "lognormal":
        mu, sigma = math.log(a), b / 1e6
        logn = rng.lognormvariate
        return lambda: int(logn(mu, sigma))
    raise ValueError(f"unknown latency distribution {latency.dist!r}")


class _Link:
    __slots__ = ("rng", "draw", "loss", "duplicate", "index")

    def __init__(self, system: System, src: str, dst: str, seed: int) -> None:
        spec = system.scenario.link(src, dst)
        self.index = system.index[dst]
        self.rng = random.Random(f"mxsim/{seed}/link/{src}>{dst}")
        self.draw = sampler(spec.latency, self.rng)
        self.loss = spec.loss
        self.duplicate = spec.duplicate


def _partition_pairs(fault: Fault) -> list[tuple[str, str]]:
    groups = fault.groups
    pairs = []
    for a, ga in enumerate(groups):
        if fault.oneway and a != 0:
            continue
        for b, gb in enumerate(groups):
            if a == b:
                continue
            pairs.extend((x, y) for x in ga for y in gb)
    return pairs
