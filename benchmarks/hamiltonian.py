"""Throughput of the torch Hamiltonian: energy + gradient of a batch, eager vs torch.compile.

For a batch of random spin configurations (default 100 x 3 x 128 x 128,
float32) this times

* ``energy+grad``: ``H.energy(t)`` and its autograd gradient
  (``H.energy(t).sum()`` backward), what a Hamiltonian-guided loss costs;
* ``field``: the explicit effective field ``H.field(t)`` (no autograd), equal
  to minus that gradient (checked here);
* ``energy``: the forward pass alone;

each eager and with ``torch.compile`` (compile time excluded by a warm-up and
reported separately), on the CPU with 2 torch threads, and on CUDA when
available.  Rates are configurations per second; the meaningful numbers are
the ratios within one run (compiled / eager, field / autograd).  Not part of
the test suite.

Usage::

    .venv/bin/python benchmarks/hamiltonian.py            # full run (~1-2 min)
    .venv/bin/python benchmarks/hamiltonian.py --quick    # smoke run

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
import traceback
from pathlib import Path

os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(__file__).resolve().parents[1] / ".cache" / "numba"))

import torch  # noqa: E402

from mag_ml import Hamiltonian  # noqa: E402
from machine_load import report_end, report_start  # noqa: E402

MODEL = dict(J=1.0, D=0.3, B=0.05)  # Kwon et al. 2021


def random_batch(n, size, device, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, size, size, generator=g, dtype=torch.float32)
    return (x / x.norm(dim=1, keepdim=True)).to(device)


def make_ops(H, compiled):
    """The three timed operations, eager or through torch.compile."""
    energy = (lambda t: H.energy(t))
    field = (lambda t: H.field(t))
    if compiled:
        energy, field = torch.compile(energy), torch.compile(field)

    def energy_grad(x):
        x = x.detach().requires_grad_(True)
        e = energy(x)
        e.sum().backward()
        return e.detach(), x.grad

    def field_only(x):
        with torch.no_grad():
            return field(x)

    def energy_only(x):
        with torch.no_grad():
            return energy(x)

    return {"energy+grad": energy_grad, "field": field_only, "energy": energy_only}


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn, x, n, device):
    sync(device)
    t0 = time.perf_counter()
    for _ in range(n):
        fn(x)
    sync(device)
    return time.perf_counter() - t0


def rate(fn, x, device, min_time, n_repeats):
    """Configurations per second: best of ``n_repeats`` runs of >= ``min_time`` seconds each.

    A run repeats chunks of calls (about ``min_time / 5`` each, synchronised)
    until ``min_time`` has passed, so it is never shorter even if the
    calibration was slowed by other jobs.
    """
    dt = min(timed(fn, x, 1, device) for _ in range(3))
    n = max(1, math.ceil(min_time / 5 / max(dt, 1e-6)))
    best = 0.0
    for _ in range(n_repeats):
        calls, elapsed = 0, 0.0
        while elapsed < min_time:
            elapsed += timed(fn, x, n, device)
            calls += n
        best = max(best, calls * x.shape[0] / elapsed)
    return best


def check(ops, x, reference=None):
    """grad = -field, and (for compiled ops) agreement with the eager reference."""
    e, g = ops["energy+grad"](x)
    h = ops["field"](x)
    scale = h.abs().max().item()
    out = {"max|grad+field|/max|field|": ((g + h).abs().max().item() / scale)}
    if reference is not None:
        e0, g0, h0 = reference
        out["max|dE|/max|E|"] = ((e - e0).abs().max() / e0.abs().max()).item()
        out["max|dgrad|/max|field|"] = ((g - g0).abs().max() / scale).item()
        out["max|dfield|/max|field|"] = ((h - h0).abs().max() / scale).item()
    out["ok"] = all(v < 1e-5 for v in out.values())
    return out, (e, g, h)


def bench_device(H, device, batch, size, min_time, n_repeats):
    x = random_batch(batch, size, device)
    res = {"device": str(device), "eager": {}, "compiled": {}, "compile_s": None, "compile_error": None}
    eager = make_ops(H, compiled=False)
    for name, fn in eager.items():
        fn(x)  # warm-up (allocator, first-call overheads)
    res["check_eager"], reference = check(eager, x)
    for name, fn in eager.items():
        res["eager"][name] = rate(fn, x, device, min_time, n_repeats)

    try:
        compiled = make_ops(H, compiled=True)
        t0 = time.perf_counter()
        for fn in compiled.values():  # compile (forward, backward, no-grad variants)
            fn(x)
        sync(device)
        res["compile_s"] = time.perf_counter() - t0
        for fn in compiled.values():  # a second call: no recompilation left in the timings
            fn(x)
        res["check_compiled"], _ = check(compiled, x, reference)
        for name, fn in compiled.items():
            res["compiled"][name] = rate(fn, x, device, min_time, n_repeats)
    except Exception as exc:  # report and continue: compile support varies by platform
        res["compile_error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        traceback.print_exc(limit=3, file=sys.stdout)
        print(f"torch.compile failed on {device}: {res['compile_error']}")
    return res


def print_table(res):
    print(f"\n{res['device']}: configurations per second")
    print(f"{'operation':>12} {'eager':>10} {'compiled':>10} {'speed-up':>9}")
    for name, e in res["eager"].items():
        c = res["compiled"].get(name)
        cs, sp = (f"{c:>10.1f}", f"{c / e:>8.2f}x") if c else (f"{'-':>10}", f"{'-':>9}")
        print(f"{name:>12} {e:>10.1f} {cs} {sp}")
    e, f = res["eager"], res["eager"]["field"]
    print(f"explicit field vs autograd gradient: {f / e['energy+grad']:.2f}x faster (eager)"
          + (f", {res['compiled']['field'] / res['compiled']['energy+grad']:.2f}x (compiled)"
             if res["compiled"] else ""))
    if res["compile_s"] is not None:
        print(f"compile time (all three ops, excluded above): {res['compile_s']:.1f} s")
    for key in ("check_eager", "check_compiled"):
        if key in res:
            print(f"{key}: " + ", ".join(f"{k} {v:.1e}" if isinstance(v, float) else f"{k} {v}"
                                         for k, v in res[key].items()))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: batch 10, short timings")
    ap.add_argument("--batch", type=int, default=None, help="batch size (default 100, 10 with --quick)")
    ap.add_argument("--size", type=int, default=128, help="lattice side (default 128)")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    ap.add_argument("--repeats", type=int, default=None, help="measurements per rate, best kept (default 3)")
    args = ap.parse_args(argv)
    batch = args.batch or (10 if args.quick else 100)
    min_time, n_repeats = (0.2, 2) if args.quick else (1.0, 3)
    n_repeats = args.repeats or n_repeats
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    load_start = report_start()
    H = Hamiltonian(**MODEL)
    print(f"mag_ml torch Hamiltonian benchmark: J={H.J} D={H.D} B={H.B} K={H.K} {H.dmi} {H.boundary}, "
          f"batch {batch} x 3 x {args.size} x {args.size} float32{' (quick)' if args.quick else ''}")
    print(f"python {platform.python_version()}, torch {torch.__version__}, {os.cpu_count()} CPUs, "
          f"torch threads {torch.get_num_threads()}, CUDA {'available' if torch.cuda.is_available() else 'not available'}")

    results = {"cpu": bench_device(H, torch.device("cpu"), batch, args.size, min_time, n_repeats)}
    print_table(results["cpu"])
    if torch.cuda.is_available():
        dev = torch.device("cuda")
        results["cuda"] = bench_device(H, dev, batch, args.size, min_time, n_repeats)
        results["cuda"]["name"] = torch.cuda.get_device_name(dev)
        print_table(results["cuda"])

    print()
    load_end, high = report_end(load_start)
    cpu = results["cpu"]
    checks_ok = all(r[k]["ok"] for r in results.values() for k in ("check_eager", "check_compiled") if k in r)
    summary = dict(
        benchmark="hamiltonian", quick=args.quick, batch=batch, size=args.size, dtype="float32",
        threads=torch.get_num_threads(),
        configs_per_s_eager=cpu["eager"]["energy+grad"],
        configs_per_s_compiled=cpu["compiled"].get("energy+grad"),
        field_configs_per_s_eager=cpu["eager"]["field"],
        field_configs_per_s_compiled=cpu["compiled"].get("field"),
        compile_s=cpu["compile_s"], compile_error=cpu["compile_error"],
        cuda={k: results["cuda"][k] for k in ("name", "eager", "compiled", "compile_s", "compile_error")}
        if "cuda" in results else None,
        checks_ok=checks_ok, load_start=list(load_start), load_end=list(load_end), high_load=high,
        cpus=os.cpu_count(), torch=torch.__version__,
    )
    print(json.dumps(summary))
    return 0 if checks_ok else 1


if __name__ == "__main__":
    sys.exit(main())
