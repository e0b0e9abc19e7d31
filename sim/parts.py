"""Parts: a node composed of one part per section of a protocol.

A :class:`Part` owns a slice of its node's state (``state[part.name]``), the
message types it handles, its timers (named ``"<part>:..."``), the workload
ops it takes, its config table and the state keys that survive a crash. A
:class:`Composed` node owns an ordered tuple of part classes; a scenario
uses a part by giving it a config table (``config = { <part> = {...} }``),
and required parts are always used. A part that is not used is not built
and adds nothing to the node's state, so a small scenario keeps a small
state space.

Parts of one node call each other directly (``node.part("stream")``); only
messages cross the network. Handlers stay pure functions of (state, input)
and emit effects through the :class:`~mxsim.sim.node.Context`. Nothing here
knows any protocol.

>>> class Counter(Part):
...     name = "counter"
...     handles = ("tick",)
...     def initial(self):
...         return {"n": 0}
...     def on_tick(self, ctx, state, src, msg):
...         self.of(state)["n"] += 1
>>> class Echo(Part):
...     name = "echo"
...     handles = ("ping",)
>>> class Thing(Composed):
...     kind = "thing"
...     parts = (Counter, Echo)
>>> t = Thing("t", {"counter": {}}, {})
>>> state = t.initial_state()
>>> state
{'counter': {'n': 0}}
>>> t.on_message(None, state, "x", {"type": "tick"})
>>> state
{'counter': {'n': 1}}
>>> t.has("echo")
False
"""

from __future__ import annotations

from typing import Any, ClassVar

from mxsim.sim.node import WORKLOAD, ConfigError, Context, Node

__all__ = ["Part", "Composed", "check_bool", "check_positive", "check_count"]

State = dict[str, Any]


class Part:
    """One section of a protocol inside a :class:`Composed` node.

    Class attributes: ``name`` (its state slice, config table and timer
    prefix), ``section`` (the specification section it models),
    ``required`` (used by every node of its kind), ``handles`` (message
    types), ``ops`` (workload ``op`` values it takes), ``durable`` (keys of
    its slice that survive a crash), ``keys`` (its config keys and what each
    must be, for the error message).
    """

    name: ClassVar[str] = "part"
    section: ClassVar[str] = ""
    #: The design switches and properties this part brings (``mxsim.sim.model``
    #: records); a model lists those of its kinds' parts (:meth:`Composed.switches_of`).
    switches: ClassVar[tuple[Any, ...]] = ()
    properties: ClassVar[tuple[Any, ...]] = ()
    required: ClassVar[bool] = False
    handles: ClassVar[tuple[str, ...]] = ()
    ops: ClassVar[tuple[str, ...]] = ()
    durable: ClassVar[tuple[str, ...]] = ()
    keys: ClassVar[dict[str, str]] = {}
    #: Parts of the same node this one calls (a node using it must use them).
    needs: ClassVar[tuple[str, ...]] = ()

    def __init__(self, node: Composed, config: dict[str, Any]) -> None:
        self.node = node
        self.config = config

    # -- checking -----------------------------------------------------------

    @classmethod
    def check_config(
        cls, config: dict[str, Any], node_config: dict[str, Any], node_names: tuple[str, ...]
    ) -> None:
        """Raise :class:`ConfigError` (``field`` inside this part's table) if unusable.

        The default accepts exactly the keys of :attr:`keys`; a part with
        typed keys checks them in an override and calls this first.
        """
        for key in config:
            if key not in cls.keys:
                expected = "one of: " + ", ".join(cls.keys) if cls.keys else "no keys"
                raise ConfigError(key, expected, key)

    @classmethod
    def check_input(cls, data: dict[str, Any]) -> None:
        """Raise :class:`ConfigError` if a workload input for one of :attr:`ops` is unusable."""

    # -- state and handlers --------------------------------------------------

    def bind(self) -> None:
        """Called once all of the node's parts are built: a part may keep the
        parts it calls (``self.rooms = self.node.part("rooms")``) here."""

    def of(self, state: State) -> Any:
        """This part's slice of the node's ``state``."""
        return state[self.name]

    def initial(self) -> Any:
        """This part's slice of a fresh node state."""
        return {}

    def on_start(self, ctx: Context, state: State) -> None:
        """Called when the node starts (and restarts), in part order."""

    def on_message(self, ctx: Context, state: State, src: str, msg: dict[str, Any]) -> None:
        """Called for each delivered message of a type in :attr:`handles`.

        The default calls the method named after the type, ``on_<type>`` with
        dots as underscores (``fed.ack`` -> ``on_fed_ack``), so a part with
        several messages needs no chain of ``if`` branches.
        """
        getattr(self, "on_" + msg["type"].replace(".", "_"))(ctx, state, src, msg)

    def on_input(self, ctx: Context, state: State, data: dict[str, Any]) -> None:
        """Called for each workload input whose ``op`` is in :attr:`ops`."""

    def on_timer(self, ctx: Context, state: State, name: str) -> None:
        """Called when one of this part's timers fires; ``name`` without the prefix."""

    def after(self, ctx: Context, state: State) -> None:
        """Called after every handled input of the node (e.g. to flush a batch)."""

    def timer(self, name: str) -> str:
        """The node-wide name of this part's timer ``name``."""
        return f"{self.name}:{name}"


