"""sim/reliable: resend until acknowledged, apply once, over a network that
drops and duplicates (explored exhaustively)."""

from __future__ import annotations

from typing import Any

import pytest
from toy import make_scenario

from mxsim.sim.explore import Explorer
from mxsim.sim.model import Model, Property
from mxsim.sim.node import Node
from mxsim.sim.reliable import Link
from mxsim.sim.scenario import CheckSpec
from mxsim.sim.system import System

LINK = Link("data", "data.ack", "net", 100)


class Sender(Node):
    """Sends ``count`` numbered payloads to ``to``; ``retry: false`` never resends."""

    kind = "sender"

    def initial_state(self) -> dict[str, Any]:
        return {"link": LINK.initial()}

    def on_start(self, ctx, state) -> None:
        for n in range(self.config.get("count", 2)):
            LINK.send(ctx, state["link"], self.config["to"], {"n": n})

    def on_message(self, ctx, state, src, msg) -> None:
        LINK.acked(ctx, state["link"], src, msg["seq"])

    def on_timer(self, ctx, state, name) -> None:
        if self.config.get("retry", True):
            LINK.retry(ctx, state["link"], name.split(":", 1)[1])


class Receiver(Node):
    """Applies each payload it is handed; ``dedup: false`` applies every copy."""

    kind = "receiver"

    def initial_state(self) -> dict[str, Any]:
        return {"link": LINK.initial(), "applied": []}

    def on_message(self, ctx, state, src, msg) -> None:
        def apply(payload: dict) -> None:
            state["applied"].append([src, payload["n"]])

        if self.config.get("dedup", True):
            LINK.receive(ctx, state["link"], src, msg, apply)
        else:
            apply(msg)
            ctx.send(src, {"type": LINK.ack, "seq": msg["seq"]})


def applied(view) -> list:
    receivers = [n for n in view.nodes if view.kind(n) == "receiver"]
    return [tuple(a) for n in receivers for a in view.state(n)["applied"]]


ONCE = Property("once", "always", lambda v: len(applied(v)) == len(set(applied(v))))
ALL = Property(
    "all",
    "eventually",
    lambda v: (
        sorted(set(applied(v))) == sorted(("a", n) for n in range(2))
        and all(not v.state(n)["link"]["out"] for n in v.nodes if v.kind(n) == "sender")
    ),
)


def check(sender: dict, receiver: dict, drops: int = 0, duplicates: int = 0) -> dict[str, str]:
    kinds = {"sender": Sender, "receiver": Receiver}
    model = Model("reliable", "test", kinds, properties=(ONCE, ALL))
    scenario = make_scenario(
        [("a", "sender", {"to": "b", **sender}), ("b", "receiver", receiver)],
        (ONCE, ALL),
        check=CheckSpec(drops=drops, duplicates=duplicates, timers="idle", max_depth=60),
    )
    report = Explorer(System(scenario, model)).bfs()
    assert report.complete
    return report.verdicts


@pytest.mark.parametrize(("drops", "duplicates"), [(0, 0), (1, 0), (0, 1), (2, 1), (1, 2)])
def test_every_payload_is_applied_exactly_once(drops, duplicates):
    assert check({}, {}, drops, duplicates) == {"once": "holds", "all": "holds"}


def test_without_retries_a_drop_loses_a_payload():
    assert check({"retry": False}, {}, drops=1)["all"] == "violated"


def test_without_dedup_a_duplicate_is_applied_twice():
    assert check({}, {"dedup": False}, duplicates=1)["once"] == "violated"


def test_the_receiver_keeps_a_watermark_not_every_number():
    link = LINK.initial()
    for seq in (2, 1, 4):
        LINK.fresh(link, "a", {"type": "data", "seq": seq})
    assert link["got"] == {"a": [2, [4]]}
    assert LINK.fresh(link, "a", {"type": "data", "seq": 1}) is None
    LINK.fresh(link, "a", {"type": "data", "seq": 3})
    assert link["got"] == {"a": [4, []]}


class Recorder:
    def __init__(self) -> None:
        self.sent: list = []
        self.timers: list = []

    def send(self, dst, msg) -> None:
        self.sent.append((dst, msg))

    def set_timer(self, name, ms) -> None:
        self.timers.append(("set", name))

    def cancel_timer(self, name) -> None:
        self.timers.append(("cancel", name))


def test_requests_of_several_kinds_numbered_by_the_caller_and_given_up():
    requests = Link(None, "unused", "retry", 50, field="aid", max_tries=2)
    ctx, link = Recorder(), requests.initial()
    requests.send(ctx, link, "hs", {"type": "send", "body": "a"}, seq=0)
    requests.send(ctx, link, "hs", {"type": "join", "room": "!r"}, seq=1)
    assert [m for _, m in ctx.sent] == [
        {"type": "send", "aid": 0, "body": "a"},
        {"type": "join", "aid": 1, "room": "!r"},
    ]
    assert requests.acked(ctx, link, "hs", 1) and not requests.acked(ctx, link, "hs", 1)
    ctx.sent.clear()
    assert requests.retry(ctx, link, "hs") == []  # the second send of aid 0
    assert [m["aid"] for _, m in ctx.sent] == [0]
    assert requests.retry(ctx, link, "hs") == [(0, {"type": "send", "body": "a"})]
    assert link["out"] == {} and link["tries"] == {}
    assert requests.retry(ctx, link, "hs") == []  # nothing left, nothing sent
    assert len(ctx.sent) == 1
