"""`mxsim show` and `mxsim replay --steps`: a trace one readable line per step,
the violating step marked with a sentence saying what went wrong."""

from __future__ import annotations

import json

import pytest

from mxsim.experiments import jobs
from mxsim.experiments.cli import main
from mxsim.models.explain import explain, explain_lines, moment, system_of
from mxsim.sim import trace as tracefile


def mxsim(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def counterexample(directory, scenario: str, switch: str, prop: str | None = None) -> str:
    """The shortest counterexample of ``prop`` (default: the first violated) as a file."""
    loaded = jobs.load_scenario(scenario, [switch])
    props = [prop] if prop else []
    report = jobs.check_job(loaded, trace_dir=str(directory), properties=props)
    assert report["violations"], report["properties"]
    return report["violations"][0]["trace"]


@pytest.fixture(scope="module")
def action_ids(tmp_path_factory) -> str:
    return counterexample(
        tmp_path_factory.mktemp("cex"),
        "action-ids",
        "idempotent_retransmission=false",
        "idempotent",
    )


def test_show_prints_one_line_per_step_and_explains_the_violation(capsys, action_ids):
    code, out, _ = mxsim(capsys, "show", action_ids)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == (
        "action-ids (check) --set idempotent_retransmission=false: 4 steps after the 2 node starts"
    )
    # Who sent what, summarised by the wire registry: the action ID and the body.
    assert lines[3].split() == ["2", "alice", "input:", "send", '"hello"', "in", "!r:hs", "=>"] + [
        "hs:",
        "#0",
        "send",
        '"hello"',
        "in",
        "!r:hs",
    ]
    assert "2x alice: #0 send" in lines[4]
    # The second delivery of the same action: marked, and what the server emitted.
    bad = [line for line in lines if line.startswith("!!")]
    assert len(bad) == 1
    assert bad[0].split()[1:5] == ["5", "hs", "<-", "alice:"]
    assert "=> alice: result #0 ok $hs.2" in bad[0]
    why = lines[lines.index(bad[0]) + 1]
    assert why.strip() == (
        '^ VIOLATED idempotent: hs applied action 0 of alice 2 times: $hs.1, $hs.2 ("hello")'
    )
    assert lines[-1].startswith("verdicts: idempotent violated")


def test_show_json_has_the_steps_and_the_explanation(capsys, action_ids):
    code, out, _ = mxsim(capsys, "show", action_ids, "--json")
    data = json.loads(out)
    assert code == 0
    assert [s["step"] for s in data["steps"]] == list(range(6))
    assert data["steps"][5]["text"] == '<- alice: #0 send "hello" in !r:hs'
    assert data["steps"][5]["emitted"][0] == "alice: result #0 ok $hs.2"
    assert data["violation"]["property"] == "idempotent"
    assert data["violation"]["explanation"].startswith("hs applied action 0 of alice 2 times")


def test_replay_steps_reproduces_then_prints_the_listing(capsys, action_ids):
    code, out, _ = mxsim(capsys, "replay", action_ids, "--steps")
    assert code == 0
    lines = out.splitlines()
    assert "reproduced 4 steps" in lines[0]
    start = next(i for i, line in enumerate(lines) if line.startswith("action-ids (check) --set"))
    _, shown, _ = mxsim(capsys, "show", action_ids)
    assert lines[start:] == shown.splitlines()
    # Without --steps, no listing.
    _, plain, _ = mxsim(capsys, "replay", action_ids)
    assert "!!" not in plain and "=>" not in plain


def test_show_bad_input_is_one_line_exit_2(capsys, tmp_path):
    code, out, err = mxsim(capsys, "show", str(tmp_path / "nosuch.jsonl"))
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "nosuch.jsonl" in err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"kind": "header"}\n')
    code, _, err = mxsim(capsys, "show", str(bad))
    assert code == 2 and "line 1" in err


def test_a_passing_trace_has_no_mark(capsys, tmp_path):
    trace = tmp_path / "run.jsonl"
    with pytest.raises(SystemExit):
        main(["run", "action-ids", "--trace", str(trace)])
    capsys.readouterr()
    code, out, _ = mxsim(capsys, "show", str(trace))
    assert code == 0
    assert "!!" not in out and "VIOLATED" not in out
    # Timed runs show the time of each step in milliseconds.
    assert " ms " in out.splitlines()[3]


@pytest.mark.parametrize(
    ("scenario", "switch", "prop", "sentence"),
    [
        (
            "superseded-state",
            "omit_superseded_state=false",
            "no_clobbering",
            'hs2 sent bob m.room.topic[""] "alice\'s" $hs1.1, superseded by '
            'm.room.topic[""] "bob\'s" $hs2.1 which bob already holds',
        ),
        (
            "receipts",
            "local_receipt_audience=room",
            "local_receipts_stay_local",
            "u0d0 (@u0:hs1) was streamed @u1:hs1's local receipt of $hs1.1",
        ),
        (
            "voip-multi-user-small",
            "rejection_scope=call",
            "rejection_ends_only_its_user",
            "alice ended call.alice as rejected after @carol:hs rejected; @bob:hs never did",
        ),
        (
            "action-ids-parallel",
            "hold_out_of_order=false",
            "per_client_order",
            "hs placed action 0 of alice ($hs.2) after action 1 ($hs.1)",
        ),
    ],
)
def test_findings_are_explained_from_the_world(tmp_path, scenario, switch, prop, sentence):
    path = counterexample(tmp_path, scenario, switch, prop)
    lines = tracefile.read(path)
    assert lines[-1]["violation"]["property"] == prop
    assert explain_lines(lines).startswith(sentence)


def test_without_an_explainer_the_docstring_speaks(action_ids):
    lines = tracefile.read(action_ids)
    system = system_of(lines[0])
    at = moment(system, lines, 5)
    assert explain("settled", at, "At quiescence every action is settled.") == (
        "settled does not hold: At quiescence every action is settled."
    )
    # The explainer reads the worlds around the step: one event before, two after.
    assert explain("idempotent", at).endswith('$hs.1, $hs.2 ("hello")')
    assert explain("idempotent", moment(system, lines, 4)) == "idempotent does not hold"


@pytest.mark.parametrize(
    ("scenario", "switch", "prop", "sentence"),
    [
        (
            "typing-presence",
            "presence_of_user=last_session",
            "presence_follows_sessions",
            "hs shows @alice:hs offline while alice2 has a live session",
        ),
        (
            "presence-order",
            "presence_typing_order=arrival",
            "sessions_restored",
            "alice1 wants to be typing in no room, but hs has it typing in !r:hs",
        ),
    ],
)
def test_session_findings_are_explained(tmp_path, scenario, switch, prop, sentence):
    lines = tracefile.read(counterexample(tmp_path, scenario, switch, prop))
    assert explain_lines(lines).startswith(sentence)
