"""Numbers in the prose come from the run: every glue role of a chapter has its glued value in the executed chapter.

Reads papermill's executed chapters (``_build/executed/book``); skips without a
build outside CI.  Chapter-specific contracts (the names an issue or a reader
relies on) are listed in ``REQUIRED``.
"""

from __future__ import annotations

import re

import nbformat
import pytest

try:
    from book_toc import ROOT, require, toc_chapters
except ImportError:  # pragma: no cover
    from .book_toc import ROOT, require, toc_chapters

pytestmark = pytest.mark.notebooks

EXECUTED = ROOT / "_build" / "executed"
ROLE = re.compile(r"\{glue(?::\w+)?\}`([A-Za-z_][\w]*)")
REQUIRED = {
    "07_parameter_estimation": [f"{stem}_{p}" for stem in ("testB_nrmse", "testB_nrmse_constant", "coverage")
                                for p in ("A_ex", "D", "M_s")] + ["coverage_nominal"],
    "08_defects": ["grid_wall_error_pct", "grid_dispersion_error_pct"],
    "09_defect_networks": ["dispersion_mae_best_network", "dispersion_mae_sum_rule", "wall_std_network",
                           "wall_std_dilution_law"],
}


def glued(nb):
    """``{name: text/plain}`` of every glued output."""
    out = {}
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            name = o.get("metadata", {}).get("scrapbook", {}).get("name")
            if name is not None:
                prefix = o["metadata"]["scrapbook"].get("mime_prefix", "")
                out[name] = o["data"].get(prefix + "text/plain")
    return out


def executed(chapter):
    path = EXECUTED / f"{chapter}.ipynb"
    require(path.exists(), f"{path} not built (run make book)")
    return nbformat.read(path, as_version=4)


@pytest.mark.parametrize("chapter", toc_chapters())
def test_every_glue_role_has_a_glued_number(chapter):
    nb = executed(chapter)
    values = glued(nb)
    roles = {m for c in nb.cells if c.cell_type == "markdown" for m in ROLE.findall(c.source)}
    missing = sorted(roles - set(values))
    assert not missing, f"{chapter}: glue roles without a glued value: {missing}"
    for name in REQUIRED.get(chapter.split("/")[-1], []):
        assert name in values, f"{chapter}: {name} is not glued"
    for name, text in values.items():  # plain numbers, so that format specs like :.3f apply
        if name in roles:
            float(text)


def test_estimation_claims():
    """Chapter 7's ranking sentence agrees with its glued errors; coverage is a fraction."""
    nb = executed("book/07_parameter_estimation")
    values = {k: float(v) for k, v in glued(nb).items()}
    for p in ("A_ex", "D", "M_s"):
        assert values[f"testB_gain_{p}"] == pytest.approx(values[f"testB_nrmse_constant_{p}"]
                                                         / values[f"testB_nrmse_{p}"])
        assert 0.0 <= values[f"coverage_{p}"] <= 1.0
    assert values["coverage_nominal"] == 0.9
    ranking = next(o["data"]["text/markdown"] for c in nb.cells for o in c.get("outputs", [])
                   if "text/markdown" in o.get("data", {}) and "ranks the predictors" in o["data"]["text/markdown"])
    for p, label in (("A_ex", "$A_{ex}$"), ("D", "$D$"), ("M_s", "$M_s$")):
        line = next(li for li in ranking.splitlines() if li.startswith(f"* {label}:"))
        assert f"{values[f'testB_gain_{p}']:.1f} times better" in line
        order = [s.strip() for s in line.split(":", 1)[1].split("(")[0].split("<")]
        errors = {"CNN": values[f"testB_nrmse_{p}"], "grid centre": values[f"testB_nrmse_constant_{p}"],
                  "texture regression": values[f"testB_nrmse_texture_{p}"]}
        assert order == sorted(errors, key=errors.get)
