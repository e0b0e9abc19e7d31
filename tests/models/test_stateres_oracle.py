"""Our auth rules and state resolution v2 against Synapse's.

A seeded generator grows random rooms over two or three servers: a creator
sets up power levels and join rules, users on every server join, invite,
leave, kick, ban and unban, change power levels, join rules, topics and
names, and send messages. Each server builds on its own forward extremities
and only now and then learns what another server has, so the graph forks
and merges and the servers' states conflict.

Every event a server *tries* to send is checked by our ``check_auth`` and by
Synapse's ``check_state_dependent_auth_rules`` against the same auth state;
the verdicts must agree. Only accepted events join the graph. Then every
merge in the graph (an event with several prev events), every server's
forward extremities and the union of all of them are resolved by our v2
and by Synapse's ``resolve_events_with_store``; the results must be equal.
The counts guard against vacuous passes: enough resolutions must have
conflicts, and enough must need the auth rules (v2 and the depth rule
disagree).

The generator is importable without Synapse (``test_stateres.py`` uses it
for its hash-seed test). Without Synapse the comparisons *fail*: a skipped
oracle would let CI pass with no oracle at all. A developer without the
``oracle`` extra may set ``MXSIM_WITHOUT_ORACLE=1`` to skip them instead;
that is refused (still a failure) where ``CI`` is set, as CI services do.
"""

from __future__ import annotations

import copy
import os
import random
import warnings
from collections.abc import Mapping
from typing import Any

import pytest
from authed import authed_event

from mxsim.models.auth import auth_allows
from mxsim.models.auth_events import auth_types_for_event
from mxsim.models.events import (
    CREATE,
    JOIN_RULES,
    MEMBER,
    MESSAGE,
    NAME,
    POWER_LEVELS,
    POWER_LEVELS_KEY,
    TOPIC,
    Event,
    StateKey,
    content_of,
    membership_of,
)
from mxsim.models.stateres import StateCalculator, resolve
from mxsim.models.stateres_v2 import separate

SERVERS = ("a.test", "b.test", "c.test")
ROOM = "!room:a.test"
N_GRAPHS = 300


