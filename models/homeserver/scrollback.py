"""History: scrolling back and contextual windows (proposal: "Scrolling back",
"Contextual windowing").

Where the local history ends and the request allows it, the server asks a
server in the room for older events ("backfill over federation":
``fed.backfill`` / ``fed.history``), then answers with a page (``chunk``).
"""

from __future__ import annotations

from typing import Any

from mxsim.models import room as R
from mxsim.models import room_history as H
from mxsim.models.events import is_state
from mxsim.models.homeserver.rooms import result, type_filter
from mxsim.models.homeserver.stream import INITIAL_LIMIT, WALK_BUDGET
from mxsim.sim.node import Context
from mxsim.sim.parts import Part

__all__ = ["Scrollback"]


class Scrollback(Part):
    """State: ``requests`` awaiting history from another server ("device/aid" ->
    the request) and ``backfilled``, whether it ever asked for history."""

    name = "scrollback"
    section = "Scrolling back; Contextual windowing"
    handles = ("scrollback", "context", "fed.backfill", "fed.history")

    def bind(self) -> None:
        self.rooms = self.node.part("rooms")

    def initial(self) -> dict[str, Any]:
        return {"requests": {}, "backfilled": False}

    def on_scrollback(self, ctx: Context, state: dict, device: Any, msg: dict, again=False) -> None:
        """Proposal, "Scrolling back": events older than the device's earliest."""
        rooms = self.rooms
        aid, room_id = msg.get("aid"), msg["room"]
        user = msg["user"] if again else rooms.user(state, device, msg)
        store = rooms.stores(state).get(room_id)
        if store is None or R.membership(store, user) != "join":
            rooms.answer(ctx, device, result(aid, False, error="not in room"))
            return
        known, defn = self._filter(state, msg)
        if not known:
            rooms.answer(ctx, device, result(aid, False, error="unknown filter token"))
            return
        # An empty token is the room's start: nothing older (not "from the newest").
        frontier = msg.get("from")
        if frontier is None:
            frontier = [[store["events"][e]["depth"], e] for e in store["extremities"]]
        limit = msg.get("limit", INITIAL_LIMIT)
        wanted = type_filter(msg.get("types"))
        ids, token, gap = H.walk_back(store, frontier, limit, wanted, budget=WALK_BUDGET)
        if gap and len(ids) < limit and msg.get("backfill") and not again:
            others = [s for s in R.servers_in_room(store) if s != self.node.name]
            if others:
                mine = self.of(state)
                req = f"{device}/{aid}"
                mine["requests"][req] = {**msg, "user": user, "device": device}
                mine["backfilled"] = True
                # Ask for enough events to fill the request, state events included.
                ask = {"type": "fed.backfill", "room": room_id, "frontier": token}
                ctx.send(others[0], {**ask, "limit": 2 * limit, "req": req})
                return
        chunk = []
        for eid in ids:
            ev = store["events"][eid]
            if is_state(ev):
                old = R.prev_content(store, eid)
                ev = {**ev, "prev_content": old} if old is not None else ev
            chunk.append(ev)
        bundling = self.node.part("bundling")
        if bundling is not None and device is not None:
            chunk = bundling.window(state, store, device, chunk)  # parents bundled
        chunk = self._keys(state, defn, chunk)
        page = {"type": "chunk", "aid": aid, "ok": True, "room": room_id, "chunk": chunk}
        more = {"more_local": bool(token) and not gap, "more_remote": gap}
        rooms.answer(ctx, device, {**page, "token": token, **more})

    def on_fed_backfill(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        store = self.rooms.stores(state).get(msg["room"])
        if store is not None:
            history = H.history_payload(store, msg["frontier"], msg["limit"])
            ctx.send(src, {"type": "fed.history", "req": msg["req"], **history})

    def on_fed_history(self, ctx: Context, state: dict, src: str, msg: dict) -> None:
        request = self.of(state)["requests"].pop(msg["req"], None)
        if request is None:
            return
        store = self.rooms.stores(state)[request["room"]]
        new = R.insert_history(store, msg)
        redactions = self.node.part("redactions")
        if redactions is not None:
            redactions.placed(ctx, state, store, new)
        device = request["device"]
        self.rooms.answer_late(
            ctx, state, device, request.get("aid"),
            lambda c: self.on_scrollback(c, state, device, request, again=True),
        )  # fmt: skip

    def on_context(self, ctx: Context, state: dict, device: Any, msg: dict) -> None:
        """Proposal, "Contextual windowing": messages around an event, pagination
        tokens, and the room state at the end of the chunk."""
        rooms = self.rooms
        aid, eid, user = msg.get("aid"), msg["event_id"], rooms.user(state, device, msg)
        stores = rooms.stores(state)
        room_id = next((r for r in sorted(stores) if eid in stores[r]["after"]), None)
        store = stores.get(room_id) if room_id else None
        if store is None or R.membership(store, user) != "join" or not H.visible(store, eid):
            rooms.answer(ctx, device, result(aid, False, error="unknown event"))
            return
        known, defn = self._filter(state, msg)
        if not known:
            rooms.answer(ctx, device, result(aid, False, error="unknown filter token"))
            return
        wanted = type_filter(msg.get("types"))
        ev = store["events"][eid]
        start = [
            [store["events"][p]["depth"] if R.placed(store, p) else ev["depth"] - 1, p]
            for p in ev["prev_events"]
        ]
        before, start_token, _ = H.walk_back(store, start, msg.get("before", 5), wanted)
        after = H.newer(store, eid, msg.get("after", 5), wanted)
        chunk = list(reversed(before)) + [eid] + after
        last = chunk[-1]
        window = {"type": "window", "aid": aid, "ok": True, "room": room_id, "event_id": eid}
        window["chunk"] = self._keys(state, defn, [store["events"][e] for e in chunk])
        window["start"], window["end"] = start_token, last
        at_end = [store["events"][x] for _, x in sorted(store["after"][last].items())]
        window["state"] = self._keys(state, defn, at_end)
        rooms.answer(ctx, device, window)

    def _filter(self, state: dict, msg: dict) -> tuple[bool, dict | None]:
        """Proposal, "Scrolling back" / "Contextual windowing": "filter to apply" (a
        token; without one, every key)."""
        filters = self.node.part("filters")
        return filters.named(state, msg) if filters is not None else (True, None)

    def _keys(self, state: dict, defn: dict | None, evs: list[dict]) -> list[dict]:
        filters = self.node.part("filters")
        return evs if filters is None else filters.page(state, defn, evs)
