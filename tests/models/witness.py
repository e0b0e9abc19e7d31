"""Helpers for the guard tests: check a bundled scenario (or a variant of it),
turn a witness into readable step records, find the step that made a guard true.

A ``sometimes`` guard is honest when it is false where its race has not
happened and its witness shows the race; these helpers let a test say both in
the proposal's terms (who sent what, which timer fired) instead of in tuples.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mxsim.models.registry import MODELS, bundled
from mxsim.sim.explore import Explorer
from mxsim.sim.explore_report import Report
from mxsim.sim.scenario_load import from_raw
from mxsim.sim.scenario_switches import parse_overrides
from mxsim.sim.system import System
from mxsim.sim.timed import TimedRun
from mxsim.sim.trace import path_lines
from mxsim.sim.world import Action, World

__all__ = ["Checked", "check", "system", "records", "turns_true", "initially", "drive", "holds"]


@dataclass
class Checked:
    system: System
    report: Report

    def witness(self, guard: str) -> list[dict[str, Any]]:
        """The witness of ``guard`` as step records (it must have been reached)."""
        assert self.report.verdicts[guard] == "reached", self.report.verdicts
        return records(self.system, self.report.witnesses[guard])


def system(name: str, *sets: str, edit: Callable[[dict[str, Any]], None] | None = None) -> System:
    """The system of bundled scenario ``name``, its raw table changed by ``edit``.

    >>> system("action-ids").scenario.name
    'action-ids'
    """
    with bundled()[name].open("rb") as f:
        raw = tomllib.load(f)
    raw = copy.deepcopy(raw)
    if edit is not None:
        edit(raw)
    scenario = from_raw(raw, name, MODELS, parse_overrides(sets))
    return System(scenario, MODELS[scenario.model])


def check(
    name: str,
    *sets: str,
    edit: Callable[[dict[str, Any]], None] | None = None,
    max_states: int | None = None,
) -> Checked:
    """Breadth-first check of a bundled scenario (or its variant)."""
    sys_ = system(name, *sets, edit=edit)
    return Checked(sys_, Explorer(sys_, max_states=max_states).bfs())


def timed(name: str, *sets: str):
    """The timed run of bundled scenario ``name`` with ``--set`` overrides
    ``sets``, at the seed and end time of its ``[run]`` table."""
    sys_ = system(name, *sets)
    run = sys_.scenario.run
    return TimedRun(sys_, run.seed, run.until).run()


def view_after(sys_: System, actions: list):
    """The view of the world ``actions`` lead to from the initial one."""
    world, _ = sys_.initial()
    for action in actions:
        world, _ = sys_.apply(world, action)
    return sys_.view(world)


def cli(*args: str, hash_seed: str, cwd=None) -> subprocess.CompletedProcess:
    """``mxsim ARGS`` in a fresh interpreter under ``PYTHONHASHSEED=hash_seed``."""
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    cmd = [sys.executable, "-c", "from mxsim.experiments.cli import main; main()", *args]
    return subprocess.run(cmd, env=env, capture_output=True, cwd=cwd)


def records(sys_: System, actions: list) -> list[dict[str, Any]]:
    """The steps of ``actions`` (node starts left out), each a dict with
    ``act``, ``node`` and as the act needs ``src``, ``msg``, ``timer``,
    ``sends`` (the messages the step sent, as (dst, msg)) and ``sent`` (index
    in this list of the step that sent the delivered message, FIFO among copies).
    """
    lines, _, _ = path_lines(sys_, actions)
    starts = sum(1 for line in lines if line["act"] == "start")
    out = []
    for line in lines[starts:]:
        rec = {k: line[k] for k in ("act", "node", "src", "msg", "timer", "input") if k in line}
        rec["sends"] = [tuple(s) for s in line.get("effects", {}).get("send", [])]
        sent = line.get("sent")
        rec["sent"] = None if sent is None or sent < starts else sent - starts
        out.append(rec)
    return out


def turns_true(sys_: System, guard: str, actions: list) -> int:
    """Index of the step after which ``guard`` first holds on the path (-1: never)."""
    prop = sys_.model.property(guard)
    world, _ = sys_.initial()
    assert not prop.predicate(sys_.view(world)), f"{guard} holds in the initial world"
    for k, action in enumerate(actions):
        world, _ = sys_.apply(world, action)
        if prop.predicate(sys_.view(world)):
            return k
    return -1


def initially(sys_: System, guard: str) -> bool:
    """The guard's value in the initial world (after every node started)."""
    world, _ = sys_.initial()
    return sys_.model.property(guard).predicate(sys_.view(world))


def drive(sys_: System, moves: list[tuple]) -> tuple[World, list[Action]]:
    """Follow a hand-picked path: each move is ``(act, node)`` (a timer: ``(act,
    node, name)``) or ``(act, node, src, test)`` where ``test(msg)`` picks among
    the messages from ``src`` to ``node``; the first enabled match is taken.

    Used to build the runs in which a race does *not* happen (while another,
    similar one does), which a bundled check would never single out.
    """
    world, _ = sys_.initial()
    taken = []
    for move in moves:
        act, node = move[0], move[1]
        found = None
        for a in sys_.enabled(world):
            if a[0] != act or a[1] != node:
                continue
            if act == "timer" and len(move) > 2 and a[2] != move[2]:
                continue
            if act in ("deliver", "drop", "duplicate"):
                src, test = move[2], move[3] if len(move) > 3 else None
                if a[2] != src or (test is not None and not test(json.loads(a[3]))):
                    continue
            found = a
            break
        assert found is not None, f"move {move} is not enabled after {taken}"
        world, _ = sys_.apply(world, found)
        taken.append(found)
    return world, taken


def holds(sys_: System, guard: str, world: World) -> bool:
    """The guard's value in ``world``."""
    return sys_.model.property(guard).predicate(sys_.view(world))
