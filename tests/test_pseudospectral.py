"""PS-LL chain: kernels, field = -gradient, |m| = 1, energy conservation, stability limit, dispersion, walls,
vacancies, bad input."""

import math

import numpy as np
import pytest

from mag_ml.physics.magnons import (analytic_dispersion, chain_dispersion, measure_dispersion,
                                    sum_rule_frequency, transverse_excitation)
from mag_ml.physics.walls import analytic_wall_width, domain_wall_width, fit_wall, wall_width_ensemble
from mag_ml.physics.defects import telegraph_vacancies
from mag_ml.physics.pseudospectral import (GAMMA, PSLLChain, domain_wall_state, exchange_kernel,
                                           rk4_stability_radius, uniform_state)

# a perpendicular-anisotropy chain: A = 10 pJ/m, Ms = 1 MA/m, K = 0.5 MJ/m^3 -> sqrt(A/K) = 4.47 nm
MAT = dict(A_ex=1e-11, M_s=1e6, K_u=5e5)
DELTA = analytic_wall_width(MAT["A_ex"], MAT["K_u"])


def random_state(rng, n, occupied=None):
    m = rng.normal(size=(3, n))
    m /= np.linalg.norm(m, axis=0)
    if occupied is not None:
        m[:, ~occupied] = 0.0
    return m


def smooth_state(n, amp=0.5):
    x = np.arange(n) / n
    m = np.stack([amp * np.cos(2 * np.pi * x) + 0.3 * np.sin(6 * np.pi * x), 0.4 * np.sin(4 * np.pi * x),
                  np.ones(n)])
    return m / np.linalg.norm(m, axis=0)


# ----------------------------------------------------------------------------- kernels and fields
def test_discrete_kernel_is_the_three_point_laplacian_and_continuum_its_limit(rng):
    n, a = 48, 0.4
    chain = PSLLChain(n, a, K_u=3e5, B=(0.1, -0.2, 0.3), axis=(1.0, 0.0, 1.0), A_ex=1e-11, M_s=8e5)
    m = random_state(rng, n)
    lap = (np.roll(m, 1, axis=1) + np.roll(m, -1, axis=1) - 2 * m) / a ** 2
    u = np.array([1.0, 0.0, 1.0]) / math.sqrt(2)
    expected = chain.c_ex * lap + chain.c_an * (u @ m) * u[:, None] + chain.B[:, None]
    assert np.allclose(chain.field(m), expected, rtol=0, atol=1e-9 * np.abs(expected).max())
    k = np.array([1e-3, 1e-2, 0.1])
    assert np.allclose(exchange_kernel(k, a, "discrete") / exchange_kernel(k, a, "continuum"), 1.0, rtol=2e-3)
    assert exchange_kernel(math.pi / a, a) == pytest.approx(4 / a ** 2)


@pytest.mark.parametrize("kernel,model", [("discrete", "cut"), ("continuum", "cut"), ("discrete", "bridged")])
def test_field_is_minus_energy_gradient_with_dmi_and_vacancies(rng, kernel, model):
    n, a = 32, 0.5
    occ = np.ones(n, bool)
    occ[[3, 4, 17]] = False
    chain = PSLLChain(n, a, **MAT, B=(0.05, 0.1, -0.2), D=3e-3, axis=(0.3, 0.2, 1.0), kernel=kernel, occupied=occ,
                      vacancy_model=model)
    m = random_state(rng, n, occ if model == "cut" else None)
    b = chain.field(m)
    h = 1e-6
    for i in (0, 5, 16, 18, 31) if model == "cut" else (0, 3, 5, 16, 17, 18, 31):
        for c in range(3):
            mp, mm = m.copy(), m.copy()
            mp[c, i] += h
            mm[c, i] -= h
            # the energy is defined for any vectors; bypass the unit-norm check
            grad = (chain._energy(mp) - chain._energy(mm)) / (2 * h)
            assert -grad / (MAT["M_s"] * a * 1e-9) == pytest.approx(b[c, i], rel=1e-5, abs=1e-6 * np.abs(b).max())
    if model == "cut":
        assert np.all(b[:, ~occ] == 0)
    else:  # bridged: exchange (and DMI) only on vacant sites, no anisotropy or Zeeman field
        bare = chain.replace(K_u=0.0, B=0.0)
        assert np.allclose(b[:, ~occ], bare.field(m)[:, ~occ], rtol=0, atol=1e-12 * np.abs(b).max())


