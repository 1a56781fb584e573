"""Unit tests of mag_ml.analysis.collapse on constructed inputs (chapters 4 and 5)."""

import numpy as np
import pytest

import mag_ml
from mag_ml.analysis.collapse import (align_translation, critical_gamma, fourier_moduli, fourier_mse,
                                      lowest_lattice_energy, shift, skyrmion_lattice, theta_distribution)
from mag_ml.analysis.spirals import skyrmion

PAPER = mag_ml.Hamiltonian(J=1.0, D=0.3, B=0.05)


def _random_state(rng, shape):
    v = rng.normal(size=(3, *shape))
    return v / np.linalg.norm(v, axis=0)


def test_theta_distribution_relaxed_state_concentrated_at_zero():
    rng = np.random.default_rng(0)
    start = _random_state(rng, (16, 16))
    relaxed, _ = mag_ml.relax(PAPER, start)
    centres, density = theta_distribution(PAPER, relaxed, bins=30)
    width = np.pi / 30
    assert centres.shape == density.shape == (30,)
    assert np.isclose((density * width).sum(), 1.0)
    assert density[0] * width > 0.99  # everything in the first bin (theta < 6 degrees)
    # a random state is spread out; batches (numpy or torch float32) are pooled
    c2, d2 = theta_distribution(PAPER, np.stack([start, start]), bins=30)
    assert d2[0] * width < 0.2
    torch = pytest.importorskip("torch")
    _, d3 = theta_distribution(PAPER, torch.as_tensor(np.stack([relaxed, start]), dtype=torch.float32), bins=30)
    assert np.isclose(d3[0] * width, 0.5 * (density[0] + d2[0]) * width, atol=0.02)
    with pytest.raises(TypeError):
        theta_distribution("not a hamiltonian", relaxed)


def test_fourier_mse_zero_for_translations_positive_otherwise():
    base = skyrmion((16, 16), 3.0)
    copies = np.stack([shift(base, dy, dx) for dy, dx in [(0, 0), (3, -5), (8, 8), (-1, 2)]])
    assert abs(fourier_mse(copies)) < 1e-14  # zero up to the rounding of the streamed sums
    other = np.stack([base, skyrmion((16, 16), 5.0)])
    assert fourier_mse(other) > 1e-3
    # sums-of-squares form equals the explicit mean over pairs
    rng = np.random.default_rng(1)
    states = np.stack([_random_state(rng, (8, 8)) for _ in range(5)])
    a = fourier_moduli(states)
    pairs = [np.mean((a[i] - a[j]) ** 2) for i in range(5) for j in range(i + 1, 5)]
    assert np.isclose(fourier_mse(states), np.mean(pairs), rtol=1e-12)
    assert np.isclose(fourier_mse(states[:, 2]), np.mean(pairs), rtol=1e-12)  # S_z maps directly
    with pytest.raises(ValueError):
        fourier_mse(states[:1])


def test_fourier_mse_streamed_in_chunks_equals_one_pass():
    """Chunks of 1, 2, 3 (an (3, H, W) block of maps stays maps) and all states give the same MSE."""
    rng = np.random.default_rng(2)
    states = np.stack([_random_state(rng, (8, 12)) for _ in range(7)]).astype(np.float32)
    whole = fourier_mse(states, chunk=7)
    a = fourier_moduli(states)
    pairs = [np.mean((a[i] - a[j]) ** 2) for i in range(7) for j in range(i + 1, 7)]
    assert np.isclose(whole, np.mean(pairs), rtol=1e-12)
    for chunk in (1, 2, 3, 100):
        assert np.isclose(fourier_mse(states, chunk=chunk), whole, rtol=1e-12)
        assert np.isclose(fourier_mse(states[:, 2], chunk=chunk), whole, rtol=1e-12)
    with pytest.raises(ValueError, match="chunk must be"):
        fourier_mse(states, chunk=0)


