"""A wire protocol declared once: every message's name, fields, direction and section.

A model declares its messages in a :class:`Wire`; tests check that nodes
send only declared messages with their declared fields, and the protocol
document is generated from the declarations (:meth:`Wire.markdown`).

>>> wire = Wire("Toy")
>>> wire.declare("ping", CLIENT_SERVER, "Pinging", "Ask for a pong.", ("n",), ("note",))
>>> wire.problem({"type": "ping", "n": 1}) is None
True
>>> wire.problem({"type": "ping"})
'ping: missing field n'
>>> wire.problem({"type": "ping", "n": 1, "colour": "red"})
'ping: undeclared field colour'
>>> wire.problem({"type": "pong"})
'pong: not a declared message'

Each message may also have a *brief*: a function giving the one line a
person reads in a step listing or on a diagram's arrow (its key content, not
its every field). A message without one is summarised by its type and
scalar fields:

>>> wire.summarize({"type": "ping", "n": 1, "note": "hi"})
'ping n=1 note=hi'
>>> @wire.brief("ping")
... def _ping(msg):
...     return f"ping #{msg['n']}"
>>> wire.summarize({"type": "ping", "n": 1, "note": "hi"})
'ping #1'
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Message", "Wire", "plain", "CLIENT_SERVER", "SERVER_CLIENT", "SERVER_SERVER"]

CLIENT_SERVER = "client → server"
SERVER_CLIENT = "server → client"
SERVER_SERVER = "server → server"
DIRECTIONS = (CLIENT_SERVER, SERVER_CLIENT, SERVER_SERVER)


@dataclass(frozen=True)
class Message:
    """One message type: ``fields`` it always carries, ``optional`` ones it may."""

    name: str
    direction: str
    section: str
    summary: str
    fields: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()


class Wire:
    """A registry of messages, in the order they were declared."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.messages: dict[str, Message] = {}
        self.briefs: dict[str, Callable[[dict[str, Any]], str]] = {}

    def declare(
        self,
        name: str,
        direction: str,
        section: str,
        summary: str,
        fields: tuple[str, ...] = (),
        optional: tuple[str, ...] = (),
    ) -> None:
        if name in self.messages:
            raise ValueError(f"message {name} declared twice")
        if direction not in DIRECTIONS:
            raise ValueError(f"message {name}: direction must be one of {DIRECTIONS}")
        self.messages[name] = Message(name, direction, section, summary, fields, optional)

    def brief(
        self, name: str
    ) -> Callable[[Callable[[dict[str, Any]], str]], Callable[[dict[str, Any]], str]]:
        """Register the one-line summary of message ``name`` (a decorator; a later one
        replaces an earlier, so a module imported twice under two names is harmless)."""

        def register(fn: Callable[[dict[str, Any]], str]) -> Callable[[dict[str, Any]], str]:
            self.briefs[name] = fn
            return fn

        return register

    def summarize(self, msg: Any) -> str:
        """One line saying what ``msg`` carries: its brief, else its type and scalar fields."""
        if not isinstance(msg, dict):
            return "?" if msg is None else str(msg)
        fn = self.briefs.get(msg.get("type"))  # type: ignore[arg-type]
        if fn is not None:
            try:
                return fn(msg)
            except (KeyError, TypeError, ValueError, IndexError, AttributeError):
                pass  # a malformed message: say what plainly can be said
        return plain(msg)

    def problem(self, msg: dict[str, Any]) -> str | None:
        """None if ``msg`` is a declared message with its declared fields, else why not."""
        name = msg.get("type")
        spec = self.messages.get(name)
        if spec is None:
            return f"{name}: not a declared message"
        for f in spec.fields:
            if f not in msg:
                return f"{name}: missing field {f}"
        allowed = {"type", *spec.fields, *spec.optional}
        for f in sorted(msg):
            if f not in allowed:
                return f"{name}: undeclared field {f}"
        return None

    def markdown(self) -> str:
        """The protocol document: one table per direction, messages in declared order."""
        lines = [
            f"# {self.title}",
            "",
            "Generated from the wire registry; do not edit by hand.",
            "Every message also carries `type` (its name). Optional fields are in brackets.",
        ]
        for direction in DIRECTIONS:
            rows = [m for m in self.messages.values() if m.direction == direction]
            if not rows:
                continue
            lines += ["", f"## {direction}", "", "| message | fields | section | summary |"]
            lines.append("|---|---|---|---|")
            for m in rows:
                fields = ", ".join([f"`{f}`" for f in m.fields] + [f"[`{f}`]" for f in m.optional])
                lines.append(f"| `{m.name}` | {fields} | {m.section} | {m.summary} |")
        return "\n".join(lines) + "\n"


def plain(msg: dict[str, Any]) -> str:
    """A message's type and its scalar fields (``key=value``), in key order."""
    name = str(msg.get("type", "?"))
    parts = [
        f"{k}={v}"
        for k, v in sorted(msg.items())
        if k != "type" and isinstance(v, str | int | float | bool)
    ]
    return " ".join([name, *parts])
