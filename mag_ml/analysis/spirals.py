r"""Chiral textures of the DM interaction: flat spirals and skyrmions.

Helpers for the analytic checks of the lattice Hamiltonian
(:class:`mag_ml.Hamiltonian`) in chapter 1 of the book, in reduced units
(J = k_B = 1; D, B in units of J; lengths in lattice spacings).

Flat spiral
    A cycloid along x with wavevector q per lattice spacing,
    :math:`\mathbf S(x) = (\sin qx,\ 0,\ \cos qx)` for interfacial DMI, has
    energy per spin (B = K = 0, periodic square lattice, each bond once)

    .. math::

        \frac{E}{N} = -J\cos q - D\sin q - J ,

    minimal at :math:`q^* = \arctan(D/J)` (period :math:`2\pi/q^*`, about
    21.6 sites for D = 0.3 J, the model of Kwon et al., Adv. Sci. 8, 2004795
    (2021)).  On a periodic lattice of width W only commensurate
    wavevectors :math:`q = 2\pi n/W` fit.

Skyrmion
    The hand-built ansatz :math:`\theta(r) = 2\arctan(R/r)` (core along -z
    in a +z background) with in-plane angle :math:`\varphi + \eta`; helicity
    :math:`\eta = \pi` (in-plane spins pointing to the core) is the Neel
    chirality that interfacial DMI with D > 0 favours in this package's sign
    convention.  Its Berg-Luscher charge is Q = -1 for either helicity.

Bulk DMI gives the same energies after rotating every spin by -90 degrees
about z (:func:`rotate_in_plane`): the bulk DM vectors are the interfacial
ones rotated that way, and exchange and Zeeman energies do not change under
a global rotation about z.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..checks import check_real
from ..physics.hamiltonian import DMI_KINDS, Hamiltonian
from ..physics.lattice import check_shape
from ..physics.monte_carlo import relax

__all__ = ["spiral_wavevector", "spiral_energy", "flat_spiral", "rotate_in_plane", "measured_wavevector",
           "SpiralScan", "spiral_scan", "refine_minimum", "skyrmion", "skyrmion_centre", "line_profile",
           "skyrmion_radius", "perturb"]


def _check_state(spins, name="spins"):
    s = np.asarray(spins, dtype=np.float64)
    if s.ndim != 3 or s.shape[0] != 3 or min(s.shape[1:]) < 1:
        raise ValueError(f"{name} must have shape (3, H, W) (channels first), got {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError(f"{name} must be finite, got NaN or inf values")
    return s


# ----------------------------------------------------------------------------- spirals
def spiral_wavevector(J=1.0, D=0.3):
    """Wavevector of the lowest-energy flat spiral, ``q* = atan(D / J)``.

    Parameters
    ----------
    J : float
        Exchange, > 0 (ferromagnetic).
    D : float
        DMI strength in units of J.

    Returns
    -------
    float
        q* in radians per lattice spacing (0.2915 for D = 0.3 J); the period
        is ``2 pi / q*`` sites.

    Raises
    ------
    ValueError
        If J is not positive or D is not finite.
    """
    return math.atan2(check_real(D, "D"), check_real(J, "J", positive=True))


def spiral_energy(q, J=1.0, D=0.3):
    """Analytic energy per spin of a flat spiral, ``-J cos q - D sin q - J``.

    For a cycloid along x of the sense favoured by DMI with D > 0
    (:func:`flat_spiral` with ``n_periods > 0``) on a periodic square lattice,
    at B = K = 0: each x bond contributes ``-J cos q - D sin q``, each y bond
    (parallel spins) ``-J``.

    Parameters
    ----------
    q : float or array_like
        Wavevector in radians per lattice spacing (negative: the other sense).
    J, D : float
        Exchange and DMI in units of J.

    Returns
    -------
    float or ndarray, float64
        Energy per spin in units of J, same shape as ``q``.
    """
    J, D = check_real(J, "J"), check_real(D, "D")
    q = np.asarray(q, dtype=np.float64)
    e = -J * np.cos(q) - D * np.sin(q) - J
    return float(e) if e.ndim == 0 else e


def flat_spiral(shape, n_periods, *, dmi="interfacial"):
    """A flat spiral along x with ``n_periods`` turns across the lattice width.

    Wavevector ``q = 2 pi n_periods / W`` (commensurate with a periodic
    lattice of width W).  Interfacial DMI: the cycloid
    ``S = (sin qx, 0, cos qx)`` rotating in the xz plane; bulk DMI: the
    helix ``S = (0, -sin qx, cos qx)`` in the yz plane, i.e. the cycloid
    rotated by -90 degrees about z.  For D > 0 and ``n_periods > 0`` this is
    the sense the DMI favours, with energy :func:`spiral_energy`.

    Parameters
    ----------
    shape : (int, int)
        Lattice (H, W), both even.  Rows are copies of each other.
    n_periods : int
        Number of full turns across W (negative reverses the sense, 0 gives
        the uniform +z state).
    dmi : {"interfacial", "bulk"}
        Which DMI the spiral is built for.

    Returns
    -------
    ndarray, shape (3, H, W), float64
        Unit spins.

    Raises
    ------
    ValueError
        Bad shape, non-integer ``n_periods`` or unknown ``dmi``.
    """
    h, w = check_shape(shape)
    if not isinstance(n_periods, (int, np.integer)) or isinstance(n_periods, bool):
        raise ValueError(f"n_periods must be an integer number of turns, got {n_periods!r}")
    if dmi not in DMI_KINDS:
        raise ValueError(f"dmi must be one of {DMI_KINDS}, got {dmi!r}")
    q = 2.0 * np.pi * int(n_periods) / w
    x = np.arange(w)
    s = np.zeros((3, h, w))
    s[0] = np.sin(q * x)
    s[2] = np.cos(q * x)
    return s if dmi == "interfacial" else rotate_in_plane(s, -np.pi / 2)


def rotate_in_plane(spins, angle):
    """Rotate every spin by ``angle`` about the z axis.

    ``rotate_in_plane(S, -pi / 2)`` maps ``(Sx, Sy, Sz)`` to ``(Sy, -Sx, Sz)``;
    the bulk-DMI energy of the result equals the interfacial-DMI energy of S
    on the square lattice (see the module notes).

    Parameters
    ----------
    spins : array_like, shape (3, H, W) or (N, 3, H, W)
    angle : float
        Rotation angle in radians (counter-clockwise seen from +z).

    Returns
    -------
    ndarray, same shape, float64
        A new array; ``spins`` is not modified.

    Raises
    ------
    ValueError
        If the component axis (-3) does not have length 3.
    """
    s = np.asarray(spins, dtype=np.float64)
    if s.ndim not in (3, 4) or s.shape[-3] != 3:
        raise ValueError(f"spins must have shape (3, H, W) or (N, 3, H, W), got {s.shape}")
    angle = check_real(angle, "angle")
    c, sn = math.cos(angle), math.sin(angle)
    sx, sy, sz = np.moveaxis(s, -3, 0)
    # exact quarter turns stay exact (cos(pi/2) is 6e-17, not 0)
    c, sn = (round(c), round(sn)) if abs(c * sn) < 1e-12 else (c, sn)
    return np.stack([c * sx - sn * sy, sn * sx + c * sy, sz], axis=-3)


def measured_wavevector(spins, *, dmi="interfacial"):
    """Mean turning angle per site along x of a flat spiral.

    The angle ``atan2(Sx, Sz)`` (interfacial: xz plane) or ``atan2(-Sy, Sz)``
    (bulk: yz plane) is unwrapped along each row; the mean increment over the
    periodic row, including the bond across the boundary, is ``2 pi n / W``
    for a spiral with n turns.

    Parameters
    ----------
    spins : array_like, shape (3, H, W)
    dmi : {"interfacial", "bulk"}

    Returns
    -------
    float
        Wavevector in radians per lattice spacing.
    """
    s = _check_state(spins)
    if dmi not in DMI_KINDS:
        raise ValueError(f"dmi must be one of {DMI_KINDS}, got {dmi!r}")
    a = np.arctan2(s[0] if dmi == "interfacial" else -s[1], s[2])
    step = np.angle(np.exp(1j * (np.roll(a, -1, axis=1) - a)))  # wrapped to (-pi, pi]
    return float(step.mean())


@dataclass
class SpiralScan:
    """Outcome of :func:`spiral_scan`, one entry per number of turns.

    Attributes
    ----------
    n_periods : ndarray (n,) int
    q : ndarray (n,) float64
        Wavevectors ``2 pi n / W`` of the initial spirals (rad per spacing).
    energy : ndarray (n,) float64
        Energy per spin after relaxation (units of J).
    q_relaxed : ndarray (n,) float64
        Wavevector measured on the relaxed state (:func:`measured_wavevector`).
    relax_sweeps : ndarray (n,) int
        Sweeps each relaxation took.
    """

    n_periods: np.ndarray
    q: np.ndarray
    energy: np.ndarray
    q_relaxed: np.ndarray
    relax_sweeps: np.ndarray


def spiral_scan(hamiltonian, width, n_periods, *, height=2, tol=1e-10):
    """Relax flat spirals of several commensurate periods and record their energies.

    Each spiral (:func:`flat_spiral`) is relaxed at T = 0 with
    :func:`mag_ml.relax`; the periodic boundary fixes the number of turns, so
    relaxation can only adjust the profile within one period.

    Parameters
    ----------
    hamiltonian : Hamiltonian
        Periodic; for a comparison with :func:`spiral_energy` use B = K = 0.
    width : int
        Lattice width W (even); wavevectors are ``2 pi n / W``.
    n_periods : iterable of int
        Numbers of turns to try.
    height : int
        Lattice height (even, >= 2); a flat spiral does not depend on y.
    tol : float
        Convergence threshold of :func:`mag_ml.relax`.

    Returns
    -------
    SpiralScan

    Raises
    ------
    TypeError
        If ``hamiltonian`` is not a :class:`mag_ml.Hamiltonian`.
    ValueError
        Bad sizes or turn counts, or an open-boundary Hamiltonian.
    """
    if not isinstance(hamiltonian, Hamiltonian):
        raise TypeError(f"hamiltonian must be a mag_ml.Hamiltonian, got {type(hamiltonian).__name__}")
    if not hamiltonian.periodic:
        raise ValueError(f"spiral_scan needs a periodic Hamiltonian, got boundary={hamiltonian.boundary!r}")
    shape = check_shape((height, width))
    ns = np.asarray(list(n_periods))
    if ns.size == 0 or not np.issubdtype(ns.dtype, np.integer):
        raise ValueError(f"n_periods must be a non-empty sequence of integers, got {n_periods!r}")
    energy, q_rel, sweeps = [], [], []
    for n in ns:
        state, n_sweeps = relax(hamiltonian, flat_spiral(shape, int(n), dmi=hamiltonian.dmi), tol=tol)
        energy.append(hamiltonian.energy(state) / state[0].size)
        q_rel.append(measured_wavevector(state, dmi=hamiltonian.dmi))
        sweeps.append(n_sweeps)
    return SpiralScan(n_periods=ns, q=2.0 * np.pi * ns / shape[1], energy=np.array(energy),
                      q_relaxed=np.array(q_rel), relax_sweeps=np.array(sweeps))


def refine_minimum(x, y):
    """Vertex of the parabola through the lowest sample and its two neighbours.

    Parameters
    ----------
    x : array_like, shape (n,)
        Strictly increasing abscissae (e.g. wavevectors).
    y : array_like, shape (n,)
        Values (e.g. energies); the minimum must not be at either end.

    Returns
    -------
    float
        Estimated position of the minimum; exact for a parabola.

    Raises
    ------
    ValueError
        Mismatched or too short inputs, unsorted x, or a minimum at an end.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape or x.size < 3:
        raise ValueError(f"x and y must be 1-D of equal length >= 3, got shapes {x.shape}, {y.shape}")
    if np.any(np.diff(x) <= 0):
        raise ValueError("x must be strictly increasing")
    i = int(np.argmin(y))
    if i in (0, x.size - 1):
        raise ValueError(f"the minimum lies at the end of the samples (index {i}); widen the range")
    (x0, x1, x2), (y0, y1, y2) = x[i - 1:i + 2], y[i - 1:i + 2]
    num = (x1 - x0) ** 2 * (y1 - y2) - (x1 - x2) ** 2 * (y1 - y0)
    den = (x1 - x0) * (y1 - y2) - (x1 - x2) * (y1 - y0)
    return float(x1 - 0.5 * num / den)


