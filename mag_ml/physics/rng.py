"""Counter-based random numbers: every draw is a pure function of its key.

A draw for (seed, sample, sweep, colour, site, slot) is
``splitmix64(key(seed, sample, sweep, colour) + (2 * site + slot) * GOLDEN)``
(Steele, Lea & Flood, OOPSLA 2014, the SplitMix64 finaliser).  No generator
state is carried between sites, so results do not depend on how sites are
split over threads or samples over processes.
"""

from __future__ import annotations

import numba
import numpy as np

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_S11, _S32 = np.uint64(11), np.uint64(32)
_LO32 = np.uint64(0xFFFFFFFF)
TWO_M53 = 1.0 / 9007199254740992.0
TWO_M32 = 1.0 / 4294967296.0


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


@numba.njit(inline="always")
def uniform32_pair(r):
    """Two uniform floats in [0, 1) from the high and low halves of ``r``."""
    return np.float64(r >> _S32) * TWO_M32, np.float64(r & _LO32) * TWO_M32


@numba.njit(cache=True)
def stream_key(seed, sample):
    """Key of one sample's stream, a function of (seed, sample) only."""
    return splitmix64(splitmix64(np.uint64(seed) * GOLDEN) + np.uint64(sample) * GOLDEN)


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
        a, b = uniform32_pair(site_draw(key, i, 0))
        a += 0.5 * TWO_M32  # centre the bins so z stays strictly inside (-1, 1)
        z = 2.0 * a - 1.0
        s = np.sqrt(1.0 - z * z)
        phi = 2.0 * np.pi * b
        out[0, i] = s * np.cos(phi)
        out[1, i] = s * np.sin(phi)
        out[2, i] = z
    return out


def random_spins(shape, seed=0, sample=0):
    """Independent spins uniform on the unit sphere (infinite-temperature state).

    Parameters
    ----------
    shape : tuple of int
        Lattice shape (H, W).
    seed, sample : int
        Non-negative; the state depends only on (seed, sample).

    Returns
    -------
    ndarray, float64, shape (3, H, W)

    Raises
    ------
    ValueError
        Negative ``seed`` or ``sample``, or a bad shape.
    """
    check_seed(seed, "seed")
    check_seed(sample, "sample")
    h, w = (int(s) for s in shape)
    if h < 1 or w < 1:
        raise ValueError(f"shape must be two positive integers, got {shape!r}")
    # the initial state has its own stream: sweep index 2**63 is never reached by Monte Carlo
    key = splitmix64(stream_key(seed, sample) ^ np.uint64(1 << 63))
    return _random_unit(key, h * w).reshape(3, h, w)


def check_seed(value, name):
    """Raise ValueError unless ``value`` is an integer in [0, 2**63)."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or not 0 <= value < 2**63:
        raise ValueError(f"{name} must be an integer in [0, 2**63), got {value!r}")
    return int(value)
