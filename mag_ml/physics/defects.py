r"""Random telegraph vacancies on a 1D chain: the statistical defect model.

Eagan, Copus & Iacocca, arXiv:2603.10182 (2026) model vacancies along a
chain of N sites (lattice constant a) as a random telegraph signal:
occupied (defect-free) and vacant segments alternate, with exponentially
distributed lengths of mean ``sigma`` (occupied) and ``tau`` (vacant), both
in units of a.

The process
    A two-state, continuous-"time" Markov process along the chain coordinate
    x (in units of a): it leaves the occupied state at rate 1/sigma and the
    vacant state at rate 1/tau.  Segment lengths are exponential with means
    sigma and tau, the stationary occupied fraction is

    .. math:: p = \frac{\sigma}{\sigma + \tau},

    and the centred occupation signal :math:`s(x) - p` (s = 1 occupied,
    0 vacant) has the autocovariance and (Lorentzian) power spectrum

    .. math::

        C(x) = p(1-p)\, e^{-|x|/\lambda}, \qquad
        \frac{1}{\lambda} = \frac{1}{\sigma} + \frac{1}{\tau}, \qquad
        S(k) = \int C(x) e^{-ikx}\,dx = p(1-p)\,\frac{2\lambda}{1 + (k\lambda)^2}.

Discretisation (documented choice)
    The continuous process is drawn on [0, N) with its first state from the
    stationary distribution (P(occupied) = p) and, by memorylessness, its
    first segment exponential with the mean of that state, so the process
    is stationary along the whole chain.  Site i (centre x_i = i + 1/2) is
    occupied when the process is in the occupied state at x_i.  The sampled
    sequence is then *exactly* a stationary two-state Markov chain with
    ``P(site occupied) = p``, autocovariance :math:`p(1-p) r^{|n|}` at a lag of
    n sites, :math:`r = e^{-1/\lambda}`, and the aliased Lorentzian

    .. math:: S_a(q) = p(1-p)\,\frac{1 - r^2}{1 - 2r\cos q + r^2}, \qquad q = ka \in [-\pi, \pi],

    which tends to the continuum S(k) for :math:`\lambda \gg 1`.  Runs of
    occupied (vacant) *sites* are geometric with means
    :math:`1/[(1-p)(1-r)]` (:math:`1/[p(1-r)]`), which tend to sigma (tau)
    when both are much longer than a site; segments shorter than one site
    can fall between two site centres and be missed, which is why the site
    runs are a little longer than sigma and tau.

Random streams
    Realisation i of a run with seed s uses ``numpy.random.default_rng([s, i])``
    and nothing else, so it depends only on (s, i, N, sigma, tau), as the
    package's dataset generation requires (an item depends only on its seed
    and index, whatever executor runs it).
"""

from __future__ import annotations

import math

import numpy as np

from ..checks import check_int, check_memory, is_real
from .rng import check_seed

__all__ = ["occupied_fraction", "correlation_length", "telegraph_autocovariance", "telegraph_spectrum",
           "telegraph_segments", "telegraph_vacancies", "run_lengths", "site_run_means",
           "check_defect_parameters"]


# ----------------------------------------------------------------------------- validation
def _check_length_scale(value, name):
    ok = is_real(value)
    if not ok or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite positive number (a mean segment length in units of the "
                         f"lattice constant a), got {value!r}")
    return float(value)


def check_defect_parameters(n, sigma, tau):
    """Validate a chain length and telegraph parameters; return them as (int, float, float).

    Parameters
    ----------
    n : int
        Number of sites N; at least 2 and at least ``sigma + tau`` (the chain
        must hold one mean occupied plus one mean vacant segment).
    sigma, tau : float
        Mean occupied and vacant segment lengths in units of a; finite, > 0.

    Returns
    -------
    (int, float, float)

    Raises
    ------
    ValueError
        Naming the argument, its value and the allowed values.
    """
    sigma = _check_length_scale(sigma, "sigma")
    tau = _check_length_scale(tau, "tau")
    n = check_int(n, "n (number of sites)", minimum=2)
    if n < sigma + tau:
        raise ValueError(f"n (number of sites) must be at least sigma + tau = {sigma + tau:g} (the chain must "
                         f"hold one mean occupied and one mean vacant segment), got n = {n}")
    return int(n), sigma, tau


