"""Reading an ``mxsim-trace/1`` trace for a diagram: its nodes, steps and labels."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mxsim.sim.diagram_style import (
    _LABEL_CHARS,
)


@dataclass
class _Trace:
    header: dict[str, Any]
    steps: list[dict[str, Any]]
    end: dict[str, Any] | None
    nodes: list[str] = field(default_factory=list)


def _read(lines: list[dict]) -> _Trace:
    header: dict[str, Any] = {}
    end: dict[str, Any] | None = None
    steps: list[dict[str, Any]] = []
    for line in lines:
        if not isinstance(line, dict):
            raise TypeError(f"diagram: trace lines must be dicts, found {type(line).__name__}")
        kind = line.get("kind")
        if kind == "header":
            header = line
        elif kind == "step":
            steps.append(line)
        elif kind == "end":
            end = line
    nodes: list[str] = []
    seen: dict[str, None] = {}  # an ordered set: never iterate over a real set

    def add(name: Any) -> None:
        if isinstance(name, str) and name not in seen:
            seen[name] = None
            nodes.append(name)

    for name in header.get("nodes") or []:
        add(name)
    for step in steps:
        add(step.get("node"))
        add(step.get("src"))
    return _Trace(header=header, steps=steps, end=end, nodes=nodes)


def _msg_label(msg: Any, *keys: str) -> str:
    """A short label for a message: its ``type`` (or another key), else its first key."""
    if isinstance(msg, dict):
        for key in keys:
            value = msg.get(key)
            if value is not None:
                return _short(str(value))
        for key in msg:
            return _short(str(key))
        return "{}"
    if msg is None:
        return "?"
    return _short(str(msg))


def _short(text: str, limit: int = _LABEL_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _ms(t: int | float) -> str:
    text = f"{t / 1000:.3f}".rstrip("0").rstrip(".")
    return f"{text} ms"


def _groups(groups: Any) -> str:
    if not isinstance(groups, list | tuple):
        return ""
    parts = []
    for group in groups:
        if isinstance(group, list | tuple):
            parts.append("{" + ",".join(str(x) for x in group) + "}")
        else:
            parts.append(str(group))
    return " | ".join(parts)


def _step_index(step: dict[str, Any], position: int) -> int:
    k = step.get("step")
    return k if isinstance(k, int) and not isinstance(k, bool) else position