def test_wall_energy_and_dmi_chirality_energy():
    # Neel walls of width sqrt(A/K): 4 sqrt(A K) per wall; interfacial DMI adds -D * cos(phi) * delta_theta each
    n, a, D = 512, 0.25, 1e-3
    chain = PSLLChain(n, a, **MAT, D=D, kernel="continuum")
    e0 = chain.energy(uniform_state(n))
    plus = chain.energy(domain_wall_state(n, a, DELTA, chirality=1)) - e0
    minus = chain.energy(domain_wall_state(n, a, DELTA, chirality=-1)) - e0
    bloch = chain.energy(domain_wall_state(n, a, DELTA, kind="bloch")) - e0
    sigma_w = 4 * math.sqrt(MAT["A_ex"] * MAT["K_u"])
    assert bloch == pytest.approx(2 * sigma_w, rel=1e-4)  # the seam mismatch of the pair costs ~3e-5
    assert plus == pytest.approx(2 * sigma_w - 2 * math.pi * D, rel=1e-4)
    assert minus - plus == pytest.approx(4 * math.pi * D, rel=1e-5)


# ----------------------------------------------------------------------------- integrator
def test_unit_norm_preserved_and_vacancies_stay_empty(rng):
    n = 64
    occ = telegraph_vacancies(n, 8.0, 3.0, seed=1, realisation=0)
    chain = PSLLChain(n, 0.5, **MAT, B=0.2, D=1e-3, alpha=0.05, occupied=occ)
    traj = chain.evolve(random_state(rng, n), 2.0, sample_every=100)
    norms = np.linalg.norm(traj.m, axis=0)
    assert np.allclose(norms[occ], 1.0, atol=1e-14) and np.all(norms[~occ] == 0)
    assert traj.max_norm_error < 1e-5  # RK4 itself keeps |m| to O(dt^5) per step; renormalising removes it
    assert np.all(traj.samples[:, :, ~occ] == 0)


def test_energy_conserved_without_damping():
    n = 64
    chain = PSLLChain(n, 1.0, **MAT, B=0.1, D=2e-3)
    m = smooth_state(n)
    e_ref = chain.energy(uniform_state(n))
    traj = chain.evolve(m, 50.0, sample_every=50, track_energy=True)
    drift = np.abs(traj.energy - traj.energy[0]).max() / abs(traj.energy[0] - e_ref)
    assert drift < 1e-8
    assert not np.allclose(traj.m, m, atol=1e-2)  # it did move
    # adaptive solve_ivp methods agree with RK4
    for method in ("rk45", "dop853"):
        other = chain.evolve(m, 50.0, method=method, rtol=1e-10, atol=1e-12)
        assert np.abs(other.m - traj.m).max() < 1e-5
    # with damping the energy decreases monotonically
    damped = chain.replace(alpha=0.2).evolve(m, 20.0, sample_every=20, track_energy=True)
    assert np.all(np.diff(damped.energy) < 1e-12 * abs(damped.energy[0]))


def test_stability_limit_is_sharp_and_checked(rng):
    n = 64
    chain = PSLLChain(n, 1.0, **MAT, B=0.1)
    limit = chain.stable_dt()
    assert rk4_stability_radius(0.0) == pytest.approx(2 * math.sqrt(2), rel=1e-6)
    with pytest.raises(ValueError, match="stability limit"):
        chain.evolve(uniform_state(n), 1.0, dt=1.05 * limit)
    with pytest.raises(ValueError, match="stability limit"):
        chain.relax(uniform_state(n), dt=1.05 * chain.stable_dt(precession=False))

    # a small zone-boundary magnon: bounded just below the limit, growing just above it
    x = np.arange(n)
    m0 = np.stack([1e-3 * (-1.0) ** x, np.zeros(n), np.ones(n)])
    m0 /= np.linalg.norm(m0, axis=0)
    for factor, grows in ((0.98, False), (1.1, True)):
        m = chain.check_state(m0)
        for _ in range(400):
            m, _ = chain.step(m, factor * limit)
        amp = np.abs(m[:2]).max()
        assert (amp > 2e-3) == grows, (factor, amp)


