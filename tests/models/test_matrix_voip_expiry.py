"""voip-expiry: Alice calls Bob, whose user never picks up; Alice hangs up and
the hangup is lost for good. The invite's ``lifetime`` (proposal, "VoIP",
"Expiry": "Of invites"; "Of calls themselves (as they may never send a
m.call.hangup)") ends Bob's ringing anyway; with ``call_expiry = "off"`` Bob
rings for ever (``callees_settled`` is violated)."""

from __future__ import annotations

import functools

from witness import check, cli, drive, initially, records, system, timed, turns_true

NAME = "voip-expiry"
GUARD = "ring_expired"


@functools.cache
def _checked(*sets):
    return check(NAME, *sets)


def _run(*sets: str):
    return timed(NAME, *sets)


def test_the_check_is_complete_holds_and_reaches_the_guard():
    report = _checked().report
    assert report.complete and report.verdict == "holds", report.verdicts
    assert report.verdicts[GUARD] == "reached"


def test_without_expiry_bob_rings_for_ever():
    checked = _checked("call_expiry=off")
    report = checked.report
    assert report.verdicts["callees_settled"] == "violated"
    assert report.verdicts[GUARD] != "reached"
    found = {c.property: c.actions for c in report.counterexamples}
    assert len(found["callees_settled"]) == 12
    world = checked.system.initial()[0]
    for action in found["callees_settled"]:
        world, _ = checked.system.apply(world, action)
    bob = checked.system.view(world).state("bob")["calls"]["calls"]["call.alice"]
    assert bob["state"] == "ringing"


def test_the_timed_run_loses_the_hangup_and_the_ring_expires():
    result = _run()
    assert result.quiescent and result.counts["dropped"] > 0
    assert set(result.verdicts.values()) <= {"holds", "reached"}, result.verdicts
    assert result.verdicts[GUARD] == "reached"
    assert _run("call_expiry=off").verdicts["callees_settled"] == "violated"


def test_the_guard_is_false_in_the_initial_world():
    assert not initially(system(NAME), GUARD)


def test_the_witness_is_a_hangup_lost_for_good_and_a_ring_that_expires():
    checked = _checked()
    sys_, actions = checked.system, checked.report.witnesses[GUARD]
    assert turns_true(sys_, GUARD, actions) == len(actions) - 1
    steps = records(sys_, actions)
    hangup = next(i for i, s in enumerate(steps) if s["act"] == "input")
    assert steps[hangup]["node"] == "alice" and steps[hangup]["msg"] == {"op": "hangup"}
    lost = [s for s in steps[hangup:] if s["act"] == "drop" and "alice" in (s["node"], s["src"])]
    assert len(lost) == 2  # what Alice sent or was sent, and its one resend
    last = steps[-1]
    assert last == {**last, "act": "timer", "node": "bob", "timer": "calls:expire:call.alice"}
    # No server ever took a hangup: only Bob's own timer ended the ring.
    sent = [m for s in steps for _, m in s["sends"]]
    assert not any(
        r.get("event_type") == "m.call.hangup" for m in sent for r in [m, *m.get("send", [])]
    )


def test_a_caller_whose_invite_expires_hangs_up_and_says_why():
    def no_hangup(raw):
        raw["workload"] = []
        raw["check"]["timers"] = "any"  # the timer may fire with messages in flight

    sys_ = system(NAME, edit=no_hangup)
    moves = [("deliver", "hs", "alice"), ("deliver", "alice", "hs")]
    world, taken = drive(sys_, [*moves, ("timer", "alice", "calls:expire:call.alice")])
    last = records(sys_, taken)[-1]
    sends = [r for _, m in last["sends"] for r in [m, *m.get("send", [])]]
    hangups = [r for r in sends if r.get("event_type") == "m.call.hangup"]
    assert [h["content"]["reason"] for h in hangups] == ["invite expired"]
    alice = sys_.view(world).state("alice")["calls"]["calls"]["call.alice"]
    assert alice["state"] == "ended" and alice["reason"] == "invite expired"
    # Off: the lifetime is still in the invite, but no device arms a timer for it.
    off = system(NAME, "call_expiry=off", edit=no_hangup)
    world, _ = drive(off, moves)
    assert not [t for t in world.timers if "expire" in t[1]]


def test_the_new_scenarios_run_to_the_same_bytes_under_any_hash_seed():

    for name in ("voip-expiry", "rejected-state", "room-actions"):
        hashes = set()
        for seed in ("0", "99"):
            done = cli("run", name, "--json", hash_seed=seed)
            assert done.returncode == 0, done.stderr
            hashes.add(done.stdout)
        assert len(hashes) == 1, name
