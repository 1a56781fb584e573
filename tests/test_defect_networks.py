"""Dispersion CNN, two-branch wall CNN, their training drivers, metrics and inverse design."""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from mag_ml.analysis.defect_networks import (BASELINES, PAPER_METRICS, bootstrap_dispersion, bootstrap_draws,
                                             bootstrap_walls, dispersion_baselines, dispersion_metrics,
                                             dispersion_table, ideal_band, inverse_design, metrics_table,
                                             target_noise_floor,
                                             predict_dispersion, predict_walls, ranking_text, split_indices,
                                             verdict_line, wall_baselines, wall_metrics, wall_table,
                                             INVERSE_COMBINATIONS, bootstrap_inverse, identifiability_text,
                                             inverse_baselines, inverse_coverage, inverse_table, predict_inverse)
from mag_ml.chapters.defects import (defect_networks_spec, train_dispersion_cnn, train_dispersion_pinn,
                                     train_inverse_cnn, train_wall_cnn)
from mag_ml.chapters.defects import defect_networks_directory
from mag_ml.physics.magnons import analytic_dispersion
from mag_ml.models import DefectInverseCNN, DispersionCNN, DispersionPINN, WallCNN, inverse_loss, wall_loss
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
            wall=dict(features=16, channels=8, epochs=60, lr=3e-3, width_weight=1.0),
            inverse=dict(features=16, channels=8, epochs=60, lr=3e-3), batch_size=64)


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
    m_z_r = np.tanh(x[None, None] / widths[:, :, None])
    return SimpleNamespace(m_z_r=m_z_r, sigma=sigma, tau=tau, split=split, k=k, f_ideal=f_ideal, f=f, f_centroid=f, f_std=0 * f,
                           x=x, m_z=m_z,
                           width=width, width_std=widths.std(1), widths=widths, wall_width=4.0)


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


def test_baselines_are_the_formulas():
    d = synthetic_dataset()
    train = split_indices(d, 0)
    f0 = float(d.f_ideal[0])
    base = dispersion_baselines(d, train, f0=f0)
    assert tuple(base) == BASELINES and all(b.shape == d.f.shape for b in base.values())
    # the synthetic "measurement" is the sum rule minus a distortion that vanishes at k = 0 and for rho_b = 1
    rho = intact_bond_fraction(d.sigma, d.tau).numpy()[:, None]
    assert np.allclose(base["sum rule"], f0 + rho * (d.f_ideal - f0))
    assert np.allclose(base["sum rule"][:, 0], f0) and np.allclose(base["dilution law"][:, 0], f0)
    # runs of vacancies remove fewer bonds than the occupied fraction says: the dilution law lies below the sum rule
    assert np.all(base["dilution law"][:, 1:] < base["sum rule"][:, 1:])
    assert np.allclose(base["ideal (defect-free)"], d.f_ideal[None])
    assert np.allclose(base["training mean"], d.f_centroid[train].mean(0))
    walls = wall_baselines(d, train)
    p = d.sigma / (d.sigma + d.tau)
    assert walls["sum rule"] is None and np.allclose(walls["dilution law"], 4.0 / np.sqrt(p))
    assert np.all(walls["dilution law"] > 4.0) and np.allclose(walls["ideal (defect-free)"], 4.0)
    assert np.allclose(walls["training mean"], d.width[train].mean())
    with pytest.raises(ValueError, match="train"):
        wall_baselines(d, [])


