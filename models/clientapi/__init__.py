"""The client-server API of one homeserver, as its devices see it.

Proposal sections (``general_api.rst``), one module each, named in its words:

- :mod:`.filters`: "Filter API" (opaque tokens that may expire; event
  types with wildcards, room IDs, user IDs for presence, ``limit``).
- :mod:`.capabilities`: "Capabilities" (a client's capability set, its hash,
  the union over a user's connected clients).
- :mod:`.session`: "Sessions" and "Action IDs" (a session per device, its
  action IDs from 0, stale session IDs).
- :mod:`.presence`: "Presence" and "Typing", tied to sessions.
- :mod:`.sync`: "Global /initialSync API" and the "Event Stream API" log.
- :mod:`.server`: the homeserver node answering devices.
- :mod:`.device`: the device node: requests, retransmission, local echo
  ("Action APIs"), the event stream applied in position order.
"""
