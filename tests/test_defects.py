"""Random telegraph vacancies: segment statistics, occupied fraction, Lorentzian spectrum, seeding, bad input."""

import math

import numpy as np
import pytest
from scipy import stats

from mag_ml.physics.defects import (check_defect_parameters, correlation_length, occupied_fraction, run_lengths,
                                    site_run_means, telegraph_autocovariance, telegraph_segments,
                                    telegraph_spectrum, telegraph_vacancies)

SIGMA, TAU = 7.3, 2.9


def test_continuous_segments_are_exponential_with_means_sigma_and_tau():
    first, sw = telegraph_segments(2e5, SIGMA, TAU, np.random.default_rng([3, 0]))
    lengths = np.diff(sw)  # interior segments only (the first and last are cut by the ends)
    # segment j (between switches j and j+1) is segment j+1 of the chain: first state if j+1 is even
    occ = lengths[(np.arange(lengths.size) + 1) % 2 == 0] if first else lengths[np.arange(lengths.size) % 2 == 0]
    vac = lengths[np.arange(lengths.size) % 2 == 0] if first else lengths[(np.arange(lengths.size) + 1) % 2 == 0]
    for sample, mean in ((occ, SIGMA), (vac, TAU)):
        assert sample.size > 10_000
        se = mean / math.sqrt(sample.size)  # exponential: std = mean
        assert abs(sample.mean() - mean) < 4 * se
        assert stats.kstest(sample / mean, "expon").pvalue > 1e-3


def test_site_runs_occupied_fraction_and_stationary_start():
    n = 200_000
    occ = telegraph_vacancies(n, SIGMA, TAU, seed=5, realisation=0)
    assert occ.dtype == bool and occ.shape == (n,)
    p = occupied_fraction(SIGMA, TAU)
    r = math.exp(-1 / correlation_length(SIGMA, TAU))
    se_p = math.sqrt(p * (1 - p) / n * (1 + r) / (1 - r))  # variance of the mean of a two-state Markov chain
    assert abs(occ.mean() - p) < 4 * se_p
    occ_runs, vac_runs = run_lengths(occ)
    for runs, mean in zip((occ_runs, vac_runs), site_run_means(SIGMA, TAU)):
        q = 1 / mean  # geometric runs: std = sqrt(1 - q) / q
        se = math.sqrt(1 - q) / q / math.sqrt(runs.size)
        assert abs(runs.mean() - mean) < 4 * se
    # site runs approach (sigma, tau) when both are long compared with a site
    long_o, long_v = site_run_means(200.0, 100.0)
    assert long_o == pytest.approx(200.0, rel=0.01) and long_v == pytest.approx(100.0, rel=0.01)
    # stationary start: the first site is occupied with probability p
    first = np.array([telegraph_vacancies(16, 4.0, 12.0, seed=1, realisation=i)[0] for i in range(3000)])
    p16 = occupied_fraction(4.0, 12.0)
    assert abs(first.mean() - p16) < 4 * math.sqrt(p16 * (1 - p16) / first.size)


def test_power_spectrum_matches_lorentzian():
    n, reps, sigma, tau = 1024, 300, 10.0, 5.0
    acc = np.zeros(n)
    for i in range(reps):
        s = telegraph_vacancies(n, sigma, tau, seed=11, realisation=i).astype(float)
        acc += np.abs(np.fft.fft(s - s.mean())) ** 2 / n
    periodogram = acc / reps
    q = 2 * np.pi * np.fft.fftfreq(n)
    theory = telegraph_spectrum(q, sigma, tau)
    # average the bins k = 1 .. n/2 in groups of 8 to reduce the scatter (~ 1/sqrt(reps * 8) = 2 %)
    half = slice(1, n // 2 + 1)
    ratio = periodogram[half].reshape(-1, 8).mean(1) / theory[half].reshape(-1, 8).mean(1)
    assert np.all(np.abs(ratio - 1) < 0.12), ratio
    assert abs(ratio.mean() - 1) < 0.03
    # the continuum Lorentzian is its small-q limit (lambda = 10/3 sites)
    qs = np.array([0.01, 0.05, 0.1])
    assert np.allclose(telegraph_spectrum(qs, sigma, tau), telegraph_spectrum(qs, sigma, tau, sampled=False),
                       rtol=0.02)
    # Wiener-Khinchin: sum of the sampled spectrum over q = variance p (1 - p)
    p = occupied_fraction(sigma, tau)
    assert theory.mean() == pytest.approx(p * (1 - p), rel=1e-9)
    assert telegraph_autocovariance(0.0, sigma, tau) == pytest.approx(p * (1 - p))


def test_seeding_depends_only_on_seed_and_realisation():
    a = telegraph_vacancies(500, 12.0, 3.0, seed=2, realisation=7)
    b = telegraph_vacancies(500, 12.0, 3.0, seed=2, realisation=7)
    c = telegraph_vacancies(500, 12.0, 3.0, seed=2, realisation=8)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    first, sw = telegraph_segments(500.0, 12.0, 3.0, np.random.default_rng([2, 7]))
    x = np.arange(500) + 0.5
    assert np.array_equal(a, (np.searchsorted(sw, x, side="right") % 2 == 0) == first)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n=100, sigma=0.0, tau=2.0), "sigma"),
    (dict(n=100, sigma=-1.0, tau=2.0), "sigma"),
    (dict(n=100, sigma=3.0, tau=0.0), "tau"),
    (dict(n=100, sigma=3.0, tau=float("nan")), "tau"),
    (dict(n=1, sigma=0.3, tau=0.2), "n"),
    (dict(n=10, sigma=8.0, tau=4.0), "sigma \\+ tau"),
    (dict(n=10.5, sigma=1.0, tau=1.0), "n"),
])
def test_bad_defect_parameters_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        telegraph_vacancies(**kwargs)
    with pytest.raises(ValueError, match=match):
        check_defect_parameters(kwargs["n"], kwargs["sigma"], kwargs["tau"])


def test_bad_seed_and_run_input_raise():
    with pytest.raises(ValueError, match="seed"):
        telegraph_vacancies(100, 5.0, 5.0, seed=-1)
    with pytest.raises(ValueError, match="realisation"):
        telegraph_vacancies(100, 5.0, 5.0, realisation=1.5)
    with pytest.raises(ValueError, match="one-dimensional"):
        run_lengths(np.ones((2, 2), bool))
    with pytest.raises(ValueError, match="sigma"):
        occupied_fraction(0, 1)