# ----------------------------------------------------------------------------- skyrmions
def skyrmion(shape, radius, *, centre=None, helicity=np.pi, core=-1, aspect=1.0):
    r"""Hand-built skyrmion with polar angle ``theta(r) = 2 atan(radius / r)``.

    Spins ``S = (sin theta cos(phi + helicity), sin theta sin(phi + helicity),
    cos theta)`` about ``centre``, with phi the azimuth of the site seen from
    the centre: ``theta = pi`` (S along -z) at the core, ``pi / 2`` at
    ``r = radius`` and -> 0 (+z) far away.  ``helicity = pi`` points the
    in-plane spins to the core, the Neel skyrmion favoured by interfacial DMI
    with D > 0 here; ``helicity = 0`` points them away (disfavoured).
    ``core = +1`` returns the time-reversed texture ``-S`` (core +z in a -z
    background).  Distances are plain Euclidean from the centre (the ansatz's
    slow tail is cut at the box edge; a relaxation heals the seam).
    ``aspect != 1`` stretches the texture along x into an ellipse with
    half-axes ``aspect * radius`` (x) and ``radius`` (y), a deformed start to
    test whether a skyrmion returns to its round shape.

    Parameters
    ----------
    shape : (int, int)
        Lattice (H, W), both even.
    radius : float
        R > 0 in lattice spacings: S_z = 0 at distance R.
    centre : (float, float), optional
        (y, x) of the core; default the middle of the box,
        ``((H - 1) / 2, (W - 1) / 2)``.
    helicity : float
        In-plane rotation of the texture in radians.
    core : {-1, 1}
        Direction of the core spin along z.
    aspect : float
        Ratio of the x and y half-axes, > 0 (1: round).

    Returns
    -------
    ndarray, shape (3, H, W), float64
        Unit spins; Berg-Luscher charge ``Q = core`` (-1 by default).

    Raises
    ------
    ValueError
        Bad shape, radius, centre, helicity, core or aspect.
    """
    h, w = check_shape(shape)
    radius = check_real(radius, "radius", positive=True)
    helicity = check_real(helicity, "helicity")
    aspect = check_real(aspect, "aspect", positive=True)
    if core not in (-1, 1):
        raise ValueError(f"core must be -1 (core along -z) or +1, got {core!r}")
    if centre is None:
        cy, cx = (h - 1) / 2, (w - 1) / 2
    else:
        try:
            cy, cx = centre
        except (TypeError, ValueError):
            raise ValueError(f"centre must be (y, x), two finite numbers, got {centre!r}") from None
        cy, cx = check_real(cy, "centre[0]"), check_real(cx, "centre[1]")
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    dy, dx = y - cy, x - cx
    theta = 2.0 * np.arctan2(radius, np.hypot(dx / aspect, dy))
    phi = np.arctan2(dy, dx) + helicity
    s = np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])
    return s if core < 0 else -s


