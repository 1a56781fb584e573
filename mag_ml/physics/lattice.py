"""Square-lattice bookkeeping: input checks and the checkerboard-packed layout.

The Monte Carlo and relaxation kernels update one checkerboard sublattice
(colour) at a time: every neighbour of a colour-``c`` site has colour ``1 - c``,
so all sites of one colour can be updated in parallel without changing the
Markov chain.  Each colour is stored packed, ``(3, H + 2, W // 2 + 2)``, with a
one-site ghost frame that holds periodic images (or zeros for open
boundaries), so the inner loop is branch-free and contiguous.

Site ``(y, x)`` has colour ``c = (x + y) % 2`` and packed column
``k = x // 2``; in row ``y`` colour ``c`` occupies ``x = 2 k + p`` with
``p = (y + c) % 2``.  Its neighbours in the other colour sit at packed
columns ``k + p`` (right), ``k + p - 1`` (left) and ``k`` (rows ``y +- 1``).
"""

from __future__ import annotations

import numpy as np

from ..checks import ArgumentTypeError, check_shape as _check_shape, describe

BOUNDARIES = ("periodic", "open")


def check_spins(spins, *, name="spins", mask=None, batched=False, atol=None, even=True, vacancies="zero"):
    """Validate a spin configuration and return it as a float64 array.

    Parameters
    ----------
    spins : array_like, shape (3, H, W) or (N, 3, H, W) if ``batched``
        Unit vectors, channels first; vacant sites (``mask`` False) must be 0.
    name : str
        Argument name used in error messages.
    mask : ndarray of bool, shape (H, W), optional
        Occupied sites.
    batched : bool
        Expect a leading batch axis.
    atol : float, optional
        Allowed deviation of ``|S|`` from 1; default 1e-6, or 32 machine
        epsilons of a lower-precision float input (float32: 3.8e-6).
    even : bool
        Require even lattice sides (the checkerboard updates need them).
    vacancies : {"zero", "any"}
        Vacant sites must hold 0 (the default), or may hold any finite value
        (for functions that ignore them).

    Returns
    -------
    ndarray, float64, same shape

    Raises
    ------
    TypeError
        If ``spins`` is not a real numeric array (an ArgumentTypeError, also a ValueError).
    ValueError
        Wrong shape, odd lattice sides, NaN/inf, or non-unit spins (zero
        vectors and rescaled spins included).
    """
    arr = as_real_array(spins, name)
    ndim = 4 if batched else 3
    layout = "(N, 3, H, W)" if batched else "(3, H, W)"
    if arr.ndim != ndim or arr.shape[-3] != 3:
        raise ValueError(f"{name} must have shape {layout} (channels first), got {arr.shape}")
    if even:
        check_shape(arr.shape[-2:], name=f"{name}.shape[-2:]")
    mask = check_mask(mask, arr.shape[-2:])
    if atol is None:
        atol = max(1e-6, 32 * float(np.finfo(arr.dtype).eps)) if np.issubdtype(arr.dtype, np.floating) else 1e-6
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf values (spins must be finite unit vectors)")
    norm = np.sqrt(np.einsum("...chw,...chw->...hw", arr, arr))
    expected = np.ones(arr.shape[-2:]) if mask is None else mask.astype(np.float64)
    if mask is not None and vacancies == "any":
        norm = np.where(mask, norm, 0.0)
    bad = np.abs(norm - expected) > atol
    if np.any(bad):
        worst = float(np.max(np.abs(norm - expected)))
        where = ("on every site (no mask given)" if mask is None else
                 "on occupied sites and 0 on vacancies" if vacancies == "zero" else "on occupied sites")
        raise ValueError(
            f"{name} must be unit vectors {where}; "
            f"{int(bad.sum())} sites deviate (max ||S| - 1| = {worst:.3g} > atol={atol:.3g}; "
            f"|S| ranges over [{float(norm.min()):.3g}, {float(norm.max()):.3g}])"
        )
    return arr


def as_real_array(values, name):
    """``values`` as an ndarray of a real (integer or float) dtype, else ArgumentTypeError naming ``name``."""
    try:
        arr = np.asarray(values)
    except (TypeError, ValueError) as err:  # ragged nesting
        raise ArgumentTypeError(f"{name} must be a real float array, got {describe(values)} ({err})") from None
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise ArgumentTypeError(f"{name} must be a real float array, got dtype {arr.dtype} "
                                f"(from {describe(values, 60)})")
    return arr


def check_shape(shape, *, name="shape"):
    """Validate a lattice shape ``(H, W)``: two even integers >= 2 (:func:`mag_ml.checks.check_shape`).

    Returns
    -------
    tuple (int, int)

    Raises
    ------
    ArgumentTypeError
        Not a tuple (or list) of two integers (a TypeError and a ValueError).
    ValueError
        If the shape is not two positive even integers.
    """
    return _check_shape(shape, name, minimum=2, even=True, note=" (checkerboard updates)")


def check_mask(mask, shape, *, name="mask"):
    """Validate an optional site mask; return a bool array of ``shape`` or None.

    Raises
    ------
    ValueError
        If the mask does not have the lattice shape.
    TypeError
        If it is not boolean (0/1 integers are accepted).
    """
    if mask is None:
        return None
    arr = np.asarray(mask)
    if arr.shape != tuple(shape):
        raise ValueError(f"{name} must have the lattice shape {tuple(shape)}, got {arr.shape}")
    if arr.dtype != bool:
        if not np.issubdtype(arr.dtype, np.integer) or not np.isin(arr, (0, 1)).all():
            raise ArgumentTypeError(f"{name} must be boolean (True = occupied site), got dtype {arr.dtype}")
        arr = arr.astype(bool)
    return arr


def check_boundary(boundary):
    """Raise ValueError unless ``boundary`` is one of :data:`BOUNDARIES`."""
    if not isinstance(boundary, str) or boundary not in BOUNDARIES:
        raise ValueError(f"boundary must be one of {BOUNDARIES}, got {describe(boundary)}")
    return boundary


def pack(spins, mask=None):
    """Split ``(3, H, W)`` spins into the two packed colours.

    Returns
    -------
    packed : ndarray, float64, shape (2, 3, H + 2, W // 2 + 2)
        Colour-major spins with an (unfilled, zero) ghost frame.
    occupied : ndarray, float64, shape (2, H + 2, W // 2 + 2)
        1.0 on occupied sites, 0.0 on vacancies and ghosts.
    """
    _, h, w = spins.shape
    packed = np.zeros((2, 3, h + 2, w // 2 + 2))
    occupied = np.zeros((2, h + 2, w // 2 + 2))
    occ = np.ones((h, w)) if mask is None else mask.astype(np.float64)
    for c in range(2):
        for y in range(h):
            p = (y + c) % 2
            packed[c, :, y + 1, 1:-1] = spins[:, y, p::2]
            occupied[c, y + 1, 1:-1] = occ[y, p::2]
    return packed, occupied


def unpack(packed):
    """Inverse of :func:`pack`: ``(2, 3, H + 2, W // 2 + 2)`` -> ``(3, H, W)``."""
    _, _, hp, wp = packed.shape
    h, w = hp - 2, 2 * (wp - 2)
    spins = np.empty((3, h, w))
    for c in range(2):
        for y in range(h):
            p = (y + c) % 2
            spins[:, y, p::2] = packed[c, :, y + 1, 1:-1]
    return spins
