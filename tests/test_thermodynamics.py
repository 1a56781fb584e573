"""Observables with honest errors: blocking and autocorrelation times on processes with known answers,
fluctuation formulas against finite-difference derivatives and exact free-spin results, and error bars
that cover the spread of independent chains (statistical tests at fixed seeds)."""

import numpy as np
import pytest
from scipy.stats import chi2

from mag_ml import Hamiltonian, metropolis
from mag_ml.analysis.blocking import autocorrelation_time, blocking, jackknife
from mag_ml.analysis.thermodynamics import OBSERVABLES, scan_table, scan_to_xarray, thermodynamics
from mag_ml.io import read_netcdf, write_netcdf
from mag_ml.physics.measurement import field_cooling, measure, temperature_scan

H = Hamiltonian(J=1.0, D=0.3, B=0.05)


def ar1(phi, n, seed):
    """x_t = phi x_{t-1} + e_t, stationary: Var x = 1/(1-phi^2), tau_int = (1+phi)/(2(1-phi))."""
    rng = np.random.default_rng(seed)
    e = rng.normal(size=n)
    x = np.empty(n)
    x[0] = e[0] / np.sqrt(1 - phi ** 2)
    for i in range(1, n):
        x[i] = phi * x[i - 1] + e[i]
    return x


@pytest.mark.parametrize("phi", [0.0, 0.8, 0.95])
def test_blocking_and_sokal_window_recover_the_ar1_autocorrelation_time(phi):
    n = 2 ** 16
    x = ar1(phi, n, seed=11)
    tau = (1 + phi) / (2 * (1 - phi))
    exact_error = np.sqrt(2 * tau / (1 - phi ** 2) / n)
    r = blocking(x)
    assert r.converged
    assert r.error == pytest.approx(exact_error, rel=0.15)
    assert r.tau_int == pytest.approx(tau, rel=0.3)
    assert autocorrelation_time(x)[0] == pytest.approx(tau, rel=0.15)
    if phi > 0.5:  # the naive error is wrong by sqrt(2 tau): the analysis matters
        assert np.std(x) / np.sqrt(n) < 0.5 * r.error


def test_jackknife_of_a_variance_matches_its_known_error():
    x = np.random.default_rng(2).normal(size=20000)  # Var(s^2) = 2 sigma^4 / n for a normal sample
    value, error, nb = jackknife(lambda a, b: b - a * a, [x, x * x], block_size=1)
    assert nb == 20000 and value == pytest.approx(np.var(x))
    assert error == pytest.approx(np.sqrt(2 / 20000), rel=0.1)


def test_measurements_follow_the_metropolis_chain():
    run = measure(H, (8, 8), 0.7, 40, burn_in=0, delta=0.6, seed=3, charge_thin=2)
    ref = metropolis(H, (8, 8), 0.7, 40, seed=3, delta=0.6)
    np.testing.assert_allclose(run.energy, ref.energy, rtol=0, atol=1e-10)
    np.testing.assert_allclose(run.magnetisation, ref.magnetisation, rtol=0, atol=1e-12)
    np.testing.assert_allclose(run.energy[-1], H.energy(run.spins), atol=1e-9)
    assert run.charge.shape == (20,) and run.delta == 0.6


def test_specific_heat_and_susceptibility_are_the_derivatives_of_the_means():
    """C = d<E>/dT / N and chi = d<m_z>/dB, from fluctuations, equal central differences within errors."""
    kw = dict(n_measure=20000, burn_in=1000, seed=1)
    obs = {T: thermodynamics(measure(H, (8, 8), T, **kw)) for T in (0.9, 1.0, 1.1)}
    fd = (obs[1.1]["energy"].value - obs[0.9]["energy"].value) / 0.2
    fd_err = np.hypot(obs[1.1]["energy"].error, obs[0.9]["energy"].error) / 0.2
    c = obs[1.0]["specific_heat"]
    assert abs(c.value - fd) < 3 * np.hypot(c.error, fd_err)
    assert c.error < 0.05 * c.value  # a real check, not a wide error bar
    dB = 0.03
    field = {B: thermodynamics(measure(Hamiltonian(J=1.0, D=0.3, B=B), (8, 8), 1.0, **kw))
             for B in (H.B - dB, H.B + dB)}
    fd = (field[H.B + dB]["mz"].value - field[H.B - dB]["mz"].value) / (2 * dB)
    fd_err = np.hypot(field[H.B + dB]["mz"].error, field[H.B - dB]["mz"].error) / (2 * dB)
    chi = obs[1.0]["susceptibility"]
    assert abs(chi.value - fd) < 3 * np.hypot(chi.error, fd_err)


