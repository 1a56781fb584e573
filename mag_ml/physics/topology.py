r"""Topological charge by the Berg-Luscher lattice definition.

Every plaquette is split into two triangles, (i, i + x, i + x + y) and
(i, i + x + y, i + y), each with signed solid angle

.. math::

    \tan\frac{\Omega}{2} = \frac{\mathbf S_1\cdot(\mathbf S_2\times\mathbf S_3)}
        {1 + \mathbf S_1\cdot\mathbf S_2 + \mathbf S_2\cdot\mathbf S_3 + \mathbf S_3\cdot\mathbf S_1},

and :math:`Q = \sum \Omega / 4\pi` (Berg & Luscher, Nucl. Phys. B 190, 412
(1981)).  On a periodic lattice Q is an integer for every configuration
without exactly antipodal neighbours; it is the lattice form of
:math:`Q = \frac{1}{4\pi}\int \mathbf m\cdot(\partial_x\mathbf m\times\partial_y\mathbf m)\,dx\,dy`,
so a skyrmion whose core points along -z in a +z background has Q = -1.
"""

from __future__ import annotations

import numpy as np

from .lattice import as_real_array, check_boundary, check_mask, check_spins


def _solid_angle(s1, s2, s3):
    num = np.einsum("...c,...c->...", s1, np.cross(s2, s3))
    den = 1.0 + np.einsum("...c,...c->...", s1, s2) + np.einsum("...c,...c->...", s2, s3) \
        + np.einsum("...c,...c->...", s3, s1)
    return 2.0 * np.arctan2(num, den)


def charge_density(spins, mask=None, boundary="periodic"):
    """Topological charge per plaquette, Berg-Luscher definition.

    Parameters
    ----------
    spins : ndarray, shape (3, H, W) or (N, 3, H, W)
        Finite unit vectors (to 1e-6, or 32 epsilons of a float32 input) on
        every site, or on the occupied sites where ``mask`` is given (vacant
        sites may hold anything finite; they do not enter).
    mask : ndarray of bool (H, W), optional
        Plaquettes touching a vacancy contribute 0.
    boundary : {"periodic", "open"}
        Open lattices have (H - 1) x (W - 1) plaquettes.

    Returns
    -------
    ndarray float64, shape (..., H, W) periodic or (..., H - 1, W - 1) open;
    entry [y, x] is the plaquette with lower-left corner (y, x).

    Raises
    ------
    ValueError
        Wrong shape, unknown boundary or mask shape; NaN/inf, zero or
        non-unit spins (the Berg-Luscher angles are those of unit vectors).
    TypeError
        ``spins`` not a real numeric array (an ArgumentTypeError, also a ValueError).
    """
    s = as_real_array(spins, "spins")
    if s.ndim not in (3, 4) or s.shape[-3] != 3:
        raise ValueError(f"spins must have shape (3, H, W) or (N, 3, H, W), got {s.shape}")
    check_boundary(boundary)
    mask = check_mask(mask, s.shape[-2:])
    if boundary == "open" and min(s.shape[-2:]) < 2:
        raise ValueError(f"spins must have H, W >= 2 on an open lattice (one plaquette), got shape {s.shape}")
    # the solid angles assume unit vectors: zero, rescaled or NaN spins would give a wrong Q silently
    s = check_spins(s, mask=mask, batched=s.ndim == 4, even=False, vacancies="any")
    s = np.moveaxis(s, -3, -1)  # (..., H, W, 3)
    if boundary == "periodic":
        sx = np.roll(s, -1, axis=-2)
        sy = np.roll(s, -1, axis=-3)
        sxy = np.roll(sx, -1, axis=-3)
    else:
        s, sx, sy, sxy = s[..., :-1, :-1, :], s[..., :-1, 1:, :], s[..., 1:, :-1, :], s[..., 1:, 1:, :]
    q = (_solid_angle(s, sx, sxy) + _solid_angle(s, sxy, sy)) / (4.0 * np.pi)
    if mask is not None:
        m = mask & np.roll(mask, -1, 1) & np.roll(mask, -1, 0) & np.roll(np.roll(mask, -1, 0), -1, 1)
        q = q * (m if boundary == "periodic" else m[:-1, :-1])
    return q


def topological_charge(spins, mask=None, boundary="periodic"):
    """Total topological charge Q (Berg-Luscher), an integer on periodic lattices.

    Parameters
    ----------
    spins : ndarray, shape (3, H, W) or (N, 3, H, W)
    mask : ndarray of bool (H, W), optional
    boundary : {"periodic", "open"}

    Returns
    -------
    float for one state, ndarray (N,) float64 for a batch.

    Raises
    ------
    ValueError
        As :func:`charge_density`.
    """
    q = charge_density(spins, mask, boundary).sum(axis=(-2, -1))
    return float(q) if np.ndim(q) == 0 else q