def test_bootstrap_resamples_pairs_then_realisations():
    rng = np.random.default_rng(1)
    n_p, n_r, n_k = 5, 4, 3
    c = 10 + rng.normal(0, 1, (n_p, n_r, n_k))
    w = rng.uniform(0.5, 2.0, (n_p, n_r, n_k))
    target = (w * c).sum(1) / w.sum(1)
    pred = {"good": target + 0.1, "bad": target + rng.normal(0, 2, target.shape)}
    boot = bootstrap_dispersion(pred, c, w, n_boot=200, seed=3)
    assert boot["good"]["value"] == pytest.approx(0.1)
    assert boot["bad"]["value"] == pytest.approx(np.abs(pred["bad"] - target).mean())
    pairs, reals = bootstrap_draws(n_p, n_r, n_boot=200, seed=3)  # the same draws, recomputed by hand
    for b in (0, 7, 199):
        t_b = np.stack([(w[pp, reals[b, j]] * c[pp, reals[b, j]]).sum(0) / w[pp, reals[b, j]].sum(0)
                        for j, pp in enumerate(pairs[b])])
        assert boot["bad"]["draws"][b] == pytest.approx(np.abs(pred["bad"][pairs[b]] - t_b).mean())
    assert boot["bad"]["lo"] <= boot["bad"]["value"] <= boot["bad"]["hi"] and boot["bad"]["draws"].shape == (200,)
    # a predictor off by a constant much smaller than the realisation noise: resampling the realisations adds
    # that noise to the target, so every resampled MAE lies above the measured one, and the basic interval,
    # which subtracts that bias, lies below it (the measured MAE is mostly the targets' own noise)
    assert np.all(boot["good"]["draws"] > boot["good"]["value"])
    assert 0 <= boot["good"]["lo"] <= boot["good"]["hi"] < boot["good"]["value"]
    floor = target_noise_floor(c, w)
    se = np.sqrt(4 / 3 * ((w / w.sum(1, keepdims=True)) ** 2 * (c - target[:, None]) ** 2).sum(1))
    assert floor == pytest.approx(np.sqrt(2 / np.pi) * se.mean())
    assert 0.2 < floor < 0.8  # unit scatter, 4 realisations of unequal weight: about 0.8 / sqrt(4)
    # walls: the spread of single realisations about their pair's mean is a floor no predictor removes
    widths = 5 + rng.normal(0, 0.4, (n_p, 40))
    wb = bootstrap_walls({"exact means": widths.mean(1), "none": None}, widths, n_boot=200, seed=0)
    e = widths.mean(1)[:, None] - widths
    assert wb["none"] is None and wb["exact means"]["std"]["value"] == pytest.approx(e.std(ddof=1))
    assert wb["exact means"]["std"]["value"] == pytest.approx(0.4, rel=0.15)
    assert wb["exact means"]["mae_mean"]["value"] == pytest.approx(0.0, abs=1e-12)
    assert wb["exact means"]["mean"]["lo"] < 0 < wb["exact means"]["mean"]["hi"]
    with pytest.raises(ValueError, match="shape"):
        bootstrap_dispersion({"x": target[:2]}, c, w)
    with pytest.raises(ValueError, match="level"):
        bootstrap_walls({}, widths, level=1.5)


def test_tables_and_generated_verdicts_follow_the_numbers():
    def stat(v, draws):
        return dict(value=v, lo=v - 1, hi=v + 1, draws=np.asarray(draws, dtype=float))

    scores = {"CNN": stat(20.0, [19, 21, 22, 18]), "sum rule": stat(14.0, [13, 15, 23, 17]),
              "ideal (defect-free)": stat(60.0, [60] * 4), "no width": None}
    text = ranking_text(scores, networks=["CNN"], quantity="MAE", unit="GHz")
    assert "sum rule 14 GHz < CNN 20 GHz < ideal (defect-free) 60 GHz" in text
    assert "is not distinguished by this run from the best baseline, the sum rule" in text
    assert "better in 25 %" in text
    scores["CNN"] = stat(20.0, [19, 21, 24, 18])  # worse in every paired resample
    line = verdict_line(scores, networks=["CNN"], quantity="MAE", unit="GHz")
    assert "the CNN, is worse than the best baseline, the sum rule" in line and "better in 0 %" in line
    scores["CNN"] = stat(13.0, [9, 11, 12, 16])  # better in every paired resample
    assert "beats the best baseline, the sum rule" in ranking_text(scores, networks=["CNN"], quantity="MAE", unit="")
    assert "better in 100 %" in verdict_line(scores, networks=["CNN"], quantity="MAE", unit="")
    with pytest.raises(ValueError, match="baseline"):
        ranking_text({"CNN": scores["CNN"]}, networks=["CNN"], quantity="MAE", unit="")
    table = dispersion_table({k: v for k, v in scores.items() if v is not None}, networks=["CNN"], bandwidth=100.0)
    assert table.count("| baseline |") == 2 and "| CNN | network | 13 [12, 14] | 13.0 % |" in table
    assert "quoted by a review" in table and str(PAPER_METRICS["dispersion_mae"][1]) in table
    wt = wall_table({"wall CNN": dict(std=stat(1.0, [1]), mean=stat(0.0, [0]), mae_mean=stat(0.5, [0.5])),
                     "sum rule": None}, networks=["wall CNN"])
    assert "| sum rule | baseline | no width prediction |" in wt and "0.835" in wt
    with pytest.raises(ValueError, match="networks"):
        wall_table({}, networks=["wall CNN"])


