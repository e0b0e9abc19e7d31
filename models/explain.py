"""Why a property failed, in one sentence read from the world.

A trace's end line names the violated property and the step; what a reader
wants is what went wrong: "hs applied action 0 of alice twice: $hs.1, $hs.2".
Each explainer is registered under its property's name and is given a
:class:`Moment`: the world just before the violating step, the world just
after it (for an ``eventually`` property, the final world) and the step's
trace line. It returns the sentence, or None when it finds nothing to say;
then the property's own docstring stands in, so every violation gets a line
(:func:`explain`).

The explainers live in ``explain_rooms``, ``explain_joins``, ``explain_actions``,
``explain_sessions``, ``explain_signing``, ``explain_sync``, ``explain_redactions``,
``explain_voip`` and ``explain_ice`` beside this
module, one per area of the proposal; the property modules stay as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mxsim.models.registry import MODELS
from mxsim.sim.model import View
from mxsim.sim.scenario_load import from_raw
from mxsim.sim.step import action_of
from mxsim.sim.system import System

__all__ = ["Moment", "explains", "explain", "explain_lines", "moment", "EXPLAINERS"]


@dataclass(frozen=True)
class Moment:
    """What an explainer reads: the worlds around the violating step, and that step."""

    before: View | None
    after: View
    step: dict[str, Any] | None


Explainer = Callable[[Moment], str | None]

#: Property name -> its explainer.
EXPLAINERS: dict[str, Explainer] = {}


def explains(name: str) -> Callable[[Explainer], Explainer]:
    """Register the explainer of property ``name`` (a decorator)."""

    def register(fn: Explainer) -> Explainer:
        EXPLAINERS[name] = fn
        return fn

    return register


def system_of(head: dict[str, Any]) -> System:
    """The system a trace's header describes (its embedded scenario and overrides)."""
    raw, source = head.get("raw"), head.get("source")
    scenario = from_raw(
        raw, f"embedded scenario {source}", MODELS, dict(head.get("overrides") or {})
    )
    return System(scenario, MODELS[scenario.model])


def moment(system: System, lines: list[dict[str, Any]], step: int) -> Moment:
    """Re-execute ``lines`` (a whole trace) up to step ``step``: the worlds around it.

    The trace is trusted to replay (``mxsim replay`` checks that); steps that
    change no world (a timed run's partition and heal notes) are skipped.
    """
    world = system.unstarted()
    started = 0
    before = None
    line = None
    for line in lines[1:-1]:
        k = line.get("step")
        previous = world
        act = line.get("act")
        if act == "start" and started < len(system.nodes):
            world, _ = system.start(world, started)
            started += 1
        else:
            action = action_of(line, system)
            if action is not None:
                reason = line.get("reason")
                network = act == "duplicate" or (act == "drop" and reason in ("loss", "partition"))
                if network and line.get("t") is not None:
                    world, _ = system.network(world, action, reason)
                else:
                    world, _ = system.apply(world, action)
        if k == step:
            before = previous
            break
    return Moment(
        before=system.view(before) if before is not None else None,
        after=system.view(world),
        step=line,
    )


def explain(prop: str, at: Moment, doc: str = "") -> str:
    """The sentence saying why ``prop`` failed at ``at``; its ``doc`` when none is found."""
    fn = EXPLAINERS.get(prop)
    if fn is not None:
        try:
            text = fn(at)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            text = None  # a world of another shape: say what the property promises
        if text:
            return text
    first = " ".join(doc.split())
    return f"{prop} does not hold: {first}" if first else f"{prop} does not hold"


def explain_lines(lines: list[dict[str, Any]]) -> str | None:
    """The explanation of a trace's first violation (None if it has none).

    A ``sometimes`` property that was never reached is "vacuous": its
    sentence says which race the run never showed.
    """
    end = lines[-1] if lines else {}
    violation = end.get("violation")
    if not isinstance(violation, dict):
        return None
    prop = str(violation.get("property"))
    system = system_of(lines[0])
    spec = system.model.property(prop)
    doc = spec.doc if spec is not None else ""
    if spec is not None and spec.kind == "sometimes":
        return f"{prop} never happened in this run: {' '.join(doc.split())}"
    step = violation.get("step")
    at = moment(system, lines, step if isinstance(step, int) else len(lines) - 3)
    return explain(prop, at, doc)


def servers(view: View) -> list[str]:
    return [n for n in view.nodes if view.kind(n) == "homeserver"]


def devices(view: View) -> list[str]:
    return [n for n in view.nodes if view.kind(n) == "device"]


def sent(step: dict[str, Any] | None) -> list[tuple[str, dict[str, Any]]]:
    """The (destination, message) pairs a trace step emitted."""
    effects = (step or {}).get("effects") or {}
    return [(str(d), m) for d, m in effects.get("send") or [] if isinstance(m, dict)]


# The explainers register themselves on import.
from mxsim.models import (  # noqa: E402, F401
    explain_actions,
    explain_ice,
    explain_joins,
    explain_redactions,
    explain_rooms,
    explain_sessions,
    explain_signing,
    explain_sync,
    explain_voip,
)
