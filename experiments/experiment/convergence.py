"""``mxsim experiment convergence``: how long servers disagree after a partition heals.

The proposal promises that "the state of the room will always be eventually
consistent" (Event Stream API, State Events Ordering Notes) without saying
by which rule; switch ``state_resolution`` picks the era's depth rule or
today's v2. Each point is one timed run of :func:`room`: three servers, the
room's admin alice on hs1, bob on hs2, carol on hs3, cut into ``[hs1]`` and
``[hs2, hs3]`` for ``partition_ms``. While cut off, each user changes state
at ``rate`` changes a second (alice and carol the topic, bob his own
display name) and alice bans bob once, at a random moment; after the heal
every user sends a message every 250 ms for two seconds (bob's are refused
where he is banned), so an event built on both sides reaches every server.

:class:`Watch` looks at every server after every step and measures

- ``convergence_ms``: from the heal until every server's resolved state is
  the same and stays so to the end of the run (0 if they never differed
  after it); ``converged``: they agree at the end;
- ``resets``: state resets, where a server's resolved state replaces an
  event it had accepted by a concurrent one (not built on it) that its
  state with that event refuses by the auth rules: the lost ban is the
  classic case (bob's deeper rename beats it under the depth rule), where a
  plain conflict (two topics, both allowed) is not counted.

:func:`check` refuses a run that did not converge, and any reset under v2.
"""

from __future__ import annotations

import random
import statistics
from typing import Any

from mxsim.experiments.experiment import figures
from mxsim.experiments.experiment.base import Experiment, ExperimentError, Point, Row
from mxsim.models import room as R
from mxsim.sim.system import System
from mxsim.sim.timed import TimedRun
from mxsim.sim.verdict import PathJudge

__all__ = ["EXPERIMENT", "room", "Watch", "points", "measure", "check", "spread"]

ROOM = "!r:hs1"
SERVERS = ("hs1", "hs2", "hs3")
USERS = {"hs1": "@alice:hs1", "hs2": "@bob:hs2", "hs3": "@carol:hs3"}
ALGORITHMS = ("v2", "depth")
COLOURS = {"v2": "tab:blue", "depth": "tab:red"}
START_MS = 100  # the partition opens
AFTER_MS, EVERY_MS = 6000, 250  # messages after the heal: for how long, how often
PARTITIONS = (250, 500, 1000, 2000, 4000, 8000)
RATES = (1, 4, 16)
SEEDS = 10
QUICK_PARTITIONS, QUICK_RATES, QUICK_SEEDS = (500, 2000), (4,), 2


def _times(rng: random.Random, rate: float, start: int, end: int) -> list[int]:
    """Poisson arrival times (ms) of ``rate`` a second in [start, end)."""
    out, t = [], float(start)
    while True:
        t += rng.expovariate(rate / 1000)
        if t >= end:
            return out
        out.append(int(t))


