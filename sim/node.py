"""Nodes: deterministic handlers over plain-data state.

A node is written once and run by both runtimes (DESIGN.md, "One model, two
runtimes"). Its state is *plain data*: dicts with ``str`` keys, lists, tuples,
``str``, ``int``, ``bool`` and ``None``; no sets, no floats, no objects. That is
what lets the checker clone and fingerprint a state cheaply and lets a trace
hold it as canonical JSON.

A handler receives the node's own state, which it may change in place, and a
:class:`Context` through which it emits its effects: messages to send, named
timers to set or cancel, metrics to record. It never reads the wall clock, a
global random generator or the iteration order of a set.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

__all__ = ["Context", "Node", "ConfigError", "WORKLOAD"]

#: Source name of inputs that the scenario's workload gives a node.
WORKLOAD = "@workload"

State = dict[str, Any]
Message = dict[str, Any]


class ConfigError(ValueError):
    """A node's ``config`` or workload ``input`` is not what the node expects.

    ``field`` is the dotted path inside the checked table, ``expected`` says
    what would be accepted and ``found`` shows what was there.
    """

    def __init__(self, field: str, expected: str, found: Any) -> None:
        super().__init__(f"{field}: expected {expected}, found {found!r}")
        self.field = field
        self.expected = expected
        self.found = found


class Context(Protocol):
    """What a handler may do. Each runtime supplies its own implementation."""

    node: str
    switches: dict[str, Any]

    def send(self, dst: str, msg: Message) -> None:
        """Send ``msg`` (plain data) to node ``dst``."""

    def set_timer(self, name: str, delay_ms: float) -> None:
        """Arm timer ``name`` to fire after ``delay_ms``; re-arming replaces it."""

    def cancel_timer(self, name: str) -> None:
        """Disarm timer ``name`` if armed."""

    def metric(self, name: str, value: int = 1) -> None:
        """Add ``value`` to counter ``name`` (traffic counts, retries, ...)."""


class Node:
    """Base class of all nodes.

    Subclasses set ``kind`` and may set ``durable``: the state keys that survive
    a crash (everything else is volatile and reset to :meth:`initial_state`).
    Instances only hold configuration; all mutable data lives in the state.
    """

    kind: ClassVar[str] = "node"
    durable: ClassVar[tuple[str, ...]] = ()

    def __init__(self, name: str, config: dict[str, Any], switches: dict[str, Any]) -> None:
        self.name = name
        self.config = config
        self.switches = switches

    @classmethod
    def check_config(cls, config: dict[str, Any], node_names: tuple[str, ...]) -> None:
        """Raise :class:`ConfigError` if ``config`` is unusable. Default: accept."""

    @classmethod
    def check_input(cls, data: dict[str, Any]) -> None:
        """Raise :class:`ConfigError` if a workload ``input`` is unusable."""

    def initial_state(self) -> State:
        return {}

    def on_start(self, ctx: Context, state: State) -> None:
        """Called once when the node starts, and again after each restart."""

    def on_message(self, ctx: Context, state: State, src: str, msg: Message) -> None:
        """Called for each delivered message and each workload input."""

    def on_timer(self, ctx: Context, state: State, name: str) -> None:
        """Called when timer ``name`` fires."""

    def restart_state(self, old: State) -> State:
        """State after a crash: fresh volatile part, durable keys carried over."""
        fresh = self.initial_state()
        for key in self.durable:
            if key in old:
                fresh[key] = old[key]
        return fresh
