"""The relations model's guards are false until their race happens, and each
bundled check's witness shows that race."""

from __future__ import annotations

import functools

import pytest
from witness import check, initially, system, turns_true


@functools.cache
def _bundled(name: str):
    return check(name)


def _parent(ev: dict) -> str | None:
    return ev.get("updates") or ev.get("relates_to")


def _items(msg: dict) -> list[tuple[str, dict]]:
    """(device, item) pairs of a stream message, a window's items included."""
    out = []
    for dev, item in msg.get("items", []):
        out.append((dev, item))
        out.extend((dev, sub) for sub in item.get("window", []))
    return out


# -- child_before_parent ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["relations", "relations-pagination"])
def test_child_before_parent_witness_is_a_child_reaching_a_server_first(name):
    checked = _bundled(name)
    actions = checked.report.witnesses["child_before_parent"]
    assert turns_true(checked.system, "child_before_parent", actions) == len(actions) - 1
    steps = checked.witness("child_before_parent")
    last = steps[-1]
    assert (
        last["act"] == "deliver"
        and checked.system.view(checked.system.initial()[0]).kind(last["node"]) == "homeserver"
    )
    child = last["msg"]["event"]
    parent = _parent(child)
    assert parent is not None, "a child: an update or a reply"
    server = last["node"]
    assert not any(
        s["act"] == "deliver"
        and s["node"] == server
        and (s.get("msg") or {}).get("event", {}).get("event_id") == parent
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
    pages = [item for _, item in _items(last["msg"]) if "page" in item]
    assert pages and pages[-1]["start"] is None, "the last page: no token left"
    parent = pages[-1]["parent"]
    replies = set()
    for s in steps:
        if s["act"] != "deliver" or s["node"] != dev:
            continue
        for _, item in _items(s["msg"]):
            if "bundle" in item and item["bundle"]["event"]["event_id"] == parent:
                replies.update(r["event_id"] for r in item["bundle"]["replies"]["chunk"])
            if "page" in item and item["parent"] == parent:
                replies.update(r["event_id"] for r in item["page"])
    assert len(replies) > limit


def test_paged_to_the_end_is_false_initially_and_vacuous_within_the_limit():
    assert not initially(system("relations-pagination"), "paged_to_the_end")

    def one_comment(raw):
        comments = [w for w in raw["workload"] if w["input"]["op"] == "comment"]
        raw["workload"] = [w for w in raw["workload"] if w not in comments[1:]]

    checked = check("relations-pagination", edit=one_comment)
    assert checked.report.complete
    assert checked.report.verdicts["paged_to_the_end"] == "vacuous"