# ----------------------------------------------------------------------------- analytic statistics
def occupied_fraction(sigma, tau):
    """Stationary probability that a point of the chain is occupied, ``sigma / (sigma + tau)``.

    Parameters
    ----------
    sigma, tau : float
        Mean occupied and vacant segment lengths (any common unit), > 0.

    Returns
    -------
    float
        p in (0, 1).  Exact for the sampled sites as well (module docstring).

    Raises
    ------
    ValueError
        ``sigma`` or ``tau`` not finite and positive.

    Notes
    -----
    Source: the stationary distribution of the two-state Markov (random
    telegraph) process of Eagan, Copus & Iacocca, arXiv:2603.10182.
    """
    sigma, tau = _check_length_scale(sigma, "sigma"), _check_length_scale(tau, "tau")
    return sigma / (sigma + tau)


def correlation_length(sigma, tau):
    r"""Correlation length of the telegraph signal, :math:`\lambda = (1/\sigma + 1/\tau)^{-1}`.

    Parameters
    ----------
    sigma, tau : float
        Mean occupied and vacant segment lengths (units of a), > 0.

    Returns
    -------
    float
        lambda in units of a.

    Raises
    ------
    ValueError
        ``sigma`` or ``tau`` not finite and positive.
    """
    sigma, tau = _check_length_scale(sigma, "sigma"), _check_length_scale(tau, "tau")
    return sigma * tau / (sigma + tau)


def telegraph_autocovariance(x, sigma, tau):
    r"""Autocovariance of the occupation signal, :math:`C(x) = p(1-p) e^{-|x|/\lambda}`.

    Parameters
    ----------
    x : float or array_like
        Separation in units of a (any shape).
    sigma, tau : float
        Mean occupied and vacant segment lengths (units of a), > 0.

    Returns
    -------
    ndarray, float64, shape of ``x``
        Dimensionless (the signal is 1 on occupied, 0 on vacant points).

    Raises
    ------
    ValueError
        ``sigma`` or ``tau`` not finite and positive.
    """
    p = occupied_fraction(sigma, tau)
    lam = correlation_length(sigma, tau)
    return p * (1 - p) * np.exp(-np.abs(np.asarray(x, dtype=np.float64)) / lam)


def telegraph_spectrum(q, sigma, tau, *, sampled=True):
    r"""Power spectrum of the centred occupation signal (a Lorentzian).

    Continuum (``sampled=False``), the Fourier transform of
    :func:`telegraph_autocovariance`:

    .. math:: S(q) = p(1-p)\,\frac{2\lambda}{1 + (q\lambda)^2};

    sampled at the site centres (``sampled=True``, the spectrum of the
    boolean arrays of :func:`telegraph_vacancies`), the sum of its aliases:

    .. math:: S_a(q) = p(1-p)\,\frac{1-r^2}{1 - 2r\cos q + r^2}, \qquad r = e^{-1/\lambda}.

    Both are normalised so that the averaged periodogram
    :math:`\langle |\sum_n (s_n - \bar s) e^{-iqn}|^2 \rangle / N` of a chain of
    N sites estimates them (for N much longer than lambda).

    Parameters
    ----------
    q : float or array_like
        Wavevector times lattice constant, q = k a, in rad (per site); any
        shape.  ``sampled=True`` is 2 pi periodic in q.
    sigma, tau : float
        Mean occupied and vacant segment lengths (units of a), > 0.
    sampled : bool
        Sampled-at-sites spectrum (default) or the continuum Lorentzian.

    Returns
    -------
    ndarray, float64, shape of ``q``
        S in units of a (power per unit q per site).

    Raises
    ------
    ValueError
        ``sigma`` or ``tau`` not finite and positive.

    Notes
    -----
    Source: the random telegraph process of arXiv:2603.10182 (vacancy
    model); the Lorentzian is the standard spectrum of a dichotomous Markov
    process (e.g. Machlup, J. Appl. Phys. 25, 341 (1954)).
    """
    p = occupied_fraction(sigma, tau)
    lam = correlation_length(sigma, tau)
    q = np.asarray(q, dtype=np.float64)
    if not sampled:
        return p * (1 - p) * 2 * lam / (1 + (q * lam) ** 2)
    r = math.exp(-1.0 / lam)
    return p * (1 - p) * (1 - r * r) / (1 - 2 * r * np.cos(q) + r * r)


