"""Tests for sim.diagram: space-time diagrams of traces."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mxsim.sim import diagram

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _step(k: int, act: str, node: str | None, t: int | None = None, **extra) -> dict:
    line = {"kind": "step", "step": k, "t": t, "act": act, "node": node}
    line.update(extra)
    line.setdefault("effects", {})
    return line


def exchange_trace(*, timed: bool = True, violation: bool = True) -> list[dict]:
    """A 3-node exchange exercising every act the diagram knows."""

    def t(ms: float) -> int | None:
        return int(ms * 1000) if timed else None

    hello = {"type": "hello", "room": "!r"}
    sync = {"type": "sync", "since": 3}
    steps = [
        _step(0, "start", "hs", t(0)),
        _step(1, "start", "alice", t(0)),
        _step(2, "start", "bob", t(0), effects={"set": [["poll", 500_000]]}),
        _step(
            3,
            "input",
            "alice",
            t(1),
            msg={"op": "send_message", "body": "hi"},
            effects={"send": [["hs", hello], ["bob", sync]]},
        ),
        _step(4, "deliver", "hs", t(11), src="alice", msg=hello, sent=3, effects={"send": []}),
        _step(5, "duplicate", "bob", t(11), src="alice", msg=sync, sent=3),
        _step(6, "deliver", "bob", t(12), src="alice", msg=sync, sent=3),
        _step(7, "drop", "bob", t(13), src="alice", msg=sync, sent=3, reason="loss"),
        _step(
            8,
            "timer",
            "bob",
            t(500),
            timer="poll",
            effects={"send": [["hs", {"type": "sync"}]], "metric": [["polls", 1]]},
        ),
        _step(9, "partition", None, t(501), groups=[["hs"], ["alice", "bob"]]),
        _step(
            10, "drop", "hs", t(510), src="bob", msg={"type": "sync"}, sent=8, reason="partition"
        ),
        _step(11, "crash", "hs", t(600)),
        _step(12, "heal", None, t(700), groups=[["hs", "alice", "bob"]]),
        _step(13, "restart", "hs", t(900), effects={"send": [["alice", {"state": 1}]]}),
        _step(14, "deliver", "alice", t(910), src="hs", msg={"state": 1}, sent=13),
        _step(
            15,
            "deliver",
            "hs",
            t(910),
            src="hs",
            msg={"type": "tick"},
            sent=None,
            effects={"send": [["bob", {"type": "event"}]]},
        ),
    ]
    header = {
        "kind": "header",
        "format": "mxsim-trace/1",
        "scenario": "three_node_exchange",
        "mode": "run" if timed else "check",
        "nodes": ["hs", "alice", "bob"],
        "seed": 7,
    }
    end = {
        "kind": "end",
        "steps": len(steps),
        "verdicts": {"no_lost_events": False, "eventually_synced": True},
        "violation": {"property": "no_lost_events", "step": 10} if violation else None,
        "trace_hash": "0123456789abcdef",
    }
    return [header, *steps, end]


def long_trace(n: int) -> list[dict]:
    nodes = ["hs", "alice", "bob", "carol"]
    steps = [_step(i, "start", name, 0) for i, name in enumerate(nodes)]
    k = len(steps)
    while k < n:
        src = nodes[k % 4]
        dst = nodes[(k + 1) % 4]
        steps.append(
            _step(
                k,
                "deliver",
                dst,
                k * 100,
                src=src,
                msg={"type": f"m{k % 7}"},
                sent=k - 1,
                effects={"send": [[nodes[(k + 2) % 4], {"type": "x"}]]},
            )
        )
        k += 1
    header = {"kind": "header", "scenario": "long", "mode": "run", "nodes": nodes}
    end = {"kind": "end", "steps": n, "verdicts": {"p": True}, "violation": None}
    return [header, *steps, end]


@pytest.mark.parametrize(
    ("suffix", "magic"),
    [(".png", PNG_MAGIC), (".svg", b"<?xml")],
)
def test_writes_file_with_magic(tmp_path: Path, suffix: str, magic: bytes) -> None:
    out = tmp_path / f"d{suffix}"
    diagram.draw(exchange_trace(), out, highlight=10)
    data = out.read_bytes()
    assert data.startswith(magic)
    assert len(data) > 1000
    if suffix == ".svg":
        assert b"<svg" in data[:2000]
    # Nothing left behind but the file itself.
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]


def test_upper_case_suffix_and_str_path(tmp_path: Path) -> None:
    out = tmp_path / "d.PNG"
    diagram.draw(exchange_trace(), str(out))
    assert out.read_bytes().startswith(PNG_MAGIC)


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_deterministic_in_process(tmp_path: Path, suffix: str) -> None:
    a, b = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
    diagram.draw(exchange_trace(), a, highlight=10)
    diagram.draw(exchange_trace(), b, highlight=10)
    assert a.read_bytes() == b.read_bytes()


def test_check_mode_without_times(tmp_path: Path) -> None:
    a, b = tmp_path / "a.svg", tmp_path / "b.svg"
    diagram.draw(exchange_trace(timed=False), a)
    diagram.draw(exchange_trace(timed=False), b)
    assert a.read_bytes() == b.read_bytes()
    assert a.stat().st_size > 1000


_SUBPROCESS = """
import json, sys
from mxsim.sim import diagram
lines = json.loads(sys.argv[1])
diagram.draw(lines, sys.argv[2], highlight=10, title="same")
"""


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_deterministic_across_hash_seeds(tmp_path: Path, suffix: str) -> None:
    lines = exchange_trace()
    payload = json.dumps(lines)
    outputs = []
    for seed in ("1", "2"):
        out = tmp_path / f"seed{seed}{suffix}"
        env = dict(os.environ, PYTHONHASHSEED=seed)
        subprocess.run(
            [sys.executable, "-c", _SUBPROCESS, payload, str(out)],
            check=True,
            env=env,
            cwd=Path(__file__).resolve().parents[2],
        )
        outputs.append(out.read_bytes())
    here = tmp_path / f"here{suffix}"
    diagram.draw(lines, here, highlight=10, title="same")
    assert outputs[0] == outputs[1] == here.read_bytes()


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_highlight_changes_output(tmp_path: Path, suffix: str) -> None:
    plain, marked = tmp_path / f"plain{suffix}", tmp_path / f"marked{suffix}"
    diagram.draw(exchange_trace(), plain)
    diagram.draw(exchange_trace(), marked, highlight=10)
    assert plain.read_bytes() != marked.read_bytes()


def test_title_changes_output(tmp_path: Path) -> None:
    a, b = tmp_path / "a.svg", tmp_path / "b.svg"
    diagram.draw(exchange_trace(), a)
    diagram.draw(exchange_trace(), b, title="Another title")
    assert a.read_bytes() != b.read_bytes()


def test_svg_has_no_date_or_version(tmp_path: Path) -> None:
    import matplotlib

    out = tmp_path / "d.svg"
    diagram.draw(exchange_trace(), out)
    text = out.read_text()
    assert "<dc:date>" not in text
    assert matplotlib.__version__ not in text


@pytest.mark.parametrize("name", ["d.pdf", "d", "d.png.txt", "d.jpg"])
def test_bad_suffix_raises_and_writes_nothing(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match=r"diagram: expected a \.png or \.svg file name, found"):
        diagram.draw(exchange_trace(), tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_failure_keeps_old_file_and_leaves_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "d.png"
    out.write_bytes(b"old")

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        diagram.draw(exchange_trace(), out)
    assert out.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["d.png"]


def test_overwrites_existing_file(tmp_path: Path) -> None:
    out = tmp_path / "d.png"
    out.write_bytes(b"old")
    diagram.draw(exchange_trace(), out)
    assert out.read_bytes().startswith(PNG_MAGIC)


def test_global_rcparams_do_not_leak_in_or_out(tmp_path: Path) -> None:
    import matplotlib

    a, b = tmp_path / "a.svg", tmp_path / "b.svg"
    diagram.draw(exchange_trace(), a)
    with matplotlib.rc_context({"lines.linewidth": 7.0, "font.size": 20}):
        diagram.draw(exchange_trace(), b)
        assert matplotlib.rcParams["lines.linewidth"] == 7.0
    assert a.read_bytes() == b.read_bytes()


def test_minimal_and_odd_traces(tmp_path: Path) -> None:
    # No steps at all, no end line, unknown acts and nodes missing from the header.
    diagram.draw(
        [{"kind": "header", "scenario": "empty", "mode": "check", "nodes": []}], tmp_path / "a.png"
    )
    diagram.draw(
        [
            {"kind": "header", "scenario": "odd", "mode": "run", "nodes": ["a"]},
            {"kind": "step", "step": 0, "t": 0, "act": "mystery", "node": "zed"},
            {
                "kind": "step",
                "step": 1,
                "t": 5,
                "act": "deliver",
                "node": "a",
                "src": "ghost",
                "msg": {},
                "sent": 99,
            },
            {"kind": "step", "step": 2, "t": 5, "act": "crash", "node": "a"},
        ],
        tmp_path / "b.svg",
        highlight=1,
    )
    assert (tmp_path / "a.png").stat().st_size > 0
    assert (tmp_path / "b.svg").stat().st_size > 0


def test_long_trace_renders(tmp_path: Path) -> None:
    out = tmp_path / "long.png"
    diagram.draw(long_trace(5000), out, highlight=4000)
    assert out.read_bytes().startswith(PNG_MAGIC)


def test_very_long_trace_renders_a_window(tmp_path: Path) -> None:
    # Speed is measured, not asserted: only that 20,000 steps render at all.
    out = tmp_path / "long.svg"
    diagram.draw(long_trace(20_000), out)
    assert out.stat().st_size > 0
