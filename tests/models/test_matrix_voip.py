"""VoIP on the matrix model: calls as room events with ``updates`` children, read
through one long-polled event stream per device, across federation."""

from __future__ import annotations

import copy

import pytest
from witness import initially, system

from mxsim.models import call as C
from mxsim.sim.timed import TimedRun
from mxsim.sim.walks import walks

ANSWER = "m.call.answer"


def _carried(msg: dict, etype: str) -> bool:
    return any(r.get("event_type") == etype for r in msg.get("send", []))


def _walks(*sets: str, count: int = 400):
    sys_ = system("voip-federated", *sets)
    return walks(sys_, count, seed=0, max_seconds=120)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_federated_call_settles_in_timed_runs_with_losses(seed):
    sys_ = system("voip-federated")
    result = TimedRun(sys_, seed, sys_.scenario.run.until).run()
    assert result.violation is None, result.verdicts
    assert result.quiescent


def test_random_search_finds_no_violation_with_the_ack():
    report = _walks()
    assert "violated" not in report.verdicts.values(), report.verdicts
    assert report.verdicts["concurrent_answers"] == "reached"


def test_without_the_ack_callees_that_answered_keep_waiting_across_federation():
    report = _walks("caller_acknowledges=false")
    assert report.verdicts["caller_and_callee_agree"] == "violated", report.verdicts


def test_the_call_and_its_children_are_events_of_the_room_graph_on_both_servers():
    sys_ = system("voip-federated")
    run = TimedRun(sys_, 1, sys_.scenario.run.until)
    run.run()
    stores = [
        run.states[sys_.names.index(s)]["rooms"]["stores"]["!call:hs1"] for s in ("hs1", "hs2")
    ]
    for store in stores:
        calls = [e for e in store["recent"] if store["events"][e]["type"] == C.INVITE]
        assert len(calls) == 1
        kids = [e for e in store["recent"] if store["events"][e].get("updates") == calls[0]]
        assert {store["events"][k]["type"] for k in kids} >= {ANSWER, C.ACK, C.HANGUP}
        for k in kids:  # every child was placed in the graph after its parent
            assert store["events"][k]["depth"] > store["events"][calls[0]]["depth"]
    assert set(stores[0]["after"]) == set(stores[1]["after"])


def test_concurrent_answers_is_false_initially():
    assert not initially(system("voip-federated"), "concurrent_answers")


class Ctx:
    """Records what a handler sends."""

    def __init__(self) -> None:
        self.sent: list = []

    def send(self, dst, msg) -> None:
        self.sent.append((dst, msg))

    def set_timer(self, name, ms) -> None:
        pass

    def cancel_timer(self, name) -> None:
        pass

    def metric(self, name, value=1) -> None:
        pass


def _hs1():
    sys_ = system("voip-federated")
    world, _ = sys_.initial()
    i = sys_.names.index("hs1")
    return sys_.nodes[i], copy.deepcopy(sys_.view(world).state("hs1"))


def _invite_poll(pos: int = 0) -> dict:
    invite = {
        "type": "send_event",
        "aid": 0,
        "whoami": "@alice:hs1",
        "out_of_order": True,
        "room": "!call:hs1",
        "event_type": C.INVITE,
        "content": {"call_id": "call.alice", "device_id": "alice", "callees": ["@bob:hs2"]},
    }
    return {
        "type": "events",
        "user": "@alice:hs1",
        "out_of_order": True,
        "from": pos,
        "send": [invite],
    }


def _answers(ctx: Ctx) -> list[dict]:
    return [m for d, m in ctx.sent if d == "alice" and m["type"] == "stream"]


def test_a_request_sent_again_makes_one_event():
    hs, state = _hs1()
    hs.on_message(Ctx(), state, "alice", _invite_poll())
    hs.on_message(Ctx(), state, "alice", _invite_poll())  # a copy, or sent again after a loss
    store = state["rooms"]["stores"]["!call:hs1"]
    assert [e for e in store["recent"] if store["events"][e]["type"] == C.INVITE] == ["$hs1.1"]


def test_a_lost_stream_answer_is_sent_again_on_the_next_poll():
    hs, state = _hs1()
    first = Ctx()
    hs.on_message(first, state, "alice", _invite_poll())
    (answer,) = _answers(first)
    again = Ctx()  # the answer was lost: alice polls again from where it was
    hs.on_message(again, state, "alice", {**_invite_poll(), "send": []})
    assert _answers(again) == [answer]
    later = Ctx()  # it arrived: the next poll waits
    hs.on_message(later, state, "alice", {**_invite_poll(answer["pos"]), "send": []})
    assert _answers(later) == []
    assert state["stream"]["devices"]["alice"]["poll"]["queue"] == []
