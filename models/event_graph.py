"""Walks over a room's event graph (prev events, auth events) that may be deep."""

from __future__ import annotations

from collections.abc import Callable, Container, Sequence

__all__ = ["post_order"]


def post_order(
    start: str,
    children: Callable[[str], Sequence[str]],
    done: Container[str],
    visit: Callable[[str, Sequence[str]], None],
    grey: set[str],
    cycle: str,
) -> None:
    """Call ``visit(eid, children(eid))`` for ``start`` and every descendant not
    ``done``, children first, with an explicit stack (graphs may be deep).

    ``visit`` must make ``eid`` done. ``grey`` holds the events whose visit is
    under way; meeting one again closes a cycle: ``ValueError(f"{cycle} {eid}")``.
    """
    stack: list[tuple[str, bool]] = [(start, False)]
    while stack:
        eid, expanded = stack.pop()
        if eid in done:
            continue
        kids = children(eid)
        if expanded:
            visit(eid, kids)
            grey.discard(eid)
            continue
        if eid in grey:
            raise ValueError(f"{cycle} {eid}")
        grey.add(eid)
        stack.append((eid, True))
        stack.extend((k, False) for k in reversed(kids) if k not in done)
