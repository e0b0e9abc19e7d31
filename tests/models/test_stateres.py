"""State resolution (depth rule and v2) and state at points of the graph."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import time
from typing import Any

import pytest
from authed import authed_event

from mxsim.models.events import make_event
from mxsim.models.stateres import (
    ALGORITHMS,
    StateCalculator,
    forward_extremities,
    from_nested,
    resolve,
    state_at,
    to_nested,
)
from mxsim.models.stateres_v2 import (
    auth_difference,
    is_power_event,
    mainline_sort,
    reverse_topological_power_sort,
    separate,
)

ROOM = "!r:a.test"
ALICE, BOB, CAROL, MALLORY = "@alice:a.test", "@bob:b.test", "@carol:c.test", "@mallory:m.test"
TOPIC, MEMBER, PL = "m.room.topic", "m.room.member", "m.room.power_levels"
REPO = pathlib.Path(__file__).resolve().parents[2]


class Graph:
    """Build a room by hand: events named ``$name``, auth events chosen from
    the (v2) state before each event, as a server would."""

    def __init__(self) -> None:
        self.events: dict[str, dict[str, Any]] = {}
        self.calc = StateCalculator(self.events, "v2")
        self.ts = 0

    def add(
        self,
        name: str,
        etype: str,
        sender: str,
        content: dict | None,
        state_key: str | None = None,
        *,
        prev: list[str],
        ts: int | None = None,
    ) -> str:
        prev_ids = ["$" + p for p in prev]
        before = self.calc.state_at(prev_ids)
        self.ts += 10
        when = self.ts if ts is None else ts
        ev = authed_event(
            ROOM, etype, sender, content, state_key, prev_ids, before, self.events, when, "$" + name
        )
        self.events[ev["event_id"]] = ev
        return ev["event_id"]

    def member(self, name: str, user: str, membership: str, sender: str | None = None, **kw):
        return self.add(name, MEMBER, sender or user, {"membership": membership}, user, **kw)

    def state(self, *tips: str, algorithm: str = "v2") -> dict:
        return state_at(self.events, ["$" + t for t in tips], algorithm)


def base_room(levels: dict | None = None) -> Graph:
    """Alice creates a public room (alice 100, bob 50); bob, carol, mallory join."""
    g = Graph()
    g.add("create", "m.room.create", ALICE, {"creator": ALICE}, "", prev=[])
    g.member("alice", ALICE, "join", prev=["create"])
    g.add("pl", PL, ALICE, levels or {"users": {ALICE: 100, BOB: 50}}, "", prev=["alice"])
    g.add("jr", "m.room.join_rules", ALICE, {"join_rule": "public"}, "", prev=["pl"])
    g.member("bob", BOB, "join", prev=["jr"])
    g.member("carol", CAROL, "join", prev=["bob"])
    g.member("mallory", MALLORY, "join", prev=["carol"])
    return g


def test_base_room_state() -> None:
    g = base_room()
    state = g.state("mallory")
    assert state[(MEMBER, MALLORY)] == "$mallory"
    assert len(state) == 7
    assert not any(g.calc.is_rejected(e) for e in g.events)


# -- hand-made races with known answers ------------------------------------------


def test_topic_conflict() -> None:
    g = base_room()
    g.add("t1", TOPIC, ALICE, {"topic": "one"}, "", prev=["mallory"], ts=200)
    g.add("t2", TOPIC, BOB, {"topic": "two"}, "", prev=["mallory"], ts=100)
    # v2: same mainline position, so the later origin_server_ts is applied last and wins.
    assert g.state("t1", "t2")[(TOPIC, "")] == "$t1"
    # depth: equal depth, so the smaller event ID wins.
    assert g.state("t1", "t2", algorithm="depth")[(TOPIC, "")] == "$t1"
    # A deeper state event wins the depth rule; v2 does not look at depth.
    g.add("m1", "m.room.message", BOB, {"body": "x"}, prev=["mallory"])
    g.add("m2", "m.room.message", BOB, {"body": "y"}, prev=["m1"])
    g.add("t3", TOPIC, BOB, {"topic": "three"}, "", prev=["m2"], ts=150)
    assert g.state("t1", "t3", algorithm="depth")[(TOPIC, "")] == "$t3"
    assert g.state("t1", "t3")[(TOPIC, "")] == "$t1"


def test_topic_tie_on_timestamp_goes_to_the_larger_id() -> None:
    g = base_room()
    g.add("ta", TOPIC, ALICE, {"topic": "a"}, "", prev=["mallory"], ts=500)
    g.add("tb", TOPIC, BOB, {"topic": "b"}, "", prev=["mallory"], ts=500)
    assert g.state("ta", "tb")[(TOPIC, "")] == "$tb"  # applied last
    assert g.state("tb", "ta")[(TOPIC, "")] == "$tb"


def test_ban_racing_a_demotion() -> None:
    """Bob (50) bans Carol while Alice (100) concurrently demotes Bob to 0."""
    g = base_room()
    g.member("ban", CAROL, "ban", sender=BOB, prev=["mallory"], ts=100)
    g.add("demote", PL, ALICE, {"users": {ALICE: 100, BOB: 0}}, "", prev=["mallory"], ts=200)
    v2 = g.state("ban", "demote")
    # The demotion (sender power 100) is ordered before the ban (50), which
    # then fails: bob no longer has the ban level. Carol stays.
    assert v2[(PL, "")] == "$demote"
    assert v2[(MEMBER, CAROL)] == "$carol"
    depth = g.state("ban", "demote", algorithm="depth")
    assert depth[(PL, "")] == "$demote"
    assert depth[(MEMBER, CAROL)] == "$ban", "the depth rule runs no auth checks"
    # Had the demotion seen the ban, the ban would stand under both rules.
    g.add("late", PL, ALICE, {"users": {ALICE: 100, BOB: 0}}, "", prev=["ban"])
    assert g.state("late")[(MEMBER, CAROL)] == "$ban"


def test_depth_rule_resets_a_ban_that_v2_keeps() -> None:
    """Mallory, on a long fork, changes her display name while Alice bans her."""
    g = base_room()
    g.member("ban", MALLORY, "ban", sender=ALICE, prev=["mallory"])
    prev = "mallory"
    for i in range(8):
        prev = g.add(f"chat{i}", "m.room.message", MALLORY, {"body": str(i)}, prev=[prev])[1:]
    g.add(
        "rename", MEMBER, MALLORY, {"membership": "join", "displayname": "M"}, MALLORY, prev=[prev]
    )
    assert g.events["$rename"]["depth"] > g.events["$ban"]["depth"]
    assert g.state("ban", "rename", algorithm="depth")[(MEMBER, MALLORY)] == "$rename"
    assert g.state("ban", "rename")[(MEMBER, MALLORY)] == "$ban"


def test_state_set_by_a_concurrently_kicked_user_is_dropped_by_v2() -> None:
    g = base_room()
    g.add("t0", TOPIC, ALICE, {"topic": "zero"}, "", prev=["mallory"])
    g.add("t1", TOPIC, BOB, {"topic": "one"}, "", prev=["t0"])
    g.member("kick", BOB, "leave", sender=ALICE, prev=["t0"])
    assert g.state("t1", "kick")[(TOPIC, "")] == "$t0"
    assert g.state("t1", "kick")[(MEMBER, BOB)] == "$kick"
    assert g.state("t1", "kick", algorithm="depth")[(TOPIC, "")] == "$t1"


def test_key_missing_from_one_side_is_conflicted_in_v2() -> None:
    g = base_room()
    g.add("t1", TOPIC, BOB, {"topic": "one"}, "", prev=["mallory"])
    g.member("kick", BOB, "leave", sender=ALICE, prev=["mallory"])
    _, conflicted = separate([g.calc.state_after("$t1"), g.calc.state_after("$kick")])
    assert (TOPIC, "") in conflicted
    assert (TOPIC, "") not in g.state("t1", "kick")  # bob's topic fails once he is kicked
    assert g.state("t1", "kick", algorithm="depth")[(TOPIC, "")] == "$t1"


def test_unconflicted_state_is_kept() -> None:
    g = base_room()
    g.add("t1", TOPIC, BOB, {"topic": "one"}, "", prev=["mallory"])
    g.add("n1", "m.room.name", ALICE, {"name": "a"}, "", prev=["t1"])
    g.add("n2", "m.room.name", ALICE, {"name": "b"}, "", prev=["t1"])
    for algorithm in ALGORITHMS:
        assert g.state("n1", "n2", algorithm=algorithm)[(TOPIC, "")] == "$t1"


def test_power_sort_and_mainline() -> None:
    g = base_room()
    g.add("pl2", PL, ALICE, {"users": {ALICE: 100, BOB: 50, CAROL: 50}}, "", prev=["mallory"])
    g.add("t1", TOPIC, CAROL, {"topic": "c"}, "", prev=["pl2"])
    g.add("t2", TOPIC, BOB, {"topic": "b"}, "", prev=["mallory"])
    ev = g.events
    assert is_power_event(ev["$pl2"]) and not is_power_event(ev["$t1"])
    assert is_power_event(ev["$create"]) and is_power_event(ev["$jr"])
    assert not is_power_event(ev["$bob"])
    # t2 hangs off the older power levels, so it sorts first on the mainline.
    assert mainline_sort(["$t1", "$t2"], "$pl2", ev) == ["$t2", "$t1"]
    assert g.state("t1", "t2")[(TOPIC, "")] == "$t1"
    # Power sort: auth events before the events they authorize.
    order = reverse_topological_power_sort(["$pl2", "$pl"], {"$pl", "$pl2"}, ev)
    assert order == ["$pl", "$pl2"]


def test_auth_difference_small() -> None:
    g = base_room()
    g.add("pl2", PL, ALICE, {"users": {ALICE: 100, BOB: 60}}, "", prev=["mallory"])
    g.add("t1", TOPIC, BOB, {"topic": "x"}, "", prev=["pl2"])
    g.add("t2", TOPIC, ALICE, {"topic": "y"}, "", prev=["mallory"])
    sets = [g.calc.state_after("$t1"), g.calc.state_after("$t2")]
    assert auth_difference(sets, g.events) == {"$pl2", "$t1", "$t2"}


# -- state at a point, rejection --------------------------------------------------


def test_rejected_events_change_nothing() -> None:
    g = base_room()
    bad = g.add("bad", TOPIC, CAROL, {"topic": "no power"}, "", prev=["mallory"])
    assert g.calc.is_rejected(bad)
    assert "power" in g.calc.rejection(bad)
    assert g.calc.state_after(bad) == g.calc.state_before(bad)
    # Citing a rejected event as an auth event gets an event rejected too.
    follow = make_event(
        room_id=ROOM,
        type="m.room.message",
        sender=CAROL,
        content={},
        prev_events=[bad],
        auth_events=["$create", "$pl", "$carol", bad],
        known=g.events,
        event_id="$follow",
    )
    g.events["$follow"] = follow
    assert "rejected" in g.calc.rejection("$follow")


def test_event_failing_against_state_before_is_rejected() -> None:
    g = base_room()
    g.member("kick", CAROL, "leave", sender=ALICE, prev=["mallory"])
    # Carol's message cites her old join (valid auth events) but comes after the kick.
    msg = make_event(
        room_id=ROOM,
        type="m.room.message",
        sender=CAROL,
        content={},
        prev_events=["$kick"],
        auth_events=["$create", "$pl", "$carol"],
        known=g.events,
        event_id="$msg",
    )
    g.events["$msg"] = msg
    assert "not joined" in g.calc.rejection("$msg")


def test_state_key_spellings_share_a_key_and_deletions_enter_state() -> None:
    g = base_room()
    g.add("t1", TOPIC, ALICE, {"topic": "x"}, "", prev=["mallory"])
    g.add("t2", TOPIC, ALICE, {"topic": "y"}, "_", prev=["t1"])
    assert g.state("t2")[(TOPIC, "")] == "$t2"
    g.add("del", TOPIC, ALICE, None, "_", prev=["t2"])
    assert g.state("del")[(TOPIC, "")] == "$del"
    assert "content" not in g.events["$del"]


def test_state_at_is_independent_of_tip_order() -> None:
    g = base_room()
    g.add("t1", TOPIC, ALICE, {"topic": "x"}, "", prev=["mallory"])
    g.member("ban", CAROL, "ban", sender=BOB, prev=["mallory"])
    g.add("n", "m.room.name", BOB, {"name": "n"}, "", prev=["mallory"])
    tips = ["$t1", "$ban", "$n"]
    for algorithm in ALGORITHMS:
        results = {
            json.dumps(sorted(state_at(g.events, order, algorithm).items()))
            for order in (tips, tips[::-1], tips[1:] + tips[:1])
        }
        assert len(results) == 1
    reordered = dict(reversed(list(g.events.items())))
    assert state_at(reordered, tips) == state_at(g.events, tips)


def test_state_at_edge_cases() -> None:
    g = base_room()
    assert state_at(g.events, []) == {}
    assert forward_extremities(g.events) == ["$mallory"]
    assert state_at(g.events, ["$mallory", "$mallory"]) == g.state("mallory")
    with pytest.raises(KeyError):
        state_at(g.events, ["$nope"])
    with pytest.raises(ValueError):
        resolve("v3", [], g.events)
    with pytest.raises(ValueError):
        StateCalculator(g.events, "v3")
    a = dict(g.events["$mallory"], event_id="$a", prev_events=["$b"])
    b = dict(g.events["$mallory"], event_id="$b", prev_events=["$a"])
    cyclic = {**g.events, "$a": a, "$b": b}
    calc = StateCalculator(cyclic)
    with pytest.raises(ValueError, match="cycle"):
        calc.state_after("$a")
    assert calc.state_after("$mallory") == g.state("mallory")  # still usable


def test_state_at_memo_evicts_and_stays_correct() -> None:
    g = base_room()
    for name in ("t1", "t2", "t3"):
        g.add(name, TOPIC, ALICE, {"topic": name}, "", prev=["mallory"])
    calc = StateCalculator(g.events)
    calc.AT_MEMO = 2
    pairs = [["$t1", "$t2"], ["$t2", "$t3"], ["$t1", "$t3"], ["$t2", "$t1"]]
    first = [calc.state_at(p) for p in pairs]
    again = [calc.state_at(p) for p in pairs]
    assert first == again == [state_at(g.events, p) for p in pairs]
    assert len(calc._at) <= 2
    first[0].clear()  # answers are copies
    assert calc.state_at(pairs[0]) == again[0]


def test_nested_round_trip() -> None:
    state = base_room().state("mallory")
    nested = to_nested(state)
    json.dumps(nested)
    assert from_nested(nested) == state


def test_resolve_returns_sorted_keys() -> None:
    g = base_room()
    g.add("t1", TOPIC, ALICE, {"topic": "x"}, "", prev=["mallory"])
    g.add("n", "m.room.name", BOB, {"name": "n"}, "", prev=["mallory"])
    for algorithm in ALGORITHMS:
        out = resolve(algorithm, [g.calc.state_after("$t1"), g.calc.state_after("$n")], g.events)
        assert list(out) == sorted(out)


# -- generated rooms ---------------------------------------------------------------


def _generator():
    sys.path.insert(0, str(pathlib.Path(__file__).parent))
    try:
        import test_stateres_oracle
    finally:
        sys.path.pop(0)
    return test_stateres_oracle


def _naive_auth_difference(state_sets, events):
    chains = []
    for state in state_sets:
        seen: set[str] = set()
        todo = list(state.values())
        while todo:
            eid = todo.pop()
            if eid not in seen:
                seen.add(eid)
                todo.extend(events[eid]["auth_events"])
        chains.append(seen)
    return set().union(*chains) - set(chains[0]).intersection(*chains[1:])


def test_auth_difference_matches_the_naive_definition() -> None:
    gen = _generator()
    checked = 0
    for seed in range(40):
        room = gen.generate_room(seed)
        for state_sets in room.resolution_inputs():
            assert auth_difference(state_sets, room.events) == _naive_auth_difference(
                state_sets, room.events
            )
            checked += 1
    assert checked > 50


def test_v2_is_independent_of_state_set_order() -> None:
    gen = _generator()
    for seed in range(40):
        room = gen.generate_room(seed)
        for state_sets in room.resolution_inputs():
            want = resolve("v2", state_sets, room.events)
            assert resolve("v2", state_sets[::-1], room.events) == want


_DIGEST = """
import hashlib, json, sys
sys.path.insert(0, {tests!r})
import test_stateres_oracle as gen
from mxsim.models.stateres import resolve, state_at
h = hashlib.sha256()
for seed in range(12):
    room = gen.generate_room(seed)
    for sets in room.resolution_inputs():
        for algorithm in ("v2", "depth"):
            h.update(json.dumps(sorted(resolve(algorithm, sets, room.events).items())).encode())
    for algorithm in ("v2", "depth"):
        tips = sorted(room.events)[-3:]
        h.update(json.dumps(sorted(state_at(room.events, tips, algorithm).items())).encode())
    h.update(json.dumps(sorted(room.events)).encode())
