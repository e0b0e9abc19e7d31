"""The room-changing actions of the proposal, end to end across two servers
("Room Creation", "Joining a room", "Action APIs")."""

from __future__ import annotations

import pytest

from mxsim.experiments.jobs import load_scenario
from mxsim.models import room as R
from mxsim.sim.timed import TimedRun

CLUB, PUB = "!club:hs1", "!pub:hs1"

SCENARIO = """
[scenario]
name = "room-actions"
description = "test"
model = "matrix"

[[nodes]]
name = "hs1"
kind = "homeserver"
config = { federation = {}, joining = {} }

[[nodes]]
name = "hs2"
kind = "homeserver"
config = { federation = {}, joining = {} }

[[nodes]]
name = "alice"
kind = "device"
config = { server = "hs1", user = "@alice:hs1", timeline = { out_of_order = true } }

[[nodes]]
name = "bob"
kind = "device"
config = { server = "hs2", user = "@bob:hs2" }

[[nodes]]
name = "dave"
kind = "device"
config = { server = "hs2", user = "@dave:hs2" }

[[nodes]]
name = "erin"
kind = "device"
config = { server = "hs2", user = "@erin:hs2" }

[network]
latency = { dist = "uniform", low = 2, high = 20 }

# $hs1.1-6: create, alice's join, power levels, join rules, name, aliases;
# $hs1.7 invites bob, $hs1.8 invites dave.
[[workload]]
at = 10
node = "alice"
[workload.input]
op = "create_room"
room = "!club:hs1"
preset = "private"
invite = ["@bob:hs2", "@dave:hs2"]
[[workload.input.state]]
type = "m.room.name"
content = { name = "Club" }
[[workload.input.state]]
type = "m.room.aliases"
state_key = "hs1"
content = { aliases = ["#club:hs1"] }

[[workload]]
at = 20
node = "alice"
[workload.input]
op = "create_room"
room = "!pub:hs1"
[[workload.input.state]]
type = "m.room.aliases"
state_key = "hs1"
content = { aliases = ["#pub:hs1"] }

[[workload]]
at = 200
node = "bob"
input = { op = "join", invite = "$hs1.7" }

[[workload]]
at = 200
node = "dave"
input = { op = "reject_invite", invite = "$hs1.8" }

[[workload]]
at = 200
node = "erin"
input = { op = "join", alias = "#pub:hs1" }

[[workload]]
at = 400
node = "alice"
[workload.input]
op = "send_state"
room = "!club:hs1"
event_type = "m.room.topic"
content = { topic = "rules" }

[[workload]]
at = 500
node = "alice"
input = { op = "delete_state", room = "!club:hs1", event_type = "m.room.topic" }

[[workload]]
at = 600
node = "bob"
input = { op = "send", room = "!club:hs1", body = "hello" }

[[workload]]
at = 700
node = "alice"
input = { op = "kick", room = "!club:hs1", user = "@bob:hs2" }

[[workload]]
at = 900
node = "bob"
input = { op = "join", room = "!club:hs1", via = ["hs1"] }

[[workload]]
at = 1000
node = "alice"
input = { op = "ban", room = "!club:hs1", user = "@bob:hs2" }

[[workload]]
at = 1000
node = "erin"
input = { op = "leave", room = "!pub:hs1" }

[properties]
check = ["state_consistency", "no_clobbering", "stream_positions_increase", "bans_stick"]
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    path = tmp_path_factory.mktemp("actions") / "room-actions.toml"
    path.write_text(SCENARIO)
    system = load_scenario(str(path)).system()
    run = TimedRun(system, 1, 5_000_000)
    result = run.run()
    return result, lambda node: run.states[system.index[node]]


def test_the_run_is_quiescent_and_the_properties_hold(world):
    result, _ = world
    assert result.quiescent
    assert set(result.verdicts.values()) == {"holds"}, result.verdicts


def test_create_room_sets_initial_state_and_invites_remote_users(world):
    _, state = world
    store = state("hs1")["rooms"]["stores"][CLUB]
    assert store["events"][store["current"]["m.room.name\x1f"]]["content"] == {"name": "Club"}
    rules = store["events"][store["current"]["m.room.join_rules\x1f"]]
    assert rules["content"]["join_rule"] == "invite"
    assert R.aliases(store) == ["#club:hs1"]
    assert store["events"]["$hs1.7"]["state_key"] == "@bob:hs2"
    assert "$hs1.7" in state("bob")["stream"]["invites"]  # the invite reached bob's device


def test_join_by_invite_event_id_through_the_inviting_server(world):
    _, state = world
    assert state("bob")["requests"]["results"]["0"] is True
    assert "$hs1.7" not in state("hs2")["joining"]["invites"]


def test_reject_invite_by_event_id_deletes_the_member_event(world):
    _, state = world
    assert state("dave")["requests"]["results"]["0"] is True
    for server in ("hs1", "hs2"):
        store = state(server)["rooms"]["stores"][CLUB]
        member = store["events"][store["current"]["m.room.member\x1f@dave:hs2"]]
        assert "content" not in member  # an event lacking content
        assert R.membership(store, "@dave:hs2") == "leave"
    assert "$hs1.8" not in state("hs2")["joining"]["invites"]


def test_join_by_alias_resolved_by_the_alias_server_then_leave(world):
    _, state = world
    assert state("erin")["requests"]["results"] == {"0": True, "1": True}
    for server in ("hs1", "hs2"):
        assert R.membership(state(server)["rooms"]["stores"][PUB], "@erin:hs2") == "leave"


def test_delete_state_is_an_event_lacking_content(world):
    _, state = world
    store = state("hs1")["rooms"]["stores"][CLUB]
    topic = store["events"][store["current"]["m.room.topic\x1f"]]
    assert "content" not in topic and topic["sender"] == "@alice:hs1"


def test_kick_then_a_private_room_refuses_the_rejoin_then_ban(world):
    _, state = world
    bob = state("bob")["requests"]["results"]
    assert bob["1"] is True  # the message, while joined
    assert bob["2"] is False  # rejoining an invite-only room after the kick
    assert state("alice")["requests"]["results"] == {str(i): True for i in range(6)}
    for server in ("hs1", "hs2"):
        assert R.membership(state(server)["rooms"]["stores"][CLUB], "@bob:hs2") == "ban"


def test_a_joined_device_sees_its_server_state_and_the_remote_message(world):
    _, state = world
    hs1 = state("hs1")["rooms"]["stores"][CLUB]
    assert state("alice")["stream"]["view"][CLUB] == hs1["current"]
    hello = [e for e in state("alice")["timeline"]["timeline"][CLUB] if e.startswith("$hs2")]
    assert hello and hs1["events"][hello[0]]["content"] == {"body": "hello"}
