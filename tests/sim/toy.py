"""Tiny models shared by the engine tests (test_world, test_explore, test_timed, test_trace).

Each node kind does one obvious thing, so that state counts, timings and
traces can be derived by hand in the tests that use them. Messages are
``{"n": int}``; sinks record the ``n`` they receive.

- ``burst``:  on start, sends ``count`` messages ``{"n": 0..count-1}`` to ``to``
  (``same: true`` sends ``{"n": 0}`` every time).
- ``sink``:   appends each received ``n`` to ``got`` in arrival order, or keeps
  ``got`` sorted with ``sorted: true`` (an order-insensitive state).
- ``pacer``:  sends ``{"n": i}`` to ``to`` every ``every_ms``, ``count`` times
  (the first at start).
- ``racer``:  on start sends ``{"n": 0}`` to ``to`` and arms timer ``t``
  (``delay_ms``); when it fires, sends ``{"n": 1}``.
- ``keeper``: durable ``boots`` (bumped by every start), volatile ``cache``
  (set by a workload input ``{"put": value}``) and ``got`` (messages); with
  ``tick_ms`` it arms timer ``tick`` on start, re-armed each time it fires
  if ``repeat`` is true; ``fired`` lists the timers that fired.
- ``clock``:  on start arms the timers of ``timers`` (``[[name, ms], ...]``) in
  order, then cancels those named in ``cancel``; records what fired.
- ``ringer``: rings from its start: arms timer ``ring`` (``every_ms``); when it
  fires it re-arms it if ``repeat`` is true (the state does not change: a
  cycle), else stops ringing. Any message stops it (``ringing`` false).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from typing import Any

from mxsim.sim.model import Model, Property
from mxsim.sim.node import WORKLOAD, Context, Node
from mxsim.sim.scenario import CheckSpec, Fault, Input, Link, NodeSpec, RunSpec, Scenario
from mxsim.sim.system import System

__all__ = ["make_model", "make_scenario", "make_system", "msg"]


class Burst(Node):
    kind = "burst"

    def on_start(self, ctx: Context, state: dict) -> None:
        for n in range(self.config.get("count", 1)):
            ctx.send(self.config["to"], {"n": 0 if self.config.get("same") else n})


class Sink(Node):
    kind = "sink"

    def initial_state(self) -> dict[str, Any]:
        return {"got": []}

    def on_message(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        if self.config.get("sorted"):
            bisect.insort(state["got"], msg["n"])
        else:
            state["got"].append(msg["n"])


class Pacer(Node):
    kind = "pacer"

    def initial_state(self) -> dict[str, Any]:
        return {"sent": 0}

    def on_start(self, ctx: Context, state: dict) -> None:
        self._send(ctx, state)

    def on_timer(self, ctx: Context, state: dict, name: str) -> None:
        self._send(ctx, state)

    def _send(self, ctx: Context, state: dict) -> None:
        ctx.send(self.config["to"], {"n": state["sent"]})
        state["sent"] += 1
        if state["sent"] < self.config["count"]:
            ctx.set_timer("pace", self.config["every_ms"])


class Racer(Node):
    kind = "racer"

    def initial_state(self) -> dict[str, Any]:
        return {"fired": False}

    def on_start(self, ctx: Context, state: dict) -> None:
        ctx.send(self.config["to"], {"n": 0})
        ctx.set_timer("t", self.config.get("delay_ms", 10))

    def on_timer(self, ctx: Context, state: dict, name: str) -> None:
        state["fired"] = True
        ctx.send(self.config["to"], {"n": 1})


class Keeper(Node):
    kind = "keeper"
    durable = ("boots",)

    def initial_state(self) -> dict[str, Any]:
        return {"boots": 0, "cache": None, "got": [], "fired": []}

    def on_start(self, ctx: Context, state: dict) -> None:
        state["boots"] += 1
        if "tick_ms" in self.config:
            ctx.set_timer("tick", self.config["tick_ms"])

    def on_message(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        if src == WORKLOAD:
            state["cache"] = msg["put"]
        else:
            state["got"].append(msg["n"])

    def on_timer(self, ctx: Context, state: dict, name: str) -> None:
        state["fired"].append(name)
        if self.config.get("repeat"):
            ctx.set_timer(name, self.config["tick_ms"])


class Clock(Node):
    kind = "clock"

    def initial_state(self) -> dict[str, Any]:
        return {"fired": []}

    def on_start(self, ctx: Context, state: dict) -> None:
        for name, ms in self.config.get("timers", []):
            ctx.set_timer(name, ms)
        for name in self.config.get("cancel", []):
            ctx.cancel_timer(name)

    def on_timer(self, ctx: Context, state: dict, name: str) -> None:
        state["fired"].append(name)


class Ringer(Node):
    kind = "ringer"

    def initial_state(self) -> dict[str, Any]:
        return {"ringing": False}

    def on_start(self, ctx: Context, state: dict) -> None:
        state["ringing"] = True
        ctx.set_timer("ring", self.config.get("every_ms", 10))

    def on_message(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        state["ringing"] = False
        ctx.cancel_timer("ring")

    def on_timer(self, ctx: Context, state: dict, name: str) -> None:
        if self.config.get("repeat"):
            ctx.set_timer(name, self.config.get("every_ms", 10))
        else:
            state["ringing"] = False


KINDS: dict[str, type[Node]] = {
    cls.kind: cls for cls in (Burst, Sink, Pacer, Racer, Keeper, Clock, Ringer)
}


def make_model(*props: Property) -> Model:
    return Model("toy", "tiny test nodes", KINDS, properties=props)


NodeDesc = tuple[str, str] | tuple[str, str, dict[str, Any]]
NO_LINK = Link()
NO_CHECK = CheckSpec()
NO_RUN = RunSpec()


def make_scenario(
    nodes: Iterable[NodeDesc],
    props: Iterable[Property] = (),
    *,
    link: Link = NO_LINK,
    links: dict[tuple[str, str], Link] | None = None,
    faults: Iterable[Fault] = (),
    workload: Iterable[Input] = (),
    check: CheckSpec = NO_CHECK,
    run: RunSpec = NO_RUN,
) -> Scenario:
    specs = tuple(NodeSpec(d[0], d[1], dict(d[2]) if len(d) > 2 else {}) for d in nodes)
    return Scenario(
        name="toy",
        description="toy",
        model="toy",
        source="toy",
        switches={},
        nodes=specs,
        default_link=link,
        links=dict(links or {}),
        faults=tuple(faults),
        workload=tuple(workload),
        properties=tuple(p.name for p in props),
        run=run,
        check=check,
    )


def make_system(nodes: Iterable[NodeDesc], *props: Property, **kw: Any) -> System:
    """A :class:`System` of toy nodes; ``kw`` as for :func:`make_scenario`."""
    return System(make_scenario(nodes, props, **kw), make_model(*props))


def msg(n: int) -> str:
    """A toy message as it appears in an action (canonical JSON)."""
    return f'{{"n":{n}}}'
