"""Shared test setup (mxsim is imported as installed: `pip install -e .`)."""

import pytest


@pytest.fixture(autouse=True)
def _in_a_scratch_directory(tmp_path, monkeypatch):
    """Each test runs in its own empty working directory.

    `mxsim check` writes its traces to the working directory by default;
    a test must not leave them in the checkout (or read another test's).
    """
    monkeypatch.chdir(tmp_path)
