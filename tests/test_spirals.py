"""Flat spirals and hand-built skyrmions (mag_ml.analysis.spirals) against analytic results."""

import math

import numpy as np
import pytest

from mag_ml import Hamiltonian, relax, topological_charge
from mag_ml.analysis import spirals
from tests.conftest import random_unit

J, D = 1.0, 0.3


def test_spiral_wavevector_and_energy_minimum():
    q_star = spirals.spiral_wavevector(J, D)
    assert q_star == pytest.approx(math.atan(0.3), rel=1e-15)
    assert 2 * np.pi / q_star == pytest.approx(21.56, abs=0.01)
    q = np.linspace(0.0, 1.0, 100_001)
    e = spirals.spiral_energy(q, J, D)
    assert q[np.argmin(e)] == pytest.approx(q_star, abs=1e-5)
    assert spirals.spiral_energy(0.0, J, D) == pytest.approx(-2 * J)  # the uniform state
    with pytest.raises(ValueError, match="J"):
        spirals.spiral_wavevector(0.0, D)


@pytest.mark.parametrize("dmi", ["interfacial", "bulk"])
@pytest.mark.parametrize("n", [-3, 0, 1, 3, 7])
def test_flat_spiral_energy_matches_formula(dmi, n):
    w = 64
    s = spirals.flat_spiral((4, w), n, dmi=dmi)
    assert s.shape == (3, 4, w)
    np.testing.assert_allclose(np.linalg.norm(s, axis=0), 1.0, atol=1e-14)
    q = 2 * np.pi * n / w
    e = Hamiltonian(J=J, D=D, B=0.0, dmi=dmi).energy(s) / s[0].size
    assert e == pytest.approx(spirals.spiral_energy(q, J, D), abs=1e-13)
    assert spirals.measured_wavevector(s, dmi=dmi) == pytest.approx(q, abs=1e-13)


def test_bulk_spiral_is_rotated_interfacial_spiral(rng):
    s = spirals.flat_spiral((2, 32), 2)
    np.testing.assert_allclose(spirals.flat_spiral((2, 32), 2, dmi="bulk"),
                               spirals.rotate_in_plane(s, -np.pi / 2), atol=1e-15)
    # any state: interfacial energy of S equals bulk energy of R(-90 deg) S
    r = random_unit(rng, (6, 8))
    e_int = Hamiltonian(J=J, D=D, B=0.05, dmi="interfacial").energy(r)
    e_bulk = Hamiltonian(J=J, D=D, B=0.05, dmi="bulk").energy(spirals.rotate_in_plane(r, -np.pi / 2))
    assert e_bulk == pytest.approx(e_int, rel=1e-13)


def test_rotate_in_plane_keeps_norm_and_batches(rng):
    s = np.stack([random_unit(rng, (4, 4)) for _ in range(3)])
    r = spirals.rotate_in_plane(s, 0.7)
    assert r.shape == s.shape
    np.testing.assert_allclose(np.linalg.norm(r, axis=1), 1.0, atol=1e-14)
    np.testing.assert_allclose(spirals.rotate_in_plane(r, -0.7), s, atol=1e-14)
    np.testing.assert_array_equal(r[:, 2], s[:, 2])
    with pytest.raises(ValueError, match="shape"):
        spirals.rotate_in_plane(np.zeros((2, 4, 4)), 0.1)


def test_spiral_scan_finds_atan_d_over_j():
    w = 64
    scan = spirals.spiral_scan(Hamiltonian(J=J, D=D, B=0.0), w, range(1, 9))
    np.testing.assert_allclose(scan.q, 2 * np.pi * np.arange(1, 9) / w)
    np.testing.assert_allclose(scan.q_relaxed, scan.q, atol=1e-10)  # the boundary keeps the period
    np.testing.assert_allclose(scan.energy, spirals.spiral_energy(scan.q, J, D), atol=1e-12)
    q_star = math.atan(D / J)
    assert abs(scan.q[np.argmin(scan.energy)] - q_star) <= np.pi / w
    assert spirals.refine_minimum(scan.q, scan.energy) == pytest.approx(q_star, abs=1e-3)


def test_spiral_scan_rejects_bad_input():
    with pytest.raises(TypeError, match="Hamiltonian"):
        spirals.spiral_scan("H", 64, [1])
    with pytest.raises(ValueError, match="periodic"):
        spirals.spiral_scan(Hamiltonian(boundary="open"), 64, [1])
    with pytest.raises(ValueError, match="n_periods"):
        spirals.spiral_scan(Hamiltonian(), 64, [1.5])
    with pytest.raises(ValueError, match="n_periods"):
        spirals.flat_spiral((2, 64), 1.5)
    with pytest.raises(ValueError, match="dmi"):
        spirals.flat_spiral((2, 64), 1, dmi="chiral")
    with pytest.raises(ValueError, match="even"):
        spirals.flat_spiral((3, 64), 1)


