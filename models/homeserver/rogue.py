"""A server that breaks the rules (proposal, "Events (breaking changes; event version 2)").

"State keys that start with a server name can only be modified by that server
name"; "State keys prefixed with ``@`` can be modified only by the named user
ID *OR* the room ops". An honest server refuses its own users' events that
break these rules before they leave it; a scenario tests the other servers
with this part: workload input ``{"op": "forge", "room", "sender",
"event_type", "state_key", "content"}`` makes the event on top of the room as
the server sees it and sends it to the room's other servers without applying
any rule (nor keeping it). Every other server must refuse it.
"""

from __future__ import annotations

from typing import Any

from mxsim.models import room as R
from mxsim.models.events import is_state
from mxsim.models.power_levels import named_level, user_power_level
from mxsim.models.state_keys import state_key_owner, state_key_permitted
from mxsim.sim.model import View, always, sometimes
from mxsim.sim.node import ConfigError, Context
from mxsim.sim.parts import Part

__all__ = ["Rogue"]

FIELDS = {"room": str, "sender": str, "event_type": str, "state_key": str, "content": dict}


class Rogue(Part):
    """State: ``forged`` (the IDs of the events it sent that break the rules)."""

    name = "rogue"
    section = "Events (breaking changes; event version 2)"
    ops = ("forge",)
    needs = ("federation",)

    @classmethod
    def check_input(cls, data: dict[str, Any]) -> None:
        for key in data:
            if key != "op" and key not in FIELDS:
                raise ConfigError(key, "a field of op forge: " + ", ".join(FIELDS), key)
        for key, kind in FIELDS.items():
            if key == "state_key" and key not in data:
                continue  # a message event
            if not isinstance(data.get(key), kind):
                raise ConfigError(key, f"a {kind.__name__}", data.get(key))

    def initial(self) -> dict[str, Any]:
        return {"forged": []}

    def on_input(self, ctx: Context, state: dict, data: dict[str, Any]) -> None:
        rooms = self.node.part("rooms")
        store = rooms.stores(state).get(data["room"])
        if store is None:
            return
        ev = rooms.new_event(
            state,
            store,
            data["room"],
            data["event_type"],
            data["sender"],
            data["content"],
            data.get("state_key"),
        )
        self.of(state)["forged"].append(ev["event_id"])
        self.node.part("federation").federate(ctx, state, store, ev)


def _honest(view: View) -> list[str]:
    return [s for s in view.nodes if view.kind(s) == "homeserver" and "rogue" not in view.state(s)]


def _may_use_key(store: dict, eid: str) -> bool:
    """Whether the sender of state event ``eid`` may use its state key, by the state
    the room had before it (its ops by that state's power levels)."""
    ev = store["events"][eid]
    if state_key_owner(ev["state_key"])[0] == "anyone":
        return True
    before = {}
    for prev in ev.get("prev_events", []):
        before.update(store["after"].get(prev, {}))
    auth = R.auth_state(before, store["events"], ev)
    ops = user_power_level(ev["sender"], auth) >= named_level(auth, "state_default")
    return state_key_permitted(ev, ops)


@always("state_keys_respected")
def state_keys_respected(view: View) -> bool:
    """No honest server's room state holds a state event whose key its sender may
    not set ("Events ... event version 2": ``@user`` keys, server-name keys)."""
    for s in _honest(view):
        for store in view.state(s)["rooms"]["stores"].values():
            for eid in store["current"].values():
                if is_state(store["events"][eid]) and not _may_use_key(store, eid):
                    return False
    return True


@sometimes("state_key_refused")
def state_key_refused(view: View) -> bool:
    """An honest server refused a state event for its key (its own user's, or one
    that came over federation)."""
    for s in _honest(view):
        for store in view.state(s)["rooms"]["stores"].values():
            for eid, reason in store["rejected"].items():
                # Refused by the key rule itself, not for want of power.
                if "may not use state key" in reason and not _may_use_key(store, eid):
                    return True
    return False


@sometimes("forgery_refused")
def forgery_refused(view: View) -> bool:
    """Another server refused an event a rogue server forged."""
    forged = {
        eid
        for s in view.nodes
        if view.kind(s) == "homeserver" and "rogue" in view.state(s)
        for eid in view.state(s)["rogue"]["forged"]
    }
    return any(
        eid in store["rejected"]
        for s in view.nodes
        if view.kind(s) == "homeserver" and "rogue" not in view.state(s)
        for store in view.state(s)["rooms"]["stores"].values()
        for eid in forged
    )


Rogue.properties = (state_keys_respected, state_key_refused, forgery_refused)