def test_inverse_network_and_its_baselines():
    d = synthetic_dataset()
    net = DefectInverseCNN(d.x.size, d.sigma, d.tau, width_ref=4.0, features=16, channels=8)
    m = torch.as_tensor(d.m_z_r[:, 0], dtype=torch.float32)
    w = torch.as_tensor(d.widths[:, 0], dtype=torch.float32)
    s, t = (torch.as_tensor(v, dtype=torch.float32) for v in (d.sigma, d.tau))
    mean, logvar = net(m, w)
    assert mean.shape == logvar.shape == (d.sigma.size, 2)
    loss = inverse_loss(net, m, w, s, t)
    loss.backward()
    assert torch.isfinite(loss) and all(p.grad is not None for p in net.parameters())
    mean_log, std_log = predict_inverse(net, d.m_z_r[:, 0], d.widths[:, 0])
    assert mean_log.shape == std_log.shape == (d.sigma.size, 2) and np.all(std_log > 0)
    with pytest.raises(ValueError, match="m_z"):
        net(m[:, :10], w)
    # the dilution law, inverted, recovers tau / sigma exactly from widths that obey it (not sigma and tau apart)
    true_log = np.log(np.stack([d.sigma, d.tau], axis=1))
    law_widths = 4.0 * np.sqrt(1 + d.tau / d.sigma)
    base = inverse_baselines(law_widths, wall_width=4.0, train_sigma=d.sigma, train_tau=d.tau)
    assert base["sum rule"] is None and base["ideal (defect-free)"] is None
    assert np.allclose(base["dilution law"][:, 1] - base["dilution law"][:, 0], true_log[:, 1] - true_log[:, 0])
    assert np.allclose(base["training mean"], true_log.mean(0))
    n_p = d.sigma.size
    boot = bootstrap_inverse({"exact": true_log, **base}, true_log, n_p, n_boot=50)
    assert all(boot["exact"][c]["value"] == 0 for c in INVERSE_COMBINATIONS)
    assert boot["dilution law"]["log(tau/sigma)"]["value"] == pytest.approx(0, abs=1e-9)
    assert boot["dilution law"]["log sigma"]["value"] > 0.1 and boot["training mean"]["log tau"]["value"] > 0.1
    table = inverse_table(boot, networks=["exact"])
    assert "| sum rule | baseline | does not apply |" in table and "RMSE log lambda" in table
    text = identifiability_text(boot, true_log, network="dilution law")
    assert "log(tau/sigma) is determined" in text and "log lambda is not determined" in text
    cov = inverse_coverage(true_log + 0.5, np.full_like(true_log, 1.0), true_log)
    assert np.allclose(cov, 1.0) and np.allclose(inverse_coverage(true_log + 2, np.ones_like(true_log), true_log), 0)
    with pytest.raises(ValueError, match="true_log"):
        bootstrap_inverse({"x": true_log}, true_log[:-1], n_p)


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
    assert set(defect_networks_spec("paper")) == {"cnn", "pinn", "wall", "inverse", "depinning", "line_shape",
                                                 "batch_size"}
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
    for part in ("cnn", "pinn", "wall", "inverse"):
        paper[part]["epochs"] = 1
    for res in (train_dispersion_cnn(d, paper, progress=False), train_dispersion_pinn(d, paper, a=A, progress=False),
                train_wall_cnn(d, paper, progress=False), train_inverse_cnn(d, paper, progress=False)):
        assert len(res.history["train"]) == 1 and np.isfinite(res.history["train"][0])
