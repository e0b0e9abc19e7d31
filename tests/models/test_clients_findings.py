"""The clients model's findings as a user meets them: ``mxsim check`` with the
proposal's rule switched back finds the violation, writes a trace that replays
and draws its space-time diagram (see "Findings" in ``models/clients.py``)."""

from __future__ import annotations

import json

import pytest

from mxsim.experiments.cli import main


def mxsim(capsys, *argv: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out, _ = capsys.readouterr()
    return exit_info.value.code, out


FINDINGS = [
    # (scenario, --set, violated property, shortest trace length)
    ("multi-device-join", "join_returns_events=true", "no_unknown_rooms", 11),
]


@pytest.mark.parametrize(("scenario", "switch", "prop", "length"), FINDINGS)
def test_finding_has_a_replayable_trace_and_a_diagram(
    capsys, tmp_path, scenario, switch, prop, length
):
    trace, diagram = tmp_path / "cex.jsonl", tmp_path / "cex.png"
    argv = ["check", scenario, "--set", switch, "--trace", str(trace)]
    code, out = mxsim(capsys, *argv, "--diagram", str(diagram), "--json")
    report = json.loads(out)
    assert code == 1
    assert report["verdict"] == "violated"
    found = {v["property"]: v["trace_length"] for v in report["violations"]}
    assert found.get(prop) == length, found
    end = json.loads(trace.read_text().splitlines()[-1])
    assert end["violation"]["property"] == prop
    assert diagram.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    code, out = mxsim(capsys, "replay", str(trace), "--json")
    assert code == 0 and json.loads(out)["reproduced"]
