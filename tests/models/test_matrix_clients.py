"""The clients scenarios moved onto the matrix model (homeserver part ``sync``,
device part ``sync``: a device that lost a stream response syncs again from its
position): each gives the clients model's verdicts, and each guard is false
until its race happens and its witness shows that race."""

from __future__ import annotations

import functools
import json

import pytest
from test_matrix_sessions import RACES
from witness import check, initially, records, system, timed, turns_true

from mxsim.experiments.cli import main
from mxsim.models.homeserver import Homeserver

#: Scenario -> (every property's verdict under ``check``).
SCENARIOS = {
    "action-ids-sessions": {
        "exactly_once": "holds",
        "per_client_order": "holds",
        "local_echo_settles": "holds",
        "stream_positions_increase": "holds",
        "events_once": "holds",
        "stream_complete": "holds",
        "out_of_order_actions": "reached",
        "retransmission_race": "reached",
    },
    "session-expiry": {
        "exactly_once": "holds",
        "per_client_order": "holds",
        "local_echo_settles": "holds",
        "stream_positions_increase": "holds",
        "events_once": "holds",
        "stream_complete": "holds",
        "sessions_restored": "holds",
        "presence_follows_sessions": "holds",
        "retransmission_race": "reached",
        "session_expiry_between_actions": "reached",
        "stale_session": "reached",
    },
    "multi-device-join": {
        "exactly_once": "holds",
        "local_echo_settles": "holds",
        "stream_positions_increase": "holds",
        "events_once": "holds",
        "stream_complete": "holds",
        "no_unknown_rooms": "holds",
        "action_id_private": "holds",
        "joined_elsewhere": "reached",
    },
    "filters": {
        "exactly_once": "holds",
        "local_echo_settles": "holds",
        "stream_positions_increase": "holds",
        "events_once": "holds",
        "stream_complete": "holds",
        "filter_honoured": "holds",
        "filter_expired": "reached",
        "session_expiry_between_actions": "reached",
    },
}

#: (scenario, --set with the proposal's rule, violated properties, shortest trace of the first).
FINDINGS = [
    ("session-expiry", 'txn_scope="session"', ["exactly_once", "local_echo_settles"], 10),
    ("multi-device-join", "join_returns_events=true", ["no_unknown_rooms"], 9),
    ("multi-device-join", 'action_id_streams="all_devices"', ["action_id_private"], 8),
]


@functools.cache
def _checked(name: str):
    return check(name)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_check_gives_the_clients_verdicts(name):
    checked = _checked(name)
    assert checked.system.scenario.model == "matrix"
    assert checked.report.complete
    assert checked.report.verdicts == SCENARIOS[name]


def _guards(name: str) -> list[str]:
    return [g for g, v in SCENARIOS[name].items() if v == "reached"]


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_guards_are_false_in_the_initial_world(name):
    sys_ = system(name)
    assert [g for g in _guards(name) if initially(sys_, g)] == []


def _out_of_order_actions(steps):
    last = steps[-1]
    assert last["act"] == "deliver" and last["node"] == "hs" and "aid" in last["msg"]
    higher = last["msg"]["aid"]
    earlier = [
        s["msg"]["aid"]
        for s in steps[:-1]
        if s["act"] == "deliver" and s["node"] == "hs" and s["msg"].get("session") is not None
    ]
    # No lower action ID of its session had arrived: this one overtook it.
    assert not any(a == higher - 1 for a in earlier)
    assert higher >= 1


def _stream_resynced(steps):
    last = steps[-1]
    assert last["act"] == "deliver" and last["msg"]["type"] == "synced"
    dev, have = last["node"], last["msg"]["from"]
    given = [b["pos"] for b in last["msg"]["batches"] if b["pos"] > have]
    assert given, "the sync gave responses past the device's position"
    # Each was sent by the stream before and had not reached the device.
    for pos in given:
        sent = [
            j
            for j, s in enumerate(steps)
            if any(
                d == dev and m.get("pos") == pos and m["type"] == "stream" for d, m in s["sends"]
            )
        ]
        assert sent
        assert not any(
            s["act"] == "deliver" and s["sent"] == sent[0] and s["node"] == dev for s in steps[:-1]
        )


def _joined_elsewhere(steps):
    last = steps[-1]
    dev = last["node"]
    assert last["act"] == "deliver" and last["msg"]["type"] == "stream"
    user = "@alice:hs" if dev.startswith("alice") else "@bob:hs"
    joins = [
        e
        for e in last["msg"]["events"]
        if e["event"]["type"] == "m.room.member"
        and e["event"]["state_key"] == user
        and e["event"]["content"]["membership"] == "join"
    ]
    assert joins and "action_id" not in joins[0]
    # Another device of the user asked for that join.
    asked = [s for s in steps if s["act"] == "input" and s["msg"]["op"] == "join"]
    assert asked and all(s["node"] != dev for s in asked)


