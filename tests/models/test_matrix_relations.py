"""Bundles and pagination on the matrix model (proposal, "Updates (Events)",
"Relates to (Events)", their "Bundling"): edits and comments are room events
in the event graph, federated like any event, and come down inside their parent."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from witness import system

from mxsim.experiments.jobs import load_scenario
from mxsim.models.device import Device
from mxsim.models.homeserver.bundling import bundle, page
from mxsim.sim.explore import Explorer
from mxsim.sim.node import ConfigError
from mxsim.sim.timed import TimedRun
from mxsim.sim.verdict import passed


def _run(name: str, *sets: str):
    sys_ = load_scenario(name, sets).system()
    c = sys_.scenario.run
    return TimedRun(sys_, c.seed, c.until * 1000).run()


@pytest.mark.parametrize("name", ["relations", "relations-pagination"])
def test_timed_run_holds_and_reaches_every_guard(name):
    result = _run(name)
    assert result.quiescent
    assert passed(result.verdicts), result.verdicts


def test_telling_a_client_of_a_child_without_its_parent_breaks_bundles():
    result = _run("relations", "withhold_orphan_children=false")
    assert result.verdicts["bundles_whole"] == "violated"


@pytest.mark.parametrize(
    ("name", "guards"),
    [("relations", ["child_before_parent"]), ("relations-pagination", ["paged_to_the_end"])],
)
def test_check_is_complete_holds_and_reaches_the_races(name, guards):
    report = Explorer(load_scenario(name).system()).bfs()
    assert report.complete
    assert report.verdict == "holds", report.verdicts
    for guard in ["child_before_parent", *guards]:
        assert report.verdicts[guard] == "reached"


def test_the_check_finds_a_child_shown_without_its_parent():
    sys_ = load_scenario("relations", ["withhold_orphan_children=false"]).system()
    report = Explorer(sys_).bfs()
    assert report.verdicts["bundles_whole"] == "violated"
    lengths = {c.property: len(c.actions) for c in report.counterexamples}
    assert lengths["bundles_whole"] == 11  # mxsim check: 15 steps, with 4 node starts


def test_children_are_room_events_accepted_and_federated():
    sys_ = system("relations-pagination")
    rt = TimedRun(sys_, sys_.scenario.run.seed, sys_.scenario.run.until * 1000)
    assert rt.run().quiescent
    for server in ("hs1", "hs2"):
        store = rt.states[sys_.index[server]]["rooms"]["stores"]["!r:hs1"]
        placed = [store["events"][e] for e in store["after"]]
        comments = [ev for ev in placed if "relates_to" in ev]
        assert len(comments) == 2, server
        for ev in comments:
            assert ev["event_id"] not in store["rejected"]
            parent = store["events"][ev["relates_to"]]
            assert parent["content"]["label"] == "m1"
            assert parent["depth"] < ev["depth"], "the parent is in the graph below its child"


def test_unused_parts_add_no_state():
    sys_ = system("superseded-state")
    world, _ = sys_.initial()
    for state in world.states:
        assert "bundling" not in state and "bundles" not in state


@pytest.mark.parametrize(
    "data",
    [
        {"op": "edit", "label": "e1", "of": "m1"},
        {"op": "comment", "label": "c1", "on": 1, "body": "x"},
        {"op": "sync", "limit": "3"},
        {"op": "paginate", "limit": 3},
    ],
)
def test_bad_workload_input_names_its_field(data):
    with pytest.raises(ConfigError):
        Device.check_input(data)


def _store(replies: int) -> dict:
    store = {"events": {"$m": {"event_id": "$m"}}, "soft_failed": {}, "recent": ["$m"]}
    for k in range(replies):
        ev = {"event_id": f"$c{k}", "relates_to": "$m"}
        store["events"][ev["event_id"]] = ev
        store["recent"].append(ev["event_id"])
    return store


@given(st.integers(0, 9), st.integers(1, 10))
def test_paging_through_replies_yields_each_exactly_once(replies, limit):
    store = _store(replies)
    b = bundle(store, "$m", limit)
    got = [e["event_id"] for e in b["replies"]["chunk"]]
    assert len(got) == min(limit, replies)
    token = b["replies"]["start"]
    while token is not None:
        chunk, token = page(store, "$m", token, limit)
        got = [e["event_id"] for e in chunk] + got
    assert got == [f"$c{k}" for k in range(replies)]


def _ctx() -> SimpleNamespace:
    """A context that records what a handler sends (``ctx.sent``)."""
    sent: list = []
    ignore = lambda *args: None  # noqa: E731
    return SimpleNamespace(
        sent=sent,
        send=lambda dst, msg: sent.append((dst, msg)),
        set_timer=ignore,
        cancel_timer=ignore,
        metric=ignore,
    )


def _hs1():
    sys_ = system("relations-pagination")
    world, _ = sys_.initial()
    node = sys_.nodes[sys_.index["hs1"]]
    return node, copy.deepcopy(sys_.view(world).state("hs1"))


def _make(node, state, ctx, **relation):
    msg = {"room": "!r:hs1", "event_type": "m.room.message", "content": {"body": "x"}}
    return node.part("updates").send(
        ctx, state, None, None, {**msg, "whoami": "@alice:hs1"}, **relation
    )


def test_a_relates_to_child_is_made_accepted_and_federated_once_its_parent_is_placed():
    node, state = _hs1()
    ctx = _ctx()
    assert _make(node, state, ctx, relates_to="$nowhere") is None
    assert not any(dst == "hs2" for dst, _ in ctx.sent), "a refused child is not federated"
    parent = _make(node, state, ctx)
    child = _make(node, state, ctx, relates_to=parent["event_id"])
    store = state["rooms"]["stores"]["!r:hs1"]
    assert child["relates_to"] == parent["event_id"] and "updates" not in child
    assert child["event_id"] in store["after"] and child["event_id"] not in store["rejected"]
    assert parent["event_id"] in child["prev_events"]
    fed = [m["event"]["event_id"] for dst, m in ctx.sent if m["type"] == "fed.event"]
    assert fed == [parent["event_id"], child["event_id"]]
    both = {"updates": parent["event_id"], "relates_to": parent["event_id"]}
    assert _make(node, state, ctx, **both) is None, "one parent at most"


def test_a_bundles_part_without_its_room_is_refused_naming_the_field():
    def no_room(raw):
        raw["nodes"][2]["config"]["bundles"] = {}

    with pytest.raises(Exception, match=r"bundles\.room.*a room ID"):
        system("relations", edit=no_room)
