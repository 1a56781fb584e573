"""Counter-based random numbers: every draw is a pure function of its key.

A draw for (seed, sample, sweep, colour, site, slot) is
``splitmix64(key(seed, sample, sweep, colour) + (2 * site + slot) * GOLDEN)``
(Steele, Lea & Flood, OOPSLA 2014, the SplitMix64 finaliser).  No generator
state is carried between sites, so results do not depend on how sites are
split over threads or samples over processes.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ..checks import check_int, check_memory, check_shape

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_S11, _S32 = np.uint64(11), np.uint64(32)
_LO32 = np.uint64(0xFFFFFFFF)
_S30 = np.uint64(30)
_LO30 = np.uint64((1 << 30) - 1)
_ONE, _TWO = np.uint64(1), np.uint64(2)
TWO_M53 = 1.0 / 9007199254740992.0
TWO_M32 = 1.0 / 4294967296.0
TWO_M30 = 1.0 / 1073741824.0
_SQRT_HALF = math.sqrt(0.5)


@numba.njit(inline="always")
def splitmix64(x):
    """SplitMix64 finaliser: a bijective, well-mixing map of a uint64."""
    z = x
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@numba.njit(inline="always")
def uniform53(r):
    """Uniform float64 in [0, 1) from the top 53 bits of ``r``."""
    return np.float64(r >> _S11) * TWO_M53


@numba.njit(inline="always", fastmath=True)
def _unit_circle(r):
    """(cos, sin) of the angle ``2 pi r / 2**32`` for ``r < 2**32``, branch-free.

    The top 2 bits pick the quadrant and the low 30 the angle ``t`` in
    [-pi/4, pi/4) about the quadrant's centre, where Taylor series to
    t**13 / t**14 are accurate to 2e-14; unlike libm calls, this vectorises.
    """
    t = (np.float64(r & _LO30) * TWO_M30 - 0.5) * (0.5 * math.pi)
    t2 = t * t
    s = t * (1.0 + t2 * (-1 / 6 + t2 * (1 / 120 + t2 * (-1 / 5040 + t2 * (
        1 / 362880 + t2 * (-1 / 39916800 + t2 * (1 / 6227020800)))))))
    c = 1.0 + t2 * (-0.5 + t2 * (1 / 24 + t2 * (-1 / 720 + t2 * (1 / 40320 + t2 * (
        -1 / 3628800 + t2 * (1 / 479001600 + t2 * (-1 / 87178291200)))))))
    c0, s0 = (c - s) * _SQRT_HALF, (c + s) * _SQRT_HALF  # rotate by pi/4
    q = r >> _S30
    odd, upper = (q & _ONE) != 0, (q & _TWO) != 0  # rotate by q * pi/2
    cq = -s0 if odd else c0
    sq = c0 if odd else s0
    return (-cq if upper else cq), (-sq if upper else sq)


@numba.njit(inline="always", fastmath=True)
def random_direction(r):
    """Unit vector uniform on the sphere from one uint64 draw ``r``.

    ``z`` from the high 32 bits (bin-centred, so ``|z| < 1``) is uniform in
    (-1, 1) and the azimuth from the low 32 bits uniform in [0, 2 pi):
    Archimedes' hat-box theorem makes the point uniform on the sphere.
    """
    z = (np.float64(r >> _S32) + 0.5) * (2.0 * TWO_M32) - 1.0
    rho = math.sqrt(1.0 - z * z)
    c, s = _unit_circle(r & _LO32)
    return rho * c, rho * s, z


@numba.njit(cache=True)
def _stream_key(seed, sample):
    return splitmix64(splitmix64(np.uint64(seed) * GOLDEN) + np.uint64(sample) * GOLDEN)


def stream_key(seed, sample):
    """Key (np.uint64) of one sample's stream, a function of (seed, sample) only."""
    return np.uint64(_stream_key(np.uint64(seed), np.uint64(sample)))


@numba.njit(inline="always")
def sweep_key(key, sweep, colour):
    """Key of one half-sweep of one sample."""
    return splitmix64(key + (np.uint64(sweep) * np.uint64(2) + np.uint64(colour) + np.uint64(1)) * GOLDEN)


@numba.njit(inline="always")
def site_draw(key, site, slot):
    """Random uint64 for ``site`` (index within the sublattice), ``slot`` 0 or 1."""
    return splitmix64(key + (np.uint64(site) * np.uint64(2) + np.uint64(slot)) * GOLDEN)


@numba.njit(cache=True)
def _random_unit(key, n):
    out = np.empty((3, n))
    for i in range(n):
        out[0, i], out[1, i], out[2, i] = random_direction(site_draw(key, i, 0))
    return out


def random_spins(shape, seed=0, sample=0):
    """Independent spins uniform on the unit sphere (infinite-temperature state).

    Parameters
    ----------
    shape : tuple of int
        Lattice shape (H, W): two positive integers (a list is accepted the
        same way; :func:`mag_ml.checks.check_shape`).
    seed, sample : int
        Non-negative; the state depends only on (seed, sample).

    Returns
    -------
    ndarray, float64, shape (3, H, W)

    Raises
    ------
    ValueError
        Negative ``seed`` or ``sample``, or a bad shape (a shape that is not
        a tuple of integers raises :class:`mag_ml.checks.ArgumentTypeError`,
        a TypeError and a ValueError).
    TooLargeError
        The state (24 bytes per site) would not fit in this machine's memory.
    """
    check_seed(seed, "seed")
    check_seed(sample, "sample")
    h, w = check_shape(shape, "shape")
    check_memory(3 * 8 * h * w, f"random_spins(shape={(h, w)})", hint="the state takes 24 bytes per site")
    # the initial state has its own stream: sweep index 2**63 is never reached by Monte Carlo
    key = np.uint64(splitmix64(stream_key(seed, sample) ^ np.uint64(1 << 63)))
    return _random_unit(key, h * w).reshape(3, h, w)


def check_seed(value, name):
    """Return ``value`` as an int after checking it is an integer in [0, 2**63) (NumPy ints accepted, bools not).

    Raises
    ------
    ValueError
        Out of range; a non-integer raises :class:`mag_ml.checks.ArgumentTypeError`
        (a TypeError and a ValueError).
    """
    return check_int(value, name, minimum=0, maximum=2**63 - 1, allowed="an integer in [0, 2**63)")
