"""Reading a scenario's tables: typed fields, plain data, one-line errors.

A :class:`_Reader` is one table of the TOML file with its field path, so that
every problem becomes a :class:`ScenarioError` naming the file, the field,
what was expected and what was found.
"""

from __future__ import annotations

import datetime
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from mxsim.sim.node import ConfigError
from mxsim.sim.scenario import ScenarioError

__all__ = ["canonical_raw"]


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def canonical_raw(raw: Any, source: str = "<raw>") -> dict[str, Any]:
    """Return ``raw`` unchanged after checking that it is plain JSON data.

    Plain means: a table with string keys whose values are strings, integers,
    finite floats, booleans, arrays and tables of the same. That is what a
    trace can embed and read back to the same scenario.
    """
    if not isinstance(raw, dict):
        raise ScenarioError(source, "(top level)", "a table", type(raw).__name__)
    bad = _unplain(raw)
    if bad is not None:
        path, expected, found = bad
        raise ScenarioError(source, path or "(top level)", expected, found)
    return raw


def _unplain(value: Any) -> tuple[str, str, Any] | None:
    """The first part of ``value`` that is not plain JSON data, or None.

    Returns (field path, expected, found). Iterative rather than recursive so
    that deeply nested input cannot blow the stack.
    """
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, v = stack.pop()
        if isinstance(v, dict):
            for k in v:
                if not isinstance(k, str):
                    return path, "string keys", k
            # reversed, so that the first problem in document order is reported
            stack.extend((_join(path, k), item) for k, item in reversed(v.items()))
        elif isinstance(v, list):
            stack.extend((f"{path}[{i}]", item) for i, item in reversed(list(enumerate(v))))
        elif isinstance(v, float):
            if not math.isfinite(v):
                return path, "a finite number", v
        elif isinstance(v, datetime.date | datetime.time):
            # a datetime is a date subclass, so this catches all TOML date/time values
            return path, "a string or number (TOML dates and times are not supported)", v
        elif not isinstance(v, str | int):  # bool is an int subclass
            return path, "a string, number, boolean, array or table", v
    return None


def _node_ref(r: _Reader, key: str, names: tuple[str, ...]) -> str:
    name = r.req(key, _STR)
    if name not in names:
        r.fail(key, "a node name, " + _one_of(names), name)
    return name


def _config_error(r: _Reader, key: str, e: ConfigError) -> ScenarioError:
    """Map a node's ConfigError about table ``key`` to a ScenarioError.

    The node's field and expected text are model code's wording, possibly
    built from user keys: quote or collapse them so the message stays one line.
    """
    inner = e.field if e.field.isprintable() else _quote(e.field)
    where = r.at(key) + (f".{inner}" if inner else "")
    return ScenarioError(r.source, where, _one_line(e.expected), e.found)


# ---------------------------------------------------------------------------
# Reading tables


@dataclass(frozen=True)
class _Type:
    """A JSON type as the messages name it, and its test."""

    name: str
    test: Callable[[Any], bool]


_STR = _Type("a string", lambda v: isinstance(v, str))
_BOOL = _Type("a boolean", lambda v: isinstance(v, bool))
# bool is an int subclass in Python; `true` where a number is expected is a mistake.
_INT = _Type("an integer", lambda v: isinstance(v, int) and not isinstance(v, bool))
_NUMBER = _Type("a number", lambda v: isinstance(v, int | float) and not isinstance(v, bool))
_TABLE = _Type("a table", lambda v: isinstance(v, dict))
_ARRAY = _Type("an array", lambda v: isinstance(v, list))


class _Missing:
    """Marks an absent key; shown as ``found nothing`` in messages."""

    def __repr__(self) -> str:
        return "nothing"


_MISSING: Any = _Missing()