def _filter_expired(steps):
    last = steps[-1]
    assert last["act"] == "deliver" and last["node"] == "hs" and last["msg"]["type"] == "sync"
    token = last["msg"]["filter"]
    assert any(m.get("error") == "unknown filter token" for _, m in last["sends"])
    # The token was given out, and its time ran out before this sync came.
    given = [j for j, s in enumerate(steps) if any(m.get("token") == token for _, m in s["sends"])]
    expired = [j for j, s in enumerate(steps) if s.get("timer") == f"filters:{token}"]
    assert given and expired and given[0] < expired[0] < len(steps) - 1


WITNESSES = {
    **RACES,
    "out_of_order_actions": _out_of_order_actions,
    "joined_elsewhere": _joined_elsewhere,
    "filter_expired": _filter_expired,
}


@pytest.mark.parametrize(("name", "guard"), [(n, g) for n in SCENARIOS for g in _guards(n)])
def test_bundled_witness_shows_the_race(name, guard):
    checked = _checked(name)
    actions = checked.report.witnesses[guard]
    assert turns_true(checked.system, guard, actions) == len(actions) - 1
    WITNESSES[guard](records(checked.system, actions))


def _no_sync(raw):
    for n in raw["nodes"]:
        if n["kind"] == "device":
            n["config"].pop("sync", None)


def _with_resync_guard(raw):
    raw["properties"]["check"].append("stream_resynced")


@pytest.mark.parametrize("name", ["action-ids-sessions", "session-expiry"])
def test_a_lost_stream_response_is_synced_again(name):
    """Without the device's sync a lost stream response is never made good; with
    it, the guard ``stream_resynced`` fires, false initially, with a witness
    in which the response given again had been lost."""
    without = check(name, edit=_no_sync)
    assert without.report.verdicts["stream_complete"] == "violated"
    guarded = check(name, edit=_with_resync_guard)
    assert not initially(guarded.system, "stream_resynced")
    assert guarded.report.verdicts["stream_complete"] == "holds"
    actions = guarded.report.witnesses["stream_resynced"]
    assert turns_true(guarded.system, "stream_resynced", actions) == len(actions) - 1
    _stream_resynced(records(guarded.system, actions))


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_timed_run_holds_and_shows_the_race(name):
    result = timed(name)
    assert set(result.verdicts.values()) <= {"holds", "reached"}, result.verdicts


@pytest.mark.parametrize(
    ("name", "switch", "prop"),
    [
        ("action-ids-sessions", "idempotent_retransmission=false", "exactly_once"),
        ("action-ids-sessions", "hold_out_of_order=false", "per_client_order"),
    ],
)
def test_the_proposal_rule_breaks_the_property(name, switch, prop):
    checked = check(name, switch)
    assert checked.report.verdicts[prop] == "violated", checked.report.verdicts


def _no_retransmission_but_duplicates(raw):
    for n in raw["nodes"]:
        if n["kind"] == "device":
            n["config"]["sessions"]["max_tries"] = 1
    raw["check"]["drops"] = 0
    raw["check"]["duplicates"] = 1


def _no_session_timeout(raw):
    hs = next(n for n in raw["nodes"] if n["name"] == "hs")
    hs["config"]["sessions"].pop("session_timeout_ms", None)


def _no_filter_ttl(raw):
    hs = next(n for n in raw["nodes"] if n["name"] == "hs")
    hs["config"]["filters"].pop("filter_ttl_ms", None)


def _one_device(raw):
    raw["nodes"] = [n for n in raw["nodes"] if n["name"] in ("hs", "alice1", "bob1")]


def _first_input_only(raw):
    raw["workload"] = raw["workload"][:1]


@pytest.mark.parametrize(
    ("name", "edit", "guards"),
    [
        ("action-ids-sessions", _no_retransmission_but_duplicates, ["retransmission_race"]),
        ("action-ids-sessions", _first_input_only, ["out_of_order_actions"]),
        (
            "session-expiry",
            _no_session_timeout,
            ["session_expiry_between_actions", "stale_session"],
        ),
    ],
)
def test_guard_is_vacuous_where_its_race_cannot_happen(name, edit, guards):
    """Each guard is vacuous in a variant of its scenario where its race cannot happen."""
    checked = check(name, edit=edit)
    assert checked.report.complete
    got = {g: checked.report.verdicts.get(g) for g in guards}
    assert got == dict.fromkeys(guards, "vacuous")


