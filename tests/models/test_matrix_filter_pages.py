"""filter-pages: a filter's ``keys`` on every API that takes a filter ("Filter API":
"Which keys to return for events?", "Omitting the token on APIs results in ALL
THE THINGS coming down", "Clients should remember which token they need to use
for which API"). Bob pages replies and scrolls back naming tokens of their own;
Carol joins with a filter of her own; every event each gets is judged by the
filter of the call that returned it.

Mutations tried (each made tests here fail, then was restored): the server
ignoring the filter on scrollback (the ``_keys`` line of ``on_scrollback``
left out: 3 failed); every page sent with every key (``Filters.page`` returning
the page: 4 failed); the device naming no token (``api_token`` always None: 6
failed); the device judging every page by its stream filter (``saw_page``
labelling pages ``stream``: 3 failed); the join's keys not applied (the swap in
``Stream.join_response`` left out: 3 failed); the window's keys not applied
(``on_context``: the context test failed)."""

from __future__ import annotations

import functools
import subprocess
import sys

import pytest
from witness import check, cli, records, turns_true, view_after

from mxsim.models.explain import Moment, explain
from mxsim.models.homeserver.filters import KEPT_KEYS
from mxsim.models.homeserver.scrollback import Scrollback
from mxsim.models.registry import bundled
from mxsim.sim.node import ConfigError

NAME = "filter-pages"
GUARD = "page_projected"


def _no_join(raw: dict) -> None:
    """Bob alone: his pages, without Carol's join (a small space for mutations)."""
    raw["nodes"] = [n for n in raw["nodes"] if n["name"] != "carol"]
    raw["workload"] = [w for w in raw["workload"] if w["node"] != "carol"]


@functools.cache
def _checked(*sets: str):
    return check(NAME, *sets)


def _violation(checked, prop="keys_honoured"):
    found = next(c for c in checked.report.counterexamples if c.property == prop)
    return found, explain(prop, Moment(None, view_after(checked.system, found.actions), None))


def test_the_check_is_complete_holds_and_reaches_the_guard():
    report = _checked().report
    assert report.complete and report.verdict == "holds", report.verdicts
    assert report.verdicts[GUARD] == "reached"


def test_the_witness_is_a_page_asked_with_its_api_token_and_projected():
    checked = _checked()
    actions = checked.report.witnesses[GUARD]
    steps = records(checked.system, actions)
    k = turns_true(checked.system, GUARD, actions)
    asked = steps[k]["msg"]  # the request the server projected a page for
    assert asked["type"] in ("replies", "scrollback"), asked
    view = view_after(checked.system, actions[: k + 1])
    tokens = view.state("bob")["filters"]["api_tokens"]
    assert asked["filter"] == tokens[asked["type"]] != view.state("bob")["filters"]["token"]
    (page,) = [m for dst, m in steps[k]["sends"] if dst == "bob"]
    assert page["chunk"] and all("prev_events" not in ev for ev in page["chunk"])


def _settle(sys_, world, acts=("deliver",)):
    """Take the first enabled move of ``acts`` until none is left."""
    while moves := sorted(a for a in sys_.enabled(world) if a[0] in acts):
        world, _ = sys_.apply(world, moves[0])
    return sys_.view(world)


def test_each_page_and_the_join_come_with_their_own_filters_keys():
    checked = _checked()
    sys_ = checked.system
    world, _ = sys_.initial()
    for action in checked.report.witnesses[GUARD]:
        world, _ = sys_.apply(world, action)
    bob = _settle(sys_, world).state("bob")["filters"]["keys"]
    assert "prev_events" in bob["stream"]  # no keys asked of the stream: all of them
    paged = [api for api in ("replies", "scrollback") if api in bob]
    assert paged, bob
    assert all(set(bob[api]) <= KEPT_KEYS | {"origin_server_ts"} for api in paged)
    assert "prev_events" not in bob.get("replies", ()) and "depth" not in bob.get("scrollback", ())
    world, _ = sys_.initial()
    carol = _settle(sys_, world, ("deliver", "input", "timer")).state("carol")["filters"]
    assert set(carol["keys"]["join/0"]) - KEPT_KEYS == {"depth"}, carol


