"""The VoIP model's guards are false until their race happens, and each bundled
check's witness shows that race."""

from __future__ import annotations

from witness import check, drive, holds, initially, system

ANSWER = "m.call.answer"


def _answers_in(msg: dict) -> list[str]:
    """Devices whose answers a stream message carries."""
    return [
        c["device_id"] for b in msg.get("bundles", []) for c in b["children"] if c["type"] == ANSWER
    ]


def _answer_steps(steps: list[dict]) -> dict[str, int]:
    """Device -> the step at which it made (first sent) its answer."""
    out: dict[str, int] = {}
    for j, s in enumerate(steps):
        for _, m in s["sends"]:
            for ev in m.get("events", []):
                if ev["type"] == ANSWER:
                    out.setdefault(ev["device_id"], j)
    return out


def _one_callee_device(raw):
    keep = {"hs", "alice", "bob1"}
    raw["nodes"] = [n for n in raw["nodes"] if n["name"] in keep]
    hs = next(n for n in raw["nodes"] if n["name"] == "hs")
    hs["config"]["devices"] = {d: u for d, u in hs["config"]["devices"].items() if d in keep}


# -- concurrent_answers ---------------------------------------------------------------


def test_concurrent_answers_is_false_initially():
    assert not initially(system("voip-1-to-n"), "concurrent_answers")


def test_concurrent_answers_is_vacuous_with_one_callee_device():
    checked = check("voip-1-to-n", edit=_one_callee_device)
    assert checked.report.complete
    assert checked.report.verdicts["concurrent_answers"] == "vacuous", checked.report.verdicts


def _has_answer(msg: dict) -> bool:
    return any(ev["type"] == ANSWER for ev in msg["events"])


def test_an_answer_given_after_the_other_was_seen_is_not_concurrent():
    """bob1 answers and the server takes it; only then does bob2 get the call,
    with bob1's answer in the bundle, and answer too. The server holds two
    answers (the old guard's reading), but they are ordered, not concurrent."""
    sys_ = system("voip-1-to-n")
    world, _ = drive(
        sys_,
        [
            ("deliver", "hs", "alice"),  # the invite (alice's first sync)
            ("deliver", "hs", "bob1"),  # bob1 asks: gets the call
            ("deliver", "bob1", "hs"),  # bob1 rings and answers
            ("deliver", "hs", "bob1", _has_answer),  # the server takes bob1's answer
            ("deliver", "hs", "bob2"),  # bob2 asks only now: the bundle holds bob1's answer
            ("deliver", "bob2", "hs", lambda m: _answers_in(m) == ["bob1"]),
            ("deliver", "hs", "bob2", _has_answer),  # bob2's answer reaches the server
        ],
    )
    bundle = sys_.view(world).state("hs")["calls"]["$call.alice"]
    assert [c["device_id"] for c in bundle["children"] if c["type"] == ANSWER] == [
        "bob1",
        "bob2",
    ]
    assert not holds(sys_, "concurrent_answers", world)


def test_concurrent_answers_witness_has_two_answers_neither_seen_by_the_other():
    checked = check("voip-1-to-n")
    steps = checked.witness("concurrent_answers")
    made = _answer_steps(steps)
    assert len(made) >= 2, steps
    # Two devices answered, each before it received the other's answer.
    pairs = [
        (a, b)
        for a in sorted(made)
        for b in sorted(made)
        if a < b
        and not any(
            s["act"] == "deliver" and s["node"] == a and b in _answers_in(s["msg"])
            for s in steps[: made[a]]
        )
        and not any(
            s["act"] == "deliver" and s["node"] == b and a in _answers_in(s["msg"])
            for s in steps[: made[b]]
        )
    ]
    assert pairs, steps
    # The race is seen where the second of them reaches the server.
    last = steps[-1]
    assert last["act"] == "deliver" and last["node"] == "hs" and _has_answer(last["msg"])


def test_two_answers_made_from_the_same_bundle_are_concurrent():
    """bob1 and bob2 get the call in the same state and both answer: the guard
    turns true exactly when the second answer reaches the server."""
    sys_ = system("voip-1-to-n")
    moves = [
        ("deliver", "hs", "bob1"),  # both devices are waiting on their stream
        ("deliver", "hs", "bob2"),
        ("deliver", "hs", "alice"),  # the invite: pushed to both
        ("deliver", "bob1", "hs"),  # each answers without the other's answer
        ("deliver", "bob2", "hs"),
        ("deliver", "hs", "bob1", _has_answer),
    ]
    world, _ = drive(sys_, moves)
    assert not holds(sys_, "concurrent_answers", world)
    world, _ = drive(sys_, [*moves, ("deliver", "hs", "bob2", _has_answer)])
    assert holds(sys_, "concurrent_answers", world)
