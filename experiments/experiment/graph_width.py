"""``mxsim experiment graph-width``: how wide a room's event graph grows, with and
without merging its forward extremities.

Events "arrive late and out of order" (proposal, "Message Events Ordering
Notes"), so the room's graph forks: a server holds one forward extremity per
server whose latest event it has and no event it has builds on. Each point
is one timed run of :func:`room`: S servers, one user each, every user
sending messages (Poisson, ``RATE`` a second) for ``SEND_MS``, over links of
median latency ``latency_ms``, with switch ``merge_extremities`` ``off`` or
``dummy`` (a server holding more than 10 forward extremities, Synapse's
threshold, sends a dummy event built on all of them ``PERIOD_MS`` later:
:mod:`mxsim.models.homeserver.extremities`).

:class:`Width` looks at every server after every step: the width of its
graph, its largest value, its mean over the sending period (weighted by
time), what it holds once the run settles, and the mean over the servers in
``BIN_MS`` bins for the figure over time. :func:`check` refuses data that
contradicts the bounds: no server ever holds more extremities than there
are servers (each server's events, dummy ones too, are built on its
previous one, so at most one of them is a tip anywhere); with merging,
every run settles (no storm of dummy events) with no server above the
threshold; and without merging the sweep must pass the threshold
somewhere, or the comparison says nothing.
"""

from __future__ import annotations

import random
import statistics
from typing import Any

from mxsim.experiments.experiment import figures
from mxsim.experiments.experiment.base import Experiment, ExperimentError, Point, Row
from mxsim.models.homeserver.extremities import THRESHOLD
from mxsim.sim.system import System
from mxsim.sim.timed import TimedRun
from mxsim.sim.verdict import PathJudge

__all__ = ["EXPERIMENT", "room", "Width", "points", "measure", "check"]

ROOM = "!r:hs1"
MERGES = ("off", "dummy")
SERVERS = (2, 5, 10, 20, 30)
LATENCIES = (10, 50, 200)
QUICK_SERVERS, QUICK_LATENCIES = (4, 16), (10, 200)
SEEDS, QUICK_SEEDS = 3, 1
RATE = 5  # messages a second per user
SEND_MS = 2000  # users send for this long (from 0)
BIN_MS = 50  # the figure over time: the mean width per bin
#: From passing the threshold to merging (ms): Synapse looks every five minutes
#: in rooms busy for hours; the period is scaled to this sweep's 2-second burst.
PERIOD_MS = 500
#: The run the figure over time shows: the most servers and latency of the sweep.
COLOURS = {"off": "tab:red", "dummy": "tab:blue"}
STYLES = {10: ":", 50: "--", 200: "-", 4: ":", 16: "-"}


def room(
    servers: int,
    latency_ms: float,
    seed: int,
    period_ms: float = PERIOD_MS,
    threshold: int = THRESHOLD,
) -> dict:
    """The scenario table of one run: ``servers`` servers ``hs1..``, user ``@u{k}:hs{k}``
    on each, every user sending at ``RATE`` a second for ``SEND_MS`` (times from ``seed``).

    >>> raw = room(3, 50, seed=1)
    >>> [n["name"] for n in raw["nodes"]], raw["nodes"][0]["config"]["extremities"]
    (['hs1', 'hs2', 'hs3'], {'threshold': 10, 'period_ms': 500})
    """
    rng = random.Random(f"graph-width:{servers}:{latency_ms}:{seed}")
    names = [f"hs{k}" for k in range(1, servers + 1)]
    users = {s: f"@u{k}:{s}" for k, s in enumerate(names, 1)}
    genesis = {"room": ROOM, "creator": users["hs1"], "members": [users[s] for s in names[1:]]}
    part = {"threshold": threshold, "period_ms": period_ms}
    config = {"rooms": {"genesis": [genesis]}, "federation": {}, "extremities": part}
    work = []
    for s in names:
        t = 0.0
        while True:
            t += rng.expovariate(RATE / 1000)
            if t >= SEND_MS:
                break
            action = {"op": "send", "room": ROOM, "body": f"{s} at {int(t)}"}
            work.append((int(t), s, {"op": "as_user", "user": users[s], "action": action}))
    work.sort(key=lambda w: (w[0], int(w[1][2:])))
    return {
        "scenario": {
            "name": "graph-width",
            "description": "Many servers send at once; their room's graph forks.",
            "model": "matrix",
        },
        "nodes": [{"name": s, "kind": "homeserver", "config": config} for s in names],
        "network": {"latency": {"dist": "lognormal", "median": latency_ms, "sigma": 0.5}},
        "workload": [{"at": at, "node": s, "input": i} for at, s, i in work],
        "properties": {"check": ["extremities_merged"]},
        "run": {"seed": seed, "until": SEND_MS + 60_000},
    }


