"""``mxsim experiment NAME``: one module per question (see :mod:`.base`)."""
