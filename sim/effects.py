"""What a handler emits in one step: messages sent, timers set and cancelled, metrics.

:class:`Effects` is the :class:`sim.node.Context` a handler runs with; its
record is the ``effects`` of a trace step.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Effects", "effects_record"]


class Effects:
    """Collects what a handler emits; it is the :class:`sim.node.Context` of a step."""

    __slots__ = ("node", "switches", "sends", "timer_ops", "metrics")

    def __init__(self, node: str, switches: dict[str, Any]) -> None:
        self.node = node
        self.switches = switches
        self.sends: list[list[Any]] = []
        self.timer_ops: list[tuple[str, str, int]] = []  # in the order the handler made them
        self.metrics: list[list[Any]] = []

    def send(self, dst: str, msg: dict[str, Any]) -> None:
        self.sends.append([dst, msg])

    def set_timer(self, name: str, delay_ms: float) -> None:
        self.timer_ops.append(("set", name, round(delay_ms * 1000)))

    def cancel_timer(self, name: str) -> None:
        self.timer_ops.append(("cancel", name, 0))

    def metric(self, name: str, value: int = 1) -> None:
        self.metrics.append([name, value])

    def record(self) -> dict[str, Any]:
        return effects_record(self.sends, self.timer_ops, self.metrics)


def effects_record(sends: list, timer_ops: list, metrics: list) -> dict[str, Any]:
    """A step's effects as trace data (only the kinds that occurred)."""
    out: dict[str, Any] = {}
    if sends:
        out["send"] = sends
    sets = [[name, delay] for op, name, delay in timer_ops if op == "set"]
    if sets:
        out["set"] = sets
    cancels = [name for op, name, _ in timer_ops if op == "cancel"]
    if cancels:
        out["cancel"] = cancels
    if metrics:
        out["metric"] = metrics
    return out
