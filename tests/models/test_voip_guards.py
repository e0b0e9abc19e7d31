"""The VoIP model's guards are false until their race happens, and each bundled
check's witness shows that race."""

from __future__ import annotations

import functools

from witness import check, drive, holds, initially, system

from mxsim.models.properties_voip import bundles as _bundles

ANSWER = "m.call.answer"


@functools.cache
def _bundled(name: str, max_states: int | None = None):
    """The bundled check, run once per module; a bound where the whole check takes
    long (breadth-first order keeps the witness a shortest one)."""
    return check(name, max_states=max_states)


def _stream_events(msg: dict) -> list[dict]:
    """The events a stream answer carries."""
    if msg.get("type") != "stream":
        return []
    return [e["event"] for e in msg.get("events", [])]


def _answers_in(msg: dict) -> list[str]:
    """Devices whose answers a stream message carries."""
    return [e["content"]["device_id"] for e in _stream_events(msg) if e["type"] == ANSWER]


def _answer_steps(steps: list[dict]) -> dict[str, int]:
    """Device -> the step at which it made (first sent) its answer."""
    out: dict[str, int] = {}
    for j, s in enumerate(steps):
        for _, m in s["sends"]:
            for r in m.get("send", []):
                if r["event_type"] == ANSWER:
                    out.setdefault(r["content"]["device_id"], j)
    return out


def _one_callee_device(raw):
    keep = {"hs", "alice", "bob1"}
    raw["nodes"] = [n for n in raw["nodes"] if n["name"] in keep]
    raw["check"].pop("symmetry", None)  # the interchangeable devices are gone


# -- concurrent_answers ---------------------------------------------------------------


def test_concurrent_answers_is_false_initially():
    assert not initially(system("voip-1-to-n"), "concurrent_answers")


def test_concurrent_answers_is_vacuous_with_one_callee_device():
    checked = check("voip-1-to-n", edit=_one_callee_device)
    assert checked.report.complete
    assert checked.report.verdicts["concurrent_answers"] == "vacuous", checked.report.verdicts


def _has_answer(msg: dict) -> bool:
    """Does a poll carry an answer request?"""
    return any(r["event_type"] == ANSWER for r in msg.get("send", []))


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
    ((_, _, kids),) = _bundles(sys_.view(world))
    assert [c["device_id"] for c in kids if c["type"] == ANSWER] == ["bob1", "bob2"]
    assert not holds(sys_, "concurrent_answers", world)


def test_concurrent_answers_witness_has_two_answers_neither_seen_by_the_other():
    checked = _bundled("voip-1-to-n", 20000)
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
    # The race is seen where the second of them answers (what it had seen is its own).
    last = steps[-1]
    assert last["act"] == "deliver" and last["node"] in made
    assert any(_has_answer(m) for _, m in last["sends"])


def test_two_answers_made_from_the_same_bundle_are_concurrent():
    """bob1 and bob2 get the call in the same state and both answer: the guard
    turns true exactly when the second of them answers, not having seen the first."""
    sys_ = system("voip-1-to-n")
    moves = [
        ("deliver", "hs", "bob1"),  # both devices are waiting on their stream
        ("deliver", "hs", "bob2"),
        ("deliver", "hs", "alice"),  # the invite: pushed to both
        ("deliver", "bob1", "hs"),  # bob1 answers without bob2's answer
        ("deliver", "hs", "bob1", _has_answer),  # the server takes it
    ]
    world, _ = drive(sys_, moves)
    assert not holds(sys_, "concurrent_answers", world)
    # bob2 was sent the call before bob1's answer: it answers without it.
    world, _ = drive(sys_, [*moves, ("deliver", "bob2", "hs", lambda m: not _answers_in(m))])
    assert holds(sys_, "concurrent_answers", world)


# -- the other guards --------------------------------------------------------------------

HANGUP, REJECT, INVITE = "m.call.hangup", "m.call.reject", "m.call.invite"


def _carried(step: dict, etype: str) -> list[dict]:
    """Requests for events of type ``etype`` a poll (to the server) carries."""
    return [r for r in (step.get("msg") or {}).get("send", []) if r["event_type"] == etype]


