r"""Radially averaged structure factor of spin images.

For a component :math:`m_a` of a state on an :math:`H\times W` grid of
spacing :math:`\Delta x`,

.. math::

    S(\mathbf k) = \frac{1}{N}\Big|\sum_{\mathbf r}\big(m_a(\mathbf r)
        - \langle m_a\rangle\big)\,e^{-i\mathbf k\cdot\mathbf r}\Big|^2,
    \qquad N = HW,

on the wavevectors :math:`k_{x,y} = 2\pi n/(W\Delta x),\ 2\pi n/(H\Delta x)`
of the periodic grid.  By Parseval the mean of :math:`S` over all
:math:`\mathbf k` is the variance of :math:`m_a`, so states of different
sizes compare directly.  The radial average bins :math:`|\mathbf k|` in
shells of width :math:`\Delta q = 2\pi/(\min(H,W)\Delta x)` centred on
:math:`q_j = j\,\Delta q`, up to the Nyquist wavevector :math:`\pi/\Delta x`.
A labyrinth or skyrmion lattice shows a ring at
:math:`q \approx 2\pi/\text{period}`; Wang et al. (Adv. Sci. 2020) compare
observed and re-simulated states this way.
"""

from __future__ import annotations

import numpy as np

from ..checks import check_real

__all__ = ["structure_factor", "COMPONENTS"]

COMPONENTS = ("x", "y", "z", "all")


def structure_factor(spins, dx, *, component="z"):
    """Radially averaged structure factor S(q) of one state or the mean over a batch.

    Parameters
    ----------
    spins : array_like (3, H, W) or (n, 3, H, W), float
        Spin components (row y, column x) on a periodic grid.
    dx : float
        Grid spacing [m] (1 for lattice units), > 0.
    component : {"x", "y", "z", "all"}
        The component whose fluctuations are transformed; ``"all"`` sums the
        three structure factors.

    Returns
    -------
    q : ndarray (n_q,) float64
        Shell centres ``j * 2 pi / (min(H, W) dx)``, j = 0 .. floor(min(H, W) / 2),
        angular wavenumbers [1/m] (a period lambda peaks at ``2 pi / lambda``).
    S : ndarray (n_q,) float64
        Mean of S(k) over the wavevectors of each shell (batch mean for a
        batch); ``S[0] = 0`` (the mean is removed).

    Raises
    ------
    ValueError
        Spins not of shape (3, H, W) or (n, 3, H, W) with H, W >= 2, non-finite
        values, bad ``dx`` or unknown ``component``.

    References
    ----------
    Wang et al., Adv. Sci. 2020 (arXiv 1908.05829): comparison of observed
    and re-simulated domain patterns.
    """
    s = np.asarray(spins, dtype=np.float64)
    if s.ndim == 3:
        s = s[None]
    if s.ndim != 4 or s.shape[1] != 3 or min(s.shape[2:]) < 2:
        raise ValueError(f"spins must have shape (3, H, W) or (n, 3, H, W) with H, W >= 2, got {np.shape(spins)}")
    if not np.all(np.isfinite(s)):
        raise ValueError("spins must be finite")
    dx = check_real(dx, "dx", positive=True, unit="m")
    if component not in COMPONENTS:
        raise ValueError(f"component must be one of {COMPONENTS}, got {component!r}")
    h, w = s.shape[2:]
    m = s if component == "all" else s[:, [COMPONENTS.index(component)]]
    m = m - m.mean(axis=(2, 3), keepdims=True)
    power = (np.abs(np.fft.fft2(m)) ** 2).sum(axis=1).mean(axis=0) / (h * w)  # (H, W)
    ky = 2 * np.pi * np.fft.fftfreq(h, d=dx)
    kx = 2 * np.pi * np.fft.fftfreq(w, d=dx)
    k = np.hypot(ky[:, None], kx[None, :])
    dq = 2 * np.pi / (min(h, w) * dx)
    n_q = min(h, w) // 2 + 1
    shell = np.rint(k / dq).astype(np.int64).ravel()
    keep = shell < n_q
    counts = np.bincount(shell[keep], minlength=n_q)
    sums = np.bincount(shell[keep], weights=power.ravel()[keep], minlength=n_q)
    return np.arange(n_q) * dq, sums / counts
