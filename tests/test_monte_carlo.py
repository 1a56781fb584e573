"""Monte Carlo against exact thermal averages, bookkeeping and reproducibility."""

import numba
import numpy as np
import pytest

from mag_ml import (AnnealSchedule, Hamiltonian, MonteCarloChain, anneal, metropolis, random_spins, relax,
                    topological_charge)


def batch_mean(x, n_batches=20):
    """Mean and its standard error from batch means (handles autocorrelation)."""
    b = np.asarray(x)[: len(x) // n_batches * n_batches].reshape(n_batches, -1).mean(axis=1)
    return b.mean(), b.std(ddof=1) / np.sqrt(n_batches)


def test_free_spins_follow_the_langevin_function():
    """J = D = 0: independent spins, <S_z> = coth(B/T) - T/B."""
    H = Hamiltonian(J=0.0, D=0.0, B=1.0)
    T = 0.5
    res = metropolis(H, (8, 8), T, 6000, seed=3, delta=1.5)
    m, err = batch_mean(res.magnetisation[500:, 2])
    exact = 1 / np.tanh(1.0 / T) - T / 1.0
    assert abs(m - exact) < 4 * err + 1e-3, (m, err, exact)
    assert err < 0.01


def fibonacci_sphere(m):
    i = np.arange(m) + 0.5
    z = 1 - 2 * i / m
    phi = np.pi * (1 + 5**0.5) * i
    r = np.sqrt(1 - z * z)
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], 1)


def log_partition_2x2_open(J, Dvec_x, Dvec_y, B, K, beta, m=600):
    """ln Z of the open 2x2 lattice (a ring of 4 bonds) by transfer matrices on a
    Fibonacci-sphere quadrature; written from the Hamiltonian's definition, independent
    of the package's kernels."""
    p = fibonacci_sphere(m)

    def bond(dvec):
        return -J * (p @ p.T) - np.cross(p[:, None, :], p[None, :, :]) @ dvec

    ex, ey = bond(Dvec_x), bond(Dvec_y)
    shift = min(ex.min(), ey.min())
    a, b = np.exp(-beta * (ex - shift)), np.exp(-beta * (ey - shift))
    w = np.diag(np.exp(beta * (B * p[:, 2] + K * p[:, 2] ** 2)) * (4 * np.pi / m))
    # sites 0=(0,0) -x-> 1=(0,1) -y-> 3=(1,1) <-x- 2=(1,0) <-y- 0
    z = np.trace(w @ a @ w @ b @ w @ a.T @ w @ b.T)
    return np.log(z) - 4 * beta * shift


def exact_2x2_averages(H, T, h=1e-4):
    """Exact energy and <S_z> of the open 2x2 lattice at T: derivatives of ln Z by central differences."""
    dx, dy = H.dmi_vectors()
    beta = 1 / T
    lnz = lambda beta, B: log_partition_2x2_open(H.J, dx, dy, B, H.K, beta)  # noqa: E731
    e_exact = -(lnz(beta + h, H.B) - lnz(beta - h, H.B)) / (2 * h)
    mz_exact = (lnz(beta, H.B + h) - lnz(beta, H.B - h)) / (2 * h) / beta / 4
    return e_exact, mz_exact


@pytest.mark.parametrize("dmi", ["interfacial", "bulk"])
def test_small_lattice_matches_exact_averages(dmi):
    T = 0.7
    H = Hamiltonian(J=1.0, D=0.5, B=0.3, K=0.2, dmi=dmi, boundary="open")
    e_exact, mz_exact = exact_2x2_averages(H, T)
    numba.set_num_threads(1)  # tiny lattice: threads only add overhead
    try:
        res = metropolis(H, (2, 2), T, 200_000, seed=11, delta=1.0)
    finally:
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    e, e_err = batch_mean(res.energy[2000:])
    m, m_err = batch_mean(res.magnetisation[2000:, 2])
    assert abs(e - e_exact) < 4 * e_err + 2e-4, (e, e_err, e_exact)
    assert abs(m - mz_exact) < 4 * m_err + 2e-4, (m, m_err, mz_exact)
    assert e_err < 0.02 and m_err < 0.01  # enough power to see a 5 % error in T


