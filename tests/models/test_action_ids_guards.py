"""The action-ID guards (matrix model, parts ``actions`` and ``retransmission``)
are false until their race happens, and each bundled check's witness shows that race."""

from __future__ import annotations

import pytest
from witness import check, initially, system, turns_true


def _max_tries(n: int):
    def edit(raw):
        for node in raw["nodes"]:
            if node["kind"] == "device":
                node["config"]["retransmission"]["max_tries"] = n

    return edit


def _first_input_only(raw):
    raw["workload"] = raw["workload"][:1]


# -- retransmission_race ----------------------------------------------------------


def test_retransmission_race_is_false_initially():
    assert not initially(system("action-ids"), "retransmission_race")


def test_retransmission_race_is_vacuous_when_the_client_never_retransmits():
    """Drops and network duplicates, but max_tries = 1: a duplicate of the
    applied request reaches the server after it was applied, and that is not
    the race (the old guard, counting any repeat, was reached here)."""
    checked = check("action-ids", edit=_max_tries(1))
    assert checked.report.complete
    assert checked.system.scenario.check.duplicates == 1
    assert checked.report.verdicts["retransmission_race"] == "vacuous", checked.report.verdicts
    assert checked.report.verdict == "vacuous"


def _applied(rec: dict, aid: int) -> bool:
    """The step is the server applying action ``aid`` (it answers with success)."""
    return rec["act"] == "deliver" and any(
        m["type"] == "result" and m["ok"] and m["aid"] == aid for _, m in rec["sends"]
    )


def test_retransmission_race_witness_is_a_resent_request_after_the_applied_one():
    checked = check("action-ids")
    steps = checked.witness("retransmission_race")
    actions = checked.report.witnesses["retransmission_race"]
    k = turns_true(checked.system, "retransmission_race", actions)
    assert k == len(steps) - 1  # a shortest witness ends where the race happened
    arrival = steps[k]
    assert arrival["act"] == "deliver" and arrival["node"] == "hs"
    aid, tried = arrival["msg"]["aid"], arrival["msg"]["try"]
    # The copy that arrived was sent by the client's retry timer...
    resend = steps[arrival["sent"]]
    assert resend["act"] == "timer" and resend["node"] == "alice"
    assert resend["timer"] == f"retransmission:{aid}"
    assert ("hs", arrival["msg"]) in resend["sends"]
    # ...and an earlier transmission of the same action was applied before it came.
    applied = [j for j in range(k) if _applied(steps[j], aid)]
    assert applied, steps
    assert steps[applied[0]]["msg"]["try"] < tried


@pytest.mark.parametrize("name", ["action-ids"])
def test_every_reached_guard_turns_true_on_its_witness_last_step(name):
    checked = check(name)
    for guard, actions in checked.report.witnesses.items():
        assert turns_true(checked.system, guard, actions) == len(actions) - 1, guard


# -- out_of_order_actions -----------------------------------------------------------


@pytest.mark.parametrize("name", ["action-ids", "action-ids-parallel"])
def test_out_of_order_actions_is_false_initially_and_vacuous_with_one_action(name):
    assert not initially(system(name), "out_of_order_actions")
    checked = check(name, edit=_first_input_only)
    assert checked.report.complete
    assert checked.report.verdicts["out_of_order_actions"] == "vacuous", checked.report.verdicts


@pytest.mark.parametrize("name", ["action-ids", "action-ids-parallel"])
def test_out_of_order_actions_witness_delivers_a_higher_id_first(name):
    checked = check(name)
    steps = checked.witness("out_of_order_actions")
    arrival = steps[-1]
    assert arrival["act"] == "deliver" and arrival["node"] == "hs"
    aid = arrival["msg"]["aid"]
    assert aid > 0
    # No lower action ID had been applied-in-order up to aid - 1: some lower one
    # was not delivered before this arrival.
    delivered = {
        s["msg"].get("aid") for s in steps[:-1] if s["act"] == "deliver" and s["node"] == "hs"
    }
    assert any(lower not in delivered for lower in range(aid))
    # The higher request was sent after the lower ones (the client numbers in order).
    first_send = {}
    for j, s in enumerate(steps):
        for dst, m in s["sends"]:
            if dst == "hs" and "aid" in m:
                first_send.setdefault(m["aid"], j)
    assert all(first_send[lower] < first_send[aid] for lower in range(aid))
