"""Each VoIP finding: the check names the violated property, the trace replays, it is drawn."""

from __future__ import annotations

import json

import pytest

from mxsim.experiments.cli import main

FINDINGS = [
    # (scenario, switch, violated property, shortest trace length)
    ("voip-1-to-n", "caller_acknowledges=false", "callees_settled", 45),
    ("voip-multi-user-small", "caller_acknowledges=false", "caller_and_callee_agree", 20),
    ("voip-multi-user-small", "rejection_scope=call", "rejection_ends_only_its_user", 19),
]


def _main(*argv: str) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    return exit_info.value.code


@pytest.mark.parametrize(("scenario", "switch", "prop", "length"), FINDINGS)
def test_finding_is_found_replays_and_is_drawn(capsys, tmp_path, scenario, switch, prop, length):
    trace, diagram = tmp_path / "t.jsonl", tmp_path / "d.png"
    args = ["check", scenario, "--set", switch, "--trace", str(trace), "--diagram", str(diagram)]
    code = _main(*args, "--json")
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    found = {v["property"]: v["trace_length"] for v in report["violations"]}
    assert found[prop] == length
    assert json.loads(trace.read_text().splitlines()[-1])["violation"]["property"] == prop
    assert diagram.read_bytes().startswith(b"\x89PNG")
    assert _main("replay", str(trace)) == 0


def test_multi_user_is_checked_completely_and_holds_with_the_fix(capsys):
    code = _main("check", "voip-multi-user-small", "--json")
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["complete"], report
    assert report["properties"]["rejection_before_answer"] == "reached"
    assert report["properties"]["answer_after_hangup"] == "reached"
