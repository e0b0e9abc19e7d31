"""The relations model's receipts guard is false until its race happens, and the
bundled check's witness shows that race (bundles and pagination: test_matrix_relations_guards)."""

from __future__ import annotations

import functools

from witness import check, initially, system


@functools.cache
def _bundled(name: str):
    return check(name)


def _items(msg: dict) -> list[tuple[str, dict]]:
    """(device, item) pairs of a stream message, a window's items included."""
    out = []
    for dev, item in msg.get("items", []):
        out.append((dev, item))
        out.extend((dev, sub) for sub in item.get("window", []))
    return out


# -- receipt_reached_own_device ---------------------------------------------------------------


def _user_of_crowd_device(device: str) -> str:
    return device.split("d", 1)[0]  # crowd devices are u{i}d{j}


def test_receipt_reached_own_device_witness_is_another_device_of_the_reader():
    checked = _bundled("receipts")
    steps = checked.witness("receipt_reached_own_device")
    last = steps[-1]
    assert last["act"] == "deliver"
    got = [
        (dev, item["delta"])
        for dev, item in _items(last["msg"])
        if "delta" in item and item["delta"]["type"] == "m.receipt"
    ]
    assert any(
        ev["device_id"] != dev and ev["sender"].startswith("@" + _user_of_crowd_device(dev) + ":")
        for dev, ev in got
    ), got


def test_receipt_reached_own_device_is_false_initially_and_vacuous_with_one_device_per_user():
    assert not initially(system("receipts"), "receipt_reached_own_device")

    def one_device_each(raw):
        for n in raw["nodes"]:
            if n["kind"] == "crowd":
                n["config"]["devices_per_user"] = 1
            elif "crowd" in n["config"]:
                n["config"]["crowd"]["devices_per_user"] = 1

    checked = check("receipts", edit=one_device_each)
    assert checked.report.complete
    assert checked.report.verdicts["receipt_reached_own_device"] == "vacuous"
