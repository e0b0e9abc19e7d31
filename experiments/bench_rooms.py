"""Benchmarks of the matrix model's homeserver in rooms (``mxsim bench --only rooms``).

1. Deliveries per second of a timed run of one room shared by 20 servers
   and 200 users (10 per server, one device each), every user posting in turn.
2. Work per delivered event against the length of the room's history: the
   same workload on rooms that already hold a short and a long history. Posts
   are spaced wider than the link latency, so the graph never forks; the
   cost per delivery must then not grow with the history (no walk over the
   whole graph per event). The figure is the ratio of the two costs.

Timings are the best of a few repetitions, both histories measured in the
same process, interleaved.
"""

from __future__ import annotations

import time
from typing import Any

from mxsim.models import room as R
from mxsim.models.device import Device
from mxsim.models.homeserver import Homeserver
from mxsim.models.matrix import MODEL as MATRIX
from mxsim.sim.model import Model
from mxsim.sim.scenario import Input, Latency, Link, NodeSpec, RunSpec, Scenario
from mxsim.sim.system import System
from mxsim.sim.timed import TimedRun

__all__ = ["run", "describe", "room_system"]

ROOM = "!bench:hs0"


class HistoryHomeserver(Homeserver):
    """A homeserver whose genesis room already holds ``history`` messages."""

    kind = "homeserver"

    def initial_state(self) -> dict[str, Any]:
        # Built here, before the run is timed (the runtime asks for initial
        # states when it is made); on_start then finds the room in place.
        state = super().initial_state()
        super().on_start(None, state)  # the genesis room; it sends nothing
        store = state["rooms"]["stores"][ROOM]
        creator = self.config["rooms"]["genesis"][0]["creator"]
        for n in range(self.config.get("history", 0)):
            body = {"body": f"old {n}"}
            ev = R.next_event(store, ROOM, "m.room.message", creator, body, None, f"$history.{n}")
            reason, _ = R.accept(store, ev, self.switches["state_resolution"])
            assert reason is None, reason
        return state

    @classmethod
    def check_config(cls, config: dict[str, Any], node_names: tuple[str, ...]) -> None:
        pass


def room_system(
    servers: int = 20, users_per_server: int = 10, history: int = 0, posts: int = 200
) -> System:
    """One room, ``servers`` x ``users_per_server`` users, ``posts`` messages in turn."""
    names = [f"hs{i}" for i in range(servers)]
    users = [f"@u{j}:{hs}" for hs in names for j in range(users_per_server)]
    creator = users[0]
    genesis = [{"room": ROOM, "creator": creator, "members": users[1:]}]
    config = {"rooms": {"genesis": genesis}, "federation": {}, "history": history}
    nodes = [NodeSpec(hs, "homeserver", config) for hs in names]
    devices = []
    for user in users:
        name = "d." + user[1:].replace(":", ".")
        devices.append(name)
        server = user.split(":", 1)[1]
        nodes.append(NodeSpec(name, "device", {"server": server, "user": user}))
    # One post every 20 ms, round-robin over the users; links take 1-5 ms, so
    # each post reaches every server before the next one is made.
    workload = tuple(
        Input(
            at=20_000 * (k + 1),
            node=devices[k % len(devices)],
            data={"op": "send", "room": ROOM, "body": f"post {k}"},
        )
        for k in range(posts)
    )
    scenario = Scenario(
        name="bench-rooms",
        description="one room, many servers",
        model="matrix",
        source="bench",
        switches={s.name: s.default for s in MATRIX.switches},
        nodes=tuple(nodes),
        default_link=Link(latency=Latency("uniform", 1000, 5000)),
        workload=workload,
        run=RunSpec(seed=1, until=10**13),
    )
    model = Model("matrix", MATRIX.doc, {"homeserver": HistoryHomeserver, "device": Device})
    return System(scenario, model)


def _timed(system: System) -> tuple[int, float, int]:
    run = TimedRun(system, seed=1, until=system.scenario.run.until, judge=False)  # builds history
    t0 = time.perf_counter()
    result = run.run()
    seconds = time.perf_counter() - t0
    forks = sum(
        run.states[i]["rooms"]["stores"][ROOM]["conflicts"]
        for i, n in enumerate(system.nodes)
        if n.kind == "homeserver"
    )
    return result.counts["delivered"], seconds, forks


def run(repeat: int = 3, short: int = 100, long: int = 10_000, posts: int = 200) -> dict[str, Any]:
    """Both room benchmarks; see the module docstring."""
    big = room_system(posts=posts)
    best_big = min((_timed(big) for _ in range(repeat)), key=lambda r: r[1])
    # The history comparison uses a smaller room, so the long history's setup
    # (which every server builds at start) stays quick.
    results: dict[int, list] = {short: [], long: []}
    for _ in range(repeat):
        for history in (short, long):
            results[history].append(_timed(room_system(4, 5, history, posts)))
    best = {h: min(r, key=lambda x: x[1]) for h, r in results.items()}
    per = {h: best[h][1] / best[h][0] for h in best}
    return {
        "room": {
            "servers": 20,
            "users": 200,
            "posts": posts,
            "deliveries": best_big[0],
            "seconds": round(best_big[1], 4),
            "deliveries_per_second": round(best_big[0] / best_big[1]),
            "forks": best_big[2],
        },
        "history": {
            "servers": 4,
            "users": 20,
            "posts": posts,
            "short": short,
            "long": long,
            "us_per_delivery_short": round(per[short] * 1e6, 2),
            "us_per_delivery_long": round(per[long] * 1e6, 2),
            "ratio_long_to_short": round(per[long] / per[short], 3),
            "forks": best[short][2] + best[long][2],
        },
    }


def describe(report: dict[str, Any]) -> list[str]:
    r, h = report["room"], report["history"]
    return [
        f"rooms, {r['servers']} servers / {r['users']} users: {r['deliveries_per_second']:>9,} "
        f"deliveries/s ({r['deliveries']:,} deliveries of {r['posts']} posts, "
        f"{r['forks']} forks)",
        f"history {h['short']:>5} events: {h['us_per_delivery_short']:>8.2f} µs per delivery",
        f"history {h['long']:>5} events: {h['us_per_delivery_long']:>8.2f} µs per delivery "
        f"(ratio {h['ratio_long_to_short']:.3f}; {h['forks']} forks)",
    ]
