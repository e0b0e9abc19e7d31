"""Action IDs on the matrix homeserver (part ``actions``) and device (part
``retransmission``): proposal "Action APIs", "Send a message", "Action IDs"."""

from __future__ import annotations

import pytest

from mxsim.models.device import Device
from mxsim.models.homeserver import Homeserver
from mxsim.models.matrix import MODEL
from mxsim.sim.node import ConfigError

ROOM = "!r:hs"
SWITCHES = {
    **{s.name: s.default for s in MODEL.switches},
    "state_resolution": "v2",
    "omit_superseded_state": True,
    "rejected_events": True,
    "idempotent_retransmission": True,
    "hold_out_of_order": True,
}
GENESIS = {"genesis": [{"room": ROOM, "creator": "@alice:hs"}]}


class Ctx:
    """Records effects, as a runtime would carry them out."""

    def __init__(self, node: str, switches: dict) -> None:
        self.node, self.switches = node, switches
        self.sent: list = []
        self.timers: dict = {}

    def send(self, dst, msg):
        self.sent.append((dst, msg))

    def set_timer(self, name, delay_ms):
        self.timers[name] = delay_ms

    def cancel_timer(self, name):
        self.timers.pop(name, None)

    def metric(self, name, value=1):
        pass


def _server(**switches):
    sw = {**SWITCHES, **switches}
    hs = Homeserver("hs", {"rooms": GENESIS, "actions": {"hold_timeout_ms": 300}}, sw)
    state = hs.initial_state()
    ctx = Ctx("hs", sw)
    hs.on_start(ctx, state)
    return hs, state, ctx


def _send(aid, body, tried=1):
    return {
        "type": "send",
        "aid": aid,
        "whoami": "@alice:hs",
        "out_of_order": False,
        "room": ROOM,
        "body": body,
        "try": tried,
    }


def _messages(state):
    store = state["rooms"]["stores"][ROOM]
    return [e for e in store["events"].values() if e["type"] == "m.room.message"]


def _answers(ctx):
    return [m for dst, m in ctx.sent if dst == "alice" and m["type"] == "result"]


def test_a_retransmission_is_answered_again_and_applied_once():
    hs, state, ctx = _server()
    hs.on_message(ctx, state, "alice", _send(0, "hi"))
    hs.on_message(ctx, state, "alice", _send(0, "hi", tried=2))
    assert len(_messages(state)) == 1
    first, again = _answers(ctx)
    assert first == again and first["ok"]
    assert state["actions"]["retransmission_race"]


def test_without_idempotence_a_retransmission_is_applied_twice():
    hs, state, ctx = _server(idempotent_retransmission=False)
    hs.on_message(ctx, state, "alice", _send(0, "hi"))
    hs.on_message(ctx, state, "alice", _send(0, "hi", tried=2))
    assert len(_messages(state)) == 2


def test_a_network_copy_is_not_the_retransmission_race():
    hs, state, ctx = _server()
    hs.on_message(ctx, state, "alice", _send(0, "hi"))
    hs.on_message(ctx, state, "alice", _send(0, "hi"))
    assert not state["actions"]["retransmission_race"]


def test_a_higher_id_waits_for_the_lower_and_then_both_apply_in_order():
    hs, state, ctx = _server()
    hs.on_message(ctx, state, "alice", _send(1, "second"))
    assert _messages(state) == [] and state["actions"]["out_of_order"]
    assert ctx.timers == {"actions:hold:alice:1": 300}
    hs.on_message(ctx, state, "alice", _send(0, "first"))
    bodies = [e["content"]["body"] for e in sorted(_messages(state), key=lambda e: e["depth"])]
    assert bodies == ["first", "second"]
    assert ctx.timers == {}


def test_a_held_id_times_out_and_is_rejected_for_good():
    hs, state, ctx = _server()
    hs.on_message(ctx, state, "alice", _send(1, "second"))
    hs.on_timer(ctx, state, "actions:hold:alice:1")
    assert _answers(ctx) == [
        {"type": "result", "aid": 1, "ok": False, "error": "missing sequence number"}
    ]
    hs.on_message(ctx, state, "alice", _send(1, "second", tried=2))
    assert _answers(ctx)[-1]["ok"] is False and _messages(state) == []


def test_without_the_hold_a_higher_id_applies_at_once():
    hs, state, ctx = _server(hold_out_of_order=False)
    hs.on_message(ctx, state, "alice", _send(1, "second"))
    assert len(_messages(state)) == 1 and ctx.timers == {}


def test_a_device_resends_with_the_next_try_then_gives_up():
    config = {"server": "hs", "user": "@alice:hs", "retransmission": {"max_tries": 2}}
    dev = Device("alice", config, SWITCHES)
    state, ctx = dev.initial_state(), Ctx("alice", SWITCHES)
    dev.on_message(ctx, state, "@workload", {"op": "send", "room": ROOM, "body": "hi"})
    assert ctx.sent[-1][1]["try"] == 1 and "retransmission:0" in ctx.timers
    dev.on_timer(ctx, state, "retransmission:0")
    assert ctx.sent[-1][1]["try"] == 2 and ctx.sent[-1][1]["aid"] == 0
    dev.on_timer(ctx, state, "retransmission:0")
    assert state["retransmission"] == {"pending": {}, "gave_up": [0]}
    # An answer that comes after the device gave up leaves the outcome alone.
    dev.on_message(ctx, state, "hs", {"type": "result", "aid": 0, "ok": True})
    assert state["requests"]["results"] == {}


@pytest.mark.parametrize(
    ("table", "field"),
    [
        ({"retransmit_ms": 0}, "retransmission.retransmit_ms"),
        ({"max_tries": 0}, "retransmission.max_tries"),
    ],
)
def test_bad_retransmission_config_names_the_field(table, field):
    config = {"server": "hs", "user": "@alice:hs", "retransmission": table}
    with pytest.raises(ConfigError) as e:
        Device.check_config(config, ("hs", "alice"))
    assert e.value.field == field


def test_bad_hold_timeout_names_the_field():
    with pytest.raises(ConfigError) as e:
        Homeserver.check_config({"actions": {"hold_timeout_ms": -1}}, ("hs",))
    assert e.value.field == "actions.hold_timeout_ms"
