"""``mxsim experiment voip``: how long the devices that were not chosen keep ringing.

Proposal, "VoIP", "Event updates": "1-N callees may pick up or reject this
offer"; "Caller acknowledges *one* of the callees"; "Callees who weren't
chosen then give up (Answered elsewhere, ...)". Each point is one timed run of
the ``matrix`` model's ``voip-1-to-n`` scenario rebuilt by :func:`call` with D
devices of the callee, every one answering, and links of median latency L
(uniform from L/2 to 3L/2). Measured: when the caller's ack (``select``)
reached each device that was not chosen (the step it stops ringing, as
"answered elsewhere"), from the invite at time 0; and how many devices
answered. :func:`check` refuses a run that broke a property, a losing device
that did not end as "answered elsewhere", or one that stopped later than
:func:`bound`.
"""

from __future__ import annotations

import copy
import tomllib
from typing import Any

from mxsim.experiments.experiment import figures
from mxsim.experiments.experiment.base import Experiment, ExperimentError, Point, Row
from mxsim.sim.system import System
from mxsim.sim.timed import TimedRun

__all__ = ["EXPERIMENT", "call", "bound", "points", "measure", "check"]

SCENARIO = "voip-1-to-n"
CALL = "call.alice"
LATENCIES = (10, 20, 50, 100, 200)
QUICK_LATENCIES = (20, 100)
DEVICES = (2, 3, 4, 6, 8)
QUICK_DEVICES = (2, 3)
SEEDS = (1, 2, 3, 4, 5)
QUICK_SEEDS = (1, 2)


def call(base: dict[str, Any], devices: int, latency: int) -> dict[str, Any]:
    """``base`` (the voip-1-to-n table) with ``devices`` callee devices ``bob1..``
    and uniform latency from latency/2 to 3*latency/2, no duplicates.

    >>> raw = call({"nodes": [{"name": "hs"}, {"name": "alice"}, {"name": "bob1",
    ...     "config": {"x": 1}}], "network": {}, "check": {}}, devices=3, latency=20)
    >>> [n["name"] for n in raw["nodes"]], raw["network"]["latency"]
    (['hs', 'alice', 'bob1', 'bob2', 'bob3'], {'dist': 'uniform', 'low': 10.0, 'high': 30.0})
    """
    raw = copy.deepcopy(base)
    hs, alice, bob = raw["nodes"][0], raw["nodes"][1], raw["nodes"][2]
    bobs = []
    for i in range(1, devices + 1):
        node = copy.deepcopy(bob)
        node["name"] = f"bob{i}"
        bobs.append(node)
    raw["nodes"] = [hs, alice, *bobs]
    raw["network"] = {"latency": {"dist": "uniform", "low": latency / 2, "high": 1.5 * latency}}
    raw["check"].pop("symmetry", None)
    return raw


def bound(latency: int) -> float:
    """The latest a losing device may stop ringing, in ms: six link crossings
    (invite in, invite out to a callee, its answer in, out to the caller, the
    ack in, out to the device), each at most 3L/2, and each of the three
    server-to-device crossings possibly waiting for the device's next long
    poll (one more crossing): nine crossings of 3L/2.

    >>> bound(100)
    1350.0
    """
    return 9 * 1.5 * latency


def points(quick: bool) -> list[Point]:
    return [
        {"latency": lat, "devices": d, "seed": k}
        for lat in (QUICK_LATENCIES if quick else LATENCIES)
        for d in (QUICK_DEVICES if quick else DEVICES)
        for k in (QUICK_SEEDS if quick else SEEDS)
    ]


def _acked(msg: Any) -> bool:
    """Whether a message to a device carries the caller's ack of the call."""
    if not isinstance(msg, dict) or msg.get("type") != "stream":
        return False
    return any(e.get("event", {}).get("type") == "m.call.ack" for e in msg.get("events") or [])


def measure(point: Point) -> dict[str, Any]:
    """One call: when each losing device learnt of the ack, and how each ended."""
    from mxsim.models.registry import MODELS, bundled
    from mxsim.sim.scenario_load import from_raw

    with bundled()[SCENARIO].open("rb") as f:
        raw = call(tomllib.load(f), point["devices"], point["latency"])
    scenario = from_raw(raw, SCENARIO, MODELS, {})
    system = System(scenario, MODELS["matrix"])
    runner = TimedRun(system, point["seed"], scenario.run.until)
    result = runner.run()
    verdicts = result.verdicts
    fine = all(v in ("holds", "reached", "vacuous") for v in verdicts.values())
    records = {
        d: runner.view.state(d)["calls"]["calls"].get(CALL, {})
        for d in runner.view.nodes
        if d.startswith("bob")
    }
    chosen = [d for d, rec in records.items() if rec.get("connected")]
    heard: dict[str, float] = {}
    for step in result.steps:
        _, now, act, node, _src, msg = step[:6]
        if act == "deliver" and node in records and node not in heard and _acked(msg):
            heard[node] = now / 1000
    losers = sorted(d for d in records if d not in chosen)
    stops = [heard.get(d) for d in losers]
    return {
        "passed": fine and result.quiescent,
        "answered": sum(1 for rec in records.values() if "seen" in rec or rec.get("reason")),
        "chosen": len(chosen),
        "losers": len(losers),
        "losers_told": sum(1 for d in losers if records[d].get("reason") == "answered elsewhere"),
        "last_stop_ms": max((s for s in stops if s is not None), default=-1.0),
        "first_stop_ms": min((s for s in stops if s is not None), default=-1.0),
        "bound_ms": bound(point["latency"]),
    }


