"""Long checks survive: every stop reason, Ctrl-C as a bound, checkpoints that resume exactly."""

from __future__ import annotations

import signal
from dataclasses import asdict

import pytest
from test_explore import burst, deliver
from toy import make_system

from mxsim.experiments import jobs
from mxsim.sim.checkpoint import Checkpoint, CheckpointError
from mxsim.sim.explore import Explorer
from mxsim.sim.model import always, sometimes
from mxsim.sim.scenario import CheckSpec

TYPING = ("typing-presence", ['presence_of_user="last_session"'])


def outcome(report) -> dict:
    """Everything a report says about the search, less time and memory."""
    d = asdict(report)
    for k in ("seconds", "memory"):
        del d[k]
    return d


class Interrupting(Explorer):
    """Presses Ctrl-C (a real SIGINT) while the search asks for its ``at``-th actions."""

    def __init__(self, *args, at: int, raw: bool = False, **kw) -> None:
        super().__init__(*args, **kw)
        self.calls, self.at, self.raw = 0, at, raw

    def actions(self, world):
        self.calls += 1
        if self.calls == self.at:
            if self.raw:
                raise KeyboardInterrupt  # as if no handler were installed
            signal.raise_signal(signal.SIGINT)
        return super().actions(world)


class Generic(Explorer):
    """Overrides successors(), as a reduction would: the search takes every
    successor from it instead of dropping seen ones on their keys."""

    def successors(self, world):
        return super().successors(world)


def test_the_generic_path_meets_the_same_worlds_as_the_fast_one():
    loaded = jobs.load_scenario(*TYPING)
    fast = Explorer(loaded.system()).bfs()
    generic = Generic(loaded.system()).bfs()
    assert outcome(generic) == outcome(fast)


# ---------------------------------------------------------------------------
# Stop reasons, each provoked


def test_stop_reason_complete():
    r = Explorer(burst(3)).bfs()
    assert (r.stop_reason, r.stopped, r.complete, r.states) == ("complete", None, True, 16)


def test_stop_reason_max_states():
    r = Explorer(burst(3), max_states=5).bfs()
    assert (r.stop_reason, r.stopped, r.complete, r.states) == (
        "max_states",
        "max_states",
        False,
        5,
    )


def test_stop_reason_max_depth():
    r = Explorer(burst(3), max_depth=2).bfs()
    assert (r.stop_reason, r.complete, r.states) == ("max_depth", False, 10)


def test_stop_reason_max_seconds():
    # The clock is read after each world: a bound this small stops after the first.
    r = Explorer(burst(3), max_seconds=1e-9).bfs()
    assert (r.stop_reason, r.complete, r.states) == ("max_seconds", False, 4)


def test_stop_reason_all_decided():
    pattern = always("not_201")(lambda v: v.state("sink")["got"][-3:] != [2, 0, 1])
    r = Explorer(burst(3, pattern)).bfs()
    assert (r.stop_reason, r.complete) == ("all decided", False)
    assert r.counterexamples[0].actions == [deliver(2), deliver(0), deliver(1)]


def test_ctrl_c_is_a_bound_and_keeps_what_was_found():
    bounded = always("at_most_four")(lambda v: len(v.state("sink")["got"]) <= 4)
    seen_two = sometimes("two")(lambda v: len(v.state("sink")["got"]) == 2)
    system = burst(4, bounded, seen_two)
    whole = Explorer(system).bfs()
    cut = Interrupting(system, at=12).bfs()
    assert (cut.stop_reason, cut.stopped, cut.complete) == ("interrupted", "interrupted", False)
    assert 1 < cut.states < whole.states
    # The guard reached before Ctrl-C keeps its witness, the same as in the whole search.
    assert cut.witnesses["two"] == whole.witnesses["two"]
    # The handler is removed afterwards: Ctrl-C raises again.
    with pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGINT)


# ---------------------------------------------------------------------------
# Report contents


def test_report_counts_transitions_deliveries_and_guards():
    # burst(2): W0 {0,1} -> [0] {1}, [1] {0} -> [0,1], [1,0]: 4 deliveries taken
    # from 3 expanded worlds (W0: 2, each of depth 1: 1), all to the sink.
    two = sometimes("two")(lambda v: len(v.state("sink")["got"]) == 2)
    three = sometimes("three")(lambda v: len(v.state("sink")["got"]) == 3)
    r = Explorer(burst(2, two, three)).bfs()
    assert (r.states, r.transitions) == (5, 4)
    assert r.coverage == {
        "guards": {"two": {"hit": True, "depth": 2}, "three": {"hit": False, "depth": None}},
        "delivered": {"sink": 4},
        "actions": {"deliver": 4},
    }
    assert r.memory["visited_bytes_per_state"] > 0


# ---------------------------------------------------------------------------
# Checkpoints


def identity(name: str = "toy") -> dict:
    return {"scenario": name, "overrides": {}, "max_depth": 60}


