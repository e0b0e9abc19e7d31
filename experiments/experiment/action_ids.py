"""``mxsim experiment action-ids``: what action IDs cost a client that sends in parallel.

The action ID is "a transaction ID for idempotency as well as a sequence ID
for ordering actions performed in parallel by that client" (Action APIs);
"When sending a message with a higher seqnum, it will block the request
until it receives earlier seqnums. The block will expire after a timeout
and reject the message stating that it was missing a seqnum" (Send a
message, ordering notes). Each point is one timed run of :func:`room`: one
device sends :data:`SENDS` messages 2 ms apart over a jittered, lossy link,
retransmitting every :data:`RETRANSMIT_MS` ms until answered; the server
holds a higher ID for ``hold_timeout_ms`` (``ordering = "hold"``) or applies
every request as it comes (``ordering = "none"``: switch
``hold_out_of_order = false``).

Measured from the trace and the final states, not from the model's own
properties: each send's latency (its input until the device's first answer
that it was applied), the actions rejected, applied, applied twice (events
in the room with the same body), never settled (the server neither applied
nor rejected them, or the device was never told), and the actions applied
after a higher one (out of order). :func:`check` refuses a run that applied
an action twice, left one unsettled, told the device something the server
did not do, or (holding) applied out of order; and mean latency that falls
as loss grows (each loss only adds a retransmission wait).
"""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from mxsim.experiments.experiment import figures
from mxsim.experiments.experiment.base import Experiment, ExperimentError, Point, Row
from mxsim.sim.system import System
from mxsim.sim.timed import TimedRun

__all__ = ["EXPERIMENT", "room", "points", "measure", "run_point", "check", "mean_latency"]

ROOM = "!r:hs"
DEVICE = "alice"
SENDS = 20  # messages per run, GAP_MS apart: in flight together
GAP_MS = 2
RETRANSMIT_MS = 100
MAX_TRIES = 50  # the device never gives up at these loss rates (0.64^50 per action)
LATENCY = {"dist": "lognormal", "median": 20, "sigma": 0.8}
LOSSES = (0.0, 0.1, 0.2, 0.3, 0.4)
HOLDS = (50, 100, 200, 400, 800)
SEEDS = 20
QUICK_LOSSES, QUICK_HOLDS, QUICK_SEEDS = (0.0, 0.2, 0.4), (50, 400), 3
NONE = "none"  # the ordering without holds
COLOURS = {50: "tab:red", 100: "tab:orange", 200: "tab:olive", 400: "tab:green", 800: "tab:blue"}


def room(loss: float, hold_timeout_ms: int, seed: int) -> dict[str, Any]:
    """The scenario table of one run: one server, one device sending SENDS messages.

    >>> raw = room(0.1, 200, seed=3)
    >>> raw["network"]["loss"], raw["nodes"][0]["config"]["actions"]
    (0.1, {'hold_timeout_ms': 200})
    >>> [w["at"] for w in raw["workload"]][:3], len(raw["workload"]) == SENDS
    ([10, 12, 14], True)
    """
    retransmission = {"retransmit_ms": RETRANSMIT_MS, "max_tries": MAX_TRIES}
    return {
        "scenario": {
            "name": "action-ids",
            "description": "One device sends in parallel over a lossy link; action IDs order it.",
            "model": "matrix",
        },
        "nodes": [
            {
                "name": "hs",
                "kind": "homeserver",
                "config": {
                    "rooms": {"genesis": [{"room": ROOM, "creator": "@alice:hs"}]},
                    "actions": {"hold_timeout_ms": hold_timeout_ms},
                },
            },
            {
                "name": DEVICE,
                "kind": "device",
                "config": {"server": "hs", "user": "@alice:hs", "retransmission": retransmission},
            },
        ],
        "network": {"latency": dict(LATENCY), "loss": loss},
        "workload": [
            {
                "at": 10 + GAP_MS * k,
                "node": DEVICE,
                "input": {"op": "send", "room": ROOM, "body": f"m{k}"},
            }
            for k in range(SENDS)
        ],
        "run": {"seed": seed, "until": 600_000},
    }