@pytest.mark.parametrize("boundary", ["periodic", "open"])
def test_bookkeeping_matches_recomputation_and_norm_is_kept(boundary, rng):
    H = Hamiltonian(J=1.0, D=0.3, B=0.05, K=0.1, boundary=boundary)
    mask = rng.random((12, 16)) > 0.1
    start = random_spins((12, 16), seed=1) * mask
    res = metropolis(H, start, 0.4, 300, seed=2, mask=mask)
    assert res.energy[-1] == pytest.approx(H.energy(res.spins, mask=mask), rel=1e-10)
    np.testing.assert_allclose(res.magnetisation[-1], res.spins.sum(axis=(1, 2)) / mask.sum(), atol=1e-12)
    norms = np.linalg.norm(res.spins, axis=0)
    np.testing.assert_allclose(norms[mask], 1.0, atol=1e-12)
    assert np.all(res.spins[:, ~mask] == 0)
    assert 0.05 < res.acceptance.mean() < 0.95


@pytest.mark.parametrize("boundary", ["periodic", "open"])
def test_chain_tracks_energy_and_moment_and_keeps_unit_spins(boundary, rng):
    H = Hamiltonian(J=1.0, D=0.4, B=0.1, K=0.2, boundary=boundary)
    mask = rng.random((10, 14)) > 0.15
    chain = MonteCarloChain(H, random_spins((10, 14), seed=3) * mask, mask=mask, seed=4, sample=1)
    assert chain.n_sites == mask.sum() and chain.sweep_index == 0
    for T, n, delta in [(2.0, 7, 1.5), (0.5, 30, 0.6), (0.1, 13, 0.2)]:  # hot to cold
        before = chain.energy
        dE, dM, accepted = chain.sweep(T, n, delta)
        assert dE.shape == (n,) and dM.shape == (n, 3) and np.all((accepted > 0) & (accepted <= chain.n_sites))
        spins = chain.spins
        # the running energy (accepted moves only) is the full recomputation
        assert chain.energy == pytest.approx(H.energy(spins, mask=mask), rel=1e-9)
        assert chain.energy - before == pytest.approx(dE.sum(), rel=1e-9)
        np.testing.assert_allclose(chain.moment, spins.sum(axis=(1, 2)), atol=1e-10)
        np.testing.assert_allclose(chain.magnetisation, spins[:, mask].mean(axis=1), atol=1e-12)
        np.testing.assert_allclose(np.linalg.norm(spins, axis=0)[mask], 1.0, atol=1e-12)
        assert np.all(spins[:, ~mask] == 0)
    assert chain.sweep_index == 50
    cold = chain.energy
    n = chain.relax()
    assert 1 <= n < 100_000 and chain.energy < cold
    assert chain.energy == H.energy(chain.spins, mask=mask)
    assert H.cos_theta(chain.spins, mask=mask)[mask].min() > 1 - 1e-8


def test_metropolis_is_a_schedule_on_the_chain(rng):
    """metropolis = one chain.sweep call; splitting it keeps the chain (random numbers keyed by sweep)."""
    H = Hamiltonian(J=1.0, D=0.3, B=0.05, K=0.1)
    mask = rng.random((12, 16)) > 0.1
    start = random_spins((12, 16), seed=1) * mask
    res = metropolis(H, start, 0.4, 40, seed=2, sample=5, sweep_offset=3, delta=0.7, mask=mask)
    chain = MonteCarloChain(H, start, mask=mask, seed=2, sample=5, sweep_offset=3)
    e0, m0 = chain.energy, chain.moment
    steps = [chain.sweep(0.4, n, 0.7) for n in (15, 25)]
    dE, dM, accepted = (np.concatenate(parts) for parts in zip(*steps))
    assert np.array_equal(chain.spins, res.spins)
    assert np.array_equal(e0 + np.cumsum(dE), res.energy)
    assert np.array_equal((m0 + np.cumsum(dM, axis=0)) / chain.n_sites, res.magnetisation)
    assert np.array_equal(accepted / chain.n_sites, res.acceptance)
    # a chain from a shape starts from random_spins(shape, seed, sample)
    assert np.array_equal(MonteCarloChain(H, (12, 16), seed=2, sample=5).spins, random_spins((12, 16), 2, 5))


