"""``mxsim resolve FILE.json``: output and bad-input handling."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import pytest
from authed import authed_event
from click.testing import CliRunner

from mxsim.experiments.cmd_resolve import resolve, resolve_command
from mxsim.models.resolve_file import InputError, parse_events
from mxsim.models.stateres import state_at

ROOM = "!r:a.test"
ALICE, BOB, CAROL = "@alice:a.test", "@bob:b.test", "@carol:c.test"


def build_room() -> list[dict[str, Any]]:
    """Alice's public room; bob (50) bans carol while alice demotes bob."""
    events: dict[str, dict[str, Any]] = {}
    order: list[dict[str, Any]] = []

    def add(name, etype, sender, content, state_key=None, prev=(), ts=0):
        prev_ids = ["$" + p for p in prev]
        before = state_at(events, prev_ids)
        ev = authed_event(
            ROOM, etype, sender, content, state_key, prev_ids, before, events, ts, "$" + name
        )
        events[ev["event_id"]] = ev
        order.append(ev)

    add("create", "m.room.create", ALICE, {"creator": ALICE}, "")
    add("alice", "m.room.member", ALICE, {"membership": "join"}, ALICE, ["create"])
    add("pl", "m.room.power_levels", ALICE, {"users": {ALICE: 100, BOB: 50}}, "", ["alice"])
    add("jr", "m.room.join_rules", ALICE, {"join_rule": "public"}, "", ["pl"])
    add("bob", "m.room.member", BOB, {"membership": "join"}, BOB, ["jr"])
    add("carol", "m.room.member", CAROL, {"membership": "join"}, CAROL, ["bob"])
    add("topic", "m.room.topic", ALICE, {"topic": "hi"}, "_", ["carol"])
    add("ban", "m.room.member", BOB, {"membership": "ban"}, CAROL, ["topic"], ts=100)
    add(
        "demote",
        "m.room.power_levels",
        ALICE,
        {"users": {ALICE: 100, BOB: 0}},
        "",
        ["topic"],
        ts=200,
    )
    return order


def run(tmp_path: pathlib.Path, data: Any, *args: str, raw: str | None = None):
    path = tmp_path / "events.json"
    path.write_text(raw if raw is not None else json.dumps(data), encoding="utf-8")
    result = CliRunner().invoke(resolve_command, [str(path), *args])
    return result, str(path)


def rows(result) -> list[list[str]]:
    return json.loads(result.stdout)


def test_command_name() -> None:
    assert resolve is resolve_command
    assert resolve_command.name == "resolve"


def test_resolves_all_forward_extremities_by_default(tmp_path: pathlib.Path) -> None:
    result, _ = run(tmp_path, build_room())
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert rows(result) == [
        ["m.room.create", "", "$create"],
        ["m.room.join_rules", "", "$jr"],
        ["m.room.member", ALICE, "$alice"],
        ["m.room.member", BOB, "$bob"],
        ["m.room.member", CAROL, "$carol"],  # bob's ban fails after the demotion
        ["m.room.power_levels", "", "$demote"],
        ["m.room.topic", "_", "$topic"],  # printed as the event spells it
    ]


def test_depth_algorithm(tmp_path: pathlib.Path) -> None:
    result, _ = run(tmp_path, build_room(), "--algorithm", "depth")
    assert result.exit_code == 0, result.output
    assert ["m.room.member", CAROL, "$ban"] in rows(result)


def test_at(tmp_path: pathlib.Path) -> None:
    result, _ = run(tmp_path, build_room(), "--at", "$ban")
    assert ["m.room.member", CAROL, "$ban"] in rows(result)
    assert ["m.room.power_levels", "", "$pl"] in rows(result)
    result, _ = run(tmp_path, build_room(), "--at", "$alice")
    assert rows(result) == [["m.room.create", "", "$create"], ["m.room.member", ALICE, "$alice"]]
    result, _ = run(tmp_path, build_room(), "--at", "$ban", "--at", "$demote")
    assert ["m.room.member", CAROL, "$carol"] in rows(result)


def test_depth_is_optional(tmp_path: pathlib.Path) -> None:
    events = build_room()
    with_depth, _ = run(tmp_path, events)
    for ev in events:
        del ev["depth"]
    without, _ = run(tmp_path, events)
    assert without.exit_code == 0 and without.stdout == with_depth.stdout


def test_extra_fields_and_empty_list(tmp_path: pathlib.Path) -> None:
    events = build_room()
    for ev in events:
        ev["hashes"] = {}
        ev["signatures"] = {}
    result, _ = run(tmp_path, events)
    assert result.exit_code == 0
    result, _ = run(tmp_path, [])
    assert result.exit_code == 0 and result.stdout.strip() == "[]"


def test_output_is_one_json_document(tmp_path: pathlib.Path) -> None:
    result, _ = run(tmp_path, build_room())
    text = result.stdout
    assert json.loads(text) == rows(result)
    assert text.count("\n[") == 0 and text.startswith("[")


def _mutate(fn):
    events = build_room()
    fn(events)
    return events


def _set(i, key, value):
    return lambda evs: evs[i].__setitem__(key, value)


def _del(i, key):
    return lambda evs: evs[i].pop(key)


