"""mxsim installs as one import package (`mxsim.sim`, `mxsim.models`, `mxsim.experiments`)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = {"sim": "mxsim.sim", "models": "mxsim.models", "experiments": "mxsim.experiments"}


def _listed() -> set[str]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return set(tomllib.load(f)["tool"]["setuptools"]["packages"])


def test_every_package_folder_is_installed_under_mxsim():
    found = set()
    for folder, package in FOLDERS.items():
        for init in sorted((ROOT / folder).rglob("__init__.py")):
            rel = init.parent.relative_to(ROOT / folder).parts
            found.add(".".join((package, *rel)))
    assert found == _listed(), "pyproject.toml [tool.setuptools] packages must list each folder"


def test_no_top_level_sim_or_models_is_installed(tmp_path):
    # From a directory that is not the project, only `mxsim` is importable.
    code = (
        "import importlib.util as u;"
        "print([n for n in ('sim', 'models', 'experiments') if u.find_spec(n)]);"
        "import mxsim.models.registry as r; print(len(r.bundled()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stdout.split("\n")[:2] == [
        "[]",
        str(len(list((ROOT / "models/scenarios").glob("*.toml")))),
    ]


def test_a_local_models_package_does_not_shadow_mxsim(tmp_path):
    # Someone else's `models/` in the working directory (the clash issue 8 names).
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "__init__.py").write_text("")
    (tmp_path / "sim").mkdir()
    (tmp_path / "sim" / "__init__.py").write_text("")
    out = subprocess.run(
        [sys.executable, "-c", "from mxsim.experiments.cli import main; main()", "scenarios"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "action-ids" in out.stdout