def test_same_seed_same_chain_for_any_thread_count():
    H = Hamiltonian()
    shape = (128, 128)  # large enough to run on several threads
    runs = []
    for threads in (1, numba.config.NUMBA_NUM_THREADS):
        numba.set_num_threads(threads)
        runs.append(metropolis(H, shape, 0.3, 20, seed=5, sample=2).spins)
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert np.array_equal(runs[0], runs[1])
    other = metropolis(H, shape, 0.3, 20, seed=5, sample=3).spins
    assert not np.array_equal(runs[0], other)
    # continuing a chain with sweep_offset equals one long run
    half = metropolis(H, shape, 0.3, 10, seed=5, sample=2)
    rest = metropolis(H, half.spins, 0.3, 10, seed=5, sample=2, sweep_offset=10)
    assert np.array_equal(rest.spins, runs[0])


def test_anneal_gives_metastable_skyrmions():
    """The paper's model anneals into skyrmions (Q <= -1, integer) that are metastable:
    after relaxation every spin lies along its effective field."""
    H = Hamiltonian(J=1.0, D=0.3, B=0.05)
    sched = AnnealSchedule(T_start=1.0, T_end=0.01, n_steps=20, sweeps_per_step=50)
    res = anneal(H, (32, 32), sched, seed=0, sample=0, n_snapshots=4)
    q = topological_charge(res.spins)
    assert q == pytest.approx(round(q), abs=1e-9) and q <= -1
    assert res.charge_history[-1] == pytest.approx(q, abs=1e-6)
    assert H.cos_theta(res.spins).min() > 1 - 1e-6
    assert res.energy == pytest.approx(H.energy(res.spins))
    assert res.energy < res.energy_history[0]
    assert res.snapshots.shape == (4, 3, 32, 32)
    assert np.array_equal(res.snapshots[-1], res.spins)
    again = anneal(H, (32, 32), sched, seed=0, sample=0)
    assert np.array_equal(again.spins, res.spins)


def test_relax_lowers_energy_and_aligns():
    H = Hamiltonian()
    start = metropolis(H, (16, 16), 0.2, 100, seed=1).spins
    out, n = relax(H, start)
    assert H.energy(out) < H.energy(start)
    assert H.cos_theta(out).min() > 1 - 1e-8
    assert n < 100_000
    # plain field alignment (the paper's greedy step) reaches the same state
    slow, _ = relax(H, start, omega=1.0, tol=1e-10)
    assert H.energy(slow) == pytest.approx(H.energy(out), rel=1e-8)


@pytest.mark.parametrize("call,match", [
    (lambda H: metropolis(H, (8, 8), -1.0, 10), "T must be a finite temperature > 0"),
    (lambda H: metropolis(H, (8, 8), float("nan"), 10), "T must be a finite temperature"),
    (lambda H: metropolis(H, (8, 8), 0.0, 10), "T must be a finite temperature > 0"),
    (lambda H: metropolis(H, (8, 8), 1.0, 0), "n_sweeps must be a positive integer"),
    (lambda H: metropolis(H, (8, 8), 1.0, 10, delta=-1), "delta must be a positive"),
    (lambda H: metropolis(H, (8, 8), 1.0, 10, seed=-3), "seed must be an integer"),
    (lambda H: metropolis(H, (8, 7), 1.0, 10), "even"),
    (lambda H: metropolis(H, (8, 8), 1.0, 10, mask=np.ones((4, 4), bool)), "mask must have the lattice shape"),
    (lambda H: AnnealSchedule(T_start=0.1, T_end=1.0), "T_end must not exceed"),
    (lambda H: AnnealSchedule(T_end=-0.1), "T_end must be a finite temperature"),
    (lambda H: AnnealSchedule(n_steps=0), "n_steps must be a positive integer"),
    (lambda H: relax(H, random_spins((4, 4)), omega=2.5), "omega must lie in"),
    (lambda H: MonteCarloChain(H, (8, 8), sweep_offset=-1), "sweep_offset must be an integer"),
    (lambda H: MonteCarloChain(H, (8, 8)).sweep(1.0, 0), "n_sweeps must be a positive integer"),
    (lambda H: MonteCarloChain(H, (8, 8)).relax(tol=0.0), "tol must be a positive"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call(Hamiltonian())


def test_bad_types():
    with pytest.raises(TypeError, match="schedule must be an AnnealSchedule"):
        anneal(Hamiltonian(), (8, 8), {"T_start": 1.0}, seed=0)
    with pytest.raises(TypeError, match="hamiltonian must be a mag_ml.Hamiltonian"):
        metropolis("J=1", (8, 8), 1.0, 1)
    with pytest.raises(TypeError, match="hamiltonian must be a mag_ml.Hamiltonian"):
        MonteCarloChain(None, (8, 8))
