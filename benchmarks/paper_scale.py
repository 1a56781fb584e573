"""Paper-profile scale: Monte Carlo and training rates, and the paper profile's time extrapolated from them.

Measured in one run, against the numba CPU kernel measured in the same run:

* Monte Carlo updates/s at 128 x 128 (J = 1, D = 0.3, B = 0.05, T = 0.5):
  numba (one worker, one thread: the dataset's workers are single-threaded
  processes), the torch backend on the CPU (:mod:`mag_ml.physics.monte_carlo_torch`,
  a batch of ``--cpu-batch`` states) and on CUDA (a batch of 1024) when present;
* E-VAE training samples/s of ``SpinVAE(128)`` (loss ``L_RC + beta L_KL +
  gamma L_H``, Adam): eager on the CPU; eager, ``torch.compile`` and bf16
  autocast on CUDA when present;
* the paper profile of chapters 3-5 extrapolated from those rates: the E-VAE
  dataset (39,300 annealed 128 x 128 states, :func:`mag_ml.data.estimate_generation`;
  numba on ``os.cpu_count()`` workers) and the chapter-3 training series
  (every step of ``evae_training_spec("paper")``, controls included, at
  30,000 samples an epoch).

CUDA rows say "not measured (no GPU)" without a GPU; nothing is estimated as
if measured.  The other chapters' paper profiles are not extrapolated here.

Usage::

    .venv/bin/python benchmarks/paper_scale.py     # ~1-2 min on 2 CPU cores

The last line is one JSON object with every rate and extrapolation.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys

os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(os.path.dirname(__file__), "..", ".cache", "numba"))

import torch  # noqa: E402

from machine_load import report_end, report_start  # noqa: E402
from training import loss_fn, sync, time_steps, unit_states  # noqa: E402
from mag_ml.chapters.evae import EVAE_HAMILTONIAN as H, evae_dataset_spec, evae_training_spec  # noqa: E402
from mag_ml.data.generation import estimate_generation, measure_update_rate  # noqa: E402
from mag_ml.models import SpinVAE  # noqa: E402

SIZE = 128
NOT_MEASURED = "not measured (no GPU)"


def training_rate(device, batch, mode, min_time):
    """Samples/s of E-VAE training steps (``mode``: eager, compiled or bf16 autocast)."""
    torch.manual_seed(0)
    model = SpinVAE(SIZE).to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999))
    x = unit_states(batch, SIZE, device)
    fn = torch.compile(loss_fn) if mode == "compiled" else loss_fn

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=mode == "bf16"):
            loss = fn(model, x)
        loss.backward()
        opt.step()

    step()
    step()  # warm-up (and compile)
    sync(device)
    return batch / time_steps(step, device, min_time, repeats=2)


def series_samples():
    """Training samples of chapter 3's paper series: steps x epochs x training states."""
    spec = evae_training_spec("paper")
    evae_steps = len(spec["from_betas"]) * len(spec["gammas"]) * (2 if spec["controls"] else 1)
    n_train = evae_dataset_spec("paper")["splits"][0]
    return (len(spec["betas"]) + evae_steps) * spec["epochs"] * n_train, len(spec["betas"]) + evae_steps


def hours(seconds):
    return f"{seconds / 3600:.3g} h" if seconds >= 3600 else f"{seconds / 60:.3g} min"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cpu-batch", type=int, default=4, help="states per torch CPU Monte Carlo batch")
    p.add_argument("--train-batch", type=int, default=8, help="training batch on the CPU (100 on CUDA)")
    p.add_argument("--min-time", type=float, default=2.0, help="seconds per measurement")
    args = p.parse_args(argv)
    load_start = report_start()
    workers = os.cpu_count() or 1
    cuda = torch.cuda.is_available()
    spec = evae_dataset_spec("paper")
    shape, schedule, n_states = tuple(spec["shape"]), spec["schedule"], spec["n_states"]

    mc = {"numba CPU (1 worker)": measure_update_rate(H, shape, device="numba", seconds=args.min_time)}
    mc["torch CPU"] = measure_update_rate(H, shape, device="torch-cpu", batch=args.cpu_batch, seconds=args.min_time)
    mc["torch CUDA"] = (measure_update_rate(H, shape, device="cuda", batch=1024, seconds=args.min_time)
                        if cuda else None)
    base = mc["numba CPU (1 worker)"]
    train = {"CPU eager": training_rate(torch.device("cpu"), args.train_batch, "eager", args.min_time)}
    for mode in ("eager", "compiled", "bf16"):
        train[f"CUDA {mode}"] = training_rate(torch.device("cuda"), 100, mode, args.min_time) if cuda else None

    def dataset_s(device, rate):
        return estimate_generation(hamiltonian=H, shape=shape, schedule=schedule, n_states=n_states, device=device,
                                   workers=workers, rate=rate).seconds if rate else None

    data = {"numba CPU": dataset_s("numba", base), "torch CPU": dataset_s("torch-cpu", mc["torch CPU"]),
            "torch CUDA": dataset_s("cuda", mc["torch CUDA"])}
    samples, steps = series_samples()
    fit = {mode: (samples / rate if rate else None) for mode, rate in train.items()}

    print(f"\nMonte Carlo, {shape[0]}x{shape[1]}, M updates/s (ratio to numba CPU, 1 worker, this run)")
    for name, rate in mc.items():
        print(f"  {name:24s} " + (f"{rate / 1e6:10.2f}   x{rate / base:.3g}" if rate else NOT_MEASURED))
    print(f"\nE-VAE training, SpinVAE({SIZE}), samples/s (CPU batch {args.train_batch}, CUDA batch 100)")
    for name, rate in train.items():
        print(f"  {name:24s} " + (f"{rate:10.1f}" if rate else NOT_MEASURED))
    print(f"\nPaper profile, extrapolated (time; ratio to numba CPU on {workers} workers)")
    print(f"  chapters 3-5 dataset ({n_states} states, {schedule.n_sweeps} sweeps + relaxation each):")
    for name, sec in data.items():
        print(f"    {name:22s} " + (f"{hours(sec):>10s}   x{data['numba CPU'] / sec:.3g}" if sec else NOT_MEASURED))
    print(f"  chapter 3 training series ({steps} steps x 100 epochs x 30,000 states):")
    for name, sec in fit.items():
        print(f"    {name:22s} " + (f"{hours(sec):>10s}" if sec else NOT_MEASURED))
    print("  chapters 1, 2, 4-9: not extrapolated by this script")
    load_end, high = report_end(load_start)
    out = dict(mc_updates_per_s=mc, training_samples_per_s=train, paper_dataset_s=data, paper_training_s=fit,
               training_steps=steps, workers=workers, load_start=load_start[0], load_end=load_end[0],
               high_load=high, torch=torch.__version__, python=platform.python_version())
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