class Width(PathJudge):
    """Judges the properties and reads every server's graph width after every step.

    ``widest``: the largest width any server had after a step; ``area``: the
    sum over servers of width x µs, up to ``SEND_MS``; ``bins``: the mean
    width over the servers at the end of each ``BIN_MS`` bin.
    """

    def __init__(self, properties, system: System) -> None:
        super().__init__(properties)
        self.run: TimedRun | None = None
        self.index = [i for i, n in enumerate(system.nodes) if n.kind == "homeserver"]
        self.widths = [0] * len(self.index)
        self.since = [0] * len(self.index)
        self.widest = 0
        self.area = 0
        self.bins: list[float] = []

    def observe(self, view, step: int) -> bool:
        broke = super().observe(view, step)
        now = self.run.env.now
        while (len(self.bins) + 1) * BIN_MS * 1000 <= now:
            self.bins.append(sum(self.widths) / len(self.widths))
        states = self.run.states
        for k, i in enumerate(self.index):
            store = states[i]["rooms"]["stores"].get(ROOM)
            w = len(store["extremities"]) if store else 0
            if w != self.widths[k]:
                self._account(k, now)
                self.widths[k] = w
                if w > self.widest:
                    self.widest = w
        return broke

    def _account(self, k: int, now: int) -> None:
        end = min(now, SEND_MS * 1000)
        if end > self.since[k]:
            self.area += self.widths[k] * (end - self.since[k])
        self.since[k] = max(self.since[k], end)

    def mean(self) -> float:
        """The time-weighted mean width over the servers and the sending period."""
        for k in range(len(self.widths)):
            self._account(k, SEND_MS * 1000)
        return self.area / (len(self.widths) * SEND_MS * 1000)


def points(quick: bool) -> list[Point]:
    """Every number of servers, latency and merge setting, a few seeds each."""
    servers = QUICK_SERVERS if quick else SERVERS
    latencies = QUICK_LATENCIES if quick else LATENCIES
    seeds = QUICK_SEEDS if quick else SEEDS
    return [
        {"merge": m, "servers": n, "latency_ms": lat, "seed": s}
        for m in MERGES
        for lat in latencies
        for n in servers
        for s in range(1, seeds + 1)
    ]


def measure(point: Point) -> dict[str, Any]:
    """One run: the width of the graph over time, dummy events, traffic."""
    from mxsim.models.registry import MODELS
    from mxsim.sim.scenario_load import from_raw

    raw = room(point["servers"], point["latency_ms"], point["seed"])
    scenario = from_raw(raw, "graph-width", MODELS, {"merge_extremities": point["merge"]})
    system = System(scenario, MODELS["matrix"])
    width = Width(system.properties, system)
    run = width.run = TimedRun(system, point["seed"], scenario.run.until, judge=width)
    result = run.run()
    return {
        "max_width": width.widest,
        "mean_width": round(width.mean(), 4),
        "final_width": max(width.widths),
        "messages_sent": len(raw["workload"]),
        "dummy_events": result.metrics.get("extremities.dummy", 0),
        "federation_messages": result.counts["sent"],
        "quiescent": result.quiescent,
        "_bins": width.bins,
    }


def check(rows: list[Row]) -> None:
    """Width <= servers always; with merging, the run settles at <= the threshold;
    without it, the threshold is passed somewhere in the sweep."""
    for r in rows:
        where = (
            f"merge_extremities={r['merge']} servers={r['servers']} "
            f"latency_ms={r['latency_ms']} seed={r['seed']}"
        )
        if not r["quiescent"]:
            raise ExperimentError(f"{where}: the run did not settle (a storm of dummy events?)")
        if r["max_width"] > r["servers"]:
            raise ExperimentError(
                f"{where}: {r['max_width']} forward extremities, more than the servers"
            )
        if r["merge"] == "dummy" and r["final_width"] > THRESHOLD:
            raise ExperimentError(
                f"{where}: settled with {r['final_width']} forward extremities > {THRESHOLD}"
            )
        if r["merge"] == "off" and r["dummy_events"]:
            raise ExperimentError(f"{where}: a dummy event was sent without merging")
    if not any(r["max_width"] > THRESHOLD for r in rows if r["merge"] == "off"):
        raise ExperimentError(f"no run without merging had more than {THRESHOLD} extremities")


def _cell(rows: list[Row], merge: str, servers: int, latency: float) -> list[Row]:
    return [
        r for r in rows if (r["merge"], r["servers"], r["latency_ms"]) == (merge, servers, latency)
    ]


