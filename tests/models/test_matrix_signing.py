"""The E2E signing round trip (issue 11; proposal, "E2E Notes"): the server prepares
the full event, the client signs it and sends it back, each request with its own
action ID; Bob's message may land in between."""

from __future__ import annotations

import functools
import subprocess
import sys

from witness import check, initially, system

NAME = "e2e-signing"


@functools.cache
def _bundled():
    return check(NAME)


def _in_order(raw):
    for n in raw["nodes"]:
        n["config"].pop("timeline", None)


def test_the_bundled_check_is_complete_and_holds_with_a_duplicate():
    report = _bundled().report
    assert report.complete
    assert report.verdicts == {
        "signatures_verify": "holds",
        "signed_messages_sent": "holds",
        "signed_messages_shown": "holds",
        "idempotent": "holds",
        "prepared_went_stale": "reached",
    }


def test_a_server_that_moves_a_stale_event_breaks_its_signature():
    report = check(NAME, "prepared_prevs=refresh").report
    assert report.verdicts["signatures_verify"] == "violated"


def test_without_idempotent_retransmission_a_duplicated_request_is_applied_again():
    report = check(NAME, "idempotent_retransmission=false").report
    assert report.verdicts["idempotent"] == "violated"


def test_a_device_that_takes_no_out_of_order_events_never_sees_its_stale_signed_message():
    report = check(NAME, edit=_in_order).report
    assert report.verdicts["signed_messages_shown"] == "violated"
    assert report.verdicts["signatures_verify"] == "holds"


def test_prepared_went_stale_is_false_initially_and_vacuous_without_bob_s_message():
    assert not initially(system(NAME), "prepared_went_stale")

    def alice_alone(raw):
        raw["workload"] = [w for w in raw["workload"] if w["node"] != "bob1"]

    checked = check(NAME, edit=alice_alone)
    assert checked.report.complete
    assert checked.report.verdicts["prepared_went_stale"] == "vacuous"


def test_prepared_went_stale_witness_is_bob_s_message_between_prepare_and_send():
    steps = _bundled().witness("prepared_went_stale")
    last = steps[-1]
    assert last["act"] == "deliver" and last["node"] == "hs" and last["src"] == "alice1"
    assert last["msg"]["type"] == "send_signed"
    signed_after = last["msg"]["event"]["prev_events"]
    types = [
        (s["src"], s["msg"]["type"]) for s in steps if s["act"] == "deliver" and s["node"] == "hs"
    ]
    assert types.index(("alice1", "prepare")) < types.index(("bob1", "send"))
    # Bob's event is what the signed one is no longer on top of.
    bob = [
        m["event_id"]
        for s in steps
        for _, m in s["sends"]
        if s["node"] == "hs" and s.get("src") == "bob1" and m.get("type") == "result"
    ]
    assert bob and bob[0] not in signed_after


def test_signed_send_without_a_body_is_one_line_and_exit_2(tmp_path):
    from mxsim.models.registry import bundled

    raw = bundled()[NAME].read_text().replace(', body = "signed hello"', "")
    path = tmp_path / "bad.toml"
    path.write_text(raw)
    proc = subprocess.run(
        [sys.executable, "-c", "from mxsim.experiments.cli import main; main()", "run", str(path)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "body" in lines[0] and "bad.toml" in lines[0]
