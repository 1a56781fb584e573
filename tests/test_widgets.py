"""Tests of mag_ml.widgets: the annealing explorer builds, runs headless and redraws."""

import base64

import matplotlib

matplotlib.use("Agg")

import ipywidgets  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mag_ml.widgets import AnnealExplorer, anneal_explorer  # noqa: E402

TINY = dict(shape=(8, 8), n_steps=4, sweeps_per_step=10, relax_tol=1e-4, dpi=30, figsize=(4.0, 2.0))


def _png(explorer):
    (out,) = explorer.output.outputs
    assert out["output_type"] == "display_data"
    return base64.b64decode(out["data"]["image/png"])


@pytest.fixture(scope="module")
def explorer():
    return anneal_explorer(**TINY)


def test_builds_and_runs_once_with_defaults(explorer):
    assert isinstance(explorer, (ipywidgets.VBox, AnnealExplorer))
    assert set(explorer.sliders) == {"J", "D", "B", "T_end"}
    assert all(isinstance(s, ipywidgets.FloatSlider) for s in explorer.sliders.values())
    assert explorer.button.description == "run anneal"
    assert explorer.result is not None and explorer.result.spins.shape == (3, 8, 8)
    png = _png(explorer)
    assert png.startswith(b"\x89PNG") and png == explorer.png
    assert "E/N" in explorer.status.value and "Q" in explorer.status.value
    assert explorer.static().data == explorer.png
    assert plt.get_fignums() == []  # no pyplot figure left behind


def test_click_redraws_with_new_values(explorer):
    explorer.sliders["B"].value = 0.3
    explorer.seed.value = 3
    old = explorer.png
    explorer.button.click()
    assert explorer.values["B"] == pytest.approx(0.3)
    assert explorer.result is not None and explorer.png != old
    assert _png(explorer) == explorer.png
    assert np.allclose(np.linalg.norm(explorer.result.spins, axis=0), 1.0)


def test_bad_values_reported_not_raised(explorer):
    good = explorer.result
    explorer.sliders["T_end"].value = explorer.sliders["T_end"].max  # 0.5 ...
    explorer._fixed["T_start"] = 0.1  # ... above T_start: the schedule refuses
    try:
        assert explorer.run() is None
    finally:
        explorer._fixed["T_start"] = 1.0
    assert "T_end" in explorer.status.value
    assert explorer.output.outputs[0]["name"] == "stderr"
    assert explorer.result is good and not explorer.button.disabled


def test_defaults_override_and_validation():
    ex = anneal_explorer(**TINY, D=1.5, T_end=0.05)
    assert ex.sliders["D"].value == 1.5 and ex.sliders["D"].max >= 1.5
    assert ex.sliders["T_end"].value == pytest.approx(0.05)
    with pytest.raises(ValueError, match=r"shape must be two even ints .*\(7, 8\)"):
        anneal_explorer(shape=(7, 8))
    with pytest.raises(ValueError, match=r"unknown slider default.*'K'"):
        anneal_explorer(**TINY, K=0.1)
    with pytest.raises(ValueError, match="D must be a finite number; got nan"):
        anneal_explorer(**TINY, D=float("nan"))
    with pytest.raises(ValueError, match="default run failed"):
        anneal_explorer(**{**TINY, "T_start": 0.01})  # T_end 0.02 > T_start
