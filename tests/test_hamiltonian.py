"""The Hamiltonian against analytic energies, finite differences and its torch twin."""

import numpy as np
import pytest
import torch

from mag_ml import Hamiltonian
from tests.conftest import random_unit

KINDS = [("interfacial", "periodic"), ("interfacial", "open"), ("bulk", "periodic"), ("bulk", "open")]


def uniform(shape, direction=(0.0, 0.0, 1.0)):
    return np.broadcast_to(np.asarray(direction, float)[:, None, None], (3, *shape)).copy()


@pytest.mark.parametrize("B,K", [(0.05, 0.0), (-0.3, 0.2)])
def test_uniform_state_energy(B, K):
    H = Hamiltonian(J=1.0, D=0.3, B=B, K=K)
    h, w = 8, 6
    n = h * w
    assert H.energy(uniform((h, w))) == pytest.approx(-2 * n - B * n - K * n, rel=1e-14)
    e_open = Hamiltonian(J=1.0, D=0.3, B=B, K=K, boundary="open").energy(uniform((h, w)))
    bonds = h * (w - 1) + w * (h - 1)
    assert e_open == pytest.approx(-bonds - B * n - K * n, rel=1e-14)
    # per-site energies add up to the total
    assert H.energy_per_site(uniform((h, w))).sum() == pytest.approx(H.energy(uniform((h, w))))


@pytest.mark.parametrize("dmi,plane", [("interfacial", (0, 2)), ("bulk", (1, 2))])
def test_spiral_energy_and_wavevector(dmi, plane):
    """Flat spiral along x: E/N = -J cos q - J - D |sin q| for the favoured chirality;
    the best commensurate period lies next to 2 pi / atan(D / J)."""
    J, D = 1.0, 0.3
    H = Hamiltonian(J=J, D=D, B=0.0, dmi=dmi)
    w = 64
    energies = {}
    for m in range(-8, 9):
        q = 2 * np.pi * m / w
        s = np.zeros((3, 4, w))
        x = np.arange(w)
        s[plane[0]] = np.sin(q * x)
        s[plane[1]] = np.cos(q * x)
        e = H.energy(s) / s[0].size
        energies[q] = e
        sign = 1.0 if dmi == "interfacial" else -1.0  # bulk favours the other rotation sense here
        assert e == pytest.approx(-J * np.cos(q) - J - sign * D * np.sin(q), abs=1e-13)
    q_best = min(energies, key=energies.get)
    assert abs(abs(q_best) - np.arctan(D / J)) <= np.pi / w  # within half a grid step


def test_bulk_is_interfacial_rotated(rng):
    """R: (Sx, Sy) -> (Sy, -Sx) maps interfacial to bulk DMI energies on the square lattice."""
    s = random_unit(rng, (6, 8))
    r = np.stack([s[1], -s[0], s[2]])
    e_int = Hamiltonian(dmi="interfacial").energy(s)
    e_bulk = Hamiltonian(dmi="bulk").energy(r)
    assert e_bulk == pytest.approx(e_int, rel=1e-13)


@pytest.mark.parametrize("dmi,boundary", KINDS)
def test_field_is_minus_gradient_finite_difference(dmi, boundary, rng):
    H = Hamiltonian(J=1.0, D=0.45, B=0.2, K=0.15, dmi=dmi, boundary=boundary)
    s = random_unit(rng, (4, 6))
    field = H.field(s)
    eps = 1e-6
    for (a, y, x) in [(0, 0, 0), (1, 3, 5), (2, 2, 3), (0, 3, 0), (2, 0, 5)]:
        sp, sm = s.copy(), s.copy()
        sp[a, y, x] += eps
        sm[a, y, x] -= eps
        # unnormalised perturbation: dH/dS is the gradient of the polynomial H
        grad = (H._numba_energy_unchecked(sp) - H._numba_energy_unchecked(sm)) / (2 * eps)
        assert -grad == pytest.approx(field[a, y, x], abs=1e-7)


