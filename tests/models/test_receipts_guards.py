"""The receipt guards are false until their race happens, and each bundled
check's witness shows that race."""

from __future__ import annotations

from witness import check, initially, system


def _receipts(msg: dict) -> list[dict]:
    return [e["event"] for e in msg.get("events", []) if "receipt" in e["event"]["type"]]


def test_receipt_reached_own_device_witness_is_another_device_of_the_reader():
    checked = check("receipts")
    last = checked.witness("receipt_reached_own_device")[-1]
    assert last["act"] == "deliver" and last["msg"]["type"] == "stream"
    device = last["node"]
    user = checked.system.scenario.nodes[checked.system.index[device]].config["user"]
    got = _receipts(last["msg"])
    assert any(ev["sender"] == user and ev["content"]["device_id"] != device for ev in got), got


def test_receipt_reached_own_device_is_false_initially_and_vacuous_with_one_device_per_user():
    assert not initially(system("receipts"), "receipt_reached_own_device")

    def one_device_each(raw):
        raw["nodes"] = [n for n in raw["nodes"] if not n["name"].endswith("d1")]

    checked = check("receipts", edit=one_device_each)
    assert checked.report.complete
    assert checked.report.verdicts["receipt_reached_own_device"] == "vacuous"


def test_receipt_from_another_server_witness_crosses_federation():
    checked = check("receipts-federated", max_states=20_000)
    steps = checked.witness("receipt_from_another_server")
    last = steps[-1]
    assert last["act"] == "deliver" and last["msg"]["type"] == "stream"
    server = last["src"]
    made = [ev["event_id"] for ev in _receipts(last["msg"])]
    assert any(not eid.startswith(f"${server}.") for eid in made), made
    # It reached that server over federation first.
    assert any(s["act"] == "deliver" and s["msg"]["type"] == "fed.event" for s in steps)


def test_receipt_from_another_server_is_false_initially_and_vacuous_for_local_receipts():
    assert not initially(system("receipts-federated"), "receipt_from_another_server")
    checked = check("receipts-federated", "receipts=local", max_states=20_000)
    assert checked.report.verdicts["receipt_from_another_server"] == "vacuous"