def check(rows: list[Row]) -> None:
    """Every call passed, chose one device, told every other one, within the bound."""
    for r in rows:
        where = f"voip L={r['latency']} D={r['devices']} seed={r['seed']}"
        if not r["passed"]:
            raise ExperimentError(f"{where}: a property failed (or the run did not settle)")
        if r["chosen"] != 1 or r["losers"] != r["devices"] - 1:
            raise ExperimentError(f"{where}: {r['chosen']} devices in the call, expected 1")
        if r["losers_told"] != r["losers"]:
            raise ExperimentError(
                f"{where}: {r['losers'] - r['losers_told']} losing devices not told"
            )
        if r["losers"] and not 0 < r["last_stop_ms"] <= r["bound_ms"]:
            raise ExperimentError(
                f"{where}: the last losing device stopped at {r['last_stop_ms']} ms, "
                f"bound {r['bound_ms']} ms"
            )


def _groups(rows: list[Row], lat: int) -> tuple[list[int], list[list[float]]]:
    xs = sorted({r["devices"] for r in rows})
    return xs, [
        [r["last_stop_ms"] for r in rows if r["devices"] == x and r["latency"] == lat] for x in xs
    ]


def draw(rows: list[Row]) -> dict[str, Any]:
    fig = figures.figure(7.6, 4.2)
    ax = fig.add_subplot()
    for lat in sorted({r["latency"] for r in rows}):
        xs, groups = _groups(rows, lat)
        mid = [sorted(g)[len(g) // 2] for g in groups]
        low = [m - min(g) for m, g in zip(mid, groups, strict=True)]
        high = [max(g) - m for m, g in zip(mid, groups, strict=True)]
        ax.errorbar(xs, mid, yerr=[low, high], fmt="o-", capsize=3, label=f"L = {lat} ms")
    n = len({r["seed"] for r in rows})
    ax.set_xlabel("callee devices (D), all answering")
    ax.set_ylabel("ms until the last loser stops ringing")
    ax.set_title(f"1-to-N call: losing devices ringing on (median, min..max of {n} seeds)")
    ax.set_xticks(sorted({r["devices"] for r in rows}))
    ax.grid(True, alpha=0.3)
    figures.legend_outside(ax)

    per = figures.figure(7.6, 4.2)
    ax = per.add_subplot()
    lats = sorted({r["latency"] for r in rows})
    for d in sorted({r["devices"] for r in rows}):
        ys = [
            max(r["last_stop_ms"] for r in rows if r["devices"] == d and r["latency"] == lat) / lat
            for lat in lats
        ]
        ax.plot(lats, ys, "o-", label=f"D = {d}")
    ax.axhline(9 * 1.5, color="grey", ls="--", lw=0.8, label="bound: 9 crossings of 3L/2")
    ax.set_xscale("log")
    ax.set_xticks(lats, [str(x) for x in lats])
    ax.set_xlabel("median link latency L (ms)")
    ax.set_ylabel("slowest stop / L")
    ax.set_title("Time to stop ringing in units of latency")
    ax.grid(True, alpha=0.3)
    figures.legend_outside(ax)
    return {"voip": fig, "per-latency": per}


def answer(rows: list[Row]) -> str:
    worst = max(rows, key=lambda r: r["last_stop_ms"] / r["latency"])
    big_lat, big_d = max(r["latency"] for r in rows), max(r["devices"] for r in rows)
    at = sorted(
        r["last_stop_ms"] for r in rows if r["latency"] == big_lat and r["devices"] == big_d
    )
    small_d = min(r["devices"] for r in rows)
    at_small = sorted(
        r["last_stop_ms"] for r in rows if r["latency"] == big_lat and r["devices"] == small_d
    )
    return (
        f'Every device that was not chosen stopped ringing as "answered elsewhere" in all '
        f"{len(rows)} runs, at most {worst['last_stop_ms'] / worst['latency']:.1f} median "
        f"latencies after the invite (L={worst['latency']} ms, D={worst['devices']}; bound "
        f"13.5, nine crossings of 3L/2). More devices add little: at L={big_lat} ms the last "
        f"loser stopped after {at_small[0]:.0f}..{at_small[-1]:.0f} ms with D={small_d} and "
        f"{at[0]:.0f}..{at[-1]:.0f} ms with D={big_d}, the slowest of more links."
    )


EXPERIMENT = Experiment(
    name="voip",
    question="How long do the callee devices that were not chosen keep ringing?",
    setup=(
        f"The matrix model's {SCENARIO} scenario rebuilt with D devices of the callee, every "
        "one answering at once, on links of median latency L (uniform L/2..3L/2). Swept: "
        f"L in {', '.join(map(str, LATENCIES))} ms (--quick: "
        f"{', '.join(map(str, QUICK_LATENCIES))}), D in {', '.join(map(str, DEVICES))} "
        f"(--quick: {', '.join(map(str, QUICK_DEVICES))}), seeds "
        f"{', '.join(map(str, SEEDS))}. Measured: when the caller's ack reached each losing "
        "device (it stops ringing then), checked against nine crossings of 3L/2."
    ),
    points=points,
    measure=measure,
    draw=draw,
    answer=answer,
    check=check,
    proposal='VoIP, "Event updates"',
)
