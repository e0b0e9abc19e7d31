"""The fast search meets exactly the worlds the plain one meets.

``reference_bfs`` is the plain breadth-first search (eager successors,
whole parent links). On every bundled scenario, bounded by states, and on
seeded findings, the fast search must give the same states, depth, stop
reason and verdicts, and the very same counterexample and witness paths:
same breadth-first order, same shortest traces. Comparing with an oracle
rather than recorded numbers lets the models change.
"""

from __future__ import annotations

import pytest
from reference_bfs import reference_bfs

from mxsim.experiments import jobs
from mxsim.models.registry import bundled
from mxsim.sim.explore import Explorer

FINDINGS = [
    ("superseded-state", ["omit_superseded_state=false"], 40_000),
    ("presence-order", ['presence_typing_order="arrival"'], 40_000),
    ("session-expiry-order", ['renewal_order="as_answered"'], 40_000),
    ("typing-presence", ['presence_of_user="last_session"'], 40_000),
    ("state-reset", ["state_resolution=depth"], 5_000),
]
ROWS = [(name, [], 1_500) for name in bundled()] + FINDINGS


@pytest.mark.parametrize(
    ("scenario", "sets", "max_states"), ROWS, ids=[f"{r[0]}{''.join(r[1])}" for r in ROWS]
)
def test_fast_search_equals_the_reference_search(scenario, sets, max_states):
    system = jobs.load_scenario(scenario, sets).system()
    want = reference_bfs(system, max_states)
    report = Explorer(system, max_states=max_states, max_seconds=1e6).bfs()
    got = {
        "states": report.states,
        "depth": report.depth,
        "stopped": report.stopped,
        "verdicts": report.verdicts,
        "counterexamples": {c.property: c.actions for c in report.counterexamples},
        "witnesses": dict(sorted(report.witnesses.items())),
    }
    got["counterexamples"] = dict(sorted(got["counterexamples"].items()))
    assert got == want
