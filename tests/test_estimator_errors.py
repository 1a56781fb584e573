"""Errors, baselines and conformal intervals of the estimator chapter (mag_ml.analysis.estimator_errors)."""

import numpy as np
import pytest

from mag_ml.analysis.estimator_errors import (TextureRegression, bootstrap_interval, conformal_halfwidth,
                                              constant_predictor, coverage, error_table, nrmse, relative_error,
                                              texture_features)

RANGES = [(10.0, 20.0), (3.0, 5.0)]


def test_nrmse_and_relative_error_by_hand():
    true = np.array([[10.0, 3.0], [20.0, 5.0]])
    pred = np.array([[11.0, 3.0], [18.0, 5.5]])
    np.testing.assert_allclose(nrmse(true, pred, RANGES), [np.sqrt((1 + 4) / 2) / 10, np.sqrt(0.25 / 2) / 2])
    np.testing.assert_allclose(relative_error(true, pred), [(0.1 + 0.1) / 2, (0 + 0.1) / 2])
    with pytest.raises(ValueError, match="ranges"):
        nrmse(true, pred, [(1, 0), (0, 1)])
    with pytest.raises(ValueError, match="same shape"):
        nrmse(true, pred[:1], RANGES)


def test_constant_predictor_of_a_uniform_grid():
    """The grid centre's range-normalised RMSE on a uniform 1D grid of m points is sqrt((m+1)/(12(m-1)))."""
    m = 5
    true = np.column_stack([np.linspace(10, 20, m), np.linspace(3, 5, m)])
    const = constant_predictor(RANGES, m)
    assert const.shape == (m, 2) and np.all(const == [15.0, 4.0])
    np.testing.assert_allclose(nrmse(true, const, RANGES), np.sqrt((m + 1) / (12 * (m - 1))))


def test_bootstrap_interval_brackets_the_value_and_shrinks_with_n():
    rng = np.random.default_rng(0)
    widths = []
    for n in (20, 320):
        true = rng.uniform(10, 20, (n, 2))
        pred = true + rng.normal(0, 1.0, (n, 2))
        lo, hi = bootstrap_interval(lambda t, p: nrmse(t, p, RANGES), true, pred, seed=1)
        value = nrmse(true, pred, RANGES)
        assert np.all(lo <= value) and np.all(value <= hi)
        widths.append(hi - lo)
    assert np.all(widths[1] < 0.5 * widths[0])  # ~ 1/sqrt(n)
    rows = error_table(true, {"a": pred, "c": constant_predictor(RANGES, len(true))}, RANGES, names=["x", "y"])
    assert [(r["predictor"], r["parameter"]) for r in rows] == [("a", "x"), ("a", "y"), ("c", "x"), ("c", "y")]
    assert rows[0]["nrmse_lo"] <= rows[0]["nrmse"] <= rows[0]["nrmse_hi"]


def test_conformal_intervals_cover_at_the_nominal_level():
    """Exchangeable calibration and test residuals: coverage >= level on average over many splits."""
    rng = np.random.default_rng(2)
    covered = []
    for _ in range(400):
        cal = rng.standard_t(3, size=(19, 2))
        test = rng.standard_t(3, size=(50, 2))
        hw = conformal_halfwidth(cal, 0.9)
        covered.append(coverage(np.zeros_like(test), test, hw))
    mean = np.mean(covered, axis=0)
    assert np.all(mean >= 0.9 - 0.01) and np.all(mean < 0.9 + 0.05)  # exact: 18/20 = 0.9
    assert np.all(np.isinf(conformal_halfwidth(np.ones((5, 2)), 0.9)))  # 5 points cannot give 90 %
    np.testing.assert_array_equal(conformal_halfwidth(np.arange(1, 10)[:, None], 0.8), [8])  # ceil(10 * 0.8) = 8th


def test_texture_features_read_the_period():
    x = np.arange(64) * 4e-9
    period = 16 * 4e-9
    theta = 2 * np.pi * x / period
    spins = np.zeros((1, 3, 64, 64))
    spins[0, 0] = np.sin(theta)[None, :]
    spins[0, 2] = np.cos(theta)[None, :]
    q, mean, var = texture_features(spins, 4e-9)[0]
    assert q == pytest.approx(2 * np.pi / period) and abs(mean) < 1e-12 and var == pytest.approx(0.5)


def test_texture_regression_recovers_a_quadratic_law():
    rng = np.random.default_rng(3)
    f = rng.normal(size=(40, 3))
    y = np.column_stack([1 + 2 * f[:, 0] - f[:, 1] * f[:, 2], 3 * f[:, 1] ** 2])
    model = TextureRegression(f, y)
    g = rng.normal(size=(10, 3))
    np.testing.assert_allclose(model.predict(g), np.column_stack([1 + 2 * g[:, 0] - g[:, 1] * g[:, 2],
                                                                  3 * g[:, 1] ** 2]), atol=1e-9)
    with pytest.raises(ValueError, match="n >= 10"):
        TextureRegression(f[:5], y[:5])
