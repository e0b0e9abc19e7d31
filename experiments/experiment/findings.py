"""``mxsim experiment findings``: which property breaks under which design choice, and how.

For every bundled scenario, the design matrix of :mod:`mxsim.experiments.matrix`
(one breadth-first check per setting of the switches the scenario is
about), and for each property a setting violates, the space-time diagram
of its shortest counterexample (as ``mxsim check --diagram`` draws it:
:func:`mxsim.models.story.draw`), gathered into one ``summary.md``. A point
is one (scenario, setting) check; its counterexample traces and diagrams
travel back in the row's ``_files`` and the runner writes them under
``traces/`` and ``diagrams/``.

Each check is bounded by :data:`MAX_STATES` (at most the scenario's own
bound) and :data:`MAX_SECONDS`; the summary names every check that stopped
on a bound (its verdicts then speak only of the states it reached). A
state bound is deterministic; a check that stops on seconds is not, which
is why the time bound is a safety net far above what the state bound takes.
"""

from __future__ import annotations

import itertools
import json
import tempfile
from pathlib import Path
from typing import Any

from mxsim.experiments.experiment import figures
from mxsim.experiments.experiment.base import Experiment, Point, Row

__all__ = ["EXPERIMENT", "ABOUT", "QUICK", "points", "measure", "matrices", "findings_table"]

#: The switches a scenario is about where its ``[switches]`` table is missing
#: (the design choice its file's description names) or names too many; a
#: scenario named in neither is checked as written.
ABOUT: dict[str, tuple[str, ...]] = {
    "superseded-state": ("omit_superseded_state",),
    "rejected-event": ("rejected_events",),
    "state-reset": ("state_resolution",),
    "partition-heal": ("state_resolution",),
    "action-ids": ("idempotent_retransmission",),
    "action-ids-sessions": ("idempotent_retransmission", "hold_out_of_order"),
    "relations": ("withhold_orphan_children",),
    "receipts": ("local_receipt_audience",),
    "voip-1-to-n": ("caller_acknowledges",),
    "voip-federated": ("caller_acknowledges",),
    "voip-expiry": ("call_expiry",),
    "voip-ice": ("hold_out_of_order", "candidate_audience"),
    "rejected-state": ("rejected_state_events",),
    "join-outputs": ("join_snapshot",),
    "initial-sync": ("member_count",),
    "filter-bundles": ("coalesce_limit",),
    "filter-pages": ("keys_scope",),
    "sync-bot": ("bot_waits",),
    # Its [switches] table names four (16 settings of a search that never
    # completes); the two it was written about keep the full run in bounds.
    "random-clients": ("join_returns_events", "txn_scope"),
}
#: ``--quick``: small scenarios whose checks end in a second or two.
QUICK = ("superseded-state", "action-ids", "presence-order")
#: 150,000 lets the complete checks of redactions (104,360 states) and sync-bot
#: (89,918) end, so their eventually properties are decided, not left undecided.
MAX_STATES = 150_000
QUICK_MAX_STATES = 5_000
MAX_SECONDS = 60.0


def _settings(scenario: str) -> list[dict[str, Any]]:
    """Every setting of the switches ``scenario`` is about, its own values first."""
    from mxsim.experiments.jobs import load_scenario
    from mxsim.experiments.matrix import axes

    about = ABOUT.get(scenario)
    if about:
        chosen = _axes_of(scenario, about)
    elif isinstance(load_scenario(scenario, []).raw.get("switches"), dict):
        chosen = axes(scenario, [], [])
    else:
        return [{}]
    names = [n for n, _ in chosen]
    return [dict(zip(names, vs, strict=True)) for vs in itertools.product(*[v for _, v in chosen])]


def _axes_of(scenario: str, about: tuple[str, ...]) -> list[tuple[str, list[Any]]]:
    """The values of ``about``, the scenario's own first (as the matrix orders them)."""
    from mxsim.experiments.catalog import switch_values
    from mxsim.experiments.jobs import load_scenario

    loaded = load_scenario(scenario, [])
    model = loaded.system().model
    out = []
    for name in about:
        current = loaded.scenario.switches[name]
        values = switch_values(model.switch(name)) or [current]
        out.append((name, [current, *[v for v in values if v != current]]))
    return out