def test_refine_minimum_is_exact_for_a_parabola():
    x = np.linspace(-1.0, 2.0, 7)
    assert spirals.refine_minimum(x, 3.0 * (x - 0.37) ** 2 - 1.0) == pytest.approx(0.37, abs=1e-12)
    with pytest.raises(ValueError, match="end"):
        spirals.refine_minimum(x, x)
    with pytest.raises(ValueError, match="increasing"):
        spirals.refine_minimum(x[::-1], x ** 2)


@pytest.mark.parametrize("helicity", [np.pi, 0.0, np.pi / 2])
@pytest.mark.parametrize("core", [-1, 1])
def test_skyrmion_ansatz_charge_and_radius(helicity, core):
    s = spirals.skyrmion((32, 32), 5.3, helicity=helicity, core=core)
    np.testing.assert_allclose(np.linalg.norm(s, axis=0), 1.0, atol=1e-14)
    assert topological_charge(s) == pytest.approx(core, abs=1e-9)
    if core == -1:
        assert spirals.skyrmion_centre(s) == pytest.approx((15.5, 15.5), abs=1e-9)
        assert spirals.skyrmion_radius(s) == pytest.approx(5.3, abs=0.05)


def test_skyrmion_helicity_pi_points_to_the_core():
    s = spirals.skyrmion((16, 16), 3.0, centre=(8, 8))
    d, line = spirals.line_profile(s)
    assert np.all(line[0][(d > 0) & (d < 7)] < 0) and np.all(line[0][(d < 0) & (d > -7)] > 0)
    assert line[2][d == 0] == pytest.approx(-1.0)


def test_skyrmion_centre_across_the_periodic_boundary():
    s = spirals.skyrmion((24, 24), 3.0, centre=(12.0, 12.0))
    shifted = np.roll(s, (11, 12), axis=(1, 2))  # core now at (23, 0) = (-1, 0)
    cy, cx = spirals.skyrmion_centre(shifted)
    assert (cy, cx) == pytest.approx((23.0, 0.0), abs=1e-9)
    assert spirals.skyrmion_radius(shifted) == pytest.approx(spirals.skyrmion_radius(s), abs=1e-12)
    with pytest.raises(ValueError, match="core"):
        spirals.skyrmion_centre(np.stack([np.zeros((4, 4)), np.zeros((4, 4)), np.ones((4, 4))]))


def test_stretched_skyrmion_and_bad_arguments():
    s = spirals.skyrmion((32, 32), 3.0, aspect=2.0)
    d, line = spirals.line_profile(s, axis="x")
    dy, liney = spirals.line_profile(s, axis="y")
    assert np.sum(line[2] < 0) > np.sum(liney[2] < 0)  # longer along x
    for kwargs, match in [({"radius": -1.0}, "radius"), ({"core": 0}, "core"), ({"aspect": 0.0}, "aspect"),
                          ({"centre": (1.0,)}, "centre")]:
        args = {"radius": 3.0, **kwargs}
        with pytest.raises(ValueError, match=match):
            spirals.skyrmion((16, 16), args.pop("radius"), **args)
    with pytest.raises(ValueError, match="crossing"):
        spirals.skyrmion_radius(-spirals.skyrmion((16, 16), 3.0))


def test_perturb_is_unit_and_reproducible():
    s = spirals.skyrmion((8, 8), 2.0)
    a, b = spirals.perturb(s, 0.1, seed=3), spirals.perturb(s, 0.1, seed=3)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.linalg.norm(a, axis=0), 1.0, atol=1e-14)
    assert not np.allclose(a, spirals.perturb(s, 0.1, seed=4))
    np.testing.assert_allclose(spirals.perturb(s, 0.0), s, atol=1e-15)
    with pytest.raises(ValueError, match="amplitude"):
        spirals.perturb(s, -0.1)


def test_relaxed_skyrmion_in_a_dense_cell_is_metastable():
    """Paper's parameters, one skyrmion per 24 x 24 periodic cell: Q = -1, E below uniform, survives a kick."""
    H = Hamiltonian(J=J, D=D, B=0.05)
    L = 24
    e_uniform = (-2 * J - 0.05) * L * L
    s, _ = relax(H, spirals.skyrmion((L, L), 4.0))
    assert topological_charge(s) == pytest.approx(-1.0, abs=1e-9)
    assert H.energy(s) < e_uniform
    assert H.cos_theta(s).min() > 1 - 1e-6
    kicked, _ = relax(H, spirals.perturb(s, 0.05, seed=0))
    assert H.energy(kicked) == pytest.approx(H.energy(s), abs=1e-6)
    assert spirals.skyrmion_radius(kicked) == pytest.approx(spirals.skyrmion_radius(s), abs=0.1)


def test_wrong_helicity_collapses():
    H = Hamiltonian(J=J, D=D, B=0.05)
    s, _ = relax(H, spirals.skyrmion((24, 24), 4.0, helicity=0.0))
    assert topological_charge(s) == pytest.approx(0.0, abs=1e-9)
