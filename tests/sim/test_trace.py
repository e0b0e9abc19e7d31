"""Traces (sim.trace): determinism, replay, refusal of edited traces, reading files."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from toy import make_system, msg

from mxsim.sim.explore import Explorer
from mxsim.sim.model import always, eventually, sometimes
from mxsim.sim.scenario import CheckSpec, Fault, Input, Latency, Link
from mxsim.sim.timed import TimedRun
from mxsim.sim.trace import (
    FORMAT,
    Mismatch,
    TraceError,
    finish,
    header,
    path_lines,
    read,
    replay,
    timed_lines,
    write,
)
from mxsim.sim.world import canonical, digest_states

ROOT = Path(__file__).resolve().parents[2]

# ---------------------------------------------------------------------------
# A timed run that has every kind of step


got_all = eventually("b_got_something")(lambda v: len(v.state("b")["got"]) > 0)
no_dup_k = always("k_no_repeats")(
    lambda v: len(set(v.state("k")["got"])) == len(v.state("k")["got"])
)
rebooted = sometimes("k_rebooted")(lambda v: v.state("k")["boots"] == 2)
PROPS = (got_all, no_dup_k, rebooted)


def busy_system():
    """p paces 10 messages to k (every 10 ms, 1 ms away); k has a 30 ms tick,
    crashes at 25 ms and restarts at 45 ms; p -> k is cut from 52 to 62 ms;
    a bursts 30 messages to b over a jittery link that loses and duplicates;
    k gets input put=x at 5 ms and put=y at 30 ms (while down)."""
    return make_system(
        [
            ("p", "pacer", {"to": "k", "count": 10, "every_ms": 10}),
            ("k", "keeper", {"tick_ms": 30}),
            ("a", "burst", {"to": "b", "count": 30}),
            ("b", "sink"),
        ],
        *PROPS,
        link=Link(Latency("constant", 1000)),
        links={("a", "b"): Link(Latency("uniform", 1000, 20_000), loss=0.2, duplicate=0.2)},
        faults=(
            Fault("crash", at=25_000, until=45_000, node="k"),
            Fault("partition", at=52_000, until=62_000, groups=(("p",), ("k",))),
        ),
        workload=(Input(5000, "k", {"put": "x"}), Input(30_000, "k", {"put": "y"})),
    )


def timed_trace(system, seed: int = 0) -> bytes:
    runner = TimedRun(system, seed, 10**12)
    result = runner.run()
    head = header(system, "run", {"toy": "busy"}, {}, seed)
    final = digest_states([canonical(s) for s in runner.states], runner.up)
    data, _ = finish(timed_lines(result.steps), head, result.verdicts, result.violation, final)
    return data


def parse(data: bytes) -> list[dict]:
    return [json.loads(line) for line in data.splitlines()]


@pytest.fixture(scope="module")
def busy() -> list[dict]:
    return parse(timed_trace(busy_system()))


def first(lines: list[dict], pred) -> int:
    """Index in ``lines`` (the header is line 0) of the first step matching ``pred``."""
    return next(i for i, line in enumerate(lines) if line.get("kind") == "step" and pred(line))


def test_busy_trace_has_every_kind_of_step(busy):
    steps = busy[1:-1]
    kinds = {(s["act"], s.get("reason")) for s in steps}
    assert kinds >= {
        ("start", None),
        ("deliver", None),
        ("drop", "loss"),
        ("drop", "down"),
        ("drop", "partition"),
        ("duplicate", None),
        ("timer", None),
        ("input", None),
        ("input", "down"),
        ("crash", None),
        ("restart", None),
        ("partition", None),
        ("heal", None),
    }
    assert busy[0]["kind"] == "header" and busy[0]["format"] == FORMAT
    assert busy[-1]["kind"] == "end" and busy[-1]["steps"] == len(steps)
    assert [s["step"] for s in steps] == list(range(len(steps)))


# ---------------------------------------------------------------------------
# Determinism


def test_same_run_same_bytes():
    data = timed_trace(busy_system())
    assert timed_trace(busy_system()) == data
    assert timed_trace(busy_system(), seed=1) != data
    body, end = data.rsplit(b"\n", 2)[0] + b"\n", parse(data)[-1]
    assert end["trace_hash"] == hashlib.sha256(body).hexdigest()
    # Canonical: every line is its own canonical JSON, and no float anywhere.
    for line in data.decode().splitlines():
        assert canonical(json.loads(line)) == line
        assert not any(isinstance(v, float) for v in _leaves(json.loads(line)))
    assert b"\r" not in data


def _leaves(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


def _cli(args: list[str], cwd: Path, hash_seed: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONHASHSEED": str(hash_seed)}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    code = "from mxsim.experiments.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, timeout=120
    )


def test_bundled_scenarios_trace_identically_under_any_hash_seed(tmp_path):
    from mxsim.experiments.jobs import replay_job
    from mxsim.models.registry import bundled

    names = list(bundled())
    assert names, "no bundled scenarios"
    for name in names:
        traces = []
        for hash_seed in (0, 1, 2):
            path = tmp_path / f"{name}-{hash_seed}.jsonl"
            proc = _cli(["run", name, "--trace", str(path)], tmp_path, hash_seed)
            assert proc.returncode in (0, 1) and path.exists(), proc.stderr.decode()
            data = path.read_bytes()
            end = json.loads(data.splitlines()[-1])
            body = data[: data.rindex(b"\n", 0, len(data) - 1) + 1]
            assert end["trace_hash"] == hashlib.sha256(body).hexdigest()
            assert f"trace_hash {end['trace_hash']}" in proc.stdout.decode()
            traces.append(data)
        assert traces[0] == traces[1] == traces[2], name
        # ... and the trace replays (in this process, with its own hash seed).
        report = replay_job(str(tmp_path / f"{name}-0.jsonl"))
        assert report["trace_hash"] == json.loads(traces[0].splitlines()[-1])["trace_hash"]


# ---------------------------------------------------------------------------
# Replay


def test_replay_reproduces_a_timed_trace(busy):
    result = replay(busy_system(), busy)
    assert result == {
        "steps": len(busy) - 2,
        "verdicts": busy[-1]["verdicts"],
        "trace_hash": busy[-1]["trace_hash"],
    }
    assert result["verdicts"] == {
        "b_got_something": "holds",
        "k_no_repeats": "holds",
        "k_rebooted": "reached",
    }


def test_replay_reproduces_a_timed_violation():
    # The violation stops the run in a world with nothing left in flight: the
    # run is not quiescent all the same, and "all_3" stays undecided.
    few = always("fewer_than_3")(lambda v: len(v.state("b")["got"]) < 3)
    all_3 = eventually("all_3")(lambda v: len(v.state("b")["got"]) == 3)
    system = make_system([("a", "burst", {"to": "b", "count": 3}), ("b", "sink")], few, all_3)
    lines = parse(timed_trace(system))
    assert lines[-1]["violation"] == {"property": "fewer_than_3", "step": 4}
    assert lines[-1]["verdicts"] == {"all_3": "undecided", "fewer_than_3": "violated"}
    assert replay(system, lines)["verdicts"] == {"all_3": "undecided", "fewer_than_3": "violated"}


def test_replay_of_a_run_stopped_while_nodes_start():
    # a's start puts 2 messages in flight and breaks the property: b never starts.
    quiet = always("quiet")(lambda v: not v.inflight())
    system = make_system(
        [("a", "burst", {"to": "b", "count": 2}), ("b", "sink")],
        quiet,
        link=Link(duplicate=0.5),
    )
    lines = parse(timed_trace(system, seed=0))
    assert [x["act"] for x in lines[1:-1]] == ["start", "duplicate"]
    assert lines[-1]["violation"] == {"property": "quiet", "step": 0}
    assert replay(system, lines)["steps"] == 2


def test_replay_of_a_run_stopped_before_a_scheduled_fault():
    # b restarts at 200 ms, after the 100 ms deadline: the run is not quiescent.
    got = eventually("got")(lambda v: v.state("b")["got"] == [0])
    system = make_system(
        [("a", "burst", {"to": "b"}), ("b", "sink")],
        got,
        faults=(Fault("crash", at=50_000, until=200_000, node="b"),),
    )
    runner = TimedRun(system, 0, 100_000)
    result = runner.run()
    assert not result.quiescent and result.verdicts == {"got": "undecided"}
    head = header(system, "run", {}, {}, 0)
    final = digest_states([canonical(s) for s in runner.states], runner.up)
    data, _ = finish(timed_lines(result.steps), head, result.verdicts, result.violation, final)
    assert replay(system, parse(data))["verdicts"] == {"got": "undecided"}
    # Given time, the same run restarts b and ends quiescent; b's list was
    # volatile, so what it got before the crash is gone.
    assert replay(system, parse(timed_trace(system)))["verdicts"] == {"got": "violated"}


def checker_trace(system, actions) -> list[dict]:
    lines, world, judge = path_lines(system, actions)
    head = header(system, "check", {"toy": "check"}, {}, None)
    data, _ = finish(
        lines, head, judge.verdicts, judge.first_violation, digest_states(world.states, world.up)
    )
    return parse(data)


def check_system():
    pattern = always("not_201")(lambda v: v.state("sink")["got"][-3:] != [2, 0, 1])
    return make_system(
        [("src", "burst", {"to": "sink", "count": 3}), ("sink", "sink")],
        pattern,
        check=CheckSpec(drops=1, duplicates=1, crashes=1),
    )


def test_replay_reproduces_a_checker_counterexample():
    system = check_system()
    [cex] = Explorer(system).bfs().counterexamples
    lines = checker_trace(system, cex.actions)
    assert [line["t"] for line in lines[1:-1]] == [None] * 5
    assert lines[-1]["violation"] == {"property": "not_201", "step": 4}
    assert replay(check_system(), lines)["verdicts"] == {"not_201": "violated"}


def test_replay_reproduces_checker_faults():
    # Duplicate, drop (budget), crash, drop (down), restart, in one path.
    system = check_system()
    d = [("duplicate", "sink", "src", msg(0)), ("drop", "sink", "src", msg(0)), ("crash", "sink")]
    d += [("drop", "sink", "src", msg(1)), ("restart", "sink"), ("deliver", "sink", "src", msg(0))]
    lines = checker_trace(system, d)
    assert [(x["act"], x.get("reason"), x.get("sent")) for x in lines[3:-1]] == [
        ("duplicate", None, 0),
        ("drop", "budget", 0),
        ("crash", None, None),
        ("drop", "down", 0),
        ("restart", None, None),
        ("deliver", None, 0),
    ]
    assert replay(system, lines)["steps"] == 8


# ---------------------------------------------------------------------------
# Edited traces are refused at the edited step


def edited(lines: list[dict], edit) -> list[dict]:
    out = copy.deepcopy(lines)
    edit(out)
    return out


def mismatch_step(system, lines) -> int:
    with pytest.raises(Mismatch) as info:
        replay(system, lines)
    return info.value.step


def test_edit_a_delivered_message(busy):
    i = first(busy, lambda s: s["act"] == "deliver" and s["node"] == "b")
    lines = edited(busy, lambda x: x[i]["msg"].update(n=99))
    assert mismatch_step(busy_system(), lines) == i - 1  # line i is step i - 1


def test_edit_an_effect(busy):
    i = first(busy, lambda s: s.get("effects", {}).get("send") and s["act"] == "timer")
    lines = edited(busy, lambda x: x[i]["effects"]["send"][0][1].update(n=42))
    assert mismatch_step(busy_system(), lines) == i - 1
    j = first(busy, lambda s: s.get("effects", {}).get("set"))
    lines = edited(busy, lambda x: x[j]["effects"]["set"][0].__setitem__(1, 1))
    assert mismatch_step(busy_system(), lines) == j - 1
    lines = edited(busy, lambda x: x[j]["effects"].pop("set"))
    assert mismatch_step(busy_system(), lines) == j - 1


def test_edit_a_drop_reason(busy):
    i = first(busy, lambda s: s.get("reason") == "loss")
    lines = edited(busy, lambda x: x[i].update(reason="partition"))
    assert mismatch_step(busy_system(), lines) == i - 1


def test_network_choices_must_be_possible_on_their_link(busy):
    # A loss on a link that loses nothing, a duplicate on one that does not
    # duplicate, a partition drop with no partition open: all refused there.
    i = first(busy, lambda s: s["act"] == "deliver" and s["node"] == "k")
    line = busy[i]

    def insert(act, **extra):
        def edit(x):
            note = {"kind": "step", "step": i, "t": line["t"], "act": act, "node": "k"}
            note.update(src="p", msg=line["msg"], sent=line["sent"], **extra)
            x.insert(i, note)
            for n, step in enumerate(x[1:-1]):
                step["step"] = n

        return edit

    for act, extra in (
        ("drop", {"reason": "loss"}),
        ("duplicate", {}),
        ("drop", {"reason": "partition"}),
    ):
        assert mismatch_step(busy_system(), edited(busy, insert(act, **extra))) == i - 1
    j = first(busy, lambda s: s["act"] == "partition")
    assert (
        mismatch_step(busy_system(), edited(busy, lambda x: x[j].update(t=x[j]["t"] + 1))) == j - 1
    )
    assert (
        mismatch_step(busy_system(), edited(busy, lambda x: x[j].update(groups=[["k"], ["p"]])))
        == j - 1
    )


def test_swap_two_steps(busy):
    i = first(busy, lambda s: s["act"] == "deliver")

    def swap(x):
        x[i], x[i + 1] = x[i + 1], x[i]

    assert mismatch_step(busy_system(), edited(busy, swap)) == i - 1

    def swap_renumbered(x):  # the two starts, renumbered: node order is wrong
        x[1], x[2] = x[2], x[1]
        x[1]["step"], x[2]["step"] = 0, 1

    assert mismatch_step(busy_system(), edited(busy, swap_renumbered)) == 0


def test_delete_a_step(busy):
    i = first(busy, lambda s: s["act"] == "timer")
    assert mismatch_step(busy_system(), edited(busy, lambda x: x.pop(i))) == i - 1

    def delete_crash_renumbered(x):
        # Without the crash, the next arrival at k is not dropped for "down".
        c = first(x, lambda s: s["act"] == "crash")
        del x[c]
        for n, line in enumerate(x[1:-1]):
            line["step"] = n

    c = first(busy, lambda s: s["act"] == "crash")
    assert mismatch_step(busy_system(), edited(busy, delete_crash_renumbered)) == c - 1


def test_delete_the_last_step(busy):
    lines = edited(busy, lambda x: x.pop(-2))
    assert mismatch_step(busy_system(), lines) == len(busy) - 3  # the deleted index


def test_change_a_timer_time(busy):
    i = first(busy, lambda s: s["act"] == "timer")
    lines = edited(busy, lambda x: x[i].update(t=x[i]["t"] + 1))
    assert mismatch_step(busy_system(), lines) == i - 1
    lines = edited(busy, lambda x: x[i].update(t=x[i]["t"] - 1))
    assert mismatch_step(busy_system(), lines) == i - 1


def test_time_going_backwards(busy):
    i = first(busy, lambda s: s["act"] == "deliver" and s["t"] > 0)
    lines = edited(busy, lambda x: x[i].update(t=-1))
    assert mismatch_step(busy_system(), lines) == i - 1


def test_edit_only_the_trace_hash(busy):
    end = len(busy) - 2  # the end line is judged as step number len(steps)
    lines = edited(busy, lambda x: x[-1].update(trace_hash="0" * 64))
    with pytest.raises(Mismatch, match="trace_hash") as info:
        replay(busy_system(), lines)
    assert info.value.step == end


def test_edits_no_step_can_see_are_caught_by_the_hash(busy):
    # A delivery's time is a draw of the link: replay cannot re-derive it
    # from the step alone, only the trace hash covers it (at the end line).
    end = len(busy) - 2
    i = first(busy, lambda s: s["act"] == "deliver" and s["t"] < busy[busy.index(s) + 1]["t"])
    lines = edited(busy, lambda x: x[i].update(t=x[i]["t"] + 1))
    with pytest.raises(Mismatch, match="trace_hash") as info:
        replay(busy_system(), lines)
    assert info.value.step == end
    lines = edited(busy, lambda x: x[0].update(seed=99))
    with pytest.raises(Mismatch, match="trace_hash"):
        replay(busy_system(), lines)
    lines = edited(busy, lambda x: x[-1].update(verdicts={}))
    assert mismatch_step(busy_system(), lines) == end
    lines = edited(busy, lambda x: x[-1].update(state="0" * 64))
    assert mismatch_step(busy_system(), lines) == end


def test_checker_trace_edits():
    system = check_system()
    lines = checker_trace(system, [("deliver", "sink", "src", msg(n)) for n in (2, 0, 1)])
    assert mismatch_step(system, edited(lines, lambda x: x[4].update(msg={"n": 99}))) == 3
    # Edited into another possible choice, the trace is a different run up to
    # there: it is refused where it stops being possible (n=1 again at step 4).
    assert mismatch_step(system, edited(lines, lambda x: x[4].update(msg={"n": 1}))) == 4
    assert mismatch_step(system, edited(lines, lambda x: x[4].update(t=0))) == 3
    assert mismatch_step(system, edited(lines, lambda x: x[4].update(act="timer"))) == 3
    assert mismatch_step(system, edited(lines, lambda x: x[4].update(act="partition"))) == 3


# ---------------------------------------------------------------------------
# Reading trace files


def test_write_then_read(tmp_path, busy):
    data = timed_trace(busy_system())
    path = tmp_path / "t.jsonl"
    write(path, data)
    assert path.read_bytes() == data
    assert read(path) == busy
    assert [p.name for p in tmp_path.iterdir()] == ["t.jsonl"]  # no temporary left


@pytest.mark.parametrize(
    ("content", "where"),
    [
        (b"", "line 1"),
        (b"this is not json\n", "line 1"),
        (b"[1, 2]\n", "line 1"),
        (b'{"kind": "step", "step": 0}\n{"kind": "end"}\n', "line 1"),  # no header
        (b'{"kind": "header", "format": "mxsim-trace/0"}\n{"kind": "end"}\n', "line 1"),
        (b"\xff\xfe garbage", "cannot read"),
    ],
)
def test_read_rejects_non_traces(tmp_path, content, where):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    with pytest.raises(TraceError, match=where):
        read(path)


def test_read_rejects_truncated_traces(tmp_path):
    data = timed_trace(busy_system())
    lines = data.splitlines(keepends=True)
    no_end = tmp_path / "no_end.jsonl"
    no_end.write_bytes(b"".join(lines[:-1]))
    with pytest.raises(TraceError, match=f"line {len(lines) - 1}: expected the end line"):
        read(no_end)
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(data[: len(data) // 2])  # in the middle of a line
    with pytest.raises(TraceError, match="expected a JSON object"):
        read(cut)
    with pytest.raises(TraceError, match="cannot read"):
        read(tmp_path / "missing.jsonl")
