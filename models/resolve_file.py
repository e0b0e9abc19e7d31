"""Load and check a JSON file of room events (for ``mxsim resolve``).

The file holds one JSON list of events. Each event is an object with

- ``event_id``, ``room_id``, ``type``, ``sender``: strings;
- ``state_key``: a string, on state events only;
- ``content``: an object; a state event may lack it (a deletion);
- ``prev_events``, ``auth_events``: lists of IDs of events in the file;
- ``origin_server_ts``: an integer;
- ``depth``: an integer, optional (computed from ``prev_events`` if absent:
  1 without prev events, else one more than the deepest prev event).

Other fields (``hashes``, ``signatures``, ``redacts``, ...) are kept. All
events must be in one room, IDs must be unique, no value may be a float, and
``prev_events`` and ``auth_events`` together must not form a cycle.

Any problem raises :class:`InputError`, whose ``str()`` is the one line
``FILE: FIELD: expected ..., found ...`` shown to the user.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from mxsim.models.events import Event

__all__ = ["InputError", "load_events", "parse_events", "check_extremities"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MAX_SHOWN = 80


class InputError(Exception):
    """Bad input; ``str()`` is ``FILE: FIELD: expected EXPECTED, found FOUND``."""

    def __init__(self, source: str, field: str, expected: str, found: str) -> None:
        super().__init__(f"{source}: {field}: expected {expected}, found {found}")
        self.source = source
        self.field = field
        self.expected = expected
        self.found = found


def describe(value: Any) -> str:
    """How a JSON value is shown after "found".

    >>> describe("$x"), describe({}), describe(1.5), describe(None)
    ("'$x'", 'an object', '1.5', 'null')
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    shown = repr(value)
    if len(shown) > _MAX_SHOWN:
        shown = shown[: _MAX_SHOWN - 3] + "..."
    return shown


def _key(path: str, key: str) -> str:
    return f"{path}.{key}" if _NAME.match(key) else f"{path}[{json.dumps(key)}]"


class _Checker:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, field: str, expected: str, found: str) -> InputError:
        return InputError(self.source, field, expected, found)

    def no_floats(self, value: Any, path: str) -> None:
        stack: list[tuple[Any, str]] = [(value, path)]
        while stack:
            v, p = stack.pop()
            if isinstance(v, float):
                raise self.fail(p, "an integer (no floating-point numbers)", describe(v))
            if isinstance(v, dict):
                stack.extend((v[k], _key(p, k)) for k in reversed(list(v)))
            elif isinstance(v, list):
                stack.extend((x, f"{p}[{i}]") for i, x in reversed(list(enumerate(v))))

    def string(self, ev: dict[str, Any], name: str, path: str) -> str:
        if name not in ev:
            raise self.fail(_key(path, name), "a string", "nothing")
        value = ev[name]
        if not isinstance(value, str):
            raise self.fail(_key(path, name), "a string", describe(value))
        return value

    def integer(self, ev: dict[str, Any], name: str, path: str, required: bool) -> None:
        if name not in ev:
            if required:
                raise self.fail(_key(path, name), "an integer", "nothing")
            return
        value = ev[name]
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(_key(path, name), "an integer", describe(value))

    def id_list(self, ev: dict[str, Any], name: str, path: str) -> list[str]:
        field = _key(path, name)
        if name not in ev:
            raise self.fail(field, "a list of event IDs", "nothing")
        value = ev[name]
        if not isinstance(value, list):
            raise self.fail(field, "a list of event IDs", describe(value))
        for i, item in enumerate(value):
            if not isinstance(item, str):
                raise self.fail(f"{field}[{i}]", "an event ID (a string)", describe(item))
        return value


