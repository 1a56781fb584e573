"""SI layer (mag_ml.physics.micromagnetics): the finite-difference map against continuum micromagnetics."""

import math

import numpy as np
import pytest

from mag_ml import Hamiltonian
from mag_ml.analysis.spirals import refine_minimum
from mag_ml import metropolis, random_spins
from mag_ml.physics.micromagnetics import (K_B, MU_0, MicromagneticParameters, characteristic_lengths,
                                           from_lattice, micromagnetic_energy, temperature_to_kelvin,
                                           temperature_to_reduced, thermal_run, thermal_state, to_lattice)
from mag_ml.chapters.estimation import micromagnetics_spec

NM = 1e-9
# a film with every term switched on (Co/Pt-like numbers)
FILM = dict(A_ex=11e-12, D=2.5e-3, M_s=1.1e6, K_u=1.2e6, B=0.15, dx=1 * NM, thickness=0.8 * NM)


DMI = ("interfacial", "bulk")


def params(**changes):
    return MicromagneticParameters(**{**FILM, **changes})


def spiral(q, x, dmi):
    """The spiral D > 0 favours for q > 0: the cycloid (sin qx, 0, cos qx) or the helix (0, -sin qx, cos qx)."""
    s = np.zeros((3, 2, len(x)))
    s[0 if dmi == "interfacial" else 1] = np.sin(q * x) * (1 if dmi == "interfacial" else -1)
    s[2] = np.cos(q * x)
    return s


def uniform(shape, alpha):
    """Uniform state tilted by alpha from +z toward +x, (3, H, W)."""
    s = np.zeros((3, *shape))
    s[0], s[2] = math.sin(alpha), math.cos(alpha)
    return s


@pytest.mark.parametrize("dmi", DMI)
def test_reduced_couplings_follow_the_stated_formulas(dmi):
    p = params(dmi=dmi)
    H, scale = to_lattice(p)
    A, D, dx, t = p.A_ex, p.D, p.dx, p.thickness
    assert scale == pytest.approx(2 * A * t, rel=1e-15)  # J = 2 A t
    assert H.J == 1.0 and H.dmi == dmi and H.boundary == "periodic"
    assert H.D == pytest.approx(D * dx / (2 * A), rel=1e-14)  # D_lat = D dx t: SI D > 0 <-> lattice D > 0
    assert H.D > 0
    assert H.B == pytest.approx(p.M_s * p.B * dx**2 / (2 * A), rel=1e-14)
    K_eff = p.K_u - MU_0 * p.M_s**2 / 2
    assert p.K_eff == pytest.approx(K_eff, rel=1e-15)
    assert H.K == pytest.approx(K_eff * dx**2 / (2 * A), rel=1e-14)
    assert params(demag=None).K_eff == p.K_u
    assert to_lattice(p, boundary="open")[0].boundary == "open"


@pytest.mark.parametrize("demag", ["thin_film", None])
def test_uniform_state_energies_are_analytic(demag):
    p = params(demag=demag)
    H, scale = to_lattice(p)
    shape = (6, 8)
    n = shape[0] * shape[1]
    V = n * p.cell_volume
    # core convention: E = -2JN - BN - KN for +z on a periodic lattice, in joules below
    e_red = H.energy(uniform(shape, 0.0))
    assert e_red == pytest.approx(-2 * n - H.B * n - H.K * n, rel=1e-14)
    assert e_red * scale == pytest.approx(-2 * n * scale - p.K_eff * V - p.M_s * p.B * V, rel=1e-13)
    # the SI energy (exchange reference removed) of any uniform tilt
    for alpha in (0.0, 0.3, math.pi / 2, 2.0, math.pi):
        expected = -p.K_eff * V * math.cos(alpha) ** 2 - p.M_s * p.B * V * math.cos(alpha)
        e = micromagnetic_energy(p, uniform(shape, alpha))
        assert e == pytest.approx(expected, rel=1e-12, abs=1e-12 * p.K_u * V)


