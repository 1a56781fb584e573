"""Cost of SI Monte Carlo: time per sweep at 512x512 and per training image of chapter 7.

The film is the centre of chapter 7's grid (A_ex = 15 pJ/m, D = 4 mJ/m^2,
M_s = 0.8 MA/m, K_u = 0.4 MJ/m^3, thin-film demag, B = 0.18 T, cells
4 nm x 4 nm x 1 nm) at 300 K, mapped to the lattice by
:func:`mag_ml.physics.micromagnetics.to_lattice` (T_red = k_B T / (2 A_ex t)).

* Time per Metropolis sweep at 512x512: ``mag_ml.metropolis`` (the numba
  kernel that ``thermal_state`` calls) with 1 and 2 threads, against the
  NumPy checkerboard baseline of ``benchmarks/monte_carlo.py`` (imported, not
  copied) on the same Hamiltonian and temperature, measured in the same run.
* Cost of one training image: ``thermal_state`` (random start, anneal,
  sweeps at 300 K) at chapter 7's quick and paper sizes
  (``mag_ml.chapters.estimation.estimator_spec``), wall time with all numba
  threads; the NumPy cost of the same image is estimated from its time per
  sweep.

Usage::

    .venv/bin/python benchmarks/micromagnetics.py           # ~1-2 min on 2 cores
    .venv/bin/python benchmarks/micromagnetics.py --quick   # smoke run, no paper-size image

The last line of the output is one JSON object (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from monte_carlo import NumpyMetropolis, bookkeeping_error, calibrate, measure  # sets NUMBA_CACHE_DIR

import numba  # noqa: E402
import numpy as np  # noqa: E402

from machine_load import report_end, report_start  # noqa: E402
from mag_ml import metropolis, random_spins  # noqa: E402
from mag_ml.chapters.estimation import estimator_spec
from mag_ml.physics.micromagnetics import (MicromagneticParameters, temperature_to_reduced, thermal_state,  # noqa: E402
                                           to_lattice)

FILM = dict(A_ex=15e-12, D=4e-3, M_s=0.8e6, K_u=0.4e6, B=0.18, dx=4e-9, thickness=1e-9, demag="thin_film")
T_KELVIN = 300.0
DELTA = 0.5
SIZE = 512


class Chain:
    """metropolis() calls continued across calls, at the film's reduced temperature."""

    def __init__(self, H, T, shape, seed=1):
        self.H, self.T, self.spins, self.offset, self.last = H, T, random_spins(shape, seed), 0, None

    def run(self, n):
        self.last = metropolis(self.H, self.spins, self.T, n, seed=1, sweep_offset=self.offset, delta=DELTA)
        self.spins, self.offset = self.last.spins, self.offset + n