def draw(rows: list[Row]) -> dict[str, Any]:
    servers = sorted({r["servers"] for r in rows})
    latencies = sorted({r["latency_ms"] for r in rows})
    fig = figures.figure(10.0, 3.8)
    for i, value in enumerate(("max_width", "mean_width")):
        ax = fig.add_subplot(1, 2, i + 1)
        for m in MERGES:
            for lat in latencies:
                cells = [_cell(rows, m, n, lat) for n in servers]
                ys = [statistics.mean(r[value] for r in c) for c in cells]
                lo = [min(r[value] for r in c) for c in cells]
                hi = [max(r[value] for r in c) for c in cells]
                figures.band(
                    ax,
                    servers,
                    ys,
                    lo,
                    hi,
                    f"{m}, {lat} ms",
                    color=COLOURS[m],
                    alpha=0.12,
                    ls=STYLES.get(lat, "-"),
                )
        ax.axhline(THRESHOLD, color="grey", lw=0.8)
        ax.plot(servers, servers, color="grey", lw=0.8, ls=":")
        ax.set_xticks(servers, [str(n) for n in servers])
        ax.set_xlabel("servers in the room")
        ax.grid(True, alpha=0.3)
        ax.set_title({"max_width": "widest after any step", "mean_width": "mean over time"}[value])
    fig.axes[0].set_ylabel("forward extremities per server")
    figures.legend_outside(fig.axes[-1])
    fig.suptitle(
        f"Width of the event graph: {RATE} messages/s per user for {SEND_MS / 1000:g} s "
        f"(grey: threshold {THRESHOLD}, and width = servers)"
    )

    over = figures.figure(8.0, 3.6)
    ax = over.add_subplot()
    n, lat = max(servers), max(latencies)
    for m in MERGES:
        mine = sorted(_cell(rows, m, n, lat), key=lambda r: r["seed"])
        if not mine:
            continue
        bins = mine[0]["_bins"]
        xs = [(k + 1) * BIN_MS / 1000 for k in range(len(bins))]
        xs, bins = [*xs, 2 * SEND_MS / 1000], [*bins, bins[-1]]  # settled: as it ended
        ax.step(xs, bins, where="post", color=COLOURS[m], label=f"{m}")
    ax.axhline(THRESHOLD, color="grey", lw=0.8, label=f"threshold {THRESHOLD}")
    ax.axvline(SEND_MS / 1000, color="grey", lw=0.8, ls=":", label="sending stops")
    ax.set_xlim(0, 2 * SEND_MS / 1000)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("forward extremities (mean over servers)")
    ax.set_title(f"{n} servers, median latency {lat} ms, seed {min(r['seed'] for r in rows)}")
    ax.grid(True, alpha=0.3)
    figures.legend_outside(ax)
    return {"graph-width": fig, "over-time": over}


def answer(rows: list[Row]) -> str:
    n, lat = max(r["servers"] for r in rows), max(r["latency_ms"] for r in rows)
    off, dummy = _cell(rows, "off", n, lat), _cell(rows, "dummy", n, lat)
    lo = min(r["latency_ms"] for r in rows)
    fast = _cell(rows, "off", n, lo)
    sent = sum(r["messages_sent"] for r in rows if r["merge"] == "dummy")
    dummies = sum(r["dummy_events"] for r in rows if r["merge"] == "dummy")

    def mean(cell: list[Row], value: str) -> float:
        return statistics.mean(r[value] for r in cell)

    return (
        f"The graph of a {n}-server room grows with latency, to {max(r['max_width'] for r in off)} "
        f"forward extremities (mean {mean(off, 'mean_width'):.1f} over the burst) at {lat} ms "
        f"median latency against {max(r['max_width'] for r in fast)} at {lo} ms, never more "
        f"than one per server, and without merging it stays that wide once the room falls "
        f"quiet (up to {max(r['final_width'] for r in rows if r['merge'] == 'off')} extremities "
        f"for good). Merging with a dummy event above {THRESHOLD} barely narrows the burst "
        f"(mean {mean(dummy, 'mean_width'):.1f}, widest "
        f"{max(r['max_width'] for r in dummy)}) but leaves every server at "
        f"{max(r['final_width'] for r in rows if r['merge'] == 'dummy')} or fewer when it "
        f"settles, for {dummies} dummy events over {sent} messages in the whole sweep."
    )


EXPERIMENT = Experiment(
    name="graph-width",
    question="How wide does a room's event graph grow with more servers and latency, and "
    "what does merging forward extremities with a dummy event change?",
    setup=(
        f"S servers with one user each, every user sending {RATE} messages a second "
        f"(Poisson) for {SEND_MS / 1000:g} s over links of log-normal latency (median L, "
        f"sigma 0.5). Swept: S in {', '.join(map(str, SERVERS))} and L in "
        f"{', '.join(map(str, LATENCIES))} ms (--quick: S in "
        f"{', '.join(map(str, QUICK_SERVERS))}, L {', '.join(map(str, QUICK_LATENCIES))} ms), "
        f"{SEEDS} seeds a point (--quick: {QUICK_SEEDS}), merge_extremities off and dummy "
        f"(a server holding more than {THRESHOLD} forward extremities, Synapse's threshold, "
        f"merges them with a dummy event {PERIOD_MS} ms later: Synapse's five-minute period "
        "scaled to the burst). Measured after every step: each server's number of forward "
        "extremities, its largest value, its mean over the sending period and its value once "
        "the run settles; dummy events sent."
    ),
    points=points,
    measure=measure,
    draw=draw,
    answer=answer,
    check=check,
    proposal="Message Events Ordering Notes (events arrive late and out of order); the "
    "dummy event is a Synapse habit",
)