def test_free_spins_match_exact_thermodynamics():
    """J = D = 0: <e> = -L(B/T), C = 1 - (B/T)^2 / sinh^2(B/T); at B = 0 the Binder cumulant of N
    independent unit vectors is 1 - (1 + 2(N-1)/(3N))/3."""
    T, beta = 0.5, 2.0
    obs = thermodynamics(measure(Hamiltonian(J=0.0, D=0.0, B=1.0), (8, 8), T, 20000, burn_in=200, seed=4))
    e, c = obs["energy"], obs["specific_heat"]
    assert abs(e.value + (1 / np.tanh(beta) - T)) < 4 * e.error
    assert abs(c.value - (1 - beta ** 2 / np.sinh(beta) ** 2)) < 4 * c.error
    n = 64
    obs = thermodynamics(measure(Hamiltonian(J=0.0, D=0.0, B=0.0), (8, 8), 1.0, 20000, burn_in=200, seed=4))
    u = obs["binder"]
    assert abs(u.value - (1 - (1 + 2 * (n - 1) / (3 * n)) / 3)) < 4 * u.error
    assert abs(obs["charge_density"].value) < 4 * obs["charge_density"].error + 1e-12


def test_blocking_errors_cover_the_spread_of_independent_chains():
    """16 independent chains (samples) at T = 0.8: the scatter of their means, in units of their blocking
    errors, is chi^2-distributed; the naive errors (correlations ignored) fail the same test."""
    k, T = 16, 0.8
    runs = [measure(H, (8, 8), T, 4000, burn_in=1000, seed=9, sample=s) for s in range(k)]
    for name in ("energy", "mz", "magnetisation", "specific_heat", "binder"):
        est = [thermodynamics(r)[name] for r in runs]
        values, errors = np.array([e.value for e in est]), np.array([e.error for e in est])
        w = 1 / errors ** 2
        mean = np.sum(w * values) / w.sum()
        stat = np.sum((values - mean) ** 2 * w)
        assert chi2.ppf(0.001, k - 1) < stat < chi2.ppf(0.999, k - 1), name
    e = np.array([r.energy / r.n_sites for r in runs])
    naive = e.std(axis=1) / np.sqrt(e.shape[1])
    stat = np.sum((e.mean(axis=1) - e.mean()) ** 2 / naive ** 2)
    assert stat > chi2.ppf(0.999, k - 1)  # the test can fail: ignoring autocorrelation is caught


def test_temperature_scan_table(tmp_path):
    runs = temperature_scan(H, (8, 8), [1.5, 1.0, 0.5], 200, burn_in=100, seed=2)
    table = scan_table(runs)
    assert list(table["T"]) == [1.5, 1.0, 0.5]
    assert all(np.all(np.isfinite(table[f"{n}_error"])) for n in OBSERVABLES)
    assert np.all(np.diff(table["energy"]) < 0)  # cooling lowers the energy
    assert np.all(table["energy_naive_error"] <= 1.2 * table["energy_error"])  # correlations only add
    assert runs[1].next_sweep == runs[0].next_sweep + 300  # each run continues the chain with fresh numbers
    ds = read_netcdf(write_netcdf(scan_to_xarray(table, H, shape=(8, 8), attrs={"seed": 2}), tmp_path / "scan.nc"))
    np.testing.assert_array_equal(ds["T"].values, table["T"])
    np.testing.assert_array_equal(ds["specific_heat_error"].values, table["specific_heat_error"])
    assert ds["specific_heat"].attrs["units"] == "k_B" and ds["T"].attrs["units"] == "J/k_B"
    assert ds.attrs["D"] == 0.3 and list(ds.attrs["lattice_shape"]) == [8, 8]


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_measure must be an integer >= 16"):
        measure(H, (8, 8), 1.0, 10, burn_in=0)
    with pytest.raises(ValueError, match="T must be a finite temperature > 0"):
        measure(H, (8, 8), -1.0, 100, burn_in=0)
    with pytest.raises(ValueError, match="charge_thin=100 leaves fewer than 16 charge measurements"):
        measure(H, (8, 8), 1.0, 100, burn_in=0, charge_thin=100)
    with pytest.raises(ValueError, match=r"temperatures\[1\] must be a finite temperature > 0"):
        temperature_scan(H, (8, 8), [1.0, 0.0], 100, burn_in=0)
    with pytest.raises(TypeError, match="hamiltonian must be a mag_ml.Hamiltonian"):
        field_cooling(H.as_dict(), (8, 8), [0.0], [1.0], 100, burn_in=0)
    with pytest.raises(ValueError, match="fields must be a non-empty 1D list of finite fields"):
        field_cooling(H, (8, 8), [0.0, np.nan], [1.0], 100, burn_in=0)
    with pytest.raises(ValueError, match="x must be a 1D series of at least 16"):
        blocking(np.ones(5))
    with pytest.raises(ValueError, match="x must be finite"):
        autocorrelation_time(np.r_[np.ones(20), np.nan])
    with pytest.raises(ValueError, match="series must be one or more series of one length"):
        jackknife(lambda a, b: a, [np.ones(20), np.ones(30)])
