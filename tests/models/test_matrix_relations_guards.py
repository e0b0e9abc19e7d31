"""The bundling guards of the matrix model are false until their race happens,
and each bundled check's witness shows that race."""

from __future__ import annotations

import functools

import pytest
from witness import check, initially, system, turns_true


@functools.cache
def _bundled(name: str):
    return check(name)


def _parent(ev: dict) -> str | None:
    return ev.get("updates") or ev.get("relates_to")


def _delivered_events(step: dict) -> list[dict]:
    """The events a delivered message carries (a stream's entries, a page's chunk)."""
    msg = step.get("msg") or {}
    if "event" in msg:
        return [msg["event"]]
    return [e["event"] for e in msg.get("events", [])] + list(msg.get("chunk", []))


# -- child_before_parent ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["relations", "relations-pagination"])
def test_child_before_parent_witness_is_a_child_reaching_a_server_first(name):
    checked = _bundled(name)
    actions = checked.report.witnesses["child_before_parent"]
    assert turns_true(checked.system, "child_before_parent", actions) == len(actions) - 1
    steps = checked.witness("child_before_parent")
    last = steps[-1]
    server = last["node"]
    assert last["act"] == "deliver" and last["msg"]["type"] == "fed.event"
    assert checked.system.view(checked.system.initial()[0]).kind(server) == "homeserver"
    child = last["msg"]["event"]
    parent = _parent(child)
    assert parent is not None, "a child: an edit or a comment"
    assert not any(
        s["act"] == "deliver"
        and s["node"] == server
        and any(ev.get("event_id") == parent for ev in _delivered_events(s))
        for s in steps[:-1]
    ), "its parent had not reached that server"


def _no_children(raw):
    raw["workload"] = [w for w in raw["workload"] if w["input"]["op"] not in ("edit", "comment")]


@pytest.mark.parametrize("name", ["relations", "relations-pagination"])
def test_child_before_parent_is_false_initially_and_vacuous_without_children(name):
    assert not initially(system(name), "child_before_parent")
    checked = check(name, edit=_no_children)
    assert checked.report.complete
    assert checked.report.verdicts["child_before_parent"] == "vacuous"


# -- paged_to_the_end ----------------------------------------------------------------------


def test_paged_to_the_end_witness_pages_past_the_bundle_limit():
    checked = _bundled("relations-pagination")
    steps = checked.witness("paged_to_the_end")
    limit = checked.system.switches["bundle_limit"]
    last = steps[-1]
    dev = last["node"]
    assert last["act"] == "deliver" and last["msg"]["type"] == "replies_chunk"
    assert last["msg"]["start"] is None, "the last page: no token left"
    parent = last["msg"]["event_id"]
    bundled, paged = set(), set()
    for s in steps:
        if s["act"] != "deliver" or s["node"] != dev:
            continue
        if s["msg"]["type"] == "replies_chunk" and s["msg"]["event_id"] == parent:
            paged.update(r["event_id"] for r in s["msg"]["chunk"])
        for ev in _delivered_events(s):
            if ev.get("event_id") == parent and "replies" in ev:
                bundled.update(r["event_id"] for r in ev["replies"]["chunk"])
    assert bundled and paged and not bundled & paged
    assert len(bundled | paged) > limit


def test_paged_to_the_end_is_false_initially_and_vacuous_within_the_limit():
    assert not initially(system("relations-pagination"), "paged_to_the_end")

    def one_comment(raw):
        comments = [w for w in raw["workload"] if w["input"]["op"] == "comment"]
        raw["workload"] = [w for w in raw["workload"] if w not in comments[1:]]

    checked = check("relations-pagination", edit=one_comment)
    assert checked.report.complete
    assert checked.report.verdicts["paged_to_the_end"] == "vacuous"
