"""``mxsim experiment receipts``: what read receipts cost as the room grows.

The proposal keeps receipts *local* "to avoid the ``n^2`` problem for
sending receipts" (Updates (Events), main use cases), against receipts that
are room events ``relates_to`` each message (Relates to (Events), main use
cases) and read-up-to markers (Notes, TODO). Each point is one timed run of
the ``matrix`` model's ``receipts-federated`` scenario rebuilt by
:func:`room`: N users spread over S servers, D devices each, one user sends
M messages and every other user reads them all. The run counts each
receipt message per link kind (client->server, server->client,
server->server) and its bytes; :func:`check` refuses any count that differs
from the closed form :func:`mxsim.models.homeserver.receipts.expected`
(for every S and D swept, not only 2) or any run that broke a property.
"""

from __future__ import annotations

import copy
import tomllib
from typing import Any

from mxsim.experiments.experiment import figures
from mxsim.experiments.experiment.base import Experiment, ExperimentError, Point, Row
from mxsim.models.homeserver.receipts import KINDS, STRATEGIES, expected
from mxsim.sim.system import System
from mxsim.sim.timed import RunResult, TimedRun
from mxsim.sim.verdict import PathJudge

__all__ = ["EXPERIMENT", "room", "judged_at_end", "points", "measure", "check", "slopes"]

ROOM = "!r:hs1"
#: One colour per strategy in every panel (a panel without local keeps the others').
COLOURS = {"local": "tab:blue", "relates_to": "tab:orange", "read_up_to": "tab:green"}
SCENARIO = "receipts-federated"
MESSAGES = 3  # messages read per run: relates_to costs M times read_up_to
#: The room sizes of the scaling figure, at SERVERS servers and DEVICES devices.
USERS = (3, 5, 10, 20, 50, 100, 200)
QUICK_USERS = (4, 8, 16, 32)
SERVERS, DEVICES = 3, 2
#: (users, servers, devices) off the scaling line: the formulas for S, D other than 2.
SHAPES = ((2, 1, 1), (2, 2, 3)) + tuple(
    (n, s, d) for n in (10, 50, 200) for s in (1, 2, 5) for d in (1, 3)
)
QUICK_SHAPES = ((5, 1, 3), (6, 5, 1))


def room(
    base: dict[str, Any], users: int, messages: int, servers: int, devices: int
) -> dict[str, Any]:
    """``base`` (a receipts scenario's table) with its room rebuilt: ``users`` users
    ``@u{i}:hs{i % servers + 1}``, each with ``devices`` devices ``u{i}d{j}``; u0
    sends ``messages`` messages at 0, every other user's first device reads at 500.

    >>> raw = room({"scenario": {}}, users=3, messages=1, servers=2, devices=1)
    >>> [n["name"] for n in raw["nodes"]]
    ['hs1', 'hs2', 'u0d0', 'u1d0', 'u2d0']
    >>> [(w["node"], w["input"]["op"]) for w in raw["workload"]]
    [('u0d0', 'send'), ('u1d0', 'read'), ('u2d0', 'read')]
    """
    raw = copy.deepcopy(base)
    names = [f"u{i}" for i in range(users)]
    home = {u: f"hs{i % servers + 1}" for i, u in enumerate(names)}
    genesis = {"room": ROOM, "creator": "@u0:hs1"}
    genesis["members"] = [f"@{u}:{home[u]}" for u in names[1:]]
    hs = {"rooms": {"genesis": [genesis]}, "federation": {}, "receipts": {}}
    nodes = [
        {"name": f"hs{k}", "kind": "homeserver", "config": copy.deepcopy(hs)}
        for k in range(1, servers + 1)
    ]
    for u in names:
        for j in range(devices):
            config = {"server": home[u], "user": f"@{u}:{home[u]}"}
            config.update({"timeline": {"out_of_order": True}, "receipts": {}})
            nodes.append({"name": f"{u}d{j}", "kind": "device", "config": config})
    raw["nodes"] = nodes
    send = [{"op": "send", "room": ROOM, "body": f"message {k}"} for k in range(messages)]
    raw["workload"] = [{"at": 0, "node": "u0d0", "input": i} for i in send] + [
        {"at": 500, "node": f"{u}d0", "input": {"op": "read", "room": ROOM}} for u in names[1:]
    ]
    return raw


