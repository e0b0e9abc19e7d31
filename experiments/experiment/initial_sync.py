"""``mxsim experiment initial-sync``: what a global initial sync weighs.

Proposal, "Global /initialSync API": a device's first sync returns every
room the user is in, its state, and "max of ``limit=`` message events" per
room; a filter (proposal, "Filter API") carries the ``limit``. Each point is
one timed run of the ``matrix`` model: one server with R genesis rooms of M
members and K messages each, and one device of u0 that opens its stream,
with the server's default limit (``INITIAL_LIMIT``) or a filter's ``limit``.
The run counts what the server streamed to the device: events (messages and
state) and bytes (canonical JSON). :func:`check` refuses a room given more
messages than the limit, or a run that broke a property.
"""

from __future__ import annotations

import json
from typing import Any

from mxsim.experiments.experiment import figures
from mxsim.experiments.experiment.base import Experiment, ExperimentError, Point, Row
from mxsim.experiments.experiment.receipts import judged_at_end
from mxsim.models.homeserver.stream import INITIAL_LIMIT
from mxsim.sim.system import System

__all__ = ["EXPERIMENT", "scenario", "points", "measure", "check", "slope"]

ROOMS = (1, 2, 4, 8, 16, 32)
QUICK_ROOMS = (1, 2, 4)
MEMBERS, MESSAGES = 5, 20
#: (members, messages) off the rooms line, at 4 rooms.
SHAPES = ((2, 20), (10, 20), (20, 20), (5, 0), (5, 5), (5, 50))
QUICK_SHAPES = ((10, 20), (5, 5))
LIMITS = (None, 1, 5)  # None: the server's default limit, no filter


def scenario(rooms: int, members: int, messages: int, limit: int | None) -> dict[str, Any]:
    """The raw scenario table: R rooms ``!r{i}:hs`` of ``members`` members and
    ``messages`` messages, and u0's device ``d`` (with a filter if ``limit``)."""
    others = [f"@u{j}:hs" for j in range(1, members)]
    genesis = [
        {"room": f"!r{i}:hs", "creator": "@u0:hs", "members": others}
        | {"messages": [f"m{k}" for k in range(messages)]}
        for i in range(rooms)
    ]
    hs: dict[str, Any] = {"rooms": {"genesis": genesis}, "sync": {}}
    dev: dict[str, Any] = {"server": "hs", "user": "@u0:hs"}
    if limit is not None:
        hs.update(filters={}, sessions={})
        dev.update(filters={"filter": {"limit": limit}}, sessions={}, sync={})
    return {
        "scenario": {"name": "initial-sync", "model": "matrix", "description": "initial sync"},
        "nodes": [
            {"name": "hs", "kind": "homeserver", "config": hs},
            {"name": "d", "kind": "device", "config": dev},
        ],
        "network": {"latency": {"dist": "uniform", "low": 2, "high": 40}},
        "run": {"seed": 1, "until": 10000},
    }


def points(quick: bool) -> list[Point]:
    line = [(r, MEMBERS, MESSAGES) for r in (QUICK_ROOMS if quick else ROOMS)]
    shapes = [*line, *((4, m, k) for m, k in (QUICK_SHAPES if quick else SHAPES))]
    return [
        {"rooms": r, "members": m, "messages": k, "limit": 0 if lim is None else lim, "seed": 1}
        for lim in LIMITS
        for r, m, k in shapes
    ]


def measure(point: Point) -> dict[str, Any]:
    """One run: events and bytes streamed to the device, messages per room."""
    from mxsim.models.registry import MODELS
    from mxsim.sim.scenario_load import from_raw

    limit = point["limit"] or None
    raw = scenario(point["rooms"], point["members"], point["messages"], limit)
    sc = from_raw(raw, "initial-sync", MODELS, {})
    result, verdicts = judged_at_end(System(sc, MODELS["matrix"]), point["seed"], sc.run.until)
    fine = all(v in ("holds", "reached", "vacuous") for v in verdicts.values())
    events = state = nbytes = 0
    per_room: dict[str, int] = {}
    for step in result.steps:
        if step[2] != "deliver" or step[3] != "d" or step[5].get("type") != "stream":
            continue
        msg = step[5]
        nbytes += len(json.dumps(msg, sort_keys=True, separators=(",", ":")))
        for item in msg.get("events", []):
            events += 1
            ev = item["event"]
            if ev.get("type") == "m.room.message":
                per_room[item["room"]] = per_room.get(item["room"], 0) + 1
            elif "state_key" in ev:
                state += 1
    return {
        "passed": fine and result.quiescent,
        "effective_limit": limit if limit is not None else INITIAL_LIMIT,
        "events": events,
        "state_events": state,
        "message_events": sum(per_room.values()),
        "max_messages_per_room": max(per_room.values(), default=0),
        "rooms_seen": len(per_room),
        "bytes": nbytes,
    }


