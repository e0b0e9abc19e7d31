"""Read receipts on the matrix model: the timed run's traffic equals the closed
forms for any number of servers and devices; local receipts stay local."""

from __future__ import annotations

import tomllib

import pytest

from mxsim.experiments.experiment.receipts import judged_at_end, room
from mxsim.models.homeserver.receipts import KINDS, STRATEGIES, expected
from mxsim.models.registry import MODELS, bundled
from mxsim.sim.explore import Explorer
from mxsim.sim.scenario_load import from_raw
from mxsim.sim.system import System
from mxsim.sim.timed import TimedRun


def _raw(name: str, users=None, messages=1, servers=1, devices=1) -> dict:
    with bundled()[name].open("rb") as f:
        raw = tomllib.load(f)
    return raw if users is None else room(raw, users, messages, servers, devices)


def _system(name: str, strategy: str, *shape, raw=None, **sets) -> System:
    raw = _raw(name, *shape) if raw is None else raw
    scenario = from_raw(raw, name, MODELS, {"receipts": strategy, **sets})
    return System(scenario, MODELS["matrix"])


def _fine(verdicts: dict[str, str]) -> bool:
    """Nothing violated or undecided (a guard may be vacuous: under ``local``
    no receipt crosses federation, with one device no receipt reaches another)."""
    return all(v in ("holds", "reached", "vacuous") for v in verdicts.values())


def _traffic(system: System) -> dict[str, int]:
    result = TimedRun(system, 1, 5_000_000).run()
    assert result.quiescent and _fine(result.verdicts), result.verdicts
    for kind in KINDS:
        if result.metrics.get(f"receipts.{kind}.messages"):
            assert result.metrics[f"receipts.{kind}.bytes"] > 0, kind
    return {k: result.metrics.get(f"receipts.{k}.messages", 0) for k in KINDS}


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize(
    ("users", "messages", "servers", "devices"),
    [(2, 1, 2, 2), (3, 2, 2, 2), (4, 3, 2, 2), (3, 2, 3, 1), (4, 2, 3, 3), (5, 1, 3, 1)],
)
def test_traffic_matches_the_formulas(strategy, users, messages, servers, devices):
    system = _system("receipts-federated", strategy, users, messages, servers, devices)
    assert _traffic(system) == expected(strategy, users, messages, servers, devices)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_bundled_scenarios_count_their_formulas(strategy):
    assert _traffic(_system("receipts", strategy)) == expected(strategy, 2, 1, 1, 2)
    assert _traffic(_system("receipts-federated", strategy)) == expected(strategy, 3, 1, 3, 1)


def test_room_rebuilds_the_bundled_scenarios():
    for name, shape in (("receipts", (2, 1, 1, 2)), ("receipts-federated", (3, 1, 3, 1))):
        with bundled()[name].open("rb") as f:
            raw = tomllib.load(f)
        assert room(raw, *shape) == raw, name


def test_local_receipts_never_cross_federation():
    traffic = _traffic(_system("receipts-federated", "local", 4, 2, 3, 2))
    assert traffic["s2s"] == 0 and traffic["c2s"] == 6


def test_a_read_up_to_marker_only_moves_forward():
    # u1's second device reads after its first: it has the same messages, so
    # its marker would name message 1 again; the server refuses it.
    raw = _raw("receipts", 2, 2, 1, 2)
    raw["workload"].append({"at": 900, "node": "u1d1", "input": raw["workload"][-1]["input"]})
    result = TimedRun(_system("receipts", "read_up_to", raw=raw), 1, 5_000_000).run()
    assert _fine(result.verdicts), result.verdicts
    assert result.metrics["receipts.c2s.messages"] == 2  # each device sent its marker
    assert result.metrics["receipts.s2c.messages"] == 4  # one marker reached the 4 devices


def test_the_bundled_receipts_check_holds_and_is_complete():
    report = Explorer(_system("receipts", "local")).bfs()
    assert report.complete and report.verdict == "holds", report.verdicts
    assert report.verdicts["receipt_reached_own_device"] == "reached"


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_federated_check_holds_within_its_bound(strategy):
    report = Explorer(_system("receipts-federated", strategy), max_states=20_000).bfs()
    assert not report.complete and "violated" not in report.verdicts.values(), report.verdicts
    assert report.verdicts["local_receipts_stay_local"] == "holds"
    crossed = report.verdicts["receipt_from_another_server"]
    assert crossed == ("vacuous" if strategy == "local" else "reached")


def test_local_receipts_leak_when_streamed_to_the_room():
    system = _system("receipts", "local", local_receipt_audience="room")
    report = Explorer(system).bfs()
    assert report.verdicts["local_receipts_stay_local"] == "violated"
    assert report.verdicts["receipts_delivered"] == "violated"
    lengths = {c.property: len(c.actions) for c in report.counterexamples}
    assert lengths["local_receipts_stay_local"] == 8


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("audience", ["own_devices", "room"])
def test_judging_the_last_state_gives_every_steps_verdicts(strategy, audience):
    # The experiment judges its large rooms once, at the end (judged_at_end).
    def system():
        return _system("receipts", strategy, 3, 2, 2, 2, local_receipt_audience=audience)

    stepwise = TimedRun(system(), 1, 5_000_000).run().verdicts
    _, at_end = judged_at_end(system(), 1, 5_000_000)
    if stepwise["local_receipts_stay_local"] == "violated":
        # A run stops at its first violation; the last state shows it too.
        assert strategy == "local" and audience == "room"
        assert at_end["local_receipts_stay_local"] == "violated"
    else:
        assert at_end == stepwise
