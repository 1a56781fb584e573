"""Batched Metropolis, annealing and T = 0 relaxation in torch, on the CPU or a CUDA device.

The torch twin of :mod:`mag_ml.physics.monte_carlo` for many independent
states at once, ``(N, 3, H, W)`` float64.  It runs the same chain as the numba
kernel: checkerboard half-sweeps (all sites of colour ``(x + y) % 2 == c``,
whose neighbours all have the other colour), the same cone proposal
``S' = (S + delta u) / |S + delta u|`` and Metropolis acceptance, and the same
counter-based random numbers of :mod:`mag_ml.physics.rng`, keyed by
(seed, sample, sweep, colour, site): SplitMix64 (Steele, Lea & Flood, OOPSLA
2014) evaluated with torch's int64 operations (two's-complement wrapping;
right shifts masked to be logical).  Only additions, multiplications,
divisions, square roots and selects touch the state (no libm ``exp``,
``sin``, ``cos``, whose vectorised and scalar paths may round differently),
so sample ``i`` of a batch depends only on (seed, i) and the inputs, never on
the batch it ran in or the thread count.  On the CPU it follows the numba
chain to rounding (an accept decision within rounding of its threshold can
split them); on a GPU, fused multiply-adds round differently, so a CUDA run is
another draw of the same Boltzmann distribution.

Layout: a batch is held sites-first, ``(H W + 1, 3, N)``, so gathering a
colour's sites or neighbours copies whole rows and the samples are the
contiguous axis; row ``H W`` is a zero "site" that open boundaries use as the
neighbour past an edge, and vacancies hold 0, so the field sum needs no
branches.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from dataclasses import dataclass

import numpy as np

from ..checks import check_int, check_real, resolve_device
from ..progress import progress_bar
from .hamiltonian import Hamiltonian
from .lattice import check_mask, check_shape, check_spins
from .monte_carlo import (_EXP_MAX, _LN2, _OMEGA, _TINY, ADAPT_BLOCK, AnnealSchedule, _check_delta,
                          _check_n_sweeps, _check_relax_arguments, check_temperature)
from .rng import check_seed

__all__ = ["BatchChain", "metropolis_batch", "anneal_batch", "relax_batch", "splitmix64",
           "random_spins_batch"]


def _signed(u):
    """A Python int taken mod 2**64 as the int64 with the same bits."""
    u %= 1 << 64
    return u - (1 << 64) if u >= 1 << 63 else u


_GOLDEN = 0x9E3779B97F4A7C15
_M1, _M2 = _signed(0xBF58476D1CE4E5B9), _signed(0x94D049BB133111EB)


def _srl(x, s):
    """Logical right shift of an int64 tensor by ``s`` bits (torch's ``>>`` is arithmetic)."""
    return (x >> s) & ((1 << (64 - s)) - 1)


def splitmix64(x):
    """SplitMix64 finaliser of an int64 tensor (bits as uint64), equal to :func:`mag_ml.physics.rng.splitmix64`.

    Parameters
    ----------
    x : torch.Tensor, int64, any shape

    Returns
    -------
    torch.Tensor, int64, same shape
    """
    z = (x ^ _srl(x, 30)) * _M1
    z = (z ^ _srl(z, 27)) * _M2
    return z ^ _srl(z, 31)


def _stream_keys(seed, samples, device):
    """Keys (N,) int64 of the samples' streams, as :func:`mag_ml.physics.rng.stream_key`."""
    import torch

    s = torch.as_tensor(samples, dtype=torch.int64, device=device)
    base = splitmix64(torch.tensor(_signed(seed * _GOLDEN), dtype=torch.int64, device=device))
    return splitmix64(base + s * _signed(_GOLDEN))


def _draws(keys, offsets):
    """Random int64 (M, N): ``splitmix64(key + offset)`` per site offset and sample key."""
    return splitmix64(offsets[:, None] + keys[None, :])


def _site_offsets(m, slot, device):
    """``(2 site + slot) * GOLDEN`` mod 2**64 as int64 for sites 0..m-1, the site part of ``rng.site_draw``."""
    import torch

    sites = torch.arange(m, dtype=torch.int64, device=device)
    return sites * _signed(2 * _GOLDEN) + _signed(slot * _GOLDEN)  # wraps like uint64


def _unit_circle(r):
    """(cos, sin) of ``2 pi r / 2**32`` for int64 ``r`` in [0, 2**32), by the series of :mod:`mag_ml.physics.rng`."""
    import torch

    t = ((r & ((1 << 30) - 1)).double() * 2.0**-30 - 0.5) * (0.5 * math.pi)
    t2 = t * t
    s = t * (1.0 + t2 * (-1 / 6 + t2 * (1 / 120 + t2 * (-1 / 5040 + t2 * (
        1 / 362880 + t2 * (-1 / 39916800 + t2 * (1 / 6227020800)))))))
    c = 1.0 + t2 * (-0.5 + t2 * (1 / 24 + t2 * (-1 / 720 + t2 * (1 / 40320 + t2 * (
        -1 / 3628800 + t2 * (1 / 479001600 + t2 * (-1 / 87178291200)))))))
    h = math.sqrt(0.5)
    c0, s0 = (c - s) * h, (c + s) * h
    q = r >> 30
    odd, upper = (q & 1) != 0, (q & 2) != 0
    cq, sq = torch.where(odd, -s0, c0), torch.where(odd, c0, s0)
    return torch.where(upper, -cq, cq), torch.where(upper, -sq, sq)


def _direction(r):
    """Unit vectors uniform on the sphere from int64 draws, as :func:`mag_ml.physics.rng.random_direction`."""
    import torch

    z = (_srl(r, 32).double() + 0.5) * 2.0**-31 - 1.0
    rho = torch.sqrt(1.0 - z * z)
    c, s = _unit_circle(r & 0xFFFFFFFF)
    return rho * c, rho * s, z


def _uniform53(r):
    """Uniform float64 in [0, 1) from the top 53 bits of int64 draws."""
    return _srl(r, 11).double() * 2.0**-53


def _exp_neg(x):
    """``exp(-x)`` for ``0 <= x <= 40`` from arithmetic only, as :func:`mag_ml.physics.monte_carlo.exp_neg`."""
    import torch

    n = torch.floor(x * (1.0 / _LN2))
    r = n * _LN2 + 0.5 * _LN2 - x
    p = 1.0 + r * (1.0 + r * (1 / 2 + r * (1 / 6 + r * (1 / 24 + r * (1 / 120 + r * (1 / 720 + r * (
        1 / 5040 + r * (1 / 40320 + r * (1 / 362880 + r * (1 / 3628800 + r * (1 / 39916800 + r / 479001600)))))))))))
    two_m_n = ((1023 - n.long()) << 52).view(torch.float64)  # 2**-n, exact
    return p * math.sqrt(0.5) * two_m_n


_MIN_ELEMENTS_PER_THREAD = 1 << 16  # below this, CPU threads of one op cost more than they save


@contextlib.contextmanager
def _cpu_threads(device, n_elements):
    """Run the many small ops of a sweep over a small batch on one CPU thread (as numba's ``_threads_for``)."""
    import torch

    before = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(max(1, min(before, n_elements // _MIN_ELEMENTS_PER_THREAD)))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _pair_field(nb, J, D):
    """Exchange + DMI field (3 tensors (M, N)) from neighbours ``nb`` (4, M, 3, N): right, left, up, down.

    The formula of :func:`mag_ml.physics.hamiltonian.pair_field`; ``D`` holds
    the DM vectors of the +x and +y bonds, six floats.
    """
    (xr, yr, zr), (xl, yl, zl), (xu, yu, zu), (xd, yd, zd) = (nb[d].unbind(1) for d in range(4))
    dx0, dx1, dx2, dy0, dy1, dy2 = D
    ax, ay, az = xr - xl, yr - yl, zr - zl
    bx, by, bz = xu - xd, yu - yd, zu - zd
    hx = J * (xr + xl + xu + xd) + (ay * dx2 - az * dx1) + (by * dy2 - bz * dy1)
    hy = J * (yr + yl + yu + yd) + (az * dx0 - ax * dx2) + (bz * dy0 - bx * dy2)
    hz = J * (zr + zl + zu + zd) + (ax * dx1 - ay * dx0) + (bx * dy1 - by * dy0)
    return hx, hy, hz


def _metropolis_update(S, nb, key, off0, off1, occ, d, beta, J, D, B, K):
    """One colour's Metropolis proposals and decisions: new spins (M, 3, N), energy change and accepted count (N,).

    ``S`` (M, 3, N) are the colour's spins, ``nb`` their neighbours, ``key``
    (N,) the half-sweep's keys, ``d`` (N,) the cone widths and ``beta`` a
    0-d tensor (tensors, so that a compiled version is not specialised on
    their values).  Pure: :class:`BatchChain` may run it through ``torch.compile``.
    """
    import torch

    hx, hy, hz = _pair_field(nb, J, D)
    hz = hz + B
    sx, sy, sz = S.unbind(1)
    ux, uy, uz = _direction(_draws(key, off0))
    u = _uniform53(_draws(key, off1))
    nx, ny, nz = sx + d * ux, sy + d * uy, sz + d * uz
    inv = 1.0 / torch.sqrt(nx * nx + ny * ny + nz * nz)
    nx, ny, nz = nx * inv, ny * inv, nz * inv
    dE = -((nx - sx) * hx + (ny - sy) * hy + (nz - sz) * hz) - K * (nz * nz - sz * sz)
    accept = (u < _exp_neg(torch.clamp(beta * torch.clamp(dE, min=0.0), max=_EXP_MAX))) & occ
    new = torch.where(accept[:, None], torch.stack([nx, ny, nz], 1), S)
    return new, torch.where(accept, dE, 0.0).sum(0), accept.sum(0)


def random_spins_batch(shape, seed=0, samples=(0,), device="cpu"):
    """Random start states of many samples, equal to :func:`mag_ml.physics.rng.random_spins` per sample.

    Parameters
    ----------
    shape : tuple (H, W)
        Lattice shape.
    seed : int
        Non-negative.
    samples : sequence of int
        Non-negative sample indices (N of them).
    device : str or torch.device

    Returns
    -------
    torch.Tensor, float64, shape (N, 3, H, W)
        Unit vectors uniform on the sphere; sample ``i`` depends only on (seed, i).

    Raises
    ------
    ValueError
        Bad shape, seed or sample.
    """
    import torch

    h, w = shape
    seed = check_seed(seed, "seed")
    samples = [check_seed(s, f"samples[{k}]") for k, s in enumerate(samples)]
    dev = resolve_device(device)
    keys = splitmix64(_stream_keys(seed, samples, dev) ^ _signed(1 << 63))
    x, y, z = _direction(_draws(keys, _site_offsets(h * w, 0, dev)))
    return torch.stack([x, y, z]).permute(2, 0, 1).reshape(len(samples), 3, h, w)


class BatchChain:
    """Markov chains of N independent states on one lattice, updated in place on a torch device.

    The batched twin of :class:`mag_ml.physics.monte_carlo.MonteCarloChain`
    (module notes): single-spin Metropolis (Metropolis et al., J. Chem. Phys.
    21, 1087 (1953)) on checkerboard colours, for the Hamiltonian of Kwon et
    al. (Adv. Sci. 2021, Eq. 1, with anisotropy), interfacial or bulk DMI,
    periodic or open boundaries.

    Parameters
    ----------
    hamiltonian : Hamiltonian
    spins : tuple (H, W), or array or tensor (N, 3, H, W)
        A lattice shape (each sample starts from
        ``random_spins(shape, seed, sample)``), or initial states (unit
        vectors, 0 on vacancies; copied as float64).
    seed : int
        Base seed; sample ``samples[n]`` draws from (seed, samples[n], sweep).
    samples : sequence of int, optional
        Sample indices of the N states (default ``range(N)``; required with a shape).
    mask : ndarray of bool (H, W), optional
        Occupied sites (at least one).
    sweep_offset : int
        Index of the first sweep.
    device : str or torch.device
        See :func:`mag_ml.checks.resolve_device`.
    compile : bool or str
        Run each colour's Metropolis update through ``torch.compile`` (one
        fused kernel instead of ~150 on a GPU); a string names the compile
        backend (``True``: inductor).  If compiling fails, the chain warns and
        runs eagerly.  A compiled update is the same chain up to rounding
        (fused multiply-adds), so it makes other draws than the eager one.

    Attributes
    ----------
    energy : torch.Tensor (N,) float64
        Total energies (units of J), updated from the accepted moves.
    sweep_index : int
    n_sites : int
        Occupied sites.

    Raises
    ------
    ValueError
        Bad shape (two even integers), spins (not unit vectors), mask, seed,
        samples (repeated, or not one per state) or device.
    TypeError
        ``hamiltonian`` is not a Hamiltonian.
    """

    def __init__(self, hamiltonian, spins, *, seed=0, samples=None, mask=None, sweep_offset=0, device="cpu",
                 compile=False):
        import torch

        if not isinstance(hamiltonian, Hamiltonian):
            raise TypeError(f"hamiltonian must be a mag_ml.Hamiltonian, got {type(hamiltonian).__name__}")
        self.hamiltonian, self.device = hamiltonian, resolve_device(device)
        self.seed, self.sweep_index = check_seed(seed, "seed"), check_seed(sweep_offset, "sweep_offset")
        if isinstance(spins, (tuple, list)) and all(np.ndim(e) == 0 for e in spins):
            if samples is None:
                raise ValueError("samples must be given with a lattice shape (one index per state)")
            h, w = check_shape(spins, name="shape")
            start = random_spins_batch((h, w), self.seed, samples, self.device)
        else:
            arr = spins.detach().cpu().numpy() if isinstance(spins, torch.Tensor) else spins
            start = torch.as_tensor(check_spins(arr, batched=True, mask=mask), device=self.device)
            h, w = start.shape[-2:]
        n = len(start)
        samples = list(range(n)) if samples is None else [check_seed(s, f"samples[{k}]") for k, s in
                                                            enumerate(samples)]
        if len(samples) != n or len(set(samples)) != n:
            raise ValueError(f"samples must be {n} distinct indices (one per state), got {samples[:8]}...")
        self.samples, self.shape = samples, (h, w)
        self.mask = check_mask(mask, (h, w))
        occ = np.ones((h, w)) if self.mask is None else self.mask.astype(np.float64)
        if not occ.any():
            raise ValueError("mask must mark at least one occupied site, got an all-False mask")
        self.n_sites = int(occ.sum())
        self._keys = _stream_keys(self.seed, samples, self.device)
        self._flat = torch.zeros((h * w + 1, 3, n), dtype=torch.float64, device=self.device)
        self._flat[:-1] = start.reshape(n, 3, -1).permute(2, 1, 0) * torch.as_tensor(occ.ravel(), device=self.device)[:, None, None]
        self._colours = [self._colour(c, occ) for c in range(2)]
        Dx, Dy = hamiltonian.dmi_vectors()
        self._D = (float(Dx[0]), float(Dx[1]), float(Dx[2]), float(Dy[0]), float(Dy[1]), float(Dy[2]))
        self.energy = hamiltonian.energy(self.spins, self.mask)
        if not isinstance(compile, (bool, str)):
            raise ValueError(f"compile must be a bool or a torch.compile backend name, got {compile!r}")
        self._update = _metropolis_update
        if compile:
            backend = "inductor" if compile is True else compile
            self._update = torch.compile(_metropolis_update, backend=backend, dynamic=False)
        self._compiled = bool(compile)

    def _colour(self, c, occ):
        """Sites of colour c in the numba kernel's site order, neighbour indices (4, M), occupation, RNG offsets."""
        import torch

        h, w = self.shape
        periodic = self.hamiltonian.periodic
        ys, xs = [], []
        for y in range(h):
            for k in range(w // 2):
                ys.append(y)
                xs.append(2 * k + (y + c) % 2)
        ys, xs = np.array(ys), np.array(xs)

        def index(yy, xx):
            inside = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
            flat = (yy % h) * w + xx % w
            return np.where(inside | periodic, flat, h * w)  # h * w: the zero site past an open edge

        nbr = np.stack([index(ys, xs + 1), index(ys, xs - 1), index(ys + 1, xs), index(ys - 1, xs)])
        m, dev = len(ys), self.device  # RNG site = index within the colour, as in mag_ml.physics.monte_carlo
        return (torch.as_tensor(ys * w + xs, device=dev), torch.as_tensor(nbr.ravel(), device=dev),
                torch.as_tensor(occ[ys, xs] > 0, device=dev)[:, None], _site_offsets(m, 0, dev),
                _site_offsets(m, 1, dev))

    @property
    def spins(self):
        """The current states, a new tensor (N, 3, H, W) float64 on the chain's device (0 on vacancies)."""
        return self._flat[:-1].permute(2, 1, 0).reshape(len(self.samples), 3, *self.shape).clone()

    def _neighbours(self, c):
        """Neighbours (4, M, 3, N) of the sites of colour c: right, left, up, down."""
        idx, nbr = self._colours[c][:2]
        return self._flat.index_select(0, nbr).view(4, len(idx), 3, len(self.samples))

    def sweep(self, T, n_sweeps=1, delta=0.5):
        """Run ``n_sweeps`` Metropolis sweeps at temperature ``T`` on every state, in place.

        Parameters
        ----------
        T : float
            Temperature in units of J/k_B, > 0.
        n_sweeps : int
            Number of sweeps, >= 1.
        delta : float or torch.Tensor (N,)
            Cone width of the proposal, > 0 (one per state allowed).

        Returns
        -------
        dE : torch.Tensor (n_sweeps, N) float64
            Energy change of each sweep and state (units of J).
        accepted : torch.Tensor (n_sweeps, N) int64
            Accepted proposals of each sweep and state.

        Raises
        ------
        ValueError
            Bad temperature, sweep count or cone width.
        """
        import torch

        beta = 1.0 / check_temperature(T)
        n = _check_n_sweeps(n_sweeps)
        if isinstance(delta, torch.Tensor):
            if delta.shape != (len(self.samples),) or not bool((delta > 0).all()):
                raise ValueError(f"delta must be positive, one per state ({len(self.samples)}), got {delta}")
            d = delta.to(self.device, torch.float64)
        else:
            d = torch.full((len(self.samples),), _check_delta(delta), dtype=torch.float64, device=self.device)
        dE_out = torch.zeros((n, len(self.samples)), dtype=torch.float64, device=self.device)
        acc_out = torch.zeros((n, len(self.samples)), dtype=torch.int64, device=self.device)
        with _cpu_threads(self.device, self._flat.numel() // 6):
            self._sweeps(n, d, beta, dE_out, acc_out)
        self.sweep_index += n
        self.energy = self.energy + dE_out.sum(0)
        return dE_out, acc_out

    def _sweeps(self, n, d, beta, dE_out, acc_out):
        """The sweeps of :meth:`sweep`, recording per sweep the energy change and accepted count."""
        import torch

        h = self.hamiltonian
        beta = torch.tensor(beta, dtype=torch.float64, device=self.device)
        for s in range(n):
            for c in range(2):
                idx, _, occ, off0, off1 = self._colours[c]
                key = splitmix64(self._keys + _signed((2 * (self.sweep_index + s) + c + 1) * _GOLDEN))
                args = (self._flat.index_select(0, idx), self._neighbours(c), key, off0, off1, occ, d, beta, h.J,
                        self._D, h.B, h.K)
                try:
                    new, dE, acc = self._update(*args)
                except Exception as err:  # a compiler missing or failing on this machine: run eagerly
                    if self._update is _metropolis_update:
                        raise
                    warnings.warn(f"torch.compile of the Metropolis update failed ({type(err).__name__}: "
                                  f"{str(err)[:200]}); running eagerly", RuntimeWarning, stacklevel=3)
                    self._update = _metropolis_update
                    new, dE, acc = self._update(*args)
                self._flat.index_copy_(0, idx, new)
                dE_out[s] += dE
                acc_out[s] += acc

    def relax(self, omega=_OMEGA, tol=1e-6, max_sweeps=100_000, check_every=16):
        """Zero-temperature relaxation of every state in place, as :func:`mag_ml.physics.monte_carlo.relax`.

        Each state stops (is no longer updated) after the first sweep in
        which no spin component changed by more than ``tol``, so it ends
        where it would alone.

        Parameters
        ----------
        omega : float in (0, 2)
            Over-relaxation factor (1: plain field alignment).
        tol : float
            Convergence threshold, > 0.
        max_sweeps : int
        check_every : int
            Sweeps between checks whether every state has stopped (a device
            synchronisation); it does not change the result.

        Returns
        -------
        torch.Tensor (N,) int64
            Sweeps each state used (``max_sweeps`` if not converged).

        Raises
        ------
        ValueError
            Bad tolerance, relaxation factor or sweep count.
        """
        import torch

        tol, omega, max_sweeps = _check_relax_arguments(omega, tol, max_sweeps)
        check_every = check_int(check_every, "check_every", minimum=1)
        n = len(self.samples)
        used = torch.full((n,), max_sweeps, dtype=torch.int64, device=self.device)
        active = torch.ones(n, dtype=torch.bool, device=self.device)
        with _cpu_threads(self.device, self._flat.numel() // 6):
            self._relax(omega, tol, max_sweeps, check_every, used, active)
        self.energy = self.hamiltonian.energy(self.spins, self.mask)
        return used

    def _relax(self, omega, tol, max_sweeps, check_every, used, active):
        """The sweeps of :meth:`relax`; ``used`` and ``active`` (N,) are updated in place."""
        import torch

        B, K = self.hamiltonian.B, self.hamiltonian.K
        n = len(self.samples)
        for s in range(max_sweeps):
            change = torch.zeros(n, dtype=torch.float64, device=self.device)
            for c in range(2):
                idx, _, occ, _, _ = self._colours[c]
                hx, hy, hz = _pair_field(self._neighbours(c), self.hamiltonian.J, self._D)
                S = self._flat.index_select(0, idx)
                sx, sy, sz = S.unbind(1)
                hz = hz + (B + 2.0 * K * sz)
                inv = 1.0 / torch.sqrt(hx * hx + hy * hy + hz * hz + _TINY)
                tx, ty, tz = sx + omega * (hx * inv - sx), sy + omega * (hy * inv - sy), sz + omega * (hz * inv - sz)
                inv = occ / torch.sqrt(tx * tx + ty * ty + tz * tz + _TINY)
                t = torch.stack([tx * inv, ty * inv, tz * inv], 1)
                change = torch.maximum(change, (t - S).abs().amax(dim=(0, 1)))
                self._flat.index_copy_(0, idx, torch.where(active, t, S))
            done = active & (change < tol)
            used.masked_fill_(done, s + 1)
            active &= ~done
            if (s + 1) % check_every == 0 and not bool(active.any()):
                break


@dataclass
class BatchMetropolisResult:
    """Outcome of :func:`metropolis_batch`.

    Attributes
    ----------
    spins : torch.Tensor (N, 3, H, W) float64
        Final states.
    energy : torch.Tensor (n_sweeps, N) float64
        Total energy after each sweep (units of J), from the accepted moves.
    acceptance : torch.Tensor (n_sweeps, N) float64
        Fraction of accepted proposals per sweep.
    """

    spins: object
    energy: object
    acceptance: object


def metropolis_batch(hamiltonian, spins, T, n_sweeps, *, seed=0, samples=None, sweep_offset=0, delta=0.5, mask=None,
                     device="cpu"):
    """Sample the Boltzmann distribution at ``T`` for N independent states with fixed-cone Metropolis sweeps.

    The batched twin of :func:`mag_ml.physics.monte_carlo.metropolis` (same
    random keys, proposal and acceptance; module notes).

    Parameters
    ----------
    hamiltonian : Hamiltonian
    spins : tuple (H, W) or array/tensor (N, 3, H, W)
        Lattice shape (random starts keyed by (seed, sample)) or initial states.
    T : float
        Temperature in units of J/k_B, > 0.
    n_sweeps : int
        Number of sweeps, >= 1.
    seed : int
    samples : sequence of int, optional
        Sample indices (default ``range(N)``; required with a shape).
    sweep_offset : int
    delta : float
        Fixed cone width, > 0 (detailed balance).
    mask : ndarray of bool (H, W), optional
    device : str or torch.device
        See :func:`mag_ml.checks.resolve_device`.

    Returns
    -------
    BatchMetropolisResult

    Raises
    ------
    ValueError, TypeError
        As :class:`BatchChain` and :meth:`BatchChain.sweep`.

    References
    ----------
    Metropolis et al., J. Chem. Phys. 21, 1087 (1953).
    """
    check_temperature(T)
    _check_n_sweeps(n_sweeps)
    _check_delta(delta)
    chain = BatchChain(hamiltonian, spins, seed=seed, samples=samples, mask=mask, sweep_offset=sweep_offset,
                       device=device)
    e0 = chain.energy
    dE, acc = chain.sweep(T, n_sweeps, delta)
    return BatchMetropolisResult(chain.spins, e0 + dE.cumsum(0), acc.double() / chain.n_sites)


@dataclass
class BatchAnnealResult:
    """Outcome of :func:`anneal_batch`.

    Attributes
    ----------
    spins : torch.Tensor (N, 3, H, W) float64
        Annealed and relaxed states.
    energy : torch.Tensor (N,) float64
        Their total energies (units of J).
    temperatures : ndarray (n_steps,) float64
    energy_history, acceptance_history : torch.Tensor (n_steps, N) float64
        Energy at the end of each temperature step (recomputed), mean acceptance.
    relax_sweeps : torch.Tensor (N,) int64
    """

    spins: object
    energy: object
    temperatures: np.ndarray
    energy_history: object
    acceptance_history: object
    relax_sweeps: object


def anneal_batch(hamiltonian, shape, schedule, *, seed=0, samples, mask=None, target_acceptance=0.5, relax_tol=1e-6,
                 device="cpu", compile=False, progress=False):
    """Simulated annealing then T = 0 relaxation of N independent states, as :func:`mag_ml.physics.monte_carlo.anneal`.

    Makes the metastable states of the E-VAE dataset (Kwon et al., Adv. Sci.
    2021, Methods).  Same schedule semantics as ``anneal``: from the random
    start of each (seed, sample), each step of ``schedule`` runs its sweeps in
    blocks of :data:`ADAPT_BLOCK`, the cone width of every state starting at 1
    and adapted after each block to its own acceptance
    (:func:`mag_ml.physics.monte_carlo.adapted_cone`), then each state is
    relaxed with over-relaxation until converged to ``relax_tol``.

    Parameters
    ----------
    hamiltonian : Hamiltonian
    shape : tuple (H, W)
        Lattice shape, two even integers.
    schedule : AnnealSchedule
    seed : int
    samples : sequence of int
        Sample indices; state ``n`` depends only on (seed, samples[n]).
    mask : ndarray of bool (H, W), optional
    target_acceptance : float in (0, 1)
    relax_tol : float
        Convergence threshold of the final relaxation, > 0.
    device : str or torch.device
        See :func:`mag_ml.checks.resolve_device`.
    compile : bool or str
        Compile the Metropolis update (:class:`BatchChain`).
    progress : bool
        tqdm bar over temperature steps.

    Returns
    -------
    BatchAnnealResult

    Raises
    ------
    ValueError, TypeError
        Bad schedule, seed, samples, shape, mask, target_acceptance,
        relax_tol or device.
    """
    import torch

    if not isinstance(schedule, AnnealSchedule):
        raise TypeError(f"schedule must be an AnnealSchedule, got {type(schedule).__name__}")
    target = check_real(target_acceptance, "target_acceptance", allowed="a real number in (0, 1)")
    if not 0 < target < 1:
        raise ValueError(f"target_acceptance must lie in (0, 1), got {target_acceptance!r}")
    relax_tol, _, _ = _check_relax_arguments(_OMEGA, relax_tol, 1, tol_name="relax_tol")
    chain = BatchChain(hamiltonian, tuple(shape), seed=seed, samples=samples, mask=mask, device=device,
                       compile=compile)
    temps = schedule.temperatures()
    n = len(chain.samples)
    energy = torch.empty((len(temps), n), dtype=torch.float64, device=chain.device)
    acceptance = torch.empty_like(energy)
    delta = torch.ones(n, dtype=torch.float64, device=chain.device)
    for i, T in enumerate(progress_bar(temps, desc="anneal", disable=not progress, leave=False)):
        accepted = torch.zeros(n, dtype=torch.int64, device=chain.device)
        for block in range(0, schedule.sweeps_per_step, ADAPT_BLOCK):
            m = min(ADAPT_BLOCK, schedule.sweeps_per_step - block)
            _, acc = chain.sweep(T, m, delta)
            acc = acc.sum(0)
            accepted += acc
            # adapted_cone, elementwise
            rate = acc.double() / (m * chain.n_sites)
            delta = torch.clamp(delta * (0.5 + rate) / (0.5 + target), 1e-3, 2.0)
        energy[i] = hamiltonian.energy(chain.spins, chain.mask)
        acceptance[i] = accepted.double() / (schedule.sweeps_per_step * chain.n_sites)
    sweeps = chain.relax(tol=relax_tol)
    return BatchAnnealResult(chain.spins, chain.energy, temps, energy, acceptance, sweeps)


def relax_batch(hamiltonian, spins, *, mask=None, omega=_OMEGA, tol=1e-6, max_sweeps=100_000, device="cpu"):
    """Zero-temperature relaxation of N states to their nearest metastable states (:func:`mag_ml.physics.monte_carlo.relax`).

    Parameters
    ----------
    hamiltonian : Hamiltonian
    spins : array or tensor (N, 3, H, W) float
        Unit vectors (0 on vacancies); not modified.
    mask : ndarray of bool (H, W), optional
    omega : float in (0, 2)
    tol : float
        Largest allowed change of a spin component in the last sweep, > 0.
    max_sweeps : int
    device : str or torch.device

    Returns
    -------
    spins : torch.Tensor (N, 3, H, W) float64
    n_sweeps : torch.Tensor (N,) int64

    Raises
    ------
    ValueError
        Bad spins, mask, tolerance, relaxation factor, sweep count or device.
    """
    tol, omega, max_sweeps = _check_relax_arguments(omega, tol, max_sweeps)
    chain = BatchChain(hamiltonian, spins, mask=mask, device=device)
    n = chain.relax(omega, tol, max_sweeps)
    return chain.spins, n
