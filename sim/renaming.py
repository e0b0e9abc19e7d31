"""Renaming nodes: the map that symmetry reduction quotients a state space by.

A scenario may declare groups of interchangeable nodes (``[check] symmetry``).
Swapping two of them is a renaming of *tokens*: a maximal run of word
characters (``[A-Za-z0-9_]``) equal to a member's name is replaced by the
other member's name, wherever it occurs in a string: a whole string
(``"bob1"``), a dict key, or a piece of one (``"$bob1.3"``,
``"sdp-answer-bob1"``). Integers, booleans and other tokens are untouched. A
member's name must itself be one token (a letter or ``_`` first), so a
renaming maps token boundaries to token boundaries and is a bijection on
strings: renaming by ``p`` and then by ``p``'s inverse gives the string back.

Why this is sound is a claim about the model, not about this module: node
code treats node names as opaque (it compares them for equality, keys dicts
by them, builds strings from them with non-word separators) and never lets
their *order* or spelling decide what happens. Then renaming a world and an
action commutes with the step function, and the properties cannot tell a
world from its renamed copies. :func:`interchangeable` checks what can be
checked statically (the scenario itself maps to itself);
``tests/sim/test_symmetry.py`` checks the commutation on every reachable
world of the bundled scenarios that declare symmetry.

>>> rename({"bob1": ["$bob1.3", "bob10", 7]}, {"bob1": "bob2", "bob2": "bob1"})
{'bob2': ['$bob2.3', 'bob10', 7]}
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["TOKEN", "rename", "rename_string", "interchangeable"]

#: What a member of a symmetry group may be called: a single token.
TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WORD = re.compile(r"[A-Za-z0-9_]+")


def rename_string(text: str, mapping: Mapping[str, str]) -> str:
    """``text`` with every token that is a key of ``mapping`` replaced.

    >>> rename_string("sdp-answer-bob1", {"bob1": "bob3"})
    'sdp-answer-bob3'
    """
    if not any(name in text for name in mapping):
        return text  # the common case, and cheap: names are ASCII, never escaped
    return _WORD.sub(lambda m: mapping.get(m.group(), m.group()), text)


def rename(value: Any, mapping: Mapping[str, str]) -> Any:
    """A copy of the JSON value ``value`` with its strings and keys renamed."""
    if isinstance(value, str):
        return rename_string(value, mapping)
    if isinstance(value, dict):
        return {rename_string(k, mapping): rename(v, mapping) for k, v in value.items()}
    if isinstance(value, list):
        return [rename(v, mapping) for v in value]
    return value


def interchangeable(
    group: Sequence[str],
    nodes: Sequence[tuple[str, str, dict[str, Any]]],
    workload: Sequence[tuple[str, dict[str, Any]]],
) -> str | None:
    """None if the scenario maps to itself under every permutation of ``group``.

    ``nodes`` are (name, kind, config), ``workload`` the inputs in order as
    (node, data). Transpositions of the first member with each other one
    generate every permutation, so checking those suffices. Otherwise the
    answer is what failed, for the error message.

    >>> nodes = [("hs", "s", {"devices": {"a": 1, "b": 1}}), ("a", "d", {}), ("b", "d", {})]
    >>> interchangeable(["a", "b"], nodes, []) is None
    True
    >>> interchangeable(["a", "hs"], nodes, [])
    'a and hs are of different kinds'
    """
    by_name = {name: (kind, config) for name, kind, config in nodes}
    first = group[0]
    for other in group[1:]:
        if by_name[first][0] != by_name[other][0]:
            return f"{first} and {other} are of different kinds"
        swap = {first: other, other: first}
        for name, _kind, config in nodes:
            image = swap.get(name, name)
            if rename(config, swap) != by_name[image][1]:
                return f"swapping {first} and {other} changes the config of {image}"
        for k, (node, data) in enumerate(workload):
            if (swap.get(node, node), rename(data, swap)) != workload[k]:
                return f"swapping {first} and {other} changes workload input {k}"
    return None