def setting_text(setting: dict[str, Any]) -> str:
    """A setting as ``--set`` words (``as written`` for none).

    >>> setting_text({"txn_scope": "session", "hold": False}), setting_text({})
    ('txn_scope=session hold=false', 'as written')
    """
    from mxsim.experiments.matrix import shown

    return " ".join(f"{k}={shown(v)}" for k, v in setting.items()) or "as written"


def points(quick: bool) -> list[Point]:
    from mxsim.models.registry import bundled

    names = QUICK if quick else tuple(bundled())
    cap = QUICK_MAX_STATES if quick else MAX_STATES
    out: list[Point] = []
    for name in names:
        for setting in _settings(name):
            out.append(
                {
                    "scenario": name,
                    "setting": setting_text(setting),
                    "sets": json.dumps(setting, sort_keys=False),
                    "max_states": cap,
                }
            )
    return out


def _file_stem(point: Point, prop: str) -> str:
    words = "" if point["setting"] == "as written" else "." + point["setting"].replace(" ", ".")
    return f"{point['scenario']}{words}.{prop}"


def measure(point: Point) -> dict[str, Any]:
    """One bounded breadth-first check; its verdicts, and a diagram per violation."""
    from mxsim.experiments import jobs
    from mxsim.experiments.matrix import _toml
    from mxsim.models import story
    from mxsim.sim import trace as tracefile

    setting = json.loads(point["sets"])
    sets = [f"{k}={_toml(v)}" for k, v in setting.items()]
    loaded = jobs.load_scenario(point["scenario"], sets)
    own = loaded.scenario.check.max_states
    with tempfile.TemporaryDirectory(prefix="mxsim-findings-") as tmp:
        report = jobs.check_job(
            loaded,
            max_states=min(point["max_states"], own) if own else point["max_states"],
            max_seconds=MAX_SECONDS,
            trace_dir=tmp,
        )
        files: dict[str, bytes] = {}
        steps: dict[str, int] = {}
        for v in report["violations"]:
            stem = _file_stem(point, v["property"])
            lines = tracefile.read(v["trace"])
            end = lines[-1].get("violation")
            svg = Path(tmp) / f"{stem}.svg"
            story.draw(lines, svg, highlight=end.get("step") if isinstance(end, dict) else None)
            files[f"diagrams/{stem}.svg"] = svg.read_bytes()
            files[f"traces/{stem}.jsonl"] = Path(v["trace"]).read_bytes()
            steps[v["property"]] = v["steps"]
    verdicts = report["properties"]
    return {
        "verdict": report["verdict"],
        "violated": " ".join(p for p, v in verdicts.items() if v == "violated"),
        "states": report["states"],
        "depth": report["depth"],
        "complete": report["complete"],
        "stopped": report["stopped"] or "",
        "verdicts": json.dumps(verdicts),
        "steps": json.dumps(steps),
        "_files": files,
    }


def matrices(rows: list[Row]) -> list[dict[str, Any]]:
    """The rows as :func:`mxsim.experiments.matrix.matrix` results, one per scenario."""
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        setting = json.loads(r["sets"])
        verdicts = json.loads(r["verdicts"])
        m = out.setdefault(
            r["scenario"],
            {
                "scenario": r["scenario"],
                "switches": list(setting),
                "fixed": {},
                "properties": list(verdicts),
                "rows": [],
            },
        )
        m["rows"].append(
            {
                "setting": setting,
                "properties": verdicts,
                "steps": json.loads(r["steps"]),
                "states": r["states"],
                "depth": r["depth"],
                "complete": r["complete"],
                "stopped": r["stopped"],
            }
        )
    return list(out.values())


def findings_table(rows: list[Row]) -> list[str]:
    """Markdown: one line per (scenario, setting, property), diagrams linked."""
    out = ["| scenario | setting | property | verdict | steps | diagram |"]
    out.append("|---|---|---|---|---|---|")
    for r in rows:
        steps = json.loads(r["steps"])
        for prop, verdict in json.loads(r["verdicts"]).items():
            n = steps.get(prop)
            link = f"[svg](diagrams/{_file_stem(r, prop)}.svg)" if n is not None else ""
            out.append(
                f"| {r['scenario']} | {r['setting']} | {prop} | {verdict} | "
                f"{'' if n is None else n} | {link} |"
            )
    return out


