"""DMI standard problem (Cortés-Ortuño et al., New J. Phys. 20, 113015 (2018)): ODEs and lattice simulations.

Reference numbers: the paper's supplementary ODE data
(github.com/fangohr/paper-supplement-standard-problem-dmi, notebooks/data/results_1d/
result_1d_x-mz_interfacial_ODE.txt: m_z = 0.7531983 at the wire ends; results_2d/
result_2d_r-mz_interfacial_ODE.txt: m_z crosses 0 between r = 21.944 nm and 22.044 nm, i.e. at
22.030 nm by linear interpolation, and |m_z| = 0.7605242 at the disk edge R = 50 nm).

Tolerances: the lattice (first-neighbour finite differences, free edges) against the ODE,
1 nm cells: first-cell edge angle within 1 % (measured 0.25 %), m_z profile within 3e-3
(measured 1.0e-3), skyrmion radius within 1 % (measured 0.21 %); 0.5 nm cells: 0.3 % and
0.1 % (measured 0.065 % and 0.014 %).
"""

import math

import numpy as np
import pytest

from mag_ml.analysis import standard_problem as sp
from mag_ml.physics.micromagnetics import MicromagneticParameters

NM = 1e-9
A, D, K = 13e-12, 3e-3, 0.4e6


@pytest.fixture(scope="module")
def edge_ode():
    return sp.edge_profile_ode()


@pytest.fixture(scope="module")
def disk_ode():
    return sp.skyrmion_profile_ode()


def test_standard_problem_parameters():
    p = sp.standard_problem_parameters(dx=0.5 * NM)
    assert (p.A_ex, p.D, p.M_s, p.K_u, p.B, p.demag) == (A, D, 0.86e6, K, 0.0, None)
    assert p.dx == 0.5 * NM and p.thickness == 2 * NM and p.K_eff == K


def test_edge_ode_matches_analytic_canting_and_reference(edge_ode):
    th = edge_ode.theta_edge
    # semi-infinite wire: sin(theta_edge) = D / (2 sqrt(A K)); 100 nm >> sqrt(A/K) = 5.7 nm
    assert math.sin(th) == pytest.approx(-D / (2 * math.sqrt(A * K)), rel=1e-6)
    assert math.degrees(th) == pytest.approx(-41.1318, abs=1e-3)
    assert math.cos(th) == pytest.approx(0.7531983, abs=1e-6)  # the paper's supplement
    # boundary conditions theta' = +D / (2A) at both ends, and the mirror symmetry theta(L - x) = -theta(x)
    for x in (0.0, edge_ode.length):
        assert edge_ode.sol(x)[1] == pytest.approx(D / (2 * A), rel=1e-6)
    x = np.linspace(0, edge_ode.length, 11)
    np.testing.assert_allclose(edge_ode.theta_at(x), -edge_ode.theta_at(edge_ode.length - x), atol=1e-8)
    assert abs(edge_ode.theta_at(50 * NM)) < 1e-5  # the middle of the wire is along +z
    # D > 0 (energy density -D (m_z div m - (m.grad) m_z)) tilts the ends outward: m_x < 0 at x = 0
    assert th < 0 and np.sin(edge_ode.theta[-1]) > 0


def test_edge_ode_sign_follows_D_and_rejects_strong_dmi():
    p = sp.standard_problem_parameters().replace(D=-3e-3)
    assert sp.edge_profile_ode(p).theta_edge == pytest.approx(-sp.edge_profile_ode().theta_edge, rel=1e-8)
    with pytest.raises(ValueError, match="canted"):
        sp.edge_profile_ode(p.replace(D=5e-3))  # > 2 sqrt(A K) = 4.56 mJ/m^2
    with pytest.raises(ValueError, match="K_eff"):
        sp.edge_profile_ode(p.replace(K_u=0.0))
    with pytest.raises(ValueError, match="length"):
        sp.edge_profile_ode(length=-1.0)


def test_skyrmion_ode_radius_and_boundary(disk_ode):
    assert disk_ode.radius == pytest.approx(22.030 * NM, abs=0.002 * NM)  # the paper's supplement
    assert math.cos(disk_ode.theta_edge) == pytest.approx(0.7605242, abs=1e-6)
    assert disk_ode.theta_edge < 0  # edge spins tilted back: the rotation continues past theta = 0
    assert disk_ode.theta_at(0.0) == pytest.approx(math.pi, abs=1e-6)
    assert disk_ode.sol(disk_ode.disk_radius)[1] == pytest.approx(-D / (2 * A), rel=1e-6)
    assert math.cos(disk_ode.theta_at(disk_ode.radius)) == pytest.approx(0.0, abs=1e-10)
    assert disk_ode.helicity == math.pi
    assert np.all(np.diff(disk_ode.theta) < 0)  # monotonic profile, no target-state ring
    mirror = sp.skyrmion_profile_ode(sp.standard_problem_parameters().replace(D=-3e-3))
    assert mirror.helicity == 0.0 and mirror.radius == pytest.approx(disk_ode.radius, rel=1e-10)


