"""A long trace's diagram comes in pages that together show every step (issue 10)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_diagram import long_trace

from mxsim.sim import diagram


def _texts(path: Path) -> list[str]:
    return re.findall(r"<text[^>]*>([^<]*)</text>", path.read_text())


def _step_labels(path: Path) -> set[int]:
    """The step indices drawn in the left column (text that is a bare number)."""
    return {int(t) for t in _texts(path) if t.strip().isdigit()}


def test_pages_count_the_steps_by_max_steps():
    n = 2 * diagram.MAX_STEPS + 100
    assert diagram.pages(long_trace(n)) == 3
    assert diagram.pages(long_trace(diagram.MAX_STEPS)) == 1


def test_each_page_shows_its_own_steps_and_says_which(tmp_path):
    n = 2 * diagram.MAX_STEPS + 100
    lines = long_trace(n)
    seen: set[int] = set()
    for page in (1, 2, 3):
        out = tmp_path / f"p{page}.svg"
        diagram.draw(lines, out, page=page)
        text = " ".join(_texts(out))
        assert f"page {page} of 3" in text
        labels = _step_labels(out)
        lo, hi = (page - 1) * diagram.MAX_STEPS, min(n, page * diagram.MAX_STEPS)
        drawn = {k for k in labels if lo <= k < hi}
        assert drawn == set(range(lo, hi)), (page, sorted(set(range(lo, hi)) - drawn)[:5])
        seen |= drawn
    assert seen == set(range(n))


def test_a_page_out_of_range_is_refused(tmp_path):
    with pytest.raises(ValueError, match="expected a page from 1 to 3"):
        diagram.draw(long_trace(2 * diagram.MAX_STEPS + 1), tmp_path / "x.svg", page=4)


def test_the_default_drawing_says_how_many_pages_hold_every_step(tmp_path):
    out = tmp_path / "d.svg"
    diagram.draw(long_trace(2 * diagram.MAX_STEPS + 100), out)
    assert "every step on 3 pages" in " ".join(_texts(out))
