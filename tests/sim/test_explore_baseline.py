"""The fast search meets exactly the worlds the plain one met.

``data/explore_baseline.json`` was recorded with the search as it was before
incremental keys and compact visited sets (commit fa60481): for each
bundled scenario, bounded by states, and for each seeded finding, the
states explored, the depth, why it stopped, the verdicts and a digest of
every counterexample and witness path. The search must reproduce each one:
same breadth-first order, same shortest traces.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from mxsim.experiments import jobs
from mxsim.sim.explore import Explorer

BASELINE = json.loads((Path(__file__).parent / "data" / "explore_baseline.json").read_text())


def digest(actions) -> str:
    return hashlib.sha256(repr(list(actions)).encode()).hexdigest()[:16]


@pytest.mark.parametrize(
    "row", BASELINE, ids=[f"{r['scenario']}{''.join(r['set'])}" for r in BASELINE]
)
def test_search_reproduces_the_recorded_states_and_paths(row):
    loaded = jobs.load_scenario(row["scenario"], row["set"])
    report = Explorer(loaded.system(), max_states=row["max_states"], max_seconds=1e6).bfs()
    got = {
        "states": report.states,
        "depth": report.depth,
        "stopped": report.stopped,
        "verdicts": report.verdicts,
        "counterexamples": {
            c.property: [len(c.actions), digest(c.actions)] for c in report.counterexamples
        },
        "witnesses": {k: [len(v), digest(v)] for k, v in report.witnesses.items()},
    }
    assert got == {k: row[k] for k in got}