def site_run_means(sigma, tau):
    r"""Mean lengths (in sites) of occupied and vacant runs of the sampled chain.

    Sampling the telegraph process at site centres gives a two-state Markov
    chain that leaves the occupied state with probability
    :math:`(1-p)(1-r)` per site and the vacant one with :math:`p(1-r)`,
    :math:`r = e^{-1/\lambda}`; runs are geometric with means the inverses.
    They tend to (sigma, tau) when both are much longer than a site.

    Parameters
    ----------
    sigma, tau : float
        Mean occupied and vacant segment lengths (units of a), > 0.

    Returns
    -------
    (float, float)
        Mean occupied run and mean vacant run, in sites.

    Raises
    ------
    ValueError
        ``sigma`` or ``tau`` not finite and positive.
    """
    p = occupied_fraction(sigma, tau)
    one_minus_r = -math.expm1(-1.0 / correlation_length(sigma, tau))
    return 1.0 / ((1 - p) * one_minus_r), 1.0 / (p * one_minus_r)


# ----------------------------------------------------------------------------- sampling
_BYTES_PER_PAIR = 96  # a block of exponential pairs, its scaled copy and cumulative sums, and the kept switches


def _check_segment_memory(request, length, sigma, tau, extra=0):
    """Refuse a draw whose segments (many, where they are much shorter than the chain) would not fit in memory."""
    pairs = length / (sigma + tau) + 8  # expected occupied + vacant pairs on [0, length), plus the block slack
    check_memory(_BYTES_PER_PAIR * pairs + extra, f"{request} ({pairs:.3g} segment pairs)",
                 hint="sigma and tau are mean segment lengths in units of the lattice constant a; segments much "
                      "shorter than one site are not resolved by the sampling anyway")


def telegraph_segments(length, sigma, tau, rng):
    """Draw the continuous telegraph process on [0, length).

    Parameters
    ----------
    length : float
        Extent of the chain in units of a (N for N sites), > 0.
    sigma, tau : float
        Mean occupied and vacant segment lengths (units of a), > 0.
    rng : numpy.random.Generator
        Random stream; consumed in a fixed order (one uniform for the first
        state, then exponentials in blocks whose size depends only on
        ``length``, ``sigma`` and ``tau``), so equal generators give equal
        draws.

    Returns
    -------
    first_occupied : bool
        State on the first segment, drawn with P(occupied) = sigma/(sigma+tau).
    switches : ndarray, float64, shape (M,)
        Increasing positions (units of a) in (0, length) where the state
        flips; segment j spans [switches[j-1], switches[j]) (with 0 and
        ``length`` at the ends) and has the first state if j is even.  The
        first segment is a residual exponential (memoryless), so the process
        is stationary on the whole interval; the last one is cut at
        ``length``.

    Raises
    ------
    ValueError
        Bad ``length``, ``sigma`` or ``tau``.
    TooLargeError
        Too many segments (``length / (sigma + tau)``) for this machine's memory.

    Notes
    -----
    Source: the vacancy model of Eagan, Copus & Iacocca, arXiv:2603.10182.
    """
    length = _check_length_scale(length, "length")
    sigma, tau = _check_length_scale(sigma, "sigma"), _check_length_scale(tau, "tau")
    _check_segment_memory(f"telegraph_segments(length={length:g}, sigma={sigma:g}, tau={tau:g})", length, sigma, tau)
    first = bool(rng.random() < sigma / (sigma + tau))
    means = (sigma, tau) if first else (tau, sigma)  # even segments have the first state
    block = int(length / (sigma + tau)) + 8  # pairs per block: about the expected number, plus slack
    pos, parts = 0.0, []
    while pos < length:
        pair = rng.exponential(1.0, size=(block, 2)) * np.asarray(means)
        ends = pos + np.cumsum(pair.ravel())
        parts.append(ends)
        pos = float(ends[-1])
    ends = np.concatenate(parts)
    return first, ends[ends < length]


