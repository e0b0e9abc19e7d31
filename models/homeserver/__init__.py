"""One homeserver node kind, composed of one part per proposal section.

=============  ======================================================  ==============
part           proposal section                                        module
=============  ======================================================  ==============
rooms          Room Creation; the room-changing Action APIs            rooms.py
stream         Event Stream API (superseded state, out-of-order,       stream.py,
               rejected events)                                        rejected.py
joining        Joining a room; Rejecting an invite                     joining.py
join_outputs   Joining a room, Outputs (members, more; join_snapshot)  join_outputs.py
federation     Federation; Message Events Ordering Notes               federation.py
scrollback     Scrolling back; Contextual windowing                    scrollback.py
updates        Updates (Events); Relates to (Events) (and VoIP)        updates.py
actions        Action APIs; Action IDs (idempotence, hold, timeout)    actions.py
sessions       Sessions (start, expiry, stale session IDs)             sessions.py
presence       Presence                                                presence.py
typing         Typing                                                  typing.py
capabilities   Capabilities                                            capabilities.py
ephemeral      Typing, Presence across federation                      ephemeral.py
signing        E2E Notes (prepare, sign, send the signed event)        signing.py
rogue          Events, event version 2 (a server breaking the rules)   rogue.py
bundling       Updates (Events), Relates to (Events): Bundling         bundling.py
receipts       Updates (Events); Relates to (Events): read receipts   receipts.py
sync           Global /initialSync API (a delta from a stream token)   initial_sync.py
filters        Filter API (tokens that expire)                         filters.py
limited        Global /initialSync API (limit=): a limited delta       limited.py
sync_state     Event Stream API: a delta's timeline and state block    sync_state.py
extremities    Message Events Ordering Notes (forward extremities      extremities.py
               merged by a dummy event, switch merge_extremities)
redactions     Event Stream API: deleted message events (redact,       redactions.py,
               switches early_redactions, history_redactions)          redactions_history.py
partial_state  Joining a room: partial state, then the rest            partial_state.py
               (switch partial_state_join)
initial_sync   Global /initialSync API, Outputs (# members, whether    initial_sync_rooms.py
               the limit= messages were cut, switch member_count)
=============  ======================================================  ==============

``rooms`` and ``stream`` are in every homeserver; a scenario uses another
part by giving it a config table (``config = { federation = {} }``).
"""

from __future__ import annotations

from typing import Any

from mxsim.models.homeserver.actions import Actions
from mxsim.models.homeserver.bundling import Bundling
from mxsim.models.homeserver.capabilities import Capabilities
from mxsim.models.homeserver.ephemeral import Ephemeral
from mxsim.models.homeserver.extremities import Extremities
from mxsim.models.homeserver.federation import Federation
from mxsim.models.homeserver.filters import Filters
from mxsim.models.homeserver.initial_sync import Sync
from mxsim.models.homeserver.initial_sync_rooms import InitialSyncRooms
from mxsim.models.homeserver.join_outputs import JoinOutputs
from mxsim.models.homeserver.joining import Joining
from mxsim.models.homeserver.limited import Limited
from mxsim.models.homeserver.partial_state import PartialState
from mxsim.models.homeserver.presence import Presence
from mxsim.models.homeserver.receipts import Receipts
from mxsim.models.homeserver.redactions import Redactions
from mxsim.models.homeserver.rogue import Rogue
from mxsim.models.homeserver.rooms import Rooms
from mxsim.models.homeserver.scrollback import Scrollback
from mxsim.models.homeserver.sessions import Sessions
from mxsim.models.homeserver.signing import Signing
from mxsim.models.homeserver.stream import Stream
from mxsim.models.homeserver.sync_state import SyncState
from mxsim.models.homeserver.typing import Typing
from mxsim.models.homeserver.updates import Updates
from mxsim.models.wire import REQUEST, WIRE
from mxsim.sim.node import WORKLOAD, Context
from mxsim.sim.parts import Composed

__all__ = ["Homeserver"]

#: The client-server requests (each carries ``whoami``, ``out_of_order``, maybe ``aid``).
REQUESTS = frozenset(
    name for name, m in WIRE.messages.items() if m.fields[: len(REQUEST)] == REQUEST
)


class Homeserver(Composed):
    """A homeserver named after its domain (``@alice:hs1`` lives on node ``hs1``)."""

    kind = "homeserver"
    parts = (Rooms, Stream, Joining, Federation, Scrollback, Actions, Updates)
    parts += (Sessions, Presence, Typing, Capabilities, Ephemeral)
    parts += (Bundling, Receipts)
    parts += (
        Sync,
        Filters,
        Signing,
        Rogue,
        Limited,
        SyncState,
        Extremities,
        Redactions,
        JoinOutputs,
        PartialState,
        InitialSyncRooms,
    )

    def on_message(self, ctx: Context, state: dict, src: str, msg: dict[str, Any]) -> None:
        if src != WORKLOAD and msg.get("type") in REQUESTS:
            sessions = self.part("sessions")
            if sessions is not None and "session" in msg:
                # Proposal, "Sessions": a request with a stale session ID fails
                # (a device with sessions opens its stream with ``register``).
                if sessions.gate(ctx, state, src, msg) is None:
                    self.finish(ctx, state)
                    return
            else:
                # A request registers its device if ``register`` has not arrived yet.
                self.part("stream").register(state, src, msg["whoami"], msg["out_of_order"])
            actions = self.part("actions")
            if actions is not None:
                # Proposal, "Action IDs": each request passes its action ID first
                # ("Action APIs": one without an ID is neither held nor deduplicated).
                if msg.get("aid") is None:
                    actions.unnumbered(ctx, state, src, msg)
                else:
                    actions.request(ctx, state, src, msg)
                self.finish(ctx, state)
                return
        super().on_message(ctx, state, src, msg)