def report(rows: list[Row]) -> str:
    from mxsim.experiments.matrix import markdown_table

    bounded = [r for r in rows if not r["complete"]]
    lines = ["## Findings", ""]
    lines += findings_table(rows)
    lines += ["", "## Bounded checks", ""]
    if bounded:
        lines += [
            "These checks stopped on a bound, so a `holds` in them speaks only of the "
            "states they reached (and `undecided` is an eventually property not yet met):",
            "",
        ]
        lines += [
            f"- {r['scenario']} ({r['setting']}): {r['stopped']} after {r['states']:,} states"
            for r in bounded
        ]
    else:
        lines.append("Every check was complete.")
    lines += ["", "## Design matrices", ""]
    for m in matrices(rows):
        lines += [markdown_table(m), ""]
    return "\n".join(lines)


def draw(rows: list[Row]) -> dict[str, Any]:
    by: dict[str, dict[str, int]] = {}
    kinds = ("holds", "reached", "vacuous", "undecided", "violated")
    for r in rows:
        counts = by.setdefault(r["scenario"], dict.fromkeys(kinds, 0))
        for v in json.loads(r["verdicts"]).values():
            counts[v] = counts.get(v, 0) + 1
    names = list(by)
    fig = figures.figure(7.6, 0.28 * len(names) + 1.4)
    ax = fig.add_subplot()
    left = [0] * len(names)
    colors = {"holds": "#4c9a2a", "reached": "#9ccc65", "vacuous": "#bdbdbd"}
    colors.update({"undecided": "#ffb300", "violated": "#d32f2f"})
    for kind in kinds:
        widths = [by[n][kind] for n in names]
        ax.barh(names, widths, left=left, color=colors[kind], label=kind)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    ax.invert_yaxis()
    ax.set_xlabel("(setting, property) cells of the design matrix")
    ax.set_title("Verdicts per scenario, every setting of its switches")
    figures.legend_outside(ax)
    return {"findings": fig}


def answer(rows: list[Row]) -> str:
    cells = [(r, p) for r in rows for p, v in json.loads(r["verdicts"]).items() if v == "violated"]
    broken = sorted({r["scenario"] for r, _ in cells})
    bounded = sum(1 for r in rows if not r["complete"])
    shortest = min(
        ((n, r, p) for r in rows for p, n in json.loads(r["steps"]).items()),
        key=lambda t: (t[0], t[1]["scenario"], t[2]),
        default=None,
    )
    first = (
        f"Of {len(rows)} checks over {len({r['scenario'] for r in rows})} scenarios, "
        f"{len(cells)} (setting, property) cells are violated, in {len(broken)} scenarios "
        f"({', '.join(broken) or 'none'}), each with its shortest counterexample drawn."
    )
    if shortest is None:
        second = f"No setting breaks a property; {bounded} checks stopped on a bound."
    else:
        n, r, p = shortest
        second = (
            f"The shortest is {r['scenario']} with {r['setting']}, which breaks {p} in {n} "
            f"steps; {bounded} checks stopped on a bound (listed below), the rest are complete."
        )
    return f"{first} {second}"


EXPERIMENT = Experiment(
    name="findings",
    question="Which property breaks under which design choice, and how does it break?",
    setup=(
        "For every bundled scenario, a breadth-first check (symmetry reduction, the "
        "scenario's fault budgets) of every property under every setting of the switches "
        f"the scenario is about, bounded by {MAX_STATES:,} states (--quick: "
        f"{', '.join(QUICK)} at {QUICK_MAX_STATES:,}) and {MAX_SECONDS:.0f} s; each "
        "violation's shortest counterexample is kept as a trace and drawn as a space-time "
        "diagram."
    ),
    points=points,
    measure=measure,
    draw=draw,
    answer=answer,
    report=report,
    proposal="DESIGN.md's question: which properties hold under which switch",
)
