"""Soft-fail divergence (issue 11, historical failure classes): a ban crosses the
banned user's message. Soft failure alone hides the message on one server while
another, which showed it before the ban arrived, keeps showing it; the proposal's
late rejection ("Rejected events": a local redaction) is what makes them agree."""

from __future__ import annotations

import functools

import pytest
import witness
from witness import check, initially, system

NAME = "soft-fail-divergence"


@functools.cache
def _checked(*sets: str):
    return check(NAME, *sets)


@pytest.mark.parametrize(
    ("sets", "expected"),
    [
        ((), {"timelines_agree": "holds", "late_events_hidden": "holds"}),
        (
            ("rejected_events=false",),
            {"timelines_agree": "violated", "late_events_hidden": "holds"},
        ),
        (("soft_fail=off",), {"timelines_agree": "violated", "late_events_hidden": "violated"}),
        (
            ("soft_fail=off", "rejected_events=false"),
            {"timelines_agree": "holds", "late_events_hidden": "violated"},
        ),
    ],
)
def test_only_soft_failure_with_late_rejection_keeps_both_promises(sets, expected):
    report = _checked(*sets).report
    assert report.complete
    assert {k: report.verdicts[k] for k in expected} == expected
    assert report.verdicts["state_consistency"] == "holds"


def test_the_divergence_is_the_message_shown_on_one_server_and_hidden_on_another():
    checked = _checked("rejected_events=false")
    trace = next(
        c.actions for c in checked.report.counterexamples if c.property == "timelines_agree"
    )
    sys_ = checked.system
    world, _ = sys_.initial()
    for action in trace:
        world, _ = sys_.apply(world, action)
    view = sys_.view(world)
    bob = {
        eid
        for eid, ev in view.state("hs2")["rooms"]["stores"]["!r:hs1"]["events"].items()
        if ev["sender"] == "@bob:hs2" and ev["type"] == "m.room.message"
    }
    assert len(bob) == 1
    shown = {
        d: bob & set(view.state(d)["timeline"]["timeline"].get("!r:hs1", []))
        for d in ("alice1", "carol1")
    }
    assert shown == {"alice1": set(), "carol1": bob}
    assert bob <= set(view.state("hs1")["rooms"]["stores"]["!r:hs1"]["soft_failed"])


def test_soft_failed_somewhere_is_false_initially_and_vacuous_without_the_ban():
    assert not initially(system(NAME), "soft_failed_somewhere")

    def no_ban(raw):
        raw["workload"] = [w for w in raw["workload"] if w["input"]["action"]["op"] != "ban"]

    report = check(NAME, edit=no_ban).report
    assert report.complete
    assert report.verdicts["soft_failed_somewhere"] == "vacuous"


def test_soft_failed_somewhere_witness_is_bob_s_message_reaching_a_server_after_the_ban():
    checked = _checked()
    steps = checked.report.witnesses["soft_failed_somewhere"]
    records = witness.records(checked.system, steps)
    last = records[-1]
    assert last["act"] == "deliver" and last["msg"]["type"] == "fed.event"
    assert last["msg"]["event"]["sender"] == "@bob:hs2"
    server = last["node"]

    def is_ban(ev):
        return ev["type"] == "m.room.member" and ev["content"].get("membership") == "ban"

    earlier = [r for r in records[:-1] if r["node"] == server]
    made_here = any(r["act"] == "input" and r["msg"]["action"]["op"] == "ban" for r in earlier)
    arrived = any(
        r["act"] == "deliver" and r["msg"].get("type") == "fed.event" and is_ban(r["msg"]["event"])
        for r in earlier
    )
    assert made_here or arrived, "the ban reached (or was made on) that server first"