def test_skyrmion_ode_residual_by_finite_differences(disk_ode):
    """The returned profile satisfies the radial Euler-Lagrange equation (checked independently of solve_bvp)."""
    r = np.linspace(2 * NM, 48 * NM, 400)
    h = 1e-3 * NM
    th = disk_ode.theta_at(r)
    d1 = (disk_ode.theta_at(r + h) - disk_ode.theta_at(r - h)) / (2 * h)
    d2 = (disk_ode.theta_at(r + h) - 2 * th + disk_ode.theta_at(r - h)) / h**2
    s, c = np.sin(th), np.cos(th)
    residual = d2 + d1 / r - s * c / r**2 - (K / A) * s * c + (D / A) * s**2 / r
    scale = np.abs(d2) + np.abs(d1 / r) + np.abs(s * c / r**2) + (K / A)
    assert np.max(np.abs(residual) / scale) < 1e-4


def test_lattice_wire_matches_ode_at_1nm(edge_ode):
    sim = sp.simulate_edge_profile(sp.standard_problem_parameters(dx=1 * NM))
    assert sim.x.shape == (100,) and sim.m.shape == (3, 100)
    np.testing.assert_allclose(np.linalg.norm(sim.m, axis=0), 1.0, atol=1e-12)
    np.testing.assert_allclose(sim.m[1], 0.0, atol=1e-12)  # a flat cycloid: no m_y, as in the ODE
    theta_ode = edge_ode.theta_at(sim.x)
    assert sim.theta[0] == pytest.approx(theta_ode[0], rel=0.01)
    assert np.max(np.abs(np.cos(theta_ode) - sim.m[2])) < 3e-3
    np.testing.assert_allclose(sim.theta, -sim.theta[::-1], atol=1e-7)  # both ends alike
    assert sim.theta[0] < 0  # same chirality as the ODE


def test_lattice_wire_converges_with_cell_size(edge_ode):
    err = {}
    for dx in (1 * NM, 0.5 * NM):
        sim = sp.simulate_edge_profile(sp.standard_problem_parameters(dx=dx))
        err[dx] = abs(sim.theta[0] - edge_ode.theta_at(dx / 2)) / abs(edge_ode.theta_at(dx / 2))
    assert err[0.5 * NM] < 3e-3
    assert err[0.5 * NM] < err[1 * NM] / 2


def test_lattice_disk_skyrmion_matches_ode_at_1nm(disk_ode):
    sim = sp.simulate_disk_skyrmion(sp.standard_problem_parameters(dx=1 * NM))
    assert sim.spins.shape == (3, 100, 100) and sim.mask.sum() > 0.99 * math.pi * 50**2
    assert sim.radius == pytest.approx(disk_ode.radius, rel=0.01)
    # chirality: in-plane spins point to the core (helicity pi) for D > 0, as on the lattice (chapters 1-5)
    h = sim.spins.shape[1]
    c = (h - 1) / 2
    y, x = np.mgrid[0:h, 0:h]
    ring = sim.mask & (np.abs(np.hypot(x - c, y - c) * NM - sim.radius) < 1.5 * NM)
    radial = (sim.spins[0] * (x - c) + sim.spins[1] * (y - c)) / np.maximum(np.hypot(x - c, y - c), 1e-9)
    assert np.all(radial[ring] < -0.9)
    assert np.all(sim.m_z[sim.r < 3 * NM] < -0.99)  # core along -z


def test_disk_relaxes_to_the_same_state_from_ansatz_and_ode_profile():
    p = sp.standard_problem_parameters(dx=1 * NM)
    a = sp.simulate_disk_skyrmion(p, start="ansatz", tol=1e-10)
    b = sp.simulate_disk_skyrmion(p, start="ode", tol=1e-10)
    np.testing.assert_allclose(a.spins, b.spins, atol=1e-6)
    assert b.relax_sweeps < a.relax_sweeps
    with pytest.raises(ValueError, match="start"):
        sp.simulate_disk_skyrmion(p, start="guess")


@pytest.mark.slow
def test_compare_standard_problem_at_half_nm():
    cmp = sp.compare_standard_problem(0.5 * NM, start="ode", tol=1e-8)
    assert cmp.edge_angle_rel_error < 3e-3
    assert cmp.edge_profile_max_error < 1e-3
    assert cmp.radius_rel_error < 1e-3
    assert cmp.radius_ode == pytest.approx(22.030 * NM, abs=0.002 * NM)


def test_radius_from_profile_on_an_analytic_texture():
    rng = np.random.default_rng(0)
    r = rng.uniform(0, 40, 4000)
    mz = -np.cos(2 * np.arctan(np.exp((r - 17.3) / 3.0)))  # wall profile centred at 17.3
    assert sp.radius_from_profile(r, mz, window=2.0) == pytest.approx(17.3, abs=1e-3)
    with pytest.raises(ValueError, match="crossing"):
        sp.radius_from_profile(r, np.abs(mz), window=2.0)
    with pytest.raises(ValueError, match="window"):
        sp.radius_from_profile(r, mz, window=0.0)


def test_bad_geometry_and_parameters():
    with pytest.raises(ValueError, match="whole number|integer"):
        sp.simulate_edge_profile(length=100.5e-9)
    with pytest.raises(ValueError, match="diameter"):
        sp.simulate_disk_skyrmion(diameter=0.0)
    with pytest.raises(TypeError, match="MicromagneticParameters"):
        sp.skyrmion_profile_ode({"A_ex": A})
    weak = MicromagneticParameters(A_ex=A, D=D, M_s=0.86e6, K_u=0.1e6, dx=NM, thickness=NM, demag="thin_film")
    with pytest.raises(ValueError, match="K_eff"):
        sp.skyrmion_profile_ode(weak)  # K_eff < 0: in-plane film
