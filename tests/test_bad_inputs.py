"""Bad input across the public API: each raises at once, naming the argument, its value and what is allowed.

The cases of issue 15 ("Bad input"): values silently accepted or misread (a bool as a number, a float
shape, an all-False mask, a zero relaxation tolerance, negative snapshot counts, zero / rescaled / NaN
spins), unclear errors (a bare int as a shape, a list shape, strings, None), and sizes that would not fit
in memory (refused before allocating, with the estimate).  NumPy scalar types are accepted wherever
Python numbers are.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from mag_ml import AnnealSchedule, Hamiltonian, anneal, metropolis, random_spins, relax, topological_charge
from mag_ml.checks import (ArgumentTypeError, TooLargeError, check_int, check_memory, check_real, check_shape,
                           machine_memory)
from mag_ml.physics.defects import telegraph_segments, telegraph_vacancies
from mag_ml.physics.lattice import check_shape as lattice_shape
from mag_ml.physics.monte_carlo import MonteCarloChain
from mag_ml.physics.pseudospectral import PSLLChain, domain_wall_state, uniform_state
from mag_ml.plotting import plot_defect_realisation, plot_series_losses

H = Hamiltonian()
MAT = dict(A_ex=1e-11, M_s=1e6, K_u=5e5, B=0.1)
SCHEDULE = AnnealSchedule(T_start=1.0, T_end=0.1, n_steps=2, sweeps_per_step=10)
UNIT = random_spins((8, 8), seed=1)
NONE_OCCUPIED = np.zeros((8, 8), bool)


def chain():
    return PSLLChain(64, 0.5, **MAT)


# (call, exception type, pattern the message must match: the argument's name and its value)
CASES = {
    # bools are not numbers
    "Hamiltonian(J=True)": (lambda: Hamiltonian(J=True), TypeError, r"J must be a finite real number.*True.*bool"),
    "Hamiltonian(D=np.bool_)": (lambda: Hamiltonian(D=np.bool_(True)), TypeError, r"D must be .*True"),
    "Hamiltonian(dmi=None)": (lambda: Hamiltonian(dmi=None), ValueError, r"dmi must be one of .*None"),
    "Hamiltonian(boundary=list)": (lambda: Hamiltonian(boundary=["open"]), ValueError, r"boundary must be one of"),
    "metropolis(T=True)": (lambda: metropolis(H, (8, 8), True, 10), TypeError, r"T must be a finite temperature.*True"),
    "metropolis(n_sweeps=True)": (lambda: metropolis(H, (8, 8), 1.0, True), TypeError,
                                  r"n_sweeps must be a positive integer.*True"),
    # shapes are tuples of positive integers
    "random_spins((4.7, 4))": (lambda: random_spins((4.7, 4)), TypeError, r"shape must be a tuple .*4\.7"),
    "random_spins(5)": (lambda: random_spins(5), TypeError, r"shape must be a tuple of two positive integers.*got 5"),
    "random_spins((4,))": (lambda: random_spins((4,)), ValueError, r"shape must be .*\(4,\).*1 entries"),
    "random_spins((0, 4))": (lambda: random_spins((0, 4)), ValueError,
                             r"shape must be two positive integers.*\(0, 4\)"),
    "random_spins(('8', 8))": (lambda: random_spins(("8", 8)), TypeError, r"shape must be .*'8'"),
    "random_spins((True, 4))": (lambda: random_spins((True, 4)), TypeError, r"shape must be .*True"),
    "metropolis(H, [8, 7])": (lambda: metropolis(H, [8, 7], 1.0, 10), ValueError, r"shape must be two even.*\(8, 7\)"),
    "metropolis(H, (8.0, 8))": (lambda: metropolis(H, (8.0, 8), 1.0, 10), TypeError, r"shape must be .*8\.0"),
    "metropolis(H, 'abc')": (lambda: metropolis(H, "abc", 1.0, 10), TypeError, r"spins must be a real float array"),
    "metropolis(H, zeros(3, 8))": (lambda: metropolis(H, np.zeros((3, 8)), 1.0, 10), ValueError,
                                   r"spins must be a state of shape \(3, H, W\).*\(3, 8\)"),
    # nothing to sample
    "metropolis(all-False mask)": (lambda: metropolis(H, (8, 8), 1.0, 10, mask=NONE_OCCUPIED), ValueError,
                                   r"mask must mark at least one occupied site.*all-False"),
    "relax(all-False mask)": (lambda: relax(H, UNIT * 0, mask=NONE_OCCUPIED), ValueError, r"mask must mark"),
    # relaxation tolerance and factor
    "anneal(relax_tol=0)": (lambda: anneal(H, (8, 8), SCHEDULE, relax_tol=0), ValueError,
                            r"relax_tol must be a positive finite number, got 0"),
    "anneal(relax_tol=-1)": (lambda: anneal(H, (8, 8), SCHEDULE, relax_tol=-1), ValueError, r"relax_tol .*-1"),
    "anneal(relax_tol=nan)": (lambda: anneal(H, (8, 8), SCHEDULE, relax_tol=float("nan")), ValueError,
                              r"relax_tol .*nan"),
    "anneal(relax_tol='a')": (lambda: anneal(H, (8, 8), SCHEDULE, relax_tol="a"), TypeError, r"relax_tol .*'a'"),
    "anneal(target_acceptance=None)": (lambda: anneal(H, (8, 8), SCHEDULE, target_acceptance=None), TypeError,
                                       r"target_acceptance .*None"),
    "relax(tol='a')": (lambda: relax(H, UNIT, tol="a"), TypeError, r"tol must be a positive finite number.*'a'"),
    "relax(omega=None)": (lambda: relax(H, UNIT, omega=None), TypeError, r"omega must be .*\(0, 2\).*None"),
    "relax(max_sweeps=10.0)": (lambda: relax(H, UNIT, max_sweeps=10.0), TypeError, r"max_sweeps .*10\.0"),
    # snapshot counts are non-negative integers
    "anneal(n_snapshots=-3)": (lambda: anneal(H, (8, 8), SCHEDULE, n_snapshots=-3), ValueError,
                               r"n_snapshots must be an integer >= 0, got -3"),
    "anneal(n_snapshots=2.5)": (lambda: anneal(H, (8, 8), SCHEDULE, n_snapshots=2.5), TypeError,
                                r"n_snapshots must be an integer >= 0, got 2\.5"),
    "AnnealSchedule(n_steps=2.0)": (lambda: AnnealSchedule(n_steps=2.0), TypeError, r"n_steps .*2\.0"),
    # spins must be finite, non-zero unit vectors where the function needs them
    "topological_charge(zeros)": (lambda: topological_charge(np.zeros((3, 8, 8))), ValueError,
                                  r"spins must be unit vectors.*\|S\| ranges over \[0, 0\]"),
    "topological_charge(3 S)": (lambda: topological_charge(3 * UNIT), ValueError,
                                r"spins must be unit vectors.*\[3, 3\]"),
    "topological_charge(nan)": (lambda: topological_charge(np.full((3, 8, 8), np.nan)), ValueError,
                                r"spins contains NaN"),
    "topological_charge([['a']])": (lambda: topological_charge([["a"]]), TypeError,
                                    r"spins must be a real float array, got dtype <U1"),
    "topological_charge(None)": (lambda: topological_charge(None), TypeError, r"spins must be a real float array"),
    "topological_charge(batch with a zero)": (lambda: topological_charge(np.stack([UNIT, 0 * UNIT])), ValueError,
                                              r"spins must be unit vectors"),
    "energy(3 S)": (lambda: H.energy(3 * UNIT), ValueError, r"spins must be unit vectors"),
    # plotting helpers name their argument
    "plot_series_losses(None)": (lambda: plot_series_losses(None), TypeError, r"series must be a SeriesResult.*None"),
    "plot_series_losses(None, 'beta')": (lambda: plot_series_losses(None, "beta"), TypeError,
                                         r"series must be a SeriesResult.*None"),
    "plot_series_losses([])": (lambda: plot_series_losses([], "beta"), ValueError, r"series must hold at least one"),
    "plot_defect_realisation(None)": (lambda: plot_defect_realisation(None), TypeError,
                                      r"real must be a DefectRealisation.*None"),
    # counts are integers: a float is refused even when integral
    "metropolis(n_sweeps=1e11)": (lambda: metropolis(H, (8, 8), 1.0, 1e11), TypeError,
                                  r"n_sweeps must be a positive integer, got 100000000000\.0 \(float\)"),
    "PSLLChain(n=64.0)": (lambda: PSLLChain(64.0, 0.5, **MAT), TypeError, r"n \(number of sites\) .*64\.0"),
    "evolve(sample_every=2.0)": (lambda: chain().evolve(uniform_state(64), 1.0, sample_every=2.0), TypeError,
                                 r"sample_every .*2\.0"),
    "telegraph_vacancies(n=True)": (lambda: telegraph_vacancies(True, 1.0, 1.0), TypeError, r"n \(number of sites\)"),
    # sizes beyond the machine's memory are refused before allocating, with the estimate
    "random_spins((10**6, 10**6))": (lambda: random_spins((10**6, 10**6)), TooLargeError,
                                     r"random_spins\(shape=\(1000000, 1000000\)\) needs about 21\.8 TiB"),
    "metropolis(H, (10**6, 10**6))": (lambda: metropolis(H, (10**6, 10**6), 1.0, 1), TooLargeError,
                                      r"shape=\(1000000, 1000000\).*TiB"),
    "metropolis(n_sweeps=10**14)": (lambda: metropolis(H, (8, 8), 1.0, 10**14), TooLargeError,
                                    r"metropolis\(n_sweeps=100000000000000\) needs about 9.24 PiB"),
    "sweep(n_sweeps=10**14)": (lambda: MonteCarloChain(H, (8, 8)).sweep(1.0, 10**14), TooLargeError,
                               r"sweep\(n_sweeps=100000000000000\) needs about"),
    "anneal(n_snapshots=10**14)": (lambda: anneal(H, (8, 8), SCHEDULE, n_snapshots=10**14), TooLargeError,
                                   r"n_snapshots=100000000000000.*needs about"),
    "PSLLChain(n=2**34)": (lambda: PSLLChain(2**34, 0.5, **MAT), TooLargeError,
                           r"PSLLChain\(n=17179869184\) needs about 4 TiB"),
    "uniform_state(n=10**14)": (lambda: uniform_state(10**14), TooLargeError, r"uniform_state\(n=10+\) needs"),
    "domain_wall_state(n=10**14)": (lambda: domain_wall_state(10**14, 0.5, 2.0), TooLargeError, r"needs about"),
    "evolve(duration=1e9)": (lambda: chain().evolve(uniform_state(64), 1e9), TooLargeError,
                             r"evolve\(duration=1e\+09 ps\).*samples of 64 sites\) needs about .*TiB"),
    "evolve(duration=1e9, rk45)": (lambda: chain().evolve(uniform_state(64), 1e9, method="rk45"), TooLargeError,
                                   r"evolve\(duration=1e\+09 ps\).*needs about"),
    "telegraph_vacancies(sigma=tau=1e-9)": (lambda: telegraph_vacancies(1000, 1e-9, 1e-9), TooLargeError,
                                            r"telegraph_vacancies\(n=1000, sigma=1e-09, tau=1e-09\).*needs about"),
    "telegraph_vacancies(n=10**14)": (lambda: telegraph_vacancies(10**14, 5.0, 5.0), TooLargeError,
                                      r"telegraph_vacancies\(n=10+, .*needs about"),
    "telegraph_segments(1e20)": (lambda: telegraph_segments(1e20, 1.0, 1.0, np.random.default_rng(0)),
                                 TooLargeError, r"telegraph_segments\(length=1e\+20.*needs about"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_raises_a_clear_error(case):
    call, error, pattern = CASES[case]
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    assert re.search(pattern, message), f"{case}: message {message!r} does not match {pattern!r}"
    if error is TooLargeError:  # the estimate and the machine's memory are both in the message
        assert "refused before allocating" in message and "more than this machine's" in message


def test_error_classes_keep_older_except_clauses_working():
    """A wrong type is a TypeError and a ValueError; a request too large, a ValueError and a MemoryError."""
    with pytest.raises(ValueError):
        Hamiltonian(J=True)
    with pytest.raises(ValueError):
        random_spins(5)
    with pytest.raises(MemoryError):
        random_spins((10**6, 10**6))
    assert issubclass(ArgumentTypeError, TypeError) and issubclass(ArgumentTypeError, ValueError)
    assert issubclass(TooLargeError, ValueError) and issubclass(TooLargeError, MemoryError)


# ----------------------------------------------------------------------------- NumPy scalars
@pytest.mark.parametrize("kind", [np.float32, np.float64, np.int64, np.int32])
def test_numpy_scalars_are_accepted_where_python_numbers_are(kind):
    value = kind(1)
    a = Hamiltonian(J=value, D=kind(0), B=kind(0), K=kind(0))
    assert a == Hamiltonian(J=1.0, D=0.0, B=0.0, K=0.0) and type(a.J) is float
    py = metropolis(H, (8, 8), 0.5, 20, seed=2, delta=0.5)
    np_run = metropolis(H, (np.int64(8), np.int32(8)), kind(1) / 2 if kind in (np.float32, np.float64) else 0.5,
                        np.int64(20), seed=np.int64(2), sample=np.int32(0), delta=np.float32(0.5))
    assert np.array_equal(py.spins, np_run.spins)
    assert np.array_equal(random_spins((8, 8), np.int64(3), np.uint8(1)), random_spins((8, 8), 3, 1))
    assert np.array_equal(random_spins(np.array([4, 6])), random_spins((4, 6)))
    assert np.array_equal(random_spins([4, 6]), random_spins((4, 6)))


def test_numpy_scalars_in_the_relaxation_anneal_and_chains():
    s1, n1 = relax(H, UNIT, omega=1.5, tol=1e-5, max_sweeps=50)
    s2, n2 = relax(H, UNIT, omega=np.float32(1.5), tol=np.float64(1e-5), max_sweeps=np.int64(50))
    assert n1 == n2 and np.allclose(s1, s2, atol=1e-6)  # float32(1.5) == 1.5 exactly
    a1 = anneal(H, (8, 8), SCHEDULE, n_snapshots=2, relax_tol=1e-5, target_acceptance=0.5)
    a2 = anneal(H, (8, 8), SCHEDULE, n_snapshots=np.int64(2), relax_tol=np.float32(1e-5),
                target_acceptance=np.float32(0.5))
    assert a1.snapshots.shape == a2.snapshots.shape == (2, 3, 8, 8)
    c1, c2 = PSLLChain(64, 0.5, **MAT), PSLLChain(np.int64(64), np.float32(0.5), **{k: np.float64(v) for k, v in
                                                                                      MAT.items()})
    assert c2.n == 64 and c1.a == c2.a
    t1 = c1.evolve(uniform_state(64), 1.0, sample_every=10)
    t2 = c2.evolve(uniform_state(np.int64(64)), np.float32(1.0), sample_every=np.int64(10))
    assert t1.samples.shape == t2.samples.shape
    assert np.array_equal(telegraph_vacancies(np.int64(100), np.float32(5.0), np.int64(5), seed=np.int64(1)),
                          telegraph_vacancies(100, 5.0, 5, seed=1))


def test_list_shapes_are_shapes_everywhere():
    """A flat list [H, W] is read as a shape by every function taking one, like a tuple."""
    assert np.array_equal(metropolis(H, [8, 8], 0.5, 5, seed=1).spins, metropolis(H, (8, 8), 0.5, 5, seed=1).spins)
    assert np.array_equal(MonteCarloChain(H, [8, 8], seed=4).spins, MonteCarloChain(H, (8, 8), seed=4).spins)
    assert lattice_shape([8, 8]) == lattice_shape(np.array([8, 8])) == (8, 8)


def test_topology_accepts_float32_unit_vectors_and_ignores_vacancies():
    q = topological_charge(UNIT)
    assert topological_charge(UNIT.astype(np.float32)) == pytest.approx(q, abs=1e-4)
    mask = np.ones((8, 8), bool)
    mask[2, 3] = False
    odd = UNIT.copy()
    odd[:, 2, 3] = 5.0  # a vacancy's value does not enter its (zeroed) plaquettes
    assert topological_charge(odd, mask=mask) == topological_charge(UNIT * mask, mask=mask)
    assert topological_charge(random_spins((5, 7)), boundary="open") == pytest.approx(
        topological_charge(random_spins((5, 7)), boundary="open"))  # odd sides are fine here


# ----------------------------------------------------------------------------- the shared checks
def test_shared_checks():
    assert check_real(np.float32(0.5), "x") == 0.5 and check_real(np.array(2.0), "x") == 2.0
    assert check_int(np.int64(3), "n", minimum=1) == 3 and type(check_int(np.uint16(3), "n")) is int
    assert check_shape((np.int64(2), 3)) == (2, 3)
    with pytest.raises(ValueError, match=r"n must be an integer >= 1 and <= 5, got 6"):
        check_int(6, "n", minimum=1, maximum=5)
    with pytest.raises(ValueError, match=r"x must be a finite real number >= 0 m, got -1"):
        check_real(-1, "x", nonneg=True, unit="m")
    with pytest.raises(ValueError, match="shape must be three even integers >= 2"):
        check_shape((2, 2, 3), ndim=3, minimum=2, even=True)
    assert machine_memory() is None or machine_memory() > 2**20
    assert check_memory(10, "tiny") == 10
    with pytest.raises(TooLargeError, match=r"big\(\) needs about 1 KiB of memory, more than this machine's 512 bytes"):
        check_memory(1024, "big()", limit=512)