def test_thin_film_demag_is_a_hard_axis_of_mu0_ms2_over_2():
    p0, p1 = params(demag=None, B=0.0), params(demag="thin_film", B=0.0)
    shape = (4, 4)
    V = 16 * p0.cell_volume

    def gap(p):  # in-plane minus out-of-plane
        return micromagnetic_energy(p, uniform(shape, math.pi / 2)) - micromagnetic_energy(p, uniform(shape, 0.0))

    assert gap(p0) == pytest.approx(p0.K_u * V, rel=1e-12)
    assert gap(p1) - gap(p0) == pytest.approx(-0.5 * MU_0 * p1.M_s**2 * V, rel=1e-12)


def test_energy_of_confined_uniform_state_counts_only_occupied_bonds():
    p = params()
    h = w = 12
    y, x = np.mgrid[0:h, 0:w]
    mask = np.hypot(x - 5.5, y - 5.5) <= 5.0
    s = uniform((h, w), 0.0) * mask
    V = mask.sum() * p.cell_volume
    for boundary in ("periodic", "open"):
        e = micromagnetic_energy(p, s, mask=mask, boundary=boundary)
        assert e == pytest.approx(-p.K_eff * V - p.M_s * p.B * V, rel=1e-12)


@pytest.mark.parametrize("dmi", DMI)
def test_round_trip_from_lattice_and_temperature(dmi):
    p = params(dmi=dmi)
    H, scale = to_lattice(p)
    back = from_lattice(H, scale, dx=p.dx, thickness=p.thickness, M_s=p.M_s, demag="thin_film")
    for name in ("A_ex", "D", "M_s", "K_u", "B", "dx", "thickness"):
        assert getattr(back, name) == pytest.approx(getattr(p, name), rel=1e-13)
    assert back.dmi == dmi
    # a Hamiltonian with J != 1: the bond exchange in joules is J * scale
    H2 = Hamiltonian(J=2.0, D=H.D * 2, B=H.B * 2, K=H.K * 2)
    assert from_lattice(H2, scale / 2, dx=p.dx, thickness=p.thickness, M_s=p.M_s).A_ex == pytest.approx(p.A_ex)
    # T: 300 K at J = 2 A t = 1.76e-21 J
    assert temperature_to_reduced(300.0, scale) == pytest.approx(K_B * 300 / (2 * p.A_ex * p.thickness))
    assert temperature_to_kelvin(temperature_to_reduced(300.0, scale), scale) == pytest.approx(300.0)
    np.testing.assert_allclose(temperature_to_reduced([0.0, 300.0], scale), [0.0, K_B * 300 / scale])
    with pytest.raises(ValueError, match="T must be"):
        temperature_to_reduced(-1.0, scale)
    with pytest.raises(ValueError, match="energy_scale"):
        temperature_to_reduced(300.0, 0.0)


def _continuum_energy_density(p, m, spacing):
    """Energy density [J/m^3] of a periodic field m (3, ny, nx) by spectral derivatives, not the lattice."""
    def d(f, axis):
        k = 2 * np.pi * np.fft.fftfreq(f.shape[axis], d=spacing)
        k = k[:, None] if axis == 0 else k[None, :]
        return np.real(np.fft.ifft(1j * k * np.fft.fft(f, axis=axis), axis=axis))

    mx, my, mz = m
    dxm = np.stack([d(c, 1) for c in m])
    dym = np.stack([d(c, 0) for c in m])
    exchange = p.A_ex * ((dxm**2).sum(0) + (dym**2).sum(0))
    if p.dmi == "interfacial":  # as written in the module: -D (m_z div m - (m . grad) m_z)
        dmi = -p.D * (mz * (dxm[0] + dym[1]) - (mx * dxm[2] + my * dym[2]))
    else:  # D m . curl m, curl m = (d_y m_z, -d_x m_z, d_x m_y - d_y m_x) in 2D
        dmi = p.D * (mx * dym[2] - my * dxm[2] + mz * (dxm[1] - dym[0]))
    return exchange + dmi - p.K_eff * mz**2 - p.M_s * p.B * mz


def _texture(n, box):
    """A smooth periodic texture on an n x n grid of cell centres over a box [m]."""
    x = (np.arange(n) + 0.5) * box / n
    X, Y = np.meshgrid(x, x)  # rows y, columns x
    k = 2 * np.pi / box
    theta = 1.1 + 0.8 * np.sin(k * X) * np.cos(k * Y) + 0.3 * np.cos(2 * k * Y)
    phi = k * X + 0.7 * np.sin(k * Y)
    return np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])


