"""Diagrams that tell the story: the labels, arrows and sentence a reader sees.

The counterexample of ``voip-1-to-n --set caller_acknowledges=false`` (the
losing callees are never told) and a default timed run of the same scenario
(answers, the caller's select, the chosen device's hangup) are drawn as SVG and
read back as text: their ``<text>`` elements, their tooltips, and where
matplotlib placed each label.
"""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest

from mxsim.experiments import jobs
from mxsim.models import story
from mxsim.models.wire import WIRE
from mxsim.sim import diagram
from mxsim.sim import trace as tracefile
from mxsim.sim.diagram import _figure
from mxsim.sim.diagram_trace import _read

_TEXT = re.compile(r"<text[^>]*>([^<]*)</text>")


def texts(svg: Path) -> list[str]:
    """Every text of an SVG, as a reader can search and select it."""
    return [unescape(t) for t in _TEXT.findall(svg.read_text(encoding="utf-8"))]


@pytest.fixture(scope="module")
def voip_cex(tmp_path_factory) -> tuple[Path, Path]:
    """(trace, SVG) of the voip-1-to-n counterexample, drawn by ``check --diagram``."""
    where = tmp_path_factory.mktemp("voip")
    svg = where / "cex.svg"
    loaded = jobs.load_scenario("voip-1-to-n", ["caller_acknowledges=false"])
    report = jobs.check_job(loaded, trace_dir=str(where), diagram=str(svg))
    assert report["violations"][0]["property"] == "callees_settled"
    return Path(report["violations"][0]["trace"]), svg


@pytest.fixture(scope="module")
def voip_run(tmp_path_factory) -> Path:
    svg = tmp_path_factory.mktemp("run") / "run.svg"
    report = jobs.run_job(jobs.load_scenario("voip-1-to-n", []), diagram=str(svg))
    assert report["passed"]
    return svg


def test_the_counterexample_shows_who_answered_and_what_is_wrong(voip_cex):
    _, svg = voip_cex
    shown = texts(svg)
    # Each callee's answer is on its arrow, as text.
    for device in ("bob1", "bob2", "bob3"):
        assert f"poll from 9 + #0 answer {device} (call.alice)" in shown or any(
            f"#0 answer {device} (call.alice)" in t for t in shown
        )
    # The caller got all three answers in one stream batch: the story column says so.
    assert any(
        t.startswith("hs \u2192 alice: stream pos 10: answer bob1 (call.alice) $hs.2;")
        for t in shown
    )
    # The sentence under the violating step, and in the caption.
    sentence = [t for t in shown if t.startswith("violated callees_settled: ")]
    assert sentence and "alice chose bob1 but sent no select" in sentence[0]
    assert any(
        t.startswith("violation: callees_settled at step 44: alice chose bob1") for t in shown
    )
    # The polling at the end is folded into one row.
    assert any(t.startswith("steps 28\u201343: 16 polling steps folded") for t in shown)


def test_answer_select_and_hangup_are_labels(voip_run):
    shown = texts(voip_run)
    labels = " | ".join(shown)
    assert "#0 answer bob3 (call.alice)" in labels
    assert "#1 select bob3 (call.alice)" in labels
    assert "#2 hangup bob3 (call.alice, done)" in labels
    # Stream batches name their position and entries.
    assert "stream pos 13: candidate bob3 (call.alice) $hs.6; hangup bob3" in labels


def test_svg_text_is_text_and_each_message_has_its_json(voip_cex):
    trace, svg = voip_cex
    data = svg.read_text(encoding="utf-8")
    assert "<text" in data and "font-family" in data  # not glyph outlines
    titles = re.findall(r'<g id="(msg\d+)-a"><title>(.*?)</title>', data, re.S)
    lines = tracefile.read(trace)
    delivered = [s for s in lines if s.get("kind") == "step" and s["act"] == "deliver"]
    # One arrow per delivery drawn (the folded polls are not), each with its full message.
    assert len(titles) >= 20
    answer = next(t for _, t in titles if "sdp-answer-bob2" in unescape(t))
    assert '"event_type": "m.call.answer"' in unescape(answer)
    assert {unescape(t).count('"type"') >= 1 for _, t in titles} == {True}
    assert len(delivered) == 32


def test_labels_never_overlap(voip_cex):
    trace, _ = voip_cex
    lines = tracefile.read(trace)
    fig, _ = _figure(
        _read(lines),
        highlight=lines[-1]["violation"]["step"],
        title=None,
        summarize=story.summarize,
        explanation="x " * 80,
        quiet=story.polling,
    )
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    boxes = [
        (t.get_text(), t.get_window_extent(renderer))
        for t in ax.texts
        if t.get_text().strip() and t.get_visible()
    ]
    assert len(boxes) > 60
    for i, (a, box_a) in enumerate(boxes):
        for b, box_b in boxes[i + 1 :]:
            assert not box_a.overlaps(box_b), (a, b)