# ----------------------------------------------------------------------------- dispersion
@pytest.mark.parametrize("kernel", ["discrete", "continuum"])
def test_defect_free_dispersion_matches_analytic(kernel):
    chain = PSLLChain(64, 1.0, **MAT, B=0.1, kernel=kernel)
    res = measure_dispersion(chain, 150.0, seed=3)
    assert np.allclose(res.analytic, chain_dispersion(chain))
    assert res.analytic[0] == pytest.approx(GAMMA / (2 * np.pi) * (0.1 + 1.0) * 1e-9)
    for j in (0, 1, 2, 4, 8, 16, 24, 32):  # k = j * 2 pi / (64 nm), up to the zone boundary pi / a
        err = abs(res.f[j] - res.analytic[j])
        assert err < max(0.01 * res.analytic[j], res.bin), (j, res.f[j], res.analytic[j], res.bin)
    assert np.allclose(res.centroid[1:], res.analytic[1:], rtol=5e-3)
    assert np.allclose(res.sum_rule, res.analytic)
    assert res.spread.max() < 2 * res.bin


def test_vacancies_lower_the_mean_frequency_and_broaden_the_lines():
    chain = PSLLChain(64, 1.0, **MAT, B=0.1)
    ideal = measure_dispersion(chain, 150.0, seed=3)
    res = measure_dispersion(chain, 150.0, sigma=8.0, tau=4.0, n_realisations=4, seed=0)
    k = slice(1, None)
    # exact (sum rule): missing bonds lower the first frequency moment at every k > 0
    assert np.all(res.sum_rule[k] < ideal.analytic[k])
    occ = telegraph_vacancies(64, 8.0, 4.0, seed=0, realisation=0)
    rho_b = (occ & np.roll(occ, -1)).sum() / occ.sum()
    single = chain.replace(occupied=occ)
    f0 = ideal.analytic[0]
    assert np.allclose(sum_rule_frequency(single), f0 + rho_b * (ideal.analytic - f0))
    # measured centroids follow the sum rule (statistical scatter of 4 realisations: a few %)
    dev = res.centroid[k] - res.sum_rule[k]
    assert np.all(np.abs(dev) < 0.15 * (res.sum_rule[k] - f0) + res.bin)
    assert abs(np.mean(dev / (res.sum_rule[k] - f0))) < 0.04
    # the averaged centroid is the power-weighted mean of the realisations' centroids
    assert res.centroids.shape == res.weights.shape == (4, res.k.size)
    assert np.allclose((res.weights * res.centroids).sum(0) / res.weights.sum(0), res.centroid, rtol=1e-12)
    assert np.std(res.centroids[:, k], axis=0).mean() > 0.01 * (ideal.analytic[k] - f0).mean()  # they scatter
    assert np.mean(res.centroid[k] / ideal.analytic[k] - 1) < -0.03
    # broadening: the power at one k spreads over many eigenmodes
    assert np.all(res.spread[k] > 4 * ideal.spread[k]) and np.median(res.spread[k] / ideal.spread[k]) > 20
    assert 0.55 < res.occupied_fraction < 0.8


# ----------------------------------------------------------------------------- domain walls
def test_wall_width_is_sqrt_A_over_K_for_fine_discretisation():
    for a, kernel, tol in ((0.25, "discrete", 0.01), (0.5, "continuum", 0.005)):
        chain = PSLLChain(int(128 / a), a, **MAT, kernel=kernel)
        res = domain_wall_width(chain, width0=1.3 * DELTA, pin=False)
        assert res.converged
        assert res.width == pytest.approx(DELTA, rel=tol)
        assert res.fit.x0 == pytest.approx(32.0, abs=0.05 * DELTA)
        assert res.energy == pytest.approx(2 * 4 * math.sqrt(MAT["A_ex"] * MAT["K_u"]), rel=tol)
        pinned = domain_wall_width(chain, width0=1.3 * DELTA)
        assert pinned.width == pytest.approx(DELTA, rel=tol)
    # a coarse lattice (a = Delta / 2) narrows the discrete wall
    coarse = domain_wall_width(PSLLChain(64, DELTA / 2, **MAT), pin=False)
    assert coarse.width < 0.97 * DELTA