@pytest.mark.parametrize("dmi", DMI)
def test_spiral_energy_and_dmi_sign_match_the_continuum(dmi):
    """Both senses of the favoured spiral: lattice energy density -> A q^2 - D q (w_DMI = -D q)."""
    box = 40 * NM
    for dx, rel in ((1 * NM, 2e-2), (0.25 * NM, 1.5e-3)):  # error O((q dx)^2)
        p = params(dx=dx, K_u=0.0, B=0.0, demag=None, dmi=dmi)
        w = int(round(box / dx))
        x = np.arange(w) * dx
        for turns in (1, -1, 2):
            q = 2 * np.pi * turns / box
            s = spiral(q, x, dmi)
            density = micromagnetic_energy(p, s) / (2 * w * p.cell_volume)
            continuum = _continuum_energy_density(p, s, dx)  # spectral, from the density formula itself
            assert continuum.mean() == pytest.approx(p.A_ex * q**2 - p.D * q, rel=1e-10)
            assert density == pytest.approx(p.A_ex * q**2 - p.D * q, rel=rel)


@pytest.mark.parametrize("dmi", DMI)
def test_spiral_period_tends_to_4_pi_A_over_D(dmi):
    """Minimum of the energy over commensurate spirals: q* -> D / (2A), error O(dx^2)."""
    p0 = params(K_u=0.0, B=0.0, demag=None, dmi=dmi)
    q_cont = p0.D / (2 * p0.A_ex)
    errors = []
    for dx in (1 * NM, 0.25 * NM):
        p = p0.replace(dx=dx)
        box = 10 * (4 * np.pi * p.A_ex / p.D)  # ten continuum periods
        w = 2 * int(round(box / dx / 2))
        x = np.arange(w)
        turns = np.arange(7, 14)
        q = 2 * np.pi * turns / (w * dx)  # D > 0 favours q > 0 (w_DMI = -D q)
        energy = []
        for qn in q:
            energy.append(micromagnetic_energy(p, spiral(qn, x * dx, dmi)))
        q_star = refine_minimum(q, np.array(energy))
        H, _ = to_lattice(p)
        assert q_star == pytest.approx(math.atan(H.D) / dx, rel=2e-3)  # the lattice's own minimum
        errors.append(abs(abs(q_star) - q_cont) / q_cont)
    assert errors[1] < 2e-3  # period 4 pi A / D within 0.2 % at dx = 0.25 nm
    assert errors[1] < errors[0] / 4
    assert 4 * np.pi * p0.A_ex / p0.D == pytest.approx(2 * np.pi / q_cont)


@pytest.mark.parametrize("dmi", DMI)
def test_smooth_texture_energy_converges_to_the_continuum_integral(dmi):
    box = 32 * NM
    p_fine = params(dx=box / 256, dmi=dmi)
    reference = _continuum_energy_density(p_fine, _texture(256, box), box / 256).sum() * p_fine.cell_volume
    assert abs(reference) > 0
    errors = []
    for n in (16, 32, 64, 128):
        p = params(dx=box / n, dmi=dmi)
        errors.append(abs(micromagnetic_energy(p, _texture(n, box)) - reference) / abs(reference))
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert np.all(ratios > 3.5), (errors, ratios)  # second order in dx
    assert errors[-1] < 1e-3


def test_characteristic_lengths_of_the_standard_problem():
    p = MicromagneticParameters(A_ex=13e-12, D=3e-3, M_s=0.86e6, K_u=0.4e6, dx=1 * NM, thickness=2 * NM,
                                demag=None)
    L = characteristic_lengths(p)
    assert L.wall_width == pytest.approx(math.sqrt(13e-12 / 0.4e6))
    assert L.dmi_length == pytest.approx(2 * 13e-12 / 3e-3)
    assert L.D_critical == pytest.approx(4 * math.sqrt(13e-12 * 0.4e6) / math.pi)
    assert L.exchange_length == pytest.approx(math.sqrt(2 * 13e-12 / (MU_0 * 0.86e6**2)))
    assert L.cell_ratios["dmi_length"] == pytest.approx(abs(to_lattice(p)[0].D))


