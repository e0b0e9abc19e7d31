"""Regressions found by exploring the rooms (now matrix) model."""

import json
from dataclasses import replace

from mxsim.experiments.jobs import load_scenario
from mxsim.models import room as R
from mxsim.models.homeserver import Homeserver
from mxsim.models.matrix import MODEL

SWITCHES = {s.name: s.default for s in MODEL.switches}
GENESIS = [{"room": "!r:hs1", "creator": "@alice:hs1", "members": ["@bob:hs2"]}]


def test_a_message_that_merges_forks_and_changes_state_is_still_shown():
    # Found by `mxsim check partition-heal --random --walks 2000 --seed 1`: a
    # message whose arrival changed the room's current state (it merged two
    # forks) sent the devices the changed state but never the message, so
    # the devices' timelines disagreed at quiescence.
    hs = Homeserver("hs1", {"rooms": {"genesis": GENESIS}}, SWITCHES)
    state = hs.initial_state()
    hs.on_start(None, state)
    store = state["rooms"]["stores"]["!r:hs1"]
    stream = hs.part("stream")
    stream.register(state, "alice", "@alice:hs1", True)
    state["stream"].pop("outbox", None)
    last = store["extremities"][0]
    message = {
        "event_id": "$m",
        "room_id": "!r:hs1",
        "type": "m.room.message",
        "sender": "@bob:hs2",
        "content": {"body": "merged"},
        "prev_events": [last],
        "auth_events": [],
        "depth": store["events"][last]["depth"] + 1,
    }
    store["events"]["$m"] = message
    topic_key = "m.room.join_rules" + R.SEP
    stream.stream_to(state, store, "alice", message, [topic_key])
    shown = [e["event"]["event_id"] for e in state["stream"]["outbox"]["alice"]]
    assert "$m" in shown


def test_events_once_fails_when_a_device_is_handed_an_event_twice():
    system = load_scenario("scrollback").system()
    world, _ = system.initial()
    prop = next(p for p in MODEL.properties if p.name == "events_once")
    assert prop.predicate(system.view(world))
    i = next(i for i, n in enumerate(system.nodes) if n.kind == "device")
    state = json.loads(world.states[i])
    state["timeline"]["duplicates"] = 1
    states = world.states[:i] + (json.dumps(state),) + world.states[i + 1 :]
    assert not prop.predicate(system.view(replace(world, states=states)))