class _Reader:
    """One table of the scenario, with its field path for error messages."""

    def __init__(self, source: str, path: str, data: dict[str, Any]) -> None:
        self.source = source
        self.path = path
        self.data = data

    def at(self, key: str) -> str:
        """The field path of ``key`` in this table."""
        return _join(self.path, key)

    def fail(self, key: str, expected: str, found: Any) -> NoReturn:
        raise ScenarioError(self.source, self.at(key), expected, found)

    def has(self, key: str) -> bool:
        return key in self.data

    def only(self, *allowed: str) -> None:
        """Reject keys not in ``allowed``: most likely a misspelling."""
        for key in self.data:
            if key not in allowed:
                self.fail(key, _one_of(allowed), key)

    def req(self, key: str, type_: _Type) -> Any:
        """The value of required ``key``, which must be of ``type_``."""
        value = self.data.get(key, _MISSING)
        if value is _MISSING or not type_.test(value):
            self.fail(key, type_.name, value)
        return value

    def opt(self, key: str, type_: _Type, default: Any) -> Any:
        """The value of optional ``key``, or ``default`` if absent."""
        return self.req(key, type_) if key in self.data else default

    def table(self, key: str, *, required: bool = False) -> _Reader:
        """Sub-table ``key``; an absent optional one reads as empty."""
        value = self.req(key, _TABLE) if required else self.opt(key, _TABLE, {})
        return _Reader(self.source, self.at(key), value)

    def array(self, key: str, *, required: bool = False) -> list[_Reader]:
        """Array of tables ``key`` (``[[key]]``); required means at least one."""
        expected = "an array of at least one table" if required else "an array of tables"
        value = self.data.get(key, _MISSING)
        if value is _MISSING and not required:
            return []
        if not isinstance(value, list) or (required and not value):
            self.fail(key, expected, value)
        readers = []
        for i, item in enumerate(value):
            path = f"{self.at(key)}[{i}]"
            if not isinstance(item, dict):
                raise ScenarioError(self.source, path, "a table", item)
            readers.append(_Reader(self.source, path, item))
        return readers

    def integer(self, key: str, default: int, *, minimum: int) -> int:
        value = self.opt(key, _INT, default)
        if value < minimum:
            self.fail(key, f"an integer >= {minimum}", value)
        return value

    def fraction(self, key: str, default: float) -> float:
        """A probability in [0, 1): 1 would make a link lose or repeat forever."""
        value = self.opt(key, _NUMBER, default)
        if not 0 <= value < 1:  # also false for NaN
            self.fail(key, "a number in [0, 1)", value)
        return float(value)

    def ms(self, key: str, default: int = _MISSING, *, positive: bool = False) -> int:
        """Milliseconds in the file, integer microseconds out.

        ``default`` is already in microseconds. With ``positive`` the value
        must be at least one microsecond, else it must be >= 0.
        """
        if key not in self.data and default is not _MISSING:
            return default
        value = self.data.get(key, _MISSING)
        us = _scaled(value, 1000)
        if us is None or us < (1 if positive else 0):
            expected = "a number of milliseconds >= " + ("0.001" if positive else "0")
            self.fail(key, expected, value)
        return us


def _scaled(value: Any, factor: int) -> int | None:
    """``round(value * factor)``, or None if ``value`` is not a finite number.

    Used to turn milliseconds into microseconds (factor 1000).
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value * factor  # exact; a float detour could overflow or lose digits
    if isinstance(value, float):
        scaled = value * factor
        return round(scaled) if math.isfinite(scaled) else None
    return None


def _key(key: str) -> str:
    """``key`` as it would be written in TOML: bare if possible, else quoted."""
    return key if _BARE_KEY.fullmatch(key) else _quote(key)


def _quote(text: str) -> str:
    """``text`` as a one-line quoted string; non-ASCII kept when printable."""
    quoted = json.dumps(text, ensure_ascii=False)
    # json leaves e.g. U+2028 (a line separator) and lone surrogates as they are
    return quoted if quoted.isprintable() else json.dumps(text)


def _join(path: str, key: str) -> str:
    return f"{path}.{_key(key)}" if path else _key(key)


def _one_of(names: Any) -> str:
    return "one of: " + (", ".join(str(n) for n in names) or "(none)")


def _one_line(text: str) -> str:
    return " ".join(text.split())