def image_cost(params, spec, repeats):
    """Best wall time [s] of thermal_state at spec's size and sweeps, over ``repeats`` samples."""
    best = np.inf
    for k in range(repeats):
        t0 = time.perf_counter()
        s = thermal_state(params, tuple(spec["shape"]), T_KELVIN, seed=0, sample=k, n_anneal=spec["n_anneal"],
                          n_sweeps=spec["n_sweeps"])
        best = min(best, time.perf_counter() - t0)
        assert np.allclose(np.linalg.norm(s, axis=0), 1.0)
    return best


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="short timings, no paper-size image")
    args = ap.parse_args(argv)
    min_time, repeats = (0.2, 1) if args.quick else (1.0, 3)

    load_start = report_start()
    params = MicromagneticParameters(**FILM)
    H, scale = to_lattice(params)
    T = temperature_to_reduced(T_KELVIN, scale)
    max_threads = numba.config.NUMBA_NUM_THREADS
    print(f"film {FILM}, {T_KELVIN:g} K -> lattice J=1 D={H.D:.4f} B={H.B:.4f} K={H.K:+.4f}, T_red={T:.4f}")
    print(f"numpy {np.__version__}, numba {numba.__version__}, {os.cpu_count()} CPUs, NUMBA_NUM_THREADS={max_threads}")

    t0 = time.perf_counter()
    metropolis(H, (8, 8), T, 2)
    thermal_state(params, (8, 8), T_KELVIN, n_anneal=10, n_sweeps=10)
    print(f"warm-up (numba compile or cache load): {time.perf_counter() - t0:.1f} s")

    # time per sweep at 512x512: ours with 1 and 2 threads, NumPy baseline, interleaved repeats
    shape, n_sites = (SIZE, SIZE), SIZE * SIZE
    base = NumpyMetropolis(H, random_spins(shape, 1), T, DELTA, seed=1)
    base.sweep(1)
    n_np = calibrate(base.sweep, 1, min_time / 2)
    chain = Chain(H, T, shape)
    threads = [t for t in (1, 2) if t <= max_threads]
    n_ours = {}
    for t in threads:
        numba.set_num_threads(t)
        chain.run(2)
        n_ours[t] = calibrate(chain.run, 2, min_time / 2)
    rate_np, rate = 0.0, dict.fromkeys(threads, 0.0)
    for _ in range(repeats):
        rate_np = max(rate_np, measure(base.sweep, n_np, n_sites, min_time))
        for t in threads:
            numba.set_num_threads(t)
            rate[t] = max(rate[t], measure(chain.run, n_ours[t], n_sites, min_time))
    numba.set_num_threads(max_threads)
    sweep_np = n_sites / rate_np
    sweep = {t: n_sites / rate[t] for t in threads}
    errors = dict(numpy=bookkeeping_error(H, base.energy, base.S),
                  ours=bookkeeping_error(H, float(chain.last.energy[-1]), chain.last.spins))
    checks_ok = all(e < 1e-9 for e in errors.values())

    # one training image of chapter 7 per profile
    images = {}
    for profile in ("quick",) if args.quick else ("quick", "paper"):
        spec = estimator_spec(profile)
        n_total = spec["n_anneal"] + spec["n_sweeps"]
        seconds = image_cost(params, spec, repeats if profile == "quick" else 1)
        h, w = spec["shape"]
        np_estimate = n_total * sweep_np * h * w / n_sites
        images[profile] = dict(shape=list(spec["shape"]), sweeps=n_total, seconds=seconds,
                               numpy_seconds_estimated=np_estimate, ratio=np_estimate / seconds)

    print()
    print(f"time per Metropolis sweep at {SIZE}x{SIZE} (best of {repeats}, each >= {min_time:g} s):")
    print(f"  numpy baseline      {sweep_np * 1e3:9.2f} ms  ({rate_np / 1e6:6.2f} M updates/s)")
    for t in threads:
        label = f"ours, {t} thread{'s' if t > 1 else ''}"
        print(f"  {label:19s} {sweep[t] * 1e3:9.2f} ms  ({rate[t] / 1e6:6.1f} M updates/s, "
              f"{sweep_np / sweep[t]:5.1f}x numpy)")
    print("one training image (thermal_state: random start, anneal, sweeps at 300 K; all threads):")
    for profile, r in images.items():
        print(f"  {profile:5s} {r['shape'][0]}x{r['shape'][1]}, {r['sweeps']} sweeps: {r['seconds']:8.2f} s "
              f"(numpy, from its time per sweep: ~{r['numpy_seconds_estimated']:.0f} s, {r['ratio']:.0f}x)")
    print(f"energy bookkeeping per site: numpy {errors['numpy']:.1e}, ours {errors['ours']:.1e} "
          f"({'ok' if checks_ok else 'FAILED'}, tol 1e-9)")
    load_end, high = report_end(load_start)
    summary = dict(benchmark="micromagnetics", quick=args.quick, size=SIZE, film=FILM, T=T_KELVIN,
                   T_reduced=T, lattice=dict(D=H.D, B=H.B, K=H.K), sweep_seconds={str(t): sweep[t] for t in threads},
                   numpy_sweep_seconds=sweep_np, ratio={str(t): sweep_np / sweep[t] for t in threads},
                   images=images, checks=dict(ok=checks_ok, bookkeeping=errors), load_start=list(load_start),
                   load_end=list(load_end), high_load=high, cpus=os.cpu_count(), numba_threads_max=max_threads)
    print(json.dumps(summary))
    return 0 if checks_ok else 1


if __name__ == "__main__":
    sys.exit(main())
