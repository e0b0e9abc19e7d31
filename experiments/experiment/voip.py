"""``mxsim experiment voip``: how long the devices that lost a call go on ringing.

"This addresses one-to-one calling with multiple devices": "1-N callees may
pick up or reject this offer", the "Caller acknowledges *one* of the
callees ... by updating the event", and the "Callees who weren't chosen then
give up (Answered elsewhere, Rejected elsewhere, etc)" (VoIP, Event
updates). Each point is one timed run of the ``matrix`` model's
``voip-1-to-n`` scenario rebuilt by :func:`room`: alice calls bob, whose N
devices all answer at once; every link's one-way latency is uniform in
[L/2, 3L/2] (mean L). :class:`Watch` looks at every device after every
step and keeps the time each callee device's call ended and why, and when
the caller acknowledged.

Measured: ``stopped_ms``, from the call being placed (0 ms) until the last
device not chosen has stopped ringing; ``after_ack_ms``, from the caller's
acknowledgement until then. :func:`check` refuses a run where a losing
device did not stop ("answered elsewhere"), ``callees_settled`` did not
hold, or a time beyond its bound (:func:`bounds`) from the one-way latency
at most ``H = 3L/2``.
"""

from __future__ import annotations

import copy
import statistics
import tomllib
from typing import Any

from mxsim.experiments.experiment import figures
from mxsim.experiments.experiment.base import Experiment, ExperimentError, Point, Row
from mxsim.sim.system import System
from mxsim.sim.timed import TimedRun
from mxsim.sim.verdict import PathJudge

__all__ = ["EXPERIMENT", "room", "bounds", "Watch", "points", "measure", "check", "spread"]

SCENARIO = "voip-1-to-n"
CALLER = "alice"
CALL = f"call.{CALLER}"
LATENCIES = (10, 20, 50, 100, 200)
DEVICES = (2, 3, 4, 6, 8, 12, 16)
SEEDS = 10
QUICK_LATENCIES, QUICK_DEVICES, QUICK_SEEDS = (20, 100), (2, 4, 8), 2
COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink")


def room(base: dict[str, Any], devices: int, latency: float) -> dict[str, Any]:
    """``base`` (the voip-1-to-n table) with bob's devices ``bob1..bobN`` and every
    link's latency uniform in [latency/2, 3 latency/2].

    >>> raw = room({"nodes": [{"name": "hs"}, {"name": "alice"}, {"name": "bob1"}],
    ...             "network": {}}, devices=3, latency=20)
    >>> [n["name"] for n in raw["nodes"]], raw["network"]["latency"]
    (['hs', 'alice', 'bob1', 'bob2', 'bob3'], {'dist': 'uniform', 'low': 10.0, 'high': 30.0})
    """
    raw = copy.deepcopy(base)
    keep = [n for n in raw["nodes"] if not n["name"].startswith("bob")]
    bob = next(n for n in raw["nodes"] if n["name"].startswith("bob"))
    raw["nodes"] = keep + [{**copy.deepcopy(bob), "name": f"bob{i}"} for i in range(1, devices + 1)]
    raw["network"]["latency"] = {"dist": "uniform", "low": latency / 2, "high": latency * 1.5}
    raw.pop("check", None)  # the bounded search's settings (a symmetry naming bob1..bob3)
    return raw


def bounds(latency: float) -> dict[str, float]:
    """The longest ``stopped_ms`` and ``after_ack_ms`` the latencies allow (ms).

    With H the longest one-way latency (3L/2), a request reaches the server
    within H (it rides a poll sent at once). An event reaches a long-polling
    device within 3H: its poll is parked at the server (H), or in flight
    because the server answered it before the event came; that answer lands
    within H, the device polls again at once (H), and the server answers it
    with what is queued (H). So the ack reaches a losing device within
    H + 3H of the caller's acknowledging it; and the chain from the call's
    placing, the invite's request, its push to the device answering first,
    the answer's request, its push to the caller, then the ack, is at most
    H + 3H + H + 3H + 4H = 12H.

    >>> bounds(20)
    {'stopped_ms': 360.0, 'after_ack_ms': 120.0}
    """
    h = latency * 1.5
    return {"stopped_ms": 12 * h, "after_ack_ms": 4 * h}