def check(rows: list[Row]) -> None:
    """Every run passed; no room got more messages than the limit, nor fewer than
    min(limit, K); and bytes grow linearly in rooms on each line (slope 1 +- 0.1)."""
    for r in rows:
        where = f"initial-sync R={r['rooms']} M={r['members']} K={r['messages']} limit={r['limit']}"
        if not r["passed"]:
            raise ExperimentError(f"{where}: a property failed (or the run did not settle)")
        lim = r["effective_limit"]
        if r["max_messages_per_room"] > lim:
            raise ExperimentError(
                f"{where}: {r['max_messages_per_room']} messages in a room > limit {lim}"
            )
        want = min(lim, r["messages"]) * r["rooms"]
        if r["message_events"] != want:
            raise ExperimentError(f"{where}: {r['message_events']} messages, expected {want}")
    for lim in sorted({r["limit"] for r in rows}):
        k = slope(rows, lim)
        if abs(k - 1) > 0.1:
            raise ExperimentError(
                f"initial-sync limit={lim}: bytes grow as rooms^{k:.2f}, not linearly"
            )


def _line(rows: list[Row], limit: int) -> list[Row]:
    return [
        r
        for r in rows
        if r["limit"] == limit and (r["members"], r["messages"]) == (MEMBERS, MESSAGES)
    ]


def slope(rows: list[Row], limit: int, value: str = "bytes") -> float:
    """Fitted exponent of ``value`` against rooms on the line (MEMBERS, MESSAGES)."""
    mine = _line(rows, limit)
    return figures.slope([r["rooms"] for r in mine], [r[value] for r in mine])


def _label(limit: int) -> str:
    return f"no filter (limit {INITIAL_LIMIT})" if limit == 0 else f"filter limit={limit}"


def draw(rows: list[Row]) -> dict[str, Any]:
    fig = figures.figure(7.6, 4.2)
    ax = fig.add_subplot()
    for lim in sorted({r["limit"] for r in rows}):
        mine = _line(rows, lim)
        figures.loglog(ax, [r["rooms"] for r in mine], [r["bytes"] for r in mine], _label(lim))
    ax.set_xlabel("rooms the user is in (R)")
    ax.set_ylabel("initial sync bytes")
    ax.set_title(f"Global initial sync: {MEMBERS} members, {MESSAGES} messages per room")
    ax.grid(True, which="both", alpha=0.3)
    figures.legend_outside(ax)

    ev = figures.figure(7.6, 4.2)
    ax = ev.add_subplot()
    shapes = [r for r in rows if r["rooms"] == 4]
    for lim in sorted({r["limit"] for r in rows}):
        mine = [r for r in shapes if r["limit"] == lim]
        xs = [f"M={r['members']},K={r['messages']}" for r in mine]
        ax.plot(xs, [r["events"] for r in mine], "o-", label=_label(lim))
    ax.set_xlabel("members (M) and messages (K) per room, 4 rooms")
    ax.set_ylabel("events in the initial sync")
    ax.tick_params(axis="x", labelrotation=45)
    ax.grid(True, alpha=0.3)
    figures.legend_outside(ax)
    return {"initial-sync": fig, "events": ev}


def answer(rows: list[Row]) -> str:
    big = max(r["rooms"] for r in rows)
    at = {lim: next(r for r in _line(rows, lim) if r["rooms"] == big) for lim in (0, 1)}
    return (
        "An initial sync grows linearly in rooms (bytes slope "
        + ", ".join(
            f"{slope(rows, lim):.2f} {_label(lim)}" for lim in sorted({r["limit"] for r in rows})
        )
        + f"): at R={big}, M={MEMBERS}, K={MESSAGES} it is {at[0]['events']} events and "
        f"{at[0]['bytes']:,} bytes without a filter against {at[1]['events']} events and "
        f"{at[1]['bytes']:,} bytes with limit=1. "
        f"No room ever got more messages than its limit; what remains is the state, "
        f"{at[1]['state_events']} state events at R={big}, "
        "which grows with members and no limit trims."
    )


EXPERIMENT = Experiment(
    name="initial-sync",
    question=(
        "How large is a global initial sync against rooms, members and messages, "
        "with and without a limit?"
    ),
    setup=(
        f"One server with R rooms of M members and K messages (genesis), one device of u0 "
        f"opening its stream. Swept: R in {', '.join(map(str, ROOMS))} "
        f"at M={MEMBERS}, K={MESSAGES} "
        f"(--quick: {', '.join(map(str, QUICK_ROOMS))}), plus (M, K) in "
        + "; ".join(f"{m},{k}" for m, k in SHAPES)
        + f" at R=4; each with no filter (the server's limit {INITIAL_LIMIT}) and filters of "
        "limit 1 and 5. Counted: events, state events, messages per room and bytes streamed."
    ),
    points=points,
    measure=measure,
    draw=draw,
    answer=answer,
    check=check,
    proposal='Global /initialSync API ("max of limit= message events"); Filter API',
)
