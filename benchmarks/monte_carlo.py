"""Throughput of the checkerboard Metropolis kernel against a plain NumPy baseline.

Measures attempted single-spin updates per second of :func:`mag_ml.metropolis`
(the numba checkerboard kernel) and of a vectorised NumPy checkerboard
Metropolis written below, on the paper's model (J = 1, D = 0.3, B = 0.05,
interfacial DMI, periodic) at T = 0.5, for 128x128 and 512x512 lattices and
1 and 2 numba threads.  Both use the same proposal (cone move
``S' = normalise(S + delta u)``, ``u`` uniform on the sphere, delta = 0.5) and
acceptance ``min(1, exp(-dE / T))``.

The result that matters is the ratio (ours / NumPy) measured in the same run
on the same machine; absolute numbers depend on the CPU and on whatever else
is running (the load average is reported).  Not part of the test suite.

Usage::

    .venv/bin/python benchmarks/monte_carlo.py           # full run (~1 min)
    .venv/bin/python benchmarks/monte_carlo.py --quick   # smoke run (seconds)

The last line of the output is one JSON object (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

# share numba's on-disk cache with the Makefile's runs (must precede importing numba)
os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parents[1] / ".cache" / "numba"))

import numba  # noqa: E402
import numpy as np  # noqa: E402

from mag_ml import Hamiltonian, metropolis, random_spins  # noqa: E402
from machine_load import report_end, report_start  # noqa: E402

MODEL = dict(J=1.0, D=0.3, B=0.05)  # Kwon et al. 2021; K = 0, interfacial DMI, periodic
T = 0.5
DELTA = 0.5  # cone width, the default of metropolis()
TARGET_UPDATES_PER_S = 150e6  # the target: 2 threads, 128x128 (~40x NumPy)
BANDWIDTH_CEILING = 400e6  # rough memory-bandwidth ceiling of this kernel on the reference machine


# ----------------------------------------------------------------------------- NumPy baseline
class NumpyMetropolis:
    """Vectorised checkerboard Metropolis in plain NumPy (the baseline).

    Each half-sweep computes the exchange + DMI + Zeeman field of the whole
    lattice with ``np.roll`` (the field of a colour depends only on the other
    colour, which the half-sweep does not change), then proposes, accepts and
    writes back the sites of one colour at once.  This is an exact
    sequential-update Metropolis chain, like the numba kernel.  The energy is
    tracked from accepted moves so it can be checked against ``H.energy``.
    """

    def __init__(self, hamiltonian, spins, T, delta, seed):
        H = hamiltonian
        if not H.periodic:
            raise ValueError("the baseline uses np.roll: periodic boundaries only")
        self.J, self.B, self.K = H.J, H.B, H.K
        self.Dx, self.Dy = H.dmi_vectors()
        self.beta, self.delta = 1.0 / T, delta
        self.S = np.array(spins, dtype=np.float64)  # (3, H, W), a copy
        h, w = self.S.shape[1:]
        yy, xx = np.indices((h, w))
        self.sites = [np.flatnonzero((yy + xx) % 2 == c) for c in (0, 1)]
        self.rng = np.random.default_rng(seed)
        self.energy = H.energy(self.S)  # tracked from accepted moves
        self.accepted = 0
        self.attempted = 0

    @staticmethod
    def _cross(a, d):
        """``a x d`` for a (3, H, W) array ``a`` and a constant vector ``d``."""
        return np.stack([a[1] * d[2] - a[2] * d[1], a[2] * d[0] - a[0] * d[2], a[0] * d[1] - a[1] * d[0]])

    def field(self):
        """Exchange + DMI + Zeeman field, (3, H * W); the anisotropy enters dE separately."""
        S = self.S
        right, left = np.roll(S, -1, axis=2), np.roll(S, 1, axis=2)  # S[x + 1], S[x - 1]
        up, down = np.roll(S, -1, axis=1), np.roll(S, 1, axis=1)  # S[y + 1], S[y - 1]
        h = self.J * (right + left + up + down) + self._cross(right - left, self.Dx) \
            + self._cross(up - down, self.Dy)
        h[2] += self.B
        return h.reshape(3, -1)

    def sweep(self, n_sweeps=1):
        flat = self.S.reshape(3, -1)  # a view: writes go to self.S
        for _ in range(n_sweeps):
            for idx in self.sites:
                hc = self.field()[:, idx]
                s = flat[:, idx]
                u = self.rng.standard_normal((3, idx.size))
                u /= np.sqrt((u * u).sum(0))  # uniform on the sphere
                new = s + self.delta * u
                new /= np.sqrt((new * new).sum(0))
                dE = -((new - s) * hc).sum(0) - self.K * (new[2] ** 2 - s[2] ** 2)
                acc = self.rng.random(idx.size) < np.exp(-self.beta * np.maximum(dE, 0.0))
                flat[:, idx[acc]] = new[:, acc]
                self.energy += dE[acc].sum()
                self.accepted += int(acc.sum())
                self.attempted += idx.size


# ----------------------------------------------------------------------------- helpers
def calibrate(run_n, n0, seconds):
    """Number of sweeps such that ``run_n(n)`` takes about ``seconds``.

    Probes grow until one takes a quarter of ``seconds``, so a fixed per-call
    cost (``metropolis`` packs the state and computes its initial energy,
    ~20 ms at 512x512) does not shrink the estimate much.
    """
    n = n0
    while True:
        t0 = time.perf_counter()
        run_n(n)
        dt = max(time.perf_counter() - t0, 1e-6)
        if dt >= seconds / 4:
            return max(n0, math.ceil(n * seconds / dt))
        n = math.ceil(n * min(10.0, seconds / 4 / dt * 1.5))


def measure(run_n, n, n_sites, min_time):
    """Updates per second of repeated ``run_n(n)`` calls over at least ``min_time`` seconds.

    Looping until the time is reached (rather than a fixed sweep count from a
    calibration that a busy machine may have slowed) keeps every measurement
    at least ``min_time`` long.
    """
    sweeps, t0 = 0, time.perf_counter()
    while True:
        run_n(n)
        sweeps += n
        dt = time.perf_counter() - t0
        if dt >= min_time:
            return sweeps * n_sites / dt


class Ours:
    """Chain of metropolis() calls, continued across calls (spins and sweep offset)."""

    def __init__(self, H, shape, seed):
        self.H, self.seed = H, seed
        self.spins = random_spins(shape, seed)
        self.offset = 0
        self.n_sites = shape[0] * shape[1]
        self.last = None

    def run(self, n):
        res = metropolis(self.H, self.spins, T, n, seed=self.seed, sweep_offset=self.offset, delta=DELTA)
        self.spins, self.offset, self.last = res.spins, self.offset + n, res
        return res


def bookkeeping_error(H, energy, spins):
    """|tracked energy - H.energy(spins)| per site."""
    return abs(energy - H.energy(spins)) / (spins.shape[1] * spins.shape[2])


def batch_means(x, n_batches=20):
    """Mean and its standard error from batch means (handles autocorrelation roughly)."""
    x = np.asarray(x)
    b = x[: len(x) // n_batches * n_batches].reshape(n_batches, -1).mean(1)
    return float(b.mean()), float(b.std(ddof=1) / math.sqrt(n_batches))


def equilibrium_check(H, shape, n_sweeps, seed):
    """Same model, both samplers: equilibrium energy per site and acceptance must agree."""
    n = shape[0] * shape[1]
    burn = n_sweeps // 4
    res = metropolis(H, random_spins(shape, seed), T, n_sweeps, seed=seed, delta=DELTA)
    e_ours = res.energy[burn:] / n
    acc_ours = float(res.acceptance[burn:].mean())
    base = NumpyMetropolis(H, random_spins(shape, seed + 1), T, DELTA, seed)
    base.sweep(burn)
    e_np, a0, t0 = [], base.accepted, base.attempted
    for _ in range(n_sweeps - burn):
        base.sweep(1)
        e_np.append(base.energy / n)
    acc_np = (base.accepted - a0) / (base.attempted - t0)
    (m1, s1), (m2, s2) = batch_means(e_ours), batch_means(e_np)
    z = abs(m1 - m2) / math.sqrt(s1 ** 2 + s2 ** 2 + 1e-300)
    return dict(shape=list(shape), sweeps=n_sweeps, energy_per_site_ours=m1, err_ours=s1,
                energy_per_site_numpy=m2, err_numpy=s2, z=z, acceptance_ours=acc_ours,
                acceptance_numpy=acc_np, ok=bool(z < 5 and abs(acc_ours - acc_np) < 0.02))


# ----------------------------------------------------------------------------- main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fast smoke run (short timings, small checks)")
    ap.add_argument("--repeats", type=int, default=None, help="measurements per rate, best kept (default 3)")
    args = ap.parse_args(argv)
    min_time, n_repeats = (0.1, 2) if args.quick else (1.0, 3)
    n_repeats = args.repeats or n_repeats
    sizes = (128, 512)
    max_threads = numba.config.NUMBA_NUM_THREADS
    thread_counts = [t for t in (1, 2) if t <= max_threads]

    load_start = report_start()
    H = Hamiltonian(**MODEL)
    print(f"mag_ml Metropolis benchmark: J={H.J} D={H.D} B={H.B} K={H.K} {H.dmi} {H.boundary}, "
          f"T={T}, delta={DELTA}{' (quick)' if args.quick else ''}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}, "
          f"{os.cpu_count()} CPUs, NUMBA_NUM_THREADS={max_threads}")
    if max_threads < 2:
        print("NOTE: NUMBA_NUM_THREADS < 2, the 2-thread rows are skipped")

    # warm-up: compile (or load from cache) the kernels before any timing
    t0 = time.perf_counter()
    metropolis(H, (8, 8), T, 2, seed=0)
    H.energy(random_spins((8, 8)))
    NumpyMetropolis(H, random_spins((8, 8)), T, DELTA, 0).sweep(2)
    print(f"warm-up (numba compile or cache load): {time.perf_counter() - t0:.1f} s, "
          f"threading layer: {numba.threading_layer()}")

    rows, checks = [], []
    for L in sizes:
        shape = (L, L)
        n_sites = L * L
        # NumPy baseline (single-threaded elementwise ops; independent of numba's threads)
        base = NumpyMetropolis(H, random_spins(shape, 1), T, DELTA, seed=1)
        base.sweep(1 if args.quick else 5)  # leave the random start
        # sweeps per call: ~half a measurement; calls repeat until min_time has passed, so a
        # measurement slowed by other jobs stays >= min_time without running far over it
        n_np = calibrate(base.sweep, 1, min_time / 2)
        ours = Ours(H, shape, seed=1)
        n_ours = {}
        for threads in thread_counts:
            numba.set_num_threads(threads)
            ours.run(max(2, 200_000 // n_sites))  # warm caches and leave the random start
            n_ours[threads] = calibrate(ours.run, max(2, 200_000 // n_sites), min_time / 2)
        # repeats interleaved over the samplers, so a change of machine load hits all of them
        np_rate, rate = 0.0, dict.fromkeys(thread_counts, 0.0)
        for _ in range(n_repeats):
            np_rate = max(np_rate, measure(base.sweep, n_np, n_sites, min_time))
            for threads in thread_counts:
                numba.set_num_threads(threads)
                rate[threads] = max(rate[threads], measure(ours.run, n_ours[threads], n_sites, min_time))
                res = ours.last
        numba.set_num_threads(max_threads)
        checks.append(dict(sampler="numpy", size=L, sweeps=base.attempted // n_sites,
                           energy_error_per_site=bookkeeping_error(H, base.energy, base.S),
                           acceptance=base.accepted / base.attempted))
        checks.append(dict(sampler="ours", size=L, sweeps=ours.offset,
                           energy_error_per_site=bookkeeping_error(H, float(res.energy[-1]), res.spins),
                           acceptance=float(res.acceptance.mean())))
        for threads in thread_counts:
            rows.append(dict(size=L, threads=threads, sweeps_per_call=n_ours[threads],
                             updates_per_s=rate[threads], numpy_sweeps_per_call=n_np,
                             numpy_updates_per_s=np_rate,
                             ratio=rate[threads] / np_rate))

    # correctness of the baseline: tracked energy vs H.energy, and equilibrium agreement
    tol = 1e-9
    equil = equilibrium_check(H, (16, 16), 800 if args.quick else 4000, seed=3)

    print()
    print(f"{'size':>9} {'threads':>7} {'ours M/s':>10} {'numpy M/s':>10} {'ratio':>7}")
    for r in rows:
        print(f"{r['size']:>4}x{r['size']:<4} {r['threads']:>7} {r['updates_per_s'] / 1e6:>10.1f} "
              f"{r['numpy_updates_per_s'] / 1e6:>10.2f} {r['ratio']:>7.1f}")
    print("(attempted single-spin updates per second, best of "
          f"{n_repeats}, each >= {min_time:g} s; NumPy is single-threaded)")
    print()
    print("energy bookkeeping (|tracked - H.energy| per site, after the timed sweeps):")
    for c in checks:
        print(f"  {c['sampler']:>8} {c['size']:>4}x{c['size']:<4} after {c['sweeps']:>6} sweeps: "
              f"{c['energy_error_per_site']:.2e}  acceptance {c['acceptance']:.3f}")
    print(f"equilibrium at {equil['shape'][0]}x{equil['shape'][1]}, {equil['sweeps']} sweeps "
          f"(first quarter discarded): E/N ours {equil['energy_per_site_ours']:.4f} "
          f"+- {equil['err_ours']:.4f}, numpy {equil['energy_per_site_numpy']:.4f} "
          f"+- {equil['err_numpy']:.4f} ({equil['z']:.1f} sigma); acceptance ours "
          f"{equil['acceptance_ours']:.3f}, numpy {equil['acceptance_numpy']:.3f}")
    bookkeeping_ok = all(c["energy_error_per_site"] < tol for c in checks)
    print(f"checks: bookkeeping {'ok' if bookkeeping_ok else 'FAILED'} (tol {tol:g} per site), "
          f"equilibrium {'ok' if equil['ok'] else 'FAILED'} (< 5 sigma, acceptance within 0.02)")

    load_end, high = report_end(load_start)
    by = {(r["size"], r["threads"]): r["updates_per_s"] for r in rows}
    if any(by.get((L, 2), math.inf) < by[(L, 1)] for L in sizes):
        print("NOTE: 2 threads slower than 1: the CPU is oversubscribed (each half-sweep is a parallel "
              "region; a descheduled worker stalls it), so the 2-thread numbers measure the load.")

    head = next((r for r in rows if r["size"] == 128 and r["threads"] == 2), None) \
        or next(r for r in rows if r["size"] == 128)
    print(f"headline (128x128, {head['threads']} threads): {head['updates_per_s'] / 1e6:.1f} M updates/s, "
          f"{head['ratio']:.1f}x NumPy; target {TARGET_UPDATES_PER_S / 1e6:.0f} M/s "
          f"({'met' if head['updates_per_s'] >= TARGET_UPDATES_PER_S else 'NOT met'}), "
          f"bandwidth ceiling ~{BANDWIDTH_CEILING / 1e6:.0f} M/s")
    summary = dict(
        benchmark="monte_carlo", quick=args.quick,
        updates_per_s=head["updates_per_s"], numpy_updates_per_s=head["numpy_updates_per_s"],
        ratio=head["ratio"], threads=head["threads"], size=head["size"],
        target_updates_per_s=TARGET_UPDATES_PER_S, meets_target=head["updates_per_s"] >= TARGET_UPDATES_PER_S,
        table=rows, checks=dict(bookkeeping_ok=bookkeeping_ok, bookkeeping=checks, equilibrium=equil),
        model=dict(MODEL, K=0.0, T=T, delta=DELTA), load_start=list(load_start), load_end=list(load_end),
        high_load=high, cpus=os.cpu_count(), numba_threads_max=max_threads,
        threading_layer=numba.threading_layer(), numpy=np.__version__, numba=numba.__version__,
    )
    print(json.dumps(summary))
    return 0 if bookkeeping_ok and equil["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
