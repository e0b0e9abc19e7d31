"""The sweep figure tells two --vary apart and shows a bar of 0 as 0 (issue 10, item 6)."""

from __future__ import annotations

import html
import re

import pytest

from mxsim.experiments.cli import main


def _texts(svg: str) -> list[str]:
    return [html.unescape(t).strip() for t in re.findall(r"<text[^>]*>(.*?)</text>", svg, re.S)]


def test_two_vary_give_distinct_headers_a_legend_beside_the_bars_and_visible_zeros(
    tmp_path, capsys
):
    out = tmp_path / "sweep"
    argv = ["sweep", "state-reset", "--vary", "state_resolution=v2,depth"]
    argv += ["--vary", "omit_superseded_state=true,false", "--seeds", "2", "--out", str(out)]
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 0
    printed = capsys.readouterr().out.splitlines()
    labels = [
        f"state_resolution={a} omit_superseded_state={b}"
        for a in ("v2", "depth")
        for b in ("true", "false")
    ]
    assert printed[1].split() == [w for label in labels for w in label.split()]
    texts = _texts((out / "summary.svg").read_text())
    assert all(texts.count(label) == 1 for label in labels), texts
    # Depth resolution resets the ban in every run: its bars say 0, not nothing.
    assert "0" in texts and "2" in texts
    # The legend is beside the bars: each label starts right of every bar's count.
    svg = (out / "summary.svg").read_text()
    placed = [
        (float(x), html.unescape(t))
        for x, t in re.findall(r'<text [^>]*\bx="([\d.]+)"[^>]*>([^<]*)</text>', svg)
    ]
    counts = [x for x, t in placed if t.isdigit()]
    legend = [x for x, t in placed if t in labels]
    props = (out / "summary.csv").read_text().splitlines()[0].split(",")[2:]
    assert len(legend) == 4 and len(counts) == 4 * len(props)
    assert min(legend) > max(counts)
