"""`mxsim check --workers N`: breadth-first search over N processes, the same output."""

from __future__ import annotations

import json

from test_cli import mxsim


def test_check_output_and_traces_are_the_same_for_any_workers(capsys, tmp_path):
    outputs = []
    for workers in ("1", "2", "3"):
        where = tmp_path / workers
        args = ["action-ids", "--set", "idempotent_retransmission=false", "--workers", workers]
        more = ["--witness", "retransmission_race", "--trace-dir", str(where), "--json"]
        code, out, _ = mxsim(capsys, "check", *args, *more)
        assert code == 1
        report = json.loads(out.replace(str(where), "DIR"))
        del report["seconds"], report["memory"]  # wall clock, and machine-dependent
        files = {p.name: p.read_bytes() for p in sorted(where.iterdir())}
        outputs.append((report, files))
    assert outputs[0] == outputs[1] == outputs[2]
    report, files = outputs[0]
    assert report["mode"] == "bfs" and report["complete"]
    assert len(files) == 4  # three violations and the witness