print(h.hexdigest())
"""


def test_results_do_not_depend_on_the_hash_seed() -> None:
    code = _DIGEST.format(tests=str(pathlib.Path(__file__).parent))
    digests = set()
    for seed in ("0", "1", "4242"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        out = subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        digests.add(out.stdout.strip())
    assert len(digests) == 1, digests


def test_long_room_stays_fast() -> None:
    """A 3,000-event room with a fork every few events: state everywhere, quickly."""
    g = base_room()
    users = [ALICE, BOB]
    tips = ["mallory"]
    start = time.perf_counter()
    for i in range(1500):
        sender = users[i % 2]
        a = g.add(f"a{i}", TOPIC, sender, {"topic": str(i)}, "", prev=tips)
        b = g.add(f"b{i}", "m.room.message", sender, {"body": str(i)}, prev=tips)
        tips = sorted([a, b]) if i % 3 else [a]
        tips = [t[1:] for t in tips]
        if i % 50 == 0:
            g.add(f"pl{i}", PL, ALICE, {"users": {ALICE: 100, BOB: 50 + i % 7}}, "", prev=tips)
            tips = [f"pl{i}"]
    g.state(*tips)
    elapsed = time.perf_counter() - start
    assert not any(g.calc.is_rejected(e) for e in g.events)
    assert elapsed < 30, elapsed
