"""Dispersion CNN, two-branch wall CNN, their training drivers, metrics and inverse design."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from mag_ml.analysis.defect_networks import (PAPER_METRICS, dispersion_metrics, ideal_band, inverse_design,
                                             metrics_table, predict_dispersion, predict_walls, split_indices,
                                             wall_metrics)
from mag_ml.chapters.defects import (defect_networks_spec, train_dispersion_cnn, train_dispersion_pinn,
                                     train_wall_cnn)
from mag_ml.chapters.defects import defect_networks_directory
from mag_ml.physics.magnons import analytic_dispersion
from mag_ml.models import DispersionCNN, DispersionPINN, WallCNN, wall_loss
from mag_ml.models.tfc import intact_bond_fraction
from mag_ml.physics.defects import occupied_fraction
from mag_ml.physics.pseudospectral import wavevectors

A = 0.5  # nm


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny networks train fastest on one thread (and leave the cores to others); restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
TINY = dict(cnn=dict(channels=8, layers=2, epochs=60, lr=3e-3),
            pinn=dict(hidden=16, depth=2, epochs=60, lr=3e-3, weight=0.01, n_collocation=8),
            wall=dict(features=16, channels=8, epochs=60, lr=3e-3, width_weight=1.0), batch_size=64)


def synthetic_dataset():
    """Dataset layout of mag_ml.chapters.defects with closed-form 'measurements' (sum rule + distortion, tanh walls)."""
    s, t = np.meshgrid(np.geomspace(1, 16, 5), np.geomspace(0.5, 8, 5), indexing="ij")
    sigma, tau = s.ravel(), t.ravel()
    split = np.zeros(sigma.size, dtype=np.int8)
    split[[6, 12, 18]] = 2
    split[[8, 16]] = 1
    k = wavevectors(32, A)
    f_ideal = analytic_dispersion(k, A_ex=1e-12, M_s=8e5, a=A, K_u=5e4, B=0.1)
    u = np.sin(0.5 * A * k) ** 2
    rho = intact_bond_fraction(sigma, tau).numpy()[:, None]
    bw = f_ideal[-1] - f_ideal[0]
    f = f_ideal[0] + rho * (f_ideal - f_ideal[0]) - 0.05 * bw * (1 - rho) * np.sin(math.pi * u) ** 2
    x = np.linspace(-20, 20, 64)
    p = np.array([occupied_fraction(a, b) for a, b in zip(sigma, tau)])
    width = 4.0 * (1 - 0.5 * (1 - p))
    m_z = np.tanh(x[None] / width[:, None])
    widths = width[:, None] + np.random.default_rng(0).normal(0, 0.3, (sigma.size, 6))
    return SimpleNamespace(sigma=sigma, tau=tau, split=split, k=k, f_ideal=f_ideal, f=f, f_centroid=f, f_std=0 * f,
                           x=x, m_z=m_z,
                           width=width, width_std=widths.std(1), widths=widths)


def test_models_shapes_and_gradients():
    d = synthetic_dataset()
    s, t = torch.tensor(d.sigma[:4], dtype=torch.float32), torch.tensor(d.tau[:4], dtype=torch.float32)
    cnn = DispersionCNN(d.f_ideal, d.sigma, d.tau, channels=8, layers=2)
    fi = torch.tensor(d.f_ideal, dtype=torch.float32).expand(4, -1)
    out = cnn(fi, s, t)
    assert out.shape == (4, d.k.size)
    wall = WallCNN(d.x.size, d.sigma, d.tau, width_ref=4.0, features=16, channels=8)
    profile, width = wall(s, t)
    assert profile.shape == (4, d.x.size) and width.shape == (4,)
    assert profile.abs().max() <= 1 and bool((width > 0).all())
    for model, value in ((cnn, out.square().mean()),
                         (wall, wall_loss(wall, s, t, torch.zeros(4, d.x.size), torch.full((4,), 3.0)))):
        value.backward()
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    with pytest.raises(ValueError, match="f_ideal"):
        cnn(fi[0], s, t)
    with pytest.raises(ValueError, match="n_x"):
        WallCNN(4, d.sigma, d.tau, width_ref=1.0)
    with pytest.raises(ValueError, match="width_ref"):
        WallCNN(64, d.sigma, d.tau, width_ref=-1.0)


@pytest.mark.parametrize("trainer", ["cnn", "pinn", "wall"])
def test_training_decreases_loss_and_resumes(trainer, tmp_path):
    d = synthetic_dataset()
    kw = dict(a=A) if trainer == "pinn" else {}
    train = {"cnn": train_dispersion_cnn, "pinn": train_dispersion_pinn, "wall": train_wall_cnn}[trainer]
    res = train(d, TINY, directory=tmp_path, progress=False, **kw)
    h = res.history["train"]
    assert len(h) == TINY[trainer]["epochs"] and len(res.history["validation"]) == len(h)
    assert h[-1] < 0.5 * h[0]
    again = train(d, TINY, directory=tmp_path, progress=False, **kw)  # finished checkpoint: loaded, not retrained
    assert again.history == res.history
    for p, q in zip(res.model.parameters(), again.model.parameters()):
        assert torch.equal(p, q)


def test_tfc_network_keeps_f0_exactly_after_training(tmp_path):
    d = synthetic_dataset()
    spec = {**TINY, "pinn": {**TINY["pinn"], "epochs": 200}}
    res = train_dispersion_pinn(d, spec, a=A, progress=False)
    test = split_indices(d, 2)
    pred = predict_dispersion(res.model, d.sigma[test], d.tau[test], k=d.k)
    m = dispersion_metrics(pred, d.f[test], d.f_ideal)
    assert m["f0_error"] < 1e-5 * d.f_ideal[0]
    assert m["mae"] < 0.3 * m["mae_ideal"]  # it learned the defects' shift on pairs it never saw


def test_ideal_band_recovers_f0_and_bandwidth():
    d = synthetic_dataset()
    f0, w = ideal_band(d, a=A)
    assert f0 == pytest.approx(d.f_ideal[0], rel=1e-9)
    assert w == pytest.approx(d.f_ideal[-1] - d.f_ideal[0], rel=1e-9)  # k = pi / a is on the grid
    with pytest.raises(ValueError, match="lattice constant"):
        ideal_band(d, a=0.3)


def test_dispersion_and_wall_metrics_values():
    f_true = np.array([[1.0, 2.0, 3.0], [1.0, 3.0, 5.0]])
    f_pred = f_true + np.array([[0.0, 0.5, -0.5], [0.0, 1.0, 0.0]])
    m = dispersion_metrics(f_pred, f_true, np.array([1.0, 3.0, 5.0]))
    assert m["mae"] == pytest.approx(2.0 / 6)
    assert m["rmse"] == pytest.approx(math.sqrt(1.5 / 6))
    assert m["max"] == 1.0 and m["relative_mae"] == pytest.approx(2.0 / 6 / 4)
    assert m["mae_ideal"] == pytest.approx((1 + 2) / 6) and m["f0_error"] == 0.0
    w = wall_metrics([2.0, 3.0, 4.5], [2.5, 3.0, 4.0], widths=[[2.0, np.nan], [3.0, 4.0], [4.0, 5.0]])
    assert w["mean"] == pytest.approx(0.0) and w["std"] == pytest.approx(0.5) and w["mae"] == pytest.approx(1 / 3)
    e = np.array([0.0, 0.0, -1.0, 0.5, -0.5])
    assert w["realisation_mean"] == pytest.approx(e.mean()) and w["realisation_std"] == pytest.approx(e.std(ddof=1))
    table = metrics_table({"CNN": m, "PINN": m}, w)
    assert table.count("dispersion MAE") == 3
    assert "0.835" in table and "0.077" in table and str(PAPER_METRICS["dispersion_mae"][0]) in table
    with pytest.raises(ValueError, match="dispersion"):
        metrics_table({}, w)
    with pytest.raises(ValueError, match="f_pred"):
        dispersion_metrics(f_pred[0], f_true, f_true[0])
    with pytest.raises(ValueError, match="width_pred"):
        wall_metrics([1.0], [1.0, 2.0])


class _AnalyticWall(torch.nn.Module):
    """Width 2 + ln(sigma / tau) nm: the iso-width curves are tau = sigma exp(2 - target)."""

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(()))

    def forward(self, sigma, tau):
        return torch.zeros(len(sigma), 4), 2.0 + torch.log(sigma / tau) + self.dummy


def test_inverse_design_finds_the_iso_width_curve():
    res = inverse_design(_AnalyticWall(), 2.5, sigma_range=(1.0, 10.0), tau_range=(0.1, 10.0), n_sigma=9)
    assert res.sigma.size == 9  # one root per sigma: a curve, not a point
    assert np.allclose(res.tau, res.sigma * math.exp(2 - 2.5), rtol=1e-5)
    assert np.allclose(res.width, 2.5, atol=1e-5)
    assert res.width_grid.shape == (9, 81)
    none = inverse_design(_AnalyticWall(), 50.0, sigma_range=(1.0, 10.0), tau_range=(0.1, 10.0))
    assert none.sigma.size == 0
    with pytest.raises(ValueError, match="target"):
        inverse_design(_AnalyticWall(), -1.0, sigma_range=(1, 2), tau_range=(1, 2))
    with pytest.raises(ValueError, match="sigma_range"):
        inverse_design(_AnalyticWall(), 1.0, sigma_range=(2, 1), tau_range=(1, 2))


def test_predict_walls_and_bad_input():
    d = synthetic_dataset()
    wall = WallCNN(d.x.size, d.sigma, d.tau, width_ref=4.0, features=16, channels=8)
    profile, width = predict_walls(wall, d.sigma[:3], d.tau[:3])
    assert profile.shape == (3, d.x.size) and width.shape == (3,)
    with pytest.raises(ValueError, match="profile"):
        defect_networks_spec("huge")
    assert set(defect_networks_spec("paper")) == {"cnn", "pinn", "wall", "batch_size"}
    with pytest.raises(ValueError, match="split"):
        split_indices(d, 3)
    with pytest.raises(ValueError, match="target"):
        train_dispersion_cnn(d, TINY, target="linewidth")
    with pytest.raises(ValueError, match="k is required"):
        predict_dispersion(DispersionPINN(1.0, 1.0, A, d.sigma, d.tau), d.sigma, d.tau)


def test_directory_is_keyed_by_parameters(tmp_path):
    base = dict(a=A, seed=0, dataset_key="d1", root=tmp_path)
    first = defect_networks_directory("quick", **base)
    assert first == defect_networks_directory("quick", **base)
    assert first != defect_networks_directory("quick", **{**base, "seed": 1})
    assert first != defect_networks_directory("quick", **{**base, "dataset_key": "d2"})
    assert first.parent == tmp_path / "quick"


def test_animate_curves_is_offline_html():
    from mag_ml.plotting import animate_curves

    x = np.linspace(0, 1, 20)
    y = np.stack([x ** p for p in (1, 2, 3)])
    html = animate_curves([dict(x=x, y=y, label="pred", y_ref=y + 0.1, reference=[(x, x, dict(color="k"))]),
                           dict(x=x, y=-y)], ["a", "b", "c"], interval=100)
    assert html.count("data:image/png;base64") == 3 and "font-awesome" not in html
    with pytest.raises(ValueError, match="n_frames"):
        animate_curves([dict(x=x, y=y)], ["a", "b"])


def test_paper_profile_networks_build_and_train_one_epoch():
    """The paper sizes are valid settings of the same trainers (one epoch each, no checkpoint)."""
    d = synthetic_dataset()
    paper = defect_networks_spec("paper")
    for part in ("cnn", "pinn", "wall"):
        paper[part]["epochs"] = 1
    for res in (train_dispersion_cnn(d, paper, progress=False), train_dispersion_pinn(d, paper, a=A, progress=False),
                train_wall_cnn(d, paper, progress=False)):
        assert len(res.history["train"]) == 1 and np.isfinite(res.history["train"][0])
