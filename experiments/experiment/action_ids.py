"""``mxsim experiment action-ids``: what retransmission and ordering cost under loss.

Proposal, "Action APIs": the action ID is "a transaction ID for idempotency as
well as a sequence ID for ordering actions performed in parallel by that
client"; "Send a message", ordering notes: a higher ID "will block the request
until it receives earlier seqnums. The block will expire after a timeout and
reject the message stating that it was missing a seqnum". Each point is one
timed run of the ``matrix`` model's ``action-ids`` scenario (three sends at 0,
10 and 20 ms, retransmitted every 60 ms up to 3 tries) with link loss p and
the server's hold timeout T, with the server holding out-of-order requests
(``hold_out_of_order``, the proposal) or not. Measured per run: each send's
latency (input to its first answer), how many were applied, rejected as
missing a seqnum, or given up, and whether the room has them in the order
made. :func:`check` refuses a run where an action was applied twice, was
left unsettled, or (while holding) reached the room out of order.
"""

from __future__ import annotations

import statistics
import tomllib
from typing import Any

from mxsim.experiments.experiment import figures
from mxsim.experiments.experiment.base import Experiment, ExperimentError, Point, Row
from mxsim.sim.system import System
from mxsim.sim.timed import TimedRun
from mxsim.sim.verdict import PathJudge

__all__ = ["EXPERIMENT", "points", "measure", "check"]

SCENARIO = "action-ids"
LOSSES = (0.0, 0.05, 0.1, 0.2, 0.3, 0.4)
QUICK_LOSSES = (0.0, 0.2)
TIMEOUTS = (50, 100, 200, 400, 800)
QUICK_TIMEOUTS = (100, 400)
SEEDS = tuple(range(1, 21))
QUICK_SEEDS = (1, 2, 3)


def points(quick: bool) -> list[Point]:
    return [
        {"hold": hold, "loss": p, "timeout_ms": t, "seed": k}
        for hold in (True, False)
        for p in (QUICK_LOSSES if quick else LOSSES)
        for t in (QUICK_TIMEOUTS if quick else TIMEOUTS)
        for k in (QUICK_SEEDS if quick else SEEDS)
    ]


def measure(point: Point) -> dict[str, Any]:
    """One run: per-send latency, outcomes, and the properties' verdicts."""
    from mxsim.models.registry import MODELS, bundled
    from mxsim.sim.scenario_load import from_raw

    with bundled()[SCENARIO].open("rb") as f:
        raw = tomllib.load(f)
    raw["network"]["loss"] = point["loss"]
    raw["nodes"][0]["config"]["actions"]["hold_timeout_ms"] = point["timeout_ms"]
    raw.setdefault("switches", {})["hold_out_of_order"] = point["hold"]
    scenario = from_raw(raw, SCENARIO, MODELS, {})
    system = System(scenario, MODELS["matrix"])
    # Judged on the last state (a run stops at its first violation, and without
    # holding the order breaks early): each property read here is decided by the
    # room's final events and the device's final records.
    runner = TimedRun(system, point["seed"], scenario.run.until, judge=False)
    result = runner.run()
    judge = PathJudge(system.properties)
    last = len(result.steps) - 1
    judge.observe(runner.view, last)
    judge.finish(runner.view, last, result.quiescent)
    sent: list[float] = []
    answered: dict[int, float] = {}
    for step in result.steps:
        _, now, act, node, _src, msg = step[:6]
        if act == "input" and node == "alice":
            sent.append(now / 1000)
        elif act == "deliver" and node == "alice" and msg.get("type") == "result":
            answered.setdefault(msg["aid"], now / 1000)
    results = runner.view.state("alice")["requests"]["results"]
    gave_up = runner.view.state("alice")["retransmission"]["gave_up"]
    lat = [answered[a] - t for a, t in enumerate(sent) if a in answered]
    v = judge.verdicts
    return {
        "idempotent": v["idempotent"] == "holds",
        "in_order": v["per_client_order"] == "holds",
        "settled": v["settled"] == "holds" and result.quiescent,
        "applied": sum(1 for ok in results.values() if ok),
        "rejected": sum(1 for ok in results.values() if not ok),
        "given_up": len(gave_up),
        "mean_latency_ms": statistics.fmean(lat) if lat else -1.0,
        "max_latency_ms": max(lat, default=-1.0),
    }


