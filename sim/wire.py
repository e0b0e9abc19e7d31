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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Message", "Wire", "CLIENT_SERVER", "SERVER_CLIENT", "SERVER_SERVER"]

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