@pytest.mark.parametrize("name, value", [("A_ex", -1e-12), ("A_ex", 0.0), ("M_s", -8e5), ("M_s", 0.0),
                                         ("dx", 0.0), ("dx", -1e-9), ("thickness", 0.0), ("D", math.nan),
                                         ("K_u", math.inf), ("B", "0.1"), ("A_ex", True)])
def test_bad_parameters_raise_naming_the_argument(name, value):
    with pytest.raises(ValueError, match=name):
        params(**{name: value})


def test_bad_demag_and_types():
    with pytest.raises(ValueError, match="demag"):
        params(demag="full")
    with pytest.raises(ValueError, match="dmi must be one of"):
        params(dmi="interface")
    with pytest.raises(TypeError, match="MicromagneticParameters"):
        to_lattice({"A_ex": 1e-11})
    with pytest.raises(ValueError, match="boundary"):
        to_lattice(params(), boundary="twisted")
    with pytest.raises(TypeError):
        MicromagneticParameters(1e-11, 1e-3, 1e6, dx=1e-9, thickness=1e-9)  # keyword-only
    assert MicromagneticParameters.from_dict(params().as_dict()) == params()


# -- finite temperature ------------------------------------------------------------------------------


def isolated_sites(shape):
    """Occupied cells at even rows and columns: no two are neighbours, so every spin is free."""
    mask = np.zeros(shape, dtype=bool)
    mask[::2, ::2] = True
    return mask


def free_spin_mz(b, k):
    """<cos theta> of a free classical spin, weight exp(b cos + k cos^2) (Langevin function at k = 0)."""
    from scipy.integrate import quad

    w = lambda c: math.exp(b * c + k * c * c - abs(b) - max(k, 0.0))  # noqa: E731
    return quad(lambda c: c * w(c), -1, 1)[0] / quad(w, -1, 1)[0]


@pytest.mark.parametrize("B, K_u, demag", [(0.5, 0.0, None), (0.4, 0.3e6, "thin_film"), (-0.3, 0.6e6, None)])
def test_thermal_average_of_free_spins_is_the_boltzmann_average(B, K_u, demag):
    # 1024 independent cells of V = 4 x 4 x 1 nm^3 at 300 K: b = M_s B V / k_B T, k = K_eff V / k_B T
    p = MicromagneticParameters(A_ex=2e-12, D=2e-3, M_s=1e6, K_u=K_u, B=B, dx=4 * NM, thickness=1 * NM, demag=demag)
    T = 300.0
    run = thermal_run(p, (64, 64), T, mask=isolated_sites((64, 64)), n_anneal=200, n_sweeps=1600, seed=1)
    V, kT = p.cell_volume, K_B * T
    b, k = p.M_s * p.B * V / kT, p.K_eff * V / kT
    assert abs(b) > 1 and (abs(k) > 1 or K_u == 0)
    # 800 equilibrium sweeps x 1024 spins: statistical error ~ 0.6 / sqrt(800 * 1024 / tau) < 0.003
    assert run.n_equilibrium == 800
    assert run.mean_magnetisation[2] == pytest.approx(free_spin_mz(b, k), abs=0.01)
    assert np.abs(run.mean_magnetisation[:2]).max() < 0.01
    assert np.all(run.spins[:, ~isolated_sites((64, 64))] == 0)


def test_thermal_state_wraps_the_reduced_metropolis_chain():
    p = params()
    H, scale = to_lattice(p)
    T = 200.0
    start = random_spins((8, 6), seed=4, sample=9)
    reference = metropolis(H, start, temperature_to_reduced(T, scale), 30, seed=3, sample=2, delta=0.4)
    run = thermal_run(p, (8, 6), T, spins=start, n_sweeps=30, seed=3, sample=2, delta=0.4)
    np.testing.assert_array_equal(run.spins, reference.spins)
    np.testing.assert_allclose(run.magnetisation, reference.magnetisation, rtol=0, atol=1e-12)
    # the random start is random_spins(shape, seed, sample), as in metropolis
    reference = metropolis(H, (8, 6), temperature_to_reduced(T, scale), 30, seed=3, sample=2, delta=0.4)
    run = thermal_run(p, (8, 6), T, n_anneal=0, n_sweeps=30, seed=3, sample=2, delta=0.4)
    np.testing.assert_array_equal(run.spins, reference.spins)
    np.testing.assert_array_equal(start, random_spins((8, 6), seed=4, sample=9))  # input not modified


