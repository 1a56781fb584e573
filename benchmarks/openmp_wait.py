"""OpenMP wait policy: quick-profile training and inverse mapping under the Makefile's settings and without them.

The Makefile sets ``OMP_WAIT_POLICY=PASSIVE`` (numba's threads sleep between
parallel regions, which keeps the Metropolis kernels from stalling each other
on a busy 2-core machine) and ``GOMP_SPINCOUNT=10000`` (a short spin first).
torch's OpenMP reads the same variables, so each setting is timed here on
torch's work at the quick profile's size, each in a fresh process (the
variables are read once, at start): an E-VAE update of ``SpinVAE(48)`` on a
batch of 24 (``L_RC + beta L_KL + gamma L_H``, the loop's fused Adam) and an
inverse-mapping step on 2 targets.  The baseline is the default policy (no
variable set) in the same run; ratios are times over the baseline's.

Usage::

    .venv/bin/python benchmarks/openmp_wait.py     # ~1 min on 2 CPU cores

The last line is one JSON object with the seconds per update and per step of each setting.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from machine_load import report_end, report_start

SETTINGS = {"default (baseline)": {}, "PASSIVE": {"OMP_WAIT_POLICY": "PASSIVE"},
            "PASSIVE + GOMP_SPINCOUNT=10000 (Makefile)": {"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": "10000"}}

CHILD = """
import json, sys, torch
sys.path.insert(0, {here!r})
from training import time_steps, unit_states
from mag_ml.analysis.latent import inverse_map
from mag_ml.chapters.evae import EVAE_HAMILTONIAN as H
from mag_ml.models import SpinVAE
from mag_ml.training import _adam, _vae_loss
cpu = torch.device("cpu")
torch.manual_seed(0)
model = SpinVAE(48).train()
opt, loss = _adam(model, 1e-3), _vae_loss(H, 1e-3, 100.0, "per_spin")
x = unit_states(24, 48, cpu)
def update():
    opt.zero_grad(set_to_none=True)
    loss(model, x)["total"].backward()
    opt.step()
update()
u = time_steps(update, cpu, 1.0)
model.eval()
s = time_steps(lambda: inverse_map(model, x[:2], steps=50, tol=0.0), cpu, 1.0) / 50
print(json.dumps(dict(update_s=u, inverse_step_s=s, threads=torch.get_num_threads())))
"""


def main():
    load_start = report_start()
    base_env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    results = {}
    for name, extra in SETTINGS.items():
        child = CHILD.format(here=os.path.dirname(os.path.abspath(__file__)))
        out = subprocess.run([sys.executable, "-c", child], env={**base_env, **extra}, capture_output=True, text=True,
                             check=True)
        results[name] = json.loads(out.stdout.strip().splitlines()[-1])
    base = results["default (baseline)"]
    print(f"\nquick-profile torch work, {base['threads']} threads (ratio: time / baseline's, this run)")
    print(f"  {'setting':44s} {'E-VAE update':>14s} {'ratio':>6s} {'inverse-map step':>17s} {'ratio':>6s}")
    for name, r in results.items():
        print(f"  {name:44s} {1e3 * r['update_s']:11.1f} ms {r['update_s'] / base['update_s']:6.2f} "
              f"{1e3 * r['inverse_step_s']:14.2f} ms {r['inverse_step_s'] / base['inverse_step_s']:6.2f}")
    load_end, high = report_end(load_start)
    print(json.dumps(dict(results=results, load_start=load_start[0], load_end=load_end[0], high_load=high)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