def points(quick: bool) -> list[Point]:
    """Every loss rate against every hold timeout and no ordering, several seeds each."""
    losses = QUICK_LOSSES if quick else LOSSES
    holds = QUICK_HOLDS if quick else HOLDS
    seeds = QUICK_SEEDS if quick else SEEDS
    configs = [("hold", h) for h in holds] + [(NONE, 0)]
    return [
        {"ordering": o, "hold_timeout_ms": h, "loss": loss, "seed": s}
        for o, h in configs
        for loss in losses
        for s in range(1, seeds + 1)
    ]


def measure(point: Point) -> dict[str, Any]:
    return run_point(point)


def run_point(point: Point, switches: dict[str, str] | None = None) -> dict[str, Any]:
    """One run's row; ``switches`` are more overrides (a test breaks the model with them)."""
    from mxsim.models.registry import MODELS
    from mxsim.sim.scenario_load import from_raw

    hold = point["hold_timeout_ms"] or 200  # unused without holds
    raw = room(point["loss"], hold, point["seed"])
    overrides = {"hold_out_of_order": "true" if point["ordering"] == "hold" else "false"}
    scenario = from_raw(raw, "action-ids", MODELS, {**overrides, **(switches or {})})
    system = System(scenario, MODELS["matrix"])
    run = TimedRun(system, point["seed"], scenario.run.until, judge=False)
    result = run.run()
    return _row(run, system, result)


def _row(run: TimedRun, system: System, result) -> dict[str, Any]:
    sent: dict[int, int] = {}  # action ID -> µs of its input (the device numbers inputs 0, 1, ...)
    told: dict[int, tuple[int, bool]] = {}  # action ID -> (µs, ok) of the first answer
    for _, now, act, node, _src, msg, *_ in result.steps:
        if act == "input":
            sent[len(sent)] = now
        elif act == "deliver" and node == DEVICE and msg.get("type") == "result":
            told.setdefault(msg["aid"], (now, msg["ok"]))
    server = run.states[system.index["hs"]]
    c = server["actions"]["clients"].get(DEVICE, {"applied": [], "rejected": []})
    rejected = set(c["rejected"])
    applied = [aid for aid, made in c["applied"] if made is not None]
    events = server["rooms"]["stores"][ROOM]["events"].values()
    bodies = Counter(ev["content"].get("body") for ev in events if ev["sender"] == "@alice:hs")
    bodies.pop(None, None)  # the room's own events (its creation, alice's join)
    lied = [a for a, (_, ok) in told.items() if ok != (a in applied)]
    late = 0
    top = -1
    for aid in applied:
        late += aid < top
        top = max(top, aid)
    lat = sorted((told[a][0] - sent[a]) / 1000 for a in applied if a in told and told[a][1])
    gave_up = run.states[system.index[DEVICE]]["retransmission"]["gave_up"]
    return {
        "sends": len(sent),
        "applied": len(set(applied)),
        "rejected": len(rejected),
        "twice": sum(1 for n in bodies.values() if n > 1),
        "unsettled": sum(1 for a in sent if a not in rejected and a not in applied)
        + sum(1 for a in sent if a not in told),
        "told_wrong": len(lied) + len(gave_up),
        "out_of_order": late,
        "rejected_tail": not rejected or min(rejected) > max(applied, default=-1),
        "retransmissions": result.metrics.get("retransmissions", 0),
        "latency_mean_ms": round(statistics.fmean(lat), 3) if lat else "",
        "latency_median_ms": round(statistics.median(lat), 3) if lat else "",
        "latency_max_ms": round(lat[-1], 3) if lat else "",
        "quiescent": result.quiescent,
    }