def skyrmion_centre(spins):
    """Core position of a skyrmion with its core along -z on a periodic lattice.

    The circular mean, per axis, of site positions weighted by
    ``(1 - S_z) / 2`` (1 in the core, 0 in a +z background), so a core
    straddling the periodic boundary is found correctly.

    Parameters
    ----------
    spins : array_like, shape (3, H, W)

    Returns
    -------
    (float, float)
        (y, x) in lattice spacings, in ``[0, H)`` and ``[0, W)``.

    Raises
    ------
    ValueError
        Bad shape, or no reversed spin (all ``S_z = 1``).
    """
    s = _check_state(spins)
    weight = 0.5 * (1.0 - s[2])
    if weight.sum() <= 1e-12:
        raise ValueError("spins hold no reversed core (S_z = 1 everywhere)")
    h, w = weight.shape
    centre = []
    for axis, n in ((0, h), (1, w)):
        phase = np.exp(2j * np.pi * np.arange(n) / n)
        z = (weight.sum(axis=1 - axis) * phase).sum()
        c = float(np.angle(z) * n / (2 * np.pi))  # in [-n/2, n/2]
        centre.append(c + n if c < -1e-9 else max(c, 0.0))  # rounding noise below 0 is 0, not n
    return centre[0], centre[1]


