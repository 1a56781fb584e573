"""Speed-up of the grid-independent PS-LL kernel: a coarse grid of a fine lattice against the atomistic grid.

The PS-LL exchange kernel is the lattice's dispersion evaluated at the grid's
wavevectors (:mod:`mag_ml.physics.pseudospectral`, "Grid-independent
kernel"; Rockwell, Hirst, Ostler & Iacocca, arXiv:2312.14068), so a chain of
lattice constant a_L = 0.5 nm can be simulated on a grid ``c`` times coarser
(``PSLLChain(n / c, c a_L, ..., lattice_constant=a_L)``).  The baseline,
measured in the same run, is the atomistic grid (one site per lattice site).
Two tasks, each timed on both grids:

* **wall**: relax a pair of Neel walls (started 1.5 times too wide) to a torque below 1e-6 T by
  energy descent (:func:`mag_ml.physics.walls.domain_wall_width`, unpinned)
  and fit the width;
* **dispersion**: a 150 ps broadband spin-wave run and its peak frequencies
  (:func:`mag_ml.physics.magnons.measure_dispersion`).

Accuracy is stated first: the wall width relative to the atomistic grid's,
and the largest relative error of the measured dispersion against the
atomistic chain's analytic dispersion at every wavevector up to the coarse
grid's Nyquist wavevector pi / (c a_L).  The speed-up is printed only beside
that accuracy ("equal accuracy": within 1 % of the atomistic result), and a
nearest-neighbour chain of cells (lattice constant = grid spacing, the same
cost as the coarse grid) is shown as the control that is not accurate.

JSON keys: ``factors`` (coarsening factors c), ``table`` (per c and task:
seconds on the coarse and the fine grid, ``speed_up`` = fine / coarse, the
relative error, ``naive_error`` of the nearest-neighbour chain of cells,
``within_1pct``), ``speed_up_wall_4x``, ``speed_up_dispersion_4x``,
``checks_ok`` (every coarse result within 1 % for c <= 4), ``load_start``,
``load_end``, ``high_load``.

Usage::

    .venv/bin/python benchmarks/grid_independence.py           # c = 2, 4, 8 (~30 s)
    .venv/bin/python benchmarks/grid_independence.py --quick   # c = 4 only, one repeat

The last line of the output is one JSON object (see benchmarks/README.md).
Not part of the test suite.
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

os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parents[1] / ".cache" / "numba"))

import numpy as np  # noqa: E402

from mag_ml.physics.magnons import analytic_dispersion, measure_dispersion  # noqa: E402
from mag_ml.physics.pseudospectral import PSLLChain  # noqa: E402
from mag_ml.physics.walls import analytic_wall_width, domain_wall_width  # noqa: E402
from machine_load import report_end, report_start  # noqa: E402

MATERIAL = dict(A_ex=1e-11, M_s=1e6, K_u=5e5)  # J/m, A/m, J/m^3: sqrt(A/K) = 4.47 nm
A_L = 0.5  # lattice constant, nm
WALL_LENGTH, WAVE_LENGTH = 128.0, 64.0  # chain lengths, nm
B_WAVES, DURATION = 0.1, 150.0  # T, ps


def best_time(task, repeats):
    """(best wall-clock seconds over ``repeats`` calls, the last result)."""
    best, out = math.inf, None
    for _ in range(repeats):
        t = time.perf_counter()
        out = task()
        best = min(best, time.perf_counter() - t)
    return best, out


def wall_task(grid, lattice):
    chain = PSLLChain(int(round(WALL_LENGTH / grid)), grid, **MATERIAL, lattice_constant=lattice)
    width0 = 1.5 * analytic_wall_width(MATERIAL["A_ex"], MATERIAL["K_u"])
    return lambda: domain_wall_width(chain, width0=width0, pin=False, torque_tol=1e-6).width


def dispersion_task(grid, lattice, k_band):
    chain = PSLLChain(int(round(WAVE_LENGTH / grid)), grid, **MATERIAL, B=B_WAVES, lattice_constant=lattice)
    exact = analytic_dispersion(k_band, A_ex=MATERIAL["A_ex"], M_s=MATERIAL["M_s"], a=A_L, K_u=MATERIAL["K_u"],
                                B=B_WAVES)

    def run():
        res = measure_dispersion(chain, DURATION, seed=3)
        j = np.rint(k_band / res.k[1]).astype(int)
        return float(np.abs(res.f[j] / exact - 1).max())

    return run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="c = 4 only, one repeat")
    args = parser.parse_args(argv)
    factors = [4] if args.quick else [2, 4, 8]
    repeats = 1 if args.quick else 3
    load_start = report_start()
    print(f"grid-independent PS-LL: lattice a_L = {A_L} nm on grids c a_L, material {MATERIAL}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, cpus {os.cpu_count()}")
    wall_task(A_L, A_L)()  # numba compile and caches, outside the timings
    dispersion_task(2 * A_L, A_L, np.zeros(1))()

    t_wall_fine, w_fine = best_time(wall_task(A_L, A_L), repeats)
    print(f"atomistic grid: wall width {w_fine:.4f} nm in {t_wall_fine:.3f} s")
    rows = []
    for c in factors:
        grid = c * A_L
        k_band = 2 * np.pi * np.fft.rfftfreq(int(round(WAVE_LENGTH / grid)), d=grid)  # up to pi / (c a_L)
        t_c, w_c = best_time(wall_task(grid, A_L), repeats)
        w_naive = wall_task(grid, grid)()
        err, naive = abs(w_c / w_fine - 1), abs(w_naive / w_fine - 1)
        rows.append(dict(factor=c, task="wall", s_coarse=t_c, s_fine=t_wall_fine, speed_up=t_wall_fine / t_c,
                         error=err, naive_error=naive, within_1pct=err < 0.01))
        t_fine, e_fine = best_time(dispersion_task(A_L, A_L, k_band), repeats)
        t_c, e_c = best_time(dispersion_task(grid, A_L, k_band), repeats)
        e_naive = dispersion_task(grid, grid, k_band)()
        rows.append(dict(factor=c, task="dispersion", s_coarse=t_c, s_fine=t_fine, speed_up=t_fine / t_c,
                         error=e_c, fine_error=e_fine, naive_error=e_naive, within_1pct=e_c < 0.01))
        print(f"c = {c}: wall {w_c:.4f} nm ({err:.1e} rel.), dispersion max error {e_c:.1e} up to "
              f"k = {k_band[-1]:.3f} 1/nm (atomistic grid {e_fine:.1e})", flush=True)

    print()
    print(f"{'c':>3} {'task':>11} {'coarse s':>9} {'fine s':>8} {'speed-up':>9} {'rel. error':>11} "
          f"{'NN-of-cells error':>18} {'equal accuracy (< 1 %)':>23}")
    for r in rows:
        print(f"{r['factor']:>3} {r['task']:>11} {r['s_coarse']:>9.3f} {r['s_fine']:>8.3f} {r['speed_up']:>9.1f} "
              f"{r['error']:>11.1e} {r['naive_error']:>18.1e} {'yes' if r['within_1pct'] else 'NO':>23}")
    print(f"(errors relative to the atomistic grid's wall width and to the atomistic dispersion at every k up to the "
          f"coarse grid's Nyquist wavevector; best of {repeats}; single-threaded)")
    checks_ok = all(r["within_1pct"] for r in rows if r["factor"] <= 4)
    print(f"checks: {'ok' if checks_ok else 'FAILED'} (coarse grids c <= 4 within 1 % of the atomistic chain)")
    load_end, high = report_end(load_start)
    by = {(r["factor"], r["task"]): r for r in rows}
    summary = dict(
        benchmark="grid_independence", quick=args.quick, material=MATERIAL, lattice_constant_nm=A_L,
        factors=factors, table=rows, speed_up_wall_4x=by[4, "wall"]["speed_up"],
        speed_up_dispersion_4x=by[4, "dispersion"]["speed_up"], checks_ok=checks_ok,
        load_start=list(load_start), load_end=list(load_end), high_load=high, cpus=os.cpu_count(),
        numpy=np.__version__,
    )
    print(json.dumps(summary))
    return 0 if checks_ok else 1


if __name__ == "__main__":
    sys.exit(main())
