"""Metropolis Monte Carlo, simulated annealing and zero-temperature relaxation.

One engine, :class:`MonteCarloChain`: :func:`metropolis`, :func:`anneal`,
:func:`relax` and :func:`mag_ml.physics.micromagnetics.thermal_run` are
schedules of its sweeps.  It holds the checkerboard-packed layout of
:mod:`mag_ml.physics.lattice`: sites of one colour have neighbours only in
the other colour, so a half-sweep updates them in parallel (``numba.prange``
over rows) and is still an exact sequential-update Metropolis chain.  Each
proposal draws its random numbers from the counter-based generator of
:mod:`mag_ml.physics.rng`, keyed by (seed, sample, sweep, colour, site): the
chain is identical for any number of threads.

Proposal: ``S' = (S + delta u) / |S + delta u|`` with ``u`` uniform on the unit
sphere.  The distribution of ``S'`` is rotationally symmetric about ``S``, so
the proposal is symmetric and plain Metropolis acceptance
``min(1, exp(-dE / T))`` satisfies detailed balance.  The cone width
``delta`` sets the typical step (about ``delta`` radians for small
``delta``); :func:`anneal` adapts it between blocks of sweeps to keep the
acceptance near one half, while :func:`metropolis` keeps it fixed.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import asdict, dataclass

import numba
import numpy as np
from numba import prange
from mag_ml.progress import progress_bar

from ..checks import check_int, check_memory, check_real, format_bytes
from .hamiltonian import Hamiltonian, pair_field
from .lattice import as_real_array, check_mask, check_shape, check_spins, pack, unpack
from .rng import check_seed, random_direction, random_spins, site_draw, stream_key, sweep_key, uniform53
from .topology import topological_charge

_LN2 = math.log(2.0)
_EXP_MAX = 40.0  # exp(-40) < 2**-53, the resolution of the acceptance draw
_TINY = 1e-300
_OMEGA = 1.9  # over-relaxation factor of the T = 0 relaxation
ADAPT_BLOCK = 10  # sweeps between adaptations of the proposal cone


def adapted_cone(delta, acceptance, target=0.5):
    """Cone width of the next block of sweeps from the last block's acceptance rate.

    Deterministic (the next cone depends only on the last block), clipped
    to [1e-3, 2]; used by :func:`anneal` and
    :func:`mag_ml.physics.micromagnetics.thermal_run`.
    """
    return float(np.clip(delta * (0.5 + acceptance) / (0.5 + target), 1e-3, 2.0))


@numba.njit(inline="always", fastmath=True)
def exp_neg(x):
    """``exp(-x)`` for ``0 <= x <= 40``, branch-free so the sweep loop vectorises.

    ``x = n ln2 + ln2/2 + r`` with ``|r| <= ln2/2``: a degree-12 Taylor series
    of ``exp(-r)`` (relative error < 1e-14) times ``2**-n`` built from the bits
    of ``n < 64``.
    """
    n = math.floor(x * (1.0 / _LN2))
    r = n * _LN2 + 0.5 * _LN2 - x
    p = 1.0 + r * (1.0 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720 + r * (
        1 / 5040 + r * (1 / 40320 + r * (1 / 362880 + r * (1 / 3628800 + r * (1 / 39916800 + r / 479001600)))))))))))
    p *= math.sqrt(0.5)
    m = np.int64(n)
    p *= 0.5 if m & 1 else 1.0
    p *= 0.25 if m & 2 else 1.0
    p *= 0.0625 if m & 4 else 1.0
    p *= 2.0**-8 if m & 8 else 1.0
    p *= 2.0**-16 if m & 16 else 1.0
    p *= 2.0**-32 if m & 32 else 1.0
    return p


@numba.njit(cache=True)
def _fill_ghosts(P, periodic):
    """Copy periodic images into the ghost frame of packed spins (2, 3, H+2, Wp+2)."""
    h, wp = P.shape[2] - 2, P.shape[3] - 2
    for c in range(2):
        for a in range(3):
            if periodic:
                for k in range(1, wp + 1):
                    P[c, a, 0, k] = P[c, a, h, k]
                    P[c, a, h + 1, k] = P[c, a, 1, k]
                for y in range(h + 2):
                    P[c, a, y, 0] = P[c, a, y, wp]
                    P[c, a, y, wp + 1] = P[c, a, y, 1]
            # open boundaries: the frame stays zero, so edge sites have fewer bonds


@numba.njit(inline="always", fastmath=True)
def _packed_field(N, y, k, p, J, Dx, Dy):
    """Exchange + DMI field on packed site (y, k) of the colour whose row offset is p.

    ``N`` holds the other colour; see :mod:`mag_ml.physics.lattice` for the
    neighbour columns ``k + p`` (right) and ``k + p - 1`` (left).
    """
    kr, kl = k + p, k + p - 1
    return pair_field(N[0, y, kr], N[1, y, kr], N[2, y, kr], N[0, y, kl], N[1, y, kl], N[2, y, kl],
                      N[0, y + 1, k], N[1, y + 1, k], N[2, y + 1, k], N[0, y - 1, k], N[1, y - 1, k],
                      N[2, y - 1, k], J, Dx, Dy)


@numba.njit(parallel=True, fastmath=True, cache=True)
def _sweeps(P, occ, periodic, J, Dx, Dy, B, K, beta, delta, key, sweep0, n_sweeps, dE_out, dM_out,
            acc_out):
    """``n_sweeps`` Metropolis sweeps in place.

    Records per sweep the energy change, the change of total moment (3,) and
    the accepted count, all summed from accepted moves only.
    """
    h, wp = P.shape[2] - 2, P.shape[3] - 2
    for s in range(n_sweeps):
        dE_sweep = 0.0
        dMx, dMy, dMz = 0.0, 0.0, 0.0
        acc_sweep = 0
        for c in range(2):
            _fill_ghosts(P, periodic)
            kc = sweep_key(key, sweep0 + s, c)
            S, N = P[c], P[1 - c]
            for y in prange(1, h + 1):
                p = (y - 1 + c) % 2
                dE_row = 0.0
                mx, my, mz = 0.0, 0.0, 0.0
                acc_row = 0
                first = (y - 1) * wp - 1  # site index of k = 0 within this colour
                # branch-free body (selects, no libm calls): LLVM vectorises it
                for k in range(1, wp + 1):
                    hx, hy, hz = _packed_field(N, y, k, p, J, Dx, Dy)
                    hz += B
                    sx, sy, sz = S[0, y, k], S[1, y, k], S[2, y, k]
                    ux, uy, uz = random_direction(site_draw(kc, first + k, 0))
                    u = uniform53(site_draw(kc, first + k, 1))
                    nx, ny, nz = sx + delta * ux, sy + delta * uy, sz + delta * uz
                    inv = 1.0 / math.sqrt(nx * nx + ny * ny + nz * nz)
                    nx, ny, nz = nx * inv, ny * inv, nz * inv
                    dE = -((nx - sx) * hx + (ny - sy) * hy + (nz - sz) * hz) - K * (nz * nz - sz * sz)
                    accept = (u < exp_neg(min(beta * max(dE, 0.0), _EXP_MAX))) & (occ[c, y, k] > 0.0)
                    S[0, y, k] = nx if accept else sx
                    S[1, y, k] = ny if accept else sy
                    S[2, y, k] = nz if accept else sz
                    dE_row += dE if accept else 0.0
                    mx += nx - sx if accept else 0.0
                    my += ny - sy if accept else 0.0
                    mz += nz - sz if accept else 0.0
                    acc_row += 1 if accept else 0
                dE_sweep += dE_row
                dMx += mx
                dMy += my
                dMz += mz
                acc_sweep += acc_row
        dE_out[s] = dE_sweep
        dM_out[s, 0], dM_out[s, 1], dM_out[s, 2] = dMx, dMy, dMz
        acc_out[s] = acc_sweep


@numba.njit(parallel=True, fastmath=True, cache=True)
def _align(P, occ, periodic, J, Dx, Dy, B, K, omega, tol, max_sweeps):
    """Zero-temperature relaxation: turn each spin toward its effective field.

    ``S <- normalise(S + omega (h/|h| - S))`` sublattice by sublattice
    (``omega = 1`` is plain field alignment; ``1 < omega < 2`` over-relaxes,
    as in successive over-relaxation, with the same fixed points: every spin
    along its field).  Stops when no spin component changes by more than
    ``tol`` in a sweep.
    """
    h, wp = P.shape[2] - 2, P.shape[3] - 2
    for s in range(max_sweeps):
        change = 0.0
        for c in range(2):
            _fill_ghosts(P, periodic)
            S, N = P[c], P[1 - c]
            for y in prange(1, h + 1):
                p = (y - 1 + c) % 2
                row_change = 0.0
                for k in range(1, wp + 1):
                    hx, hy, hz = _packed_field(N, y, k, p, J, Dx, Dy)
                    sx, sy, sz = S[0, y, k], S[1, y, k], S[2, y, k]
                    hz += B + 2.0 * K * sz
                    inv = 1.0 / math.sqrt(hx * hx + hy * hy + hz * hz + _TINY)
                    tx = sx + omega * (hx * inv - sx)
                    ty = sy + omega * (hy * inv - sy)
                    tz = sz + omega * (hz * inv - sz)
                    # vacancies stay 0; _TINY keeps 0/0 out of the branch-free loop
                    inv = occ[c, y, k] / math.sqrt(tx * tx + ty * ty + tz * tz + _TINY)
                    tx, ty, tz = tx * inv, ty * inv, tz * inv
                    row_change = max(row_change, max(abs(tx - sx), max(abs(ty - sy), abs(tz - sz))))
                    S[0, y, k], S[1, y, k], S[2, y, k] = tx, ty, tz
                change = max(change, row_change)
        if change < tol:
            return s + 1
    return max_sweeps


_MIN_SITES_PER_THREAD = 4096  # below this a parallel region costs more than it saves


@contextlib.contextmanager
def _threads_for(n_sites):
    """Run small lattices on one thread: each half-sweep is then only microseconds of work."""
    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(before, n_sites // _MIN_SITES_PER_THREAD)))
    try:
        yield
    finally:
        numba.set_num_threads(before)


def check_temperature(T, name="T", allow_zero=False):
    """Return ``T`` as a float after checking it is a finite temperature > 0 (>= 0 if allowed).

    Python and NumPy reals are accepted, bools are not.

    Raises
    ------
    ValueError
        Out of range or not finite; a value that is not a real number raises
        :class:`mag_ml.checks.ArgumentTypeError` (a TypeError and a ValueError).
    """
    allowed = f"a finite temperature {'>= 0' if allow_zero else '> 0'} (units of J/k_B)"
    T = check_real(T, name, allowed=allowed)
    if T < 0 or (T == 0 and not allow_zero):
        raise ValueError(f"{name} must be {allowed}, got {T!r}")
    return T


def _check_n_sweeps(n_sweeps, name="n_sweeps"):
    """A positive integer number of sweeps (``1e11`` is a float and refused; an int is checked against memory)."""
    return check_int(n_sweeps, name, minimum=1, allowed="a positive integer")


def _check_delta(delta):
    """A positive finite cone width (Python or NumPy real)."""
    allowed = "a positive finite cone width"
    delta = check_real(delta, "delta", allowed=allowed)
    if delta <= 0:
        raise ValueError(f"delta must be {allowed}, got {delta!r}")
    return delta


def _is_shape(spins):
    """A flat tuple or list (of scalars): a lattice shape, never a spin array, which has three axes."""
    return isinstance(spins, (tuple, list)) and all(np.ndim(e) == 0 for e in spins)


class MonteCarloChain:
    """A Markov chain of one spin state: Metropolis sweeps and T = 0 relaxation in place.

    The one engine under :func:`metropolis`, :func:`anneal`, :func:`relax`
    and :func:`mag_ml.physics.micromagnetics.thermal_run`, which are
    schedules of :meth:`sweep` and :meth:`relax` calls on it.  The lattice
    model is the classical Heisenberg model with DMI, field and anisotropy of
    Kwon et al. (Adv. Sci. 2021), :class:`mag_ml.Hamiltonian`; the sampler is
    single-spin Metropolis (Metropolis et al., J. Chem. Phys. 21, 1087
    (1953)) on the checkerboard-packed layout of :mod:`mag_ml.physics.lattice`
    (module notes).

    Parameters
    ----------
    hamiltonian : Hamiltonian
        Couplings (units of J) and boundary (periodic or open).
    spins : ndarray (3, H, W) float64 or tuple (H, W)
        Initial state (not modified; unit vectors, 0 on vacancies), or a
        lattice shape for the random start ``random_spins(shape, seed, sample)``.
        A flat list ``[H, W]`` is read as a shape too, as in
        :func:`mag_ml.checks.check_shape`.
    mask : ndarray of bool (H, W), optional
        Occupied sites (at least one); vacancies carry no moment.
    seed, sample : int
        Key of the random stream: sweep ``s`` draws from (seed, sample, s).
    sweep_offset : int
        Index of the first sweep, to continue a chain with fresh numbers.

    Attributes
    ----------
    hamiltonian : Hamiltonian
    mask : ndarray of bool (H, W) or None
    n_sites : int
        Number of occupied sites.
    sweep_index : int
        Index of the next sweep (advanced by :meth:`sweep`).
    energy : float
        Total energy (units of J): computed at the start and after
        :meth:`relax`, updated by :meth:`sweep` from the accepted moves.
    moment : ndarray (3,) float64
        Total spin, kept like ``energy``.

    Raises
    ------
    TypeError
        If ``hamiltonian`` is not a :class:`mag_ml.Hamiltonian`, or ``mask``
        is not boolean.
    ValueError
        Bad seed, sample, sweep offset, shape (two even integers), mask shape,
        an all-False mask (nothing to sample), or spins that are not unit
        vectors (0 on vacancies).

    Notes
    -----
    The state is held packed: the two colours as float64
    ``(2, 3, H + 2, W // 2 + 2)`` with a ghost frame for the boundary, and
    the occupation as float64 ``(2, H + 2, W // 2 + 2)``, 1 on occupied
    sites; :attr:`spins` unpacks it.
    """

    def __init__(self, hamiltonian, spins, *, mask=None, seed=0, sample=0, sweep_offset=0):
        if not isinstance(hamiltonian, Hamiltonian):
            raise TypeError(f"hamiltonian must be a mag_ml.Hamiltonian, got {type(hamiltonian).__name__}")
        self.hamiltonian = hamiltonian
        self._key = stream_key(check_seed(seed, "seed"), check_seed(sample, "sample"))
        self.sweep_index = check_seed(sweep_offset, "sweep_offset")
        if _is_shape(spins):
            spins = random_spins(check_shape(spins, name="shape"), seed, sample)
        else:
            spins = as_real_array(spins, "spins")
            if spins.ndim != 3 or spins.shape[0] != 3:
                raise ValueError(f"spins must be a state of shape (3, H, W) (channels first) or a lattice shape "
                                 f"tuple (H, W), got an array of shape {spins.shape}")
            spins = spins.astype(np.float64)
        self.mask = check_mask(mask, spins.shape[-2:])
        if self.mask is not None:
            if not self.mask.any():
                raise ValueError(f"mask must mark at least one occupied site, got an all-False mask of shape "
                                 f"{self.mask.shape} (nothing to sample)")
            spins = spins * self.mask
        self._packed, self._occupied = pack(check_spins(spins, mask=self.mask), self.mask)
        self.n_sites = int(self._occupied.sum())
        Dx, Dy = hamiltonian.dmi_vectors()
        self._couplings = (hamiltonian.periodic, hamiltonian.J, Dx, Dy, hamiltonian.B, hamiltonian.K)
        self._recount()

    def _recount(self):
        """Energy and moment recomputed from the spins."""
        spins = self.spins
        self.energy = self.hamiltonian.energy(spins, self.mask)
        self.moment = spins.sum(axis=(1, 2))

    @property
    def spins(self):
        """The current state, a new ndarray (3, H, W) float64 (0 on vacancies)."""
        return unpack(self._packed)

    @property
    def magnetisation(self):
        """Mean spin per occupied site, ndarray (3,) float64."""
        return self.moment / self.n_sites

    def sweep(self, T, n_sweeps=1, delta=0.5):
        """Run ``n_sweeps`` Metropolis sweeps at temperature ``T`` in place.

        One sweep proposes every site of colour 0, then of colour 1, once
        (module notes); sweep ``s`` uses the random numbers of
        (seed, sample, ``sweep_index + s``), whatever the thread count.

        Parameters
        ----------
        T : float
            Temperature in units of J/k_B, > 0.
        n_sweeps : int
            Number of sweeps, >= 1.
        delta : float
            Cone width of the proposal, > 0.

        Returns
        -------
        dE : ndarray (n_sweeps,) float64
            Energy change of each sweep (units of J).
        dM : ndarray (n_sweeps, 3) float64
            Change of the total spin in each sweep.
        accepted : ndarray (n_sweeps,) int64
            Accepted proposals in each sweep.

        Raises
        ------
        ValueError
            Bad temperature, sweep count (a float such as ``1e11`` is not a
            count) or cone width (Python or NumPy reals are accepted).
        TooLargeError
            The per-sweep records would not fit in memory.
        """
        beta = 1.0 / check_temperature(T)
        n = _check_n_sweeps(n_sweeps)
        delta = _check_delta(delta)
        check_memory(_SWEEP_RECORD_BYTES * n, f"sweep(n_sweeps={n})",
                     hint=f"the per-sweep records take {_SWEEP_RECORD_BYTES} bytes a sweep: run the sweeps in blocks")
        dE, dM, accepted = np.zeros(n), np.zeros((n, 3)), np.zeros(n, dtype=np.int64)
        with _threads_for(self._packed[0, 0].size):
            _sweeps(self._packed, self._occupied, *self._couplings, beta, float(delta), self._key,
                    self.sweep_index, n, dE, dM, accepted)
        self.sweep_index += n
        self.energy += dE.sum()
        self.moment = self.moment + dM.sum(axis=0)
        return dE, dM, accepted

    def relax(self, omega=_OMEGA, tol=1e-6, max_sweeps=100_000):
        """Zero-temperature relaxation in place (:func:`relax` has the details).

        Parameters
        ----------
        omega : float in (0, 2)
            Relaxation factor (1: plain field alignment).
        tol : float
            Largest allowed change of a spin component in the last sweep, > 0.
        max_sweeps : int

        Returns
        -------
        int
            Sweeps used (``max_sweeps`` if not converged).

        Raises
        ------
        ValueError
            Bad tolerance, relaxation factor or sweep count.
        """
        tol, omega, max_sweeps = _check_relax_arguments(omega, tol, max_sweeps)
        with _threads_for(self._packed[0, 0].size):
            n = _align(self._packed, self._occupied, *self._couplings, float(omega), float(tol), int(max_sweeps))
        self._recount()
        return int(n)


_SWEEP_RECORD_BYTES = 40  # dE, dM (3) and accepted of one sweep
_METROPOLIS_RECORD_BYTES = 104  # the sweep records plus the energy, magnetisation and acceptance series


def _check_relax_arguments(omega, tol, max_sweeps, tol_name="tol"):
    """Validated (tol, omega, max_sweeps) of a T = 0 relaxation."""
    allowed = "a positive finite number"
    tol = check_real(tol, tol_name, allowed=allowed)
    if tol <= 0:
        raise ValueError(f"{tol_name} must be {allowed}, got {tol!r}")
    omega = check_real(omega, "omega", allowed="a real number in (0, 2) (1: plain field alignment)")
    if not 0 < omega < 2:
        raise ValueError(f"omega must lie in (0, 2) (1: plain field alignment), got {omega!r}")
    max_sweeps = check_int(max_sweeps, "max_sweeps", minimum=1, allowed="a positive integer")
    return tol, omega, max_sweeps


@dataclass
class MetropolisResult:
    """Outcome of :func:`metropolis`.

    Attributes
    ----------
    spins : ndarray (3, H, W) float64
        Final state.
    energy : ndarray (n_sweeps,) float64
        Total energy after each sweep, tracked from accepted moves (units of J).
    magnetisation : ndarray (n_sweeps, 3) float64
        Mean spin (per occupied site) after each sweep.
    acceptance : ndarray (n_sweeps,) float64
        Fraction of accepted proposals in each sweep.
    """

    spins: np.ndarray
    energy: np.ndarray
    magnetisation: np.ndarray
    acceptance: np.ndarray


def metropolis(hamiltonian, spins, T, n_sweeps, *, seed=0, sample=0, sweep_offset=0, delta=0.5,
               mask=None):
    """Sample the Boltzmann distribution at temperature ``T`` with Metropolis sweeps.

    One sweep is a checkerboard pass: every site of colour 0, then of colour 1,
    each proposed once (exact single-spin Metropolis; see module notes).

    Parameters
    ----------
    hamiltonian : Hamiltonian
    spins : ndarray (3, H, W) float64 or tuple (H, W)
        Initial state (not modified), or a lattice shape for a random start
        (a flat list ``[H, W]`` is a shape too).
    T : float
        Temperature in units of J/k_B, > 0.
    n_sweeps : int
        Number of sweeps, >= 1 (an integer: ``1e11`` is refused).
    seed, sample : int
        Key of the random stream; results depend only on (seed, sample,
        sweep_offset) and the inputs, not on the thread count.
    sweep_offset : int
        Index of the first sweep, to continue a chain with fresh numbers.
    delta : float
        Cone width of the proposal, > 0 (fixed, so detailed balance holds).
    mask : ndarray of bool (H, W), optional
        Occupied sites; vacancies carry no moment.

    Returns
    -------
    MetropolisResult

    Raises
    ------
    ValueError
        Bad temperature, sweep count, cone width, seed, spins or mask (an
        all-False mask leaves nothing to sample).
    TypeError
        If ``hamiltonian`` is not a :class:`mag_ml.Hamiltonian`.
    TooLargeError
        The per-sweep series would not fit in memory (104 bytes a sweep).

    References
    ----------
    Metropolis et al., J. Chem. Phys. 21, 1087 (1953); checkerboard updates as
    in Spirit and Vampire.
    """
    check_temperature(T)
    n = _check_n_sweeps(n_sweeps)
    delta = _check_delta(delta)
    check_memory(_METROPOLIS_RECORD_BYTES * n, f"metropolis(n_sweeps={n})",
                 hint=f"the per-sweep series take {_METROPOLIS_RECORD_BYTES} bytes a sweep: run the chain in blocks "
                      "(sweep_offset continues it)")
    chain = MonteCarloChain(hamiltonian, spins, mask=mask, seed=seed, sample=sample, sweep_offset=sweep_offset)
    e0, m0 = chain.energy, chain.moment
    dE, dM, acc = chain.sweep(T, n_sweeps, delta)
    m = (m0 + np.cumsum(dM, axis=0)) / chain.n_sites
    return MetropolisResult(chain.spins, e0 + np.cumsum(dE), m, acc / chain.n_sites)


@dataclass(frozen=True)
class AnnealSchedule:
    """Geometric cooling schedule of :func:`anneal`.

    ``n_steps`` temperatures from ``T_start`` down to ``T_end``,
    ``T_n = T_start (T_end / T_start)^(n / (n_steps - 1))``, each held for
    ``sweeps_per_step`` Metropolis sweeps.  ``T_start`` should lie above the
    ordering (spiral/skyrmion crossover) temperature, about 0.7 J for D = 0.3,
    B = 0.05; at ``T_end`` the state is frozen and :func:`relax` then takes it
    to the nearest metastable minimum.

    Raises
    ------
    ValueError
        Non-positive temperatures, ``T_end > T_start`` or counts < 1.
    """

    T_start: float = 1.0
    T_end: float = 0.01
    n_steps: int = 40
    sweeps_per_step: int = 100

    def __post_init__(self):
        check_temperature(self.T_start, "T_start")
        check_temperature(self.T_end, "T_end")
        if self.T_end > self.T_start:
            raise ValueError(f"T_end must not exceed T_start={self.T_start}, got {self.T_end}")
        for name in ("n_steps", "sweeps_per_step"):
            check_int(getattr(self, name), name, minimum=1, allowed="a positive integer")

    def temperatures(self):
        """Temperatures of the steps, ndarray (n_steps,) float64, decreasing."""
        if self.n_steps == 1:
            return np.array([self.T_start])
        return np.geomspace(self.T_start, self.T_end, self.n_steps)

    def as_dict(self):
        """Schedule as a flat dict (HDF5 attributes, artifact keys)."""
        return asdict(self)

    @property
    def n_sweeps(self):
        return self.n_steps * self.sweeps_per_step


@dataclass
class AnnealResult:
    """Outcome of :func:`anneal`.

    Attributes
    ----------
    spins : ndarray (3, H, W) float64
        Annealed and relaxed (metastable) state.
    energy : float
        Its total energy (units of J).
    temperatures, energy_history, charge_history, acceptance_history : ndarray (n_steps,)
        Per temperature step: T, energy and topological charge at the end of
        the step, mean acceptance.
    snapshots : ndarray (n_snapshots, 3, H, W) or None
        States spread evenly over the anneal, the last one relaxed.
    relax_sweeps : int
        Sweeps the final relaxation took.
    """

    spins: np.ndarray
    energy: float
    temperatures: np.ndarray
    energy_history: np.ndarray
    charge_history: np.ndarray
    acceptance_history: np.ndarray
    snapshots: np.ndarray | None
    relax_sweeps: int


def anneal(hamiltonian, spins, schedule, *, seed=0, sample=0, mask=None, n_snapshots=0,
           target_acceptance=0.5, relax_tol=1e-6, progress=False):
    """Simulated annealing followed by zero-temperature relaxation.

    Generates the metastable skyrmion states of the E-VAE dataset (Kwon et
    al., Adv. Sci. 2021, Methods: Monte Carlo simulated annealing of the
    Heisenberg model with DMI and field).  From a random (infinite
    temperature) state, each step of ``schedule`` runs Metropolis sweeps at its
    temperature; the cone width adapts between blocks of 10 sweeps to keep the
    acceptance near ``target_acceptance``.  The final state is relaxed at T = 0
    by field alignment (:func:`relax`).

    Parameters
    ----------
    hamiltonian : Hamiltonian
    spins : tuple (H, W) or ndarray (3, H, W)
        Lattice shape (random start keyed by (seed, sample)) or initial state.
    schedule : AnnealSchedule
    seed, sample : int
        The result depends only on (seed, sample) and the inputs.
    mask : ndarray of bool (H, W), optional
    n_snapshots : int
        Number of states to keep for animations, >= 0 (0 keeps none).
    target_acceptance : float in (0, 1)
    relax_tol : float
        Convergence threshold of the final relaxation, a positive finite
        number (checked before the anneal starts).
    progress : bool
        Show a tqdm progress bar over temperature steps.

    Returns
    -------
    AnnealResult

    Raises
    ------
    ValueError, TypeError
        Bad schedule, seed, shape, spins, mask, n_snapshots, target_acceptance
        or relax_tol.
    TooLargeError
        The histories and snapshots would not fit in memory.
    """
    if not isinstance(schedule, AnnealSchedule):
        raise TypeError(f"schedule must be an AnnealSchedule, got {type(schedule).__name__}")
    target_acceptance = check_real(target_acceptance, "target_acceptance", allowed="a real number in (0, 1)")
    if not 0 < target_acceptance < 1:
        raise ValueError(f"target_acceptance must lie in (0, 1), got {target_acceptance!r}")
    n_snapshots = check_int(n_snapshots, "n_snapshots", minimum=0)
    relax_tol, _, _ = _check_relax_arguments(_OMEGA, relax_tol, 1, tol_name="relax_tol")
    n = int(schedule.n_steps)
    check_memory(32 * n + 8 * n_snapshots, f"anneal(n_steps={n}, n_snapshots={n_snapshots})",
                 hint="the histories take 32 bytes per temperature step")
    chain = MonteCarloChain(hamiltonian, spins, mask=mask, seed=seed, sample=sample)
    lattice = chain.spins.shape[1:]
    state_bytes = 24 * lattice[0] * lattice[1]
    kept = min(n_snapshots, n + 1)  # at most one snapshot per temperature step, plus the relaxed state
    check_memory(2 * kept * state_bytes, f"anneal(n_snapshots={n_snapshots}) on a {lattice} lattice",
                 hint=f"each snapshot takes {format_bytes(state_bytes)}")
    temps = schedule.temperatures()
    n = len(temps)
    energy, charge, acceptance = np.empty(n), np.empty(n), np.empty(n)
    snap_at = set(np.linspace(0, n - 1, n_snapshots).round().astype(int)[:-1]) if n_snapshots > 1 else set()
    snapshots = []
    delta = 1.0
    for i, T in enumerate(progress_bar(temps, desc="anneal", disable=not progress, leave=False)):
        accepted = 0
        for block in range(0, schedule.sweeps_per_step, ADAPT_BLOCK):
            m = min(ADAPT_BLOCK, schedule.sweeps_per_step - block)
            _, _, acc = chain.sweep(T, m, delta)
            accepted += acc.sum()
            delta = adapted_cone(delta, acc.sum() / (m * chain.n_sites), target_acceptance)
        state = chain.spins
        energy[i] = hamiltonian.energy(state, chain.mask)  # recomputed, not the running chain.energy
        charge[i] = topological_charge(state, mask=chain.mask, boundary=hamiltonian.boundary)
        acceptance[i] = accepted / (schedule.sweeps_per_step * chain.n_sites)
        if i in snap_at:
            snapshots.append(state)
    n_relax = chain.relax(tol=relax_tol)
    final = chain.spins
    if n_snapshots >= 1:
        snapshots.append(final)
    return AnnealResult(
        spins=final,
        energy=chain.energy,
        temperatures=temps,
        energy_history=energy,
        charge_history=charge,
        acceptance_history=acceptance,
        snapshots=np.stack(snapshots) if snapshots else None,
        relax_sweeps=n_relax,
    )


def relax(hamiltonian, spins, *, mask=None, omega=_OMEGA, tol=1e-6, max_sweeps=100_000):
    """Zero-temperature relaxation to the nearest metastable state.

    Each spin is turned toward its effective field, sublattice by sublattice
    (the 'greedy' field-alignment algorithm of Kwon et al. 2021, used to build
    target states), until no spin component moves by more than ``tol`` in a
    sweep.  ``omega = 1`` is plain alignment, which lowers the energy at every
    step for K >= 0 but crawls along soft modes (skyrmion translations, spiral
    phase); over-relaxation with ``omega = 1.9`` reaches the same fixed point
    (every spin along its field, cos(theta) = 1) in 10-20 times fewer sweeps.

    Parameters
    ----------
    hamiltonian : Hamiltonian
    spins : ndarray (3, H, W) float64
        Initial state (not modified).
    mask : ndarray of bool (H, W), optional
    omega : float in (0, 2)
        Relaxation factor.
    tol : float
        Largest allowed change of a spin component in the last sweep.  The
        default 1e-6 leaves a torque |S x h|/|h| of order 1e-6, so
        1 - cos(theta) ~ 1e-12 and the energy is converged to ~1e-12 per spin;
        much smaller values chase the slow drift of skyrmions along the
        lattice's almost flat translation modes.
    max_sweeps : int

    Returns
    -------
    spins : ndarray (3, H, W) float64
    n_sweeps : int
        Sweeps used (``max_sweeps`` if not converged).

    Raises
    ------
    ValueError
        Bad spins, mask, tolerance, relaxation factor or sweep count (values
        that are not numbers, ``tol="a"`` or ``omega=None``, raise
        :class:`mag_ml.checks.ArgumentTypeError`, a TypeError and a ValueError).
    """
    tol, omega, max_sweeps = _check_relax_arguments(omega, tol, max_sweeps)
    chain = MonteCarloChain(hamiltonian, spins, mask=mask)
    n = chain.relax(omega, tol, max_sweeps)
    return chain.spins, n
