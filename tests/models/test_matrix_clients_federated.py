"""clients-federated: devices with sessions, action IDs, local echo and a filter
join a room over federation and talk across a partition. The timed run and
random walks hold, the bounded check violates nothing and reaches every guard,
each guard is false until its race and its witness shows the race; a remote
join's late answer carries its request, so a retransmitted join is answered."""

from __future__ import annotations

import functools

import pytest
from test_matrix_sessions import RACES
from witness import check, initially, records, system, timed, turns_true

from mxsim.experiments.jobs import load_scenario

NAME = "clients-federated"
HOLD = ["exactly_once", "local_echo_settles", "state_consistency", "stream_complete"]


@functools.cache
def _checked():
    return check(NAME)


@functools.cache
def _walked():
    from mxsim.sim.walks import walks

    # Swarm walks (as ``check --random``): each walk draws its own fault and
    # scheduling weights.
    return walks(load_scenario(NAME).system(), 300, 1, 0, 200, None, swarm=True)


def _guards() -> list[str]:
    sys_ = system(NAME)
    return [p for p in sys_.scenario.properties if sys_.model.property(p).kind == "sometimes"]


def test_the_scenario_spans_two_servers_with_every_client_part():
    loaded = load_scenario(NAME)
    kinds = {n.name: n.kind for n in loaded.scenario.nodes}
    assert sorted(k for k in kinds.values()) == ["device", "device", "homeserver", "homeserver"]
    bob = next(n for n in loaded.scenario.nodes if n.name == "bob1").config
    assert {"sessions", "echo", "filters", "joining"} <= set(bob) and bob["server"] == "hs2"
    partition = [f for f in loaded.scenario.faults if f.kind == "partition"]
    assert partition, "the servers are partitioned in the timed run"


def test_timed_run_holds_and_shows_every_race():
    result = timed(NAME)
    assert result.quiescent
    assert set(result.verdicts.values()) <= {"holds", "reached"}, result.verdicts
    assert result.counts["dropped"] > 0  # the partition cut messages


def test_random_walks_hold_and_reach_every_guard():
    report = _walked()
    assert "violated" not in report.verdicts.values(), report.verdicts
    assert {p: report.verdicts[p] for p in HOLD} == dict.fromkeys(HOLD, "holds")
    assert {g: report.verdicts[g] for g in _guards()} == dict.fromkeys(_guards(), "reached")


def test_the_bounded_check_violates_nothing_and_reaches_every_guard():
    report = _checked().report
    assert not report.complete and report.verdict == "undecided", report.verdict
    assert "violated" not in report.verdicts.values(), report.verdicts
    assert {g: report.verdicts[g] for g in _guards()} == dict.fromkeys(_guards(), "reached")


def test_guards_are_false_in_the_initial_world():
    assert [g for g in _guards() if initially(system(NAME), g)] == []


def _federation_resent(steps):
    last = steps[-1]
    assert last["act"] == "timer" and last["timer"].startswith("federation:retry")
    server, dst = last["node"], last["timer"].split(":", 2)[2]
    again = [m for d, m in last["sends"] if d == dst and m["type"] == "fed.event"]
    assert again, "the retry sent an event again"
    seqs = {m["seq"] for m in again}
    # Its first copy was lost, or the acknowledgement of it was.
    first = [
        j
        for j, s in enumerate(steps[:-1])
        if s["node"] == server
        and any(d == dst and m["type"] == "fed.event" and m["seq"] in seqs for d, m in s["sends"])
    ]
    assert first
    lost = [
        s for s in steps[:-1] if s["act"] == "drop" and s["msg"]["type"] in ("fed.event", "fed.ack")
    ]
    assert lost, "a federation message was lost before the resend"


WITNESSES = {**RACES, "federation_resent": _federation_resent}


@pytest.mark.parametrize("guard", _guards())
def test_bundled_witness_shows_the_race(guard):
    checked = _checked()
    sys_ = checked.system
    actions = checked.report.witnesses[guard]
    assert turns_true(sys_, guard, actions) == len(actions) - 1
    if guard == "out_of_order_arrival":
        last = records(sys_, actions)[-1]
        assert last["node"] in ("hs1", "hs2") and last["msg"]["type"] == "fed.event"
        return
    WITNESSES[guard](records(sys_, actions))


def _no_drops(raw):
    raw["check"]["drops"] = 0


def test_without_losses_nothing_is_resent():
    checked = check(NAME, edit=_no_drops, max_states=30000)
    assert checked.report.verdicts["federation_resent"] != "reached"


def test_a_retransmitted_remote_join_is_answered_with_its_request():
    """The join waits for hs1 (fed.make_join); its answer comes later and must
    name the request (``rid``, session) and be kept for a retransmission."""
    from test_matrix_action_ids import Ctx

    from mxsim.models.homeserver import Homeserver

    loaded = load_scenario(NAME)
    spec = next(n for n in loaded.scenario.nodes if n.name == "hs2")
    hs2 = Homeserver("hs2", spec.config, loaded.system().switches)
    state = hs2.initial_state()
    sw = loaded.system().switches
    hs2.on_start(Ctx("hs2", sw), state)
    base = {"whoami": "@bob:hs2", "out_of_order": True}
    ctx = Ctx("hs2", sw)
    hs2.on_message(ctx, state, "bob1", {"type": "filter", "rid": 0, "session": None, **base,
                                        "filter": {"limit": 2}})  # fmt: skip
    session = ctx.sent[-1][1]["session"]
    join = {"type": "join", "aid": 0, "rid": 1, "session": session, "try": 1, "txn": 0,
            "room": "!r:hs1", "via": ["hs1"], **base}  # fmt: skip
    ctx = Ctx("hs2", sw)
    hs2.on_message(ctx, state, "bob1", join)
    assert [m["type"] for _, m in ctx.sent] == ["fed.make_join"]
    # hs1 answers with the room; the join is made and answered with its request.
    from test_matrix_history import server

    hs1, st1 = server("hs1")
    ask = ctx.sent[0][1]
    ctx1 = Ctx("hs1", sw)
    hs1.on_message(ctx1, st1, "hs2", {**ask, "room": "!r:hs1"})
    payload = ctx1.sent[0][1]
    payload = {**payload, "room": "!r:hs1", "key": ask["key"]}
    ctx = Ctx("hs2", sw)
    hs2.on_message(ctx, state, "hs1", payload)
    answers = [m for d, m in ctx.sent if d == "bob1" and m.get("type") == "result"]
    assert answers and answers[0]["rid"] == 1 and answers[0]["session"] == session
    ctx = Ctx("hs2", sw)
    hs2.on_message(ctx, state, "bob1", {**join, "try": 2})
    again = [m for d, m in ctx.sent if d == "bob1"]
    assert again and again[0]["rid"] == 1 and again[0]["event_id"] == answers[0]["event_id"]
