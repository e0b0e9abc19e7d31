"""proposal-example: the proposal's own "Example using ``updates`` and
``relates_to``": a room with a single message, 10 comments on it via
``relates_to``, an edit via ``updates``; "An initial sync on this room with a
limit of 3 comments, would return the message with the update event bundled
with it and the most recent 3 comments and a pagination token to request
earlier comments". The device's initial sync must have the example's shape.

Mutations tried: a bundle holding one reply fewer than its limit
(``chunk = replies[start + 1:]`` in ``bundling.bundle``: the shape test and
``replies_after_token`` fail); a bundle without its ``updated_by`` (the
shape test and ``updates_complete`` fail); ``--set bundle_limit=10`` (no
token: ``bundle_with_token`` vacuous, as the test below expects).
"""

from __future__ import annotations

import functools
from typing import Any

from witness import check, initially, records, system

NAME = "proposal-example"
GUARD = "bundle_with_token"

#: The proposal's JSON (section "Example using updates and relates_to"), its
#: ``...`` standing for the event's other keys. ``"some_token"`` is a token of
#: the server's own making.
EXAMPLE = {
    "content": {"body": "I am teh winner!"},
    "updated_by": [{"content": {"body": "I am the winner!"}}],
    "replies": {
        "start": "some_token",
        "chunk": [
            {"content": {"body": "8th comment"}},
            {"content": {"body": "9th comment"}},
            {"content": {"body": "10th comment"}},
        ],
    },
}


def shape(example: Any, got: Any, path: str = "") -> list[str]:
    """Where ``got`` departs from ``example``: every key of the example is there
    (more may be: the example's ``...``), lists have its length, strings its
    text; a token (``start``) is anything but null."""
    if path.endswith(".start"):
        return [] if got is not None else [f"{path}: no token"]
    if isinstance(example, dict):
        if not isinstance(got, dict):
            return [f"{path}: expected an object"]
        out = []
        for key, value in example.items():
            where = f"{path}.{key}" if path else key
            out += shape(value, got[key], where) if key in got else [f"{where}: missing"]
        return out
    if isinstance(example, list):
        if not isinstance(got, list) or len(got) != len(example):
            return [f"{path}: expected {len(example)} items, found {got!r:.60}"]
        pairs = enumerate(zip(example, got, strict=True))
        return [p for i, (e, g) in pairs for p in shape(e, g, f"{path}[{i}]")]
    return [] if got == example else [f"{path}: expected {example!r}, found {got!r}"]


@functools.cache
def _checked(*sets: str):
    return check(NAME, *sets)


def _initial_sync(*sets: str) -> dict:
    """The stream response that opened the device's stream (the guard's witness)."""
    checked = _checked(*sets)
    steps = records(checked.system, checked.report.witnesses[GUARD])
    answers = [m for s in steps for _, m in s["sends"] if m["type"] == "stream"]
    assert len(answers) == 1, "the device's initial sync"
    return answers[0]


def test_the_check_is_complete_holds_and_reaches_the_guard():
    report = _checked().report
    assert report.complete and report.verdict == "holds", report.verdicts
    assert report.verdicts[GUARD] == "reached"


def test_the_initial_sync_has_the_shape_of_the_proposal_s_example():
    answer = _initial_sync()
    messages = [e["event"] for e in answer["events"] if e["event"]["type"] == "m.room.message"]
    assert len(messages) == 1, "the comments and the edit come inside their message"
    assert shape(EXAMPLE, messages[0]) == []
    # The token pages the 7 earlier comments (the device has not asked).
    assert messages[0]["replies"]["start"] == 7


def test_the_shape_check_can_fail():
    good = _initial_sync()["events"][-1]["event"]
    assert shape(EXAMPLE, {**good, "updated_by": []}) == ["updated_by: expected 1 items, found []"]
    chunk = good["replies"]["chunk"][1:]
    assert shape(EXAMPLE, {**good, "replies": {"start": 8, "chunk": chunk}})
    assert shape(EXAMPLE, {**good, "replies": {"start": None, "chunk": good["replies"]["chunk"]}})


def test_the_guard_is_false_initially_and_vacuous_with_room_for_every_comment():
    assert not initially(system(NAME), GUARD)
    report = _checked("bundle_limit=10").report
    assert report.complete and report.verdicts[GUARD] == "vacuous"
    assert report.verdicts["replies_after_token"] == "holds"


def test_a_device_shows_exactly_the_replies_from_its_token_on():
    checked = _checked()
    world, _ = checked.system.initial()
    for action in checked.report.witnesses[GUARD]:
        world, _ = checked.system.apply(world, action)
    shown = checked.system.view(world).state("bob1")["bundles"]["shown"]
    assert shown == {
        "$hs.1": {"applied": ["$hs.12"], "replies": ["$hs.9", "$hs.10", "$hs.11"], "start": 7}
    }
