"""Structure factor (mag_ml.analysis.structure_factor): peaks of known waves, white noise, bad input."""

import math

import numpy as np
import pytest

from mag_ml import random_spins
from mag_ml.analysis.structure_factor import structure_factor

NM = 1e-9


def helix(shape, n, dx=1.0, axis="x"):
    """Cycloid m = (sin, 0, cos)(k r) with k = 2 pi n / L along one axis, (3, H, W)."""
    y, x = np.mgrid[0:shape[0], 0:shape[1]].astype(float)
    phase = 2 * np.pi * n * (x / shape[1] if axis == "x" else y / shape[0])
    return np.stack([np.sin(phase), np.zeros_like(phase), np.cos(phase)])


@pytest.mark.parametrize("axis", ["x", "y"])
def test_helix_peaks_at_its_wavevector(axis):
    dx = 4 * NM
    shape = (64, 64)
    q, S = structure_factor(helix(shape, 7, axis=axis), dx)
    q0 = 2 * np.pi * 7 / (64 * dx)  # period 64 dx / 7
    assert q[np.argmax(S)] == pytest.approx(q0, rel=1e-12)
    # a cosine of unit amplitude: N/4 at each of +-k0, averaged over the shell's modes
    assert S.sum() == pytest.approx(S.max()) and S.max() > 0
    assert np.all(np.delete(S, np.argmax(S)) < 1e-20)
    assert q.shape == S.shape == (33,) and q[1] == pytest.approx(2 * np.pi / (64 * dx))


def test_oblique_wave_is_binned_by_its_length():
    # k = (3, 4) * 2 pi / L has |k| = 5 * 2 pi / L: shell 5
    y, x = np.mgrid[0:40, 0:40]
    phase = 2 * np.pi * (3 * x + 4 * y) / 40
    state = np.stack([np.sin(phase), 0 * phase, np.cos(phase)])
    q, S = structure_factor(state, 1.0)
    assert np.argmax(S) == 5 and q[5] == pytest.approx(5 * 2 * np.pi / 40)


def test_uncorrelated_spins_have_a_flat_structure_factor_equal_to_the_variance():
    # independent spins uniform on the sphere: S(q) = <m_z^2> = 1/3 for every q != 0
    states = np.stack([random_spins((64, 64), seed=2, sample=i) for i in range(8)])
    q, S = structure_factor(states, 1.0)
    assert S[0] == pytest.approx(0.0, abs=1e-20)
    # shells beyond j = 4 hold >= 25 modes x 8 states: relative error ~ 1/sqrt(200) = 7 %
    np.testing.assert_allclose(S[4:], 1 / 3, rtol=0.3)
    assert S[4:].mean() == pytest.approx(1 / 3, rel=0.05)
    _, S_all = structure_factor(states, 1.0, component="all")
    assert S_all[4:].mean() == pytest.approx(1.0, rel=0.05)


def test_batch_is_the_mean_and_dx_scales_q():
    a, b = helix((32, 32), 3), helix((32, 32), 5)
    q, S = structure_factor(np.stack([a, b]), 2.0)
    _, Sa = structure_factor(a, 2.0)
    _, Sb = structure_factor(b, 2.0)
    np.testing.assert_allclose(S, (Sa + Sb) / 2, rtol=1e-12, atol=1e-25)
    q1, _ = structure_factor(a, 1.0)
    np.testing.assert_allclose(q, q1 / 2)
    # rectangular grids: shells of 2 pi / (min(H, W) dx)
    q, S = structure_factor(helix((32, 48), 4, axis="y"), 1.0)
    assert len(q) == 17 and np.argmax(S) == 4


@pytest.mark.parametrize("spins, dx, component, match", [
    (np.zeros((2, 8, 8)), 1.0, "z", "shape"), (np.zeros((3, 1, 8)), 1.0, "z", "shape"),
    (np.full((3, 4, 4), math.nan), 1.0, "z", "finite"), (np.zeros((3, 4, 4)), 0.0, "z", "dx"),
    (np.zeros((3, 4, 4)), 1.0, "w", "component"),
])
def test_bad_input_raises(spins, dx, component, match):
    with pytest.raises(ValueError, match=match):
        structure_factor(spins, dx, component=component)
