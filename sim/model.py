"""What a model gives the engine: node kinds, design switches, properties.

``sim`` imports nothing from ``models``; a model describes itself with these
plain records and the command line hands them to the engine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from mxsim.sim.node import Node

__all__ = ["Switch", "Property", "Model", "View", "always", "eventually", "sometimes"]


class View(Protocol):
    """A read-only look at one global state, the same in both runtimes."""

    nodes: tuple[str, ...]
    switches: Mapping[str, Any]

    def state(self, node: str) -> dict[str, Any]:
        """The node's current state (treat as read-only)."""

    def kind(self, node: str) -> str:
        """The node's kind."""

    def config(self, node: str) -> dict[str, Any]:
        """The node's configuration from the scenario (read-only)."""

    def up(self, node: str) -> bool:
        """False while the node is crashed."""

    def inflight(self) -> list[tuple[str, str, dict[str, Any]]]:
        """Messages sent and not yet delivered or lost, as (src, dst, msg)."""


@dataclass(frozen=True)
class Switch:
    """A design choice the proposal leaves open (or makes); ``doc`` quotes it."""

    name: str
    default: Any
    doc: str
    choices: tuple[Any, ...] | None = None

    def check(self, value: Any) -> str | None:
        """None if ``value`` is acceptable, else what was expected."""
        if self.choices is not None:
            if value not in self.choices:
                return "one of " + ", ".join(repr(c) for c in self.choices)
            return None
        want = type(self.default)
        if want is bool:
            return None if isinstance(value, bool) else "a boolean"
        if want is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
            return None if ok else "an integer"
        if want is float:
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            return None if ok else "a number"
        return None if isinstance(value, want) else f"a {want.__name__}"


Kind = Literal["always", "eventually", "sometimes"]


@dataclass(frozen=True)
class Property:
    """A named predicate over a :class:`View`.

    - ``always``: must hold after every step;
    - ``eventually``: must hold in every quiescent state;
    - ``sometimes``: must hold in at least one reachable state, else the run
      is *vacuous*: it never showed the race it was meant to exercise.
    """

    name: str
    kind: Kind
    predicate: Callable[[View], bool]
    doc: str = ""


def always(name: str, doc: str = "") -> Callable[[Callable[[View], bool]], Property]:
    return lambda fn: Property(name, "always", fn, doc or (fn.__doc__ or "").strip())


def eventually(name: str, doc: str = "") -> Callable[[Callable[[View], bool]], Property]:
    return lambda fn: Property(name, "eventually", fn, doc or (fn.__doc__ or "").strip())


def sometimes(name: str, doc: str = "") -> Callable[[Callable[[View], bool]], Property]:
    return lambda fn: Property(name, "sometimes", fn, doc or (fn.__doc__ or "").strip())


@dataclass(frozen=True)
class Model:
    """A protocol model: its node kinds, switches and properties."""

    name: str
    doc: str
    kinds: Mapping[str, type[Node]]
    switches: tuple[Switch, ...] = ()
    properties: tuple[Property, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def switch(self, name: str) -> Switch | None:
        for s in self.switches:
            if s.name == name:
                return s
        return None

    def property(self, name: str) -> Property | None:
        for p in self.properties:
            if p.name == name:
                return p
        return None