def room(partition_ms: int, rate: float, seed: int) -> dict[str, Any]:
    """The scenario table of one run (the workload drawn from ``seed``).

    >>> raw = room(500, 4, seed=1)
    >>> [f["groups"] for f in raw["faults"]], raw["faults"][0]["heal"]
    ([[['hs1'], ['hs2', 'hs3']]], 600)
    >>> sum(w["input"]["action"]["op"] == "ban" for w in raw["workload"])
    1
    """
    rng = random.Random(f"convergence:{partition_ms}:{rate}:{seed}")
    heal = START_MS + partition_ms
    genesis = {"room": ROOM, "creator": USERS["hs1"], "members": [USERS["hs2"], USERS["hs3"]]}
    nodes = [
        {
            "name": s,
            "kind": "homeserver",
            "config": {"rooms": {"genesis": [genesis]}, "federation": {}},
        }
        for s in SERVERS
    ]
    work: list[tuple[int, str, dict[str, Any]]] = []
    lo, hi = START_MS + 10, heal - 10
    for s in SERVERS:
        for k, at in enumerate(_times(rng, rate, lo, hi)):
            if s == "hs2":
                content = {"membership": "join", "displayname": f"bob {k}"}
                action = {"event_type": "m.room.member", "state_key": USERS[s]}
            else:
                content = {"topic": f"{s} {k}"}
                action = {"event_type": "m.room.topic", "state_key": ""}
            work.append((at, s, {"op": "send_state", "room": ROOM, **action, "content": content}))
    work.append((rng.randrange(lo, hi), "hs1", {"op": "ban", "room": ROOM, "user": USERS["hs2"]}))
    for at in range(heal + EVERY_MS // 2, heal + AFTER_MS, EVERY_MS):
        for s in SERVERS:
            work.append((at, s, {"op": "send", "room": ROOM, "body": f"after {at}"}))
    work.sort(key=lambda w: (w[0], w[1]))
    return {
        "scenario": {
            "name": "convergence",
            "description": "A partition heals; the servers resolve what both sides changed.",
            "model": "matrix",
        },
        "nodes": nodes,
        "network": {"latency": {"dist": "lognormal", "median": 10, "sigma": 0.6}},
        "faults": [
            {"kind": "partition", "at": START_MS, "heal": heal, "groups": [["hs1"], ["hs2", "hs3"]]}
        ],
        "workload": [
            {"at": at, "node": s, "input": {"op": "as_user", "user": USERS[s], "action": a}}
            for at, s, a in work
        ],
        "properties": {"check": ["state_conflict"]},
        "run": {"seed": seed, "until": heal + AFTER_MS + 20_000},
    }


class Watch(PathJudge):
    """Judges the properties and, after every step, compares the servers' states.

    ``agreed_at``: the time (µs) of the last step after which the servers'
    resolved states became the same (0: never differed); ``resets``: (server,
    state key, lost event) of each state reset seen.
    """

    def __init__(self, properties, system: System) -> None:
        super().__init__(properties)
        self.run: TimedRun | None = None  # set once the run is made
        self.index = [system.index[s] for s in SERVERS]
        self.seen: list[dict[str, str] | None] = [None] * len(SERVERS)
        self.differ = False
        self.agreed_at = 0
        self.resets: set[tuple[str, str, str]] = set()

    def observe(self, view, step: int) -> bool:
        broke = super().observe(view, step)
        states = self.run.states
        changed = False
        stores = []
        for k, i in enumerate(self.index):
            store = states[i]["rooms"]["stores"].get(ROOM)
            if store is None:
                return broke  # not every server has started yet
            cur = store["current"]
            old = self.seen[k]
            if cur is not old:
                changed = True
                if old:
                    self._resets(SERVERS[k], store, old, cur)
                self.seen[k] = cur
            stores.append(store)
        if changed:
            differ = not agree(stores)
            if self.differ and not differ:
                self.agreed_at = self.run.env.now
            self.differ = differ
        return broke

    def _resets(self, server: str, store: dict, old: dict, new: dict) -> None:
        events = store["events"]
        for key in sorted(old):
            was, now = old[key], new.get(key)
            if now is None or now == was:
                continue
            if was in R.ancestors(store, now, events[was]["depth"]):
                continue  # an update built on what it replaces
            if not R.passes_current({"current": old, "events": events}, events[now]):
                self.resets.add((server, key, was))


def agree(stores: list[dict]) -> bool:
    """Do the servers in the room (each with its own user joined, by its own
    state) hold the same resolved state? A server whose user was banned is
    out of the room and is sent nothing more, so it is not asked."""
    inside = [st["current"] for s, st in zip(SERVERS, stores, strict=True) if _resident(s, st)]
    return all(c == inside[0] for c in inside[1:])


def _resident(server: str, store: dict) -> bool:
    return R.membership(store, USERS[server]) == "join"


def points(quick: bool) -> list[Point]:
    """Every partition length, rate and algorithm, several seeds each."""
    parts = QUICK_PARTITIONS if quick else PARTITIONS
    rates = QUICK_RATES if quick else RATES
    seeds = QUICK_SEEDS if quick else SEEDS
    return [
        {"algorithm": a, "partition_ms": p, "rate": r, "seed": s}
        for a in ALGORITHMS
        for r in rates
        for p in parts
        for s in range(1, seeds + 1)
    ]


def measure(point: Point) -> dict[str, Any]:
    """One run: convergence time after the heal, resets, what the run did."""
    from mxsim.models.registry import MODELS
    from mxsim.sim.scenario_load import from_raw

    raw = room(point["partition_ms"], point["rate"], point["seed"])
    scenario = from_raw(raw, "convergence", MODELS, {"state_resolution": point["algorithm"]})
    system = System(scenario, MODELS["matrix"])
    watch = Watch(system.properties, system)
    run = watch.run = TimedRun(system, point["seed"], scenario.run.until, judge=watch)
    result = run.run()
    heal = scenario.faults[0].until
    stores = [run.states[system.index[s]]["rooms"]["stores"][ROOM] for s in SERVERS]
    banned = [R.membership(s, USERS["hs2"]) == "ban" for s in stores]
    return {
        "converged": agree(stores) and result.quiescent,
        "in_room": sum(_resident(s, st) for s, st in zip(SERVERS, stores, strict=True)),
        "convergence_ms": round(max(watch.agreed_at - heal, 0) / 1000, 3),
        "resets": len(watch.resets),
        "ban_kept": all(banned),
        "state_events": sum(1 for at in raw["workload"] if at["input"]["action"]["op"] != "send"),
        "conflicts": sum(s["conflicts"] for s in stores),
        "messages": result.counts["sent"],
    }


def check(rows: list[Row]) -> None:
    """Every run converged after the heal; v2 never reset state."""
    for r in rows:
        where = (
            f"state_resolution={r['algorithm']} partition_ms={r['partition_ms']} "
            f"rate={r['rate']} seed={r['seed']}"
        )
        if not r["converged"]:
            raise ExperimentError(f"{where}: the servers never agreed after the heal")
        if r["algorithm"] == "v2" and r["resets"]:
            raise ExperimentError(f"{where}: v2 reset state {r['resets']} times")


def spread(rows: list[Row], algorithm: str, rate: float) -> list[tuple[int, float, float, float]]:
    """(partition_ms, median, min, max) of convergence_ms over the seeds."""
    out = []
    for p in sorted({r["partition_ms"] for r in rows}):
        xs = [
            r["convergence_ms"]
            for r in rows
            if (r["algorithm"], r["rate"], r["partition_ms"]) == (algorithm, rate, p)
        ]
        if xs:
            out.append((p, statistics.median(xs), min(xs), max(xs)))
    return out


def _reset_share(rows: list[Row], algorithm: str, rate: float, p: int) -> float:
    mine = _cell(rows, algorithm, rate, p)
    return sum(1 for r in mine if r["resets"]) / len(mine) if mine else float("nan")


def draw(rows: list[Row]) -> dict[str, Any]:
    rates = sorted({r["rate"] for r in rows})
    parts = sorted({r["partition_ms"] for r in rows})
    fig = figures.figure(10.0, 3.8)
    for i, rate in enumerate(rates):
        ax = fig.add_subplot(1, len(rates), i + 1, sharey=fig.axes[0] if i else None)
        for a in ALGORITHMS:
            s = spread(rows, a, rate)
            xs = [p for p, *_ in s]
            med, lo, hi = ([x[k] for x in s] for k in (1, 2, 3))
            figures.band(ax, xs, med, lo, hi, f"{a} (median, min-max)", color=COLOURS[a])
        ax.set_xscale("log")
        ax.set_xticks(parts, [f"{p / 1000:g}" for p in parts])
        ax.minorticks_off()
        ax.set_title(f"{rate} change{'s' if rate != 1 else ''}/s per user")
        ax.set_xlabel("partition length (s)")
        ax.grid(True, alpha=0.3)
    fig.axes[0].set_ylabel("time to agree after the heal (ms)")
    figures.legend_outside(fig.axes[-1])
    fig.suptitle("Convergence after a partition heals (3 servers)")

    resets = figures.figure(7.0, 3.6)
    ax = resets.add_subplot()
    width = 0.8 / (len(rates) * len(ALGORITHMS))
    for j, (a, rate) in enumerate((a, r) for a in ALGORITHMS for r in rates):
        xs = [k + (j - (len(rates) * len(ALGORITHMS) - 1) / 2) * width for k in range(len(parts))]
        ys = [100 * _reset_share(rows, a, rate, p) for p in parts]
        ax.bar(
            xs,
            ys,
            width,
            color=COLOURS[a],
            alpha=0.35 + 0.65 * (rates.index(rate) + 1) / len(rates),
            label=f"{a}, {rate}/s",
        )
    ax.set_xticks(range(len(parts)), [str(p) for p in parts])
    ax.set_xlabel("partition length (ms)")
    ax.set_ylabel("runs with a state reset (%)")
    ax.set_ylim(0, 105)
    v2 = [r for r in rows if r["algorithm"] == "v2"]
    quiet = sum(1 for r in v2 if not r["resets"])
    ax.text(
        0.01,
        0.97,
        f"v2: no reset in {quiet} of {len(v2)} runs",
        transform=ax.transAxes,
        va="top",
        fontsize=8,
    )
    ax.set_title("State resets: a server's state loses a ban it had accepted")
    ax.grid(True, axis="y", alpha=0.3)
    figures.legend_outside(ax)
    return {"convergence": fig, "resets": resets}


def _cell(rows: list[Row], algorithm: str, rate: float, p: int) -> list[Row]:
    return [
        r for r in rows if (r["algorithm"], r["rate"], r["partition_ms"]) == (algorithm, rate, p)
    ]


def answer(rows: list[Row]) -> str:
    cells = sorted({(r["rate"] * r["partition_ms"], r["rate"], r["partition_ms"]) for r in rows})
    (_, r0, p0), (_, r1, p1) = cells[0], cells[-1]

    def med(a: str, rate: float, p: int) -> float:
        return statistics.median(r["convergence_ms"] for r in _cell(rows, a, rate, p))

    def share(a: str, rate: float, p: int) -> str:
        mine = _cell(rows, a, rate, p)
        return f"{sum(1 for r in mine if r['resets'])} of {len(mine)}"

    depth = [r for r in rows if r["algorithm"] == "depth"]
    v2 = [r for r in rows if r["algorithm"] == "v2"]
    return (
        f"All {len(rows)} runs converged after the heal, and the time grows with the state "
        f"changes to catch up: median {med('v2', r0, p0):.0f} ms (v2) and "
        f"{med('depth', r0, p0):.0f} ms (depth) after a {p0} ms partition at {r0} change/s per "
        f"user, {med('v2', r1, p1):.0f} ms and {med('depth', r1, p1):.0f} ms after {p1} ms at "
        f"{r1}/s (slowest run {max(r['convergence_ms'] for r in rows):.0f} ms). The depth rule "
        f"reset state, bob's deeper rename beating his ban, in "
        f"{sum(1 for r in depth if r['resets'])} of {len(depth)} runs ({share('depth', r0, p0)} "
        f"at the fewest changes, {share('depth', r1, p1)} at the most), v2 in "
        f"{sum(1 for r in v2 if r['resets'])} of {len(v2)}."
    )


EXPERIMENT = Experiment(
    name="convergence",
    question="How long until servers agree after a partition heals, and how often does the "
    "depth rule reset state?",
    setup=(
        "Three servers (admin alice on hs1, bob on hs2, carol on hs3) cut into [hs1] and "
        f"[hs2, hs3] for {', '.join(map(str, PARTITIONS))} ms (--quick: "
        f"{', '.join(map(str, QUICK_PARTITIONS))}). While cut off each user changes state at "
        f"{', '.join(map(str, RATES))} changes a second (Poisson; alice and carol the topic, "
        "bob his display name) and alice bans bob once at a random moment; after the heal "
        f"each user sends a message every {EVERY_MS} ms for {AFTER_MS} ms. State resolution "
        f"v2 and depth, {SEEDS} seeds a point (--quick: {QUICK_SEEDS}). Measured: the time "
        "from the heal until every server's resolved state is the same for good, and state "
        "resets (a server's state replacing an event it had accepted by a concurrent one "
        "that event's state refuses, e.g. bob's rename beating his ban)."
    ),
    points=points,
    measure=measure,
    draw=draw,
    answer=answer,
    check=check,
    proposal='Event Stream API, State Events Ordering Notes: "the state of the room will '
    'always be eventually consistent"',
)