BAD_INPUTS = [
    (
        _set(3, "prev_events", ["$x"]),
        "[3].prev_events[0]: expected an event_id present in the file, found '$x'",
    ),
    (
        _set(4, "auth_events", ["$create", "$y"]),
        "[4].auth_events[1]: expected an event_id present in the file, found '$y'",
    ),
    (_del(2, "sender"), "[2].sender: expected a string, found nothing"),
    (_set(2, "sender", 5), "[2].sender: expected a string, found 5"),
    (_set(1, "type", None), "[1].type: expected a string, found null"),
    (_set(0, "state_key", False), "[0].state_key: expected a string, found false"),
    (_set(5, "origin_server_ts", "now"), "[5].origin_server_ts: expected an integer, found 'now'"),
    (_set(5, "origin_server_ts", True), "[5].origin_server_ts: expected an integer, found true"),
    (_del(5, "origin_server_ts"), "[5].origin_server_ts: expected an integer, found nothing"),
    (_set(5, "depth", 2.0), "[5].depth: expected an integer, found 2.0"),
    (
        _set(2, "prev_events", "$alice"),
        "[2].prev_events: expected a list of event IDs, found '$alice'",
    ),
    (_set(2, "prev_events", [7]), "[2].prev_events[0]: expected an event ID (a string), found 7"),
    (_del(2, "auth_events"), "[2].auth_events: expected a list of event IDs, found nothing"),
    (_set(2, "content", []), "[2].content: expected an object, found a list"),
    (
        lambda evs: evs.append(
            {**evs[0], "event_id": "$m", "type": "m.room.message", "state_key": None}
        ),
        "[9].state_key: expected a string, found null",
    ),
    (
        lambda evs: evs.append(
            {k: v for k, v in evs[0].items() if k not in ("content", "state_key")}
            | {"event_id": "$m"}
        ),
        "[9].content: expected an object (only a state event may lack content), found nothing",
    ),
    (
        _set(4, "event_id", "$alice"),
        "[4].event_id: expected an event_id not used by an earlier event (it is [1]'s), "
        "found '$alice'",
    ),
    (
        _set(3, "room_id", "!other:b.test"),
        "[3].room_id: expected '!r:a.test', the room of [0], found '!other:b.test'",
    ),
    (
        lambda evs: evs[2]["content"]["users"].__setitem__(BOB, 50.5),
        '[2].content.users["@bob:b.test"]: expected an integer (no floating-point numbers), '
        "found 50.5",
    ),
    (
        _set(0, "prev_events", ["$alice"]),
        "[1].prev_events[0]: expected no cycle through prev_events and auth_events, "
        "found the cycle $create -> $alice -> $create",
    ),
    (
        _set(6, "prev_events", ["$topic"]),
        "[6].prev_events[0]: expected no cycle through prev_events and auth_events, "
        "found the cycle $topic -> $topic",
    ),
    (lambda evs: evs.__setitem__(3, "event"), "[3]: expected an event (an object), found 'event'"),
]


@pytest.mark.parametrize(("mutate", "message"), BAD_INPUTS)
def test_bad_events(tmp_path: pathlib.Path, mutate, message: str) -> None:
    result, path = run(tmp_path, _mutate(mutate))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"{path}: {message}\n"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            "[{",
            "(document): expected JSON, found Expecting property name enclosed in double "
            "quotes at line 1 column 3",
        ),
        ("{}", "(document): expected a list of events, found an object"),
        ('"x"', "(document): expected a list of events, found 'x'"),
        ("[NaN]", "(document): expected standard JSON numbers, found NaN"),
        ("", "(document): expected JSON, found Expecting value at line 1 column 1"),
        (
            "[" + "1" * 5000 + "]",
            "(document): expected JSON, found Exceeds the limit (4300 "
            "digits) for integer string conversion: value has 5000 digits",
        ),
    ],
)
def test_bad_documents(tmp_path: pathlib.Path, raw: str, message: str) -> None:
    result, path = run(tmp_path, None, raw=raw)
    assert result.exit_code == 2
    assert result.stderr == f"{path}: {message}\n"


def test_bad_at(tmp_path: pathlib.Path) -> None:
    result, path = run(tmp_path, build_room(), "--at", "$ban", "--at", "$x")
    assert result.exit_code == 2
    assert result.stderr == f"{path}: --at: expected an event_id present in the file, found '$x'\n"


def test_bad_files(tmp_path: pathlib.Path) -> None:
    runner = CliRunner()
    missing = str(tmp_path / "missing.json")
    result = runner.invoke(resolve_command, [missing])
    assert result.exit_code == 2
    assert result.stderr == f"{missing}: (file): expected a JSON file, found no such file\n"
    result = runner.invoke(resolve_command, [str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr == f"{tmp_path}: (file): expected a JSON file, found a directory\n"
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"[\xff]")
    result = runner.invoke(resolve_command, [str(binary)])
    assert result.exit_code == 2
    assert result.stderr == f"{binary}: (file): expected UTF-8 text, found byte 1 undecodable\n"


def test_unknown_algorithm_is_a_usage_error(tmp_path: pathlib.Path) -> None:
    result, _ = run(tmp_path, build_room(), "--algorithm", "v3")
    assert result.exit_code == 2
    assert "v3" in result.stderr


def test_events_failing_auth_are_rejected_not_fatal(tmp_path: pathlib.Path) -> None:
    events = build_room()
    events.append(
        {
            **events[6],
            "event_id": "$bad",
            "sender": CAROL,
            "prev_events": ["$demote"],
            "auth_events": ["$create", "$pl", "$carol"],
            "content": {"topic": "mine"},
        }
    )
    result, _ = run(tmp_path, events)
    assert result.exit_code == 0
    assert ["m.room.topic", "_", "$topic"] in rows(result)


def test_input_error_format() -> None:
    err = InputError("f.json", "[0].x", "a string", "5")
    assert str(err) == "f.json: [0].x: expected a string, found 5"
    with pytest.raises(InputError) as info:
        parse_events("[]x", "f.json")
    assert str(info.value).startswith("f.json: (document): expected JSON, found Extra data")
