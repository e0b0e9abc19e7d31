"""Call events of the ``voip`` model: :mod:`models.relate.call` (a call as an
event whose signalling arrives as ``updates`` children). Bundles and read
receipts are parts of the matrix model (:mod:`mxsim.models.homeserver.bundling`,
:mod:`mxsim.models.homeserver.receipts`).
"""
