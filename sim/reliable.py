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
1
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
>>> link.acked(ctx, a, "b", ctx.sent[-1][1]["seq"])
True
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
    (``f"{timer}:{dst}"``), ``retry_ms`` their period. ``field`` names the
    number in each message. ``kind=None``: each payload carries its own
    ``type`` (requests of several kinds over one link). ``max_tries``: give
    a payload up after that many sends (None: resend until acknowledged).
    """

    def __init__(
        self,
        kind: str | None,
        ack: str,
        timer: str,
        retry_ms: float,
        field: str = "seq",
        max_tries: int | None = None,
    ) -> None:
        self.kind = kind
        self.ack = ack
        self.timer = timer
        self.retry_ms = retry_ms
        self.field = field
        self.max_tries = max_tries

    @staticmethod
    def initial() -> dict[str, Any]:
        """A fresh slice: ``out`` (dst -> {seq: payload} unacknowledged), ``next``
        (dst -> last seq used), ``got`` (src -> [watermark, [seqs above it]]);
        with ``max_tries``, also ``tries`` (dst -> {seq: sends so far})."""
        return {"out": {}, "next": {}, "got": {}}

    # -- sending ----------------------------------------------------------------

    def _message(self, seq: int, payload: dict[str, Any]) -> dict[str, Any]:
        if self.kind is None:
            return {"type": payload["type"], self.field: seq, **payload}
        return {"type": self.kind, self.field: seq, **payload}

    def send(
        self, ctx: Context, link: dict, dst: str, payload: dict[str, Any], seq: int | None = None
    ) -> int:
        """Send ``payload``'s fields to ``dst`` until acknowledged; its number.

        ``seq``: the caller's own number for it (e.g. an action ID), instead
        of the link's next one.
        """
        if seq is None:
            seq = link["next"].get(dst, 0) + 1
            link["next"][dst] = seq
        link["out"].setdefault(dst, {})[str(seq)] = payload
        if self.max_tries is not None:
            link.setdefault("tries", {}).setdefault(dst, {})[str(seq)] = 1
        ctx.send(dst, self._message(seq, payload))
        ctx.set_timer(f"{self.timer}:{dst}", self.retry_ms)
        return seq

    def retry(self, ctx: Context, link: dict, dst: str) -> list[tuple[int, dict[str, Any]]]:
        """The retry timer for ``dst`` fired: send again what it has not
        acknowledged. Returns what was given up (``max_tries`` reached)."""
        pending = link["out"].get(dst)
        given_up: list[tuple[int, dict[str, Any]]] = []
        if not pending:
            return given_up
        tries = link.get("tries", {}).get(dst, {})
        for seq in sorted(pending, key=int):
            if self.max_tries is not None:
                if tries[seq] >= self.max_tries:
                    given_up.append((int(seq), pending.pop(seq)))
                    del tries[seq]
                    continue
                tries[seq] += 1
            ctx.send(dst, self._message(int(seq), pending[seq]))
        if pending:
            ctx.set_timer(f"{self.timer}:{dst}", self.retry_ms)
        else:
            self._forget(link, dst)
        return given_up

    def acked(self, ctx: Context, link: dict, src: str, seq: int) -> bool:
        """``src`` acknowledged number ``seq``; False if it was not outstanding."""
        pending = link["out"].get(src, {})
        found = pending.pop(str(seq), None) is not None
        if self.max_tries is not None and found:
            del link["tries"][src][str(seq)]
        if not pending and src in link["out"]:
            self._forget(link, src)
            ctx.cancel_timer(f"{self.timer}:{src}")
        return found

    @staticmethod
    def _forget(link: dict, dst: str) -> None:
        link["out"].pop(dst, None)
        if "tries" in link:
            link["tries"].pop(dst, None)

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
        ctx.send(src, {"type": self.ack, self.field: msg[self.field]})
        return payload is not None

    def fresh(self, link: dict, src: str, msg: dict[str, Any]) -> dict[str, Any] | None:
        """Record ``msg`` as received; its payload if it is the first copy, else None."""
        seq = msg[self.field]
        mark, above = link["got"].get(src, (0, []))
        if seq <= mark or seq in above:
            return None
        above = list(above)
        bisect.insort(above, seq)
        while above and above[0] == mark + 1:
            mark = above.pop(0)
        link["got"][src] = [mark, above]
        return {k: v for k, v in msg.items() if k not in ("type", self.field)}
