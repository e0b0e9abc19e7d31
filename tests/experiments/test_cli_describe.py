"""`mxsim models`, `mxsim describe` and `mxsim scenarios --json`: discovering what to run."""

from __future__ import annotations

import json
import tomllib

import pytest

from mxsim.experiments.cli import main
from mxsim.models.registry import MODELS, bundled
from mxsim.sim.parts import Composed
from mxsim.sim.scenario_load import load


def mxsim(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def _raw(name: str) -> dict:
    with bundled()[name].open("rb") as f:
        return tomllib.load(f)


def _uses(scenario, model) -> set[str]:
    """The switches a scenario uses, worked out here from the parts its nodes build."""
    owned = {}
    for kind, cls in model.kinds.items():
        for part in getattr(cls, "parts", ()):
            for s in part.switches:
                owned[s.name] = (kind, part.name)
    built = set()
    for spec in scenario.nodes:
        cls = model.kinds[spec.kind]
        for part in getattr(cls, "parts", ()):
            if part.required or part.name in spec.config:
                built.add((spec.kind, part.name))
    return {s.name for s in model.switches if s.name not in owned or owned[s.name] in built}


def test_models_lists_every_model_with_its_counts_and_scenarios(capsys):
    code, out, _ = mxsim(capsys, "models", "--json")
    assert code == 0
    rows = {r["name"]: r for r in json.loads(out)}
    assert set(rows) == set(MODELS)
    for name, model in MODELS.items():
        r = rows[name]
        assert r["switches"] == len(model.switches)
        assert r["properties"] == len(model.properties)
        assert r["kinds"] == list(model.kinds)
        assert r["scenarios"] == [n for n in bundled() if _raw(n)["scenario"]["model"] == name]
    code, out, _ = mxsim(capsys, "models")
    assert code == 0
    matrix = MODELS["matrix"]
    assert f"{len(matrix.switches)} switches, {len(matrix.properties)} properties" in out
    assert "superseded-state" in out


@pytest.mark.parametrize("name", sorted(bundled()))
def test_describe_lists_every_switch_and_property_of_each_bundled_scenario(capsys, name):
    code, out, _ = mxsim(capsys, "describe", name, "--json")
    assert code == 0
    d = json.loads(out)
    scenario = load(name, MODELS, bundled())
    model = MODELS[scenario.model]
    assert d["model"] == scenario.model and d["description"] == scenario.description
    # Properties: exactly those checked, in order, with the model's kind and meaning.
    assert [p["name"] for p in d["properties"]] == list(scenario.properties)
    for p in d["properties"]:
        prop = model.property(p["name"])
        assert p["kind"] == prop.kind
        assert p["doc"] == " ".join(prop.doc.split()) and p["doc"]
    # Switches: every one the scenario uses or sets, with its effective value.
    sets = _raw(name).get("switches", {})
    listed = {s["name"]: s for s in d["switches"]}
    assert set(listed) == _uses(scenario, model) | set(sets)
    for s_name, s in listed.items():
        switch = model.switch(s_name)
        assert s["value"] == scenario.switches[s_name]
        assert s["default"] == switch.default
        assert s["set_by"] == ("scenario" if s_name in sets else "default")
        assert s["doc"] and s["doc"] == " ".join(switch.doc.split())
    assert [n["name"] for n in d["nodes"]] == [spec.name for spec in scenario.nodes]
    assert d["check"]["max_depth"] == scenario.check.max_depth
    # The text names each of them too.
    code, text, _ = mxsim(capsys, "describe", name)
    assert code == 0
    for s_name, s in listed.items():
        assert f"  {s_name} = {json.dumps(s['value'])}  (" in text
    for p in d["properties"]:
        assert f"  {p['name']} ({p['kind']})" in text


def test_describe_model_gives_values_defaults_kinds_keys_and_ops(capsys):
    code, out, _ = mxsim(capsys, "describe", "matrix", "--json")
    assert code == 0
    d = json.loads(out)
    model = MODELS["matrix"]
    assert [s["name"] for s in d["switches"]] == [s.name for s in model.switches]
    assert [p["name"] for p in d["properties"]] == [p.name for p in model.properties]
    switches = {s["name"]: s for s in d["switches"]}
    assert switches["state_resolution"]["values"] == ["v2", "depth"]
    assert switches["state_resolution"]["part"] == "homeserver.rooms"
    assert switches["omit_superseded_state"]["values"] == [True, False]
    assert switches["omit_superseded_state"]["default"] is True
    assert "superceded" in switches["omit_superseded_state"]["doc"]  # the proposal's spelling
    assert switches["bundle_limit"]["values"] is None
    assert switches["bundle_limit"]["type"] == "integer"
    kinds = {k["kind"]: k for k in d["kinds"]}
    assert set(kinds) == {"homeserver", "device"}
    assert kinds["device"]["keys"] == {"server": "a homeserver node", "user": "a user ID"}
    device_parts = {p["name"]: p for p in kinds["device"]["parts"]}
    assert device_parts["timeline"]["keys"] == {"out_of_order": "a boolean"}
    assert device_parts["timeline"]["required"] is True
    assert device_parts["scrollback"]["required"] is False
    ops = {(o["kind"], o["op"]): o["parts"] for o in d["ops"]}
    assert ops[("device", "hangup")] == ["calls"]
    assert ops[("device", "send")] == ["requests", "echo"]
    assert ops[("homeserver", "as_user")] == ["rooms"]
    every = {
        (kind, op)
        for kind, cls in model.kinds.items()
        if issubclass(cls, Composed)
        for part in cls.parts
        for op in part.ops
    }
    assert set(ops) == every
    code, text, _ = mxsim(capsys, "describe", "matrix")
    assert code == 0
    assert '  state_resolution: "v2" | "depth" (default "v2")  [homeserver.rooms]' in text
    assert "    timeline (always): Message Events Ordering Notes" in text
    assert "        keys: out_of_order (a boolean)" in text
    assert "  device      hangup" in text


def test_describe_scenario_shows_set_overrides_and_bounds(capsys):
    code, out, _ = mxsim(
        capsys, "describe", "superseded-state", "--set", "omit_superseded_state=false", "--json"
    )
    assert code == 0
    d = json.loads(out)
    s = {x["name"]: x for x in d["switches"]}["omit_superseded_state"]
    assert (s["value"], s["set_by"], s["default"]) == (False, "--set", True)
    assert d["check"] == {
        "max_depth": 60,
        "max_states": 400000,
        "max_seconds": 300,
        "drops": 0,
        "duplicates": 0,
        "crashes": 0,
        "timers": "idle",
        "symmetry": [],
    }
    assert [(w["at_ms"], w["node"], w["op"]) for w in d["workload"]] == [
        (300, "alice", "send_state"),
        (300, "bob", "send_state"),
    ]
    nodes = {n["name"]: n["parts"] for n in d["nodes"]}
    assert nodes["hs1"] == ["rooms", "stream", "federation"]
    code, text, _ = mxsim(capsys, "describe", "superseded-state")
    assert "fault budgets: 0 drops, 0 duplicates, 0 crashes" in text
    assert "  hs1    homeserver  parts: rooms, stream, federation" in text


def test_describe_refuses_an_unknown_name_in_one_line(capsys):
    code, out, err = mxsim(capsys, "describe", "nosuch")
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert err.startswith("nosuch: expected a model, a bundled scenario or a TOML file")
    code, _, err = mxsim(capsys, "describe", "matrix", "--set", "a=b")
    assert code == 2 and "--set" in err


def test_scenarios_json_gives_model_node_count_and_properties(capsys):
    code, out, _ = mxsim(capsys, "scenarios", "--json")
    assert code == 0
    rows = {r["name"]: r for r in json.loads(out)}
    assert set(rows) == set(bundled())
    for name, r in rows.items():
        scenario = load(name, MODELS, bundled())
        assert r["model"] == scenario.model
        assert r["nodes"] == len(scenario.nodes)
        assert r["properties"] == list(scenario.properties)
    assert rows["superseded-state"]["nodes"] == 4