def _in_bundles(msg: dict, etype: str) -> list[dict]:
    """Events of type ``etype`` a stream answer carries, with their ``device_id``."""
    return [
        {**e, "device_id": e["content"]["device_id"]}
        for e in _stream_events(msg)
        if e["type"] == etype
    ]


def test_answer_after_hangup_witness_is_an_answer_made_before_the_hangup_was_seen():
    checked = _bundled("voip-multi-user-small")
    steps = checked.witness("answer_after_hangup")
    last = steps[-1]
    assert last["act"] == "deliver" and last["node"] == "hs" and _has_answer(last["msg"])
    dev = last["src"]
    hung = [j for j, s in enumerate(steps[:-1]) if s["node"] == "hs" and _carried(s, HANGUP)]
    assert hung, "the hangup reached the server first"
    made = _answer_steps(steps)[dev]
    assert not any(
        s["act"] == "deliver" and s["node"] == dev and _in_bundles(s["msg"], HANGUP)
        for s in steps[:made]
    ), "the device answered before it was shown the hangup"


def test_answer_after_hangup_is_vacuous_without_a_hangup():
    def no_hangup(raw):
        raw["workload"] = []

    checked = check("voip-multi-user-small", edit=no_hangup)
    assert checked.report.complete
    assert checked.report.verdicts["answer_after_hangup"] == "vacuous"


def test_rejection_before_answer_witness_and_vacuous_without_a_rejection():
    checked = _bundled("voip-multi-user-small")
    steps = checked.witness("rejection_before_answer")
    last = steps[-1]
    assert last["node"] == "hs" and _has_answer(last["msg"])
    rejected = [j for j, s in enumerate(steps[:-1]) if s["node"] == "hs" and _carried(s, REJECT)]
    assert rejected
    answerer = last["src"]
    rejecter = steps[rejected[0]]["src"]
    users = {
        n: checked.system.view(checked.system.initial()[0]).config(n)["user"]
        for n in ("bob1", "carol1")
    }
    assert users[answerer] != users[rejecter]

    def everyone_answers(raw):
        for n in raw["nodes"]:
            n["config"].get("calls", {}).pop("respond", None)

    assert not initially(system("voip-multi-user-small"), "rejection_before_answer")
    varied = check("voip-multi-user-small", edit=everyone_answers)
    assert varied.report.complete
    assert varied.report.verdicts["rejection_before_answer"] == "vacuous"


def test_glare_witness_is_a_caller_shown_the_callee_s_call():
    checked = _bundled("voip-glare")
    steps = checked.witness("glare")
    last = steps[-1]
    dev = last["node"]
    assert last["act"] == "deliver" and last["src"] == "hs"
    config = checked.system.view(checked.system.initial()[0]).config(dev)
    theirs = [c for c in _in_bundles(last["msg"], INVITE) if c["device_id"] != dev]
    assert theirs and theirs[0]["sender"] in config["calls"]["call"]
    assert config["user"] in theirs[0]["content"]["callees"]
    # The device's own call was still unanswered: nothing of it answered before.
    assert not any(
        s["act"] == "deliver" and s["node"] == dev and _answers_in(s["msg"]) for s in steps[:-1]
    )


def test_glare_is_false_initially_and_vacuous_when_only_one_side_calls():
    assert not initially(system("voip-glare"), "glare")

    def only_alice_calls(raw):
        for n in raw["nodes"]:
            if n["name"] != "alice":
                n["config"].get("calls", {}).pop("call", None)

    checked = check("voip-glare", edit=only_alice_calls)
    assert checked.report.complete
    assert checked.report.verdicts["glare"] == "vacuous"


def test_multi_user_concurrent_answers_witness_has_concurrent_answers():
    checked = _bundled("voip-multi-user", 20000)
    steps = checked.witness("concurrent_answers")
    made = _answer_steps(steps)
    second = max(made, key=made.get)  # the later of the answers
    first = [d for d in made if d != second]
    assert first
    for d in first:
        assert not any(
            s["act"] == "deliver" and s["node"] == second and d in _answers_in(s["msg"])
            for s in steps[: made[second]]
        )
