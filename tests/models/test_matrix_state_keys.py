"""Event version 2 (issue 11; proposal, "Events (breaking changes; event version 2)"):
type prefixes and state-key permissions, refused for a local user and for a rogue
server's forgeries alike."""

from __future__ import annotations

import functools

import pytest
from hypothesis import given
from hypothesis import strategies as st
from witness import check, initially, system

from mxsim.models import auth
from mxsim.models import room as R
from mxsim.models.state_key_types import type_admits_key
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


# -- the open question as a switch: a type that declares its state keys -------------------

TYPES = "state-key-types"


@functools.cache
def _types(*sets: str):
    return check(TYPES, *sets)


def _rejected(checked, actions):
    world, _ = checked.system.initial()
    for action in actions:
        world, _ = checked.system.apply(world, action)
    return checked.system.view(world).state("hs1")["rooms"]["stores"]["!r:hs1"]


def test_declared_types_hold_and_the_refusal_is_reached():
    report = _types().report
    assert report.complete and report.verdict == "holds", report.verdicts
    assert report.verdicts["type_restriction_refused"] == "reached"


def test_without_declarations_a_non_user_key_of_an_at_type_is_accepted_in_3_steps():
    report = _types("type_declares_state_key=false").report
    assert report.complete
    assert report.verdicts["type_restrictions_respected"] == "violated"
    assert report.verdicts["type_restriction_refused"] == "vacuous"
    assert report.verdicts["state_keys_respected"] == "holds"  # the key rule alone admits them
    (found,) = [c for c in report.counterexamples if c.property == "type_restrictions_respected"]
    assert len(found.actions) == 3


def test_the_guard_is_false_initially_and_its_witness_refuses_a_breach():
    checked = _types()
    assert not initially(checked.system, "type_restriction_refused")
    store = _rejected(checked, checked.report.witnesses["type_restriction_refused"])
    (reason,) = store["rejected"].values()
    assert "'_@custom.event' declares user state keys: '_'" in reason


def test_a_user_key_of_an_at_type_is_kept_and_the_breaches_are_not():
    sys_ = system(TYPES)
    runner = TimedRun(sys_, 1, sys_.scenario.run.until)
    assert runner.run().quiescent
    store = runner.states[sys_.names.index("hs1")]["rooms"]["stores"]["!r:hs1"]
    keys = {R.split_key(k) for k in store["current"]}
    assert ("_@custom.event", "@bob:hs1") in keys
    assert ("_@custom.event", "") not in keys
    assert ("_hs2/custom.bridge", "hs1/bridge") not in keys
    assert sorted(store["rejected"].values()) == [
        "type '_@custom.event' declares user state keys: '_' is not one",
        "type '_hs2/custom.bridge' declares hs2's state keys: 'hs1/bridge' is not one",
    ]


_names = st.text("abcxyz.", min_size=1, max_size=6)


@given(_names, _names, st.sampled_from(["", "/avatar"]))
def test_an_at_type_admits_exactly_the_user_keys(name, server, path):
    assert type_admits_key(f"state:_@{name}", f"@{name}:{server}{path}")
    assert not type_admits_key(f"_@{name}", f"_{name}")
    assert not type_admits_key(f"_@{name}", f"{server}{path}")
    assert type_admits_key(f"_{server}/{name}", f"{server}{path}")
    assert not type_admits_key(f"_{server}/{name}", f"@{name}:{server}{path}")
    assert not type_admits_key(f"_{server}/{name}", f"{server}x{path}")
    assert type_admits_key(f"_{name}", f"{server}{path}") and type_admits_key(name, "_")
