"""Events that name other events: ``updates`` and ``relates_to`` (proposal,
"Updates (Events)" and "Relates to (Events)"), and what is built on them:
bundles and VoIP call signalling (read receipts are the ``receipts`` parts of
the matrix model, :mod:`mxsim.models.homeserver.receipts`).

One concept per module: :mod:`models.relate.bundle` (bundles of child events,
pagination of ``relates_to`` children), :mod:`models.relate.call` (a call as an
event whose signalling arrives as ``updates`` children).
"""
