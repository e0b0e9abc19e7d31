"""Every experiment, found by module: each module here with an ``EXPERIMENT``."""

from __future__ import annotations

import importlib
import pkgutil

from mxsim.experiments.experiment.base import Experiment

__all__ = ["experiments"]

_SKIP = {"base", "registry", "figures", "runner"}


def experiments() -> dict[str, Experiment]:
    """Name -> experiment, sorted by name."""
    import mxsim.experiments.experiment as package

    found: dict[str, Experiment] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if info.name in _SKIP or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        exp = getattr(module, "EXPERIMENT", None)
        if isinstance(exp, Experiment):
            found[exp.name] = exp
    return dict(sorted(found.items()))
