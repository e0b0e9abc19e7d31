"""Every notebook's code runs (cells needing IPython are skipped without it)."""

import importlib.util
import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_code_runs(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    cells = json.loads(path.read_text())["cells"]
    for cell in cells:
        source = "".join(cell["source"])
        if cell["cell_type"] != "code":
            continue
        if "IPython" in source and importlib.util.find_spec("IPython") is None:
            continue
        exec(compile(source, f"{path.name}", "exec"), namespace)
    assert list(tmp_path.rglob("*.png")), "the notebook made no figure"
