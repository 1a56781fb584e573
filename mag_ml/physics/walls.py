r"""Domain walls of the PS-LL chain, with and without vacancies (relaxation protocols and fits).

Observables of Eagan, Copus & Iacocca, arXiv:2603.10182 (2026), computed with
the pseudospectral Landau-Lifshitz solver
(:class:`mag_ml.physics.pseudospectral.PSLLChain`; Rockwell, Hirst, Ostler &
Iacocca, arXiv:2312.14068).  Units: lengths nm, fields T, material parameters SI.
Magnon dispersions of the same chain: :mod:`mag_ml.physics.magnons`.

Domain-wall width
    A pair of walls (:func:`mag_ml.physics.pseudospectral.domain_wall_state`)
    is relaxed by energy descent and the first one fitted with
    :math:`m_z = s\tanh((x - x_0)/\Delta)` (``scipy.optimize.curve_fit`` on
    the occupied sites of the first half of the chain; s = +-1 is the
    wall's sense).  The defect-free continuum limit is
    :math:`\Delta = \sqrt{A/K_u}` (the discrete chain approaches it as
    :math:`(a/\Delta)^2`).

Domain walls with vacancies (the protocol of the chapter and the dataset)
    Chain with ``vacancy_model="bridged"`` and the discrete kernel
    (:mod:`mag_ml.physics.pseudospectral`): a vacancy has no moment, hence
    no anisotropy energy, while exchange acts through it.  Two Neel walls
    of width sqrt(A/K) start at N a / 4 and 3 N a / 4; the site nearest
    each centre is held in the wall plane (``pin=True``), the rest relaxes
    by energy descent to a torque below 1e-4 T; the first wall is fitted on
    the occupied sites of the first half of the chain.  Why this protocol:

    * with ``"cut"`` vacancies (m = 0, the chain cut by every vacancy, and
      with either kernel) a free wall falls into the nearest vacancy and
      becomes a zero-width step, so there is no width to learn; a pinned
      one has a plateau of in-plane spins wherever a segment shorter than
      about pi sqrt(A/K) / 2 holds the pin (the linearised profile cannot
      bend there), so widths scatter without a trend (the collapse and the
      scatter are tested);
    * bridged vacancies dilute the anisotropy: for vacancy runs much
      shorter than the wall (lambda = sigma tau / (sigma + tau) << Delta / a)
      the wall sees :math:`pK_u`, p = sigma / (sigma + tau), and its width
      tends to :math:`\Delta/\sqrt p = \sqrt{A(\sigma+\tau)/(K_u\sigma)}`
      (tested: within 4 % for sigma = tau = 1); for longer runs the local
      disorder around the wall sets it and realisations scatter;
    * a free bridged wall migrates (in up to ~10^5 steps) to the nearest
      long vacancy run and spreads over it; pinning the centre measures the
      wall at a given place, so realisations sample the disorder without
      bias, converge in ~10^3 steps, and give aligned profiles.  For short
      vacancy runs widths do not depend on ``torque_tol`` below 1e-3 T (to
      1e-3 nm, tested for sigma = tau = 1); with runs of several sites,
      relaxing further than 1e-3 T moves a width by up to a few 1e-2 nm
      (measured with batched relaxations, ``wall_width_ensemble(...,
      batch=8)``), against a realisation scatter of about 1 nm.

Depinning in cut-vacancy chains (:func:`depinning_field`)
    A wall pair of width sqrt(A/K) is started at the vacancy runs nearest
    N a / 4 and 3 N a / 4 (at those points without vacancies) and relaxed
    at zero field without pinning, on a chain with ``vacancy_model="cut"``
    (discrete kernel): a wall at a vacancy costs no exchange, and there it
    relaxes to a step between two uniform segments (a free wall would fall
    into the nearest vacancy anyway, but in a long segment only after a
    time that grows exponentially with the distance).
    The LLG equation with damping ``alpha`` is then integrated while a field
    is ramped at ``ramp_rate`` along the easy axis, tilted by ``tilt``
    degrees towards x (a stated symmetry breaking: a field exactly along
    the axis exerts no torque on a uniform reversed segment); the first
    wall's centre, the zero crossing of m_z from +z to -z on the occupied
    sites nearest its starting point (:func:`wall_crossings`), is checked
    every ``check_every`` steps, and the wall is *depinned* at the first
    field for which it has moved by more than ``threshold`` (default
    sqrt(A/K)).  Defaults: :data:`DEPINNING_PROTOCOL`.  Physics it obeys
    (tested):

    * defect-free chain: the walls move at any field.  With uniaxial
      anisotropy alone the Walker field is zero, and a wall moves at
      :math:`v = \alpha\gamma\Delta B/(1+\alpha^2)`, so under the ramp it
      has moved by d at :math:`B = \sqrt{2 d r (1+\alpha^2)/(\alpha\gamma\Delta)}`
      (:func:`free_wall_detection_field`), which tends to 0 as the ramp
      slows (within 2 % of the simulated value);
    * a cut vacancy: a vacancy decouples the segments on either side (the
      discrete kernel has no bond across it), so a segment rotates
      uniformly as one macrospin (no exchange torque, whatever its length),
      and the wall leaves the vacancy only when the reversed segment beside
      it switches: at the Stoner-Wohlfarth field of the tilted field,
      :math:`B_K/(\cos^{2/3}\psi + \sin^{2/3}\psi)^{3/2}`,
      :math:`B_K = 2K_u/M_s` (:func:`switching_field`), reached from above
      as the ramp slows, the overshoot falling as :math:`r^{2/3}` (the
      delayed passage through a saddle-node bifurcation);
    * for the same reason the depinning field of a telegraph chain does
      not depend on (sigma, tau): every reversed segment is the same
      macrospin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import curve_fit

from ..checks import check_int, check_real
from ..progress import progress_bar
from .defects import check_defect_parameters, telegraph_vacancies
from .pseudospectral import GAMMA, check_chain, domain_wall_state, uniform_state

__all__ = ["analytic_wall_width", "WallFit", "fit_wall", "WallResult", "domain_wall_width", "WallEnsemble",
           "wall_width_ensemble", "DEPINNING_PROTOCOL", "switching_field", "free_wall_detection_field",
           "wall_crossings", "DepinningResult", "depinning_field", "depinning_ensemble"]


# ----------------------------------------------------------------------------- domain walls
def analytic_wall_width(A_ex, K_u):
    """Continuum Bloch/Neel wall width ``Delta = sqrt(A_ex / K_u)``, in nm.

    Parameters
    ----------
    A_ex : float
        Exchange stiffness [J/m], > 0.
    K_u : float
        Uniaxial anisotropy [J/m^3], > 0.

    Returns
    -------
    float
        Delta [nm] (the profile is m_z = tanh((x - x0) / Delta)).

    Raises
    ------
    ValueError
        Non-positive parameters.
    """
    return math.sqrt(check_real(A_ex, "A_ex", positive=True) / check_real(K_u, "K_u", positive=True)) * 1e9


@dataclass
class WallFit:
    """Least-squares fit ``m_z = sign * tanh((x - x0) / width)`` (:func:`fit_wall`).

    Attributes
    ----------
    x0, width : float
        Centre and width [nm].
    x0_err, width_err : float
        One-sigma errors from the fit covariance [nm].
    sign : int
        +1 for a wall from -z to +z along x, -1 for +z to -z.
    rms : float
        Root-mean-square residual of m_z.
    """

    x0: float
    width: float
    x0_err: float
    width_err: float
    sign: int
    rms: float


def fit_wall(x, m_z, *, x0=None, width=None):
    """Fit one wall profile, ``m_z = s tanh((x - x0) / Delta)``, with ``scipy.optimize.curve_fit``.

    Parameters
    ----------
    x : array_like, float64, shape (n,)
        Positions [nm] (e.g. the occupied sites of a window), n >= 3.
    m_z : array_like, float64, shape (n,)
        m_z at those positions.
    x0, width : float, optional
        Initial guesses [nm]; default: where m_z crosses 0 and a tenth of
        the window.

    Returns
    -------
    WallFit

    Raises
    ------
    ValueError
        Mismatched or too short inputs, or no sign change of m_z.
    """
    x = np.asarray(x, dtype=np.float64)
    mz = np.asarray(m_z, dtype=np.float64)
    if x.ndim != 1 or x.shape != mz.shape or x.size < 3:
        raise ValueError(f"x and m_z must be 1D of equal length >= 3, got shapes {x.shape} and {mz.shape}")
    q = max(1, x.size // 10)
    sign = 1 if mz[-q:].mean() > mz[:q].mean() else -1
    if np.all(mz > 0) or np.all(mz < 0):
        raise ValueError("m_z does not change sign in the window: there is no wall to fit")
    span = float(x.max() - x.min())
    if x0 is None:
        j = int(np.argmin(np.abs(mz)))
        x0 = float(x[j])
    if width is None:
        width = span / 10
    f = (lambda xx, c, d: sign * np.tanh((xx - c) / d))
    lo_w = 1e-4 * span / x.size
    p, cov = curve_fit(f, x, mz, p0=(x0, max(width, 2 * lo_w)), bounds=((x.min(), lo_w), (x.max(), span)))
    err = np.sqrt(np.maximum(np.diag(cov), 0.0)) if np.all(np.isfinite(cov)) else np.full(2, np.inf)
    rms = float(np.sqrt(np.mean((f(x, *p) - mz) ** 2)))
    return WallFit(x0=float(p[0]), width=float(p[1]), x0_err=float(err[0]), width_err=float(err[1]),
                   sign=sign, rms=rms)


@dataclass
class WallResult:
    """Relaxed wall and its width (:func:`domain_wall_width`).

    Attributes
    ----------
    width : float
        Fitted width Delta [nm].
    fit : WallFit
        The full fit of the first wall.
    m : ndarray, float64, shape (3, N)
        Relaxed state.
    converged : bool
        Whether the relaxation met its torque tolerance.
    steps : int
        Relaxation steps.
    energy : float
        Energy per unit area [J/m^2] of the relaxed two-wall state relative
        to the uniform +z state of the same chain.
    """

    width: float
    fit: WallFit
    m: np.ndarray
    converged: bool
    steps: int
    energy: float


def domain_wall_width(chain, *, kind="neel", chirality=1, width0=None, pin=True, torque_tol=1e-4,
                      max_steps=200_000):
    """Relax a pair of walls on the chain and fit the width of the first.

    Protocol: :func:`domain_wall_state` (walls at N a / 4 and 3 N a / 4),
    optionally the site nearest each wall centre held in the wall plane
    (``pin``; the nearest occupied site for ``vacancy_model="cut"``),
    energy-descent relaxation (:meth:`PSLLChain.relax`), then
    :func:`fit_wall` on the occupied sites of the first half of the chain.
    The chapter's and the dataset's protocol (module docstring, "Domain
    walls with vacancies") is ``vacancy_model="bridged"`` with ``pin=True``.

    Why pin: a wall is attracted by vacancies.  With ``vacancy_model="cut"``
    a vacancy cuts the chain (discrete kernel), so a wall costs no exchange
    energy there: an unpinned wall drifts into the nearest vacancy (its
    attraction decays as exp(-2 d / Delta) with the distance d) and becomes
    a step of zero width.  With ``"bridged"`` vacancies (no anisotropy) an
    unpinned wall migrates, over up to ~10^5 steps, to the nearest long
    vacancy run and spreads over it.  A pinned centre (one spin held in the
    wall plane, a standard micromagnetic device) measures the profile at a
    fixed position instead, so realisations sample the disorder around a
    given point without bias and converge in ~10^3 steps.  On a
    defect-free chain pinning changes nothing (the centre spin of the free
    wall is in-plane).

    Parameters
    ----------
    chain : PSLLChain
        Easy axis z, K_u > 0; vacancies and DMI as set in the chain.
    kind : {"neel", "bloch"}
        Initial wall type (exchange and anisotropy alone do not distinguish
        them; interfacial DMI favours Neel walls).
    chirality : {+1, -1}
        Initial rotation sense (:func:`domain_wall_state`).
    width0 : float, optional
        Initial width [nm]; default sqrt(A/K).
    pin : bool
        Hold the occupied site nearest each wall centre in the wall plane
        (default True).
    torque_tol, max_steps
        Passed to :meth:`PSLLChain.relax` (torque in T).

    Returns
    -------
    WallResult

    Raises
    ------
    ValueError
        Chain without easy-axis anisotropy along z, or bad arguments.

    Notes
    -----
    Source: domain-wall widths against vacancy statistics, Eagan, Copus &
    Iacocca, arXiv:2603.10182; continuum width sqrt(A/K).
    """
    chain = _check_wall_chain(chain)
    if chain.blocks != 1:
        raise ValueError(f"domain_wall_width needs a chain of one block, got blocks={chain.blocks} (use "
                         f"wall_width_ensemble(..., batch=...) for blocks)")
    width0 = _default_width(chain, width0)
    m0, fixed = _wall_start(chain, kind, chirality, width0, pin)
    res = chain.relax(m0, torque_tol=torque_tol, max_steps=max_steps, fixed=fixed)
    fit = _fit_first_wall(chain, res.m, width0)
    e_ref = chain.energy(uniform_state(chain.n))
    return WallResult(width=fit.width, fit=fit, m=res.m, converged=res.converged, steps=res.steps,
                      energy=res.energy - e_ref)


def _check_wall_chain(chain):
    chain = check_chain(chain)
    if chain.K_u <= 0 or not np.allclose(chain.axis, (0, 0, 1)):
        raise ValueError(f"a domain wall needs easy-axis anisotropy along z (K_u > 0), got K_u={chain.K_u:g} "
                         f"J/m^3, axis={chain.axis.tolist()}")
    return chain


def _default_width(chain, width0):
    if width0 is None:
        return analytic_wall_width(chain.A_ex, chain.K_u) if chain.A_ex > 0 else chain.a
    return width0


def _wall_start(chain, kind, chirality, width0, pin):
    """Initial wall pair of a one-block chain (zero on inactive sites) and its pinned sites (None: no pin)."""
    length = chain.n * chain.a
    m0 = domain_wall_state(chain.n, chain.a, width0, kind=kind, chirality=chirality)
    m0 = m0 * chain.active
    x = chain.x
    fixed = None
    if pin:
        fixed = np.zeros(chain.n, dtype=bool)
        occ_idx = np.flatnonzero(chain.active)
        plane = 0 if kind == "neel" else 1
        for j, centre in enumerate((length / 4, 3 * length / 4)):
            i = int(occ_idx[np.argmin(np.abs(x[occ_idx] - centre))])
            fixed[i] = True
            m0[:, i] = 0.0
            m0[plane, i] = chirality * (1 if j == 0 else -1)  # in-plane, as in domain_wall_state at the centre
    return m0, fixed


def _fit_first_wall(chain, m, width0):
    """tanh fit of the first wall of a relaxed one-block state (occupied sites of the first half)."""
    length = chain.n * chain.a
    x = chain.x
    sel = (x < length / 2) & chain.occupied
    return fit_wall(x[sel], m[2, sel], x0=length / 4, width=width0)


@dataclass
class WallEnsemble:
    """Wall widths over vacancy realisations (:func:`wall_width_ensemble`).

    Attributes
    ----------
    widths : ndarray, float64, shape (n_realisations,)
        Fitted widths [nm].
    mean, std : float
        Their mean and standard deviation (ddof = 1) [nm].
    converged : ndarray, bool, shape (n_realisations,)
    sigma, tau : float
        Vacancy parameters (units of a).
    x : ndarray, float64, shape (N // 2,)
        Positions [nm] relative to the site nearest N a / 4, the first
        wall's initial centre (its pinned site unless that is a cut
        vacancy): the window of N / 2 sites centred on it.
    m_z : ndarray, float64, shape (n_realisations, N // 2)
        Relaxed m_z in that window (the wall goes from +z to -z along x).
        It is the direction field on every site for bridged vacancies, and
        zero on vacant sites for cut ones.
    occupied_fraction : float
        Mean fraction of occupied sites over the realisations.
    """

    widths: np.ndarray
    mean: float
    std: float
    converged: np.ndarray
    sigma: float
    tau: float
    x: np.ndarray
    m_z: np.ndarray
    occupied_fraction: float


def wall_width_ensemble(chain, sigma, tau, *, n_realisations=8, seed=0, kind="neel", pin=True, torque_tol=1e-4,
                        max_steps=200_000, batch=1, progress=False):
    """Domain-wall widths for vacancy realisations ``telegraph_vacancies(N, sigma, tau, seed, i)``.

    Parameters
    ----------
    chain : PSLLChain
        Template (easy axis z, K_u > 0); its ``occupied`` is replaced, its
        ``vacancy_model`` kept (``"bridged"`` for the chapter's protocol).
    sigma, tau : float
        Mean occupied / vacant segment lengths (units of a).
    n_realisations : int
        >= 1.
    seed : int
        Seed of the vacancy draws.
    kind, pin, torque_tol, max_steps
        As in :func:`domain_wall_width`.
    batch : int
        Realisations relaxed together as the blocks of one chain
        (:class:`~mag_ml.physics.pseudospectral.PSLLChain`, ``blocks``), >= 1;
        default 1 (one at a time).  A batch relaxes until every block's
        torque is below ``torque_tol``, so a block may take more steps than
        alone; widths agree with one-at-a-time relaxations to the effect of
        the tolerance (< 1e-3 nm for the chapter's chains).  ``converged``
        is then that of the batch.
    progress : bool
        tqdm progress bar over batches.

    Returns
    -------
    WallEnsemble

    Raises
    ------
    ValueError
        Bad defect parameters or arguments.
    """
    chain = _check_wall_chain(chain)
    n_realisations = check_int(n_realisations, "n_realisations", minimum=1)
    batch = check_int(batch, "batch", minimum=1)
    check_defect_parameters(chain.n, sigma, tau)
    iterator = range(0, n_realisations, batch)
    if progress:
        iterator = progress_bar(iterator, desc="wall realisations")
    widths, conv, profiles, occupied = [], [], [], []
    centre = int(np.argmin(np.abs(chain.x - chain.n * chain.a / 4)))
    window = (np.arange(chain.n // 2) + centre - chain.n // 4) % chain.n
    width0 = _default_width(chain, None)
    for start in iterator:
        chains = [chain.replace(occupied=telegraph_vacancies(chain.n, sigma, tau, seed=seed, realisation=i))
                  for i in range(start, min(start + batch, n_realisations))]
        starts = [_wall_start(c, kind, 1, width0, pin) for c in chains]
        block = chain.replace(n=chain.n * len(chains), occupied=np.concatenate([c.occupied for c in chains]),
                              blocks=len(chains))
        fixed = None if not pin else np.concatenate([f for _, f in starts])
        res = block.relax(np.concatenate([m for m, _ in starts], axis=1), torque_tol=torque_tol,
                          max_steps=max_steps, fixed=fixed)
        for b, c in enumerate(chains):
            m = res.m[:, b * chain.n:(b + 1) * chain.n]
            widths.append(_fit_first_wall(c, m, width0).width)
            conv.append(res.converged)
            profiles.append(m[2, window])
            occupied.append(c.occupied.mean())
    w = np.asarray(widths)
    return WallEnsemble(widths=w, mean=float(w.mean()), std=float(w.std(ddof=1)) if w.size > 1 else 0.0,
                        converged=np.asarray(conv), sigma=float(sigma), tau=float(tau),
                        x=(np.arange(chain.n // 2) - chain.n // 4) * chain.a, m_z=np.asarray(profiles),
                        occupied_fraction=float(np.mean(occupied)))


# ----------------------------------------------------------------------------- depinning
#: Depinning protocol of :func:`depinning_field` (module docstring): Gilbert
#: damping, ramp rate [T/ps], tilt of the ramped field from the easy axis
#: [deg], largest field [T] (in units of the anisotropy field 2K/M_s),
#: RK4 step as a fraction of the stability limit (the damped stiff modes
#: need no more; the switching segment's precession, at about 0.2 rad/ps,
#: is resolved to 1e-6), centre checks every ``check_every`` steps and
#: zero-field relaxation to ``torque_tol`` [T].
DEPINNING_PROTOCOL = dict(alpha=0.5, ramp_rate=4e-3, tilt=1.0, b_max_factor=2.0, dt_fraction=0.8, check_every=10,
                          torque_tol=1e-3, max_relax_steps=100_000)


def switching_field(K_u, M_s, tilt):
    r"""Stoner-Wohlfarth switching field of a macrospin with the field tilted from the easy axis, in T.

    Parameters
    ----------
    K_u : float
        Uniaxial anisotropy [J/m^3], > 0.
    M_s : float
        Saturation magnetisation [A/m], > 0.
    tilt : float
        Angle psi between the field and the easy axis [deg], in [0, 90).

    Returns
    -------
    float
        :math:`B_K/(\cos^{2/3}\psi + \sin^{2/3}\psi)^{3/2}` with
        :math:`B_K = 2K_u/M_s` (0.907 B_K at 1 degree).

    Raises
    ------
    ValueError
        Parameters outside those ranges.

    Notes
    -----
    Source: Stoner & Wohlfarth, Phil. Trans. R. Soc. A 240, 599 (1948), the astroid.
    """
    b_k = 2 * check_real(K_u, "K_u", positive=True) / check_real(M_s, "M_s", positive=True)
    psi = math.radians(check_real(tilt, "tilt (deg)", nonneg=True))
    if psi >= math.pi / 2:
        raise ValueError(f"tilt must be below 90 degrees, got {tilt!r}")
    return b_k / (math.cos(psi) ** (2 / 3) + math.sin(psi) ** (2 / 3)) ** 1.5


def free_wall_detection_field(*, ramp_rate, distance, alpha, width, gamma=GAMMA):
    r"""Field at which a free wall of a uniaxial chain has moved by ``distance`` under a ramp from zero, in T.

    With uniaxial anisotropy alone the Walker field vanishes and the wall
    precesses while it moves at :math:`v = \alpha\gamma\Delta B/(1+\alpha^2)`,
    so :math:`x(t) = \alpha\gamma\Delta r t^2/(2(1+\alpha^2))` and
    :math:`B = \sqrt{2 d r (1+\alpha^2)/(\alpha\gamma\Delta)}`.

    Parameters
    ----------
    ramp_rate : float
        r [T/ps], > 0.
    distance : float
        d [nm], > 0.
    alpha : float
        Gilbert damping, > 0.
    width : float
        Wall width Delta [nm], > 0 (sqrt(A/K)).
    gamma : float
        Gyromagnetic ratio [rad/(s T)].

    Returns
    -------
    float

    Raises
    ------
    ValueError
        Non-positive arguments.

    Notes
    -----
    Source: the one-dimensional wall model above the Walker field,
    Schryer & Walker, J. Appl. Phys. 45, 5406 (1974), with zero hard-axis anisotropy.
    """
    r = check_real(ramp_rate, "ramp_rate", positive=True)
    d = check_real(distance, "distance", positive=True)
    al = check_real(alpha, "alpha", positive=True)
    w = check_real(width, "width", positive=True)
    g = check_real(gamma, "gamma", positive=True) * 1e-12
    return math.sqrt(2 * d * r * (1 + al * al) / (al * g * w))


def _vacancy_centres(occupied, a):
    """Starting centres [nm] of a block's wall pair: the vacancy runs nearest N a / 4 and 3 N a / 4 (distinct).

    Without two vacancy runs, N a / 4 and 3 N a / 4.
    """
    n = occupied.size
    length = n * a
    vac = ~occupied
    if not vac.any():
        return length / 4, 3 * length / 4
    edges = np.flatnonzero(np.diff(vac.astype(np.int8)))  # last site before each change
    starts = np.concatenate(([0], edges + 1))
    ends = np.concatenate((edges + 1, [n]))
    runs = [(lo, hi) for lo, hi in zip(starts, ends) if vac[lo]]
    if len(runs) < 2:
        return length / 4, 3 * length / 4
    centres = np.array([(lo + hi) / 2 * a for lo, hi in runs])
    first = int(np.argmin(np.abs(centres - length / 4)))
    d = np.abs(centres - 3 * length / 4)
    d[first] = np.inf
    return float(centres[first]), float(centres[int(np.argmin(d))])


def wall_crossings(chain, m, x0):
    """Centre of the +z to -z wall nearest ``x0`` in each block: the zero crossing of m_z on occupied sites.

    Parameters
    ----------
    chain : PSLLChain
        Its ``blocks`` independent chains of ``n_block`` sites.
    m : ndarray, float64, shape (3, N)
    x0 : float or array_like, shape (blocks,)
        Reference position within each block [nm].

    Returns
    -------
    ndarray, float64, shape (blocks,)
        Position within the block [nm] (linear interpolation of m_z between
        consecutive occupied sites, across vacancies); inf where the block
        has no such crossing (its reversed domain has gone).
    """
    nb = chain.n_block
    x = chain.x[:nb]
    out = np.full(chain.blocks, np.inf)
    ref = np.broadcast_to(np.asarray(x0, dtype=np.float64), (chain.blocks,))
    for b in range(chain.blocks):
        occ = chain.occupied[b * nb:(b + 1) * nb]
        xs, mz = x[occ], m[2, b * nb:(b + 1) * nb][occ]
        j = np.flatnonzero((mz[:-1] > 0) & (mz[1:] <= 0))
        if j.size:
            c = xs[j] + (xs[j + 1] - xs[j]) * mz[j] / (mz[j] - mz[j + 1])
            out[b] = c[np.argmin(np.abs(c - ref[b]))]
    return out


@dataclass
class DepinningResult:
    """Depinning fields of the blocks of a chain (:func:`depinning_field`).

    Attributes
    ----------
    fields : ndarray, float64, shape (blocks,)
        Ramped field [T] at which each block's first wall had moved by more
        than ``threshold``; NaN where it did not move by ``b_max``.
    x0 : ndarray, float64, shape (blocks,)
        Relaxed centre of each first wall [nm] (at its vacancy); inf for a
        block left without a wall by the relaxation (its field is NaN).
    ramp_rate, alpha, tilt, threshold, b_max : float
        Protocol: T/ps, damping, deg, nm, T.
    relaxed : bool
        Whether the zero-field relaxation met its torque tolerance.
    steps : int
        RK4 steps of the ramp.
    """

    fields: np.ndarray
    x0: np.ndarray
    ramp_rate: float
    alpha: float
    tilt: float
    threshold: float
    b_max: float
    relaxed: bool
    steps: int


def depinning_field(chain, *, ramp_rate=None, alpha=None, tilt=None, threshold=None, b_max=None, dt_fraction=None,
                    check_every=None, torque_tol=None, max_relax_steps=None):
    """Field at which a relaxed wall in each block of a cut-vacancy chain moves under a ramped field.

    Protocol (module docstring, "Depinning in cut-vacancy chains"): a wall
    pair per block started at the vacancies nearest a quarter and three
    quarters of the block, relaxed at zero field without pinning, then the LLG
    equation (:meth:`PSLLChain.ramp`) with the field ramped along +z,
    tilted by ``tilt`` towards x, until every block's first wall has moved
    by more than ``threshold`` or the field reaches ``b_max``.  Arguments
    left None take :data:`DEPINNING_PROTOCOL`.

    Parameters
    ----------
    chain : PSLLChain
        Easy axis z, K_u > 0, ``vacancy_model="cut"`` (or no vacancies);
        ``blocks`` independent chains (e.g. vacancy realisations) of at least
        8 sites each.  Its own ``alpha`` and ``B`` are replaced (B = 0 at
        the start of the ramp).
    ramp_rate : float
        r [T/ps], > 0.
    alpha : float
        Gilbert damping of the ramp, > 0.
    tilt : float
        Angle of the ramped field from the easy axis [deg], in [0, 90).
    threshold : float
        Displacement that counts as depinned [nm]; default sqrt(A/K).
    b_max : float
        Largest field [T]; default ``b_max_factor`` times 2K/M_s.
    dt_fraction : float
        RK4 step as a fraction of the stability limit, in (0, 1].
    check_every : int
        Steps between centre checks (the field resolution is
        ``ramp_rate * check_every * dt``).
    torque_tol, max_relax_steps
        Zero-field relaxation (:meth:`PSLLChain.relax`).

    Returns
    -------
    DepinningResult

    Raises
    ------
    ValueError
        A chain without easy-axis anisotropy along z, with bridged vacancies
        or blocks under 8 sites, or bad protocol values.

    Notes
    -----
    Source: depinning of domain walls from vacancies in the defect model of
    Eagan, Copus & Iacocca, arXiv:2603.10182, with PS-LL dynamics
    (Rockwell et al., arXiv:2312.14068); the limits it is tested against are
    in the module docstring.
    """
    chain = _check_wall_chain(chain)
    if chain.vacancy_model != "cut" and not chain.occupied.all():
        raise ValueError("depinning_field needs vacancy_model='cut' (bridged vacancies have no dynamics), got "
                         f"{chain.vacancy_model!r}")
    if chain.n_block < 8:
        raise ValueError(f"depinning_field needs blocks of at least 8 sites, got {chain.n_block}")
    pr = dict(DEPINNING_PROTOCOL)
    given = dict(ramp_rate=ramp_rate, alpha=alpha, tilt=tilt, dt_fraction=dt_fraction, check_every=check_every,
                 torque_tol=torque_tol, max_relax_steps=max_relax_steps)
    pr.update({k: v for k, v in given.items() if v is not None})
    rate = check_real(pr["ramp_rate"], "ramp_rate", positive=True)
    alpha = check_real(pr["alpha"], "alpha", positive=True)
    b_k = 2 * chain.K_u / chain.M_s
    psi = math.radians(check_real(pr["tilt"], "tilt", nonneg=True))
    if psi >= math.pi / 2:
        raise ValueError(f"tilt must be below 90 degrees, got {pr['tilt']!r}")
    frac = check_real(pr["dt_fraction"], "dt_fraction", positive=True)
    if frac > 1:
        raise ValueError(f"dt_fraction must be in (0, 1] (a fraction of the RK4 stability limit), got {frac!r}")
    width0 = _default_width(chain, None)
    threshold = width0 if threshold is None else check_real(threshold, "threshold", positive=True)
    b_max = pr["b_max_factor"] * b_k if b_max is None else check_real(b_max, "b_max", positive=True)
    nb = chain.n_block
    ch = chain.replace(alpha=alpha, B=0.0)
    starts = [_vacancy_centres(ch.occupied[b * nb:(b + 1) * nb], chain.a) for b in range(chain.blocks)]
    m0 = np.concatenate([domain_wall_state(nb, chain.a, width0, centres=c) for c in starts], axis=1) * ch.active
    relaxed = ch.relax(m0, torque_tol=check_real(pr["torque_tol"], "torque_tol", positive=True),
                       max_steps=check_int(pr["max_relax_steps"], "max_relax_steps", minimum=1))
    x_ref = np.array([c[0] for c in starts])
    x0 = wall_crossings(ch, relaxed.m, x_ref)
    fields = np.full(chain.blocks, np.nan)
    wall = np.isfinite(x0)  # a block without a wall after relaxation has nothing to depin (NaN)
    direction = (math.sin(psi), 0.0, math.cos(psi))

    def stop(_t, b, m):
        moved = wall & (np.abs(wall_crossings(ch, m, x_ref) - np.where(wall, x0, 0.0)) > threshold)
        fields[moved & np.isnan(fields)] = b
        return not np.isnan(fields[wall]).any()

    dt = frac * ch.replace(B=b_max).stable_dt()
    res = ch.ramp(relaxed.m, rate, b_max, direction=direction, dt=dt, stop=stop,
                  check_every=check_int(pr["check_every"], "check_every", minimum=1))
    return DepinningResult(fields=fields, x0=x0, ramp_rate=rate, alpha=alpha, tilt=float(pr["tilt"]),
                           threshold=float(threshold), b_max=float(b_max), relaxed=relaxed.converged,
                           steps=res.steps)


def depinning_ensemble(chain, sigma, tau, *, n_realisations=8, seed=0, **protocol):
    """Depinning fields of ``n_realisations`` telegraph-vacancy realisations, simulated together as blocks.

    Realisation i uses ``telegraph_vacancies(chain.n, sigma, tau, seed=seed, realisation=i)``.

    Parameters
    ----------
    chain : PSLLChain
        One-block template (easy axis z, K_u > 0); its ``occupied`` is
        replaced and cut vacancies are used.
    sigma, tau : float
        Mean occupied / vacant segment lengths [a].
    n_realisations : int
        >= 1.
    seed : int
        Seed of the vacancy draws.
    **protocol
        Keyword arguments of :func:`depinning_field`.

    Returns
    -------
    DepinningResult
        One block per realisation.

    Raises
    ------
    ValueError
        Bad defect parameters or arguments.
    """
    chain = _check_wall_chain(chain)
    n_realisations = check_int(n_realisations, "n_realisations", minimum=1)
    check_defect_parameters(chain.n, sigma, tau)
    occ = np.concatenate([telegraph_vacancies(chain.n, sigma, tau, seed=seed, realisation=i)
                          for i in range(n_realisations)])
    block = chain.replace(n=chain.n * n_realisations, occupied=occ, blocks=n_realisations, vacancy_model="cut")
    return depinning_field(block, **protocol)
