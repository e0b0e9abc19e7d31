"""Glare across two servers (issue 11, VoIP): Alice on hs1 and Bob on hs2 call
each other at once. Each invite reaches the other side only over federation, so
each caller is first shown the other's call by its own server after a
``fed.event``; the lower call ID still wins on both sides."""

from __future__ import annotations

import functools

from witness import check, initially, system

INVITE = "m.call.invite"
NAME = "voip-glare-federated"


@functools.cache
def _bundled():
    return check(NAME)


def _stream_invites(msg: dict) -> list[dict]:
    if msg.get("type") != "stream":
        return []
    return [e["event"] for e in msg.get("events", []) if e["event"]["type"] == INVITE]


def test_the_bundled_check_is_complete_and_holds():
    report = _bundled().report
    assert report.complete
    assert report.verdicts == {
        "one_callee_in_call": "holds",
        "callees_settled": "holds",
        "caller_and_callee_agree": "holds",
        "hangup_ends_call": "holds",
        "glare": "reached",
    }


def test_glare_witness_is_the_other_caller_s_invite_brought_by_federation():
    checked = _bundled()
    steps = checked.witness("glare")
    last = steps[-1]
    dev, home = last["node"], last["src"]
    config = checked.system.view(checked.system.initial()[0]).config(dev)
    assert last["act"] == "deliver" and home == config["server"]
    theirs = [e for e in _stream_invites(last["msg"]) if e["sender"] != config["user"]]
    assert theirs and theirs[0]["sender"] in config["calls"]["call"]
    # That invite was made on the other server and reached the caller's own server
    # as a federation event before the stream showed it.
    fed = [
        s
        for s in steps[:-1]
        if s["act"] == "deliver"
        and s["node"] == home
        and s["msg"].get("type") == "fed.event"
        and s["msg"]["event"]["type"] == INVITE
        and s["msg"]["event"]["sender"] == theirs[0]["sender"]
    ]
    assert fed and fed[0]["src"] != home


def test_glare_is_false_initially_and_vacuous_when_only_one_side_calls():
    assert not initially(system(NAME), "glare")

    def only_alice_calls(raw):
        for n in raw["nodes"]:
            if n["name"] != "alice":
                n["config"].get("calls", {}).pop("call", None)

    checked = check(NAME, edit=only_alice_calls)
    assert checked.report.complete
    assert checked.report.verdicts["glare"] == "vacuous"


def test_a_caller_that_does_not_acknowledge_leaves_the_glare_unsettled():
    report = check(NAME, "caller_acknowledges=false").report
    assert report.complete
    assert report.verdicts["callees_settled"] == "violated"
    assert report.verdicts["caller_and_callee_agree"] == "violated"
    assert report.verdicts["one_callee_in_call"] == "holds"
