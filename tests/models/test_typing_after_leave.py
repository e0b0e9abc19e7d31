"""A member who leaves a room while typing stops being one of its typing users
(proposal, "Typing"; found by a longer random-clients run)."""

from __future__ import annotations

from witness import check, system

from mxsim.sim.timed import TimedRun


def _alice_leaves_while_typing(raw):
    raw["workload"] = [
        {"at": 100, "node": "alice1", "input": {"op": "typing", "room": "!r:hs", "typing": True}},
        {"at": 300, "node": "alice1", "input": {"op": "leave", "room": "!r:hs"}},
    ]
    raw["properties"]["check"] = ["typing_follows_sessions", "typing_seen"]


def test_a_timed_run_republishes_the_room_s_typing_after_the_leave():
    sys_ = system("typing-presence", edit=_alice_leaves_while_typing)
    result = TimedRun(sys_, 1, sys_.scenario.run.until).run()
    assert result.verdicts == {"typing_follows_sessions": "holds", "typing_seen": "reached"}


def test_every_order_of_the_leave_and_the_typing_holds():
    report = check("typing-presence", edit=_alice_leaves_while_typing).report
    assert report.complete
    assert report.verdicts == {"typing_follows_sessions": "holds", "typing_seen": "reached"}
