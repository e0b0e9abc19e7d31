"""A context that passes every effect on to another.

The base of contexts that watch or change what a handler sends (count it,
keep an answer) while the handler runs unchanged:

>>> class Log:
...     node, switches = "n", {}
...     def __init__(self): self.sent = []
...     def send(self, dst, msg): self.sent.append((dst, msg))
>>> class Loud(Relay):
...     def send(self, dst, msg):
...         super().send(dst, {**msg, "loud": True})
>>> log = Log()
>>> Loud(log).send("m", {"type": "hi"})
>>> log.sent
[('m', {'type': 'hi', 'loud': True})]
"""

from __future__ import annotations

from mxsim.sim.node import Context, Message

__all__ = ["Relay"]


class Relay:
    """Passes sends, timers and metrics on to ``ctx``; subclasses override what they watch."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self.node, self.switches = ctx.node, ctx.switches

    def send(self, dst: str, msg: Message) -> None:
        self._ctx.send(dst, msg)

    def set_timer(self, name: str, delay_ms: float) -> None:
        self._ctx.set_timer(name, delay_ms)

    def cancel_timer(self, name: str) -> None:
        self._ctx.cancel_timer(name)

    def metric(self, name: str, value: int = 1) -> None:
        self._ctx.metric(name, value)