def test_in_flight_messages_are_drawn_to_their_destination(tmp_path):
    head = {"kind": "header", "scenario": "toy", "mode": "check", "nodes": ["hs", "alice"]}
    send = {"type": "send", "aid": 0, "room": "!r", "body": "hi", "whoami": "@a:hs"}
    send["out_of_order"] = False
    steps = [
        {"kind": "step", "step": 0, "t": None, "act": "start", "node": "hs", "effects": {}},
        {
            "kind": "step",
            "step": 1,
            "t": None,
            "act": "start",
            "node": "alice",
            "effects": {"send": [["hs", send]]},
        },
    ]
    end = {"kind": "end", "steps": 2, "verdicts": {}, "violation": None}
    svg = tmp_path / "flight.svg"
    diagram.draw([head, *steps, end], svg, summarize=WIRE.summarize)
    shown = texts(svg)
    assert 'alice \u2192 hs in flight at the end: #0 send "hi" in !r' in shown
    assert '#0 send "hi" in !r' in shown  # the arrow's own label
    # The arrow ends at the destination's column (hs, the first), not as a stub.
    fig, tips = _figure(
        _read([head, *steps, end]),
        highlight=None,
        title=None,
        summarize=WIRE.summarize,
        explanation=None,
        quiet=None,
    )
    arrow = next(a for a in fig.axes[0].patches if a.get_gid() == "msg0-a")
    (x0, _), (x1, _) = arrow._posA_posB
    assert (x0, x1) == (1.0, 0.0)
    assert '"body": "hi"' in tips["msg0"]


def test_same_trace_same_bytes(voip_cex, tmp_path):
    trace, svg = voip_cex
    again = tmp_path / "again.svg"
    lines = tracefile.read(trace)
    story.draw(lines, again, highlight=lines[-1]["violation"]["step"])
    assert again.read_bytes() == svg.read_bytes()


def test_a_passing_check_draws_its_longest_witness_or_says_why_not(tmp_path):
    svg = tmp_path / "pass.svg"
    report = jobs.check_job(jobs.load_scenario("action-ids", []), diagram=str(svg))
    assert report["verdict"] == "holds"
    assert report["diagram"]["witness"] == "retransmission_race"
    shown = texts(svg)
    assert "action-ids (check) holds: witness of retransmission_race, 7 steps" in shown
    assert '#0 (try 2) send "hello" in !r:hs' in shown
    # Only `always` properties checked: no guard, so nothing to draw, and it says so.
    none = tmp_path / "none.svg"
    report = jobs.check_job(
        jobs.load_scenario("action-ids", []), diagram=str(none), properties=["idempotent"]
    )
    assert report["diagram"]["witness"] is None
    assert any("no sometimes guard was reached: nothing to draw" in t for t in texts(none))


def test_every_declared_message_has_a_brief():
    assert sorted(WIRE.briefs) == sorted(WIRE.messages)
    assert WIRE.summarize(
        {
            "type": "fed.event",
            "seq": 3,
            "event": {
                "type": "m.room.topic",
                "state_key": "",
                "content": {"topic": "t"},
                "event_id": "$hs.4",
            },
        }
    ) == ('fed.event seq 3: m.room.topic[""] "t" $hs.4')
    ack = {
        "type": "send_event",
        "aid": 1,
        "event_type": "m.call.ack",
        "room": "!c",
        "whoami": "@a",
        "out_of_order": False,
        "content": {"call_id": "c1", "selected": "bob2", "response": "m.call.answer"},
    }
    assert WIRE.summarize(ack) == "#1 select bob2 (c1)"
    # A malformed message falls back to its type and scalar fields.
    assert WIRE.summarize({"type": "fed.ack"}) == "fed.ack"


_DRAW = """
import sys
from mxsim.models import story
from mxsim.sim import trace as tracefile
lines = tracefile.read(sys.argv[1])
story.draw(lines, sys.argv[2], highlight=lines[-1]["violation"]["step"])
"""


def test_same_bytes_under_any_hash_seed(voip_cex, tmp_path):
    import os
    import subprocess
    import sys

    trace, svg = voip_cex
    for seed in ("1", "2"):
        out = tmp_path / f"seed{seed}.svg"
        env = dict(os.environ, PYTHONHASHSEED=seed)
        subprocess.run([sys.executable, "-c", _DRAW, str(trace), str(out)], check=True, env=env)
        assert out.read_bytes() == svg.read_bytes()


def test_the_message_in_flight_is_the_one_not_delivered():
    # One step sends two messages on one link; the second arrives first, so the
    # first is the one still in flight (found by partial-join's witness).
    from mxsim.sim.diagram_layout import in_flight

    first, second = {"type": "fed.get_state", "room": "!r"}, {"type": "fed.event", "seq": 1}
    steps = [
        {"act": "start", "node": "hs2", "effects": {"send": [["hs1", first], ["hs1", second]]}},
        {"act": "deliver", "node": "hs1", "src": "hs2", "sent": 0, "msg": second, "effects": {}},
    ]
    assert in_flight(steps, {0: 0}) == [(0, "hs2", "hs1", first)]
    del steps[1]["msg"]  # a step that does not say what it delivered: the first sent
    assert in_flight(steps, {0: 0}) == [(0, "hs2", "hs1", second)]
