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


# ----------------------------------------------------------------------------- latent explorer
@pytest.fixture(scope="module")
def latent():
    import torch

    from mag_ml.chapters.evae import EVAE_HAMILTONIAN
    from mag_ml.models import SpinVAE
    from mag_ml.widgets import latent_explorer

    torch.manual_seed(0)
    model = SpinVAE(16, latent_dim=8).eval()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 3, 16, 16))
    states = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    return latent_explorer(model, states, EVAE_HAMILTONIAN, n_directions=3, cut=(-1, 0, 1), dpi=30,
                           figsize=(2.0, 2.0))


def test_latent_explorer_builds_and_decodes_the_mean(latent):
    from mag_ml.widgets import LatentExplorer

    assert isinstance(latent, (ipywidgets.HBox, LatentExplorer))
    assert [s.description for s in latent.sliders] == ["PC 1", "PC 2", "PC 3"]
    assert latent.values == [0.0, 0.0, 0.0]
    assert latent.state.shape == (3, 16, 16)
    np.testing.assert_allclose(np.linalg.norm(latent.state, axis=0), 1.0, atol=1e-6)
    np.testing.assert_allclose(latent.state, latent.directions.decode([]), atol=1e-12)  # the mean code
    share = latent.directions.variance_share
    assert np.all(np.diff(share) <= 1e-12) and share.sum() == pytest.approx(1.0)
    png = _png(latent)
    assert png.startswith(b"\x89PNG") and png == latent.png
    assert "E/N" in latent.status.value and "Q" in latent.status.value
    assert plt.get_fignums() == []


def test_latent_explorer_slider_redraws(latent):
    old_state = latent.state
    latent.sliders[0].value = 2.0
    assert latent.values[0] == 2.0
    assert not np.array_equal(latent.state, old_state)  # an untrained decoder: small, but a change
    assert _png(latent) == latent.png
    assert latent.output.outputs[0]["data"]["text/plain"].startswith("PC 1 = +2.00, PC 2 = +0.00")
    np.testing.assert_allclose(latent.state, latent.directions.decode([2.0]), atol=1e-12)
    latent.sliders[0].value = 0.0


def test_latent_explorer_static_and_validation(latent):
    from mag_ml.chapters.evae import EVAE_HAMILTONIAN
    from mag_ml.widgets import latent_explorer

    image = latent.static()
    assert image.data.startswith(b"\x89PNG") and len(image.data) > 1000
    assert plt.get_fignums() == []
    model, states = latent.directions.model, np.zeros((1, 3, 16, 16), np.float32)
    with pytest.raises(ValueError, match="at least two states"):
        latent_explorer(model, states, EVAE_HAMILTONIAN)
    ok = np.tile(np.array([0, 0, 1], np.float32)[:, None, None], (4, 1, 16, 16))
    with pytest.raises(ValueError, match="n_directions"):
        latent_explorer(model, ok, EVAE_HAMILTONIAN, n_directions=9)


def _walk(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _walk(child)


def test_controls_fit_the_page_and_say_they_need_a_kernel(explorer, latent):
    """No fixed widths on controls (they fill grid columns, labels whole), and the live-kernel note on top."""
    from mag_ml.widgets import KERNEL_NOTE

    for root in (explorer, latent):
        parts = list(_walk(root))
        assert any(isinstance(w, ipywidgets.HTML) and w.value == KERNEL_NOTE for w in parts)
        assert any(isinstance(w, ipywidgets.GridBox) and "minmax" in w.layout.grid_template_columns for w in parts)
        for w in parts:
            if isinstance(w, (ipywidgets.FloatSlider, ipywidgets.IntSlider, ipywidgets.FloatLogSlider,
                              ipywidgets.BoundedIntText)):
                assert w.layout.width == "auto" and w.style.description_width == "initial", w.description
