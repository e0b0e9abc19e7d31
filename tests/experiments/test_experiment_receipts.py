"""``mxsim experiment receipts --quick``: measured counts equal the closed forms, for
S and D other than 2; relates_to and read_up_to grow as N^2, local as N."""

from __future__ import annotations

import copy

import pytest

from mxsim.experiments.experiment import receipts
from mxsim.experiments.experiment.base import ExperimentError
from mxsim.models.homeserver.receipts import KINDS, STRATEGIES, expected

EXPERIMENT_NAME = "receipts"


def test_every_measured_count_equals_its_formula_for_every_shape(quick):
    _, outcome = quick
    shapes = set()
    for r in outcome.rows:
        want = expected(r["strategy"], r["users"], r["messages"], r["servers"], r["devices"])
        assert {k: r[f"{k}_messages"] for k in KINDS} == want, r
        assert r["passed"], r
        shapes.add((r["strategy"], r["servers"], r["devices"]))
    for s in STRATEGIES:
        assert {(k, d) for t, k, d in shapes if t == s} >= {(3, 2), (1, 3), (5, 1)}


def test_the_check_refuses_a_count_that_differs_from_its_formula(quick):
    _, outcome = quick
    rows = copy.deepcopy(outcome.rows)
    rows[-1]["s2c_messages"] += 1
    with pytest.raises(ExperimentError, match="s2c messages"):
        receipts.check(rows)


def test_fitted_slopes_quadratic_for_relates_to_and_read_up_to_linear_for_local(quick):
    _, outcome = quick
    k = receipts.slopes(outcome.rows)
    assert abs(k["relates_to"] - 2) < 0.15 and abs(k["read_up_to"] - 2) < 0.15, k
    assert abs(k["local"] - 1) < 0.25, k
    first = outcome.answer.split(", and linearly")[0]
    assert "relates_to" in first and "read_up_to" in first and "local" not in first


def test_the_summary_embeds_the_figures_and_its_command(quick):
    out, outcome = quick
    summary = (out / "summary.md").read_text()
    assert outcome.answer in summary and receipts.EXPERIMENT.question in summary
    for stem in ("receipts", "links", "formula"):
        assert f"]({stem}.png)" in summary
        assert (out / f"{stem}.png").read_bytes().startswith(b"\x89PNG")
    assert "mxsim experiment receipts --quick" in summary
    assert f"{len(outcome.rows)} rows in `data.csv`" in summary
    svg = (out / "receipts.svg").read_text()
    for s in ("relates_to", "read_up_to", "local"):
        slope = receipts.slopes(outcome.rows)[s]
        assert f"{s} (slope {slope:.2f})" in svg
