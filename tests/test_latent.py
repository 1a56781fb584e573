"""Unit tests of mag_ml.analysis.latent on a tiny SpinVAE (chapter 4)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import mag_ml  # noqa: E402
from mag_ml.analysis.latent import barrier, interpolate, inverse_map  # noqa: E402
from mag_ml.analysis.spirals import skyrmion  # noqa: E402
from mag_ml.models import SpinVAE  # noqa: E402


@pytest.fixture
def tiny_vae():
    torch.manual_seed(0)
    return SpinVAE(16, latent_dim=8, channels=(2, 2, 4, 4), hidden=16)


def test_inverse_map_reduces_mse_and_freezes_model(tiny_vae):
    target = skyrmion((16, 16), 3.0).astype(np.float32)
    before = {k: v.clone() for k, v in tiny_vae.state_dict().items()}
    tiny_vae.train()
    z, hist = inverse_map(tiny_vae, target, steps=150, lr=0.05, tol=0.0)
    assert z.shape == (1, 8) and hist.shape == (151,)
    assert hist[-1] < hist[0] and np.all(np.isfinite(hist))
    assert tiny_vae.training  # mode restored
    assert all(p.requires_grad for p in tiny_vae.parameters())
    assert all(torch.equal(v, tiny_vae.state_dict()[k]) for k, v in before.items())  # weights untouched
    # history measures the returned z
    tiny_vae.eval()
    with torch.no_grad():
        mse = torch.mean((tiny_vae.decode(z) - torch.as_tensor(target)) ** 2).item()
    assert np.isclose(mse, hist[-1], rtol=1e-5)


def test_inverse_map_recovers_a_reachable_target(tiny_vae):
    tiny_vae.eval()
    torch.manual_seed(2)
    with torch.no_grad():
        target = tiny_vae.decode(torch.randn(2, 8))  # a batch of states the decoder can produce
    _, hist = inverse_map(tiny_vae, target, steps=300, lr=0.05, tol=0.0)
    assert hist[-1] < 0.2 * hist[0]


def test_inverse_map_stops_on_saturation(tiny_vae):
    target = skyrmion((16, 16), 3.0)
    _, hist = inverse_map(tiny_vae, target, steps=5000, lr=0.05, tol=1e-2, window=10)
    assert len(hist) < 5001


def test_interpolate_endpoints_and_energy(tiny_vae):
    torch.manual_seed(1)
    z0, z1 = torch.randn(8), torch.randn(1, 8)
    ham = mag_ml.Hamiltonian(J=1.0, D=0.3, B=0.05)
    path = interpolate(tiny_vae, z0, z1, n=7, hamiltonian=ham)
    assert path.states.shape == (7, 3, 16, 16) and path.energy.shape == (7,)
    tiny_vae.eval()
    with torch.no_grad():
        d0, d1 = tiny_vae.decode(z0.reshape(1, -1)), tiny_vae.decode(z1)
    assert torch.allclose(path.states[0], d0[0], atol=1e-6)
    assert torch.allclose(path.states[-1], d1[0], atol=1e-6)
    assert np.isclose(path.energy[3], ham.energy(path.states[3:4].double()).item() / 256)
    assert np.array_equal(path.t, np.linspace(0, 1, 7))
    assert interpolate(tiny_vae, z0, z1, n=3).energy is None


def test_barrier_on_synthetic_curve():
    x = np.linspace(-1, 1, 21)
    e = -2.05 + 0.01 * np.exp(-((x - 0.2) / 0.2) ** 2) - 0.005 * (np.arange(21) > 12)
    b = barrier(e)
    assert b.index == 12
    assert np.isclose(b.height, e[12] - e[0])
    assert np.isclose(b.height_end, e[12] - e[-1])
    assert b.R[12] == 0 and b.R[0] == 12 and b.R[-1] == -8  # R > 0 toward the start (Note S1)
    assert barrier([3.0, 2.0, 1.0]).height == 0.0


def test_barrier_width_and_slope_of_a_triangle():
    """A triangular barrier rising 1 per step from 0 to 4 and falling 2 per step to 0: half heights at
    2 steps before the peak and 1 after it, so a width of 3 steps and a steepest slope of 2."""
    e = [0.0, 1.0, 2.0, 3.0, 4.0, 2.0, 0.0]
    b = barrier(e)
    assert b.index == 4 and np.isclose(b.width, 3.0) and np.isclose(b.max_slope, 2.0)
    # each side falls half way to its own end value; a peak at the end has no second side
    assert np.isclose(barrier([0.0, 4.0, 3.5]).width, 0.5 + 0.5)
    assert np.isclose(barrier([0.0, 2.0, 4.0]).width, 1.0)
    with pytest.raises(ValueError):
        barrier([])
