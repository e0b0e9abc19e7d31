"""The :class:`sim.model.View` of a live timed run: properties read the nodes'
live states and the messages travelling as simpy timeouts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mxsim.sim.timed import TimedRun


class _View:
    """:class:`sim.model.View` of the live run."""

    __slots__ = ("rt", "nodes", "switches")

    def __init__(self, rt: TimedRun) -> None:
        self.rt = rt
        self.nodes = rt.system.names
        self.switches = rt.system.switches

    def state(self, node: str) -> dict[str, Any]:
        return self.rt.states[self.rt.system.index[node]]

    def kind(self, node: str) -> str:
        return self.rt.system.nodes[self.rt.system.index[node]].kind

    def config(self, node: str) -> dict[str, Any]:
        return self.rt.system.nodes[self.rt.system.index[node]].config

    def up(self, node: str) -> bool:
        return self.rt.up[self.rt.system.index[node]]

    def inflight(self) -> list[tuple[str, str, dict[str, Any]]]:
        # Messages travel as the values of their simpy Timeouts; scan the heap
        # in (time, insertion) order, which is deterministic.
        out = []
        for _t, _prio, _eid, ev in sorted(self.rt.env._queue, key=lambda e: e[:3]):
            if ev.callbacks and ev.callbacks[0] == self.rt._arrive_cb:
                src, dst, msg, _sent, _i = ev._value
                out.append((src, dst, msg))
        return out