def _where(r: Row) -> str:
    hold = f"hold_timeout_ms={r['hold_timeout_ms']} " if r["ordering"] == "hold" else ""
    return f"ordering={r['ordering']} {hold}loss={r['loss']} seed={r['seed']}"


def configs(rows: list[Row]) -> list[tuple[str, int]]:
    """(ordering, hold timeout) of the rows, holds by timeout then no ordering."""
    return sorted(
        {(r["ordering"], r["hold_timeout_ms"]) for r in rows}, key=lambda c: (c[0] == NONE, c[1])
    )


def cell(rows: list[Row], config: tuple[str, int], loss: float) -> list[Row]:
    return [
        r for r in rows if (r["ordering"], r["hold_timeout_ms"]) == config and r["loss"] == loss
    ]


def mean_latency(rows: list[Row]) -> float:
    """The mean latency of every applied send of the rows (weighted by sends applied)."""
    total = sum(r["latency_mean_ms"] * r["applied"] for r in rows if r["applied"])
    n = sum(r["applied"] for r in rows)
    return total / n if n else float("nan")


def check(rows: list[Row]) -> None:
    """Exactly once, every action settled and truly told, in order when held; latency
    never falls as loss grows (pooled over the seeds)."""
    for r in rows:
        if r["twice"]:
            raise ExperimentError(f"{_where(r)}: {r['twice']} actions applied twice")
        if r["unsettled"] or not r["quiescent"]:
            raise ExperimentError(f"{_where(r)}: an action neither applied nor rejected")
        if r["applied"] + r["rejected"] != r["sends"]:
            raise ExperimentError(f"{_where(r)}: applied + rejected is not every send")
        if r["told_wrong"]:
            raise ExperimentError(f"{_where(r)}: the device was told what the server did not do")
        if r["ordering"] == "hold" and r["out_of_order"]:
            raise ExperimentError(f"{_where(r)}: {r['out_of_order']} held actions out of order")
    losses = sorted({r["loss"] for r in rows})
    for config in configs(rows):
        means = [mean_latency(cell(rows, config, loss)) for loss in losses]
        for k in range(1, len(losses)):
            if means[k] < means[k - 1]:
                raise ExperimentError(
                    f"ordering={config[0]} hold_timeout_ms={config[1]}: mean latency fell "
                    f"from {means[k - 1]:.1f} ms at loss {losses[k - 1]} to {means[k]:.1f} ms "
                    f"at loss {losses[k]}"
                )


def _quartiles(xs: list[float]) -> tuple[float, float]:
    """The first and third quartiles of ``xs`` (both ``xs[0]`` for one value)."""
    if len(xs) < 2:
        return (xs[0], xs[0]) if xs else (float("nan"), float("nan"))
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return q[0], q[2]


def _label(config: tuple[str, int]) -> str:
    return "no ordering" if config[0] == NONE else f"hold {config[1]} ms"


def _style(config: tuple[str, int]) -> dict[str, Any]:
    if config[0] == NONE:
        return {"color": "black", "linestyle": "--"}
    return {"color": COLOURS.get(config[1], "tab:gray")}


def draw(rows: list[Row]) -> dict[str, Any]:
    losses = sorted({r["loss"] for r in rows})
    fig = figures.figure(10.0, 3.8)
    lat, rej = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    for config in configs(rows):
        cells = [cell(rows, config, loss) for loss in losses]
        quartiles = [_quartiles([r["latency_mean_ms"] for r in c if r["applied"]]) for c in cells]
        style = _style(config)
        figures.band(
            lat,
            losses,
            [mean_latency(c) for c in cells],
            [q[0] for q in quartiles],
            [q[1] for q in quartiles],
            _label(config),
            alpha=0.12,
            **style,
        )
        if config[0] != NONE:
            share = [
                100 * sum(r["rejected"] for r in c) / sum(r["sends"] for r in c) for c in cells
            ]
            rej.plot(losses, share, marker="o", label=_label(config), **style)
    lat.set_xlabel("loss rate (each message)")
    lat.set_ylabel("send latency, applied sends (ms)")
    lat.set_title("Send latency (band: quartiles of a run's mean)")
    rej.set_xlabel("loss rate (each message)")
    rej.set_ylabel("sends rejected (%)")
    rej.set_ylim(0, 100)
    rej.set_title("Rejected: 'missing a seqnum'")
    for ax in (lat, rej):
        ax.set_xticks(losses)
        ax.grid(True, alpha=0.3)
    figures.legend_outside(rej)
    handles, labels = lat.get_legend_handles_labels()
    rej.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.suptitle(
        f"{SENDS} parallel sends, lognormal link (median 20 ms), retry every {RETRANSMIT_MS} ms"
    )
    return {"action-ids": fig}