def telegraph_vacancies(n, sigma, tau, *, seed=0, realisation=0):
    """Occupation of a chain of N sites drawn from the random telegraph vacancy model.

    Parameters
    ----------
    n : int
        Number of sites N >= 2, with N >= sigma + tau.
    sigma : float
        Mean length of occupied (defect-free) segments, in units of the
        lattice constant a; > 0.
    tau : float
        Mean length of vacant segments, in units of a; > 0.
    seed, realisation : int
        Non-negative; the draw uses ``numpy.random.default_rng([seed,
        realisation])`` and depends only on (seed, realisation, n, sigma, tau).

    Returns
    -------
    ndarray, bool, shape (N,)
        True where site i (centre (i + 1/2) a) is occupied.  Sites are
        sampled from a stationary continuous telegraph process (module
        docstring): ``mean()`` estimates sigma / (sigma + tau), runs have the
        means of :func:`site_run_means`, the periodogram the spectrum of
        :func:`telegraph_spectrum`.

    Raises
    ------
    ValueError
        ``sigma`` or ``tau`` not positive, ``n < 2``, ``n < sigma + tau``, or
        a negative or non-integer ``seed`` or ``realisation`` (the message
        names the argument, its value and the allowed values).
    TooLargeError
        ``n`` or ``n / (sigma + tau)`` (the number of segments) so large that
        the draw would not fit in this machine's memory (checked before
        drawing; about 100 bytes per segment pair and 17 per site).

    Notes
    -----
    Source: Eagan, Copus & Iacocca, arXiv:2603.10182 (2026), the statistical
    (random telegraph) vacancy model.

    Examples
    --------
    >>> occ = telegraph_vacancies(1000, sigma=20.0, tau=5.0, seed=1, realisation=0)
    >>> occ.shape, occ.dtype
    ((1000,), dtype('bool'))
    """
    n, sigma, tau = check_defect_parameters(n, sigma, tau)
    seed = check_seed(seed, "seed")
    realisation = check_seed(realisation, "realisation")
    # the segments, then the site centres, their segment indices and the occupation (17 bytes a site)
    _check_segment_memory(f"telegraph_vacancies(n={n}, sigma={sigma:g}, tau={tau:g})", float(n), sigma, tau,
                          extra=17 * n)
    rng = np.random.default_rng([seed, realisation])
    first, switches = telegraph_segments(float(n), sigma, tau, rng)
    centres = np.arange(n) + 0.5
    segment = np.searchsorted(switches, centres, side="right")  # index of the segment holding each centre
    return (segment % 2 == 0) == first


def run_lengths(occupied, *, interior=True):
    """Lengths of the runs of occupied and of vacant sites in a boolean chain.

    Parameters
    ----------
    occupied : array_like of bool, shape (N,)
        Site occupation (True = occupied).
    interior : bool
        Drop the first and last runs (cut by the chain ends, so biased
        short); default True, as for segment statistics.

    Returns
    -------
    (ndarray, ndarray), int64
        Run lengths in sites of occupied runs and of vacant runs, in chain
        order.

    Raises
    ------
    ValueError
        ``occupied`` not one-dimensional.
    """
    occ = np.asarray(occupied, dtype=bool)
    if occ.ndim != 1:
        raise ValueError(f"occupied must be one-dimensional, shape (N,), got shape {occ.shape}")
    if occ.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    edges = np.flatnonzero(occ[1:] != occ[:-1]) + 1
    starts = np.concatenate(([0], edges))
    lengths = np.diff(np.concatenate((starts, [occ.size])))
    states = occ[starts]
    if interior:
        lengths, states = lengths[1:-1], states[1:-1]
    return lengths[states].astype(np.int64), lengths[~states].astype(np.int64)
