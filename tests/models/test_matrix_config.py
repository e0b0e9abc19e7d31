"""The matrix model's scenario config: one table per used part, errors naming
the part and field, and no state for a part a scenario does not use."""

from __future__ import annotations

from pathlib import Path

import pytest

from mxsim.experiments.jobs import load_scenario
from mxsim.models.registry import bundled
from mxsim.sim.scenario import ScenarioError


def node_states(name: str) -> dict[str, dict]:
    system = load_scenario(name).system()
    world, _ = system.initial()
    view = system.view(world)
    return {n: view.state(n) for n in view.nodes}


def test_a_scenario_builds_only_the_parts_it_lists():
    states = node_states("superseded-state")
    assert sorted(states["hs1"]) == ["federation", "rooms", "stream"]
    assert sorted(states["alice"]) == ["requests", "stream", "timeline"]
    scrollback = node_states("scrollback")
    assert sorted(scrollback["hs2"]) == ["federation", "joining", "rooms", "scrollback", "stream"]
    assert sorted(scrollback["carol"]) == ["requests", "scrollback", "stream", "timeline"]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "scrollback = { persist = true }",
            "scrollback = { persist = 3 }",
            "nodes[2].config.scrollback.persist: expected a boolean, found 3",
        ),
        (
            'federation = {}, joining = {}, scrollback = {} }\n\n[[nodes]]\nname = "carol"',
            'federation = {}, joinin = {} }\n\n[[nodes]]\nname = "carol"',
            # (a prefix: parts added after these extend the list)
            "nodes[1].config.joinin: expected one of: rooms, stream, joining, federation, "
            "scrollback",
        ),
        (
            'creator = "@alice:hs1", messages',
            'creator = "@alice:hs1", members = "bob", messages',
            "nodes[0].config.rooms.genesis[0].members: expected a list of user IDs",
        ),
        (
            "timeline = { out_of_order = true }",
            "timeline = { out_of_order = true }, federation = {}",
            "nodes[2].config.federation: expected one of: server, user, requests, stream",
        ),
        (
            'body = "hi all" }',
            'body = "hi all", limit = 3 }',
            "workload[3].input.limit: expected a field of op send: room, body, found 'limit'",
        ),
    ],
)
def test_a_config_error_is_one_line_naming_the_part_and_field(tmp_path, old, new, message):
    text = bundled()["scrollback"].read_text()
    assert old in text
    path = Path(tmp_path) / "bad.toml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ScenarioError) as e:
        load_scenario(str(path))
    assert message in str(e.value) and "\n" not in str(e.value)


def test_the_model_lists_each_parts_switches_once():
    from mxsim.models.matrix import MODEL

    names = [s.name for s in MODEL.switches]
    assert len(names) == len(set(names))
    assert {"state_resolution", "omit_superseded_state", "rejected_events"} <= set(names)
    assert [p.name for p in MODEL.properties].count("idempotent") == 1