def test_thermal_state_depends_only_on_seed_and_sample():
    p = params(B=0.3)
    a = thermal_state(p, (8, 8), 300.0, seed=1, sample=5, n_anneal=50, n_sweeps=20)
    b = thermal_state(p, (8, 8), 300.0, seed=1, sample=5, n_anneal=50, n_sweeps=20)
    c = thermal_state(p, (8, 8), 300.0, seed=1, sample=6, n_anneal=50, n_sweeps=20)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape == (3, 8, 8) and a.dtype == np.float64
    np.testing.assert_allclose(np.linalg.norm(a, axis=0), 1.0, atol=1e-12)


def test_zero_temperature_anneals_and_relaxes_to_the_saturated_state():
    # B well above the saturation field of a ferromagnet without DMI: the relaxed state is uniform +z
    p = params(D=0.0, B=1.0)
    run = thermal_run(p, (8, 8), 0.0, n_anneal=100, n_snapshots=3)
    np.testing.assert_allclose(run.spins[2], 1.0, atol=1e-9)
    assert run.T_reduced == 0.0 and run.magnetisation.shape == (0, 3)
    assert run.snapshots.shape == (3, 3, 8, 8) and run.snapshot_temperatures[-1] < run.snapshot_temperatures[0]
    assert run.mean_magnetisation[2] == pytest.approx(1.0, abs=1e-9)


def test_equilibrium_sweeps_are_those_with_a_frozen_cone():
    p = params()
    run = thermal_run(p, (8, 8), 300.0, n_anneal=20, n_sweeps=25)  # blocks of 10, 10, 5: the first adapts
    assert run.magnetisation.shape == (25, 3) and run.n_equilibrium == 15
    np.testing.assert_allclose(run.mean_magnetisation, run.magnetisation[-15:].mean(axis=0))
    assert thermal_run(p, (8, 8), 300.0, n_anneal=20, n_sweeps=25, delta=0.3).n_equilibrium == 25


@pytest.mark.parametrize("kwargs, match", [
    (dict(T=-1.0), "T must"), (dict(T=math.nan), "T must"), (dict(shape=(7, 8)), "shape"),
    (dict(shape=(8,)), "shape"), (dict(spins=np.ones((3, 4, 4))), "spins must have shape"),
    (dict(n_sweeps=-1), "n_sweeps"), (dict(n_sweeps=0), "n_sweeps"), (dict(n_anneal=1.5), "n_anneal"),
    (dict(seed=-1), "seed"), (dict(mask=np.ones((4, 4), bool)), "mask"),
])
def test_thermal_state_bad_input_raises(kwargs, match):
    args = dict(shape=(8, 8), T=300.0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        thermal_state(params(), args.pop("shape"), args.pop("T"), **args)
    with pytest.raises(TypeError, match="MicromagneticParameters"):
        thermal_state({"A_ex": 1e-12}, (8, 8), 300.0)


def test_chapter_spec_films_are_resolved_by_the_cells_and_ordered_at_300_K():
    quick, paper = micromagnetics_spec("quick"), micromagnetics_spec("paper")
    assert paper["shape"] == (512, 512) and paper["film"]["dx"] == 4 * NM and paper["T"] == 300.0
    assert quick["shape"][0] < paper["shape"][0] and min(paper["dx"]) < min(quick["dx"])
    for label, f in quick["films"].items():
        p = MicromagneticParameters(**f, **quick["film"])
        # the DMI length 2 A / D spans at least one cell, and 300 K lies well below the ordering (~0.7 J)
        assert characteristic_lengths(p).cell_ratios["dmi_length"] <= 1.0 + 1e-12, label
        assert temperature_to_reduced(quick["T"], p.energy_scale) < 0.3, label
    quick["films"]["labyrinth"]["D"] = 0.0  # a copy: the module's table is unchanged
    assert micromagnetics_spec("quick")["films"]["labyrinth"]["D"] == 4.5e-3
    with pytest.raises(ValueError, match="profile"):
        micromagnetics_spec("huge")
