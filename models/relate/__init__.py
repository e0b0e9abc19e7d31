"""Events that name other events: ``updates`` and ``relates_to`` (proposal,
"Updates (Events)" and "Relates to (Events)"), and what is built on them:
bundles, read receipts and VoIP call signalling.

One concept per module: :mod:`models.relate.bundle` (bundles of child events,
for the receipts scenario), :mod:`models.relate.receipts` (the
receipt strategies and their traffic), :mod:`models.relate.call` (a call as an
event whose signalling arrives as ``updates`` children).
"""
