"""Swarm against plain random walks: walks and seconds to each seeded violation.

For every finding (a bundled scenario with the switch that breaks it), and
for several seeds, walks ``0, 1, 2, ...`` are made one after another with
each policy until every property the finding breaks has been broken once or
a bound is reached; the walk index and the seconds at which each property
first broke are recorded. Both policies run in the same process, one after
the other, so their seconds share the machine's load; walk counts are exact,
seconds are noisy.
"""

from __future__ import annotations

import statistics
import time

from mxsim.experiments.jobs import load_scenario
from mxsim.sim.walks import Walker

__all__ = ["FINDINGS", "run", "describe"]

FINDINGS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("superseded-state", ("omit_superseded_state=false",)),
    ("voip-1-to-n", ("caller_acknowledges=false",)),
    ("state-reset", ("state_resolution=depth",)),
    ("action-ids", ("idempotent_retransmission=false",)),
    ("rejected-event", ("rejected_events=false",)),
    ("session-expiry-devices", ('txn_scope="session"',)),
    ("multi-device-join", ("join_returns_events=true",)),
    ("typing-presence", ('presence_of_user="last_session"',)),
    ("presence-order", ('presence_typing_order="arrival"',)),
    ("session-expiry-order", ('renewal_order="as_answered"',)),
    ("voip-multi-user-small", ('rejection_scope="call"',)),
)


def first_violations(walker: Walker, seed: int, max_walks: int, max_seconds: float) -> dict:
    """Property -> (walks made until it first broke, seconds); and the walks made."""
    start = time.perf_counter()
    found: dict[str, tuple[int, float]] = {}
    targets = {p.name for p in walker.always + walker.eventually}
    i = 0
    while i < max_walks and time.perf_counter() - start < max_seconds and targets - set(found):
        _, broke, *_ = walker.walk(seed, i)
        i += 1
        for name in broke:
            found.setdefault(name, (i, time.perf_counter() - start))
    return {"found": found, "walks": i}


def run(
    seeds: int = 10, max_walks: int = 1000, max_seconds: float = 3.0, findings=FINDINGS
) -> dict:
    """Per finding and property: walks and seconds to the first violation, per policy."""
    out: dict = {}
    for scenario, sets in findings:
        key = f"{scenario} " + " ".join(f"--set {s}" for s in sets)
        system = load_scenario(scenario, sets).system()
        per: dict[str, dict[str, dict]] = {}
        for policy in ("plain", "swarm"):
            walker = Walker(system, swarm=policy == "swarm")
            for seed in range(seeds):
                got = first_violations(walker, seed, max_walks, max_seconds)
                for name in (p.name for p in walker.always + walker.eventually):
                    cell = per.setdefault(name, {}).setdefault(
                        policy, {"walks": [], "seconds": [], "missed": 0, "tried": []}
                    )
                    if name in got["found"]:
                        cell["walks"].append(got["found"][name][0])
                        cell["seconds"].append(round(got["found"][name][1], 4))
                    else:
                        cell["missed"] += 1
                        cell["tried"].append(got["walks"])
        out[key] = {n: c for n, c in per.items() if c["plain"]["walks"] or c["swarm"]["walks"]}
    totals = {
        policy: {
            # a miss counts the walks (and the seconds) it spent in vain
            "walks": sum(
                sum(c[policy]["walks"]) + sum(c[policy]["tried"])
                for props in out.values()
                for c in props.values()
            ),
            "missed": sum(c[policy]["missed"] for props in out.values() for c in props.values()),
        }
        for policy in ("plain", "swarm")
    }
    return {
        "seeds": seeds,
        "max_walks": max_walks,
        "max_seconds": max_seconds,
        "findings": out,
        "totals": totals,
    }


def _cell(c: dict, seeds: int) -> str:
    if not c["walks"]:
        return f"{'never':>8} {'':>8}  0/{seeds}"
    w = statistics.median(c["walks"])
    s = statistics.median(c["seconds"])
    return f"{w:>8g} {s:>8.3f}  {len(c['walks'])}/{seeds}"


def describe(report: dict) -> list[str]:
    seeds = report["seeds"]
    lines = [
        f"swarm vs plain random walks: median walks and seconds to the first violation, "
        f"{seeds} seeds, at most {report['max_walks']} walks or {report['max_seconds']:g} s each",
        f"  {'property':<28} {'plain walks':>11} {'s':>8} {'found':>6}   "
        f"{'swarm walks':>11} {'s':>8} {'found':>6}",
    ]
    for key, props in report["findings"].items():
        lines.append(f"{key}")
        for name, c in props.items():
            lines.append(f"  {name:<28} {_cell(c['plain'], seeds)}   {_cell(c['swarm'], seeds)}")
    t = report["totals"]
    lines.append(
        f"all findings: plain {t['plain']['walks']:,} walks ({t['plain']['missed']} misses), "
        f"swarm {t['swarm']['walks']:,} walks ({t['swarm']['missed']} misses)"
    )
    return lines


if __name__ == "__main__":  # pragma: no cover - a manual run
    for line in describe(run()):
        print(line)
