"""The matrix model's wire protocol: declared once, sent as declared, documented.

Every message the migrated scenarios send (in their timed runs, with each
finding's switch, and along the first states of an exhaustive search) must
be declared in :data:`mxsim.models.wire.WIRE` and carry exactly its
declared fields; ``docs/protocol.md`` must be what the registry generates.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from mxsim.experiments.jobs import load_scenario
from mxsim.models.matrix import MODEL
from mxsim.models.wire import WIRE, main
from mxsim.sim.explore import Explorer
from mxsim.sim.system import System
from mxsim.sim.timed import TimedRun

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
SCENARIOS = ["partition-heal", "rejected-event", "scrollback", "state-reset", "superseded-state"]
#: Migrated from the clients model (sessions, presence, typing).
SCENARIOS += ["presence-order", "typing-presence", "session-expiry-order", "session-expiry-devices"]
SCENARIOS += ["capabilities", "local-echo"]
SCENARIOS += ["voip-federated"]
#: Requests without action IDs (a bot's), and the rejections after a missing seqnum.
SCENARIOS += ["sync-bot", "action-ids-gap"]
ACTIONS = Path(__file__).with_name("test_matrix_actions.py")


class Checking:
    """A context that records every send that is not as declared, and forwards all."""

    def __init__(self, inner, problems: list) -> None:
        self.inner, self.problems = inner, problems
        self.node, self.switches = inner.node, inner.switches

    def send(self, dst, msg) -> None:
        problem = WIRE.problem(msg)
        if problem is not None:
            self.problems.append(problem)
        self.inner.send(dst, msg)

    def set_timer(self, name, delay_ms) -> None:
        self.inner.set_timer(name, delay_ms)

    def cancel_timer(self, name) -> None:
        self.inner.cancel_timer(name)

    def metric(self, name, value=1) -> None:
        self.inner.metric(name, value)


def checked(cls: type, problems: list) -> type:
    class Checked(cls):
        def on_start(self, ctx, state):
            super().on_start(Checking(ctx, problems), state)

        def on_message(self, ctx, state, src, msg):
            super().on_message(Checking(ctx, problems), state, src, msg)

        def on_timer(self, ctx, state, name):
            super().on_timer(Checking(ctx, problems), state, name)

    Checked.__name__ = cls.__name__
    return Checked


def system(name: str, *sets: str) -> tuple[System, list, list]:
    problems: list = []
    kinds = {k: checked(cls, problems) for k, cls in MODEL.kinds.items()}
    loaded = load_scenario(name, sets)
    return System(loaded.scenario, replace(MODEL, kinds=kinds)), problems, loaded


@pytest.mark.parametrize(
    ("name", "sets"),
    [(n, ()) for n in SCENARIOS]
    + [
        ("superseded-state", ("omit_superseded_state=false",)),
        ("rejected-event", ("rejected_events=false",)),
        ("state-reset", ("state_resolution=depth",)),
        ("presence-order", ('presence_typing_order="arrival"',)),
        ("typing-presence", ('presence_of_user="last_session"',)),
        ("session-expiry-devices", ('txn_scope="session"',)),
        ("session-expiry-order", ('renewal_order="as_answered"',)),
        ("sync-bot", ("bot_waits=false",)),
        ("action-ids-gap", ('after_missing_seqnum="wait"',)),
    ],
)
def test_a_run_sends_only_declared_messages_with_their_fields(name, sets):
    sys_, problems, loaded = system(name, *sets)
    TimedRun(sys_, loaded.scenario.run.seed, loaded.scenario.run.until).run()
    assert problems == []


@pytest.mark.parametrize("name", SCENARIOS)
def test_an_exploration_sends_only_declared_messages(name):
    sys_, problems, _ = system(name)
    Explorer(sys_, max_states=1500).bfs()
    assert problems == []


def test_the_room_actions_scenario_sends_only_declared_messages(tmp_path):
    # Every request kind but scrollback/context (covered above) is in it.
    text = ACTIONS.read_text().split('SCENARIO = """', 1)[1].split('"""', 1)[0]
    path = tmp_path / "room-actions.toml"
    path.write_text(text)
    sys_, problems, loaded = system(str(path))
    TimedRun(sys_, 1, 5_000_000).run()
    assert problems == []


def test_the_check_catches_an_undeclared_field():
    assert WIRE.problem({"type": "result", "aid": 0, "ok": True, "colour": 1}) is not None
    assert WIRE.problem({"type": "fed.ack"}) == "fed.ack: missing field seq"


def test_the_protocol_document_is_current(tmp_path):
    out = tmp_path / "protocol.md"
    main([str(out)])
    assert DOC.read_text() == out.read_text(), "run: python -m mxsim.models.wire docs/protocol.md"
    for name in WIRE.messages:
        assert f"`{name}`" in DOC.read_text()


def test_an_option_is_not_taken_for_the_output_path(tmp_path, monkeypatch, capsys):
    from mxsim.models.wire import main

    monkeypatch.chdir(tmp_path)
    assert main(["--help"]) == 2
    assert list(tmp_path.iterdir()) == []
    assert capsys.readouterr().err.count("\n") == 1