class Composed(Node):
    """A node built from :attr:`parts` (an ordered tuple of :class:`Part` classes).

    Config: node-wide keys in :attr:`keys` (checked by :meth:`check_keys`),
    and one table per used part, named after the part. Required parts may
    omit their table.
    """

    parts: ClassVar[tuple[type[Part], ...]] = ()
    keys: ClassVar[dict[str, str]] = {}

    def __init__(self, name: str, config: dict[str, Any], switches: dict[str, Any]) -> None:
        super().__init__(name, config, switches)
        self.used: tuple[Part, ...] = tuple(
            cls(self, config.get(cls.name, {}))
            for cls in self.parts
            if cls.required or cls.name in config
        )
        self._by_name = {p.name: p for p in self.used}
        # Message type -> the bound handler: ``on_<type>`` unless the part
        # overrides on_message (resolved once here, not per message).
        self._by_type: dict[str, Any] = {}
        self._by_op: dict[str, Part] = {}
        for p in self.used:
            for t in p.handles:
                if type(p).on_message is Part.on_message:
                    self._by_type[t] = getattr(p, "on_" + t.replace(".", "_"))
                else:
                    self._by_type[t] = p.on_message
            for op in p.ops:
                self._by_op[op] = p
        self._after = tuple(p for p in self.used if type(p).after is not Part.after)
        for p in self.used:
            p.bind()

    def part(self, name: str) -> Any:
        """The used part ``name``; None if this node does not use it."""
        return self._by_name.get(name)

    def has(self, name: str) -> bool:
        return name in self._by_name

    def deliver(self, ctx: Context, state: State, src: Any, msg: dict[str, Any]) -> bool:
        """Hand ``msg`` to the part that handles its type; False if no used part does.

        For a part that acts on another's behalf (``src`` need not be a node).
        """
        handler = self._by_type.get(msg.get("type"))
        if handler is None:
            return False
        handler(ctx, state, src, msg)
        return True

    # -- checking ------------------------------------------------------------

    @classmethod
    def switches_of(cls) -> tuple[Any, ...]:
        """The switches of all parts of this kind, in part order."""
        return tuple(s for p in cls.parts for s in p.switches)

    @classmethod
    def properties_of(cls) -> tuple[Any, ...]:
        """The properties of all parts of this kind, in part order."""
        return tuple(q for p in cls.parts for q in p.properties)

    @classmethod
    def check_keys(cls, config: dict[str, Any], node_names: tuple[str, ...]) -> None:
        """Check the node-wide keys (default: accept those of :attr:`keys`)."""

    @classmethod
    def check_config(cls, config: dict[str, Any], node_names: tuple[str, ...]) -> None:
        known = {p.name: p for p in cls.parts}
        for key in config:
            if key not in known and key not in cls.keys:
                expected = "one of: " + ", ".join([*cls.keys, *known])
                raise ConfigError(key, expected, key)
        cls.check_keys(config, node_names)
        for name, part in known.items():
            if name not in config:
                continue
            for other in part.needs:
                if other not in config and not known[other].required:
                    raise ConfigError(other, f"a table (part {name} needs part {other})", None)
            table = config[name]
            if not isinstance(table, dict):
                raise ConfigError(name, f"a table: the config of part {name}", table)
            try:
                part.check_config(table, config, node_names)
            except ConfigError as e:
                raise ConfigError(f"{name}.{e.field}", e.expected, e.found) from None

    @classmethod
    def check_input(cls, data: dict[str, Any]) -> None:
        op = data.get("op")
        takers = [p for p in cls.parts if op in p.ops]
        if not takers:
            ops = [o for p in cls.parts for o in p.ops]
            raise ConfigError("op", "one of: " + ", ".join(ops), op)
        takers[0].check_input(data)

    # -- handlers --------------------------------------------------------------

    def initial_state(self) -> State:
        return {p.name: p.initial() for p in self.used}

    def restart_state(self, old: State) -> State:
        fresh = self.initial_state()
        for p in self.used:
            for key in p.durable:
                if key in old.get(p.name, {}):
                    fresh[p.name][key] = old[p.name][key]
        return fresh

    def on_start(self, ctx: Context, state: State) -> None:
        for p in self.used:
            p.on_start(ctx, state)
        self.finish(ctx, state)

    def take(self, ctx: Context, state: State, data: dict[str, Any]) -> None:
        """Give workload input ``data`` to the part that takes its ``op`` (if any)."""
        target = self._by_op.get(data.get("op"))
        if target is not None:
            target.on_input(ctx, state, data)

    def on_message(self, ctx: Context, state: State, src: str, msg: dict[str, Any]) -> None:
        if src == WORKLOAD:
            self.take(ctx, state, msg)
        else:
            self.deliver(ctx, state, src, msg)
        # A message for a part this node does not use is dropped.
        self.finish(ctx, state)

    def on_timer(self, ctx: Context, state: State, name: str) -> None:
        prefix, _, rest = name.partition(":")
        target = self._by_name.get(prefix)
        if target is not None:
            target.on_timer(ctx, state, rest)
            self.finish(ctx, state)

    def finish(self, ctx: Context, state: State) -> None:
        """Run every used part's :meth:`Part.after` hook (the end of an input)."""
        for p in self._after:
            p.after(ctx, state)


# -- checks of typical config values (each raises ConfigError naming the key) --------


def check_bool(config: dict[str, Any], key: str) -> None:
    if not isinstance(config.get(key, False), bool):
        raise ConfigError(key, "a boolean", config.get(key))


def check_positive(config: dict[str, Any], key: str, default: float) -> None:
    """A positive number (e.g. of milliseconds)."""
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(key, "a positive number", value)


def check_count(config: dict[str, Any], key: str, default: int, least: int = 1) -> None:
    """An integer no smaller than ``least``."""
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ConfigError(key, f"an integer >= {least}", value)