def check(rows: list[Row]) -> None:
    """No action applied twice or left unsettled; holding keeps the client's order."""
    for r in rows:
        where = f"action-ids hold={r['hold']} loss={r['loss']} T={r['timeout_ms']} seed={r['seed']}"
        if not r["idempotent"]:
            raise ExperimentError(f"{where}: an action was applied twice")
        if not r["settled"]:
            raise ExperimentError(f"{where}: an action was left unsettled")
        if r["hold"] and not r["in_order"]:
            raise ExperimentError(f"{where}: held requests reached the room out of order")
        if r["applied"] + r["rejected"] + r["given_up"] < 3:
            raise ExperimentError(f"{where}: a send has no outcome")


def _mean(rows: list[Row], key: str, **match: Any) -> float:
    vals = [r[key] for r in rows if all(r[k] == v for k, v in match.items()) and r[key] >= 0]
    return statistics.fmean(vals) if vals else 0.0


def draw(rows: list[Row]) -> dict[str, Any]:
    losses = sorted({r["loss"] for r in rows})
    timeouts = sorted({r["timeout_ms"] for r in rows})
    fig = figures.figure(8.0, 4.4)
    ax = fig.add_subplot()
    for hold, style in ((True, "-"), (False, "--")):
        for t in timeouts:
            ys = [_mean(rows, "mean_latency_ms", hold=hold, loss=p, timeout_ms=t) for p in losses]
            label = f"{'hold' if hold else 'no hold'}, T={t} ms"
            ax.plot(losses, ys, "o" + style, label=label)
    ax.set_xlabel("link loss p")
    ax.set_ylabel("mean send latency (ms)")
    ax.set_title("Send latency: input to first answer, mean over seeds")
    ax.grid(True, alpha=0.3)
    figures.legend_outside(ax)

    out = figures.figure(8.0, 4.4)
    ax = out.add_subplot()
    width = 0.8 / (2 * len(timeouts))
    k = 0
    for hold in (True, False):
        for t in timeouts:
            ys = [
                sum(r["rejected"] for r in rows if (r["hold"], r["loss"], r["timeout_ms"]) == key)
                for key in [(hold, p, t) for p in losses]
            ]
            xs = [i + (k - len(timeouts)) * width for i in range(len(losses))]
            bars = ax.bar(xs, ys, width, label=f"{'hold' if hold else 'no hold'}, T={t} ms")
            ax.bar_label(bars, fontsize=6)
            k += 1
    ax.set_xticks(range(len(losses)), [str(p) for p in losses])
    ax.set_xlabel("link loss p")
    ax.set_ylabel("sends rejected (missing seqnum), all seeds")
    ax.set_title("Rejections")
    figures.legend_outside(ax)
    return {"action-ids": fig, "rejections": out}


def answer(rows: list[Row]) -> str:
    top = max(r["loss"] for r in rows)
    held = [r for r in rows if r["hold"]]
    free = [r for r in rows if not r["hold"]]
    lat_h = _mean(held, "mean_latency_ms", loss=top)
    lat_f = _mean(free, "mean_latency_ms", loss=top)
    lat_0 = _mean(held, "mean_latency_ms", loss=0.0)
    rej_h = sum(r["rejected"] for r in held)
    short = min(r["timeout_ms"] for r in rows)
    rej_short = sum(r["rejected"] for r in held if r["timeout_ms"] == short)
    disorder = sum(1 for r in free if not r["in_order"])
    return (
        f"No action was applied twice or left unsettled in any of the {len(rows)} runs; "
        f"with the server holding out-of-order requests the mean send latency grows from "
        f"{lat_0:.0f} ms at no loss to {lat_h:.0f} ms at loss {top} ({lat_f:.0f} ms without "
        f"holding), and {rej_h} sends were rejected as missing a seqnum, {rej_short} of them "
        f"with the shortest hold timeout ({short} ms). Ordering is what holding buys: "
        f"without it {disorder} of {len(free)} runs put the sends in the room out of order, "
        f"with it none."
    )


EXPERIMENT = Experiment(
    name="action-ids",
    question="What do retransmission and ordering by action ID cost as links lose messages?",
    setup=(
        f"The matrix model's {SCENARIO} scenario (three sends at 0, 10, 20 ms; retransmitted "
        "every 60 ms, up to 3 tries). Swept: link loss p in "
        f"{', '.join(map(str, LOSSES))} (--quick: {', '.join(map(str, QUICK_LOSSES))}), the "
        f"server's hold timeout T in {', '.join(map(str, TIMEOUTS))} ms (--quick: "
        f"{', '.join(map(str, QUICK_TIMEOUTS))}), hold_out_of_order on and off, "
        f"{len(SEEDS)} seeds (--quick: {len(QUICK_SEEDS)}). Measured: each send's latency "
        "to its first answer, applied / rejected / given-up counts, and the room's order."
    ),
    points=points,
    measure=measure,
    draw=draw,
    answer=answer,
    check=check,
    proposal="Action APIs; Send a message, ordering notes",
)
