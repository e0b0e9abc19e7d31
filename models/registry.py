"""The models mxsim knows and the scenarios it bundles."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

from mxsim.sim.model import Model

__all__ = ["MODELS", "bundled", "describe"]

#: Modules of ``models`` that define a ``MODEL``, in the order they are listed.
MODEL_MODULES = ("matrix",)


def _load() -> dict[str, Model]:
    found = {}
    for name in MODEL_MODULES:
        try:
            module = importlib.import_module(f"mxsim.models.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"mxsim.models.{name}":
                raise  # a real import error inside an existing model
            continue  # a model not written yet
        found[module.MODEL.name] = module.MODEL
    return found


MODELS: dict[str, Model] = _load()

SCENARIOS = Path(__file__).parent / "scenarios"


def bundled() -> dict[str, Path]:
    """Bundled scenario names -> files, sorted by name (not by directory order)."""
    return {p.stem: p for p in sorted(SCENARIOS.glob("*.toml"), key=lambda p: p.stem)}


def describe(path: Path) -> str:
    """The one-line description of a bundled scenario."""
    with path.open("rb") as f:
        return tomllib.load(f)["scenario"]["description"]
