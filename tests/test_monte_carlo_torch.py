"""The torch Monte Carlo backend: the numba kernel's chain and Boltzmann averages, batch-independent states."""

import numpy as np
import pytest
import torch

from mag_ml import AnnealSchedule, Hamiltonian, anneal, metropolis, random_spins, relax
from mag_ml.checks import resolve_device
from mag_ml.physics import monte_carlo_torch as mt
from mag_ml.physics.rng import splitmix64
from tests.test_monte_carlo import exact_2x2_averages


def test_random_numbers_and_start_states_are_the_numba_ones():
    x = [0, 1, 12345, 2**64 - 5, 2**63, 2**62 + 7]
    got = mt.splitmix64(torch.tensor([mt._signed(v) for v in x], dtype=torch.int64)).tolist()
    assert [g % 2**64 for g in got] == [int(splitmix64(np.uint64(v))) for v in x]
    starts = mt.random_spins_batch((6, 8), seed=3, samples=[0, 4]).numpy()
    np.testing.assert_allclose(starts[1], random_spins((6, 8), 3, 4), atol=1e-15)
    np.testing.assert_allclose(starts[0], random_spins((6, 8), 3, 0), atol=1e-15)


@pytest.mark.parametrize("dmi", ["interfacial", "bulk"])
@pytest.mark.parametrize("boundary", ["periodic", "open"])
def test_chain_is_the_numba_chain_to_rounding(dmi, boundary):
    """Same keys, proposal and acceptance: the torch chain follows the numba chain (and its relaxation)."""
    H = Hamiltonian(J=1.0, D=0.4, B=0.1, K=0.2, dmi=dmi, boundary=boundary)
    ref = metropolis(H, (8, 10), 0.5, 20, seed=2, sample=3, delta=0.7)
    got = mt.metropolis_batch(H, (8, 10), 0.5, 20, seed=2, samples=[1, 3], delta=0.7)
    np.testing.assert_allclose(got.spins[1].numpy(), ref.spins, atol=1e-12)
    np.testing.assert_allclose(got.energy[:, 1].numpy(), ref.energy, atol=1e-10)
    np.testing.assert_allclose(got.acceptance[:, 1].numpy(), ref.acceptance, atol=0)
    relaxed, n = relax(H, ref.spins)
    relaxed_t, n_t = mt.relax_batch(H, ref.spins[None])
    assert int(n_t[0]) == n
    np.testing.assert_allclose(relaxed_t[0].numpy(), relaxed, atol=1e-12)


def test_anneal_follows_the_numba_anneal():
    """Same schedule semantics: per-state cone adaptation, step energies, relaxation."""
    H = Hamiltonian(J=1.0, D=0.3, B=0.05)
    schedule = AnnealSchedule(T_start=1.0, T_end=0.1, n_steps=5, sweeps_per_step=25)
    ref = anneal(H, (8, 8), schedule, seed=4, sample=2)
    got = mt.anneal_batch(H, (8, 8), schedule, seed=4, samples=[2])
    np.testing.assert_allclose(got.spins[0].numpy(), ref.spins, atol=1e-9)
    np.testing.assert_allclose(got.energy_history[:, 0].numpy(), ref.energy_history, atol=1e-8)
    np.testing.assert_allclose(got.acceptance_history[:, 0].numpy(), ref.acceptance_history, atol=0)
    assert int(got.relax_sweeps[0]) == ref.relax_sweeps
    assert float(got.energy[0]) == pytest.approx(ref.energy, abs=1e-8)


@pytest.mark.parametrize("dmi", ["interfacial", "bulk"])
def test_2x2_thermal_averages_are_exact(dmi):
    """Energy and <S_z> of the open 2x2 lattice against the transfer-matrix partition function."""
    T = 0.7
    H = Hamiltonian(J=1.0, D=0.5, B=0.3, K=0.2, dmi=dmi, boundary="open")
    e_exact, mz_exact = exact_2x2_averages(H, T)
    n_chains, burn = 1000, 100
    chain = mt.BatchChain(H, (2, 2), seed=11, samples=range(n_chains))
    chain.sweep(T, burn, 1.0)
    energies, mz = [], []
    for _ in range(600):
        chain.sweep(T, 1, 1.0)
        energies.append(chain.energy.numpy())
        mz.append(chain.spins[:, 2].mean(dim=(1, 2)).numpy())
    # independent chains: the spread of their means gives the error
    e_chain, m_chain = np.mean(energies, 0), np.mean(mz, 0)
    e, e_err = e_chain.mean(), e_chain.std(ddof=1) / np.sqrt(n_chains)
    m, m_err = m_chain.mean(), m_chain.std(ddof=1) / np.sqrt(n_chains)
    assert abs(e - e_exact) < 4 * e_err + 2e-4, (e, e_err, e_exact)
    assert abs(m - mz_exact) < 4 * m_err + 2e-4, (m, m_err, mz_exact)
    assert e_err < 0.01 and m_err < 0.005  # enough power to see a 5 % error in T