def test_resume_after_a_stop_mid_world_equals_one_search(tmp_path):
    # max_states=5 stops inside the first depth-1 world (one of its two
    # successors admitted): the resumed search must take the other one next.
    whole = Explorer(burst(3)).bfs()
    ck = Checkpoint(tmp_path / "s.ckpt", identity())
    first = Explorer(burst(3), max_states=5).bfs(ck)
    assert (first.stop_reason, first.states, ck.saves) == ("max_states", 5, 1)
    again = Checkpoint(tmp_path / "s.ckpt", identity())
    resumed = Explorer(burst(3)).bfs(again)
    assert again.resumed
    assert outcome(resumed) == outcome(whole)


def test_interrupted_and_resumed_twice_equals_one_search(tmp_path):
    loaded = jobs.load_scenario(*TYPING)
    whole = Explorer(loaded.system()).bfs()
    assert whole.verdicts["presence_follows_sessions"] == "violated"
    path = tmp_path / "typing.ckpt"
    cut = Explorer(loaded.system(), max_states=700).bfs(Checkpoint(path, identity("t")))
    assert cut.stop_reason == "max_states"
    cut = Interrupting(loaded.system(), at=900).bfs(Checkpoint(path, identity("t")))
    assert cut.stop_reason == "interrupted"
    assert 700 < cut.states < whole.states
    done = Explorer(loaded.system()).bfs(Checkpoint(path, identity("t")))
    assert outcome(done) == outcome(whole)
    assert done.seconds >= cut.seconds  # time adds up over sessions


def test_no_checkpoint_is_saved_of_a_torn_search(tmp_path):
    path = tmp_path / "torn.ckpt"
    Explorer(burst(3), max_states=5).bfs(Checkpoint(path, identity()))
    before = path.read_bytes()
    cut = Interrupting(burst(3), at=2, raw=True).bfs(Checkpoint(path, identity()))
    assert cut.stop_reason == "interrupted"
    assert path.read_bytes() == before  # the last whole checkpoint stays


def test_a_checkpoint_of_another_check_is_refused(tmp_path):
    path = tmp_path / "a.ckpt"
    Explorer(burst(3), max_states=5).bfs(Checkpoint(path, identity("a")))
    with pytest.raises(CheckpointError, match="another check") as e:
        Explorer(burst(3)).bfs(Checkpoint(path, identity("b")))
    assert "\n" not in str(e.value)
    path.write_bytes(b"mxsim checkpoint\n{}\n")
    with pytest.raises(CheckpointError, match="format"):
        Checkpoint(path, identity("a")).load()
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="expected an mxsim checkpoint"):
        Checkpoint(path, identity("a")).load()


def test_a_checkpoint_holds_only_plain_data(tmp_path):
    import pickle

    path = tmp_path / "evil.ckpt"
    Explorer(burst(3), max_states=5).bfs(Checkpoint(path, identity()))
    head = path.read_bytes().split(b"\n", 2)
    path.write_bytes(head[0] + b"\n" + head[1] + b"\n" + pickle.dumps(print))
    with pytest.raises(CheckpointError, match="damaged"):
        Checkpoint(path, identity()).load()


def test_same_search_same_checkpoint_payload(tmp_path):
    a, b = tmp_path / "a.ckpt", tmp_path / "b.ckpt"
    system = make_system(
        [("src", "burst", {"to": "sink", "count": 3}), ("sink", "sink")], check=CheckSpec(drops=1)
    )
    Explorer(system, max_states=9).bfs(Checkpoint(a, identity()))
    Explorer(system, max_states=9).bfs(Checkpoint(b, identity()))
    payload = [p.read_bytes().split(b"\n", 2)[2] for p in (a, b)]
    assert payload[0] == payload[1]


def test_progress_shows_time_bounds_states_rate_depth_violations_memory():
    import io

    from mxsim.sim.progress import describe, progress_printer

    seen = []
    pattern = always("not_201")(lambda v: v.state("sink")["got"][-3:] != [2, 0, 1])
    bounded = always("at_most_three")(lambda v: len(v.state("sink")["got"]) <= 3)
    explorer = Explorer(burst(3, pattern, bounded), max_states=1000, progress=seen.append)
    explorer.progress_every = 0  # every world
    explorer.bfs()
    assert [p.states for p in seen] == sorted(p.states for p in seen)
    last = seen[-1]
    assert (last.max_states, last.max_depth, last.violations) == (1000, 40, 1)
    assert last.memory > 0 and last.rate > 0 and last.depth >= 1
    line = describe(last)
    assert "% of 1,000)" in line and "violated 1" in line and "MiB" in line

    class Tty(io.StringIO):
        def isatty(self):
            return True

    assert progress_printer(io.StringIO()) is None  # not a terminal: no progress line
    tty = Tty()
    progress_printer(tty)(last)
    assert tty.getvalue().startswith("\r  ") and "depth" in tty.getvalue()
