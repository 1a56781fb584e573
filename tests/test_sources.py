"""The committed chapters stay clean: no outputs, no execution counts, the book's kernel."""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_committed_chapter_is_clean(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["metadata"]["kernelspec"]["name"] == "mag_ml", f"{path.name}: kernel {nb['metadata']['kernelspec']}"
    for k, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [] and cell.get("execution_count") is None, f"{path.name} cell {k} has outputs"


def test_outputs_are_stripped_on_commit():
    """.gitattributes routes notebooks through nbstripout; make venv installs the filter (checked under CI)."""
    import os
    import subprocess

    assert "*.ipynb filter=nbstripout" in (ROOT / ".gitattributes").read_text(encoding="utf-8").splitlines()
    if os.environ.get("CI"):
        clean = subprocess.run(["git", "config", "filter.nbstripout.clean"], cwd=ROOT, capture_output=True, text=True)
        assert "nbstripout" in clean.stdout, "make venv did not install the nbstripout filter"
