"""Throughput of the PS-LL chain solver against a real-space finite-difference baseline.

Measures spin-steps per second (sites x RK4 steps / s) of
:class:`mag_ml.physics.pseudospectral.PSLLChain` (exchange applied in Fourier
space: real FFT, kernel multiplication, inverse FFT) and of the same solver
with the exchange field from a 3-point Laplacian in real space (the
baseline, ``FiniteDifferenceChain`` below), for chains of 1e3 to 1e6 sites,
in the same run.  Both use the identical RK4 step with renormalisation, the
same anisotropy and Zeeman terms and the discrete kernel, whose eigenvalues
are exactly those of the 3-point Laplacian: the two solvers compute the same
trajectory (checked here), so the ratio is the price of the spectral
exchange.  The FFT makes the pseudospectral step O(N log N) and the
baseline O(N) (a fused numba 3-point stencil); the script fits the growth
exponent of the time per step against N (log-log slope over 1e4..1e6) and
prints the time per step divided by N log2 N.  Both are single-threaded
(NumPy's pocketfft with preallocated outputs; numba kernels without
``parallel``).

Timed through :meth:`PSLLChain.evolve` (its loop reuses work buffers, so
large chains do not pay page faults for fresh arrays each step).

JSON keys: ``spin_steps_per_s`` and ``fd_spin_steps_per_s`` (largest N),
``ratio_ps_over_fd`` (PS-LL rate / FD rate, < 1 means the spectral exchange
costs more per step), ``growth_exponent_ps`` and ``growth_exponent_fd``
(log-log slopes of the time per step over N >= 1e4), ``table`` (per N: steps,
seconds per step, spin-steps per second, ratio, PS seconds per step / (N log2
N)), ``checks`` (field and 20-step state differences PS vs FD), ``checks_ok``,
``load_start``, ``load_end``, ``high_load``.

Usage::

    .venv/bin/python benchmarks/pseudospectral.py           # full run (~1 min)
    .venv/bin/python benchmarks/pseudospectral.py --quick   # 1e3..1e5, short timings

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

import numba  # noqa: E402
import numpy as np  # noqa: E402
import scipy  # noqa: E402

from mag_ml.physics.pseudospectral import PSLLChain  # noqa: E402
from machine_load import report_end, report_start  # noqa: E402

MODEL = dict(a=0.5, A_ex=1e-11, M_s=1e6, K_u=5e5, B=0.1, alpha=0.01)  # nm, J/m, A/m, J/m^3, T


@numba.njit(cache=True)
def _laplacian_field(m, c, out):  # pragma: no cover - compiled
    """out = c (m[i+1] + m[i-1] - 2 m[i]), periodic: the 3-point stencil in one fused pass."""
    n = m.shape[1]
    for k in range(3):
        for i in range(n):
            left = m[k, i - 1] if i > 0 else m[k, n - 1]
            right = m[k, i + 1] if i < n - 1 else m[k, 0]
            out[k, i] = c * (left + right - 2.0 * m[k, i])
    return out


class FiniteDifferenceChain(PSLLChain):
    """The baseline: the same chain with exchange from the real-space 3-point Laplacian (periodic).

    Only the exchange field differs (``_spectral_field`` is overridden by a
    fused numba stencil; the model has no DMI); anisotropy, Zeeman, the LLG
    right-hand side and the RK4 step are the package's.
    """

    def _spectral_field(self, m, out=None):
        out = np.empty_like(m) if out is None else out
        return _laplacian_field(m, self.c_ex / (self.a * self.a), out)


def initial_state(n, seed=0):
    rng = np.random.default_rng(seed)
    m = np.empty((3, n))
    m[:2] = 0.05 * rng.normal(size=(2, n))
    m[2] = 1.0
    return m / np.linalg.norm(m, axis=0)


def time_steps(chain, m, dt, steps):
    """Wall time of ``steps`` RK4 steps through the public ``evolve`` (two samples recorded)."""
    t0 = time.perf_counter()
    traj = chain.evolve(m, steps * dt, dt=dt * (1 + 1e-12), sample_every=steps, components="z")
    elapsed = time.perf_counter() - t0
    assert traj.steps == steps
    return elapsed, traj.m


def calibrate(chain, m, dt, min_time):
    steps = 1
    while True:
        t, _ = time_steps(chain, m, dt, steps)
        if t >= 0.2 * min_time or steps >= 1 << 16:
            return max(1, int(math.ceil(steps * min_time / max(t, 1e-9))))
        steps *= 4


def fit_exponent(ns, times):
    """Least-squares slope of log(time per step) against log(N)."""
    return float(np.polyfit(np.log(ns), np.log(times), 1)[0])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes 1e3..1e5 and short timings")
    args = parser.parse_args(argv)
    sizes = [1_000, 10_000, 100_000] if args.quick else [1_000, 10_000, 100_000, 1_000_000]
    min_time = 0.2 if args.quick else 0.6
    n_repeats = 3
    load_start = report_start()
    print(f"PS-LL chain vs 3-point finite differences, RK4 + renormalisation, model {MODEL}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"cpus {os.cpu_count()}, load {', '.join(f'{x:.2f}' for x in load_start)}")

    # correctness: the discrete kernel is the 3-point Laplacian, so both solvers follow the same trajectory
    checks = []
    for n in (1_000, 100_000):
        ps, fd = PSLLChain(n, **MODEL), FiniteDifferenceChain(n, **MODEL)
        m = ps.check_state(initial_state(n, seed=1))
        bps, bfd = ps._field(m), fd._field(m)
        field_err = float(np.abs(bps - bfd).max() / np.abs(bfd).max())
        dt = 0.1 * ps.stable_dt()
        _, mps = time_steps(ps, m.copy(), dt, 20)
        _, mfd = time_steps(fd, m.copy(), dt, 20)
        state_err = float(np.abs(mps - mfd).max())
        checks.append(dict(n=n, field_rel_err=field_err, state_err_20_steps=state_err))
        print(f"check N={n:>7}: field relative difference {field_err:.1e}, state difference after 20 steps "
              f"{state_err:.1e}")
    checks_ok = all(c["field_rel_err"] < 1e-10 and c["state_err_20_steps"] < 1e-10 for c in checks)

    rows = []
    for n in sizes:
        solvers = {"ps": PSLLChain(n, **MODEL), "fd": FiniteDifferenceChain(n, **MODEL)}
        m0 = solvers["ps"].check_state(initial_state(n))
        dt = 0.1 * solvers["ps"].stable_dt()
        steps = {k: calibrate(s, m0.copy(), dt, min_time) for k, s in solvers.items()}
        best = {k: math.inf for k in solvers}
        for _ in range(n_repeats):  # interleaved, so a change of load hits both
            for k, s in solvers.items():
                t, _ = time_steps(s, m0.copy(), dt, steps[k])
                best[k] = min(best[k], t / steps[k])
        rows.append(dict(n=n, steps_ps=steps["ps"], steps_fd=steps["fd"], s_per_step_ps=best["ps"],
                         s_per_step_fd=best["fd"], spin_steps_per_s_ps=n / best["ps"],
                         spin_steps_per_s_fd=n / best["fd"], ratio=best["fd"] / best["ps"],
                         ps_per_nlogn=best["ps"] / (n * math.log2(n))))
        r = rows[-1]
        print(f"N={n:>8}: PS-LL {r['spin_steps_per_s_ps'] / 1e6:8.2f} M spin-steps/s, FD "
              f"{r['spin_steps_per_s_fd'] / 1e6:8.2f} M/s, PS/FD {r['ratio']:.2f}", flush=True)

    ns = np.array([r["n"] for r in rows], dtype=float)
    big = ns >= 1e4
    exp_ps = fit_exponent(ns[big], [r["s_per_step_ps"] for r, b in zip(rows, big) if b])
    exp_fd = fit_exponent(ns[big], [r["s_per_step_fd"] for r, b in zip(rows, big) if b])
    ref = rows[0]["ps_per_nlogn"]
    print()
    print(f"{'N':>9} {'PS ms/step':>11} {'FD ms/step':>11} {'PS M/s':>8} {'FD M/s':>8} {'PS/FD':>6} "
          f"{'PS t/(N log2 N), rel.':>22}")
    for r in rows:
        print(f"{r['n']:>9} {r['s_per_step_ps'] * 1e3:>11.3f} {r['s_per_step_fd'] * 1e3:>11.3f} "
              f"{r['spin_steps_per_s_ps'] / 1e6:>8.2f} {r['spin_steps_per_s_fd'] / 1e6:>8.2f} "
              f"{r['ratio']:>6.2f} {r['ps_per_nlogn'] / ref:>22.2f}")
    print(f"(spin-steps per second = sites x RK4 steps / s, best of {n_repeats}, each >= {min_time:g} s; "
          f"single-threaded)")
    print(f"growth of the time per step with N (log-log slope, N >= 1e4): PS-LL {exp_ps:.2f}, FD {exp_fd:.2f} "
          f"(N log N over 1e4..1e6 has slope ~1.1; N has 1)")
    print(f"checks: {'ok' if checks_ok else 'FAILED'} (PS-LL with the discrete kernel == finite differences)")
    load_end, high = report_end(load_start)
    head = rows[-1]
    summary = dict(
        benchmark="pseudospectral", quick=args.quick, model=MODEL, kernel="discrete", integrator="rk4",
        n_max=head["n"], spin_steps_per_s=head["spin_steps_per_s_ps"],
        fd_spin_steps_per_s=head["spin_steps_per_s_fd"], ratio_ps_over_fd=head["ratio"],
        growth_exponent_ps=exp_ps, growth_exponent_fd=exp_fd, table=rows, checks_ok=checks_ok, checks=checks,
        load_start=list(load_start), load_end=list(load_end), high_load=high, cpus=os.cpu_count(),
        numpy=np.__version__, scipy=scipy.__version__,
    )
    print(json.dumps(summary))
    return 0 if checks_ok else 1


if __name__ == "__main__":
    sys.exit(main())