def parse_events(text: str, source: str) -> list[Event]:
    """Parse and check the text of an events file (see the module docstring).

    ``source`` names the file in error messages. Events without ``depth``
    get one computed; the events are otherwise returned as read.

    Raises
    ------
    InputError
        On the first problem found, in file order.
    """
    check = _Checker(source)

    def no_constants(name: str) -> Any:
        raise check.fail("(document)", "standard JSON numbers", name)

    try:
        data = json.loads(text, parse_constant=no_constants)
    except json.JSONDecodeError as err:
        raise check.fail(
            "(document)",
            "JSON",
            f"{err.msg} at line {err.lineno} column {err.colno}",
        ) from None
    except RecursionError:
        raise check.fail("(document)", "JSON nested less deeply", "deeper nesting") from None
    except ValueError as err:  # e.g. an integer with too many digits
        raise check.fail("(document)", "JSON", str(err).split(";")[0]) from None
    if not isinstance(data, list):
        raise check.fail("(document)", "a list of events", describe(data))

    first_seen: dict[str, int] = {}
    room_id: str | None = None
    for i, ev in enumerate(data):
        path = f"[{i}]"
        if not isinstance(ev, dict):
            raise check.fail(path, "an event (an object)", describe(ev))
        eid = check.string(ev, "event_id", path)
        if eid in first_seen:
            raise check.fail(
                f"{path}.event_id",
                f"an event_id not used by an earlier event (it is [{first_seen[eid]}]'s)",
                describe(eid),
            )
        first_seen[eid] = i
        rid = check.string(ev, "room_id", path)
        if room_id is None:
            room_id = rid
        elif rid != room_id:
            raise check.fail(
                f"{path}.room_id", f"{describe(room_id)}, the room of [0]", describe(rid)
            )
        check.string(ev, "type", path)
        check.string(ev, "sender", path)
        state = "state_key" in ev
        if state:
            check.string(ev, "state_key", path)
        if "content" in ev:
            if not isinstance(ev["content"], dict):
                raise check.fail(f"{path}.content", "an object", describe(ev["content"]))
        elif not state:
            raise check.fail(
                f"{path}.content", "an object (only a state event may lack content)", "nothing"
            )
        check.id_list(ev, "prev_events", path)
        check.id_list(ev, "auth_events", path)
        check.integer(ev, "origin_server_ts", path, required=True)
        check.integer(ev, "depth", path, required=False)
        check.no_floats(ev, path)

    for i, ev in enumerate(data):
        for name in ("prev_events", "auth_events"):
            for j, ref in enumerate(ev[name]):
                if ref not in first_seen:
                    raise check.fail(
                        f"[{i}].{name}[{j}]", "an event_id present in the file", describe(ref)
                    )

    _check_acyclic(data, first_seen, check)
    _fill_depths(data, first_seen)
    return data


def _check_acyclic(events: list[Event], index: dict[str, int], check: _Checker) -> None:
    # Iterative three-colour DFS over prev_events then auth_events, in file order.
    colour = [0] * len(events)  # 0 new, 1 on the current path, 2 done
    for root in range(len(events)):
        if colour[root]:
            continue
        colour[root] = 1
        path = [root]
        stack: list[Iterable[tuple[str, int, str]]] = [iter(_edges(events[root]))]
        while stack:
            step = next(stack[-1], None)
            if step is None:
                colour[path.pop()] = 2
                stack.pop()
                continue
            name, j, ref = step
            k = index[ref]
            if colour[k] == 1:
                cycle = [events[n]["event_id"] for n in path[path.index(k) :]] + [ref]
                raise check.fail(
                    f"[{path[-1]}].{name}[{j}]",
                    "no cycle through prev_events and auth_events",
                    "the cycle " + " -> ".join(cycle),
                )
            if colour[k] == 0:
                colour[k] = 1
                path.append(k)
                stack.append(iter(_edges(events[k])))


def _edges(ev: Event) -> list[tuple[str, int, str]]:
    out = [("prev_events", j, ref) for j, ref in enumerate(ev["prev_events"])]
    out += [("auth_events", j, ref) for j, ref in enumerate(ev["auth_events"])]
    return out


def _fill_depths(events: list[Event], index: dict[str, int]) -> None:
    # The graph is acyclic here; compute missing depths bottom-up.
    for root in range(len(events)):
        if "depth" in events[root]:
            continue
        stack = [root]
        while stack:
            n = stack[-1]
            if "depth" in events[n]:
                stack.pop()
                continue
            prevs = [index[p] for p in events[n]["prev_events"]]
            todo = [p for p in prevs if "depth" not in events[p]]
            if todo:
                stack.extend(todo)
                continue
            events[n]["depth"] = 1 + max((events[p]["depth"] for p in prevs), default=0)
            stack.pop()


def load_events(path: str) -> list[Event]:
    """Read and check an events file; errors name ``path`` as given.

    Raises
    ------
    InputError
        If the file cannot be read or holds bad events.
    """
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except IsADirectoryError:
        raise InputError(path, "(file)", "a JSON file", "a directory") from None
    except FileNotFoundError:
        raise InputError(path, "(file)", "a JSON file", "no such file") from None
    except UnicodeDecodeError as err:
        raise InputError(path, "(file)", "UTF-8 text", f"byte {err.start} undecodable") from None
    except OSError as err:
        raise InputError(path, "(file)", "a readable file", err.strerror or str(err)) from None
    return parse_events(text, path)


def check_extremities(ids: Sequence[str], events: Iterable[Event], source: str) -> list[str]:
    """Check that every ``--at`` ID names an event in the file.

    Raises
    ------
    InputError
        ``FILE: --at: expected an event_id present in the file, found '$x'``.
    """
    known = {ev["event_id"] for ev in events}
    for eid in ids:
        if eid not in known:
            raise InputError(source, "--at", "an event_id present in the file", describe(eid))
    return list(ids)
