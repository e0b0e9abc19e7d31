"""What read receipts cost: the three strategies the proposal weighs, swept over room size.

``mxsim experiment receipts --out DIR`` runs the bundled ``receipts``
scenario of the ``matrix`` model (timed runtime), rebuilt for each room size
N by :func:`room` (N users spread over its servers, each with its devices),
for each strategy (``local``, ``relates_to``, ``read_up_to``), with M
messages read, and writes

- ``DIR/receipts.csv``: strategy, N, M, messages and bytes per link kind
  (client->server, server->client, server->server), as measured, and the
  message counts the closed-form formulas of
  :mod:`mxsim.models.homeserver.receipts` predict;
- ``DIR/receipts.png`` / ``.svg``: total receipt messages against N, one
  line per strategy (log scale): the proposal's "n^2 problem" is the
  ``relates_to`` line.

Every run must pass its properties and match its formula, or the experiment
stops with an error: a figure is only drawn from runs that are right. The
same arguments give the same bytes, whatever the number of workers.
"""

from __future__ import annotations

import copy
import io
import tomllib
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from mxsim.experiments.sweep import _csv
from mxsim.models.homeserver.receipts import KINDS, STRATEGIES, expected
from mxsim.sim.files import write_atomic
from mxsim.sim.scenario_load import from_raw
from mxsim.sim.system import System
from mxsim.sim.timed import RunResult, TimedRun
from mxsim.sim.verdict import PathJudge, passed

__all__ = ["room", "judged_at_end", "measure", "run", "write_outputs"]

SERVERS = 2  # the bundled scenario's two homeservers
DEVICES = 2  # devices per user in it
ROOM = "!r:hs1"


class ExperimentError(Exception):
    """A run that failed its properties or its formula."""


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


def measure(args: tuple[str, int, int]) -> dict[str, Any]:
    """One run of ``receipts`` for (strategy, N, M)."""
    from mxsim.models.registry import MODELS, bundled

    strategy, users, messages = args
    with bundled()["receipts"].open("rb") as f:
        raw = room(tomllib.load(f), users, messages, SERVERS, DEVICES)
    scenario = from_raw(raw, "receipts", MODELS, {"receipts": strategy})
    result, verdicts = judged_at_end(
        System(scenario, MODELS["matrix"]), scenario.run.seed, scenario.run.until
    )
    m = result.metrics
    row = {"strategy": strategy, "users": users, "messages": messages, "passed": passed(verdicts)}
    for kind in KINDS:
        row[f"{kind}_messages"] = m.get(f"receipts.{kind}.messages", 0)
        row[f"{kind}_bytes"] = m.get(f"receipts.{kind}.bytes", 0)
    formula = expected(strategy, users=users, messages=messages, servers=SERVERS, devices=DEVICES)
    for kind in KINDS:
        row[f"{kind}_formula"] = formula[kind]
    return row


def run(
    users: Sequence[int], messages: int, strategies: Sequence[str] = STRATEGIES, workers: int = 1
) -> list[dict[str, Any]]:
    jobs = [(s, n, messages) for s in strategies for n in users]
    if workers <= 1:
        rows = [measure(j) for j in jobs]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            rows = list(pool.map(measure, jobs))
    for row in rows:
        where = f"receipts={row['strategy']} N={row['users']} M={row['messages']}"
        if not row["passed"]:
            raise ExperimentError(f"{where}: a property failed; run it with mxsim run to see")
        for kind in KINDS:
            if row[f"{kind}_messages"] != row[f"{kind}_formula"]:
                raise ExperimentError(
                    f"{where}: {kind} messages {row[f'{kind}_messages']} != formula "
                    f"{row[f'{kind}_formula']}"
                )
    return rows


def write_outputs(rows: list[dict[str, Any]], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    header = ["strategy", "users", "messages"]
    for kind in KINDS:
        header += [f"{kind}_messages", f"{kind}_bytes", f"{kind}_formula"]
    table = [header] + [[row[h] for h in header] for row in rows]
    paths = [out / "receipts.csv", out / "receipts.png", out / "receipts.svg"]
    write_atomic(paths[0], _csv(table))
    for path in paths[1:]:
        write_atomic(path, _figure(rows, path.suffix[1:]))
    return paths


def _figure(rows: list[dict[str, Any]], fmt: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"svg.hashsalt": "mxsim", "font.size": 9}):
        fig = Figure(figsize=(6.4, 4.2))
        ax = fig.add_subplot()
        messages = rows[0]["messages"]
        for strategy in dict.fromkeys(r["strategy"] for r in rows):
            mine = [r for r in rows if r["strategy"] == strategy]
            xs = [r["users"] for r in mine]
            total = [sum(r[f"{k}_messages"] for k in KINDS) for r in mine]
            ax.plot(xs, total, marker="o", label=strategy)
        ax.set_yscale("log")
        ax.set_xlabel("users in the room (N)")
        ax.set_ylabel("receipt messages, all links")
        ax.set_title(
            f"Read receipts for {messages} messages: {SERVERS} servers, {DEVICES} devices/user"
        )
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
        fig.tight_layout()
        buf = io.BytesIO()
        if fmt == "svg":
            fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
        else:
            fig.savefig(buf, format="png", metadata={"Software": None}, dpi=120)
    return buf.getvalue()
