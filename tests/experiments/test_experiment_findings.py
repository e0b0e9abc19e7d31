"""``mxsim experiment findings --quick``: a known finding, its diagram telling it."""

from __future__ import annotations

import html
import json

from mxsim.experiments.experiment import findings
from mxsim.models.explain import explain_lines
from mxsim.sim import trace as tracefile

EXPERIMENT_NAME = "findings"


def test_superseded_state_without_omitting_breaks_no_clobbering_and_its_diagram_says_how(quick):
    out, outcome = quick
    row = {(r["scenario"], r["setting"]): r for r in outcome.rows}
    bad = row[("superseded-state", "omit_superseded_state=false")]
    good = row[("superseded-state", "omit_superseded_state=true")]
    assert json.loads(bad["verdicts"])["no_clobbering"] == "violated"
    assert json.loads(good["verdicts"])["no_clobbering"] == "holds"
    stem = "superseded-state.omit_superseded_state=false.no_clobbering"
    sentence = explain_lines(tracefile.read(out / "traces" / f"{stem}.jsonl"))
    assert "superseded" in sentence
    svg = (out / "diagrams" / f"{stem}.svg").read_text()
    assert html.escape(sentence, quote=False) in svg or sentence in html.unescape(svg)
    summary = (out / "summary.md").read_text()
    steps = json.loads(bad["steps"])["no_clobbering"]
    assert (
        f"| superseded-state | omit_superseded_state=false | no_clobbering | violated | {steps} "
        f"| [svg](diagrams/{stem}.svg) |"
    ) in summary


def test_every_violation_has_a_diagram_and_bounded_checks_are_named(quick):
    out, outcome = quick
    summary = (out / "summary.md").read_text()
    for r in outcome.rows:
        for prop in json.loads(r["steps"]):
            assert (out / "diagrams" / f"{findings._file_stem(r, prop)}.svg").is_file()
        if not r["complete"]:
            assert f"- {r['scenario']} ({r['setting']}): {r['stopped']}" in summary
    assert "**presence-order: 2 settings x 5 properties, breadth-first**" in summary