def judged_at_end(system: System, seed: int, until: int) -> tuple[RunResult, dict[str, str]]:
    """A timed run whose properties are judged once, on its last state.

    A run judges every property after every step, which costs more than the
    run itself in a room of hundreds of devices. The receipts scenario's
    properties are decided by flags that never go back (a device's
    ``leaked``, ``own``, ``remote``, ``positions_increase`` and its count of
    duplicates) and by ``eventually`` ones judged at the end anyway, so
    their verdicts on the last state are those of every step (a test checks
    it on small rooms).
    """
    runner = TimedRun(system, seed, until, judge=False)
    result = runner.run()
    judge = PathJudge(system.properties)
    last = len(result.steps) - 1
    judge.observe(runner.view, last)
    judge.finish(runner.view, last, result.quiescent)
    return result, dict(judge.verdicts)


def points(quick: bool) -> list[Point]:
    """Each strategy on the scaling line (N users, SERVERS, DEVICES), then off it."""
    line = [(n, SERVERS, DEVICES) for n in (QUICK_USERS if quick else USERS)]
    shapes = [*line, *(QUICK_SHAPES if quick else SHAPES)]
    return [
        {"strategy": s, "users": n, "servers": k, "devices": d, "messages": MESSAGES, "seed": 1}
        for s in STRATEGIES
        for n, k, d in shapes
    ]


def measure(point: Point) -> dict[str, Any]:
    """One run: receipt messages and bytes per link kind, and their closed forms."""
    from mxsim.models.registry import MODELS, bundled
    from mxsim.sim.scenario_load import from_raw

    n, m, s, d = point["users"], point["messages"], point["servers"], point["devices"]
    with bundled()[SCENARIO].open("rb") as f:
        raw = room(tomllib.load(f), n, m, s, d)
    scenario = from_raw(raw, SCENARIO, MODELS, {"receipts": point["strategy"]})
    system = System(scenario, MODELS["matrix"])
    result, verdicts = judged_at_end(system, point["seed"], scenario.run.until)
    # A guard may be vacuous (local receipts never cross federation; one
    # server has no remote receipt): only a violated or undecided one fails.
    fine = all(v in ("holds", "reached", "vacuous") for v in verdicts.values())
    row: dict[str, Any] = {"passed": fine and result.quiescent}
    formula = expected(point["strategy"], users=n, messages=m, servers=s, devices=d)
    for kind in KINDS:
        row[f"{kind}_messages"] = result.metrics.get(f"receipts.{kind}.messages", 0)
        row[f"{kind}_bytes"] = result.metrics.get(f"receipts.{kind}.bytes", 0)
        row[f"{kind}_formula"] = formula[kind]
    total = sum(row[f"{k}_messages"] for k in KINDS)
    row["messages_per_read"] = total / m
    row["bytes_per_read"] = sum(row[f"{k}_bytes"] for k in KINDS) / m
    return row


def check(rows: list[Row]) -> None:
    """Every run passed its properties and counted exactly its formula, link by link."""
    for r in rows:
        where = (
            f"receipts={r['strategy']} N={r['users']} S={r['servers']} D={r['devices']} "
            f"M={r['messages']} seed={r['seed']}"
        )
        if not r["passed"]:
            raise ExperimentError(f"{where}: a property failed (or the run did not settle)")
        for k in KINDS:
            if r[f"{k}_messages"] != r[f"{k}_formula"]:
                raise ExperimentError(
                    f"{where}: {k} messages {r[f'{k}_messages']} != formula {r[f'{k}_formula']}"
                )


def _line(rows: list[Row], strategy: str) -> list[Row]:
    """The rows of the scaling line (SERVERS servers, DEVICES devices) of one strategy."""
    return [
        r
        for r in rows
        if r["strategy"] == strategy and (r["servers"], r["devices"]) == (SERVERS, DEVICES)
    ]


def slopes(rows: list[Row], value: str = "messages_per_read") -> dict[str, float]:
    """Strategy -> fitted exponent of ``value`` against N on the scaling line."""
    out = {}
    for s in STRATEGIES:
        mine = _line(rows, s)
        out[s] = figures.slope([r["users"] for r in mine], [r[value] for r in mine])
    return out