def _mxsim(capsys, *argv: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    return exit_info.value.code, capsys.readouterr().out


@pytest.mark.parametrize(("name", "switch", "props", "length"), FINDINGS)
def test_finding_comes_back_with_the_proposal_rule(capsys, tmp_path, name, switch, props, length):
    """The documented command finds the violation, with a trace that replays
    and a space-time diagram."""
    trace, diagram = tmp_path / "cex.jsonl", tmp_path / "cex.png"
    argv = ["check", name, "--set", switch, "--trace", str(trace), "--diagram", str(diagram)]
    code, out = _mxsim(capsys, *argv, "--trace-dir", str(tmp_path), "--json")
    report = json.loads(out)
    assert code == 1
    assert report["complete"]
    assert sorted(v["property"] for v in report["violations"]) == sorted(props)
    found = {v["property"]: v["trace_length"] for v in report["violations"]}
    assert found[props[0]] == length, found
    assert diagram.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    code, out = _mxsim(capsys, "replay", str(trace), "--json")
    assert code == 0 and json.loads(out)["reproduced"]


# -- the sync parts, step by step ------------------------------------------------------

SWITCHES = {
    "state_resolution": "v2",
    "omit_superseded_state": True,
    "rejected_events": True,
    "stale_session_renewal": "per_request",
    "txn_scope": "device",
    "presence_of_user": "any_session",
}
CONFIG = {
    "rooms": {"genesis": [{"room": "!r:hs", "creator": "@alice:hs"}]},
    "sessions": {"session_timeout_ms": 500},
    "presence": {},
    "sync": {},
}


def test_the_stream_closes_with_the_session_and_a_sync_gives_what_followed():
    from test_matrix_action_ids import Ctx

    hs = Homeserver("hs", CONFIG, SWITCHES)
    state, ctx = hs.initial_state(), Ctx("hs", SWITCHES)
    hs.on_start(ctx, state)
    hs.on_message(
        ctx, state, "a1", {"type": "register", "user": "@alice:hs", "out_of_order": False}
    )
    req = {"type": "presence", "rid": 0, "whoami": "@alice:hs", "out_of_order": False}
    hs.on_message(ctx, state, "a1", {**req, "session": None, "presence": "busy"})
    given = [m["pos"] for d, m in ctx.sent if d == "a1" and m["type"] == "stream"]
    assert given == [1, 2]
    ctx.sent.clear()
    hs.on_timer(ctx, state, "sessions:a1")  # expired: the user goes offline
    assert not [m for d, m in ctx.sent if m["type"] == "stream"], "kept, not sent"
    assert state["sync"]["held"] == {"a1": 3}
    hs.on_message(ctx, state, "a1", {"type": "sync", "from": 2})
    (dst, synced), *_ = [(d, m) for d, m in ctx.sent if m["type"] == "synced"]
    assert dst == "a1" and [b["pos"] for b in synced["batches"]] == [3]
    offline = synced["batches"][0]["events"][0]["event"]
    assert offline["type"] == "m.presence" and offline["presence"] == "offline"
    assert list(state["sync"]["sent"]["a1"]) == ["3"], "what the device has is dropped"
    assert state["sync"]["held"] == {}


# -- the random workload part (random-clients: test_matrix_random.py) -----------------


def test_random_steps_are_drawn_from_the_device_seed_and_taken_by_the_parts():
    from test_matrix_action_ids import Ctx

    from mxsim.models.device import Device

    config = {
        "server": "hs",
        "user": "@alice:hs",
        "sessions": {},
        "echo": {},
        "random": {"random_steps": 2, "seed": 12, "rooms": ["!r:hs"], "ops": ["send", "state"]},
    }
    switches = {"renewal_order": "as_made"}
    steps = []
    for _ in range(2):
        dev = Device("alice1", config, switches)
        state, ctx = dev.initial_state(), Ctx("alice1", switches)
        dev.on_start(ctx, state)
        assert ctx.timers["random:step"] == 100
        dev.on_timer(ctx, state, "random:step")
        dev.on_timer(ctx, state, "random:step")
        steps.append([m["type"] for _, m in ctx.sent if m["type"] != "register"])
        assert state["random"]["steps"] == 2 and len(state["echo"]["echoes"]) == 2
    assert steps[0] == steps[1]  # the same seed, the same steps
    assert set(steps[0]) <= {"send", "send_state"}
