"""One device node kind, composed of one part per proposal section.

=============  ==========================================  ==============
part           proposal section                            module
=============  ==========================================  ==============
requests       Action APIs                                 requests.py
stream         Event Stream API                            stream.py
timeline       Message Events Ordering Notes               timeline.py
scrollback     Scrolling back; Contextual windowing        scrollback.py
calls          VoIP                                        calls.py
retransmission Action APIs; Action IDs (resend, give up)   retransmission.py
sessions       Sessions (session ID, re-send when stale)   sessions.py
presence       Presence; Typing                            presence.py
echo           Action APIs (local echo)                    echo.py
capabilities   Capabilities                                capabilities.py
bundles        Updates (Events); Relates to (Events):      bundles.py
               Bundling
receipts       Updates (Events); Relates to (Events)       receipts.py
sync           Global /initialSync API (after a loss)      sync.py
joining        Joining a room (unknown rooms, elsewhere)   joining.py
members        Joining a room, Outputs (the member list)   members.py
filters        Filter API                                  filters.py
random         (a user's random steps)                     random_steps.py
signing        E2E Notes (sign what the server prepared)   signing.py
gaps           Global /initialSync API (limit=): follow a  gaps.py
               limited delta's token
redactions     Event Stream API (deleted message events)   redactions.py
welcome        Action APIs (send once a user joined)       welcome.py
initial_sync   Global /initialSync API (state types,       initial_sync.py
               limit=; what each room's start holds)
bot            Action APIs (a synchronous bot: no action   bot.py
               IDs, one request at a time)
=============  ==========================================  ==============

Config: ``server`` (its homeserver's node) and ``user`` (``@name:server``),
then one table per part it configures or uses: ``timeline = { out_of_order =
true }``, ``scrollback = { persist = true }``. ``requests``, ``stream`` and
``timeline`` are in every device.
"""

from __future__ import annotations

from typing import Any

from mxsim.models.device.bot import Bot
from mxsim.models.device.bundles import Bundles
from mxsim.models.device.calls import Calls
from mxsim.models.device.capabilities import Capabilities
from mxsim.models.device.echo import Echo
from mxsim.models.device.filters import Filters
from mxsim.models.device.gaps import Gaps
from mxsim.models.device.initial_sync import InitialSync
from mxsim.models.device.joining import Joining
from mxsim.models.device.members import Members
from mxsim.models.device.presence import Presence
from mxsim.models.device.random_steps import RandomSteps
from mxsim.models.device.receipts import Receipts
from mxsim.models.device.redactions import Redactions
from mxsim.models.device.requests import Requests
from mxsim.models.device.retransmission import Retransmission
from mxsim.models.device.scrollback import Scrollback
from mxsim.models.device.sessions import Sessions
from mxsim.models.device.signing import Signing
from mxsim.models.device.stream import Stream
from mxsim.models.device.sync import Sync
from mxsim.models.device.timeline import Timeline
from mxsim.models.device.welcome import Welcome
from mxsim.sim.node import ConfigError
from mxsim.sim.parts import Composed

__all__ = ["Device"]


class Device(Composed):
    """A client device of one user on one homeserver."""

    kind = "device"
    parts = (Requests, Stream, Timeline, Scrollback, Retransmission, Calls)
    parts += (Sessions, Presence, Echo, Capabilities)
    parts += (Bundles, Receipts)
    parts += (Sync, Joining, Filters, RandomSteps, Signing, Gaps, Redactions, Members, Welcome, Bot)
    parts += (InitialSync,)
    keys = {"server": "a homeserver node", "user": "a user ID"}

    @classmethod
    def check_keys(cls, config: dict[str, Any], node_names: tuple[str, ...]) -> None:
        server = config.get("server")
        if server not in node_names:
            raise ConfigError("server", "the name of a homeserver node", server)
        user = config.get("user")
        if (
            not isinstance(user, str)
            or not user.startswith("@")
            or user.split(":", 1)[-1] != server
        ):
            raise ConfigError("user", f"a user ID @name:{server}", user)
        Bot.check_beside(config)