def draw(rows: list[Row]) -> dict[str, Any]:
    m = rows[0]["messages"]
    fig = figures.figure(7.6, 4.2)
    ax = fig.add_subplot()
    for s in STRATEGIES:
        mine = _line(rows, s)
        ys = [r["messages_per_read"] for r in mine]
        figures.loglog(ax, [r["users"] for r in mine], ys, s, color=COLOURS[s])
    ax.set_xlabel("users in the room (N)")
    ax.set_ylabel("receipt messages per message read, all links")
    ax.set_title(f"Read receipts: {SERVERS} servers, {DEVICES} devices per user, {m} messages")
    ax.grid(True, which="both", alpha=0.3)
    figures.legend_outside(ax)

    links = figures.figure(10.0, 3.6)
    titles = {"c2s": "client -> server", "s2c": "server -> client", "s2s": "server -> server"}
    for i, k in enumerate(KINDS):
        ax = links.add_subplot(1, len(KINDS), i + 1)
        for s in STRATEGIES:
            mine = [r for r in _line(rows, s) if r[f"{k}_messages"] > 0]
            if mine:
                xs = [r["users"] for r in mine]
                ys = [r[f"{k}_messages"] / m for r in mine]
                figures.loglog(ax, xs, ys, s, color=COLOURS[s])
        ax.set_title(titles[k])
        ax.set_xlabel("users (N)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    links.axes[0].set_ylabel("messages per message read")
    links.suptitle("Client traffic (c2s, s2c) and federation traffic (s2s); local sends no s2s")

    vs = figures.figure(6.4, 4.2)
    ax = vs.add_subplot()
    for s in STRATEGIES:
        mine = [r for r in rows if r["strategy"] == s]
        formula = [sum(r[f"{k}_formula"] for k in KINDS) for r in mine]
        measured = [sum(r[f"{k}_messages"] for k in KINDS) for r in mine]
        ax.plot(formula, measured, "o", label=s, alpha=0.7, color=COLOURS[s])
    top = max(max(sum(r[f"{k}_formula"] for k in KINDS) for r in rows), 2)
    ax.plot([1, top], [1, top], color="grey", lw=0.8, label="measured = formula")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("closed-form count (all links)")
    ax.set_ylabel("simulated count (all links)")
    shapes = sorted({(r["servers"], r["devices"]) for r in rows})
    ax.set_title("Every run, (S, D) = " + " ".join(f"({a},{b})" for a, b in shapes))
    figures.legend_outside(ax)
    return {"receipts": fig, "links": links, "formula": vs}


def answer(rows: list[Row]) -> str:
    k = slopes(rows)
    fed = slopes([r for r in rows if r["strategy"] != "local"], "s2s_messages")
    quadratic = [s for s in STRATEGIES if k[s] > 1.5]
    linear = [s for s in STRATEGIES if k[s] <= 1.5]
    big = max(r["users"] for r in _line(rows, "local"))
    at = {s: next(r for r in _line(rows, s) if r["users"] == big) for s in STRATEGIES}
    quad = " and ".join(f"{s} (slope {k[s]:.2f})" for s in quadratic) or "no strategy"
    lin = " and ".join(f"{s} (slope {k[s]:.2f})" for s in linear) or "none"
    return (
        f"Receipt messages per message read grow as N^2 for {quad}, because their "
        f"server->client traffic reaches every device of the room, (N-1)*N*D per read "
        f"(divided by the M={rows[0]['messages']} messages for read_up_to's one marker), "
        f"and linearly for {lin}. At N={big} that is "
        + ", ".join(f"{at[s]['messages_per_read']:,.0f} for {s}" for s in STRATEGIES)
        + ", while federation traffic grows only linearly (s2s slope "
        + ", ".join(f"{fed[s]:.2f} for {s}" for s in STRATEGIES if s != "local")
        + ", none for local); every run counted exactly its closed form."
    )


EXPERIMENT = Experiment(
    name="receipts",
    question="How many messages does a read receipt cost as the room grows, per strategy?",
    setup=(
        f"The matrix model's {SCENARIO} scenario rebuilt for N users spread over S servers "
        f"with D devices each; user u0 sends M={MESSAGES} messages and each other user reads "
        f"them all. Swept: N in {', '.join(map(str, USERS))} at S={SERVERS}, D={DEVICES} "
        f"(--quick: {', '.join(map(str, QUICK_USERS))}), plus N, S, D in "
        + "; ".join(f"{n},{s},{d}" for n, s, d in SHAPES)
        + ", for each strategy (local, relates_to, read_up_to). Counted: receipt messages "
        "and bytes client->server, server->client and server->server, each checked equal "
        "to its closed form."
    ),
    points=points,
    measure=measure,
    draw=draw,
    answer=answer,
    check=check,
    proposal="Updates (Events) and Relates to (Events), main use cases; Notes (read-up-to)",
)
