"""Presence and typing across federation (issue 11; ``models/homeserver/ephemeral.py``):
hs2 ends up showing Bob what hs1 last published for Alice, though an update may be
lost or overtaken; sent once and applied as it arrives, it does not."""

from __future__ import annotations

import functools

import pytest
from witness import check, initially, system

from mxsim.sim.timed import TimedRun

NAME = "typing-presence-federated"
GUARDS = ("remote_typing_seen", "ephemeral_overtaken")


@functools.cache
def _bundled():
    return check(NAME)


def _ephemeral(step: dict, node: str = "hs2") -> dict | None:
    msg = step.get("msg") or {}
    if step["act"] == "deliver" and step["node"] == node and msg.get("type") == "fed.ephemeral":
        return msg
    return None


def test_the_bundled_check_is_complete_and_every_guard_is_reached():
    report = _bundled().report
    assert report.complete
    assert report.verdicts == {
        "remote_typing_agrees": "holds",
        "remote_presence_agrees": "holds",
        "typing_follows_sessions": "holds",
        "presence_follows_sessions": "holds",
        "never_typing_forever": "holds",
        "remote_typing_seen": "reached",
        "ephemeral_overtaken": "reached",
    }


def test_updates_sent_once_leave_hs2_showing_what_is_no_longer_true():
    report = check(NAME, "ephemeral_delivery=once").report
    assert report.verdicts["remote_typing_agrees"] == "violated"
    assert report.verdicts["remote_presence_agrees"] == "violated"
    # The local rules are not what breaks.
    assert report.verdicts["typing_follows_sessions"] == "holds"


@pytest.mark.parametrize("guard", GUARDS)
def test_guards_are_false_initially(guard):
    assert not initially(system(NAME), guard)


def test_remote_typing_seen_witness_is_bob_shown_alice_s_typing_by_hs2():
    checked = _bundled()
    steps = checked.witness("remote_typing_seen")
    last = steps[-1]
    assert last["act"] == "deliver" and last["node"] == "bob1" and last["src"] == "hs2"
    typing = [e["event"] for e in last["msg"].get("events", []) if e["event"]["type"] == "m.typing"]
    assert any("@alice:hs1" in ev["users"] for ev in typing)
    # hs2 learnt it from hs1, over federation.
    told = [m for s in steps[:-1] if (m := _ephemeral(s)) and m["edu"] == "typing"]
    assert told and "@alice:hs1" in told[0]["users"]


def test_ephemeral_overtaken_witness_is_an_older_update_arriving_after_a_newer_one():
    steps = _bundled().witness("ephemeral_overtaken")
    last = _ephemeral(steps[-1])
    assert last is not None
    earlier = [
        m
        for s in steps[:-1]
        if (m := _ephemeral(s)) and (m["edu"], m["key"]) == (last["edu"], last["key"])
    ]
    assert earlier and max(m["n"] for m in earlier) > last["n"]


def test_nothing_is_overtaken_with_one_update_per_user_and_room():
    def typing_on_only(raw):
        # The session starts with the typing request: "online", then the typing.
        raw["workload"] = [w for w in raw["workload"] if w["input"].get("typing") is True]

    checked = check(NAME, edit=typing_on_only)
    assert checked.report.complete
    assert checked.report.verdicts["ephemeral_overtaken"] == "vacuous"
    assert checked.report.verdicts["remote_typing_seen"] == "reached"


def test_without_the_ephemeral_part_no_device_sees_another_server_s_typing():
    def no_ephemeral(raw):
        raw["switches"].pop("ephemeral_delivery")
        raw["properties"]["check"] = ["remote_typing_seen", "typing_follows_sessions"]
        for n in raw["nodes"]:
            n["config"].pop("ephemeral", None)

    report = check(NAME, edit=no_ephemeral).report
    assert report.complete
    assert report.verdicts["remote_typing_seen"] == "vacuous"


@pytest.mark.parametrize("seed", range(1, 9))
def test_timed_runs_with_loss_agree_in_the_end(seed):
    sys_ = system(NAME)
    result = TimedRun(sys_, seed, sys_.scenario.run.until).run()
    assert result.quiescent
    assert result.verdicts["remote_typing_agrees"] == "holds"
    assert result.verdicts["remote_presence_agrees"] == "holds"
