"""Calibrated intervals and out-of-range flags of the estimator (mag_ml.estimation.calibrate, Estimate)."""

import numpy as np
import pytest
import torch

from mag_ml.chapters.estimation import parameter_grid
from mag_ml.estimation import EDGE, Estimator, ParameterScaler, calibrate, estimate, predict_images
from mag_ml.models.cnn import ParameterCNN


class Fixed(torch.nn.Module):
    """A stand-in network that outputs given scaled values for every window."""

    size, channels = 32, 1

    def __init__(self, y):
        super().__init__()
        self.y = torch.nn.Parameter(torch.as_tensor(y, dtype=torch.float32))

    def forward(self, x):
        return self.y.detach().expand(len(x), 3)


def _spins(shape, seed=0):
    s = np.random.default_rng(seed).normal(size=(3, *shape))
    return s / np.linalg.norm(s, axis=0)


def _estimator(y):
    est = Estimator(ParameterCNN(channels=1, size=32), ParameterScaler.from_parameters(parameter_grid(2)))
    est.model = Fixed(y)
    return est


def test_conformal_halfwidth_from_calibration_images():
    est = _estimator([0.5, 0.5, 0.5])
    centre = np.array(est.scaler.unscale([0.5, 0.5, 0.5]))
    rng = np.random.default_rng(0)
    truth = centre * (1 + 0.01 * np.arange(1, 10)[:, None] * rng.choice([-1, 1], size=(9, 3)))
    images = np.stack([_spins((40, 40), k) for k in range(9)])
    cal = calibrate(est, truth, images, level=0.8)
    # residuals are 1 %, 2 %, ..., 9 % of the centre: the ceil(10 * 0.8) = 8th smallest is 8 %
    np.testing.assert_allclose(cal.halfwidth, 0.08 * centre, rtol=1e-6)
    assert cal.level == 0.8 and est.halfwidth is None  # the original is unchanged
    result = estimate(images[0], cal)
    np.testing.assert_allclose(result.interval[:, 1] - result.interval[:, 0], 2 * 0.08 * centre, rtol=1e-6)
    assert "[" in str(result) and "80 %" in str(result)
    assert result.flags == {}
    with pytest.raises(ValueError, match="too few"):
        calibrate(est, truth[:3], images[:3], level=0.9)
    with pytest.raises(ValueError, match="rows"):
        calibrate(est, truth, images[:4])


def test_estimates_at_the_range_edge_are_flagged():
    edge = _estimator([EDGE / 2, 0.5, 1 - EDGE / 4])
    result = estimate(_spins((40, 40)), edge)
    assert set(result.flags) == {"A_ex", "M_s"} and "edge of the training range" in result.flags["A_ex"]
    assert result.interval is None and "window spread" in str(result)
    inside = estimate(_spins((40, 40)), _estimator([2 * EDGE, 0.5, 1 - 2 * EDGE]))
    assert inside.flags == {}
    assert predict_images(edge, _spins((40, 40))[None]).shape == (1, 4, 3)


def test_predict_images_needs_a_set_of_images():
    est = _estimator([0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match=r"set of images \(n, 3, H, W\)"):
        predict_images(est, _spins((64, 64)))
