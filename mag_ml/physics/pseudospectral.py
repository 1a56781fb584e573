r"""Pseudospectral Landau-Lifshitz (PS-LL) dynamics of a 1D spin chain.

Rockwell, Hirst, Ostler & Iacocca, arXiv:2312.14068 write the exchange term
of the Landau-Lifshitz equation in Fourier space, with a kernel read off the
magnon dispersion, so one equation covers the atomistic chain (the exact
nearest-neighbour dispersion) and the continuum (its :math:`k^2` limit).
Eagan, Copus & Iacocca, arXiv:2603.10182 put vacancies on that chain.  This
module is an open implementation of both for unit spins
:math:`\mathbf m(x_i, t)` on N sites, :math:`x_i = (i + \tfrac12) a`,
periodic.

Units
    Inputs in SI, except lengths in nm and times in ps: A_ex [J/m],
    M_s [A/m], K_u [J/m^3], D [J/m^2], B [T], a [nm], t [ps],
    gamma [rad/(s T)] (default :data:`GAMMA` = 1.760859e11, converted to
    rad/(ps T) inside), wavevectors k [1/nm], fields [T], frequencies
    f = omega / 2 pi reported in GHz by the analysis module.  Energies are
    per unit cross-sectional area of the chain, [J/m^2] (the sum over sites
    of the energy density times a), so one Bloch/Neel wall costs
    :math:`4\sqrt{A K}` on the defect-free continuum chain.

Energy density (per site, summed over occupied sites; see "Vacancies" for bridged ones)
    .. math::

        e = A\,\mathbf m\cdot(\hat{\mathcal K}\mathbf m)
            - K_u (\mathbf m\cdot\hat{\mathbf u})^2 - M_s\,\mathbf m\cdot\mathbf B
            - D\,(m_z \partial_x m_x - m_x \partial_x m_z),

    with the exchange operator diagonal in Fourier space (PS-LL,
    arXiv:2312.14068, exchange kernel from the dispersion):

    .. math::

        \widehat{\mathcal K\mathbf m}(k) = \mathcal K(k)\,\hat{\mathbf m}(k), \qquad
        \mathcal K(k) = \begin{cases}
            (2 - 2\cos ka)/a^2 & \text{``discrete'': the exact nearest-neighbour chain} \\
            k^2 & \text{``continuum'': the long-wavelength limit}
        \end{cases}

    For the discrete kernel the exchange energy equals
    :math:`(A/a)\sum_{\langle ij\rangle}|\mathbf m_i - \mathbf m_j|^2`, the
    Heisenberg chain.

Grid-independent kernel (a coarse grid of a fine lattice)
    The defining feature of PS-LL (arXiv:2312.14068): the kernel is the
    dispersion of the *material*, so its lattice constant :math:`a_L`
    (``lattice_constant``) need not be the grid spacing
    :math:`\Delta x` (``a``).  On a grid of N cells of size
    :math:`\Delta x \ge a_L` the state is the band-limited (coarse-grained)
    magnetisation of the lattice, its wavevectors are
    :math:`k_j = 2\pi j/(N\Delta x)` up to the grid's Nyquist wavevector
    :math:`\pi/\Delta x`, and every one of them gets the atomistic
    eigenvalue

    .. math::

        \mathcal K(k_j) = \frac{2 - 2\cos k_j a_L}{a_L^2}, \qquad
        \kappa(k_j) = \frac{\sin k_j a_L}{a_L},

    so each magnon the grid represents has the frequency of the atomistic
    chain (not the :math:`(2-2\cos k\Delta x)/\Delta x^2` of a
    nearest-neighbour chain of cells, nor the continuum :math:`k^2`), and
    the walls and textures smooth on the scale :math:`\Delta x` relax as on
    the lattice (both checked against the atomistic chain at
    :math:`\Delta x = 4a_L` to 1 %).  Energies sum densities times
    :math:`\Delta x`.  The largest kernel eigenvalue, and with it the RK4
    stability limit, is set by :math:`\pi/\Delta x`: a grid c times
    coarser takes about c times fewer sites and up to :math:`c^2` times
    longer steps.  Vacancies are missing sites of the lattice, so a chain
    with vacancies needs :math:`\Delta x = a_L` (the default,
    ``lattice_constant=None``).

Blocks (independent chains simulated together)
    ``blocks=R`` makes the N sites R independent periodic chains of N / R
    sites each, laid end to end (block b holds sites b N/R .. (b+1) N/R - 1;
    the kernels act within each block, the local terms on every site).  It
    is a batch: R vacancy realisations advance in one FFT call and one fused
    update per stage, so short chains do not pay the per-step overhead R
    times, and each block follows the trajectory it would follow alone (to
    rounding).  ``k`` is the wavevector grid of one block; energies are
    summed over the blocks.  Interfacial DMI follows the package's lattice
    convention :math:`-\mathbf D_{ij}\cdot(\mathbf S_i\times\mathbf S_j)`,
    :math:`\mathbf D_{ij} = D\,\hat z\times\hat r_{ij}` (D > 0 favours
    :math:`\theta' > 0` cycloids with :math:`m_x = \sin\theta`; the sign is
    opposite to mumax3's); :math:`\partial_x` is applied spectrally as
    multiplication by :math:`i\kappa(k)` with :math:`\kappa = \sin(ka)/a`
    (discrete: the central difference, exact for the lattice) or
    :math:`\kappa = k` (continuum), zero at the Nyquist wavevector.

Effective field :math:`\mathbf B_\mathrm{eff} = -\frac{1}{M_s a}\,\partial E/\partial \mathbf m_i` [T]
    .. math::

        \mathbf B_\mathrm{eff} = -\frac{2A}{M_s}\mathcal K\mathbf m
            + \frac{2K_u}{M_s}(\mathbf m\cdot\hat{\mathbf u})\hat{\mathbf u} + \mathbf B
            - \frac{2D}{M_s}(\partial_x m_z,\ 0,\ -\partial_x m_x).

Vacancies (two models, ``vacancy_model``)
    ``occupied`` (e.g. from :func:`mag_ml.physics.defects.telegraph_vacancies`)
    marks sites with a moment, :math:`s_i = 1`.

    ``"cut"`` (default; dynamics and dispersions)
        Vacant sites carry m = 0: the kernels act on the masked
        magnetisation and no field or torque is applied there.  With the
        discrete kernel a vacancy cuts the chain (the exact atomistic
        picture: spins next to a vacancy lose that neighbour); the continuum
        kernel is non-local in real space and couples across vacancies, with
        couplings of alternating sign.  In either case a domain wall costs
        (almost) no energy at a vacancy, so a free wall collapses into a
        step there.
    ``"bridged"`` (statics: domain walls)
        A vacancy removes the moment and with it the local energy densities
        (anisotropy and Zeeman terms are weighted by :math:`s_i`), but the
        direction field m continues through it and the exchange kernel acts
        on m at every site: the exchange stiffness of the surrounding
        material bridges the vacancy, as for a non-magnetic inclusion in a
        film or wire that the 1D chain is a line through.  The energy is

        .. math::

            E/a = \sum_i \left[A\,\mathbf m_i\cdot(\hat{\mathcal K}\mathbf m)_i
                  - s_i K_u (\mathbf m_i\cdot\hat{\mathbf u})^2 - s_i M_s\,\mathbf m_i\cdot\mathbf B
                  - D\,(\ldots)\right],

        so for vacancy runs much shorter than the wall the wall sees the
        diluted anisotropy :math:`pK_u`, :math:`p = \sigma/(\sigma+\tau)`,
        and its width tends to :math:`\sqrt{A/(pK_u)}` (tested).  Vacant
        sites have no moment and hence no precession: this model is for
        :meth:`PSLLChain.relax` (energy descent); :meth:`PSLLChain.evolve`
        refuses it.

Dynamics (Landau-Lifshitz-Gilbert, in Landau-Lifshitz form)
    .. math::

        \partial_t\mathbf m = -\frac{\gamma}{1+\alpha^2}\left[\mathbf m\times\mathbf B_\mathrm{eff}
            + \alpha\,\mathbf m\times(\mathbf m\times\mathbf B_\mathrm{eff})\right].

    Linear magnons of the defect-free chain magnetised along an easy axis
    :math:`\hat z` with B along z have
    :math:`\omega(k) = \gamma[B + 2K_u/M_s + (2A/M_s)\mathcal K(k)]`.

Time integration
    Classical fixed-step RK4 on the equation above, with every occupied
    spin renormalised to |m| = 1 after each step (the projection keeps the
    constraint exactly; its size before projection is reported).  Step
    control: the step is chosen from, and checked against, the RK4
    stability limit :math:`r(\alpha)/|\lambda_\max|`, where
    :math:`|\lambda_\max| = \omega_\max/\sqrt{1+\alpha^2}`,
    :math:`\omega_\max = \gamma[|B| + 2|K_u|/M_s + (2A/M_s)\max_k\mathcal K(k) + (2|D|/M_s)\max_k|\kappa|]`
    is the largest linear eigenfrequency (the largest kernel eigenvalue sets
    it) and :math:`r(\alpha)` the radius of the RK4 stability region along
    the eigenvalues' direction :math:`(-\alpha + i)` (2.83 for alpha = 0,
    2.79 for the pure damping used by :meth:`PSLLChain.relax`).  A larger
    step raises ``ValueError``.  RK4 is slightly dissipative for oscillations:
    a mode with :math:`\theta = \omega\,dt` keeps a fraction
    :math:`|R(i\theta)| \approx 1 - \theta^6/144` of its amplitude per step
    and has a relative frequency error :math:`\approx -\theta^4/120`.  The
    default step is therefore a tenth of the limit (:math:`\theta \le 0.28`
    at the band edge: amplitude loss 8e-5 per period, frequency error 5e-5);
    at a quarter of the limit the band-edge magnon would lose half its
    amplitude in about 90 periods (this biases spectral weights, not peak
    positions).  ``method="rk45"`` or ``"dop853"`` instead use scipy's
    adaptive ``solve_ivp`` with tolerances (step control by error
    estimates).

Relaxation
    :meth:`PSLLChain.relax` integrates the pure energy-descent flow
    :math:`\partial_t\mathbf m = -\gamma\,\mathbf m\times(\mathbf m\times\mathbf B_\mathrm{eff})`
    (LLG without precession) until the largest torque
    :math:`|\mathbf m\times\mathbf B_\mathrm{eff}|` drops below a tolerance.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numba
import numpy as np

from ..checks import check_int, check_memory, check_real

__all__ = ["GAMMA", "KERNELS", "VACANCY_MODELS", "DEFAULT_DT_FRACTION", "wavevectors", "exchange_kernel",
           "derivative_kernel", "rk4_stability_radius", "PSLLChain", "Trajectory", "RelaxResult", "RampResult",
           "uniform_state", "domain_wall_state", "site_positions", "check_chain"]

GAMMA = 1.760859e11
"""Gyromagnetic ratio of the electron used throughout, rad/(s T)."""
KERNELS = ("discrete", "continuum")
VACANCY_MODELS = ("cut", "bridged")
"""How vacancies enter :class:`PSLLChain` (module docstring, "Vacancies")."""
_ZERO3 = np.zeros(3)
_PS = 1e-12  # s per ps
_NM = 1e-9  # m per nm
_COMPONENTS = {"x": 0, "y": 1, "z": 2}
_CHAIN_BYTES_PER_SITE = 256  # kernels, the state and the RK4 work buffers of a PSLLChain (about 250 bytes a site)
DEFAULT_DT_FRACTION = 0.1
"""Default RK4 step of :meth:`PSLLChain.evolve` as a fraction of the stability limit."""


# ----------------------------------------------------------------------------- validation helpers


def _vector(value, name, *, unit=False):
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        value = (0.0, 0.0, float(value))
    v = np.asarray(value, dtype=np.float64)
    if v.shape != (3,) or not np.all(np.isfinite(v)):
        raise ValueError(f"{name} must be a finite scalar (along z) or a 3-vector, got {value!r}")
    if unit:
        norm = np.linalg.norm(v)
        if norm == 0:
            raise ValueError(f"{name} must be a non-zero 3-vector, got {value!r}")
        v = v / norm
    return v


def _check_sites(n, minimum, function, *, name="n", bytes_per_site=24):
    """The number of sites ``n`` as an int: an integer >= ``minimum`` whose arrays fit in memory."""
    n = check_int(n, name, minimum=minimum)
    check_memory(bytes_per_site * n, f"{function}(n={n})", hint=f"about {bytes_per_site} bytes per site")
    return n


def _check_step_count(duration, dt):
    if not math.isfinite(duration / dt):
        raise ValueError(f"duration / dt = {duration:g} ps / {dt:g} ps is not a finite number of steps; "
                         "use a larger dt")


def _kind(kernel):
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")
    return kernel


# ----------------------------------------------------------------------------- kernels
def site_positions(n, a):
    """Site centres of a chain, ``x_i = (i + 1/2) a``.

    Parameters
    ----------
    n : int
        Number of sites.
    a : float
        Lattice constant [nm].

    Returns
    -------
    ndarray, float64, shape (n,)
        Positions [nm] (the telegraph vacancies are sampled at these centres).
    """
    return (np.arange(int(n)) + 0.5) * float(a)


def wavevectors(n, a):
    """Non-negative wavevectors of the real FFT of a periodic chain.

    Parameters
    ----------
    n : int
        Number of sites N.
    a : float
        Lattice constant [nm].

    Returns
    -------
    ndarray, float64, shape (N // 2 + 1,)
        ``k_j = 2 pi j / (N a)`` in 1/nm, j = 0 .. N // 2 (the last is the
        Nyquist wavevector pi / a when N is even).
    """
    return 2 * np.pi * np.fft.rfftfreq(int(n), d=float(a))


def exchange_kernel(k, a, kind="discrete"):
    r"""Exchange kernel :math:`\mathcal K(k)` of the PS-LL equation, in 1/nm^2.

    The exchange field is :math:`-(2A/M_s)\,\mathcal K(k)\,\hat{\mathbf m}(k)`
    in Fourier space and the magnon dispersion
    :math:`\omega = \gamma[B + 2K/M_s + (2A/M_s)\mathcal K(k)]`.

    Parameters
    ----------
    k : float or array_like
        Wavevector [1/nm], any shape.
    a : float
        Lattice constant [nm], > 0.
    kind : {"discrete", "continuum"}
        ``"discrete"``: :math:`(2 - 2\cos ka)/a^2`, the exact nearest-neighbour
        chain (the 3-point Laplacian's eigenvalues); ``"continuum"``:
        :math:`k^2`, its long-wavelength limit.

    Returns
    -------
    ndarray, float64, shape of ``k``

    Raises
    ------
    ValueError
        Unknown ``kind`` or non-positive ``a``.

    Notes
    -----
    Source: Rockwell, Hirst, Ostler & Iacocca, arXiv:2312.14068, the PS-LL
    exchange operator built from the dispersion relation (atomistic and
    continuum limits).
    """
    _kind(kind)
    a = check_real(a, "a", positive=True)
    k = np.asarray(k, dtype=np.float64)
    if kind == "continuum":
        return k * k
    return 4.0 * np.sin(0.5 * k * a) ** 2 / (a * a)  # = (2 - 2 cos ka) / a^2, without cancellation


def derivative_kernel(k, a, kind="discrete"):
    r"""Symbol :math:`\kappa(k)` of the first derivative used for DMI, in 1/nm.

    :math:`\partial_x \leftrightarrow i\kappa(k)` with
    :math:`\kappa = \sin(ka)/a` (discrete: the central difference, exact for
    the lattice DMI bond sum) or :math:`\kappa = k` (continuum).

    Parameters
    ----------
    k : float or array_like
        Wavevector [1/nm], any shape.
    a : float
        Lattice constant [nm], > 0.
    kind : {"discrete", "continuum"}

    Returns
    -------
    ndarray, float64, shape of ``k``

    Raises
    ------
    ValueError
        Unknown ``kind`` or non-positive ``a``.
    """
    _kind(kind)
    a = check_real(a, "a", positive=True)
    k = np.asarray(k, dtype=np.float64)
    return k.copy() if kind == "continuum" else np.sin(k * a) / a


def _rk4_amplification(z):
    return 1 + z + z * z / 2 + z ** 3 / 6 + z ** 4 / 24


@functools.lru_cache(maxsize=64)
def rk4_stability_radius(alpha, precession=True):
    r"""Radius of the RK4 stability region along the direction of the LLG eigenvalues.

    Linear spin waves of the LLG equation decay and rotate with
    eigenvalues :math:`\lambda = \omega(-\alpha + i)/(1+\alpha^2)`; RK4 is
    stable while :math:`|R(\lambda\,dt)| \le 1`,
    :math:`R(z) = 1 + z + z^2/2 + z^3/6 + z^4/24`.  This returns the largest
    r with :math:`|R(r e^{i\varphi})| \le 1` on the ray
    :math:`\varphi = \arg(-\alpha + i)` (or :math:`\varphi = \pi` for the pure
    damping flow, ``precession=False``).

    Parameters
    ----------
    alpha : float
        Gilbert damping, >= 0.
    precession : bool
        False for the precession-free energy-descent flow of relaxation.

    Returns
    -------
    float
        2 sqrt(2) = 2.828 for alpha = 0, 2.785 for the negative real axis.
    """
    phi = math.pi if not precession else math.atan2(1.0, -float(alpha))
    d = complex(math.cos(phi), math.sin(phi))
    grid = np.linspace(1e-3, 4.0, 4000)
    bad = np.abs(_rk4_amplification(grid * d)) > 1 + 1e-13
    first = int(np.argmax(bad)) if bad.any() else len(grid) - 1
    lo, hi = grid[max(first - 1, 0)], grid[first]
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if abs(_rk4_amplification(mid * d)) > 1 + 1e-13:
            hi = mid
        else:
            lo = mid
    return float(lo)


# ----------------------------------------------------------------------------- states
def uniform_state(n, direction=(0.0, 0.0, 1.0)):
    """Uniform magnetisation along ``direction``.

    Parameters
    ----------
    n : int
        Number of sites, >= 1.
    direction : 3-vector or float
        Direction (normalised here); a scalar means +z or -z by its sign.

    Returns
    -------
    ndarray, float64, shape (3, n)

    Raises
    ------
    ValueError
        ``n`` < 1 or a zero / non-finite direction.
    """
    n = _check_sites(n, 1, "uniform_state")
    u = _vector(direction, "direction", unit=True)
    return np.repeat(u[:, None], n, axis=1)


def domain_wall_state(n, a, width, *, kind="neel", chirality=1, centres=None):
    r"""Two 180-degree walls on a periodic chain (one wall cannot be periodic).

    The polar angle winds by :math:`2\pi` along the chain,
    :math:`\theta(x) = \sum_j 2\arctan e^{(x - x_j)/w}`, so that the outer
    domains point along +z and the middle one along -z, and each wall has
    :math:`m_z = \mp\tanh((x - x_j)/w)`.  Neel walls rotate in the x-z plane
    (:math:`m_x = c\sin\theta`), Bloch walls in the y-z plane
    (:math:`m_y = c\sin\theta`), c = ``chirality``; both walls have the same
    chirality (the one interfacial DMI with D > 0 favours for Neel walls
    with c = +1 in this package's convention).

    Parameters
    ----------
    n : int
        Number of sites, >= 4.
    a : float
        Lattice constant [nm], > 0.
    width : float
        Wall width w [nm], > 0 (sqrt(A/K) is the continuum equilibrium).
    kind : {"neel", "bloch"}
    chirality : {+1, -1}
    centres : (float, float), optional
        Wall centres [nm]; default N a / 4 and 3 N a / 4.

    Returns
    -------
    ndarray, float64, shape (3, n)
        Unit vectors.

    Raises
    ------
    ValueError
        Bad ``n``, ``a``, ``width``, ``kind`` or ``chirality``.
    """
    n = _check_sites(n, 4, "domain_wall_state", bytes_per_site=64)
    a = check_real(a, "a", positive=True)
    width = check_real(width, "width", positive=True)
    if kind not in ("neel", "bloch"):
        raise ValueError(f"kind must be 'neel' or 'bloch', got {kind!r}")
    if chirality not in (1, -1):
        raise ValueError(f"chirality must be +1 or -1, got {chirality!r}")
    length = n * a
    x1, x2 = centres if centres is not None else (length / 4, 3 * length / 4)
    x = site_positions(n, a)
    # theta runs from ~0 to ~2 pi; at the periodic seam it jumps by the walls' tails, ~exp(-x1 / w)
    theta = 2 * np.arctan(np.exp((x - x1) / width)) + 2 * np.arctan(np.exp((x - x2) / width))
    m = np.zeros((3, n))
    m[0 if kind == "neel" else 1] = chirality * np.sin(theta)
    m[2] = np.cos(theta)
    return m


# ----------------------------------------------------------------------------- results
@dataclass
class Trajectory:
    """Output of :meth:`PSLLChain.evolve`.

    Attributes
    ----------
    t : ndarray, float64, shape (n_t,)
        Sample times [ps], starting at 0.
    samples : ndarray, float64, shape (n_t, n_c, N)
        Recorded components (``components``) of m at the sample times; zero
        at vacant sites.
    components : str
        Which components were recorded, e.g. ``"x"`` or ``"xyz"``.
    m : ndarray, float64, shape (3, N)
        Final state.
    dt : float
        Time step used [ps] (RK4), or the mean accepted step (RK45).
    steps : int
        Number of steps taken.
    energy : ndarray, float64, shape (n_t,) or None
        Energy per unit area [J/m^2] at the sample times if requested.
    max_norm_error : float
        Largest ``| |m| - 1 |`` over occupied sites before renormalisation.
    """

    t: np.ndarray
    samples: np.ndarray
    components: str
    m: np.ndarray
    dt: float
    steps: int
    energy: np.ndarray | None
    max_norm_error: float


@dataclass
class RelaxResult:
    """Output of :meth:`PSLLChain.relax`.

    Attributes
    ----------
    m : ndarray, float64, shape (3, N)
        Relaxed state (zero at vacant sites).
    converged : bool
        Whether the largest torque fell below ``torque_tol``.
    steps : int
        Number of RK4 steps taken.
    max_torque : float
        Largest ``|m x B_eff|`` over the active sites at the end [T].
    energy : float
        Energy per unit area at the end [J/m^2].
    """

    m: np.ndarray
    converged: bool
    steps: int
    max_torque: float
    energy: float


@dataclass
class RampResult:
    """Output of :meth:`PSLLChain.ramp`.

    Attributes
    ----------
    m : ndarray, float64, shape (3, N)
        State at the end.
    t : float
        Time at the end [ps].
    b : float
        Ramped field at the end [T] (``rate * t``).
    steps : int
        RK4 steps taken.
    dt : float
        Step [ps].
    stopped : bool
        Whether ``stop`` ended the ramp (else the field reached ``b_max``).
    """

    m: np.ndarray
    t: float
    b: float
    steps: int
    dt: float
    stopped: bool


# ----------------------------------------------------------------------------- the solver
def _cross(a, b):
    return np.stack((a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]))


@numba.njit(cache=True)
def _llg_rhs(m, bs, u, c_an, bext, c1, c2, out):  # pragma: no cover - compiled
    """out = c1 m x B + c2 m x (m x B), B = bs + c_an (u.m) u + bext, fused over sites."""
    for i in range(m.shape[1]):
        mx, my, mz = m[0, i], m[1, i], m[2, i]
        p = c_an * (u[0] * mx + u[1] * my + u[2] * mz)
        bx = bs[0, i] + p * u[0] + bext[0]
        by = bs[1, i] + p * u[1] + bext[1]
        bz = bs[2, i] + p * u[2] + bext[2]
        tx = my * bz - mz * by
        ty = mz * bx - mx * bz
        tz = mx * by - my * bx
        out[0, i] = c1 * tx + c2 * (my * tz - mz * ty)
        out[1, i] = c1 * ty + c2 * (mz * tx - mx * tz)
        out[2, i] = c1 * tz + c2 * (mx * ty - my * tx)


@numba.njit(cache=True)
def _axpy(m, h, k, out):  # pragma: no cover - compiled
    """out = m + h k."""
    for c in range(3):
        for i in range(m.shape[1]):
            out[c, i] = m[c, i] + h * k[c, i]


@numba.njit(cache=True)
def _rk4_combine(m, h, k1, k2, k3, k4, occupied, out):  # pragma: no cover - compiled
    """out = normalise(m + h (k1 + 2 k2 + 2 k3 + k4)) on occupied sites; returns max | |m| - 1 | before."""
    err = 0.0
    for i in range(m.shape[1]):
        x = m[0, i] + h * (k1[0, i] + 2.0 * (k2[0, i] + k3[0, i]) + k4[0, i])
        y = m[1, i] + h * (k1[1, i] + 2.0 * (k2[1, i] + k3[1, i]) + k4[1, i])
        z = m[2, i] + h * (k1[2, i] + 2.0 * (k2[2, i] + k3[2, i]) + k4[2, i])
        if occupied[i]:
            r = np.sqrt(x * x + y * y + z * z)
            err = max(err, abs(r - 1.0))
            x /= r
            y /= r
            z /= r
        out[0, i] = x
        out[1, i] = y
        out[2, i] = z
    return err


class PSLLChain:
    r"""A periodic chain of unit spins with PS-LL exchange, anisotropy, field, DMI and vacancies.

    Parameters
    ----------
    n : int
        Number of sites N >= 2.
    a : float
        Grid spacing [nm], > 0: the site (cell) size; the lattice constant
        too unless ``lattice_constant`` is given.
    A_ex : float
        Exchange stiffness [J/m], >= 0.
    M_s : float
        Saturation magnetisation [A/m], > 0.
    K_u : float
        Uniaxial anisotropy [J/m^3] along ``axis`` (> 0 easy axis).
    B : float or 3-vector
        Applied field [T]; a scalar is along +z.
    D : float
        Interfacial DMI [J/m^2] (module docstring for the sign convention).
    alpha : float
        Gilbert damping, >= 0.
    axis : 3-vector
        Anisotropy axis (normalised), default z.
    kernel : {"discrete", "continuum"}
        Exchange (and DMI derivative) kernel: exact nearest-neighbour chain
        or the continuum k^2 limit.
    occupied : array_like of bool, shape (N,), optional
        Occupied sites (default: all); vacant sites carry no moment.
    vacancy_model : {"cut", "bridged"}
        How vacancies enter (module docstring): ``"cut"`` (m = 0 on vacant
        sites; default) or ``"bridged"`` (no anisotropy or Zeeman energy on
        vacant sites, exchange acting through them; statics only).
    gamma : float
        Gyromagnetic ratio [rad/(s T)], > 0; default :data:`GAMMA`.
    blocks : int
        Number R of independent periodic chains the N sites form (module
        docstring, "Blocks"), >= 1 and dividing N with at least 2 sites a
        block; default 1 (one chain).
    lattice_constant : float, optional
        Physical lattice constant a_L [nm] of the discrete kernel,
        0 < a_L <= ``a`` (module docstring, "Grid-independent kernel");
        default ``a`` (the atomistic chain, one site per grid point).  The
        continuum kernel does not depend on it.

    Raises
    ------
    ValueError
        Any parameter outside the ranges above (message names it), an
        ``occupied`` mask of the wrong shape or with no occupied site, or
        vacancies on a grid coarser than the lattice (``a`` >
        ``lattice_constant``).
    TooLargeError
        ``n`` so large that the chain's arrays (about 256 bytes per site)
        would not fit in this machine's memory.

    Notes
    -----
    Sources: the PS-LL equation of Rockwell, Hirst, Ostler & Iacocca,
    arXiv:2312.14068 (exchange as a Fourier-space kernel from the magnon
    dispersion); vacancies as in Eagan, Copus & Iacocca, arXiv:2603.10182.
    The equations are in the module docstring.

    Attributes ``k`` (rfft wavevectors, 1/nm), ``x`` (site centres, nm),
    ``active`` (bool (N,), sites carrying a unit vector: the occupied ones,
    or all for bridged vacancies),
    ``c_ex`` = 2A/M_s [T nm^2], ``c_an`` = 2K_u/M_s [T], ``c_dmi`` = 2D/M_s
    [T nm] and ``gamma_ps`` [rad/(ps T)] are derived from the parameters.
    The step fuses the local terms in numba kernels and uses NumPy's FFT
    with preallocated buffers held by the instance, so one instance must not
    be stepped from two threads at once (processes are fine).

    Examples
    --------
    >>> chain = PSLLChain(256, 0.5, A_ex=1e-11, M_s=1e6, K_u=5e5, B=0.1)
    >>> m = uniform_state(256)
    >>> float(chain.max_torque(m))
    0.0
    """

    def __init__(self, n, a, A_ex, M_s, *, K_u=0.0, B=0.0, D=0.0, alpha=0.0, axis=(0.0, 0.0, 1.0),
                 kernel="discrete", occupied=None, vacancy_model="cut", gamma=GAMMA, lattice_constant=None, blocks=1):
        self.n = _check_sites(n, 2, "PSLLChain", name="n (number of sites)", bytes_per_site=_CHAIN_BYTES_PER_SITE)
        self.blocks = check_int(blocks, "blocks", minimum=1)
        if self.n % self.blocks or self.n // self.blocks < 2:
            raise ValueError(f"blocks must divide n = {self.n} into chains of at least 2 sites, got {blocks!r}")
        self.n_block = self.n // self.blocks
        self.a = check_real(a, "a", positive=True)
        self.lattice_constant = self.a if lattice_constant is None else check_real(
            lattice_constant, "lattice_constant", positive=True)
        if self.lattice_constant > self.a * (1 + 1e-12):
            raise ValueError(f"lattice_constant must be <= the grid spacing a = {self.a:g} nm (a grid finer than the "
                             f"lattice resolves nothing more), got {self.lattice_constant!r}")
        self.A_ex = check_real(A_ex, "A_ex", nonneg=True)
        self.M_s = check_real(M_s, "M_s", positive=True)
        self.K_u = check_real(K_u, "K_u")
        self.B = _vector(B, "B")
        self.D = check_real(D, "D")
        self.alpha = check_real(alpha, "alpha", nonneg=True)
        self.axis = _vector(axis, "axis", unit=True)
        self.kernel = _kind(kernel)
        self.gamma = check_real(gamma, "gamma", positive=True)
        if occupied is None:
            occ = np.ones(self.n, dtype=bool)
        else:
            occ = np.asarray(occupied)
            if occ.shape != (self.n,) or occ.dtype != bool:
                raise ValueError(f"occupied must be a bool array of shape ({self.n},), got dtype {occ.dtype} "
                                 f"and shape {occ.shape}")
            if not occ.any():
                raise ValueError("occupied must mark at least one occupied site, got none")
            occ = occ.copy()
            if not occ.all() and self.lattice_constant != self.a:
                raise ValueError(f"vacancies are missing lattice sites: a chain with vacancies needs the grid "
                                 f"spacing a = lattice_constant, got a={self.a:g} nm, "
                                 f"lattice_constant={self.lattice_constant:g} nm")
        if vacancy_model not in VACANCY_MODELS:
            raise ValueError(f"vacancy_model must be one of {VACANCY_MODELS}, got {vacancy_model!r}")
        self.vacancy_model = vacancy_model
        self.occupied = occ
        self._all_occupied = bool(occ.all())
        bridged = vacancy_model == "bridged" and not self._all_occupied
        # sites integrated as unit spins, and the weight of the local (anisotropy, Zeeman) energy per site
        self._active = np.ones(self.n, dtype=bool) if bridged else occ
        self._weight = occ.astype(np.float64)[None, :] if bridged else None
        # prefactors: fields in T with lengths in nm; gamma in rad/(ps T)
        self.k = wavevectors(self.n_block, self.a)  # of one block
        self.c_ex = 2 * self.A_ex / self.M_s / _NM ** 2  # T nm^2
        self.c_dmi = 2 * self.D / self.M_s / _NM  # T nm
        self.c_an = 2 * self.K_u / self.M_s  # T
        self.gamma_ps = self.gamma * _PS  # rad/(ps T)
        self._kex = exchange_kernel(self.k, self.lattice_constant, self.kernel)  # grid k, the lattice's kernel
        kd = derivative_kernel(self.k, self.lattice_constant, self.kernel)
        if self.n_block % 2 == 0:
            kd[-1] = 0.0  # the Nyquist mode has no odd (derivative) part on a real grid
        self._ikd = 1j * kd
        self._cex_kernel = -self.c_ex * self._kex  # exchange field per Fourier mode, T
        self._dmi_kernel = self.c_dmi * self._ikd  # DMI: B_x -= c_dmi d/dx m_z, B_z += c_dmi d/dx m_x
        self._occ_u8 = self._active.view(np.uint8)
        self._ws = None  # work buffers of the RK4 step, allocated on first use (an instance is not thread-safe)

    # -- construction helpers
    def _init_kwargs(self):
        return dict(n=self.n, a=self.a, A_ex=self.A_ex, M_s=self.M_s, K_u=self.K_u, B=self.B.copy(), D=self.D,
                    alpha=self.alpha, axis=self.axis.copy(), kernel=self.kernel,
                    occupied=None if self._all_occupied else self.occupied.copy(),
                    vacancy_model=self.vacancy_model, gamma=self.gamma,
                    lattice_constant=None if self.lattice_constant == self.a else self.lattice_constant,
                    blocks=self.blocks)

    def replace(self, **changes):
        """A copy with some constructor arguments changed.

        Parameters
        ----------
        **changes
            Constructor arguments, e.g. ``occupied=mask`` (bool, shape (N,))
            for a vacancy realisation or ``alpha=0.5``.

        Returns
        -------
        PSLLChain

        Raises
        ------
        ValueError
            Unknown names, or values the constructor rejects.
        """
        kw = self._init_kwargs()
        unknown = set(changes) - set(kw)
        if unknown:
            raise ValueError(f"unknown parameters {sorted(unknown)}; allowed: {sorted(kw)}")
        kw.update(changes)
        return PSLLChain(**kw)

    def __repr__(self):
        lat = "" if self.lattice_constant == self.a else f", lattice_constant={self.lattice_constant:g} nm"
        lat += "" if self.blocks == 1 else f", blocks={self.blocks}"
        vac = "" if self._all_occupied else f", vacancies={int((~self.occupied).sum())} ({self.vacancy_model})"
        return (f"PSLLChain(n={self.n}, a={self.a:g} nm, A_ex={self.A_ex:g} J/m, M_s={self.M_s:g} A/m, "
                f"K_u={self.K_u:g} J/m^3, B={self.B.tolist()} T, D={self.D:g} J/m^2, alpha={self.alpha:g}, "
                f"kernel={self.kernel!r}{lat}{vac})")

    @property
    def active(self):
        """Sites integrated as unit vectors, bool (N,): ``occupied`` ("cut"), or all sites ("bridged")."""
        return self._active

    @property
    def x(self):
        """Site centres [nm], float64, shape (N,)."""
        return site_positions(self.n, self.a)

    # -- validation
    def check_state(self, m, name="m"):
        """Validate a state; return a float64 copy with zeros on vacant sites.

        Parameters
        ----------
        m : array_like, shape (3, N)
            Unit vectors on the :attr:`active` sites (occupied ones, or all
            for bridged vacancies); values elsewhere are ignored and set to
            zero.
        name : str
            Argument name for error messages.

        Returns
        -------
        ndarray, float64, shape (3, N)

        Raises
        ------
        ValueError
            Wrong shape, NaN/inf, or ``| |m| - 1 | > 1e-6`` on an occupied site.
        """
        m = np.array(m, dtype=np.float64)
        if m.shape != (3, self.n):
            raise ValueError(f"{name} must have shape (3, {self.n}) (components first), got {m.shape}")
        if not np.all(np.isfinite(m)):
            raise ValueError(f"{name} must be finite, got NaN or inf values")
        m[:, ~self._active] = 0.0
        err = np.abs(np.sqrt((m[:, self._active] ** 2).sum(0)) - 1.0)
        if err.size and err.max() > 1e-6:
            i = int(np.flatnonzero(self._active)[np.argmax(err)])
            raise ValueError(f"{name} must hold unit vectors on occupied sites; |m| - 1 = "
                             f"{err.max():.3g} at site {i}")
        return m

    # -- physics
    def _workspace(self):
        if self._ws is None:
            n = self.n
            self._ws = dict(mh=np.empty((3, self.blocks, self.n_block // 2 + 1), dtype=np.complex128),
                            b=np.empty((3, n)),
                            ks=[np.empty((3, n)) for _ in range(4)], stage=np.empty((3, n)))
        return self._ws

    def _spectral_field(self, m, out=None):
        """Exchange (and DMI) field [T] of a masked state, from the Fourier-space kernels (no validation).

        ``out``: optional (3, N) float64 buffer for the result.
        """
        mh = self._workspace()["mh"]
        np.fft.rfft(m.reshape(3, self.blocks, self.n_block), axis=-1, out=mh)
        if self.D != 0.0:
            dx, dz = self._dmi_kernel * mh[0], self._dmi_kernel * mh[2]
        mh *= self._cex_kernel
        if self.D != 0.0:
            mh[0] -= dz
            mh[2] += dx
        out = np.empty((3, self.n)) if out is None else out
        np.fft.irfft(mh, n=self.n_block, axis=-1, out=out.reshape(3, self.blocks, self.n_block))
        return out

    def _field(self, m):
        """Effective field [T] of a masked state (no validation); nonzero on vacant sites too."""
        b = self._spectral_field(m)
        if self._weight is not None:
            return self._add_weighted_local_field(m, b)
        if self.K_u != 0.0:
            b += (self.c_an * (self.axis @ m)) * self.axis[:, None]
        b += self.B[:, None]
        return b

    def _add_weighted_local_field(self, m, b):
        """b += s_i [c_an (u.m) u + B]: anisotropy and Zeeman fields on occupied sites only (bridged model)."""
        local = (self.c_an * (self.axis @ m)) * self.axis[:, None] + self.B[:, None]
        b += local * self._weight
        return b

    def field(self, m):
        """Effective field :math:`\\mathbf B_\\mathrm{eff}` (module docstring), in T.

        Parameters
        ----------
        m : array_like, float64, shape (3, N)
            Unit vectors on occupied sites.

        Returns
        -------
        ndarray, float64, shape (3, N)
            Zero on vacant sites.

        Raises
        ------
        ValueError
            Bad state (see :meth:`check_state`).
        """
        b = self._field(self.check_state(m))
        b[:, ~self._active] = 0.0
        return b

    def energy(self, m):
        """Energy per unit cross-sectional area of the chain, in J/m^2.

        Sum over sites of the energy density (module docstring) times a.
        Cut vacancies (m = 0) contribute nothing, and with the discrete
        kernel each bond to one adds the constant A/a (the self term of the
        kernel); bridged vacancies contribute their exchange energy only.

        Parameters
        ----------
        m : array_like, float64, shape (3, N)
            Unit vectors on the :attr:`active` sites.

        Returns
        -------
        float

        Raises
        ------
        ValueError
            Bad state (see :meth:`check_state`).

        Notes
        -----
        ``field(m) = -(1 / (M_s a)) dE/dm`` (checked by the tests).
        """
        return self._energy(self.check_state(m))

    def _energy(self, m):
        mh = np.fft.rfft(m.reshape(3, self.blocks, self.n_block), axis=-1)
        km = np.fft.irfft(mh * self._kex, n=self.n_block, axis=-1).reshape(3, self.n)
        e = self.A_ex / _NM ** 2 * float((m * km).sum())
        w = 1.0 if self._weight is None else self._weight[0]
        if self.K_u != 0.0:
            e -= self.K_u * float((w * (self.axis @ m) ** 2).sum())
        e -= self.M_s * float((w * (self.B @ m)).sum())
        if self.D != 0.0:
            dm = np.fft.irfft(mh[[0, 2]] * self._ikd, n=self.n_block, axis=-1).reshape(2, self.n)
            e -= self.D / _NM * float((m[2] * dm[0] - m[0] * dm[1]).sum())
        return e * self.a * _NM

    def max_torque(self, m):
        """Largest ``|m x B_eff|`` over the :attr:`active` sites, in T (0 at equilibrium).

        Parameters
        ----------
        m : array_like, float64, shape (3, N)

        Returns
        -------
        float

        Raises
        ------
        ValueError
            Bad state (see :meth:`check_state`).
        """
        m = self.check_state(m)
        return float(np.sqrt((_cross(m, self._field(m)) ** 2).sum(0)).max())

    def max_frequency(self):
        """Largest linear eigenfrequency omega_max of the chain, rad/ps (module docstring).

        Returns
        -------
        float
            ``gamma [|B| + 2|K_u|/M_s + (2A/M_s) max K(k) + (2|D|/M_s) max |kappa(k)|]``.
        """
        b = (np.linalg.norm(self.B) + abs(self.c_an) + self.c_ex * float(self._kex.max())
             + abs(self.c_dmi) * float(np.abs(self._ikd).max()))
        return self.gamma_ps * b

    def stable_dt(self, precession=True):
        """RK4 stability limit of the time step, in ps.

        Parameters
        ----------
        precession : bool
            True for the LLG equation (eigenvalues along ``-alpha + i``),
            False for the pure-damping relaxation flow (negative real axis).

        Returns
        -------
        float
            ``r / |lambda_max|`` (module docstring); inf for a field-free
            chain with no interactions.
        """
        w = self.max_frequency()
        if w == 0:
            return math.inf
        lam = w / math.sqrt(1 + self.alpha ** 2) if precession else w
        return rk4_stability_radius(self.alpha if precession else 0.0, precession) / lam

    def _check_dt(self, dt, precession=True):
        limit = self.stable_dt(precession)
        dt = check_real(dt, "dt", positive=True)
        if dt > limit:
            raise ValueError(
                f"dt = {dt:.4g} ps is above the RK4 stability limit {limit:.4g} ps of this chain (largest "
                f"eigenfrequency {self.max_frequency():.4g} rad/ps, set by the largest exchange-kernel "
                f"eigenvalue {float(self._kex.max()):.4g} nm^-2); use dt <= {limit:.4g} ps")
        return dt

    def rhs(self, m, *, precession=True):
        """Time derivative dm/dt of the LLG equation (or the pure damping flow), in 1/ps.

        Parameters
        ----------
        m : array_like, float64, shape (3, N)
        precession : bool
            False drops the precession term and uses unit mobility,
            ``dm/dt = -gamma m x (m x B_eff)`` (the relaxation flow).

        Returns
        -------
        ndarray, float64, shape (3, N)
            Zero on vacant sites.

        Raises
        ------
        ValueError
            Bad state (see :meth:`check_state`).
        """
        return self._rhs(self.check_state(m), precession)

    def _coefficients(self, precession):
        if precession:
            c1 = -self.gamma_ps / (1 + self.alpha ** 2)
            return c1, c1 * self.alpha
        return 0.0, -self.gamma_ps

    def _rhs(self, m, precession=True, out=None):
        out = np.empty_like(m) if out is None else out
        c1, c2 = self._coefficients(precession)
        b = self._spectral_field(m, out=self._workspace()["b"])
        if self._weight is None:
            _llg_rhs(m, b, self.axis, self.c_an, self.B, c1, c2, out)
        else:
            _llg_rhs(m, self._add_weighted_local_field(m, b), self.axis, 0.0, _ZERO3, c1, c2, out)
        return out

    def step(self, m, dt, *, precession=True, free=None):
        """One RK4 step followed by renormalisation (no validation; for loops).

        Parameters
        ----------
        m : ndarray, float64, shape (3, N)
            Masked unit state (as returned by :meth:`check_state`).
        dt : float
            Step [ps].
        precession : bool
            See :meth:`rhs`.
        free : ndarray of float64, shape (N,), optional
            Multiplies dm/dt (0 holds a site fixed).

        Returns
        -------
        (ndarray, float)
            New state (3, N) and ``max | |m| - 1 |`` before renormalisation
            (RK4's own error, O(dt^5) per step).
        """
        new = np.empty_like(m)
        return new, self._step_into(m, dt, new, precession, free)

    def _step_into(self, m, dt, out, precession=True, free=None):
        ws = self._workspace()
        ks, stage = ws["ks"], ws["stage"]
        for j, h in enumerate((0.5 * dt, 0.5 * dt, dt, None)):
            self._rhs(m if j == 0 else stage, precession, out=ks[j])
            if free is not None:
                ks[j] *= free
            if h is not None:
                _axpy(m, h, ks[j], stage)
        return float(_rk4_combine(m, dt / 6.0, ks[0], ks[1], ks[2], ks[3], self._occ_u8, out))

    def evolve(self, m0, duration, *, dt=None, sample_every=1, components="xyz", track_energy=False,
               method="rk4", rtol=1e-8, atol=1e-10):
        """Integrate the LLG equation for ``duration`` ps.

        Parameters
        ----------
        m0 : array_like, float64, shape (3, N)
            Initial unit vectors (vacant sites ignored).
        duration : float
            Total time [ps], > 0.
        dt : float, optional
            RK4 step [ps]; default a tenth of :meth:`stable_dt` (module
            docstring: accuracy).  The step actually used is
            ``duration / ceil(duration / dt)``.  For ``"rk45"``/``"dop853"``,
            the largest step allowed (default: the stability limit) and
            ``sample_every * dt`` sets the output interval.
        sample_every : int
            Record every that many steps (RK4) ; for RK45 the samples are
            at multiples of ``sample_every * dt``.  The first sample is t = 0.
        components : str
            Components to record, a non-empty subset of ``"xyz"`` in any
            order, e.g. ``"x"`` for a dispersion.
        track_energy : bool
            Also record :meth:`energy` at the sample times.
        method : {"rk4", "rk45", "dop853"}
            Fixed-step RK4 with renormalisation after every step (default),
            or ``scipy.integrate.solve_ivp`` with method ``"RK45"`` or
            ``"DOP853"``, ``rtol`` and ``atol`` (adaptive step control;
            renormalised at the samples only).

        Returns
        -------
        Trajectory

        Raises
        ------
        ValueError
            Bad state, non-positive ``duration``, a ``dt`` above the RK4
            stability limit (the message gives the limit), bad
            ``sample_every``, ``components`` or ``method``, or a chain with
            bridged vacancies (a static model).
        TooLargeError
            The recorded trajectory (samples x components x sites) would not
            fit in this machine's memory; checked before anything is
            allocated (a long run with a large ``sample_every`` is fine).

        Notes
        -----
        Source: the PS-LL equation, arXiv:2312.14068 (module docstring).
        """
        if self._weight is not None:
            raise ValueError("evolve needs vacancy_model='cut': bridged vacancies carry no moment, so they have no "
                             "precession dynamics (use relax for statics)")
        m = self.check_state(m0, "m0")
        duration = check_real(duration, "duration", positive=True)
        sample_every = check_int(sample_every, "sample_every", minimum=1)
        if (not isinstance(components, str) or not components or len(set(components)) != len(components)
                or not set(components) <= set("xyz")):
            raise ValueError(f"components must be a non-empty subset of 'xyz', got {components!r}")
        comp = [_COMPONENTS[c] for c in components]
        if method not in ("rk4", "rk45", "dop853"):
            raise ValueError(f"method must be 'rk4', 'rk45' or 'dop853', got {method!r}")
        if method != "rk4":
            return self._evolve_ivp(m, duration, dt, sample_every, components, comp, track_energy, rtol, atol,
                                    method.upper())
        dt = self._check_dt(DEFAULT_DT_FRACTION * self.stable_dt() if dt is None else dt)
        _check_step_count(duration, dt)
        n_steps = max(1, math.ceil(duration / dt - 1e-9))
        dt = duration / n_steps
        n_samples = n_steps // sample_every + 1
        self._check_trajectory_memory(n_samples, 8 * (len(comp) * self.n + 1 + bool(track_energy)), duration, dt,
                                      sample_every)
        samples = np.empty((n_samples, len(comp), self.n))
        energy = np.empty(n_samples) if track_energy else None
        samples[0] = m[comp]
        if track_energy:
            energy[0] = self._energy(m)
        worst = 0.0
        j = 1
        spare = np.empty_like(m)
        for s in range(1, n_steps + 1):
            err = self._step_into(m, dt, spare)
            m, spare = spare, m
            worst = max(worst, err)
            if s % sample_every == 0:
                samples[j] = m[comp]
                if track_energy:
                    energy[j] = self._energy(m)
                j += 1
        t = np.arange(n_samples) * (sample_every * dt)
        return Trajectory(t=t, samples=samples, components=components, m=m, dt=dt, steps=n_steps,
                          energy=energy, max_norm_error=worst)

    def _check_trajectory_memory(self, n_samples, bytes_per_sample, duration, dt, sample_every):
        """Refuse, before allocating, a trajectory that would not fit in memory."""
        check_memory(n_samples * bytes_per_sample,
                     f"evolve(duration={duration:g} ps) with dt = {dt:.3g} ps and sample_every={sample_every} "
                     f"({n_samples:.3g} samples of {self.n} sites)",
                     hint="record fewer samples (a larger sample_every, fewer components) or a shorter duration")

    def _evolve_ivp(self, m, duration, dt, sample_every, components, comp, track_energy, rtol, atol, method):
        from scipy.integrate import solve_ivp

        max_step = self.stable_dt() if dt is None else self._check_dt(dt)
        out_dt = sample_every * (DEFAULT_DT_FRACTION * self.stable_dt() if dt is None else dt)
        _check_step_count(duration, out_dt)
        n_samples = int(math.floor(duration / out_dt + 1e-9)) + 1
        # solve_ivp's solution (3N a sample), its renormalised copies and the norms: about 10 N floats a sample
        self._check_trajectory_memory(n_samples, 8 * (10 * self.n + 2), duration, out_dt / sample_every, sample_every)
        t_eval = np.arange(n_samples) * out_dt
        extra = not np.isclose(t_eval[-1], duration, rtol=1e-12, atol=0.0)
        if extra:  # also evaluate at the end, for the final state
            t_eval = np.append(t_eval, duration)
        occ = self._active

        def fun(_t, y):
            return self._rhs(y.reshape(3, self.n) * occ).ravel()  # vacancies stay at zero

        sol = solve_ivp(fun, (0.0, duration), m.ravel(), method=method, t_eval=t_eval, rtol=rtol, atol=atol,
                        max_step=max_step)
        if not sol.success:  # pragma: no cover - solve_ivp failures are rare here
            raise RuntimeError(f"solve_ivp failed: {sol.message}")
        ms = sol.y.T.reshape(-1, 3, self.n) * occ
        norms = np.sqrt((ms ** 2).sum(1))
        worst = float(np.abs(norms[:, occ] - 1).max())
        norms[:, ~occ] = 1.0
        ms = ms / norms[:, None, :]
        final = ms[-1].copy()
        if extra:
            ms = ms[:-1]
        energy = np.array([self._energy(x) for x in ms]) if track_energy else None
        steps = max(int(sol.nfev // (6 if method == "RK45" else 12)), 1)
        return Trajectory(t=t_eval[:n_samples], samples=ms[:, comp].copy(), components=components, m=final,
                          dt=duration / steps, steps=steps, energy=energy, max_norm_error=worst)

    def relax(self, m0, *, torque_tol=1e-4, max_steps=200_000, dt=None, check_every=50, fixed=None):
        """Relax to a static state by energy descent.

        Integrates ``dm/dt = -gamma m x (m x B_eff)`` (LLG without precession,
        unit mobility; its fixed points are the equilibria, B_eff parallel to
        m) with RK4 and renormalisation, until the largest torque
        ``|m x B_eff|`` over the free active sites is below ``torque_tol``.

        Parameters
        ----------
        m0 : array_like, float64, shape (3, N)
            Initial unit vectors (vacant sites ignored).
        torque_tol : float
            Convergence threshold [T], > 0.
        max_steps : int
            Step budget, >= 1; ``converged`` is False if it runs out.
        dt : float, optional
            Step [ps]; default 0.9 of the pure-damping RK4 stability limit.
        check_every : int
            Torque check interval in steps.
        fixed : array_like of bool, shape (N,), optional
            Sites held at their initial direction (e.g. a pinned wall
            centre); excluded from the torque criterion.

        Returns
        -------
        RelaxResult

        Raises
        ------
        ValueError
            Bad state, ``torque_tol``, ``max_steps``, ``fixed`` or a ``dt``
            above the stability limit.
        """
        m = self.check_state(m0, "m0")
        torque_tol = check_real(torque_tol, "torque_tol", positive=True)
        max_steps = check_int(max_steps, "max_steps", minimum=1)
        check_every = check_int(check_every, "check_every", minimum=1)
        free = np.ones(self.n, dtype=bool)
        if fixed is not None:
            fixed = np.asarray(fixed)
            if fixed.shape != (self.n,) or fixed.dtype != bool:
                raise ValueError(f"fixed must be a bool array of shape ({self.n},), got dtype {fixed.dtype} and "
                                 f"shape {fixed.shape}")
            free = ~fixed
        dt = self._check_dt(0.9 * self.stable_dt(False) if dt is None else dt, precession=False)
        mult = None if free.all() else free.astype(np.float64)
        spare = np.empty_like(m)
        steps, torque = 0, self._max_torque(m, free)
        while torque >= torque_tol and steps < max_steps:
            for _ in range(min(check_every, max_steps - steps)):
                self._step_into(m, dt, spare, False, mult)
                m, spare = spare, m
                steps += 1
            torque = self._max_torque(m, free)
        return RelaxResult(m=m, converged=torque < torque_tol, steps=steps, max_torque=torque,
                           energy=self._energy(m))

    def ramp(self, m0, rate, b_max, *, direction=(0.0, 0.0, 1.0), dt=None, check_every=20, stop=None):
        r"""Integrate the LLG equation while the applied field is ramped, :math:`\mathbf B(t) = \mathbf B + r t\,\hat{\mathbf e}`.

        RK4 with renormalisation as :meth:`evolve`; the ramped part of the
        field is held at its value at the middle of each step (it changes by
        ``rate * dt`` a step, a few 1e-5 T for the chapter's ramps, so the
        error is second order in that change).  The ramp runs until the
        ramped field reaches ``b_max`` or ``stop`` returns True.

        Parameters
        ----------
        m0 : array_like, float64, shape (3, N)
            Initial unit vectors (vacant sites ignored).
        rate : float
            Ramp rate r [T/ps], > 0.
        b_max : float
            Largest ramped field [T], > 0: the run ends at t = b_max / rate.
        direction : 3-vector
            Direction of the ramped field (normalised), default +z.
        dt : float, optional
            RK4 step [ps]; default :data:`DEFAULT_DT_FRACTION` of
            :meth:`stable_dt` (of the chain at the largest field).
        check_every : int
            ``stop`` is called every that many steps, >= 1.
        stop : callable, optional
            ``stop(t, b, m) -> bool`` with t [ps], the ramped field b [T] and
            the state (3, N) (not to be modified); True ends the ramp.

        Returns
        -------
        RampResult

        Raises
        ------
        ValueError
            Bad state, non-positive ``rate`` or ``b_max``, a ``dt`` above
            the RK4 stability limit, or bridged vacancies (a static model).

        Notes
        -----
        Source: the PS-LL equation, arXiv:2312.14068 (module docstring);
        field ramps as in depinning simulations
        (:func:`mag_ml.physics.walls.depinning_field`).
        """
        if self._weight is not None:
            raise ValueError("ramp needs vacancy_model='cut': bridged vacancies carry no moment, so they have no "
                             "precession dynamics (use relax for statics)")
        m = self.check_state(m0, "m0")
        rate = check_real(rate, "rate", positive=True)
        b_max = check_real(b_max, "b_max", positive=True)
        e = _vector(direction, "direction", unit=True)
        check_every = check_int(check_every, "check_every", minimum=1)
        b0 = self.B.copy()
        try:
            self.B = b0 + b_max * e  # the stability limit at the largest field
            dt = self._check_dt(DEFAULT_DT_FRACTION * self.stable_dt() if dt is None else dt)
        finally:
            self.B = b0
        n_steps = max(1, math.ceil(b_max / rate / dt - 1e-9))
        spare = np.empty_like(m)
        steps, stopped = 0, False
        try:
            while steps < n_steps and not stopped:
                for _ in range(min(check_every, n_steps - steps)):
                    self.B = b0 + (rate * (steps + 0.5) * dt) * e
                    self._step_into(m, dt, spare)
                    m, spare = spare, m
                    steps += 1
                if stop is not None:
                    stopped = bool(stop(steps * dt, rate * steps * dt, m))
        finally:
            self.B = b0
        return RampResult(m=m, t=steps * dt, b=rate * steps * dt, steps=steps, dt=dt, stopped=stopped)

    def _max_torque(self, m, free=None):
        t = _cross(m, self._field(m))
        t = np.sqrt((t * t).sum(0))
        return float(t.max() if free is None else t[free].max(initial=0.0))


def check_chain(chain, name="chain"):
    """Return ``chain`` if it is a :class:`PSLLChain`.

    Raises
    ------
    ValueError
        ``chain`` is of another type (the message names the argument and its type).
    """
    if not isinstance(chain, PSLLChain):
        raise ValueError(f"{name} must be a PSLLChain, got {type(chain).__name__}")
    return chain
