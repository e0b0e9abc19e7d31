"""User redactions (proposal: "Event Stream API": "Deleted message events are
``m.room.redaction`` events"; the ``redact`` level of the room's power levels).

A device asks ``redact`` with a room and the ID of the event it deletes
(``redacts``). Unless its user sent that event or holds the ``redact`` level
(:func:`may_apply`), the server refuses (as today's servers answer "no
permission to redact"); else it makes an ``m.room.redaction`` event naming
it, checked by the auth rules (:mod:`mxsim.models.auth`: a sender below the
``redact`` level may only redact events of its own server) and federated as
any event. A server *applies* an accepted redaction when :func:`may_apply`
holds (Matrix checks this "when the redaction is applied" from room version
3); one that may not take effect is hidden as a soft-failed event is. Applying
it strips the target's
content in the room store, so every path that reads the store (stream,
initial sync, scrollback, bundles, federation) hands the stripped copy
(``content`` empty, ``redacted_because`` the redaction's ID), and in the
entries it has queued for devices and not sent yet. Only message events are
stripped (the redaction algorithm's kept keys of state events are not
modelled). Redactions placed by backfill or a join's history are applied by
:mod:`~mxsim.models.homeserver.redactions_history` (``history_redactions``).

The race: over federation a redaction can reach a server before the event
it redacts. Under ``early_redactions = "keep"`` the server keeps it (waiting,
as any event, for the events it refers to, its target among them; and one
accepted before its target waits in the room's ``early_redactions``) and
applies it once the target arrives. Under ``"drop"`` it discards a
redaction whose target it lacks, so the target, when it comes, is shown
whole there for good.

Room store keys (made only once used): ``redacted`` (target -> the
redaction applied) and ``early_redactions`` (target -> redactions waiting).
Part state: ``seen``, flags of the races met (``early``: a redaction came
before its target; ``refused``: a redaction was refused or not applied;
``history``, once it happened: a redaction came with backfill or a join's answer).
"""

from __future__ import annotations

from typing import Any

from mxsim.models import room as R
from mxsim.models.events import REDACTION, is_state
from mxsim.models.homeserver.redactions_history import HISTORY_REDACTIONS, catch_up, take_history
from mxsim.models.homeserver.rooms import result
from mxsim.models.power_levels import named_level, user_power_level
from mxsim.models.properties_redactions import PROPERTIES
from mxsim.sim.model import Switch
from mxsim.sim.node import Context
from mxsim.sim.parts import Part

__all__ = ["Redactions", "EARLY_REDACTIONS", "may_apply", "strip"]

EARLY_REDACTIONS = Switch(
    "early_redactions",
    "keep",
    'Event Stream API: "Deleted message events are m.room.redaction events"; Message '
    'Events Ordering Notes: events arrive out of order. "keep": a server keeps a redaction '
    "that arrives before the event it redacts and applies it when that event arrives; "
    '"drop": it discards a redaction whose target it lacks.',
    choices=("keep", "drop"),
)


#: Why a redaction is hidden (``soft_failed``): it may not take effect on its target.
WITHOUT_EFFECT = "a redaction its sender may not make"


def may_apply(store: dict, redaction: dict, target: dict) -> bool:
    """Does ``redaction`` take effect on ``target``: sent by the target's sender,
    or by a user at the ``redact`` level in the state at the redaction?"""
    if redaction["sender"] == target.get("sender"):
        return True
    state = store["after"].get(redaction["event_id"], store["current"])
    auth = R.auth_state(state, store["events"], redaction)
    return user_power_level(redaction["sender"], auth) >= named_level(auth, "redact")


def strip(ev: dict, redaction_id: str) -> dict:
    """The redacted copy of message event ``ev``: its content gone.

    >>> strip({"event_id": "$1", "type": "m.room.message", "content": {"body": "hi"}}, "$2")
    {'event_id': '$1', 'type': 'm.room.message', 'content': {}, 'redacted_because': '$2'}
    """
    return {**ev, "content": {}, "redacted_because": redaction_id}


