"""Capabilities over federation (issue 11; "Capabilities: Federation ... Same as the
server capability API"): Alice's hash reaches hs2 with her presence, and hs2 learns
its set from hs1 before it answers Bob's lookup."""

from __future__ import annotations

import functools

from witness import check, initially, system

NAME = "capabilities-federated"


@functools.cache
def _bundled():
    return check(NAME)


def test_the_bundled_check_is_complete_with_a_drop_and_holds():
    report = _bundled().report
    assert report.complete
    assert report.verdicts == {
        "capability_union": "holds",
        "capabilities_resolved": "holds",
        "remote_presence_agrees": "holds",
        "sessions_restored": "holds",
        "unknown_hash_refused": "reached",
        "hash_looked_up": "reached",
        "remote_hash_looked_up": "reached",
    }


def test_a_server_answering_from_its_own_sets_leaves_bob_without_alice_s_capabilities():
    report = check(NAME, "caps_over_federation=local_only").report
    assert report.complete
    assert report.verdicts["capabilities_resolved"] == "violated"
    assert report.verdicts["remote_hash_looked_up"] == "vacuous"


def test_remote_hash_looked_up_is_false_initially():
    assert not initially(system(NAME), "remote_hash_looked_up")


def test_remote_hash_looked_up_witness_is_hs2_asking_hs1_for_alice_s_set():
    steps = _bundled().witness("remote_hash_looked_up")
    last = steps[-1]
    assert last["act"] == "deliver" and last["node"] == "hs2" and last["src"] == "bob1"
    assert last["msg"]["type"] == "caps_lookup" and last["msg"]["of"] == "@alice:hs1"
    asked = [m for dst, m in last["sends"] if m["type"] == "fed.caps_lookup"]
    assert [m["hash"] for m in asked] == [last["msg"]["hash"]]
    assert [dst for dst, m in last["sends"] if m["type"] == "fed.caps_lookup"] == ["hs1"]
    # Bob was shown the hash by hs2, which had it from hs1 over federation.
    assert any(
        s["act"] == "deliver"
        and s["node"] == "hs2"
        and s["msg"].get("type") == "fed.ephemeral"
        and s["msg"].get("caps") == last["msg"]["hash"]
        for s in steps
    )


def test_a_single_server_lookup_asks_no_other_server():
    report = check("capabilities").report
    assert report.complete
    assert "remote_hash_looked_up" not in report.verdicts or (
        report.verdicts["remote_hash_looked_up"] == "vacuous"
    )
