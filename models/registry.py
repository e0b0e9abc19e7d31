"""The models mxsim knows and the scenarios it bundles."""

from __future__ import annotations

import tomllib
from pathlib import Path

from models import action_ids, rooms
from sim.model import Model

__all__ = ["MODELS", "bundled", "describe"]

MODELS: dict[str, Model] = {m.name: m for m in (action_ids.MODEL, rooms.MODEL)}

SCENARIOS = Path(__file__).parent / "scenarios"


def bundled() -> dict[str, Path]:
    """Bundled scenario names -> files, sorted by name (not by directory order)."""
    return {p.stem: p for p in sorted(SCENARIOS.glob("*.toml"), key=lambda p: p.stem)}


def describe(path: Path) -> str:
    """The one-line description of a bundled scenario."""
    with path.open("rb") as f:
        return tomllib.load(f)["scenario"]["description"]