class Watch(PathJudge):
    """Judges the properties and keeps, after every step, when each callee device's
    call ended (µs, reason) and when the caller acknowledged a response (µs)."""

    def __init__(self, properties, callees: list[str]) -> None:
        super().__init__(properties)
        self.run: TimedRun | None = None  # set once the run is made
        self.callees = callees
        self.ended: dict[str, tuple[int, str]] = {}
        self.acked: int | None = None

    def observe(self, view, step: int) -> bool:
        broke = super().observe(view, step)
        now = self.run.env.now
        for d in self.callees:
            if d not in self.ended:
                rec = view.state(d)["calls"]["calls"].get(CALL)
                if rec is not None and rec["state"] == "ended":
                    self.ended[d] = (now, rec["reason"])
        if self.acked is None:
            rec = view.state(CALLER)["calls"]["calls"].get(CALL)
            if rec is not None and rec["state"] != "calling":
                self.acked = now
        return broke


def points(quick: bool) -> list[Point]:
    """Every latency against every number of bob's devices, several seeds each."""
    latencies = QUICK_LATENCIES if quick else LATENCIES
    devices = QUICK_DEVICES if quick else DEVICES
    seeds = QUICK_SEEDS if quick else SEEDS
    return [
        {"latency_ms": lat, "devices": n, "seed": s}
        for lat in latencies
        for n in devices
        for s in range(1, seeds + 1)
    ]


def measure(point: Point) -> dict[str, Any]:
    return run_point(point)


def run_point(point: Point, switches: dict[str, str] | None = None) -> dict[str, Any]:
    """One run's row; ``switches`` are more overrides (a test breaks the model with them)."""
    from mxsim.models.registry import MODELS, bundled
    from mxsim.sim.scenario_load import from_raw

    with bundled()[SCENARIO].open("rb") as f:
        raw = room(tomllib.load(f), point["devices"], point["latency_ms"])
    scenario = from_raw(raw, SCENARIO, MODELS, switches or {})
    system = System(scenario, MODELS["matrix"])
    callees = [f"bob{i}" for i in range(1, point["devices"] + 1)]
    watch = Watch(system.properties, callees)
    run = watch.run = TimedRun(system, point["seed"], scenario.run.until, judge=watch)
    result = run.run()
    records = {d: run.states[system.index[d]]["calls"]["calls"].get(CALL, {}) for d in callees}
    losers = [d for d in callees if not records[d].get("connected")]
    stopped = [watch.ended[d][0] for d in losers if d in watch.ended]
    told = sum(1 for d in losers if watch.ended.get(d, (0, ""))[1] == "answered elsewhere")
    last = max(stopped, default=0) / 1000
    return {
        "chosen": len(callees) - len(losers),
        "losers": len(losers),
        "stopped": len(stopped),
        "answered_elsewhere": told,
        "callees_settled": result.verdicts.get("callees_settled") == "holds",
        "passed": all(v in ("holds", "reached") for v in result.verdicts.values()),
        "acked_ms": round(watch.acked / 1000, 3) if watch.acked is not None else "",
        "stopped_ms": round(last, 3),
        "after_ack_ms": round(last - watch.acked / 1000, 3) if watch.acked is not None else "",
        "messages": result.counts["sent"],
    }


def _where(r: Row) -> str:
    return f"latency_ms={r['latency_ms']} devices={r['devices']} seed={r['seed']}"


def check(rows: list[Row]) -> None:
    """Every run: one device chosen, every other one stopped ringing because it was
    answered elsewhere, callees_settled held, and both times within :func:`bounds`."""
    for r in rows:
        if not r["callees_settled"] or not r["passed"]:
            raise ExperimentError(f"{_where(r)}: a property failed (callees_settled or another)")
        if r["chosen"] != 1 or r["acked_ms"] == "":
            raise ExperimentError(f"{_where(r)}: {r['chosen']} devices in the call, not one")
        if r["stopped"] != r["losers"] or r["answered_elsewhere"] != r["losers"]:
            raise ExperimentError(
                f"{_where(r)}: {r['losers'] - r['answered_elsewhere']} of {r['losers']} losing "
                "devices did not stop ringing as answered elsewhere"
            )
        for key, bound in bounds(r["latency_ms"]).items():
            if r[key] > bound:
                raise ExperimentError(f"{_where(r)}: {key} {r[key]} ms beyond its bound {bound}")


def spread(rows: list[Row], key: str, devices: int) -> list[tuple[float, float, float, float]]:
    """(latency_ms, median, min, max) of ``key`` over the seeds, for ``devices``."""
    out = []
    for lat in sorted({r["latency_ms"] for r in rows}):
        xs = [r[key] for r in rows if (r["latency_ms"], r["devices"]) == (lat, devices)]
        if xs:
            out.append((lat, statistics.median(xs), min(xs), max(xs)))
    return out


def _ratio(rows: list[Row], devices: int) -> list[float]:
    """stopped_ms / (the latency's bound 12H) of each run with ``devices``."""
    return [
        r["stopped_ms"] / bounds(r["latency_ms"])["stopped_ms"]
        for r in rows
        if r["devices"] == devices
    ]


