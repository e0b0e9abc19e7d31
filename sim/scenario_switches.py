"""A scenario's ``[switches]`` and the command line's ``--set NAME=VALUE`` over them."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from typing import Any

from mxsim.sim.model import Model
from mxsim.sim.scenario import ScenarioError
from mxsim.sim.scenario_reader import (
    _key,
    _one_of,
    _quote,
    _Reader,
    _unplain,
)

__all__ = ["parse_overrides"]


_OVERRIDE = re.compile(r"([A-Za-z0-9_.-]+)\s*=(.*)", re.DOTALL)


def parse_overrides(items: Sequence[str]) -> dict[str, str]:
    """Parse ``--set NAME=VALUE`` items into ``{NAME: VALUE}``; a later item wins.

    Values stay text here (that is what a trace records); :func:`from_raw`
    reads each as a TOML value, or as a bare string if it is not one.
    """
    result: dict[str, str] = {}
    for item in items:
        m = _OVERRIDE.fullmatch(item.strip())
        if m is None:
            where = item if item.isprintable() else _quote(item)
            raise ScenarioError("--set", where, "NAME=VALUE", item)
        result[m.group(1)] = m.group(2)
    return result


def _switches(r: _Reader, model: Model, overrides: Mapping[str, str]) -> dict[str, Any]:
    """All of the model's switches: defaults, then the file, then ``--set``."""
    values = {s.name: s.default for s in model.switches}
    known = [s.name for s in model.switches]
    for key, value in r.data.items():
        switch = model.switch(key)
        if switch is None:
            r.fail(key, _one_of(known), key)
        problem = switch.check(value)
        if problem is not None:
            r.fail(key, problem, value)
        values[key] = value
    for key, text in overrides.items():
        where = "--set " + _key(key)
        switch = model.switch(key)
        if switch is None:
            names = ", ".join(known) or "none"
            raise ScenarioError(r.source, where, f"one of the model's switches: {names}", key)
        if not isinstance(text, str):  # only possible when replaying a damaged trace
            raise ScenarioError(r.source, where, "a string", text)
        value = _override_value(text)
        problem = switch.check(value)
        if problem is not None:
            raise ScenarioError(r.source, where, problem, value)
        values[key] = value
    return values


def _override_value(text: str) -> Any:
    """Read ``text`` as a TOML value; fall back to the bare (stripped) string.

    The fallback is what lets ``--set strategy=local`` mean the string
    "local" without shell-unfriendly quotes.
    """
    try:
        parsed = tomllib.loads("v = " + text)
    except (ValueError, RecursionError):  # TOMLDecodeError is a ValueError
        return text.strip()
    # More than one key means the text smuggled in a newline and another
    # assignment; a date or NaN could not go into a trace. Neither is a value.
    if list(parsed) != ["v"] or _unplain(parsed["v"]) is not None:
        return text.strip()
    return parsed["v"]
