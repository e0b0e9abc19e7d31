"""Judging properties along one run (a timed run, a replay, a checker path).

Verdicts, per property kind:

- ``always``: "holds", or "violated" at the first step where it is false;
- ``eventually``: "holds" or "violated" in the final state if the run ended
  quiescent, "undecided" if it stopped first (a time or depth bound);
- ``sometimes``: "reached" at the first step where it is true, else
  "vacuous": the run never showed what the property guards.

Only "holds" and "reached" count as passing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mxsim.sim.model import Property, View

__all__ = ["PathJudge", "PASSING", "passed", "overall"]

PASSING = frozenset({"holds", "reached"})


def passed(verdicts: dict[str, str]) -> bool:
    return all(v in PASSING for v in verdicts.values())


def overall(verdicts: dict[str, str]) -> str:
    """One word for a search: violated, vacuous, holds or undecided.

    >>> overall({"a": "holds", "b": "reached"}), overall({"a": "undecided", "b": "vacuous"})
    ('holds', 'vacuous')
    """
    vs = verdicts.values()
    if any(v == "violated" for v in vs):
        return "violated"
    if any(v == "vacuous" for v in vs):
        return "vacuous"
    if all(v in PASSING for v in vs):
        return "holds"
    return "undecided"


class PathJudge:
    """Watches the states of one run, step by step."""

    def __init__(self, properties: Sequence[Property]) -> None:
        self.always = [p for p in properties if p.kind == "always"]
        self.eventually = [p for p in properties if p.kind == "eventually"]
        self.pending = [p for p in properties if p.kind == "sometimes"]
        self.verdicts: dict[str, str] = {}
        for p in properties:
            self.verdicts[p.name] = {
                "always": "holds",
                "eventually": "undecided",
                "sometimes": "vacuous",
            }[p.kind]
        self.first_violation: dict[str, Any] | None = None
        self.reached_at: dict[str, int] = {}

    def observe(self, view: View, step: int) -> bool:
        """Judge the state after ``step``; True if an ``always`` property broke."""
        broke = False
        for p in self.always:
            if self.verdicts[p.name] == "holds" and not p.predicate(view):
                self.verdicts[p.name] = "violated"
                if self.first_violation is None:
                    self.first_violation = {"property": p.name, "step": step}
                broke = True
        if self.pending:
            still = []
            for p in self.pending:
                if p.predicate(view):
                    self.verdicts[p.name] = "reached"
                    self.reached_at[p.name] = step
                else:
                    still.append(p)
            self.pending = still
        return broke

    def finish(self, view: View, step: int, quiescent: bool) -> None:
        """Judge the final state; ``eventually`` properties only if quiescent."""
        if not quiescent:
            return
        for p in self.eventually:
            ok = p.predicate(view)
            self.verdicts[p.name] = "holds" if ok else "violated"
            if not ok and self.first_violation is None:
                self.first_violation = {"property": p.name, "step": step}
