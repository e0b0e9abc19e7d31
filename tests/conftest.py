"""Shared test setup (mxsim is imported as installed: `pip install -e .`)."""
