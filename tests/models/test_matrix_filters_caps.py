"""Units of the matrix model's filters ("Filter API") and capability sets
("Capabilities"): wildcards, rooms, negative filters, bad definitions; hashes
of sets and their unions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mxsim.models.capability_sets import capability_hash, union
from mxsim.models.homeserver import filters as F
from mxsim.sim.node import ConfigError

# -- filters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "etype", "hit"),
    [
        ("m.room.*", "m.room.message", True),
        ("m.room.*", "m.room.member", True),
        ("m.room.*", "m.presence", False),
        ("m.*", "m.typing", True),
        ("m.typing", "m.typing", True),
        ("m.typing", "m.typing.extra", False),
        ("*", "anything.at.all", True),
    ],
)
def test_event_type_wildcards(pattern, etype, hit):
    assert F.type_matches(pattern, etype) is hit


def test_filter_selects_rooms_and_types():
    f = F.normalise({"rooms": ["!a"], "types": ["m.room.*"]})
    assert F.matches(f, "m.room.message", "!a")
    assert not F.matches(f, "m.room.message", "!b")
    assert not F.matches(f, "m.presence", "!a")
    assert F.matches(f, "m.room.topic", None)  # not of a room: rooms do not apply


def test_negative_filters_refuse_their_types():
    f = F.normalise({"not_types": ["m.room.member"]})
    assert not F.matches(f, "m.room.member", "!a")
    assert F.matches(f, "m.room.message", "!a")


def test_no_filter_means_all_the_things():
    f = F.normalise(None)
    assert f["limit"] == F.DEFAULT_LIMIT
    assert F.matches(f, "x.custom", "!z")


@pytest.mark.parametrize(
    ("defn", "field"),
    [
        ({"types": "m.room.*"}, "filter.types"),
        ({"limit": -1}, "filter.limit"),
        ({"limit": True}, "filter.limit"),
        ({"colour": ["red"]}, "filter.colour"),
        ("m.room.*", "filter"),
    ],
)
def test_bad_filter_names_the_field(defn, field):
    with pytest.raises(ConfigError) as e:
        F.check(defn)
    assert e.value.field == field


# -- capabilities --------------------------------------------------------------------------


def test_capability_hash_is_of_the_set_not_its_order():
    assert capability_hash(["b", "a"]) == capability_hash(["a", "b"])
    assert capability_hash(["a"]) != capability_hash(["a", "b"])
    assert len(capability_hash(["a"])) == 12


@given(st.lists(st.lists(st.sampled_from("abcde"), max_size=4), max_size=4))
def test_union_is_every_capability_once_sorted(sets):
    u = union(sets)
    assert u == sorted(set(u))
    assert set(u) == {c for s in sets for c in s}