@pytest.mark.parametrize("dmi,boundary", KINDS)
@pytest.mark.parametrize("masked", [False, True])
def test_torch_matches_numba_and_gradient_is_minus_field(dmi, boundary, masked, rng):
    H = Hamiltonian(J=0.8, D=0.35, B=0.1, K=-0.05, dmi=dmi, boundary=boundary)
    shape = (6, 8)
    mask = rng.random(shape) > 0.2 if masked else None
    batch = np.stack([random_unit(rng, shape) for _ in range(3)])
    if masked:
        batch = batch * mask
    t = torch.tensor(batch, requires_grad=True)
    e_t = H.energy(t, mask=mask)
    (grad,) = torch.autograd.grad(e_t.sum(), t)
    h_t = H.field(t, mask=mask).detach()
    for i in range(3):
        assert e_t[i].item() == pytest.approx(H.energy(batch[i], mask=mask), rel=1e-13, abs=1e-12)
        np.testing.assert_allclose(h_t[i].numpy(), H.field(batch[i], mask=mask), atol=1e-13)
        np.testing.assert_allclose(H.energy_per_site(t, mask=mask)[i].detach().numpy(),
                                   H.energy_per_site(batch[i], mask=mask), atol=1e-13)
    occupied = torch.tensor(mask if masked else np.ones(shape, bool))
    np.testing.assert_allclose((grad * occupied).numpy(), -h_t.numpy(), atol=1e-13)


def test_torch_float32_batch_runs():
    H = Hamiltonian()
    t = torch.zeros(2, 3, 8, 8)
    t[:, 2] = 1
    np.testing.assert_allclose(H.energy(t).numpy(), -2 * 64 - 0.05 * 64, rtol=1e-6)


def test_cos_theta_is_one_when_aligned():
    H = Hamiltonian(B=0.05)
    np.testing.assert_allclose(H.cos_theta(uniform((4, 4))), 1.0)
    # in-plane state: h = 4 J x + B z (the DMI fields of opposite neighbours cancel)
    np.testing.assert_allclose(H.cos_theta(uniform((4, 4), (1, 0, 0))), 4 / np.hypot(4, 0.05), rtol=1e-14)


def test_vacancies_remove_bonds():
    """Removing one site from the uniform state removes its 4 bonds and its Zeeman term."""
    H = Hamiltonian(B=0.05)
    mask = np.ones((6, 6), bool)
    mask[2, 3] = False
    s = uniform((6, 6)) * mask
    assert H.energy(s, mask=mask) == pytest.approx(-2 * 36 - 0.05 * 36 + 4 + 0.05)
    assert np.all(H.field(s, mask=mask)[:, 2, 3] == 0)


@pytest.mark.parametrize("kwargs,match", [
    (dict(dmi="chiral"), "dmi must be one of"),
    (dict(boundary="helical"), "boundary must be one of"),
    (dict(J=float("nan")), "J must be a finite"),
    (dict(D="0.3"), "D must be a finite"),
])
def test_bad_hamiltonian_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Hamiltonian(**kwargs)


def test_bad_spins():
    H = Hamiltonian()
    good = uniform((4, 4))
    with pytest.raises(ValueError, match=r"spins must have shape \(3, H, W\)"):
        H.energy(good[:2])
    with pytest.raises(ValueError, match="even"):
        H.energy(uniform((4, 5)))
    bad = good.copy()
    bad[0, 1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        H.energy(bad)
    with pytest.raises(ValueError, match="unit vectors"):
        H.energy(good * 1.1)
    with pytest.raises(TypeError, match="dtype"):
        H.energy(good.astype(complex))
    with pytest.raises(ValueError, match="mask must have the lattice shape"):
        H.energy(good, mask=np.ones((4, 6), bool))
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        H.energy(torch.zeros(3, 4, 4))


def test_dict_round_trip():
    H = Hamiltonian(J=1.0, D=0.2, B=0.1, K=0.05, dmi="bulk", boundary="open")
    assert Hamiltonian.from_dict(H.as_dict()) == H
