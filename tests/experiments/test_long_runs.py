"""Longer runs than the bundled ones: a random-clients run of 60 steps a device
(which found a typing user kept after a leave, and a scrollback property that
crashed on a device's second room), and its diagram drawn page by page."""

from __future__ import annotations

import json
import re

import pytest

from mxsim.experiments.cli import main
from mxsim.models.registry import bundled


def _mxsim(capsys, *argv: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out, _ = capsys.readouterr()
    return exit_info.value.code, out


@pytest.fixture(scope="module")
def long_scenario(tmp_path_factory):
    text = bundled()["random-clients"].read_text()
    assert text.count("random_steps = 6,") == 3
    path = tmp_path_factory.mktemp("long") / "random-clients-long.toml"
    path.write_text(text.replace("random_steps = 6,", "random_steps = 60,"))
    return path


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_longer_random_clients_run_holds(capsys, long_scenario, seed):
    code, out = _mxsim(
        capsys, "run", str(long_scenario), "--seed", str(seed), "--until", "100000", "--json"
    )
    report = json.loads(out)
    # A guard a random run happens not to reach is "vacuous" (exit 1); nothing breaks.
    broken = {
        k: v for k, v in report["properties"].items() if v not in ("holds", "reached", "vacuous")
    }
    assert not broken and code in (0, 1)
    assert report["steps"] > 2 * 400  # long enough for three diagram pages


def test_its_replay_draws_every_step_on_pages(capsys, long_scenario, tmp_path):
    trace = tmp_path / "long.jsonl"
    code, _ = _mxsim(capsys, "run", str(long_scenario), "--until", "100000", "--trace", str(trace))
    assert code == 0
    out_svg = tmp_path / "long.svg"
    code, out = _mxsim(capsys, "replay", str(trace), "--diagram", str(out_svg))
    assert code == 0
    line = next(x for x in out.splitlines() if x.startswith("diagram: "))
    pages = [tmp_path / f"long.page{k}.svg" for k in (1, 2, 3)]
    assert line == f"diagram: {out_svg} (the first page); every step: " + ", ".join(
        str(p) for p in pages
    )
    for k, page in enumerate(pages, start=1):
        texts = " ".join(re.findall(r"<text[^>]*>([^<]*)</text>", page.read_text()))
        assert f"page {k} of 3" in texts
