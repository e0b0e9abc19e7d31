"""Forward extremities merged by a dummy event (switch ``merge_extremities``, part
``extremities``): four servers send at once, so every server's room has four
forward extremities; a server merges them with a dummy event once there are
more than the threshold, and only then."""

from __future__ import annotations

import pytest

from mxsim.models.homeserver.extremities import DUMMY, MERGE_EXTREMITIES, THRESHOLD
from mxsim.models.registry import MODELS
from mxsim.sim.scenario_load import ScenarioError, from_raw
from mxsim.sim.system import System
from mxsim.sim.timed import TimedRun

ROOM = "!r:hs1"
SERVERS = [f"hs{k}" for k in range(1, 6)]


def _raw(threshold: int, others: int | None = None) -> dict:
    """hs2..hs5 send at once; hs1 merges above ``threshold``, the others above
    ``others`` (default: the same)."""
    users = {s: f"@u{s[2:]}:{s}" for s in SERVERS}
    genesis = {"room": ROOM, "creator": users["hs1"], "members": [users[s] for s in SERVERS[1:]]}

    def config(s: str) -> dict:
        t = threshold if s == "hs1" or others is None else others
        part = {"threshold": t, "period_ms": 50}
        return {"rooms": {"genesis": [genesis]}, "federation": {}, "extremities": part}

    send = {"op": "send", "room": ROOM, "body": "at once"}
    return {
        "scenario": {"name": "extremities", "description": "Four send at once.", "model": "matrix"},
        "nodes": [{"name": s, "kind": "homeserver", "config": config(s)} for s in SERVERS],
        "network": {"latency": {"dist": "constant", "ms": 100}},
        "workload": [
            {"at": 0, "node": s, "input": {"op": "as_user", "user": users[s], "action": send}}
            for s in SERVERS[1:]
        ],
        "properties": {"check": ["extremities_merged"]},
        "run": {"seed": 1, "until": 60_000},
    }


def _run(threshold: int, merge: str, **kw):
    scenario = from_raw(_raw(threshold, **kw), "extremities", MODELS, {"merge_extremities": merge})
    run = TimedRun(System(scenario, MODELS["matrix"]), 1, scenario.run.until)
    result = run.run()
    stores = {s: run.states[run.system.index[s]]["rooms"]["stores"][ROOM] for s in SERVERS}
    return result, stores


def _dummies(store: dict) -> list[dict]:
    return [ev for eid, ev in sorted(store["events"].items()) if ev["type"] == DUMMY]


def test_the_default_is_the_proposal_s_no_merging_and_synapse_s_threshold_is_10():
    assert MERGE_EXTREMITIES.default == "off" and THRESHOLD == 10
    assert "10, Synapse's" in MERGE_EXTREMITIES.doc


@pytest.mark.parametrize(("threshold", "merge"), [(4, "dummy"), (10, "dummy"), (3, "off")])
def test_no_dummy_event_unless_the_width_exceeds_the_threshold_and_merging_is_on(threshold, merge):
    result, stores = _run(threshold, merge)
    assert result.quiescent
    assert result.verdicts == {"extremities_merged": "vacuous"}
    assert "extremities.dummy" not in result.metrics
    for store in stores.values():
        assert len(store["extremities"]) == 4  # four concurrent events, none merged
        assert _dummies(store) == []


def test_four_extremities_above_a_threshold_of_3_are_merged_by_a_dummy_event():
    result, stores = _run(3, "dummy", others=10)
    assert result.quiescent and result.verdicts == {"extremities_merged": "reached"}
    assert result.metrics["extremities.dummy"] == 1  # hs1's; the others merge above 10
    for store in stores.values():
        (dummy,) = _dummies(store)
        assert dummy["sender"] == "@u1:hs1" and dummy["event_id"] not in store["rejected"]
        assert sorted(dummy["prev_events"]) == ["$hs2.1", "$hs3.1", "$hs4.1", "$hs5.1"]
        assert store["extremities"] == [dummy["event_id"]]  # one graph again, everywhere


def test_more_servers_than_the_threshold_merging_at_once_merge_for_ever():
    # Every server has four extremities at the same moment (constant latency),
    # so all five merge at once; their five dummy events are concurrent, past
    # the threshold of 3 again: the storm the period only makes unlikely.
    result, stores = _run(3, "dummy")
    assert not result.quiescent
    assert result.metrics["extremities.dummy"] > 100 * len(SERVERS)


def test_a_bad_threshold_names_the_field():
    raw = _raw(3)
    raw["nodes"][0]["config"]["extremities"]["threshold"] = 0
    with pytest.raises(ScenarioError, match=r"extremities\.threshold.*integer >= 1"):
        from_raw(raw, "extremities", MODELS)
