"""A scenario's ``[network]`` and ``[[faults]]``: links, latencies, partitions, crashes."""

from __future__ import annotations

from mxsim.sim.scenario import Fault, Latency, Link, ScenarioError
from mxsim.sim.scenario_reader import (
    _ARRAY,
    _BOOL,
    _NUMBER,
    _STR,
    _node_ref,
    _one_of,
    _Reader,
    _scaled,
)


def _network(r: _Reader, names: tuple[str, ...]) -> tuple[Link, dict[tuple[str, str], Link]]:
    r.only("latency", "loss", "duplicate", "links")
    default = _link(r, Link())
    links: dict[tuple[str, str], Link] = {}
    set_by: dict[tuple[str, str], str] = {}
    for lr in r.array("links"):
        lr.only("src", "dst", "both", "latency", "loss", "duplicate")
        src = _node_ref(lr, "src", names)
        dst = _node_ref(lr, "dst", names)
        pairs = [(src, dst)]
        if lr.opt("both", _BOOL, False) and dst != src:
            pairs.append((dst, src))
        link = _link(lr, default)
        for pair in pairs:
            # Two overrides of one link would silently shadow each other.
            if pair in set_by:
                expected = f"at most one override per directed link (also set by {set_by[pair]})"
                raise ScenarioError(lr.source, lr.path, expected, f"{pair[0]} -> {pair[1]}")
            set_by[pair] = lr.path
            links[pair] = link
    return default, links


def _link(r: _Reader, inherit: Link) -> Link:
    """The latency/loss/duplicate keys of ``r``; missing ones come from ``inherit``."""
    latency = inherit.latency
    if r.has("latency"):
        latency = _latency(r.table("latency"))
    return Link(
        latency=latency,
        loss=r.fraction("loss", inherit.loss),
        duplicate=r.fraction("duplicate", inherit.duplicate),
    )


_DISTS = {
    "constant": ("ms",),
    "uniform": ("low", "high"),
    "exponential": ("mean",),
    "lognormal": ("median", "sigma"),
}


def _latency(r: _Reader) -> Latency:
    dist = r.req("dist", _STR)
    if dist not in _DISTS:
        r.fail("dist", _one_of(_DISTS), dist)
    r.only("dist", *_DISTS[dist])
    if dist == "constant":
        return Latency("constant", a=r.ms("ms"))
    if dist == "uniform":
        low, high = r.ms("low"), r.ms("high")
        if low > high:
            r.fail("high", f"a number of milliseconds >= low ({r.data['low']!r})", r.data["high"])
        return Latency("uniform", a=low, b=high)
    if dist == "exponential":
        return Latency("exponential", a=r.ms("mean", positive=True))
    sigma = r.req("sigma", _NUMBER)
    millionths = _scaled(sigma, 1_000_000)
    if millionths is None or millionths < 0:
        r.fail("sigma", "a finite number >= 0", sigma)
    return Latency("lognormal", a=r.ms("median", positive=True), b=millionths)


def _fault(r: _Reader, names: tuple[str, ...]) -> Fault:
    kind = r.req("kind", _STR)
    if kind == "partition":
        r.only("kind", "at", "heal", "groups", "oneway")
        at = r.ms("at")
        return Fault(
            "partition",
            at=at,
            until=_after(r, "heal", at),
            groups=_groups(r, names),
            oneway=r.opt("oneway", _BOOL, False),
        )
    if kind == "crash":
        r.only("kind", "node", "at", "restart")
        at = r.ms("at")
        node = _node_ref(r, "node", names)
        return Fault("crash", at=at, until=_after(r, "restart", at), node=node)
    r.fail("kind", _one_of(("partition", "crash")), kind)


def _after(r: _Reader, key: str, at: int) -> int | None:
    """Optional time ``key`` that must come strictly after ``at`` (µs)."""
    if not r.has(key):
        return None
    t = r.ms(key)
    if t <= at:
        r.fail(key, f"a time after at ({r.data['at']!r} ms)", r.data[key])
    return t


def _groups(r: _Reader, names: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    expected = "an array of at least 2 non-empty arrays of node names"
    groups = r.req("groups", _ARRAY)
    if len(groups) < 2:
        r.fail("groups", expected, groups)
    where: dict[str, str] = {}
    result = []
    for g, group in enumerate(groups):
        path = f"{r.at('groups')}[{g}]"
        if not isinstance(group, list) or not group:
            raise ScenarioError(r.source, path, "a non-empty array of node names", group)
        for k, name in enumerate(group):
            at = f"{path}[{k}]"
            if not isinstance(name, str) or name not in names:
                raise ScenarioError(r.source, at, "a node name, " + _one_of(names), name)
            # A node in two groups would be both cut off from and joined to them.
            if name in where:
                raise ScenarioError(r.source, at, f"a node not already in {where[name]}", name)
            where[name] = at
        result.append(tuple(group))
    return tuple(result)
