"""CNN of Wang et al. 2020 and the estimator: shapes, ranges, bad input, PNG round trip, learning."""

import numpy as np
import pytest
import torch

from mag_ml.chapters.estimation import GRID_RANGES, parameter_grid
from mag_ml.estimation import (Estimator, ParameterScaler, check_parameters, estimate, predict_images,
                               read_observation, relative_errors, window_dataset, write_spin_png)
from mag_ml.io.ovf import write_ovf
from mag_ml.models.cnn import ParameterCNN
from mag_ml.plotting import spin_rgb, spins_from_rgb
from mag_ml.training import fit


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _spins(shape, seed=0):
    s = np.random.default_rng(seed).normal(size=(3, *shape))
    return s / np.linalg.norm(s, axis=0)


@pytest.fixture(scope="module")
def estimator():
    torch.manual_seed(0)
    p = parameter_grid(2)
    return Estimator(ParameterCNN(channels=1, size=32).eval(), ParameterScaler.from_parameters(p), stride=8)


def test_cnn_table_one():
    net = ParameterCNN()
    rows = net.layer_table()
    shapes = [r[1] for r in rows]
    assert (64, 32, 32) in shapes and (64, 16, 16) in shapes and (128, 16, 16) in shapes
    assert shapes[-1] == (3,) and (512,) in shapes and (64,) in shapes
    assert sum(isinstance(m, torch.nn.Dropout) for m in net.modules()) == 3
    # conv 1x64, conv 64x128, fc 32768x512, fc 512x64, fc 64x3 (with biases)
    assert net.n_parameters() == 640 + 73856 + (32768 * 512 + 512) + (512 * 64 + 64) + (64 * 3 + 3)
    y = ParameterCNN(channels=3).eval()(torch.randn(5, 3, 32, 32) * 10)
    assert y.shape == (5, 3) and torch.all((y > 0) & (y < 1))
    with pytest.raises(ValueError, match="channels must be 1"):
        ParameterCNN(channels=2)
    with pytest.raises(ValueError, match=r"input must have shape \(N, 1, 32, 32\)"):
        net(torch.zeros(2, 3, 32, 32))


def test_cnn_widths_dropout_and_polar_input():
    net = ParameterCNN(widths=(16, 32, 128, 64), dropout=0.0, input_map="polar_angle")
    # conv 1x16, conv 16x32, fc 8192x128, fc 128x64, fc 64x3 (with biases)
    assert net.n_parameters() == 160 + 4640 + (8192 * 128 + 128) + (128 * 64 + 64) + (64 * 3 + 3)
    assert all(m.p == 0 for m in net.modules() if isinstance(m, torch.nn.Dropout))
    # the polar angle: m_z = cos(theta) -> 1 - 2 theta / pi, linear in theta; noise beyond +-1 is clipped
    theta = torch.tensor([0.0, 0.1, 0.5, 1.0, 2.0, 3.0, torch.pi])
    mz = torch.cos(theta).reshape(1, 1, 1, -1)
    np.testing.assert_allclose(net.map_input(mz).ravel().numpy(), (1 - 2 * theta / torch.pi).numpy(), atol=1e-5)
    assert net.map_input(torch.tensor([[[[1.3, -1.2]]]])).ravel().tolist() == [1.0, -1.0]
    vec = ParameterCNN(channels=3, input_map="polar_angle")
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    y = vec.map_input(x)
    torch.testing.assert_close(y[:, :2], x[:, :2])  # only m_z is mapped
    torch.testing.assert_close(y[:, 2], 1 - 2 * torch.acos(x[:, 2]) / torch.pi)
    assert ParameterCNN().map_input(x[:, 2:]) is not None and ParameterCNN().input_map == "identity"
    for kw, msg in ((dict(widths=(16, 32, 128)), "widths must be 4 positive integers"),
                    (dict(widths=(16, 0, 128, 64)), "widths must be 4 positive integers"),
                    (dict(dropout=1.5), "dropout must be a factor in"),
                    (dict(input_map="log"), "input_map must be one of")):
        with pytest.raises(ValueError, match=msg):
            ParameterCNN(**kw)


def test_scaler_round_trip_and_errors():
    p = parameter_grid(3)
    sc = ParameterScaler.from_parameters(p)
    y = sc.scale(p)
    assert y.min() == 0 and y.max() == 1 and y.dtype == np.float32
    np.testing.assert_allclose(sc.unscale(y), p, rtol=1e-6)
    np.testing.assert_allclose(sc.low, [r[0] for r in GRID_RANGES])
    bad = p.copy()
    bad[4, 0] = -1e-12
    with pytest.raises(ValueError, match=r"A_ex must be > 0 J/m, got -1e-12 in row 4"):
        ParameterScaler.from_parameters(bad)
    bad = p.copy()
    bad[2, 2] = -5e5
    with pytest.raises(ValueError, match="M_s must be > 0 A/m"):
        check_parameters(bad)
    with pytest.raises(ValueError, match=r"\(n, 3\)"):
        check_parameters(np.ones((4, 2)))


