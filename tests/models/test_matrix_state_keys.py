"""Event version 2 (issue 11; proposal, "Events (breaking changes; event version 2)"):
type prefixes and state-key permissions, refused for a local user and for a rogue
server's forgeries alike."""

from __future__ import annotations

import functools

import pytest
from witness import check, initially, system

from mxsim.models import auth
from mxsim.models import room as R
from mxsim.sim.timed import TimedRun

NAME = "state-keys"
GUARDS = ("state_key_refused", "forgery_refused")


@functools.cache
def _bundled():
    return check(NAME)


def _hs1_store():
    sys_ = system(NAME)
    runner = TimedRun(sys_, 1, sys_.scenario.run.until)
    result = runner.run()
    return result, runner.states[sys_.names.index("hs1")]["rooms"]["stores"]["!r:hs1"]


def test_the_bundled_check_is_complete_and_holds():
    report = _bundled().report
    assert report.complete
    assert report.verdicts == {
        "state_keys_respected": "holds",
        "state_key_refused": "reached",
        "forgery_refused": "reached",
        "state_consistency": "holds",
    }


def test_bob_sets_his_own_key_and_nothing_else():
    result, store = _hs1_store()
    assert result.quiescent
    keys = {R.split_key(k) for k in store["current"]}
    assert ("state:m.profile", "@bob:hs1/avatar") in keys
    assert ("state:m.profile", "@alice:hs1/avatar") not in keys
    assert ("state:m.profile", "hs2/bridge") not in keys
    assert ("state:m.profile", "hs1/bridge") not in keys
    reasons = sorted(store["rejected"].values())
    assert any("is a message type but the event has a state_key" in r for r in reasons)
    assert sum("may not use state key" in r for r in reasons) >= 2


@pytest.mark.parametrize("guard", GUARDS)
def test_guards_are_false_initially(guard):
    assert not initially(system(NAME), guard)


def test_without_the_forgeries_forgery_refused_is_vacuous():
    def honest(raw):
        raw["workload"] = [w for w in raw["workload"] if w["input"]["op"] != "forge"]
        for n in raw["nodes"]:
            n["config"].pop("rogue", None)

    report = check(NAME, edit=honest).report
    assert report.complete
    assert report.verdicts["forgery_refused"] == "vacuous"
    assert report.verdicts["state_key_refused"] == "reached"


def test_state_keys_respected_fails_when_the_auth_rules_forget_the_key_rule(monkeypatch):
    monkeypatch.setattr(auth, "state_key_permitted", lambda ev, power_ok: True)
    report = check(NAME).report
    assert report.verdicts["state_keys_respected"] == "violated"
