"""filter-bundles: one message with two comments; Bob's two devices open their
streams with filters of their own ("Filter API": "Whether you want coalesced
relates_to events (and the max # to coalesce)", "Which keys to return for
events?", "Clients should remember which token they need to use for which
API"). bob1 asks bundles of 1 and only ``origin_server_ts`` besides the keys
every client needs; bob2 a stream filter of 1 and, for its initial sync, a
filter of its own of 3 (keys: none). Same server, different bundles.

Mutations tried (each made a test here fail, then was restored): the server
bundling its own limit (``coalesce_limit = server``: bundle_limit_honoured, 7
steps); the server ignoring the initial sync's token (its room starts under
the stream filter); events sent with every key (no projection); a projection
that drops ``sender``; the server's bundle limit ignoring the filter's (in
``Bundling.limit``); the device judging every bundle by its stream filter
(``api_at`` always ``stream``)."""

from __future__ import annotations

import functools
import subprocess
import sys

import pytest
from witness import check, cli, drive, holds, initially, records, system, view_after

from mxsim.experiments.jobs import load_scenario
from mxsim.models.explain import Moment, explain
from mxsim.models.homeserver import filters as hs_filters
from mxsim.models.homeserver import stream as hs_stream
from mxsim.models.homeserver.filters import KEPT_KEYS
from mxsim.models.homeserver.filters import check as check_filter
from mxsim.models.homeserver.initial_sync import Sync
from mxsim.sim.node import ConfigError
from mxsim.sim.timed import TimedRun

NAME = "filter-bundles"
GUARD = "bundles_differ_by_filter"


@functools.cache
def _checked(*sets: str):
    return check(NAME, *sets)


def test_the_check_is_complete_holds_and_reaches_the_guards():
    report = _checked().report
    assert report.complete and report.verdict == "holds", report.verdicts
    assert report.verdicts[GUARD] == "reached" and report.verdicts["bundle_with_token"] == "reached"


def test_the_witness_is_two_devices_bundled_by_their_own_filters():
    checked = _checked()
    actions = checked.report.witnesses[GUARD]
    view = view_after(checked.system, actions)
    one = view.state("bob1")["bundles"]["shown"]["$hs.1"]
    two = view.state("bob2")["bundles"]["shown"]["$hs.1"]
    assert (one["bundled"], one["start"], one["api"]) == (1, 1, "stream")  # cut, with a token
    assert (two["bundled"], two["start"], two["api"]) == (2, None, "initial_sync")  # both
    syncs = [
        r["msg"] for r in records(checked.system, actions) if r.get("msg", {}).get("type") == "sync"
    ]
    assert "initial_filter" not in syncs[0]  # bob1: one filter for both
    assert syncs[1]["initial_filter"] != syncs[1]["filter"]  # bob2: a token per API


def test_the_guard_is_false_when_both_devices_open_before_the_comments():
    sys_ = system(NAME)
    assert not initially(sys_, GUARD)
    opening = [("deliver", "hs", "bob1"), ("deliver", "bob1", "hs")] * 2
    opening += [("deliver", "hs", "bob2"), ("deliver", "bob2", "hs")] * 3
    opening += [("deliver", "bob1", "hs"), ("deliver", "bob2", "hs")]  # their initial syncs
    world, _ = drive(sys_, [("input", 0), *opening])
    view = sys_.view(world)
    assert all(view.state(d)["bundles"]["shown"] for d in ("bob1", "bob2"))
    world, _ = drive(sys_, [("input", 0), *opening, ("input", 1), ("input", 2)])
    while moves := [a for a in sys_.enabled(world) if a[0] == "deliver"]:
        world, _ = sys_.apply(world, moves[0])
    view = sys_.view(world)
    assert len(view.state("bob1")["bundles"]["shown"]["$hs.1"]["replies"]) == 2
    assert not holds(sys_, GUARD, world)  # the comments came as deltas: no bundle was cut


def test_each_device_gets_only_the_keys_its_filter_asked_for():
    checked = _checked()
    view = view_after(checked.system, checked.report.witnesses[GUARD])
    one = view.state("bob1")["filters"]["keys"]["stream"]
    two = view.state("bob2")["filters"]["keys"]["initial_sync"]
    assert "origin_server_ts" in one and "depth" not in one and "prev_events" not in one
    assert "origin_server_ts" not in two and set(two) <= KEPT_KEYS
    assert {"event_id", "type", "sender"} <= set(one) & set(two)


def test_a_server_bundling_its_own_limit_breaks_the_filter_soon():
    checked = _checked("coalesce_limit=server")
    report = checked.report
    assert report.verdicts["bundle_limit_honoured"] == "violated"
    (found,) = [c for c in report.counterexamples if c.property == "bundle_limit_honoured"]
    assert 5 <= len(found.actions) <= 9
    text = explain(
        "bundle_limit_honoured", Moment(None, view_after(checked.system, found.actions), None)
    )
    assert "bundle_limit 1" in text and "2 replies bundled" in text, text


def test_a_server_ignoring_the_initial_sync_token_is_caught(monkeypatch):
    real = Sync.on_sync

    def on_sync(self, ctx, state, src, msg):
        real(self, ctx, state, src, {k: v for k, v in msg.items() if k != "initial_filter"})

    monkeypatch.setattr(Sync, "on_sync", on_sync)
    assert check(NAME).report.verdicts["bundle_limit_honoured"] == "violated"


@pytest.mark.parametrize(
    "project",
    [lambda defn, ev: ev, lambda defn, ev: {k: v for k, v in ev.items() if k != "sender"}],
    ids=["every-key", "no-sender"],
)
def test_a_server_that_projects_wrongly_is_caught(monkeypatch, project):
    monkeypatch.setattr(hs_stream, "project", project)
    checked = check(NAME)
    assert checked.report.verdicts["keys_honoured"] == "violated"
    found = next(c for c in checked.report.counterexamples if c.property == "keys_honoured")
    text = explain("keys_honoured", Moment(None, view_after(checked.system, found.actions), None))
    assert "bob" in text and "filter" in text, text


def test_a_filter_definition_is_checked_field_by_field():
    with pytest.raises(ConfigError) as bad:
        check_filter({"bundle_limit": -1})
    assert "filter.bundle_limit" in str(bad.value)
    with pytest.raises(ConfigError) as bad:
        check_filter({"keys": "origin_server_ts"})
    assert "filter.keys" in str(bad.value)
    assert hs_filters.project(hs_filters.normalise({}), {"depth": 1}) == {"depth": 1}


def test_a_bad_filter_in_a_scenario_is_one_line_and_exit_2(tmp_path):
    from mxsim.models.registry import bundled

    text = bundled()[NAME].read_text().replace("bundle_limit = 1, keys", "bundle_limit = -1, keys")
    path = tmp_path / "bad.toml"
    path.write_text(text)
    cmd = [sys.executable, "-c", "from mxsim.experiments.cli import main; main()"]
    done = subprocess.run([*cmd, "check", str(path)], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "bundle_limit" in done.stderr, done.stderr


def test_the_timed_run_holds_and_is_the_same_under_any_hash_seed():
    loaded = load_scenario(NAME)
    run = loaded.scenario.run
    result = TimedRun(loaded.system(), run.seed, run.until).run()
    assert result.quiescent and set(result.verdicts.values()) <= {"holds", "reached"}
    outs = set()
    for seed in ("0", "7"):
        done = cli("run", NAME, "--json", hash_seed=seed)
        assert done.returncode == 0, done.stderr
        outs.add(done.stdout)
    assert len(outs) == 1