def answer(rows: list[Row]) -> str:
    losses = sorted({r["loss"] for r in rows})
    holds = sorted({r["hold_timeout_ms"] for r in rows if r["ordering"] == "hold"})
    lo, hi = losses[0], losses[-1]
    short, long = ("hold", holds[0]), ("hold", holds[-1])
    none = (NONE, 0)

    def m(config, loss) -> str:
        return f"{mean_latency(cell(rows, config, loss)):.0f}"

    def share(config, loss) -> str:
        c = cell(rows, config, loss)
        return f"{100 * sum(r['rejected'] for r in c) / sum(r['sends'] for r in c):.0f}%"

    shuffled = cell(rows, none, hi)
    held = [r for r in rows if r["ordering"] == "hold" and r["rejected"]]
    tail = sum(1 for r in held if r["rejected_tail"])
    return (
        f"Ordering costs latency: holding for up to {long[1]} ms the mean send takes "
        f"{m(long, lo)} ms at loss {lo} and {m(long, hi)} ms at loss {hi}, against "
        f"{m(none, lo)} and {m(none, hi)} ms without ordering, which applied "
        f"{sum(r['out_of_order'] for r in shuffled)} of {sum(r['sends'] for r in shuffled)} "
        f"sends after a higher ID at loss {hi}. A shorter hold trades that for rejections, "
        f"and a rejection is final for every later send of the device (in {tail} of the "
        f"{len(held)} runs with one, the rejected sends were all the last ones): a "
        f"{short[1]} ms hold rejected {share(short, lo)} of sends at loss {lo} and "
        f"{share(short, hi)} at {hi}, {long[1]} ms {share(long, hi)}, and no action of the "
        f"{len(rows)} runs was applied twice or left unsettled."
    )


EXPERIMENT = Experiment(
    name="action-ids",
    question="What do action IDs cost a client sending in parallel: how slow are sends, and "
    "how many are rejected, against loss and the server's hold timeout?",
    setup=(
        f"One device sends {SENDS} messages {GAP_MS} ms apart to its server over a lognormal "
        f"link (median 20 ms, sigma 0.8) losing each message with probability "
        f"{', '.join(map(str, LOSSES))} (--quick: {', '.join(map(str, QUICK_LOSSES))}); it "
        f"retransmits every {RETRANSMIT_MS} ms with the same action ID. The server holds a "
        f"higher ID until the lower ones arrive, for {', '.join(map(str, HOLDS))} ms (--quick: "
        f"{', '.join(map(str, QUICK_HOLDS))}), then rejects it; or applies every request as it "
        f"comes (hold_out_of_order = false). {SEEDS} seeds a point (--quick: {QUICK_SEEDS}). "
        "Measured: each applied send's latency (input to the device's first answer), the "
        "actions rejected, applied twice, left unsettled, and applied after a higher ID."
    ),
    points=points,
    measure=measure,
    draw=draw,
    answer=answer,
    check=check,
    proposal='Action APIs: the action ID is "a transaction ID for idempotency as well as a '
    'sequence ID for ordering actions performed in parallel by that client"; Send a message, '
    'ordering notes: the block "will expire after a timeout and reject the message".',
)