def test_pages_of_every_key_break_the_filter_at_the_join_first():
    checked = _checked("keys_scope=stream_only")
    assert checked.report.verdicts["keys_honoured"] == "violated"
    assert checked.report.verdicts[GUARD] == "vacuous"  # the guard can be false
    found, text = _violation(checked)
    assert len(found.actions) == 8  # steps after the node starts
    assert "carol" in text and "join/0" in text and "depth" in text, text


def test_without_the_join_the_pages_break_it():
    checked = check(NAME, "keys_scope=stream_only", edit=_no_join)
    found, text = _violation(checked)
    assert "bob" in text and ("replies" in text or "scrollback" in text), text


def test_a_server_ignoring_the_filter_on_scrollback_is_caught(monkeypatch):
    monkeypatch.setattr(Scrollback, "_keys", lambda self, state, defn, evs: evs)
    checked = check(NAME, edit=_no_join)
    found, text = _violation(checked)
    assert "scrollback filter" in text, text


def test_a_device_naming_no_token_gets_every_key_and_the_guard_stays_false(monkeypatch):
    from mxsim.models.device.filters import Filters

    monkeypatch.setattr(Filters, "api_token", lambda self, state, api: None)
    report = check(NAME, edit=_no_join).report
    # "Omitting the token on APIs results in ALL THE THINGS coming down": not a violation.
    assert report.verdicts["keys_honoured"] == "holds" and report.verdicts[GUARD] == "vacuous"


def test_a_filter_on_a_workload_scrollback_is_bad_input():
    from mxsim.models.device.requests import Requests

    with pytest.raises(ConfigError) as bad:
        Requests.check_input({"op": "scrollback", "room": "!r:hs", "filter": {"keys": []}})
    assert "filter" in str(bad.value)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("api_filters = { replies", "api_filters = { history", "api_filters.history"),
        ('keys = ["origin_server_ts"] }, scrollback', 'keys = "ts" }, scrollback', "keys"),
    ],
)
def test_a_bad_api_filter_is_one_line_and_exit_2(tmp_path, old, new, field):
    text = bundled()[NAME].read_text()
    assert old in text
    path = tmp_path / "bad.toml"
    path.write_text(text.replace(old, new))
    cmd = [sys.executable, "-c", "from mxsim.experiments.cli import main; main()"]
    done = subprocess.run([*cmd, "check", str(path)], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and field in done.stderr, done.stderr


def test_the_timed_run_holds_and_is_the_same_under_any_hash_seed():
    outs = set()
    for seed in ("0", "7"):
        done = cli("run", NAME, "--json", hash_seed=seed)
        assert done.returncode == 0, done.stderr
        outs.add(done.stdout)
    assert len(outs) == 1


def _with_context(raw: dict) -> None:
    """Bob alone, asking the window around Alice's message with a token of its own."""
    _no_join(raw)
    bob = next(n for n in raw["nodes"] if n["name"] == "bob")
    bob["config"]["filters"]["api_filters"]["context"] = {"keys": []}
    ask = {"op": "context", "event_id": "$hs.1", "before": 1, "after": 1}
    raw["workload"] = [w for w in raw["workload"] if w["node"] != "bob"]
    raw["workload"].append({"at": 300, "node": "bob", "input": ask})


def test_a_context_window_gets_its_own_filters_keys_and_every_key_without_it():
    checked = check(NAME, edit=_with_context)
    assert checked.report.verdicts["keys_honoured"] == "holds"
    assert checked.report.verdicts[GUARD] == "reached"
    steps = records(checked.system, checked.report.witnesses[GUARD])
    assert steps[-1]["msg"]["type"] == "context" and "filter" in steps[-1]["msg"]
    found, text = _violation(check(NAME, "keys_scope=stream_only", edit=_with_context))
    assert "bob" in text and "context filter" in text, text
