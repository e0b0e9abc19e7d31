"""``mxsim experiment``: the list, bad input, failed points kept apart, refused data, progress."""

from __future__ import annotations

import csv
import io

import pytest

from mxsim.experiments.cli import main
from mxsim.experiments.experiment import figures, registry, runner
from mxsim.experiments.experiment.base import Experiment, ExperimentError


def _points(quick):
    return [{"n": n, "seed": 7} for n in (1, 2, 3, 4)]


def _measure(point):
    if point["n"] == 3:
        raise ValueError("three is broken")
    return {"square": point["n"] ** 2, "seed_seen": point["seed"]}


def _draw(rows):
    fig = figures.figure()
    ax = fig.add_subplot()
    figures.loglog(ax, [r["n"] for r in rows], [r["square"] for r in rows], "square")
    return {"squares": fig}


def _answer(rows):
    return f"Squares grow. There are {len(rows)} of them."


def _refuse(rows):
    raise ExperimentError(f"{len(rows)} rows contradict the claim")


FAKE = Experiment("fake", "Do squares grow?", "n in 1..4.", _points, _measure, _draw, _answer)


@pytest.fixture
def fake(monkeypatch):
    found = {"fake": FAKE}
    monkeypatch.setattr(registry, "experiments", lambda: dict(found))
    return found


def mxsim(capsys, argv):
    with pytest.raises(SystemExit) as info:
        main(argv)
    out, err = capsys.readouterr()
    return info.value.code, out, err


def test_list_names_every_registered_experiment_with_its_question(capsys):
    code, out, _ = mxsim(capsys, ["experiment", "--list"])
    assert code == 0
    found = registry.experiments()
    assert {"receipts", "findings"} <= set(found)
    lines = out.splitlines()
    assert len(lines) == len(found)
    for line, (name, exp) in zip(lines, found.items(), strict=True):
        assert line.split()[0] == name and line.endswith(exp.question)


def test_bad_name_and_bad_option_are_one_line_and_exit_2(capsys):
    code, out, err = mxsim(capsys, ["experiment", "nosuch"])
    assert code == 2 and len(err.splitlines()) == 1 and "receipts" in err and not out
    code, _, err = mxsim(capsys, ["experiment", "receipts", "--jobs", "0"])
    assert code == 2 and len(err.splitlines()) == 1
    code, _, err = mxsim(capsys, ["experiment"])
    assert code == 2 and "--list" in err


def test_a_failed_point_is_reported_with_its_parameters_and_the_others_kept(fake, capsys, tmp_path):
    out = tmp_path / "fake"
    code, stdout, err = mxsim(capsys, ["experiment", "fake", "--out", str(out), "--seed", "5"])
    assert code == 1
    [line] = [x for x in err.splitlines() if "point failed" in x]
    assert "n=3 seed=12" in line and "ValueError: three is broken" in line
    rows = list(csv.DictReader((out / "data.csv").open()))
    assert [(r["n"], r["square"], r["seed"], r["seed_seen"]) for r in rows] == [
        ("1", "1", "12", "12"),
        ("2", "4", "12", "12"),
        ("4", "16", "12", "12"),
    ]
    summary = (out / "summary.md").read_text()
    assert "`n=3 seed=12`: ValueError: three is broken" in summary
    assert "![fake: squares](squares.png)" in summary and (out / "squares.svg").is_file()
    assert "mxsim experiment fake --seed 5" in summary and "3 rows" in summary
    assert "Squares grow. There are 3 of them." in stdout


def test_data_the_check_refuses_exits_1_with_its_message_and_draws_nothing(fake, capsys, tmp_path):
    fake["fake"] = Experiment(
        "fake", "?", "", _points, lambda p: {"x": p["n"]}, _draw, _answer, check=_refuse
    )
    out = tmp_path / "refused"
    code, _, err = mxsim(capsys, ["experiment", "fake", "--out", str(out)])
    assert code == 1 and "4 rows contradict the claim" in err
    assert not list(out.glob("*.png")) and not list(out.glob("*.svg"))
    assert "4 rows contradict the claim" in (out / "summary.md").read_text()


def test_the_progress_bar_shows_on_a_terminal_only():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    tty, pipe = Tty(), io.StringIO()
    for stream in (tty, pipe):
        bar = runner.Progress("fake", stream)
        bar(2, 4)
        bar(4, 4)
    assert "2/4 points" in tty.getvalue() and "left" in tty.getvalue()
    assert tty.getvalue().endswith("\n") and pipe.getvalue() == ""
