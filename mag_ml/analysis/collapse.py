r"""Local noise, posterior collapse and ground-state checks (chapters 4 and 5).

Analysis helpers for Kwon et al., "Magnetic state generation using
Hamiltonian guided variational autoencoder with spin structure
stabilization", Adv. Sci. 8, 2004795 (2021):

* :func:`theta_distribution`: normalised distribution of the angle theta_i
  between each spin and its effective field (Fig. 3B);
* :func:`fourier_mse`: mean pairwise MSE between the moduli of the Fourier
  transforms of S_z maps, the measure of the collapse of generated states
  (Fig. 5B), and :func:`critical_gamma`, where it falls below a threshold;
* :func:`align_translation` and :func:`shift`: the periodic translation that
  overlays two states (Fig. 5A, two trainings giving the same lattice);
* :func:`skyrmion_lattice` and :func:`lowest_lattice_energy`: trial
  triangular skyrmion lattices relaxed by direct minimisation, the reference
  ground state against which the collapsed E-VAE state is compared.

Conventions: spins are unit vectors, channels first,
``(3, H, W)`` for one state or ``(N, 3, H, W)`` for a batch; energies in units
of J; lengths in lattice spacings; periodic lattices unless stated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..checks import check_int, resolve_device
from ..physics.hamiltonian import Hamiltonian
from ..physics.lattice import check_shape
from ..physics.monte_carlo import relax
from ..physics.topology import topological_charge

__all__ = ["theta_distribution", "fourier_moduli", "fourier_mse", "critical_gamma", "align_translation", "shift",
           "skyrmion_lattice", "LatticeSearch", "lowest_lattice_energy"]


def _to_numpy(states):
    """ndarray float64 from a numpy array or a torch tensor (detached, on the CPU)."""
    if type(states).__module__.startswith("torch"):
        states = states.detach().cpu().double().numpy()
    return np.asarray(states, dtype=np.float64)


def _batch(states, name="states"):
    """States as ``(N, 3, H, W)`` float64; a single ``(3, H, W)`` state becomes N = 1."""
    s = _to_numpy(states)
    if s.ndim == 3:
        s = s[None]
    if s.ndim != 4 or s.shape[1] != 3 or s.shape[0] < 1 or min(s.shape[2:]) < 1:
        raise ValueError(f"{name} must have shape (3, H, W) or (N, 3, H, W) (channels first), got {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError(f"{name} contains NaN or inf values")
    return s


# ----------------------------------------------------------------------------- Fig. 3B
def theta_distribution(hamiltonian, states, bins=60, *, mask=None, chunk=256, return_mean=False):
    r"""Normalised distribution of the angle between each spin and its effective field.

    :math:`\theta_i = \arccos(\mathbf S_i\cdot\mathbf h_i/|\mathbf h_i|)` with
    :math:`\mathbf h_i = -\partial H/\partial\mathbf S_i`
    (:meth:`mag_ml.Hamiltonian.cos_theta`), pooled over every site of every
    state of the batch and histogrammed on ``[0, pi]``.  A state in a local
    energy minimum (e.g. after :func:`mag_ml.relax`) has every theta_i = 0;
    the noisy outputs of a standard VAE spread theta_i out, the E-VAE sharpens
    the distribution toward 0 as gamma grows (Kwon et al. 2021, Fig. 3B).

    Parameters
    ----------
    hamiltonian : mag_ml.Hamiltonian
    states : array_like or torch.Tensor, shape (3, H, W) or (N, 3, H, W)
        Unit spins (float32 network outputs are accepted; they are converted
        to float64 and renormalised).
    bins : int or array_like, default 60
        Number of equal bins on ``[0, pi]`` or explicit bin edges (radians).
    mask : ndarray of bool (H, W), optional
        Occupied sites; vacancies are left out of the histogram.
    chunk : int, default 256
        States converted to float64 and histogrammed at a time, >= 1: the
        counts of the chunks are summed, so the result does not depend on it
        and a dataset split (anything sliced by ``states[a:b]``, e.g.
        :class:`mag_ml.data.SplitStates`, or the lazy model outputs of
        :func:`mag_ml.chapters.evae.sample_states`) is never converted whole.
    return_mean : bool, default False
        Also return the mean of theta_i over the same sites, from the same
        pass (exact, not from the binned histogram).

    Returns
    -------
    centres : ndarray (n_bins,) float64
        Bin centres, radians.
    density : ndarray (n_bins,) float64
        Probability density per radian: ``sum(density * diff(edges)) = 1``.
    mean : float
        Only with ``return_mean``: the mean theta_i, radians.

    Raises
    ------
    TypeError
        If ``hamiltonian`` is not a :class:`mag_ml.Hamiltonian`.
    ValueError
        Bad shapes, non-finite spins or bins.
    """
    if not isinstance(hamiltonian, Hamiltonian):
        raise TypeError(f"hamiltonian must be a mag_ml.Hamiltonian, got {type(hamiltonian).__name__}")
    chunk = check_int(chunk, "chunk", minimum=1)
    states = states if hasattr(states, "ndim") else np.asarray(states)
    n = states.shape[0] if states.ndim == 4 else 1
    counts, edges, total, sites = 0, None, 0.0, 0
    for start in range(0, max(n, 1), chunk):  # no state: _batch raises, naming the shape
        s = _batch(states[start:start + chunk] if states.ndim == 4 else states)
        norm = np.linalg.norm(s, axis=1, keepdims=True)
        if mask is None:
            if np.any(norm < 1e-12):
                raise ValueError("states contain zero-length spins; pass a mask for vacancies")
            s = s / norm
        else:
            s = np.where(norm > 1e-12, s / np.maximum(norm, 1e-12), 0.0)
        occupied = np.ones(s.shape[-2:], bool) if mask is None else np.asarray(mask, bool)
        theta = np.concatenate([np.arccos(np.clip(hamiltonian.cos_theta(x, mask=mask), -1.0, 1.0))[occupied]
                                for x in s])
        part, edges = np.histogram(theta, bins=bins, range=(0.0, np.pi))
        counts, total, sites = counts + part, total + theta.sum(), sites + theta.size
    density = counts / np.array(np.diff(edges), float) / counts.sum()  # as np.histogram(density=True)
    centres = 0.5 * (edges[1:] + edges[:-1])
    if return_mean:  # over every site, also those outside explicit bin edges
        return centres, density, float(total / sites)
    return centres, density


# ----------------------------------------------------------------------------- Fig. 5B
def fourier_moduli(states):
    r"""Modulus of the 2-D Fourier transform of each S_z map, ``|FFT2(S_z)| / sqrt(H W)``.

    The modulus does not change under a periodic translation of the state,
    so translated copies of one texture give identical maps.  With the
    'ortho' normalisation, ``mean_k |F_k|^2 = mean_r S_z(r)^2`` (Parseval).

    Parameters
    ----------
    states : array_like or torch.Tensor, shape (N, 3, H, W), (3, H, W) or (N, H, W)
        Spins (S_z is channel 2), or S_z maps directly if 3-D with a first
        axis other than 3 -- pass ``(N, H, W)`` maps with ``N != 3`` or full
        spins to avoid the ambiguity.

    Returns
    -------
    ndarray (N, H, W) float64
    """
    s = _to_numpy(states)
    if s.ndim == 3 and s.shape[0] != 3:
        sz = s
    else:
        sz = _batch(s)[:, 2]
    if sz.ndim != 3:
        raise ValueError(f"states must have shape (N, 3, H, W), (3, H, W) or (N, H, W), got {s.shape}")
    return _moduli(sz)


def _moduli(sz):
    """``|FFT(S_z)| / sqrt(H W)`` of (N, H, W) float64 maps."""
    return np.abs(np.fft.fft2(sz, norm="ortho"))


def fourier_mse(states, *, chunk=256, device="auto"):
    r"""Mean pairwise MSE between the Fourier moduli of the S_z maps of a batch.

    The measure of mode collapse of Kwon et al. 2021, Fig. 5B: for N states
    (e.g. 100 samples decoded from z ~ N(0, I)), with
    :math:`A_n = |\mathrm{FFT}(S^z_n)|/\sqrt{HW}` (:func:`fourier_moduli`),

    .. math::

        \mathrm{MSE} = \binom N2^{-1}\sum_{n<m}\frac1{HW}\sum_k (A_{n,k} - A_{m,k})^2
                     = \frac{2}{(N-1)HW}\Bigl(\sum_n\sum_k A_{n,k}^2 - N\sum_k \bar A_k^2\Bigr) ,

    computed through the second form, streaming: the moduli of ``chunk``
    states at a time, transformed on ``device`` and merged with Chan, Golub &
    LeVeque's update of the mean and summed squared deviations (memory
    O(chunk H W) beyond the input, no float64 or complex copy of the whole
    batch).  Zero when every state is a periodic translation of one texture
    (the collapsed E-VAE), positive for different textures.  Unit: that of
    ``S_z^2`` per site (the ortho FFT keeps Parseval's identity), at most 4.

    Parameters
    ----------
    states : array_like or torch.Tensor, shape (N, 3, H, W) or (N, H, W)
        N >= 2 spin states (or S_z maps); float32 or float64, computed in
        float64.
    chunk : int
        States transformed at a time, >= 1 (the result is the same to rounding).
    device : "auto", str or torch.device, default "auto"
        Where the transforms run (:func:`mag_ml.checks.resolve_device`:
        CUDA when available, else the CPU); only ``chunk`` states are on it
        at once.  The result is the same to rounding on every device.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Fewer than two states, bad shape, chunk or device (CUDA asked for
        without one).
    """
    import torch

    chunk = check_int(chunk, "chunk", minimum=1)
    device = resolve_device(device)
    states = states if hasattr(states, "ndim") else np.asarray(states)
    maps = states.ndim == 3 and states.shape[0] != 3  # (N, H, W) S_z maps, decided once for the whole batch
    n = states.shape[0] if (maps or states.ndim == 4) else 1
    if n < 2:
        raise ValueError(f"fourier_mse needs at least 2 states, got {n}")
    count, mean, m2 = 0, 0.0, 0.0
    for start in range(0, n, chunk):
        part = states[start:start + chunk]
        sz = torch.from_numpy(_to_numpy(part) if maps else _batch(part)[:, 2]).to(device)
        a = torch.fft.fft2(sz, norm="ortho").abs()
        k = a.shape[0]
        mean_k = a.mean(dim=0)
        m2_k = ((a - mean_k) ** 2).sum(dim=0)
        delta = mean_k - mean
        total = count + k
        m2 = m2 + m2_k + delta * delta * (count * k / total)
        mean = mean + delta * (k / total)
        count = total
    return float(2.0 * m2.sum() / ((n - 1) * mean.numel()))


def critical_gamma(gammas, mse, threshold):
    """Critical gamma of the collapse: the smallest gamma from which the Fourier MSE stays below ``threshold``.

    Definition: with the points sorted by gamma, the first gamma_c such that
    ``mse < threshold`` at gamma_c and at every larger gamma sampled
    (a single dip below the threshold followed by a rise does not count).
    Used for Fig. 5B of Kwon et al. 2021 (the MSE falls to ~0 past gamma_c).

    Parameters
    ----------
    gammas : array_like (n,)
        Trained gamma values (any order; distinct).
    mse : array_like (n,)
        :func:`fourier_mse` at each gamma.
    threshold : float
        > 0, same unit as ``mse``.

    Returns
    -------
    float
        gamma_c, or NaN if the MSE at the largest gamma is not below the
        threshold (no collapse within the scanned range).

    Raises
    ------
    ValueError
        Mismatched or empty inputs, repeated gammas, non-finite values or a
        non-positive threshold.
    """
    g, m = np.asarray(gammas, dtype=np.float64), np.asarray(mse, dtype=np.float64)
    if g.ndim != 1 or g.shape != m.shape or g.size == 0:
        raise ValueError(f"gammas and mse must be 1-D of equal non-zero length, got {g.shape}, {m.shape}")
    if not (np.all(np.isfinite(g)) and np.all(np.isfinite(m))):
        raise ValueError("gammas and mse must be finite")
    if not (isinstance(threshold, (int, float, np.integer, np.floating)) and math.isfinite(threshold)
            and threshold > 0):
        raise ValueError(f"threshold must be a finite positive number, got {threshold!r}")
    order = np.argsort(g, kind="stable")
    g, m = g[order], m[order]
    if np.any(np.diff(g) == 0):
        raise ValueError("gammas must be distinct")
    above = np.nonzero(m >= threshold)[0]
    if above.size == 0:
        return float(g[0])
    last = above[-1]
    return float("nan") if last == g.size - 1 else float(g[last + 1])


# ----------------------------------------------------------------------------- Fig. 5A
def _sz_map(state, name):
    s = _to_numpy(state)
    if s.ndim == 3 and s.shape[0] == 3:
        s = s[2]
    if s.ndim != 2:
        raise ValueError(f"{name} must be a state (3, H, W) or an S_z map (H, W), got shape {s.shape}")
    return s


def align_translation(a, b):
    r"""Periodic translation that best overlays state ``b`` on state ``a``.

    The circular cross-correlation of the mean-subtracted S_z maps,
    :math:`c(\mathbf d) = \sum_\mathbf r \delta a(\mathbf r)\,\delta b(\mathbf r - \mathbf d)`,
    is computed with FFTs; its maximum gives the shift ``(dy, dx)`` such that
    ``shift(b, dy, dx)`` (an ``np.roll`` by ``(dy, dx)``) is closest to ``a``.
    Used to show that two trainings collapse to the same skyrmion lattice up
    to a translation (Kwon et al. 2021, Fig. 5A).

    Parameters
    ----------
    a, b : array_like or torch.Tensor, shape (3, H, W) or (H, W)
        Two states (or their S_z maps) on the same periodic lattice.

    Returns
    -------
    dy, dx : int
        Shift in lattice spacings, in ``[-H/2, H/2)`` and ``[-W/2, W/2)``
        (minimum image).
    peak : float
        Normalised correlation at the maximum,
        ``c(d) / (|delta a| |delta b|)`` in [-1, 1]: 1 for exact translated
        copies; NaN when either map is uniform (nothing to align, shift 0).

    Raises
    ------
    ValueError
        Bad or mismatched shapes.
    """
    sa, sb = _sz_map(a, "a"), _sz_map(b, "b")
    if sa.shape != sb.shape:
        raise ValueError(f"a and b must have the same lattice shape, got {sa.shape} and {sb.shape}")
    da, db = sa - sa.mean(), sb - sb.mean()
    norm = float(np.linalg.norm(da) * np.linalg.norm(db))
    if norm < 1e-12:
        return 0, 0, float("nan")
    c = np.fft.ifft2(np.fft.fft2(da) * np.conj(np.fft.fft2(db))).real
    iy, ix = np.unravel_index(int(np.argmax(c)), c.shape)
    h, w = c.shape
    dy = (iy + h // 2) % h - h // 2
    dx = (ix + w // 2) % w - w // 2
    return int(dy), int(dx), float(c[iy, ix] / norm)


def shift(state, dy, dx):
    """Periodic translation of a state by ``(dy, dx)`` sites: ``np.roll`` over the last two axes.

    Parameters
    ----------
    state : ndarray or torch.Tensor, shape (..., H, W)
        E.g. (3, H, W), (N, 3, H, W) or an S_z map (H, W).
    dy, dx : int
        Shift along y (rows) and x (columns); ``out[..., i, j] = state[..., i - dy, j - dx]``.

    Returns
    -------
    Same type, shape and dtype as ``state`` (a new array/tensor).

    Raises
    ------
    ValueError
        Non-integer shifts or fewer than two axes.
    """
    for name, v in (("dy", dy), ("dx", dx)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
            raise ValueError(f"{name} must be an integer, got {v!r}")
    if state.ndim < 2:
        raise ValueError(f"state must have at least 2 axes (H, W), got shape {tuple(state.shape)}")
    if type(state).__module__.startswith("torch"):
        import torch

        return torch.roll(state, (int(dy), int(dx)), dims=(-2, -1))
    return np.roll(np.asarray(state), (int(dy), int(dx)), axis=(-2, -1))


# ----------------------------------------------------------------------------- ground state
def _lattice_points(h, w, spacing, angle, snap):
    """Sites (y, x) of a triangular lattice inside [0, H) x [0, W), and the cell vectors used."""
    if snap and abs(math.remainder(angle, math.pi / 3)) < 1e-12:
        # angle 0 (mod 60 deg): stretch slightly so an integer number of rows (even) and columns fit
        nx = max(1, round(w / spacing))
        ny = max(2, 2 * round(h / (spacing * math.sqrt(3))))
        ax, ay = w / nx, h / ny
        pts = [((j + 0.5) * ay, ((i + 0.5 * (j % 2)) * ax) % w) for j in range(ny) for i in range(nx)]
        return np.array(pts)
    c, s = math.cos(angle), math.sin(angle)
    a1 = spacing * np.array([c, s])                                        # (x, y)
    a2 = spacing * np.array([math.cos(angle + math.pi / 3), math.sin(angle + math.pi / 3)])
    n = int(math.ceil(2 * max(h, w) / (spacing * math.sqrt(3) / 2))) + 2
    i, j = np.meshgrid(np.arange(-n, n + 1), np.arange(-n, n + 1), indexing="ij")
    xy = i[..., None] * a1 + j[..., None] * a2 + np.array([w / 2, h / 2])
    xy = xy.reshape(-1, 2)
    inside = (xy[:, 0] >= 0) & (xy[:, 0] < w) & (xy[:, 1] >= 0) & (xy[:, 1] < h)
    kept = []
    for x, y in xy[inside]:  # drop points crowding their periodic images at the seams
        if all(math.hypot((x - kx + w / 2) % w - w / 2, (y - ky + h / 2) % h - h / 2) > 0.6 * spacing
               for ky, kx in kept):
            kept.append((y, x))
    return np.array(kept)


def skyrmion_lattice(shape, spacing, angle=0.0, *, radius=None, helicity=np.pi, snap=True):
    r"""Trial triangular lattice of Neel skyrmions on a periodic box.

    Each site takes the texture of its nearest lattice point (periodic
    minimum image), with polar angle ``theta = pi (1 - r / (2 R))`` for
    ``r < 2 R`` and 0 (+z) beyond, and azimuth ``phi + helicity`` (phi the
    direction from the core): compact skyrmions with S_z = -1 at the core,
    S_z = 0 at ``r = R`` and an exactly +z background between them, each of
    Berg-Luscher charge -1 (as :func:`mag_ml.analysis.spirals.skyrmion`).
    The state is a starting point for :func:`mag_ml.relax`, not a
    metastable state.

    Commensurability: for ``angle`` a multiple of 60 degrees and
    ``snap=True`` the lattice is stretched slightly (``W/nx`` along x,
    ``H/ny`` between rows, ``ny`` even) so that it tiles the periodic box
    exactly.  Otherwise the lattice points falling in the box are kept,
    dropping any closer than ``0.6 spacing`` to a kept one across the
    periodic seam, so the tiling is only approximately triangular there.

    Parameters
    ----------
    shape : (int, int)
        Lattice (H, W), both even.
    spacing : float
        Lattice constant a (distance between neighbouring cores), in lattice
        spacings, > 2.
    angle : float, default 0
        Orientation of one lattice vector relative to +x, radians.
    radius : float, optional
        Skyrmion radius R (S_z = 0); default ``spacing / 4`` (the skyrmions
        just touch).  Must be <= ``spacing / 4`` to avoid overlaps.
    helicity : float, default pi
        pi: in-plane spins toward the core, the Neel chirality favoured by
        interfacial DMI with D > 0 in this package; for bulk DMI use pi/2
        (or ``rotate_in_plane`` the result by -pi/2).
    snap : bool, default True
        Stretch to commensurability when possible (see above).

    Returns
    -------
    ndarray, shape (3, H, W), float64
        Unit spins.

    Raises
    ------
    ValueError
        Bad shape, spacing, angle or radius.
    """
    h, w = check_shape(shape)
    for name, v in (("spacing", spacing), ("angle", angle), ("helicity", helicity)):
        if not (isinstance(v, (int, float, np.integer, np.floating)) and math.isfinite(v)):
            raise ValueError(f"{name} must be a finite real number, got {v!r}")
    spacing, angle = float(spacing), float(angle)
    if not 2.0 < spacing <= max(h, w):
        raise ValueError(f"spacing must lie in (2, max(H, W)] = (2, {max(h, w)}], got {spacing!r}")
    radius = spacing / 4 if radius is None else radius
    if not (isinstance(radius, (int, float, np.integer, np.floating)) and 0 < radius <= spacing / 4 + 1e-12):
        raise ValueError(f"radius must lie in (0, spacing / 4], got {radius!r}")
    pts = _lattice_points(h, w, spacing, angle, snap)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    best = np.full((h, w), np.inf)
    dxb, dyb = np.zeros((h, w)), np.zeros((h, w))
    for py, px in pts:
        dy = (y - py + h / 2) % h - h / 2
        dx = (x - px + w / 2) % w - w / 2
        r = np.hypot(dx, dy)
        closer = r < best
        best = np.where(closer, r, best)
        dyb, dxb = np.where(closer, dy, dyb), np.where(closer, dx, dxb)
    theta = np.pi * np.clip(1.0 - best / (2.0 * radius), 0.0, 1.0)
    phi = np.arctan2(dyb, dxb) + helicity
    return np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])


@dataclass
class LatticeSearch:
    """Outcome of :func:`lowest_lattice_energy`.

    Attributes
    ----------
    state : ndarray (3, H, W) float64
        The relaxed state of lowest energy.
    energy : float
        Its energy per spin (units of J).
    spacing, angle : float
        The trial lattice constant and orientation it came from.
    energies : ndarray (n_spacings, n_angles) float64
        Energy per spin of every relaxed trial state.
    charges : ndarray (n_spacings, n_angles) float64
        Topological charge of every relaxed trial state (integer-valued).
    """

    state: np.ndarray
    energy: float
    spacing: float
    angle: float
    energies: np.ndarray
    charges: np.ndarray


def lowest_lattice_energy(hamiltonian, shape, spacings, angles=(0.0,), *, radius_fraction=0.25, tol=1e-6,
                          max_sweeps=100_000, **lattice_kwargs):
    """Ground-state search by direct minimisation from trial skyrmion lattices.

    Every combination of lattice constant and orientation is built with
    :func:`skyrmion_lattice`, relaxed at T = 0 with :func:`mag_ml.relax`,
    and its energy per spin recorded; the lowest relaxed state is returned.
    Chapter 5 compares it with the collapsed E-VAE state (Kwon et al. 2021,
    Fig. 5).  Cost: one relaxation per trial (seconds on 128 x 128).

    Parameters
    ----------
    hamiltonian : mag_ml.Hamiltonian
        Periodic, or open (a finite sample: the trial lattices, built as on
        a torus, are then only starting points that the edges reshape).
    shape : (int, int)
        Lattice (H, W), even.
    spacings : iterable of float
        Trial lattice constants (lattice spacings).
    angles : iterable of float, default (0,)
        Trial orientations, radians.
    radius_fraction : float, default 0.25
        Initial skyrmion radius as a fraction of the spacing (<= 0.25).
    tol, max_sweeps
        Passed to :func:`mag_ml.relax`.
    **lattice_kwargs
        Further arguments of :func:`skyrmion_lattice` (``helicity``, ``snap``).

    Returns
    -------
    LatticeSearch

    Raises
    ------
    TypeError
        If ``hamiltonian`` is not a :class:`mag_ml.Hamiltonian`.
    ValueError
        Empty scans or bad lattice parameters.
    """
    if not isinstance(hamiltonian, Hamiltonian):
        raise TypeError(f"hamiltonian must be a mag_ml.Hamiltonian, got {type(hamiltonian).__name__}")
    spacings, angles = [float(a) for a in spacings], [float(t) for t in angles]
    if not spacings or not angles:
        raise ValueError("spacings and angles must be non-empty")
    h, w = check_shape(shape)
    energies = np.empty((len(spacings), len(angles)))
    charges = np.empty_like(energies)
    best = None
    for i, a in enumerate(spacings):
        for j, t in enumerate(angles):
            start = skyrmion_lattice((h, w), a, t, radius=radius_fraction * a, **lattice_kwargs)
            state, _ = relax(hamiltonian, start, tol=tol, max_sweeps=max_sweeps)
            energies[i, j] = hamiltonian.energy(state) / (h * w)
            charges[i, j] = topological_charge(state)
            if best is None or energies[i, j] < best[1]:
                best = (state, float(energies[i, j]), a, t)
    return LatticeSearch(best[0], best[1], best[2], best[3], energies, charges)