def test_energy_at_L32_matches_the_numba_kernel():
    """Mean energy per spin at T = 1.5 (D = 0.3, B = 0.05): torch and numba agree within statistical error.

    Different seeds, so the two are independent estimates; 16 independent chains each.
    """
    H = Hamiltonian(J=1.0, D=0.3, B=0.05)
    T, L, burn, sweeps, n = 1.5, 32, 50, 150, 16
    numba_means = [metropolis(H, (L, L), T, burn + 2 * sweeps, seed=1, sample=i, delta=1.0).energy[burn:].mean()
                   for i in range(n)]
    res = mt.metropolis_batch(H, (L, L), T, burn + sweeps, seed=2, samples=range(n), delta=1.0)
    numba_means, torch_means = np.array(numba_means) / L**2, res.energy[burn:].mean(0).numpy() / L**2
    a, b = numba_means.mean(), torch_means.mean()
    err = np.hypot(numba_means.std(ddof=1), torch_means.std(ddof=1)) / np.sqrt(n)
    assert abs(a - b) < 4 * err, (a, b, err)
    assert err < 0.003  # a 5 % change of T (0.075) changes the energy per spin by ~0.025


@pytest.mark.parametrize("boundary", ["periodic", "open"])
def test_bookkeeping_unit_spins_and_vacancies(boundary, rng):
    H = Hamiltonian(J=1.0, D=0.4, B=0.1, K=0.2, boundary=boundary)
    mask = rng.random((10, 14)) > 0.15
    start = np.stack([random_spins((10, 14), seed=3, sample=i) * mask for i in range(3)])
    chain = mt.BatchChain(H, start, seed=4, mask=mask)
    for T, n, delta in [(2.0, 7, 1.5), (0.5, 30, 0.6), (0.1, 13, 0.2)]:
        before = chain.energy.clone()
        dE, accepted = chain.sweep(T, n, delta)
        spins = chain.spins
        np.testing.assert_allclose(chain.energy.numpy(), H.energy(spins, mask=mask).numpy(), rtol=1e-10)
        np.testing.assert_allclose((chain.energy - before).numpy(), dE.sum(0).numpy(), rtol=1e-9, atol=1e-12)
        assert bool(((accepted > 0) & (accepted <= mask.sum())).all())
        norms = spins.norm(dim=1).numpy()
        np.testing.assert_allclose(norms[:, mask], 1.0, atol=1e-12)
        assert np.all(norms[:, ~mask] == 0)
    cold = chain.energy.clone()
    n = chain.relax()
    assert bool((chain.energy < cold).all()) and bool((n < 100_000).all())
    assert float(H.cos_theta(chain.spins, mask=mask)[:, mask].min()) > 1 - 1e-8


def test_a_state_does_not_depend_on_its_batch():
    H = Hamiltonian(J=1.0, D=0.3, B=0.05, K=0.05)
    alone = mt.metropolis_batch(H, (12, 16), 0.6, 15, seed=7, samples=[5]).spins[0]
    batch = mt.metropolis_batch(H, (12, 16), 0.6, 15, seed=7, samples=[9, 5, 0, 1, 2, 3, 4, 6]).spins
    assert torch.equal(alone, batch[1])
    assert not torch.equal(batch[0], batch[1])
    schedule = AnnealSchedule(T_start=1.0, T_end=0.1, n_steps=3, sweeps_per_step=15)
    alone = mt.anneal_batch(H, (8, 8), schedule, seed=7, samples=[5])
    batch = mt.anneal_batch(H, (8, 8), schedule, seed=7, samples=[0, 5, 3])
    assert torch.equal(alone.spins[0], batch.spins[1])  # cone adaptation and relaxation stop are per state
    assert int(alone.relax_sweeps[0]) == int(batch.relax_sweeps[1])


def test_compiled_update_is_the_same_chain():
    """The update is a pure function: traced by torch.compile (eager backend: no C compiler needed), same chain."""
    H = Hamiltonian(J=1.0, D=0.3, B=0.05, K=0.05)
    eager = mt.BatchChain(H, (8, 8), seed=3, samples=[0, 1])
    traced = mt.BatchChain(H, (8, 8), seed=3, samples=[0, 1], compile="eager")
    for chain in (eager, traced):
        chain.sweep(0.7, 3, 0.6)
        chain.sweep(0.4, 2, torch.tensor([0.3, 0.9], dtype=torch.float64))
    assert torch.equal(eager.spins, traced.spins) and torch.equal(eager.energy, traced.energy)


def test_bad_input():
    H = Hamiltonian()
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device='cuda'.*no CUDA device"):
            mt.BatchChain(H, (4, 4), samples=[0], device="cuda")
    with pytest.raises(ValueError, match="device must be"):
        resolve_device("tpu")
    with pytest.raises(ValueError, match="samples must be given"):
        mt.BatchChain(H, (4, 4))
    with pytest.raises(ValueError, match="distinct"):
        mt.BatchChain(H, (4, 4), samples=[1, 1])
    with pytest.raises(ValueError, match="T must be"):
        mt.metropolis_batch(H, (4, 4), -1.0, 3, samples=[0])
    with pytest.raises(ValueError, match="even"):
        mt.BatchChain(H, (5, 4), samples=[0])
    with pytest.raises(ValueError, match="unit vectors"):
        mt.BatchChain(H, np.ones((1, 3, 4, 4)))
    with pytest.raises(ValueError, match="compile must be"):
        mt.BatchChain(H, (4, 4), samples=[0], compile=1)