class Room:
    """One random room, grown by :func:`generate_room`."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        n_servers = self.rng.choice((2, 3, 3))
        self.servers = SERVERS[:n_servers]
        n_users = self.rng.randint(n_servers + 1, 6)
        # The creator is on the first server; every server has a user.
        self.users = ["@u0:a.test"] + [
            f"@u{i}:{self.servers[i % n_servers]}" for i in range(1, n_users)
        ]
        self.events: dict[str, Event] = {}
        self.calc = StateCalculator(self.events)
        self.known: dict[str, set[str]] = {s: set() for s in self.servers}
        self.extremities: dict[str, list[str]] = {s: [] for s in self.servers}
        self.ts = 1000
        #: Every attempted event: (event, auth state it was checked against, our verdict).
        self.attempts: list[tuple[Event, dict[StateKey, Event], bool]] = []
        self.counter = 0

    # -- building events ------------------------------------------------------

    def state(self, server: str) -> dict[StateKey, str]:
        return self.calc.state_at(self.extremities[server])

    def attempt(
        self,
        server: str,
        etype: str,
        sender: str,
        content: dict[str, Any],
        state_key: str | None = None,
    ) -> Event | None:
        """Build an event on ``server``'s extremities; keep it if auth allows."""
        prev = list(self.extremities[server])
        before = self.calc.state_at(prev)
        self.counter += 1
        self.ts += self.rng.randrange(3)  # equal timestamps happen: ties matter
        eid = f"${self.counter:04d}{self.rng.randrange(16**4):04x}:{server}"
        ev = authed_event(
            ROOM, etype, sender, content, state_key, prev, before, self.events, self.ts, eid
        )
        auth_state = {k: self.events[before[k]] for k in auth_types_for_event(ev) if k in before}
        ok = auth_allows(ev, auth_state)
        self.attempts.append((ev, auth_state, ok))
        if not ok:
            return None
        self.events[ev["event_id"]] = ev
        assert not self.calc.is_rejected(ev["event_id"]), self.calc.rejection(ev["event_id"])
        self.known[server].add(ev["event_id"])
        self.extremities[server] = sorted(
            [x for x in self.extremities[server] if x not in prev] + [ev["event_id"]]
        )
        return ev

    def sync(self, src: str, dst: str) -> None:
        """``dst`` learns every event ``src`` knows."""
        self.known[dst] |= self.known[src]
        referenced: set[str] = set()
        for eid in self.known[dst]:
            referenced.update(self.events[eid]["prev_events"])
        self.extremities[dst] = sorted(self.known[dst] - referenced)

    # -- the workload ---------------------------------------------------------

    def setup(self) -> None:
        creator = self.users[0]
        a = self.servers[0]
        self.attempt(a, CREATE, creator, {"creator": creator}, "")
        self.attempt(a, MEMBER, creator, {"membership": "join"}, creator)
        users = {creator: 100}
        for u in self.users[1:]:
            if self.rng.random() < 0.4:
                users[u] = self.rng.choice((50, 50, 75, 100))
        levels: dict[str, Any] = {"users": users}
        for name in ("ban", "kick", "invite", "state_default", "redact"):
            if self.rng.random() < 0.5:
                levels[name] = self.rng.choice((0, 50, 50, 100))
        self.attempt(a, POWER_LEVELS, creator, levels, "")
        rule = "public" if self.rng.random() < 0.7 else "invite"
        self.attempt(a, JOIN_RULES, creator, {"join_rule": rule}, "")
        for u in self.users[1:]:
            if rule == "invite":
                self.attempt(a, MEMBER, creator, {"membership": "invite"}, u)
            if self.rng.random() < 0.85:
                self.attempt(a, MEMBER, u, {"membership": "join"}, u)
        for s in self.servers[1:]:
            self.sync(a, s)

    def step(self) -> None:
        rng = self.rng
        if rng.random() < 0.22:
            src, dst = rng.sample(self.servers, 2)
            self.sync(src, dst)
            return
        server = rng.choice(self.servers)
        state = self.state(server)
        local = [u for u in self.users if u.endswith(":" + server)]

        def membership(u: str) -> str | None:
            eid = state.get((MEMBER, u))
            return membership_of(self.events[eid]) if eid else None

        joined = [u for u in local if membership(u) == "join"]
        sender = rng.choice(joined) if joined and rng.random() < 0.85 else rng.choice(local)
        target = rng.choice(self.users)
        action = rng.choices(
            (
                "message",
                "topic",
                "name",
                "join",
                "leave",
                "invite",
                "kick",
                "ban",
                "unban",
                "power",
                "join_rules",
            ),
            weights=(6, 6, 3, 5, 3, 3, 3, 4, 2, 7, 2),
        )[0]
        n = self.counter
        if action == "message":
            self.attempt(server, MESSAGE, sender, {"body": f"m{n}", "msgtype": "m.text"})
        elif action == "topic":
            self.attempt(server, TOPIC, sender, {"topic": f"t{n}"}, "")
        elif action == "name":
            self.attempt(server, NAME, sender, {"name": f"n{n}"}, "")
        elif action == "join":
            self.attempt(server, MEMBER, sender, {"membership": "join"}, sender)
        elif action == "leave":
            self.attempt(server, MEMBER, sender, {"membership": "leave"}, sender)
        elif action == "invite":
            self.attempt(server, MEMBER, sender, {"membership": "invite"}, target)
        elif action in ("kick", "unban"):
            self.attempt(server, MEMBER, sender, {"membership": "leave"}, target)
        elif action == "ban":
            self.attempt(server, MEMBER, sender, {"membership": "ban"}, target)
        elif action == "join_rules":
            rule = rng.choice(("public", "invite"))
            self.attempt(server, JOIN_RULES, sender, {"join_rule": rule}, "")
        else:
            pl_id = state.get(POWER_LEVELS_KEY)
            levels = copy.deepcopy(dict(content_of(self.events[pl_id]))) if pl_id else {}
            for _ in range(rng.choice((1, 1, 2))):
                self.mutate_levels(levels, target)
            self.attempt(server, POWER_LEVELS, sender, levels, "")

    def mutate_levels(self, levels: dict[str, Any], target: str) -> None:
        rng = self.rng
        what = rng.random()
        if what < 0.55:
            users = levels.setdefault("users", {})
            if target in users and rng.random() < 0.25:
                del users[target]
            else:
                users[target] = rng.choice((0, 25, 50, 75, 100))
        elif what < 0.85:
            name = rng.choice(("ban", "kick", "invite", "state_default", "events_default"))
            levels[name] = rng.choice((0, 25, 50, 75, 100))
        else:
            events = levels.setdefault("events", {})
            events[rng.choice((TOPIC, NAME, POWER_LEVELS))] = rng.choice((0, 50, 100))

    # -- what to resolve ------------------------------------------------------

    def resolution_inputs(self) -> list[list[dict[StateKey, str]]]:
        """State sets to resolve: every merge, every server's tips, all tips, and
        the states after a few random pairs and triples of events."""
        inputs: list[list[dict[StateKey, str]]] = []
        for eid in sorted(self.events):
            prev = self.events[eid]["prev_events"]
            if len(prev) > 1:
                inputs.append([self.calc.state_after(p) for p in prev])
        tips: set[str] = set()
        for s in self.servers:
            tips.update(self.extremities[s])
            if len(self.extremities[s]) > 1:
                inputs.append([self.calc.state_after(x) for x in self.extremities[s]])
        if len(tips) > 1:
            inputs.append([self.calc.state_after(x) for x in sorted(tips)])
        # A few arbitrary points of the graph too (ancestors, far-apart forks).
        ids = sorted(self.events)
        for _ in range(3):
            pick = self.rng.sample(ids, min(len(ids), self.rng.choice((2, 3))))
            inputs.append([self.calc.state_after(x) for x in pick])
        return inputs