def line_profile(spins, centre=None, *, axis="x"):
    """Spins along the lattice row (or column) through a skyrmion's core.

    Parameters
    ----------
    spins : array_like, shape (3, H, W)
    centre : (float, float), optional
        (y, x) of the core; default :func:`skyrmion_centre`.
    axis : {"x", "y"}
        ``"x"``: the row nearest the core, against x; ``"y"``: the column.

    Returns
    -------
    d : ndarray (n,) float64
        Signed distance to the core along the line (minimum image on the
        periodic lattice), increasing, in lattice spacings.
    line : ndarray (3, n) float64
        (Sx, Sy, Sz) at those sites.

    Raises
    ------
    ValueError
        Bad shape or axis.
    """
    s = _check_state(spins)
    if axis not in ("x", "y"):
        raise ValueError(f"axis must be 'x' or 'y', got {axis!r}")
    cy, cx = skyrmion_centre(s) if centre is None else centre
    h, w = s.shape[1:]
    if axis == "x":
        line, c, n = s[:, int(round(cy)) % h, :], cx, w
    else:
        line, c, n = s[:, :, int(round(cx)) % w], cy, h
    d = (np.arange(n) - c + n / 2) % n - n / 2
    order = np.argsort(d, kind="stable")
    return d[order], line[:, order]