def draw(rows: list[Row]) -> dict[str, Any]:
    devices = sorted({r["devices"] for r in rows})
    lats = sorted({r["latency_ms"] for r in rows})
    fig = figures.figure(10.0, 3.8)
    ax, rel = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for n, colour in zip(devices, COLOURS, strict=False):
        s = spread(rows, "stopped_ms", n)
        figures.band(ax, lats, None, [x[2] for x in s], [x[3] for x in s], color=colour, alpha=0.15)
        figures.loglog(ax, lats, [x[1] for x in s], f"{n} devices", color=colour)
    ax.plot(lats, [bounds(x)["stopped_ms"] for x in lats], "k--", label="bound 12H (H = 3L/2)")
    ax.set_xlabel("mean one-way latency L (ms)")
    ax.set_ylabel("last losing device stops ringing (ms)")
    ax.set_title("Call to last loser stopped (median, min-max)")
    ax.grid(True, alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    rel.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    ratios = [_ratio(rows, n) for n in devices]
    rel.boxplot(ratios, positions=range(len(devices)), widths=0.5)
    rel.set_xticks(range(len(devices)), [str(n) for n in devices])
    rel.axhline(1.0, color="k", linestyle="--", lw=1)
    rel.set_ylim(0, 1.05)
    rel.set_xlabel("bob's devices (all answer at once)")
    rel.set_ylabel("stopped_ms / bound 12H")
    rel.set_title("Against the bound, every latency")
    rel.grid(True, axis="y", alpha=0.3)
    fig.suptitle("1-to-n call: the callee devices not chosen give up")
    return {"voip": fig}


def answer(rows: list[Row]) -> str:
    devices = sorted({r["devices"] for r in rows})
    lats = sorted({r["latency_ms"] for r in rows})
    few, many = devices[0], devices[-1]
    lo, hi = lats[0], lats[-1]

    def med(n: int, lat: float, key: str = "stopped_ms") -> str:
        return f"{dict((x[0], x[1]) for x in spread(rows, key, n))[lat]:.0f}"

    worst = max(max(_ratio(rows, n)) for n in devices)
    after = max(r["after_ack_ms"] / bounds(r["latency_ms"])["after_ack_ms"] for r in rows)
    slopes = [figures.slope(lats, [x[1] for x in spread(rows, "stopped_ms", n)]) for n in devices]
    return (
        f"Every losing device stopped ringing (answered elsewhere) in all {len(rows)} runs, "
        f"in time proportional to the latency (log-log slope {min(slopes):.2f} to "
        f"{max(slopes):.2f}): median {med(few, lo)} ms with {few} devices and {med(many, lo)} ms "
        f"with {many} at a mean latency of {lo} ms, {med(few, hi)} and {med(many, hi)} ms at "
        f"{hi} ms. No run came near the bound of 12 one-way latencies from the call (at most "
        f"{100 * worst:.0f}% of it) or 4 from the caller's acknowledgement (at most "
        f"{100 * after:.0f}%), and more devices cost little: the median share of that bound "
        f"is {100 * statistics.median(_ratio(rows, few)):.0f}% with {few} devices and "
        f"{100 * statistics.median(_ratio(rows, many)):.0f}% with {many}."
    )


EXPERIMENT = Experiment(
    name="voip",
    question="How long do the callee devices not chosen go on ringing, against latency and "
    "the number of devices?",
    setup=(
        "The voip-1-to-n scenario rebuilt: alice calls bob, whose "
        f"{', '.join(map(str, DEVICES))} devices (--quick: {', '.join(map(str, QUICK_DEVICES))}) "
        "all long-poll one server and answer at once; alice acknowledges the first answer "
        "and the others must give up. Every link's one-way latency is uniform in [L/2, 3L/2] "
        f"for a mean L of {', '.join(map(str, LATENCIES))} ms (--quick: "
        f"{', '.join(map(str, QUICK_LATENCIES))}), 10% of messages duplicated. {SEEDS} seeds a "
        f"point (--quick: {QUICK_SEEDS}). Measured: the time from the call until the last "
        "device not chosen stopped ringing, and from alice's acknowledgement until then; "
        "bounded by 12H and 4H, H = 3L/2 the longest one-way latency (see voip.bounds)."
    ),
    points=points,
    measure=measure,
    draw=draw,
    answer=answer,
    check=check,
    proposal='VoIP, Event updates: "Caller acknowledges *one* of the callees", "Callees who '
    "weren't chosen then give up (Answered elsewhere, Rejected elsewhere, etc)\".",
)