def generate_room(seed: int) -> Room:
    """A random room with forks and merges, reproducible from ``seed``."""
    room = Room(seed)
    room.setup()
    for _ in range(room.rng.randint(15, 40)):
        room.step()
    return room


# -- Synapse ------------------------------------------------------------------


class _Clock:
    async def sleep(self, duration: Any) -> None:
        return None


def _drive(coro: Any) -> Any:
    """Run a coroutine that never really waits (our store answers at once)."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise RuntimeError("Synapse's resolver waited on something")


class _Synapse:
    """Synapse's auth and v2 resolver over one room's events."""

    def __init__(self, syn: Any) -> None:
        self.syn = syn
        self.cache: dict[str, Any] = {}

    def event(self, ev: Mapping[str, Any]) -> Any:
        eid = ev["event_id"]
        if eid not in self.cache:
            d: dict[str, Any] = {
                k: copy.deepcopy(ev[k])
                for k in ("event_id", "room_id", "type", "sender", "content", "depth")
            }
            d["origin_server_ts"] = ev["origin_server_ts"]
            if "state_key" in ev:
                d["state_key"] = ev["state_key"]
            d["prev_events"] = [[p, {}] for p in ev["prev_events"]]
            d["auth_events"] = [[a, {}] for a in ev["auth_events"]]
            d["hashes"] = {}
            d["signatures"] = {}
            self.cache[eid] = self.syn.make_event_from_dict(d, self.syn.RoomVersions.V2)
        return self.cache[eid]

    def allows(self, ev: Event, auth_state: Mapping[StateKey, Event]) -> bool:
        try:
            self.syn.check_state_dependent_auth_rules(
                self.event(ev), [self.event(a) for a in auth_state.values()]
            )
        except self.syn.SynapseError:
            return False
        return True

    def resolve(self, state_sets: list[dict[StateKey, str]], events: Mapping[str, Event]):
        syn_events = {eid: self.event(ev) for eid, ev in events.items()}
        store = _Store(syn_events, self.syn.StateDifference)
        result = _drive(
            self.syn.resolve_events_with_store(
                _Clock(), ROOM, self.syn.RoomVersions.V2, state_sets, dict(syn_events), store
            )
        )
        return dict(result)


class _Store:
    def __init__(self, events: dict[str, Any], state_difference: Any) -> None:
        self.events = events
        self.state_difference = state_difference

    async def get_events(self, event_ids: Any, allow_rejected: bool = False) -> dict[str, Any]:
        return {e: self.events[e] for e in event_ids if e in self.events}

    async def get_auth_chain_difference(
        self, room_id: str, state_sets: Any, conflicted_state: Any, additional: Any
    ) -> Any:
        chains = []
        for ids in state_sets:
            seen: set[str] = set()
            todo = list(ids)
            while todo:
                eid = todo.pop()
                if eid in seen:
                    continue
                seen.add(eid)
                todo.extend(self.events[eid].auth_event_ids())
            chains.append(seen)
        union = set().union(*chains) if chains else set()
        common = set(chains[0]).intersection(*chains[1:]) if chains else set()
        return self.state_difference(auth_difference=union - common, conflicted_subgraph=None)


OPT_OUT = "MXSIM_WITHOUT_ORACLE"


def _require_synapse() -> None:
    """Import Synapse or fail; skip only on a developer's explicit opt-out."""
    try:
        import synapse  # noqa: F401
    except ImportError as e:
        why = (
            f"matrix-synapse is not importable ({e}); install the extra: pip install -e '.[oracle]'"
        )
        if os.environ.get(OPT_OUT) == "1" and not os.environ.get("CI"):
            pytest.skip(f"{why} ({OPT_OUT}=1)")
        if os.environ.get(OPT_OUT) == "1":
            why += f"; {OPT_OUT} is ignored where CI is set"
        pytest.fail(why, pytrace=False)


