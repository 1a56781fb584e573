r"""Magnon dispersion of the PS-LL chain, with and without vacancies (spin-wave protocols).

Observables of Eagan, Copus & Iacocca, arXiv:2603.10182 (2026), computed with
the pseudospectral Landau-Lifshitz solver
(:class:`mag_ml.physics.pseudospectral.PSLLChain`; Rockwell, Hirst, Ostler &
Iacocca, arXiv:2312.14068).  Units: lengths nm, wavevectors 1/nm, times ps,
frequencies GHz, fields T, material parameters SI.

Analytic dispersion (defect-free chain, easy axis and field along z)
    Linearising the LLG equation about :math:`\mathbf m = \hat z` gives
    circularly polarised magnons with

    .. math::

        f(k) = \frac{\gamma}{2\pi}\left[B_z + \frac{2K_u}{M_s}
               + \frac{2A}{M_s}\,\mathcal K(k)\right],

    :math:`\mathcal K(k) = (2 - 2\cos ka)/a^2` (discrete chain) or
    :math:`k^2` (continuum), with B [T], K_u [J/m^3], A [J/m], M_s [A/m],
    k [1/m] and gamma [rad/(s T)] giving f in Hz (:func:`analytic_dispersion`
    takes k in 1/nm and returns GHz; gamma / 2 pi = 28.02 GHz/T).
    Interfacial DMI does not change it in this geometry (m along z, k along
    x).

Measured dispersion
    The ground state (+z) is excited by small random transverse components
    (independent Gaussian, rms ``amplitude`` rad per component per occupied
    site: white in k, a broadband excitation of every magnon), evolved
    without damping, and :math:`m_x(x, t)` is recorded.  Its 2D spectrum
    :math:`P(k, f) = |\mathrm{FFT}_{x,t}[w(t)(m_x - \overline{m_x})]|^2`
    (Hann window w in time, periodic in space) is averaged over vacancy
    realisations; for each k the peak frequency is found by a parabola
    through the logarithm of the three highest bins (exact for a Gaussian
    peak, a small fraction of a bin for a Hann-windowed line), and the full
    width at half maximum is reported as the linewidth.  Sign convention: a
    wave :math:`\cos(kx - 2\pi f t)` with f > 0 appears at +k.

First-moment sum rule (vacancies)
    Vacancies break translation invariance, so the power at one k spreads
    over many eigenmodes (broadening).  Its power-weighted mean frequency
    (centroid) is nevertheless exact in the linear regime, on average over
    the white excitation: linearising about +z on the occupied sites
    (occupation :math:`s_i`) gives the Hermitian operator
    :math:`\omega = \gamma[B + 2K_u/M_s + (2A/M_s)(P\mathcal K P - \mathrm{diag}(\mathcal K s))]`
    (P: projection on occupied sites; the diagonal term is the loss of
    exchange field next to a vacancy), so the centroid at k is its
    expectation value in the masked plane wave :math:`v = s\,e^{ikx}`:

    .. math::

        \bar f(k) = f(0) + \frac{\gamma}{2\pi}\frac{2A}{M_s}
            \frac{\langle v|\mathcal K|v\rangle - \langle s|\mathcal K|s\rangle}{\sum_i s_i}.

    For the discrete kernel this is
    :math:`\bar f(k) = f(0) + \rho_b[f(k) - f(0)]` with
    :math:`\rho_b` the number of occupied-occupied bonds per occupied site
    (:math:`1 - 1/\langle\text{run}\rangle`, :func:`sum_rule_frequency`):
    missing bonds lower the mean magnon frequency at every k > 0.  RK4's
    numerical damping of the band edge biases measured centroids low unless
    the step is small: with the default tenth of the stability limit a
    band-edge magnon loses 8e-5 of its amplitude per period (about 3 % over
    150 ps at 2.3 THz), at a quarter of the limit 7.7e-3 per period.

Domain walls of the same chain: :mod:`mag_ml.physics.walls`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.fft

from ..checks import check_int, check_real
from ..progress import progress_bar
from .defects import check_defect_parameters, telegraph_vacancies
from .pseudospectral import GAMMA, check_chain, exchange_kernel, uniform_state
from .rng import check_seed

__all__ = ["analytic_dispersion", "chain_dispersion", "transverse_excitation", "spin_wave_spectrum",
           "peak_frequencies", "spectral_moments", "line_shapes", "sum_rule_frequency", "DispersionResult",
           "measure_dispersion"]



# ----------------------------------------------------------------------------- analytic dispersion
def analytic_dispersion(k, *, A_ex, M_s, a, K_u=0.0, B=0.0, kernel="discrete", gamma=GAMMA):
    """Magnon frequency of the defect-free chain magnetised along its easy axis z.

    ``f(k) = gamma / (2 pi) * (B + 2 K_u / M_s + (2 A_ex / M_s) K(k))``
    (module docstring), K(k) from
    :func:`mag_ml.physics.pseudospectral.exchange_kernel`.

    Parameters
    ----------
    k : float or array_like
        Wavevector [1/nm], any shape.
    A_ex : float
        Exchange stiffness [J/m], >= 0.
    M_s : float
        Saturation magnetisation [A/m], > 0.
    a : float
        Lattice constant [nm], > 0.
    K_u : float
        Uniaxial anisotropy [J/m^3] (easy axis z).
    B : float
        Field along z [T].
    kernel : {"discrete", "continuum"}
    gamma : float
        Gyromagnetic ratio [rad/(s T)].

    Returns
    -------
    ndarray, float64, shape of ``k``
        f in GHz.

    Raises
    ------
    ValueError
        Bad parameters or ``kernel``.

    Notes
    -----
    Source: PS-LL, Rockwell et al., arXiv:2312.14068 (dispersion of the
    chain with perpendicular anisotropy; its exchange kernel defines the
    PS-LL operator).
    """
    A_ex = check_real(A_ex, "A_ex", nonneg=True)
    M_s = check_real(M_s, "M_s", positive=True)
    gamma = check_real(gamma, "gamma", positive=True)
    b = check_real(B, "B") + 2 * check_real(K_u, "K_u") / M_s + 2 * A_ex / M_s * exchange_kernel(k, a, kernel) * 1e18
    return gamma / (2 * np.pi) * b * 1e-9


def chain_dispersion(chain, k=None):
    """Analytic dispersion (GHz) of a defect-free :class:`PSLLChain` magnetised along z.

    Parameters
    ----------
    chain : PSLLChain
        Must have its anisotropy axis along z (or K_u = 0) and B along z;
        vacancies are ignored (this is the ideal chain's dispersion).
    k : array_like, optional
        Wavevectors [1/nm]; default ``chain.k`` (the grid's, up to pi / a).

    Returns
    -------
    ndarray, float64
        f(k) in GHz, shape of ``k``: the kernel of the chain's
        ``lattice_constant``, so on a coarse grid of a fine lattice this is
        the atomistic dispersion at the grid's wavevectors.

    Raises
    ------
    ValueError
        A chain whose +z state is not an equilibrium of this form.
    """
    chain = check_chain(chain)
    _check_z_geometry(chain)
    return analytic_dispersion(chain.k if k is None else k, A_ex=chain.A_ex, M_s=chain.M_s,
                               a=chain.lattice_constant, K_u=chain.K_u, B=float(chain.B[2]), kernel=chain.kernel,
                               gamma=chain.gamma)


def _check_z_geometry(chain):
    if chain.B[0] != 0 or chain.B[1] != 0 or (chain.K_u != 0 and not np.allclose(chain.axis, (0, 0, 1))):
        raise ValueError(f"the dispersion needs the easy axis and B along z (the +z ground state); got "
                         f"axis={chain.axis.tolist()}, B={chain.B.tolist()} T")
    if chain.B[2] + chain.c_an <= 0:
        raise ValueError(f"+z is not a stable ground state: B_z + 2 K_u / M_s = {chain.B[2] + chain.c_an:g} T "
                         f"must be > 0")


# ----------------------------------------------------------------------------- measured dispersion
def transverse_excitation(chain, amplitude, rng, direction=(0.0, 0.0, 1.0)):
    """Uniform state plus small random transverse components (a broadband excitation).

    Parameters
    ----------
    chain : PSLLChain
        Sets N and the vacancies (zero there).
    amplitude : float
        rms of each transverse component [rad], > 0 (e.g. 0.01).
    rng : numpy.random.Generator
        Consumed: one (2, N) normal draw.
    direction : 3-vector
        Ground-state direction (default +z).

    Returns
    -------
    ndarray, float64, shape (3, N)
        Unit vectors on occupied sites, zero on vacant ones.

    Raises
    ------
    ValueError
        Non-positive ``amplitude``.
    """
    amplitude = check_real(amplitude, "amplitude", positive=True)
    m = uniform_state(chain.n, direction)
    u = m[:, 0]
    e1 = np.cross(u, (1.0, 0.0, 0.0) if abs(u[0]) < 0.9 else (0.0, 1.0, 0.0))
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(u, e1)
    xi = rng.normal(0.0, amplitude, size=(2, chain.n))
    m = m + e1[:, None] * xi[0] + e2[:, None] * xi[1]
    m /= np.linalg.norm(m, axis=0)
    m[:, ~chain.occupied] = 0.0
    return m


def spin_wave_spectrum(chain, duration, *, amplitude=0.01, seed=0, realisation=0, dt=None, sample_every=1):
    """Space-time power spectrum of m_x after a broadband excitation of the +z state.

    Parameters
    ----------
    chain : PSLLChain
        Easy axis and field along z; ``alpha`` is used as given (0 for
        sharp lines).  Its vacancies (``occupied``) are used.
    duration : float
        Recording time [ps], > 0; the frequency bin is 1000 / duration GHz.
    amplitude : float
        rms transverse excitation [rad] (linear regime: <~ 0.05).
    seed, realisation : int
        The excitation uses ``numpy.random.default_rng([seed, realisation, 1])``
        (a stream separate from the vacancy draw of the same pair).
    dt : float, optional
        RK4 step [ps] (default a quarter of the stability limit).
    sample_every : int
        Record m_x every that many steps.  Sampling every step never
        aliases (the stability limit keeps omega_max dt < pi).

    Returns
    -------
    k : ndarray, float64, shape (N,)
        Signed wavevectors [1/nm], increasing.
    freqs : ndarray, float64, shape (n_f,)
        Non-negative frequencies [GHz].
    power : ndarray, float64, shape (N, n_f)
        ``|FFT|^2 / (N sum w^2)`` of the windowed, mean-subtracted m_x
        (arbitrary units, additive over realisations).

    Raises
    ------
    ValueError
        Bad chain geometry or arguments.
    """
    chain = check_chain(chain)
    _check_z_geometry(chain)
    seed, realisation = check_seed(seed, "seed"), check_seed(realisation, "realisation")
    _check_one_block(chain, "spin_wave_spectrum")
    k, freqs, power = _block_spectra(chain, [chain], [realisation], duration, amplitude=amplitude, seed=seed, dt=dt,
                                     sample_every=sample_every)
    return k, freqs, power[0]


def _check_one_block(chain, function):
    if chain.blocks != 1:
        raise ValueError(f"{function} needs a chain of one block, got blocks={chain.blocks} (the batch is built "
                         f"internally: pass the single chain)")


def _block_spectra(template, chains, realisations, duration, *, amplitude, seed, dt, sample_every):
    """Spectra of single chains (one block each) simulated together as the blocks of one chain.

    Returns (k (N,), freqs (n_f,), power (B, N, n_f)), as :func:`spin_wave_spectrum` for each block.
    """
    n = template.n
    m0 = np.concatenate([transverse_excitation(c, amplitude, np.random.default_rng([seed, r, 1]))
                         for c, r in zip(chains, realisations)], axis=1)
    batch = template.replace(n=n * len(chains), occupied=np.concatenate([c.occupied for c in chains]),
                             blocks=len(chains)) if len(chains) > 1 else chains[0]
    traj = batch.evolve(m0, duration, dt=dt, sample_every=sample_every, components="x")
    mx = traj.samples[:, 0, :].reshape(-1, len(chains), n)
    mx = mx - mx.mean(axis=0)
    w = np.hanning(mx.shape[0] + 2)[1:-1]  # strictly positive Hann window
    spec = scipy.fft.rfft(mx * w[:, None, None], axis=0)
    spec = scipy.fft.fft(spec, axis=2)
    power = np.moveaxis(np.abs(spec) ** 2, 0, 2) / (n * float((w * w).sum()))  # (block, k_numpy, f)
    k_numpy = 2 * np.pi * np.fft.fftfreq(n, d=template.a)
    order = np.argsort(-k_numpy, kind="stable")  # physical k = -k_numpy for f > 0 (module docstring)
    freqs = np.fft.rfftfreq(mx.shape[0], d=traj.t[1] - traj.t[0]) * 1e3  # 1/ps -> GHz
    return -k_numpy[order], freqs, power[:, order]


def peak_frequencies(freqs, power, *, f_min=0.0):
    """Peak frequency and FWHM linewidth of each row of a power spectrum.

    Parameters
    ----------
    freqs : ndarray, float64, shape (n_f,)
        Uniform frequency grid [GHz].
    power : ndarray, float64, shape (n_k, n_f)
        Non-negative power.
    f_min : float
        Ignore frequencies below this [GHz] (e.g. the static part).

    Returns
    -------
    f_peak : ndarray, float64, shape (n_k,)
        Peak frequencies [GHz]: the highest bin refined by a parabola
        through the log of it and its two neighbours.
    linewidth : ndarray, float64, shape (n_k,)
        Full width at half maximum [GHz], interpolated linearly between bins.

    Raises
    ------
    ValueError
        Shapes that do not match.
    """
    freqs = np.asarray(freqs, dtype=np.float64)
    power = np.asarray(power, dtype=np.float64)
    if power.ndim != 2 or power.shape[1] != freqs.size or freqs.size < 3:
        raise ValueError(f"power must have shape (n_k, {freqs.size}) with at least 3 frequencies, "
                         f"got {power.shape}")
    df = freqs[1] - freqs[0]
    p = np.where(freqs[None, :] >= f_min, power, 0.0)
    i = np.clip(np.argmax(p, axis=1), 1, freqs.size - 2)
    rows = np.arange(p.shape[0])
    tiny = np.finfo(float).tiny
    lm, l0, lp = (np.log(np.maximum(p[rows, i + s], tiny)) for s in (-1, 0, 1))
    denom = lm - 2 * l0 + lp
    delta = np.where(denom < 0, 0.5 * (lm - lp) / np.where(denom < 0, denom, -1.0), 0.0)
    f_peak = freqs[i] + np.clip(delta, -0.5, 0.5) * df
    width = np.empty(p.shape[0])
    for r in rows:
        row, j = p[r], i[r]
        half = 0.5 * row[j]
        lo = j
        while lo > 0 and row[lo - 1] > half:
            lo -= 1
        hi = j
        while hi < row.size - 1 and row[hi + 1] > half:
            hi += 1
        left = freqs[lo] - df * (row[lo] - half) / max(row[lo] - row[lo - 1], tiny) if lo > 0 else freqs[0]
        right = freqs[hi] + df * (row[hi] - half) / max(row[hi] - row[hi + 1], tiny) \
            if hi < row.size - 1 else freqs[-1]
        width[r] = right - left
    return f_peak, width


def line_shapes(freqs, power, edges, *, f_min=0.0):
    """The spectral function on coarse frequency bins, normalised at each k: the line shape S(k, f).

    Parameters
    ----------
    freqs : array_like, float64, shape (n_f,)
        Frequency grid of the spectrum [GHz].
    power : array_like, float64, shape (n_k, n_f)
        Power spectrum at each k (e.g. :attr:`DispersionResult.power`).
    edges : array_like, float64, shape (n_b + 1,)
        Increasing bin edges [GHz]; power outside them is dropped.
    f_min : float
        Power below this frequency is dropped (the static part).

    Returns
    -------
    ndarray, float64, shape (n_k, n_b)
        Each row sums to 1 (the fraction of the line's power in each bin);
        a row without power is uniform.

    Raises
    ------
    ValueError
        Shapes that do not match or edges not increasing.
    """
    freqs, power = np.asarray(freqs, dtype=np.float64), np.asarray(power, dtype=np.float64)
    edges = np.asarray(edges, dtype=np.float64)
    if power.ndim != 2 or power.shape[1] != freqs.size:
        raise ValueError(f"power must have shape (n_k, {freqs.size}), got {power.shape}")
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError(f"edges must be an increasing 1D array of >= 2 frequencies (GHz), got shape {edges.shape}")
    bins = np.digitize(freqs, edges) - 1
    keep = (bins >= 0) & (bins < edges.size - 1) & (freqs >= f_min)
    out = np.zeros((power.shape[0], edges.size - 1))
    for j in np.unique(bins[keep]):
        out[:, j] = power[:, keep & (bins == j)].sum(1)
    total = out.sum(1, keepdims=True)
    return np.where(total > 0, out / np.where(total > 0, total, 1.0), 1.0 / out.shape[1])


def spectral_moments(freqs, power, *, f_min=0.0):
    """Power-weighted mean frequency (centroid) and rms spread of each row of a spectrum.

    Parameters
    ----------
    freqs : ndarray, float64, shape (n_f,)
        Frequencies [GHz].
    power : ndarray, float64, shape (n_k, n_f)
        Non-negative power.
    f_min : float
        Ignore frequencies below this [GHz].

    Returns
    -------
    centroid, spread : ndarray, float64, shape (n_k,)
        ``sum f P / sum P`` and ``sqrt(sum (f - centroid)^2 P / sum P)`` [GHz].

    Raises
    ------
    ValueError
        Shapes that do not match.
    """
    freqs = np.asarray(freqs, dtype=np.float64)
    power = np.asarray(power, dtype=np.float64)
    if power.ndim != 2 or power.shape[1] != freqs.size:
        raise ValueError(f"power must have shape (n_k, {freqs.size}), got {power.shape}")
    p = np.where(freqs[None, :] >= f_min, power, 0.0)
    total = np.maximum(p.sum(1), np.finfo(float).tiny)
    centroid = (p * freqs).sum(1) / total
    spread = np.sqrt((p * (freqs[None, :] - centroid[:, None]) ** 2).sum(1) / total)
    return centroid, spread


def sum_rule_frequency(chain, k=None):
    """Exact mean magnon frequency at k of a chain with vacancies (first-moment sum rule).

    ``f(0) + (gamma / 2 pi)(2A/M_s) (<v|K|v> - <s|K|s>) / sum(s)`` with
    ``v = s exp(ikx)``, s the occupation (module docstring): the centroid of
    the power spectrum at k after a white, linear excitation of +z, for any
    kernel.  For the discrete kernel it equals ``f(0) + rho_b (f(k) - f(0))``,
    rho_b the occupied bonds per occupied site.  Without vacancies it is the
    analytic dispersion.

    Parameters
    ----------
    chain : PSLLChain
        Easy axis and B along z, D = 0 (interfacial DMI tilts the spins at
        vacancy edges, so +z is no longer the ground state).
    k : array_like, optional
        Wavevectors [1/nm] on the chain's grid (multiples of 2 pi / (N a));
        default ``chain.k``.

    Returns
    -------
    ndarray, float64, shape of ``k``
        Centroid frequency [GHz].

    Raises
    ------
    ValueError
        Bad geometry, D != 0, or a k off the grid.

    Notes
    -----
    Source: derived here for the vacancy model of arXiv:2603.10182 with the
    PS-LL operator of arXiv:2312.14068 (linearised about +z).
    """
    chain = check_chain(chain)
    _check_z_geometry(chain)
    if chain.D != 0:
        raise ValueError(f"the sum rule assumes D = 0 (the +z state is not stationary with DMI and vacancies), "
                         f"got D={chain.D:g} J/m^2")
    k = chain.k if k is None else np.asarray(k, dtype=np.float64)
    dk = 2 * np.pi / (chain.n * chain.a)
    j = np.rint(k / dk)
    if np.any(np.abs(k / dk - j) > 1e-6):
        raise ValueError("k must lie on the chain's wavevector grid, multiples of 2 pi / (N a)")
    s = chain.occupied.astype(np.float64)
    kfull = 2 * np.pi * np.fft.fftfreq(chain.n, d=chain.a)
    kern = exchange_kernel(kfull, chain.lattice_constant, chain.kernel)
    p = np.abs(np.fft.fft(s)) ** 2 / chain.n  # so that <s|K|s> = sum_q K(q) p(q)
    corr = np.fft.ifft(np.fft.fft(kern) * np.conj(np.fft.fft(p))).real  # corr[j] = sum_m K[m + j] p[m]
    vkv = corr[j.astype(int) % chain.n]
    sks = float((kern * p).sum())
    f0 = chain.gamma / (2 * np.pi) * (chain.B[2] + chain.c_an) * 1e-9
    return f0 + chain.gamma / (2 * np.pi) * chain.c_ex * (vkv - sks) / s.sum() * 1e-9


@dataclass
class DispersionResult:
    """Ensemble-averaged dispersion of a chain (:func:`measure_dispersion`).

    Attributes
    ----------
    k : ndarray, float64, shape (n_k,)
        Wavevectors [1/nm], 0 .. pi / a (folded: +k and -k averaged).
    f : ndarray, float64, shape (n_k,)
        Peak frequency [GHz] of the averaged spectrum at each k.
    linewidth : ndarray, float64, shape (n_k,)
        FWHM [GHz] of the averaged peak (window-limited: about
        1.44 * bin for the defect-free chain).
    analytic : ndarray, float64, shape (n_k,)
        Defect-free analytic dispersion at ``k`` [GHz].
    freqs : ndarray, float64, shape (n_f,)
        Frequency grid [GHz].
    power : ndarray, float64, shape (n_k, n_f)
        Averaged power spectrum (arbitrary units).
    centroid, spread : ndarray, float64, shape (n_k,)
        Power-weighted mean frequency and rms spread [GHz]
        (:func:`spectral_moments`): the spread measures the broadening.
    sum_rule : ndarray, float64, shape (n_k,) or None
        Expected centroid (:func:`sum_rule_frequency`, averaged over the
        realisations with weights N_occupied), None when D != 0.
    bin : float
        Frequency resolution 1 / duration [GHz].
    centroids, weights : ndarray, float64, shape (n_realisations, n_k)
        Centroid [GHz] of each realisation's own (folded) spectrum and its
        power above ``f_min`` (arbitrary units): ``centroid`` is exactly
        ``sum_r weights * centroids / sum_r weights`` (the centroid is
        linear in the power), so a resample of realisations (a bootstrap)
        gives the centroid of the resampled average.
    n_realisations : int
    sigma, tau : float or None
        Vacancy parameters (None: defect-free).
    occupied_fraction : float
        Mean occupied fraction over the realisations.
    """

    k: np.ndarray
    f: np.ndarray
    linewidth: np.ndarray
    analytic: np.ndarray
    freqs: np.ndarray
    power: np.ndarray
    centroid: np.ndarray
    spread: np.ndarray
    sum_rule: np.ndarray | None
    bin: float
    centroids: np.ndarray
    weights: np.ndarray
    n_realisations: int
    sigma: float | None
    tau: float | None
    occupied_fraction: float


def measure_dispersion(chain, duration, *, sigma=None, tau=None, n_realisations=1, seed=0, amplitude=0.01,
                       dt=None, sample_every=1, batch=1, progress=False):
    """Magnon dispersion f(k) from simulation, averaged over vacancy realisations.

    For realisation i the chain gets the vacancies
    ``telegraph_vacancies(N, sigma, tau, seed=seed, realisation=i)`` (none
    if ``sigma`` and ``tau`` are None), is excited and evolved by
    :func:`spin_wave_spectrum`; the power spectra are averaged, folded in k
    and their peaks read by :func:`peak_frequencies` (f > 0).

    Parameters
    ----------
    chain : PSLLChain
        Template (easy axis and B along z; its own ``occupied`` is replaced
        when ``sigma`` and ``tau`` are given).
    duration : float
        Recording time per realisation [ps]; bin = 1000 / duration GHz.
    sigma, tau : float, optional
        Mean occupied / vacant segment lengths in units of a (both or none).
    n_realisations : int
        Number of realisations averaged, >= 1.
    seed : int
        Seed of all draws (vacancies and excitations).
    amplitude, dt, sample_every
        As in :func:`spin_wave_spectrum`.
    batch : int
        Realisations simulated together, as the blocks of one chain
        (:class:`~mag_ml.physics.pseudospectral.PSLLChain`, ``blocks``):
        the same trajectories and results (to rounding) at a fraction of
        the per-step overhead; >= 1, default 1.
    progress : bool
        Show a tqdm progress bar over batches of realisations.

    Returns
    -------
    DispersionResult

    Raises
    ------
    ValueError
        Only one of ``sigma``/``tau`` given, bad defect parameters (see
        :func:`mag_ml.physics.defects.telegraph_vacancies`), bad chain
        geometry or arguments.

    Notes
    -----
    Source: dispersion relations with statistical vacancies, Eagan, Copus &
    Iacocca, arXiv:2603.10182; PS-LL dynamics, arXiv:2312.14068.
    """
    chain = check_chain(chain)
    _check_z_geometry(chain)
    n_realisations = check_int(n_realisations, "n_realisations", minimum=1)
    seed = check_seed(seed, "seed")
    if (sigma is None) != (tau is None):
        raise ValueError(f"give both sigma and tau or neither, got sigma={sigma!r}, tau={tau!r}")
    if sigma is not None:
        check_defect_parameters(chain.n, sigma, tau)
    batch = check_int(batch, "batch", minimum=1)
    _check_one_block(chain, "measure_dispersion")
    iterator = range(0, n_realisations, batch)
    if progress:
        iterator = progress_bar(iterator, desc="dispersion realisations")
    total, occ_sum, rule, spectra = None, 0.0, 0.0, []
    for start in iterator:
        group = list(range(start, min(start + batch, n_realisations)))
        chains = [chain if sigma is None else
                  chain.replace(occupied=telegraph_vacancies(chain.n, sigma, tau, seed=seed, realisation=i))
                  for i in group]
        for c in chains:
            occ_sum += float(c.occupied.mean())
            if chain.D == 0:  # weight N_occ: the power of realisation i at k is proportional to it
                rule = rule + float(c.occupied.sum()) * sum_rule_frequency(c, chain.k)
        k, freqs, powers = _block_spectra(chain, chains, group, duration, amplitude=amplitude, seed=seed, dt=dt,
                                          sample_every=sample_every)
        for power in powers:
            total = power if total is None else total + power
            spectra.append(power)
    total /= n_realisations
    # fold: row for +k and -k averaged; k = 0 .. pi/a
    kpos = chain.k
    idx = {round(float(v) / kpos[1]): r for r, v in enumerate(k)} if chain.n > 1 else {0: 0}

    def fold(pw):
        return np.stack([0.5 * (pw[idx[j]] + pw[idx.get(-j, idx[j])]) for j in range(kpos.size)])

    folded = fold(total)
    f_min = 0.5 * (freqs[1] - freqs[0])
    f, width = peak_frequencies(freqs, folded, f_min=f_min)
    centroid, spread = spectral_moments(freqs, folded, f_min=f_min)
    per = [fold(pw) for pw in spectra]
    centroids = np.stack([spectral_moments(freqs, pw, f_min=f_min)[0] for pw in per])
    weights = np.stack([np.where(freqs[None, :] >= f_min, pw, 0.0).sum(1) for pw in per])
    sum_rule = rule / (occ_sum * chain.n) if chain.D == 0 else None
    return DispersionResult(k=kpos, f=f, linewidth=width, analytic=chain_dispersion(chain, kpos), freqs=freqs,
                            power=folded, centroid=centroid, spread=spread, sum_rule=sum_rule,
                            bin=float(freqs[1] - freqs[0]), centroids=centroids, weights=weights,
                            n_realisations=n_realisations,
                            sigma=None if sigma is None else float(sigma), tau=None if tau is None else float(tau),
                            occupied_fraction=occ_sum / n_realisations)
