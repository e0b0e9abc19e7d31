"""Resend until acknowledged, apply once: a reliable link over a lossy network.

A :class:`Link` works on a plain-data slice of a node's state (see
:meth:`Link.initial`). The sender numbers each payload per destination,
keeps it in an outbox and sends it again on a retry timer until the
destination acknowledges that number; the receiver acknowledges every copy
and hands each (source, number) to the application once. The receiver
remembers what it applied as a watermark (every number up to it) and the
numbers above it, so the memory stays as small as the gaps are.

Nothing here knows any protocol: the message types, the timer prefix and the
retry period are the caller's.

>>> link = Link("data", "data.ack", "net:retry", 500)
>>> a, b = link.initial(), link.initial()
>>> class Ctx:
...     def __init__(self): self.sent = []
...     def send(self, dst, msg): self.sent.append((dst, msg))
...     def set_timer(self, name, ms): pass
...     def cancel_timer(self, name): pass
>>> ctx = Ctx()
>>> link.send(ctx, a, "b", {"body": "hi"})
>>> ctx.sent
[('b', {'type': 'data', 'seq': 1, 'body': 'hi'})]
>>> msg = ctx.sent[0][1]
>>> got = []
>>> link.receive(ctx, b, "a", msg, got.append)
True
>>> link.receive(ctx, b, "a", msg, got.append)  # a duplicate: acknowledged again, not applied
False
>>> got
[{'body': 'hi'}]
>>> link.acked(ctx, a, "b", ctx.sent[-1][1])
>>> a["out"]
{}
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from typing import Any

from mxsim.sim.node import Context

__all__ = ["Link"]


class Link:
    """One kind of reliable traffic: ``kind`` messages acknowledged by ``ack`` messages.

    ``timer`` is the prefix of the per-destination retry timers
    (``f"{timer}:{dst}"``), ``retry_ms`` their period.
    """

    def __init__(self, kind: str, ack: str, timer: str, retry_ms: float) -> None:
        self.kind = kind
        self.ack = ack
        self.timer = timer
        self.retry_ms = retry_ms

    @staticmethod
    def initial() -> dict[str, Any]:
        """A fresh slice: ``out`` (dst -> {seq: payload} unacknowledged), ``next``
        (dst -> last seq used), ``got`` (src -> [watermark, [seqs above it]])."""
        return {"out": {}, "next": {}, "got": {}}

    # -- sending ----------------------------------------------------------------

    def send(self, ctx: Context, link: dict, dst: str, payload: dict[str, Any]) -> None:
        """Send ``payload``'s fields to ``dst`` until acknowledged."""
        seq = link["next"].get(dst, 0) + 1
        link["next"][dst] = seq
        link["out"].setdefault(dst, {})[str(seq)] = payload
        ctx.send(dst, {"type": self.kind, "seq": seq, **payload})
        ctx.set_timer(f"{self.timer}:{dst}", self.retry_ms)

    def retry(self, ctx: Context, link: dict, dst: str) -> None:
        """The retry timer for ``dst`` fired: send again what it has not acknowledged."""
        pending = link["out"].get(dst)
        if not pending:
            return
        for seq in sorted(pending, key=int):
            ctx.send(dst, {"type": self.kind, "seq": int(seq), **pending[seq]})
        ctx.set_timer(f"{self.timer}:{dst}", self.retry_ms)

    def acked(self, ctx: Context, link: dict, src: str, msg: dict[str, Any]) -> None:
        """``src`` acknowledged ``msg["seq"]``."""
        pending = link["out"].get(src, {})
        pending.pop(str(msg["seq"]), None)
        if not pending:
            link["out"].pop(src, None)
            ctx.cancel_timer(f"{self.timer}:{src}")

    def pending(self, link: dict, dst: str) -> list[dict[str, Any]]:
        """Payloads sent to ``dst`` and not yet acknowledged, oldest first."""
        out = link["out"].get(dst, {})
        return [out[s] for s in sorted(out, key=int)]

    # -- receiving --------------------------------------------------------------

    def receive(
        self,
        ctx: Context,
        link: dict,
        src: str,
        msg: dict[str, Any],
        apply: Callable[[dict[str, Any]], None],
    ) -> bool:
        """Hand ``msg``'s payload to ``apply`` if this is its first copy, then
        acknowledge it (every copy: the sender may have missed an earlier ack).
        True if it was applied. Acknowledging after applying lets whatever
        ``apply`` sends leave first."""
        payload = self.fresh(link, src, msg)
        if payload is not None:
            apply(payload)
        ctx.send(src, {"type": self.ack, "seq": msg["seq"]})
        return payload is not None

    @staticmethod
    def fresh(link: dict, src: str, msg: dict[str, Any]) -> dict[str, Any] | None:
        """Record ``msg`` as received; its payload if it is the first copy, else None."""
        seq = msg["seq"]
        mark, above = link["got"].get(src, (0, []))
        if seq <= mark or seq in above:
            return None
        above = list(above)
        bisect.insort(above, seq)
        while above and above[0] == mark + 1:
            mark = above.pop(0)
        link["got"][src] = [mark, above]
        return {k: v for k, v in msg.items() if k not in ("type", "seq")}