def test_window_dataset_labels():
    p = parameter_grid(2)[:3]
    spins = np.stack([_spins((40, 48), k) for k in range(3)])
    sc = ParameterScaler.from_parameters(parameter_grid(2))
    x, y = window_dataset(p, spins, sc, size=32, stride=8, channels=1)
    assert x.shape == (3 * 6, 1, 32, 32) and y.shape == (18, 3)
    np.testing.assert_array_equal(x[6], spins[1, 2:3, :32, :32].astype(np.float32))
    np.testing.assert_array_equal(y[6:12], np.repeat(sc.scale(p[1:2]), 6, axis=0))


def test_estimate_shapes_ranges_and_inputs(estimator, tmp_path):
    spins = _spins((48, 56))
    est = estimate(spins, estimator)
    assert est.windows.shape == (3 * 4, 3) and est.positions.shape == (12, 2)
    for k, (lo, hi) in enumerate(GRID_RANGES):  # the sigmoid keeps every estimate in the training range
        assert np.all((est.windows[:, k] >= lo) & (est.windows[:, k] <= hi))
    np.testing.assert_allclose(est.mean, est.windows.mean(axis=0))
    np.testing.assert_allclose(est.std, est.windows.std(axis=0))
    assert set(est.as_dict()) == {"A_ex", "D", "M_s"} and "pJ/m" in str(est)
    # an m_z map gives the same estimate for an m_z network; so do OVF and PNG files
    np.testing.assert_allclose(estimate(spins[2], estimator).mean, est.mean, rtol=1e-6)
    write_ovf(tmp_path / "m.ovf", spins, cell=(4e-9, 4e-9, 1e-9), format="binary8")
    np.testing.assert_allclose(estimate(tmp_path / "m.ovf", estimator).mean, est.mean, rtol=1e-6)
    write_spin_png(spins, tmp_path / "m.png")
    assert estimate(str(tmp_path / "m.png"), estimator).windows.shape == (12, 3)
    preds = predict_images(estimator, spins[None].repeat(2, axis=0))
    assert preds.shape == (2, 12, 3)
    np.testing.assert_allclose(preds[0], est.windows, rtol=1e-6)


def test_png_round_trip(tmp_path):
    spins = _spins((20, 30), 3)
    write_spin_png(spins, tmp_path / "s.png")
    back = read_observation(tmp_path / "s.png")
    assert back.shape == (3, 20, 30)
    np.testing.assert_allclose(back[2], spins[2], atol=2.5 / 255)  # 8-bit lightness, row order kept
    np.testing.assert_allclose(np.linalg.norm(back, axis=0), 1.0, atol=1e-12)
    inplane = np.hypot(spins[0], spins[1]) > 0.3
    np.testing.assert_allclose(back[:2, inplane], spins[:2, inplane], atol=0.05)
    np.testing.assert_allclose(spins_from_rgb(spin_rgb(spins)), spins, atol=1e-12)  # exact in floats


def test_bad_input(estimator, tmp_path):
    with pytest.raises(ValueError, match="smaller than a window"):
        estimate(_spins((16, 64)), estimator)
    with pytest.raises(ValueError, match="observation must be"):
        estimate(np.zeros((2, 40, 40)), estimator)
    with pytest.raises(ValueError, match="unknown file type"):
        estimate(tmp_path / "m.npy", estimator)
    with pytest.raises(FileNotFoundError):
        estimate(tmp_path / "missing.png", estimator)
    with pytest.raises(ValueError, match=r"m_z must lie in \[-1, 1\]"):
        estimate(np.full((40, 40), 3.0), estimator)
    with pytest.raises(TypeError, match="estimator must be an Estimator"):
        estimate(_spins((40, 40)), object())
    vector_net = Estimator(ParameterCNN(channels=3), estimator.scaler)
    with pytest.raises(ValueError, match="needs 3"):
        estimate(np.zeros((40, 40)), vector_net)
    with pytest.raises(ValueError, match="A_ex must be > 0"):
        relative_errors([[-1e-12, 3e-3, 1e6]], [[1e-12, 3e-3, 1e6]])


def test_relative_errors():
    t = np.array([[10e-12, 3e-3, 1e6], [20e-12, -4e-3, 0.5e6]])
    e = t * np.array([1.1, 0.8, 1.0])
    np.testing.assert_allclose(relative_errors(t, e), [0.1, 0.2, 0.0])


def test_loss_decreases_on_a_tiny_problem(tmp_path):
    """Windows whose mean m_z encodes the target: the CNN must learn it (MSE falls well below the baseline)."""
    rng = np.random.default_rng(0)
    n = 96
    level = rng.uniform(0, 1, n)
    x = (2 * level - 1)[:, None, None, None] + 0.05 * rng.normal(size=(n, 1, 16, 16))
    y = np.stack([level, 1 - level, level ** 2], axis=1)
    torch.manual_seed(0)
    res = fit(ParameterCNN(size=16), (x.clip(-1, 1).astype(np.float32), y.astype(np.float32)), epochs=6,
              batch_size=16, lr=1e-3, progress=False, directory=tmp_path / "fit", seed=0)
    h = res.history["train"]
    assert h[-1] < 0.5 * h[0]
    with torch.no_grad():
        mse = float(torch.mean((res.model(torch.as_tensor(x, dtype=torch.float32).clamp(-1, 1))
                                - torch.as_tensor(y, dtype=torch.float32)) ** 2))
    assert mse < 0.2 * y.var(axis=0).mean()