def _zero_crossing(d, sz):
    """Distance from the core at which S_z first turns >= 0, on one side (d >= 0)."""
    above = np.nonzero(sz >= 0.0)[0]
    if sz[0] >= 0.0 or above.size == 0:
        raise ValueError("no S_z = 0 crossing: the line does not run from a -z core into a +z background")
    k = above[0]
    return float(d[k - 1] + (d[k] - d[k - 1]) * (0.0 - sz[k - 1]) / (sz[k] - sz[k - 1]))


def skyrmion_radius(spins, centre=None):
    """Skyrmion radius: distance from the core at which ``S_z = 0``.

    Mean of the four crossings (left, right, down, up) of ``S_z = 0`` along
    the row and column through the core (:func:`line_profile`), each found by
    linear interpolation between lattice sites.  For the ansatz
    :func:`skyrmion` this returns ``radius`` up to the interpolation error.

    Parameters
    ----------
    spins : array_like, shape (3, H, W)
        A skyrmion with its core along -z in a +z background.
    centre : (float, float), optional
        (y, x) of the core; default :func:`skyrmion_centre`.

    Returns
    -------
    float
        Radius in lattice spacings.

    Raises
    ------
    ValueError
        If a line through the core does not cross ``S_z = 0`` (no skyrmion).
    """
    s = _check_state(spins)
    centre = skyrmion_centre(s) if centre is None else centre
    crossings = []
    for axis in ("x", "y"):
        d, line = line_profile(s, centre, axis=axis)
        for sign in (1.0, -1.0):
            side = sign * d >= -0.5  # the site nearest the core belongs to both sides
            dd, sz = sign * d[side], line[2, side]
            order = np.argsort(dd, kind="stable")
            crossings.append(_zero_crossing(dd[order], sz[order]))
    return float(np.mean(crossings))


def perturb(spins, amplitude, *, seed=0):
    """Random kick: add Gaussian noise of standard deviation ``amplitude`` and renormalise.

    Parameters
    ----------
    spins : array_like, shape (3, H, W)
        Unit spins (not modified).
    amplitude : float
        Standard deviation of each added component, >= 0.
    seed : int
        Seed of :func:`numpy.random.default_rng`; the same seed gives the
        same kick.

    Returns
    -------
    ndarray, shape (3, H, W), float64
        Unit spins.

    Raises
    ------
    ValueError
        Bad shape or negative amplitude.
    """
    s = _check_state(spins)
    amplitude = check_real(amplitude, "amplitude")
    if amplitude < 0:
        raise ValueError(f"amplitude must be >= 0, got {amplitude!r}")
    kicked = s + amplitude * np.random.default_rng(seed).standard_normal(s.shape)
    return kicked / np.linalg.norm(kicked, axis=0)
