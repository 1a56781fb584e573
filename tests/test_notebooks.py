"""Notebook tests: the shape every chapter shares and the papermill runs of `make book`.

The chapters themselves are executed twice by `make test`:

* `make book` runs each chapter of `_toc.yml` with papermill in the quick profile
  (no ``-p``) into ``_build/executed/book/NN_topic.ipynb``; the tests below check
  those runs (no error, no injected parameters, figures stored).
* the same pytest run is given those executed notebooks with ``--nbval-lax``: nbval
  re-runs every cell and compares the outputs of cells marked
  ``# NBVAL_CHECK_OUTPUT`` with papermill's, after ``tests/nbval_sanitize.cfg``.

Without a build these tests skip, except under ``CI`` where that is a failure.
"""

from __future__ import annotations

import ast
import re

import nbformat
import pytest

try:  # tests/ as a plain folder (pytest's default "prepend" import mode) or as a package
    from book_toc import ROOT, require, toc_chapters
except ImportError:  # pragma: no cover
    from .book_toc import ROOT, require, toc_chapters

pytestmark = pytest.mark.notebooks

CHAPTERS = toc_chapters()
EXECUTED = ROOT / "_build" / "executed"
PROFILES = ("quick", "paper")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _headings(nb) -> list[str]:
    lines = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            lines += [line.lstrip("#").strip() for line in cell.source.splitlines() if line.startswith("#")]
    return lines


def _read(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    return nb


def test_toc_has_chapters():
    assert CHAPTERS, "_toc.yml lists no book/NN_topic chapter"
    numbers = [int(re.match(r"book/(\d\d)_", c).group(1)) for c in CHAPTERS]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers), (
        f"chapters in _toc.yml are not in NN order without repeats: {CHAPTERS}"
    )


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_source_structure(chapter):
    """Title, one literal `parameters` cell with a known profile and a seed, Summary, Exercises."""
    path = ROOT / f"{chapter}.ipynb"
    assert path.is_file(), f"{path} is listed in _toc.yml but missing"
    nb = _read(path)

    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.lstrip().startswith("# "), (
        f"{chapter}: the first cell must be a markdown title '# ...'"
    )

    tagged = [cell for cell in nb.cells if "parameters" in _tags(cell)]
    assert len(tagged) == 1, f"{chapter}: expected one cell tagged 'parameters', found {len(tagged)}"
    assert not any("injected-parameters" in _tags(cell) for cell in nb.cells), (
        f"{chapter}: the source holds a papermill injected-parameters cell"
    )
    params = {}
    for node in ast.parse(tagged[0].source).body:
        assert isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name), (
            f"{chapter}: the parameters cell may only assign literals, got {ast.unparse(node)!r}"
        )
        params[node.targets[0].id] = ast.literal_eval(node.value)
    assert params.get("profile") == "quick", f"{chapter}: parameters must set profile = 'quick' (default)"
    assert isinstance(params.get("seed"), int), f"{chapter}: parameters must set an integer seed"

    headings = _headings(nb)
    for required in ("Summary", "Exercises"):
        assert any(h.startswith(required) for h in headings), f"{chapter}: no '{required}' heading"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_executed_by_papermill(chapter):
    """The run the book is rendered from: complete, without -p, with figures stored."""
    path = EXECUTED / f"{chapter}.ipynb"
    require(path.is_file(), f"no executed copy {path} (run `make book`)")
    source = ROOT / f"{chapter}.ipynb"
    assert path.stat().st_mtime >= source.stat().st_mtime, f"{path} is older than {source}: run `make book`"
    nb = _read(path)

    pm = nb.metadata.get("papermill", {})
    assert pm, f"{chapter}: not a papermill run"
    assert not pm.get("exception"), f"{chapter}: papermill recorded an exception"
    assert pm.get("parameters") in ({}, None), f"{chapter}: rendered from a run with -p {pm.get('parameters')}"
    assert not any("injected-parameters" in _tags(cell) for cell in nb.cells), (
        f"{chapter}: the rendered run has an injected-parameters cell"
    )

    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    errors = [
        f"cell {i}: {out.get('ename')}: {out.get('evalue')}"
        for i, cell in enumerate(code)
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not errors, f"{chapter}: error outputs {errors}"
    not_run = [i for i, cell in enumerate(code) if cell.source.strip() and cell.get("execution_count") is None]
    assert not not_run, f"{chapter}: code cells never executed: {not_run}"

    outputs = [out for cell in code for out in cell.get("outputs", [])]
    assert any("image/png" in out.get("data", {}) or "image/svg+xml" in out.get("data", {}) for out in outputs), (
        f"{chapter}: no figure stored (is MPLBACKEND=Agg set?)"
    )
    if any(WIDGET_VIEW in out.get("data", {}) for out in outputs):
        state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
        assert state.get("state"), f"{chapter}: widget views without stored widget state"
