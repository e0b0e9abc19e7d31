"""sync-bot: "Action IDs are optional ... An example of a client which may not need
the use of action IDs includes bots which operate using basic request/responses
in a synchronous fashion" ("Action APIs"). A bot sends without action IDs, one
request at a time, beside a client that sends in parallel (and retransmits)
with them; the server holds the client's higher IDs, never the bot's requests.

Mutations tried: ``bot_waits=false`` (the bot pipelines: bot_order violated in
6 steps, bot_sends_once too); the bot sending the next request on the answer
without counting it (``waiting`` not decremented: it never sends the second,
test_the_bot_sends_one_request_at_a_time fails); the server passing the bot's
request through the action-ID hold as action 0 (its second send is answered
again, not applied: bot_sends_once violated); the guard set for the bot's own
scope (true without a hold: the guard tests fail); the server dropping the
answer's event ID (bot_sends_once violated)."""

from __future__ import annotations

import functools
import os
import subprocess
import sys

import pytest
from witness import check, drive, holds, initially, records, system, turns_true

from mxsim.experiments.jobs import load_scenario
from mxsim.models.explain import Moment, explain
from mxsim.models.wire import WIRE
from mxsim.sim.scenario import ScenarioError
from mxsim.sim.timed import TimedRun

NAME = "sync-bot"
GUARD = "bot_passed_hold"
#: The workload's inputs come in order: alice's two sends, then the bot's.
ALICE_SENDS, BOT_SENDS = [("input", 0), ("input", 1)], [("input", 2), ("input", 3)]


@functools.cache
def _checked(*sets: str, max_states: int | None = None):
    return check(NAME, *sets, max_states=max_states)


def _run(seed: int, *sets: str):
    loaded = load_scenario(NAME, sets)
    return TimedRun(loaded.system(), seed, loaded.scenario.run.until).run()


def _bot_requests(sys_, actions) -> list[dict]:
    return [m for r in records(sys_, actions) for dst, m in r["sends"] if r["node"] == "bot"]


def test_the_check_is_complete_holds_and_reaches_the_guard():
    report = _checked().report
    assert report.complete and report.verdict == "holds", report.verdicts
    assert report.verdicts[GUARD] == "reached"
    assert report.verdicts["out_of_order_actions"] == "reached"


def test_a_pipelining_bot_without_action_ids_loses_its_order_in_six_steps():
    checked = _checked("bot_waits=false", max_states=20_000)
    found = {c.property: c.actions for c in checked.report.counterexamples}
    assert len(found["bot_order"]) == 6
    assert len(found["bot_sends_once"]) == 6  # an answer taken for the other request
    world, _ = checked.system.initial()
    for action in found["bot_order"]:
        world, _ = checked.system.apply(world, action)
    store = checked.system.view(world).state("hs")["rooms"]["stores"]["!r:hs"]
    bodies = [
        ev["content"]["body"]
        for ev in sorted(store["events"].values(), key=lambda e: e["depth"])
        if ev["sender"] == "@bot:hs" and ev["type"] == "m.room.message"
    ]
    assert bodies == ["b1", "b0"]
    text = explain("bot_order", Moment(None, checked.system.view(world), None))
    assert 'bot sent "b0" before "b1" without action IDs' in text, text


def test_the_bot_sends_one_request_at_a_time_without_an_action_id():
    for waits, in_flight in ((True, 1), (False, 2)):
        sys_ = system(NAME, f"bot_waits={str(waits).lower()}")
        world, taken = drive(sys_, ALICE_SENDS + BOT_SENDS)
        requests = _bot_requests(sys_, taken)
        assert len(requests) == in_flight
        assert all("aid" not in m and WIRE.problem(m) is None for m in requests)
    # The answer lets the waiting bot send its next message.
    sys_ = system(NAME)
    moves = [*ALICE_SENDS, *BOT_SENDS, ("deliver", "hs", "bot"), ("deliver", "bot", "hs", _result)]
    world, taken = drive(sys_, moves)
    answer = records(sys_, taken)[-2]["sends"]
    assert [m["aid"] for _, m in answer if m["type"] == "result"] == [None]
    assert [m["body"] for m in _bot_requests(sys_, taken)] == ["b0", "b1"]
    bot = sys_.view(world).state("bot")["bot"]
    assert bot["told"] == [[0, True, "$hs.1"]] and bot["waiting"] == 1 and not bot["queue"]


def _result(msg: dict) -> bool:
    return msg["type"] == "result"


def test_the_guard_is_false_initially_and_when_the_client_is_not_held():
    sys_ = system(NAME)
    assert not initially(sys_, GUARD)
    # Alice's sends arrive in order: nothing is held when the bot's arrives.
    inorder = [("deliver", "hs", "alice", lambda m, k=k: m.get("aid") == k) for k in (0, 1)]
    world, _ = drive(sys_, [*ALICE_SENDS, *inorder, *BOT_SENDS[:1], ("deliver", "hs", "bot")])
    assert not holds(sys_, GUARD, world)


def test_the_witness_is_the_bots_send_applied_while_a_higher_id_is_held():
    checked = _checked()
    sys_, actions = checked.system, checked.report.witnesses[GUARD]
    assert turns_true(sys_, GUARD, actions) == len(actions) - 1
    steps = records(sys_, actions)
    last = steps[-1]
    assert last["node"] == "hs" and last["src"] == "bot" and "aid" not in last["msg"]
    assert any(m["type"] == "result" and m["ok"] for dst, m in last["sends"] if dst == "bot")
    world, _ = sys_.initial()
    for action in actions[:-1]:
        world, _ = sys_.apply(world, action)
    held = sys_.view(world).state("hs")["actions"]["clients"]["alice"]["held"]
    assert list(held) == ["1"]  # alice's #1 overtook #0 and waits for it


def test_the_timed_runs():
    result = _run(1)
    assert result.quiescent
    assert set(result.verdicts.values()) <= {"holds", "reached"}, result.verdicts
    assert _run(10, "bot_waits=false").verdicts["bot_order"] == "violated"


@pytest.mark.parametrize("part", ["retransmission", "echo", "sessions", "signing"])
def test_a_bot_with_a_part_that_numbers_requests_is_bad_input(part):
    def edit(raw):
        raw["nodes"][2]["config"][part] = {}

    with pytest.raises(
        ScenarioError, match=rf"config\.{part}: expected no {part} table beside bot"
    ):
        system(NAME, edit=edit)


def test_the_counterexamples_are_the_same_bytes_under_any_hash_seed(tmp_path):
    code = "from mxsim.experiments.cli import main; main()"
    args = ["check", NAME, "--set", "bot_waits=false", "--max-states", "20000"]
    traces = []
    for seed in ("0", "5"):
        out = tmp_path / seed
        out.mkdir()
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run(
            [sys.executable, "-c", code, *args, "--trace-dir", str(out)],
            env=env,
            capture_output=True,
            timeout=120,
        )
        assert proc.returncode == 1, proc.stderr.decode()
        traces.append([p.read_bytes() for p in sorted(out.iterdir())])
    assert len(traces[0]) == 2 and traces[0] == traces[1]
