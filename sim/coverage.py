"""What a search covered: the guards it hit, the transitions it took, why it stopped.

A check that holds says little if the search never got where the bugs are,
so the report says which ``sometimes`` guards were hit (and how deep), how
many messages were delivered to each kind of node, how many transitions of
each kind were taken, and the true reason the search stopped.
"""

from __future__ import annotations

from typing import Any

__all__ = ["coverage", "coverage_lines", "STOP_REASONS"]

# Every value of ``stop_reason`` in a breadth-first check report.
STOP_REASONS = ("complete", "max_states", "max_depth", "max_seconds", "interrupted", "all decided")


def coverage(system, search, sometimes) -> dict[str, Any]:
    """The ``coverage`` of a report, from a finished (or stopped) search."""
    kinds: dict[str, int] = {}
    for name in sorted(search.delivered):
        kind = system.kinds[name]
        kinds[kind] = kinds.get(kind, 0) + search.delivered[name]
    guards = {}
    for p in sometimes:
        n = search.reached.get(p.name)
        guards[p.name] = {"hit": n is not None, "depth": None if n is None else search.depth_of(n)}
    acts = dict(search.actions)  # the search counts deliveries only by destination
    if search.delivered:
        acts["deliver"] = sum(search.delivered.values())
    return {
        "guards": guards,
        "delivered": dict(sorted(kinds.items())),
        "actions": dict(sorted(acts.items())),
    }


def coverage_lines(report: dict[str, Any]) -> list[str]:
    """The coverage part of ``mxsim check``'s text report (from its JSON form).

    >>> lines = coverage_lines({"stop_reason": "max_seconds", "transitions": 10,
    ...     "coverage": {"guards": {"g": {"hit": True, "depth": 3}, "h": {"hit": False,
    ...     "depth": None}}, "delivered": {"client": 4}, "actions": {"deliver": 4}},
    ...     "memory": {"bytes_per_state": 120, "visited_bytes_per_state": 70.5}})
    >>> print("\\n".join(lines))
    stopped: max_seconds
      transitions 10: deliver 4
      delivered to: client 4
      guards hit: g (depth 3); not hit: h
      memory: 120 bytes per state (visited set and links 70.5)
    """
    out = [f"stopped: {report.get('stop_reason') or report.get('stopped')}"]
    cov = report.get("coverage") or {}
    if "transitions" in report and cov:
        acts = ", ".join(f"{k} {v:,}" for k, v in cov.get("actions", {}).items())
        out.append(f"  transitions {report['transitions']:,}" + (f": {acts}" if acts else ""))
        kinds = ", ".join(f"{k} {v:,}" for k, v in cov.get("delivered", {}).items())
        out.append(f"  delivered to: {kinds or 'none'}")
    guards = cov.get("guards") or {}
    if guards:
        hit = [f"{g} (depth {v['depth']})" for g, v in guards.items() if v["hit"]]
        missed = [g for g, v in guards.items() if not v["hit"]]
        line = "  guards hit: " + (", ".join(hit) or "none")
        if missed:
            line += "; not hit: " + ", ".join(missed)
        out.append(line)
    mem = report.get("memory") or {}
    if mem.get("bytes_per_state") is not None:
        out.append(
            f"  memory: {mem['bytes_per_state']:,} bytes per state "
            f"(visited set and links {mem['visited_bytes_per_state']})"
        )
    return out