def test_vacancy_pins_and_collapses_an_unpinned_wall():
    # a vacancy cuts the nearest-neighbour chain: a wall there costs no exchange energy
    n, a = 128, 0.5
    occ = np.ones(n, bool)
    occ[n // 4 + 3] = False  # 3 sites (1.5 nm < Delta) from the first wall's centre
    chain = PSLLChain(n, a, **MAT, occupied=occ)
    res = domain_wall_width(chain, pin=False)
    assert res.width < a
    assert res.fit.x0 == pytest.approx((n // 4 + 3.5) * a, abs=a)
    free = domain_wall_width(PSLLChain(n, a, **MAT), pin=False)
    assert res.energy < free.energy - 0.3 * 4 * math.sqrt(MAT["A_ex"] * MAT["K_u"])


def test_vacancies_change_pinned_wall_widths():
    chain = PSLLChain(128, 0.5, **MAT)
    ens = wall_width_ensemble(chain, 10.0, 5.0, n_realisations=4, seed=0)
    assert ens.converged.all() and ens.widths.shape == (4,)
    assert np.mean(np.abs(ens.widths - DELTA)) > 0.1 * DELTA
    again = wall_width_ensemble(chain, 10.0, 5.0, n_realisations=4, seed=0)
    assert np.array_equal(ens.widths, again.widths)


def test_bridged_vacancies_dilute_the_anisotropy_and_widen_the_wall():
    # the chapter's protocol: bridged vacancies (no anisotropy there, exchange through them), pinned centre;
    # runs much shorter than the wall -> effective anisotropy p K, width sqrt(A / (p K)), p = 1/2 here
    chain = PSLLChain(256, 0.5, **MAT, vacancy_model="bridged")
    ens = wall_width_ensemble(chain, 1.0, 1.0, n_realisations=6, seed=0)
    assert ens.converged.all()
    assert ens.mean == pytest.approx(DELTA * math.sqrt(2), rel=0.04)
    assert ens.m_z.shape == (6, 128) and ens.x.shape == (128,)
    j = int(np.argmin(np.abs(ens.x)))
    assert ens.x[j] == 0 and np.allclose(ens.m_z[:, j], 0, atol=1e-12)  # the pinned centre, in-plane
    assert np.all(ens.m_z[:, 0] > 0.9) and np.all(ens.m_z[:, -1] < -0.9)
    # converged: a 10x tighter torque tolerance moves no width by more than 1e-3 nm
    tight = wall_width_ensemble(chain, 1.0, 1.0, n_realisations=2, seed=0, torque_tol=1e-5)
    assert np.allclose(tight.widths, ens.widths[:2], atol=1e-3)
    # long vacancy runs widen it further; a defect-free bridged chain is the plain chain
    assert wall_width_ensemble(chain, 4.0, 8.0, n_realisations=2, seed=0).mean > 1.3 * DELTA
    assert domain_wall_width(chain).width == pytest.approx(domain_wall_width(PSLLChain(256, 0.5, **MAT)).width)
    chain.evolve(uniform_state(256), 0.1)  # defect-free: the bridged chain is the plain chain
    occ = telegraph_vacancies(256, 4.0, 2.0, seed=0, realisation=0)
    with pytest.raises(ValueError, match="vacancy_model='cut'"):
        chain.replace(occupied=occ).evolve(uniform_state(256), 1.0)


def test_fit_wall_recovers_tanh():
    x = np.linspace(0, 40, 200)
    fit = fit_wall(x, -np.tanh((x - 17.0) / 3.0))
    assert fit.sign == -1 and fit.x0 == pytest.approx(17.0) and fit.width == pytest.approx(3.0)
    with pytest.raises(ValueError, match="no wall"):
        fit_wall(x, np.ones_like(x))


# ----------------------------------------------------------------------------- grid independence
# a coarse grid (spacing 4 a_L) of a fine lattice (a_L = 0.5 nm): the kernel is the lattice's dispersion
A_L, COARSE = 0.5, 4


def test_coarse_grid_of_a_fine_lattice_has_the_atomistic_dispersion():
    length = 64.0  # nm
    fine = PSLLChain(int(length / A_L), A_L, **MAT, B=0.1)
    coarse = PSLLChain(int(length / (COARSE * A_L)), COARSE * A_L, **MAT, B=0.1, lattice_constant=A_L)
    assert coarse.k[-1] == pytest.approx(math.pi / (COARSE * A_L))  # the coarse grid's Nyquist wavevector
    atomistic = analytic_dispersion(coarse.k, A_ex=MAT["A_ex"], M_s=MAT["M_s"], a=A_L, K_u=MAT["K_u"], B=0.1)
    assert np.allclose(chain_dispersion(coarse), atomistic)
    res_fine = measure_dispersion(fine, 150.0, seed=3)
    res = measure_dispersion(coarse, 150.0, seed=3)
    j_fine = np.rint(coarse.k / fine.k[1]).astype(int)
    assert np.allclose(res_fine.k[j_fine], coarse.k)
    # measured on the coarse grid: within 1 % of the atomistic chain at every k up to the coarse Nyquist
    assert np.all(np.abs(res.f / atomistic - 1) < 0.01), res.f / atomistic - 1
    assert np.all(np.abs(res.f / res_fine.f[j_fine] - 1) < 0.01), res.f / res_fine.f[j_fine] - 1
    # ... which neither the nearest-neighbour chain of cells nor the continuum kernel achieves on that grid
    for other in (coarse.replace(lattice_constant=None), coarse.replace(kernel="continuum")):
        assert abs(chain_dispersion(other)[-1] / atomistic[-1] - 1) > 0.03
    # the coarse grid's stability limit is that of its Nyquist wavevector: more than COARSE times longer steps
    assert coarse.stable_dt() > COARSE * fine.stable_dt()


def test_coarse_grid_of_a_fine_lattice_has_the_atomistic_wall_width():
    length = 128.0
    fine = domain_wall_width(PSLLChain(int(length / A_L), A_L, **MAT), pin=False)
    grid = COARSE * A_L  # 2 nm, 0.45 sqrt(A/K)
    coarse_chain = PSLLChain(int(length / grid), grid, **MAT, lattice_constant=A_L)
    coarse = domain_wall_width(coarse_chain, pin=False)
    assert fine.converged and coarse.converged
    assert coarse.width == pytest.approx(fine.width, rel=0.01)
    assert coarse.energy == pytest.approx(fine.energy, rel=0.01)
    # a nearest-neighbour chain with the grid spacing as its lattice constant narrows the wall by > 1 %
    naive = domain_wall_width(coarse_chain.replace(lattice_constant=None), pin=False)
    assert naive.width < 0.99 * fine.width


# ----------------------------------------------------------------------------- blocks (realisations in one chain)
def test_blocks_are_independent_chains(rng):
    n, reps = 48, 3
    occs = [telegraph_vacancies(n, 6.0, 2.0, seed=1, realisation=r) for r in range(reps)]
    singles = [PSLLChain(n, 0.5, **MAT, B=0.05, D=2e-3, occupied=o) for o in occs]
    block = PSLLChain(n * reps, 0.5, **MAT, B=0.05, D=2e-3, occupied=np.concatenate(occs), blocks=reps)
    assert np.allclose(block.k, singles[0].k) and block.stable_dt() == pytest.approx(singles[0].stable_dt())
    ms = [random_state(rng, n, o) for o in occs]
    m = np.concatenate(ms, axis=1)
    # the kernels act within each block: fields and energies are those of the separate chains
    assert np.allclose(block.field(m), np.concatenate([c.field(x) for c, x in zip(singles, ms)], axis=1), atol=1e-12)
    assert block.energy(m) == pytest.approx(sum(c.energy(x) for c, x in zip(singles, ms)), rel=1e-12)
    traj = block.evolve(m, 2.0, components="xyz")
    for b, (c, x) in enumerate(zip(singles, ms)):
        alone = c.evolve(x, 2.0, dt=traj.dt, components="xyz")
        assert np.allclose(traj.m[:, b * n:(b + 1) * n], alone.m, atol=1e-12)
    # a single periodic chain of 3n sites is not three blocks: the walls between blocks are not there
    one = PSLLChain(n * reps, 0.5, **MAT, B=0.05, D=2e-3, occupied=np.concatenate(occs))
    assert not np.allclose(one.field(m), block.field(m))


def test_batched_realisations_give_the_same_dispersion_and_walls():
    chain = PSLLChain(64, 1.0, **MAT, B=0.1)
    one = measure_dispersion(chain, 40.0, sigma=8.0, tau=4.0, n_realisations=3, seed=2)
    batched = measure_dispersion(chain, 40.0, sigma=8.0, tau=4.0, n_realisations=3, seed=2, batch=2)
    for name in ("f", "centroid", "spread", "sum_rule", "centroids", "weights", "power"):
        assert np.allclose(getattr(one, name), getattr(batched, name), rtol=1e-10, atol=1e-12), name
    wchain = PSLLChain(128, 0.5, **MAT, vacancy_model="bridged")
    w1 = wall_width_ensemble(wchain, 4.0, 2.0, n_realisations=4, seed=0, torque_tol=1e-3)
    w4 = wall_width_ensemble(wchain, 4.0, 2.0, n_realisations=4, seed=0, torque_tol=1e-3, batch=4)
    assert w4.converged.all() and w4.widths.shape == (4,) and w4.m_z.shape == w1.m_z.shape
    assert np.allclose(w4.widths, w1.widths, atol=0.05)  # relaxed further in the batch, by less than the tolerance
    assert w4.occupied_fraction == w1.occupied_fraction
    with pytest.raises(ValueError, match="one block"):
        measure_dispersion(chain.replace(n=128, blocks=2), 10.0)


# ----------------------------------------------------------------------------- bad input
def test_bad_input_raises(rng):
    with pytest.raises(ValueError, match="kernel"):
        PSLLChain(16, 1.0, **MAT, kernel="spectral")
    with pytest.raises(ValueError, match="M_s"):
        PSLLChain(16, 1.0, A_ex=1e-11, M_s=0.0)
    with pytest.raises(ValueError, match="n \\(number of sites\\)"):
        PSLLChain(1, 1.0, **MAT)
    with pytest.raises(ValueError, match="occupied"):
        PSLLChain(16, 1.0, **MAT, occupied=np.zeros(16, bool))
    with pytest.raises(ValueError, match="vacancy_model"):
        PSLLChain(16, 1.0, **MAT, vacancy_model="holes")
    with pytest.raises(ValueError, match="lattice_constant"):
        PSLLChain(16, 1.0, **MAT, lattice_constant=2.0)
    with pytest.raises(ValueError, match="lattice_constant"):
        PSLLChain(16, 1.0, **MAT, lattice_constant=-0.5)
    occ16 = np.ones(16, bool)
    occ16[3] = False
    with pytest.raises(ValueError, match="blocks"):
        PSLLChain(16, 1.0, **MAT, blocks=3)
    with pytest.raises(ValueError, match="missing lattice sites"):
        PSLLChain(16, 2.0, **MAT, lattice_constant=0.5, occupied=occ16)
    chain = PSLLChain(16, 1.0, **MAT)
    with pytest.raises(ValueError, match="shape"):
        chain.field(np.zeros((3, 15)))
    with pytest.raises(ValueError, match="unit vectors"):
        chain.energy(2 * uniform_state(16))
    bad = uniform_state(16)
    bad[0, 3] = np.nan
    with pytest.raises(ValueError, match="finite"):
        chain.evolve(bad, 1.0)
    with pytest.raises(ValueError, match="components"):
        chain.evolve(uniform_state(16), 1.0, components="xq")
    with pytest.raises(ValueError, match="duration"):
        chain.evolve(uniform_state(16), -1.0)
    with pytest.raises(ValueError, match="sigma"):
        measure_dispersion(chain, 10.0, sigma=-1.0, tau=2.0)
    with pytest.raises(ValueError, match="both sigma and tau"):
        measure_dispersion(chain, 10.0, sigma=3.0)
    with pytest.raises(ValueError, match="sigma \\+ tau"):
        wall_width_ensemble(chain, 10.0, 10.0)
    with pytest.raises(ValueError, match="B along z"):
        chain_dispersion(PSLLChain(16, 1.0, **MAT, B=(0.1, 0.0, 0.0)))
    with pytest.raises(ValueError, match="anisotropy"):
        domain_wall_width(PSLLChain(16, 1.0, A_ex=1e-11, M_s=1e6))
    with pytest.raises(ValueError, match="amplitude"):
        transverse_excitation(chain, 0.0, rng)
    assert analytic_dispersion(0.0, A_ex=1e-11, M_s=1e6, a=1.0, B=1.0) == pytest.approx(GAMMA / 2 / np.pi * 1e-9)