class Redactions(Part):
    """Takes ``redact`` requests; applies the redactions the room accepts."""

    name = "redactions"
    section = "Event Stream API (deleted message events); power levels (redact)"
    handles = ("redact",)
    switches = (EARLY_REDACTIONS, HISTORY_REDACTIONS)
    properties = PROPERTIES

    def initial(self) -> dict[str, Any]:
        return {"seen": {"early": False, "refused": False}}

    def saw(self, state: dict, name: str) -> None:
        self.of(state)["seen"][name] = True

    def on_redact(self, ctx: Context, state: dict, device: Any, msg: dict) -> None:
        rooms = self.node.part("rooms")
        aid, room_id = msg.get("aid"), msg["room"]
        store = rooms.stores(state).get(room_id)
        if store is None:
            rooms.answer(ctx, device, result(aid, False, error="not in room"))
            return
        user, target = rooms.user(state, device, msg), msg["redacts"]
        asked = {"type": REDACTION, "sender": user, "event_id": "", "redacts": target}
        if R.placed(store, target) and not may_apply(store, asked, store["events"][target]):
            # As today's servers answer: no permission to redact another's event.
            self.saw(state, "refused")
            rooms.answer(ctx, device, result(aid, False, error=f"{user} may not redact {target}"))
            return
        ev = rooms.new_event(state, store, room_id, REDACTION, user, {})
        ev["redacts"] = target
        rooms.local(ctx, state, device, aid, store, ev)
        if ev["event_id"] in store["rejected"]:
            self.saw(state, "refused")  # the auth rules refused it

    def received(self, state: dict, store: dict, ev: dict) -> bool:
        """A redaction came over federation: False if it is to be discarded
        (``drop``, and this server lacks its target)."""
        if ev["type"] != REDACTION or R.placed(store, ev.get("redacts", "")):
            return True
        self.saw(state, "early")
        return self.node.switches["early_redactions"] == "keep"

    def placed(self, ctx: Context, state: dict, store: dict, new: list[str]) -> None:
        """Events ``new`` were placed from another server's history (backfill, a
        join's answer): see :func:`~mxsim.models.homeserver.redactions_history.take_history`."""
        take_history(self, ctx, state, store, new)

    def accepted(self, ctx: Context, state: dict, store: dict, ev: dict, live=True) -> dict | None:
        """An event was accepted: apply it if it is a redaction, or the redactions
        waiting for it. Returns the event as devices are to be shown it (None:
        not at all, a redaction that takes no effect). ``live``: new to the
        room, not placed from history (a join then catches its server up)."""
        eid = ev["event_id"]
        if ev["type"] == REDACTION and isinstance(ev.get("redacts"), str):
            target = ev["redacts"]
            if R.placed(store, target):
                if not self.apply(state, store, eid, target):
                    return None
                return ev
            self.saw(state, "early")
            if self.node.switches["early_redactions"] == "keep":
                # Devices are shown the target stripped when it comes, not this.
                store.setdefault("early_redactions", {}).setdefault(target, []).append(eid)
            return None
        if live:
            catch_up(self, ctx, state, store, ev)
        early = store.get("early_redactions", {}).pop(eid, None)
        if early is None:
            return ev
        if not store["early_redactions"]:
            del store["early_redactions"]
        for rid in early:
            self.apply(state, store, rid, eid)
        return store["events"][eid]

    def apply(self, state: dict, store: dict, rid: str, target: str) -> bool:
        """Strip ``target`` by redaction ``rid``, if the redaction may take effect;
        False if it may not (it is then hidden, as a soft-failed event is)."""
        events = store["events"]
        if target in store.get("redacted", {}) or is_state(events[target]):
            return True
        if not may_apply(store, events[rid], events[target]):
            self.saw(state, "refused")  # accepted in the graph, without effect
            store["soft_failed"][rid] = WITHOUT_EFFECT
            return False
        stripped = events[target] = strip(events[target], rid)
        store.setdefault("redacted", {})[target] = rid
        # What is queued for devices and not sent yet goes out stripped too.
        queues = [d["poll"]["queue"] for d in state["stream"]["devices"].values() if "poll" in d]
        queues += list(state["stream"].get("outbox", {}).values())
        for queue in queues:
            for i, entry in enumerate(queue):
                if entry["event"].get("event_id") == target:
                    queue[i] = {**entry, "event": stripped}
        return True