@pytest.fixture(scope="module")
def synapse() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # twisted, jsonschema
        _require_synapse()
        # Import order matters (NOTES.md): events and event_auth before state.v2.
        import synapse.event_auth as event_auth
        import synapse.events as events
        from synapse.api.errors import SynapseError
        from synapse.api.room_versions import RoomVersions
        from synapse.state.v2 import resolve_events_with_store
        from synapse.storage.databases.main.event_federation import StateDifference

    class Syn:
        pass

    syn = Syn()
    syn.make_event_from_dict = events.make_event_from_dict
    syn.check_state_dependent_auth_rules = event_auth.check_state_dependent_auth_rules
    syn.SynapseError = SynapseError
    syn.RoomVersions = RoomVersions
    syn.resolve_events_with_store = resolve_events_with_store
    syn.StateDifference = StateDifference
    return syn


@pytest.mark.oracle
def test_auth_and_v2_match_synapse(synapse: Any) -> None:
    attempts = allowed = 0
    resolutions = conflicted = auth_relevant = power_conflicts = 0
    graphs_with_conflict = 0
    for seed in range(N_GRAPHS):
        room = generate_room(seed)
        oracle = _Synapse(synapse)
        for ev, auth_state, ours in room.attempts:
            theirs = oracle.allows(ev, auth_state)
            assert ours == theirs, (seed, ev, sorted(auth_state))
            attempts += 1
            allowed += ours
        had_conflict = False
        for state_sets in room.resolution_inputs():
            ours_state = resolve("v2", state_sets, room.events)
            theirs_state = oracle.resolve(state_sets, room.events)
            assert ours_state == theirs_state, (seed, state_sets)
            resolutions += 1
            _, conflicts = separate(state_sets)
            if conflicts:
                conflicted += 1
                had_conflict = True
                if any(k == POWER_LEVELS_KEY or k[0] in (MEMBER, JOIN_RULES) for k in conflicts):
                    power_conflicts += 1
                if ours_state != resolve("depth", state_sets, room.events):
                    auth_relevant += 1
        graphs_with_conflict += had_conflict
    print(
        f"\n{N_GRAPHS} graphs, {attempts} auth checks ({allowed} allowed), "
        f"{resolutions} resolutions, {conflicted} with conflicts "
        f"({power_conflicts} on power/membership/join-rule keys, {auth_relevant} where v2 "
        f"and the depth rule differ); {graphs_with_conflict} graphs had a conflict"
    )
    # "sometimes" guards: the generator must keep producing real races.
    assert allowed >= attempts // 4 and attempts - allowed >= attempts // 10
    assert graphs_with_conflict >= N_GRAPHS // 2
    assert conflicted >= resolutions // 3
    assert power_conflicts >= conflicted // 4
    assert auth_relevant >= N_GRAPHS // 10