def test_fourier_mse_runs_on_the_device_it_is_given():
    """The torch transforms on ``device`` agree with numpy's moduli (the explicit pair mean); a missing GPU is named."""
    import torch

    rng = np.random.default_rng(3)
    states = np.stack([_random_state(rng, (8, 8)) for _ in range(6)])
    a = fourier_moduli(states)  # numpy's FFT: an independent reference
    pairs = np.mean([np.mean((a[i] - a[j]) ** 2) for i in range(6) for j in range(i + 1, 6)])
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        assert np.isclose(fourier_mse(states, chunk=4, device=device), pairs, rtol=1e-12)
        assert np.isclose(fourier_mse(torch.from_numpy(states), device=device), pairs, rtol=1e-12)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device='cuda'"):
            fourier_mse(states, device="cuda")
    with pytest.raises(ValueError, match="device must be"):
        fourier_mse(states, device="tpu")


def test_critical_gamma():
    gammas = [0, 1, 3, 10, 30, 100]
    assert critical_gamma(gammas, [1.0, 0.5, 0.001, 0.2, 0.001, 0.0], 0.01) == 30  # a dip does not count
    assert critical_gamma(gammas[::-1], [0.0, 0.001, 0.2, 0.001, 0.5, 1.0], 0.01) == 30  # order-free
    assert critical_gamma(gammas, [0.0] * 6, 0.01) == 0
    assert np.isnan(critical_gamma(gammas, [1, 1, 1, 1, 1, 1], 0.01))
    with pytest.raises(ValueError):
        critical_gamma([0, 1], [1.0], 0.1)
    with pytest.raises(ValueError):
        critical_gamma([0, 1], [1.0, 0.0], 0.0)


@pytest.mark.parametrize("dy, dx", [(0, 0), (3, -5), (-8, 7), (5, 2)])
def test_align_translation_recovers_roll(dy, dx):
    rng = np.random.default_rng(2)
    b = _random_state(rng, (16, 16))
    a = np.roll(b, (dy, dx), axis=(-2, -1))
    got_dy, got_dx, peak = align_translation(a, b)
    assert (got_dy, got_dx) == (dy, dx)
    assert np.isclose(peak, 1.0)
    assert np.array_equal(shift(b, got_dy, got_dx), a)
    # a different state correlates less
    assert align_translation(_random_state(rng, (16, 16)), b)[2] < 0.9


def test_shift_torch_matches_numpy():
    torch = pytest.importorskip("torch")
    x = np.arange(2 * 3 * 4 * 6, dtype=np.float32).reshape(2, 3, 4, 6)
    assert np.array_equal(shift(torch.as_tensor(x), 1, -2).numpy(), shift(x, 1, -2))
    with pytest.raises(ValueError):
        shift(x, 0.5, 0)


def test_skyrmion_lattice_relaxes_to_integer_negative_charge():
    start = skyrmion_lattice((32, 32), 16.0)
    assert np.allclose(np.linalg.norm(start, axis=0), 1.0)
    assert round(mag_ml.topological_charge(start)) == -4
    relaxed, _ = mag_ml.relax(PAPER, start)
    q = mag_ml.topological_charge(relaxed)
    assert q < -0.5 and abs(q - round(q)) < 1e-6
    # rotated (not snapped) lattice is still a valid trial state
    q_rot = mag_ml.topological_charge(mag_ml.relax(PAPER, skyrmion_lattice((32, 32), 16.0, 0.3))[0])
    assert q_rot < -0.5 and abs(q_rot - round(q_rot)) < 1e-6
    with pytest.raises(ValueError):
        skyrmion_lattice((32, 32), 16.0, radius=10.0)


def test_lowest_lattice_energy_picks_minimum():
    res = lowest_lattice_energy(PAPER, (32, 32), [11.0, 16.0], [0.0, 0.3])
    assert res.energies.shape == res.charges.shape == (2, 2)
    assert res.energy == res.energies.min()
    assert np.isclose(PAPER.energy(res.state) / 32 ** 2, res.energy)
    assert np.allclose(res.charges, np.round(res.charges), atol=1e-6)
    assert np.all(res.charges < 0)
