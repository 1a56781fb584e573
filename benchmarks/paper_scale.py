"""Paper-profile scale: Monte Carlo and training rates, and the paper profile's time extrapolated from them.

Measured in one run, against the numba CPU kernel measured in the same run:

* Monte Carlo updates/s at 128 x 128 (J = 1, D = 0.3, B = 0.05, T = 0.5):
  numba (one worker, one thread: the dataset's workers are single-threaded
  processes), the torch backend on the CPU (:mod:`mag_ml.physics.monte_carlo_torch`,
  a batch of ``--cpu-batch`` states) and on CUDA (a batch of 1024) when present;
* E-VAE training samples/s of ``SpinVAE(128)`` (loss ``L_RC + beta L_KL +
  gamma L_H``, the loop's fused Adam), each mode set up exactly as
  :func:`mag_ml.training.fit` sets it up: eager float32 (the baseline of the
  training rows), ``torch.compile``, bf16 autocast, on the CPU and, when
  present, on CUDA, where also ``train_schedule``'s default (bf16 +
  channels-last + compile) is timed;
* the paper profile extrapolated from those rates, per chapter: chapters
  1-2 (their Monte Carlo sweeps, :data:`mag_ml.chapters.evae.LATTICE_DEMOS`,
  at the numba rate on one worker: a lower bound), the chapters 3-5 E-VAE
  dataset (39,300 annealed 128 x 128 states, :func:`mag_ml.data.estimate_generation`;
  numba on ``os.cpu_count()`` workers), chapter 3's training series (every
  step of ``evae_training_spec("paper")``, controls included, at 30,000
  samples an epoch), chapter 5's independent training and open-boundary
  runs (their datasets and trainings; training at the 128 x 128 rate,
  an upper bound for the 64 x 64 sample), and chapters 6-7: their thermal
  images (every film, test set, size-study image, FeGe state and hysteresis
  step of ``micromagnetics_spec``/``estimator_spec``/``fege_spec("paper")``:
  cells x sweeps at the numba rate on ``os.cpu_count()`` workers; the
  films' Hamiltonians have the same terms as the E-VAE's, so the rate is
  theirs up to the anisotropy term) plus the estimators' training windows
  (clean, the augmented twin's later stages, the FeGe estimator) at the
  measured rate of Table I's network on 32 x 32 windows (batch 256, CPU eager);
  chapter 4: the seed study's trainings (:data:`mag_ml.chapters.evae.EVAE_BARRIER_SEEDS`)
  at the training rate, the models' encode + decode work (theta statistics,
  explorer, latent paths) and the inverse mappings at their measured CPU rates
  (upper bounds: a decode counted as an encode + decode, every mapping run
  to its step limit); chapters 8-9: the (sigma, tau) datasets' pairs on ``os.cpu_count()``
  workers, each pair's time measured on one mid-grid pair with shortened
  runs and scaled (:func:`defect_pair_seconds`; an estimate, not a bound),
  and chapter 6's standard problem (``compare_standard_problem`` timed at every
  cell size of the paper profile); chapter 9's networks, each trained through
  the chapter's functions on paper-shaped data for 2 and 6 epochs and
  extrapolated to its epoch count (:func:`defect_network_seconds`).

CUDA rows say "not measured (no GPU)" without a GPU; nothing is estimated as
if measured.

Usage::

    .venv/bin/python benchmarks/paper_scale.py     # ~3-5 min on 2 CPU cores

The last line is one JSON object with every rate and extrapolation.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(os.path.dirname(__file__), "..", ".cache", "numba"))

import numba  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from machine_load import report_end, report_start  # noqa: E402
from training import sync, time_steps, unit_states  # noqa: E402
from mag_ml.chapters.evae import (EVAE_BARRIER_SEEDS, EVAE_HAMILTONIAN as H, EVAE_OPEN_HAMILTONIAN,  # noqa: E402
                                  evae_analysis_spec, evae_dataset_spec, evae_training_spec, independent_evae_spec,
                                  lattice_demo_spec, open_boundary_spec)
from mag_ml.analysis.latent import inverse_map  # noqa: E402
from mag_ml.chapters.defects import (DEFECT_NETWORKS, _protocol, defect_chains, defect_dataset_spec,  # noqa: E402
                                     defect_grid, defect_split, defect_wall_ensemble, depinning_chain,
                                     depinning_dataset_spec, train_defect_networks, train_depinning_network,
                                     train_line_shape_network)
from mag_ml.analysis.standard_problem import compare_standard_problem  # noqa: E402
from mag_ml.physics.magnons import analytic_dispersion, measure_dispersion  # noqa: E402
from mag_ml.physics.pseudospectral import wavevectors  # noqa: E402
from mag_ml.physics.walls import depinning_ensemble  # noqa: E402
from mag_ml.training import _adam, _batch_layout, _prepare_model, _speed_options, _vae_loss  # noqa: E402
from mag_ml.data.generation import estimate_generation, measure_update_rate  # noqa: E402
from mag_ml.models import SpinVAE  # noqa: E402
from mag_ml.chapters.estimation import (AUGMENTATION, FILM_IMAGES, estimator_spec, fege_spec,  # noqa: E402
                                        micromagnetics_spec)
from mag_ml.data.windows import window_count  # noqa: E402
from mag_ml.models.cnn import TABLE_I_WIDTHS, ParameterCNN  # noqa: E402

SIZE = 128
NOT_MEASURED = "not measured (no GPU)"


#: Training modes: (precision, channels_last, compile) as :func:`mag_ml.training.fit` takes them.
MODES = {"eager": ("float32", False, False), "compiled": ("float32", False, True), "bf16": ("bf16", False, False),
         "auto": ("auto", "auto", "auto")}


def training_rate(device, batch, mode, min_time):
    """Samples/s of E-VAE training steps, the model and forward set up as :func:`mag_ml.training.fit` does."""
    torch.manual_seed(0)
    model = SpinVAE(SIZE).train()
    autocast, channels_last, compile_ = _speed_options(device, *MODES[mode])
    forward = _prepare_model(model, device, autocast, channels_last, compile_)
    opt = _adam(model, 1e-3)
    loss = _vae_loss(H, 1e-3, 1.0, "per_spin")
    x = _batch_layout(channels_last)(unit_states(batch, SIZE, device))

    def step():
        opt.zero_grad(set_to_none=True)
        loss(forward, x)["total"].backward()
        opt.step()

    step()
    step()  # warm-up (and compile)
    sync(device)
    return batch / time_steps(step, device, min_time, repeats=2)


def analysis_rates(min_time, batch=64):
    """Chapter 4's model work on the CPU: encode + decode states/s of ``SpinVAE(128)`` (no gradient, eval mode,
    batches of ``batch``) and inverse-mapping steps/s (two targets, as the chapter maps them)."""
    torch.manual_seed(0)
    model, cpu = SpinVAE(SIZE).eval(), torch.device("cpu")
    x = unit_states(batch, SIZE, cpu)

    def forward():
        with torch.no_grad():
            model.decode(model.encode(x)[0])

    forward()
    states = batch / time_steps(forward, cpu, min_time, repeats=2)
    targets, n = unit_states(2, SIZE, cpu, seed=1), 10
    inverse_map(model, targets, steps=2, tol=0.0)  # warm-up
    steps = n / time_steps(lambda: inverse_map(model, targets, steps=n, tol=0.0), cpu, min_time, repeats=2, min_steps=1)
    return states, steps


def latent_work():
    """Chapter 4 (paper): seed-study training samples, model encode + decode states, inverse-mapping steps.

    The theta statistics reconstruct the test set and decode as many samples with every E-VAE model of the
    first of ``from_betas``, its control and the standard VAE (a decode counted as an encode + decode: an upper
    bound); the explorer encodes the training set; each inverse mapping runs its ``inverse_steps`` (an upper
    bound: it stops once the loss saturates), for the 4 compared models and every pair of the seed study.
    """
    train, analysis = evae_training_spec("paper"), evae_analysis_spec("paper")
    n_train, _, n_test = evae_dataset_spec("paper")["splits"]
    gamma = analysis["gammas"][-1]
    branch_steps = 2 * sum(g <= gamma * (1 + 1e-9) for g in train["gammas"])  # E-VAE steps + their control
    samples = len(EVAE_BARRIER_SEEDS["paper"]["branch_offsets"]) * branch_steps * train["epochs"] * n_train
    pairs = 1 + len(EVAE_BARRIER_SEEDS["paper"]["branch_offsets"])
    maps = len(analysis["gammas"]) + 1 + 2 * pairs
    states = (1 + 2 * len(train["gammas"])) * 2 * n_test + n_train + maps * analysis["n_path"]
    return samples, states, maps * analysis["inverse_steps"]


def defect_pair_seconds(fast=16):
    """Chapters 8-9 (paper): seconds of one mid-grid (sigma, tau) pair of each dataset on one core, scaled from
    shortened runs.

    * dispersion (chapter 8's dataset): one batch of ``batch`` realisations for ``duration / fast`` ps, times
      ``fast`` and the number of batches (RK4 cost is linear in the duration);
    * walls (the same dataset): one batch of realisations relaxed to ``torque_tol``, times the number of batches;
    * depinning (chapter 9's dataset): every realisation of the pair ramped ``fast`` times faster, times ``fast``
      (the ramp's steps scale with 1 / ramp_rate; the first relaxation does not: an upper bound for it).

    Pairs differ (walls relax and depin at other speeds), so this is an estimate at the middle of the grid, not a
    bound.  Returns ``{"dispersion": s, "walls": s, "depinning": s}``.
    """
    spec = defect_dataset_spec("paper")
    sigma, tau = defect_grid(spec)
    mid = len(sigma) // 2
    batch = spec["batch"]
    dchain, wchain = defect_chains(spec)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)  # as in the datasets' worker processes
    t0 = time.perf_counter()
    measure_dispersion(dchain, spec["duration"] / fast, sigma=sigma[mid], tau=tau[mid], n_realisations=batch,
                       amplitude=spec["amplitude"], dt=spec["dt_fraction"] * dchain.stable_dt(),
                       sample_every=spec["sample_every"], batch=batch)
    t1 = time.perf_counter()
    defect_wall_ensemble(spec, sigma[mid], tau[mid], seed=0, n_realisations=batch, chain=wchain)
    t2 = time.perf_counter()
    dep = depinning_dataset_spec("paper")
    protocol = _protocol(dep) | dict(ramp_rate=fast * dep["ramp_rate"])
    depinning_ensemble(depinning_chain(dep), float(sigma[mid]), float(tau[mid]), n_realisations=dep["n_realisations"],
                       **protocol)
    t3 = time.perf_counter()
    numba.set_num_threads(threads)
    return {"dispersion": (t1 - t0) * fast * spec["n_dispersion_realisations"] / batch,
            "walls": (t2 - t1) * spec["n_realisations"] / batch, "depinning": (t3 - t2) * fast}


def paper_shaped_defect_data():
    """Chapter 9's inputs at the paper profile's shapes, with smooth synthetic values (a network's training time does
    not depend on its targets' values): the defect dataset's 144 pairs and splits, K = n_dispersion / 2 + 1
    wavevectors with the exact ideal band, line shapes of n_spectrum_bins bins, n_realisations wall profiles of
    n_wall / 2 points a pair, and the depinning dataset's grid with one field a pair."""
    spec = defect_dataset_spec("paper")
    sigma, tau = defect_grid(spec)
    n, r, x = sigma.size, spec["n_realisations"], spec["n_wall"] // 2
    k = wavevectors(spec["n_dispersion"], spec["a"])
    f_ideal = analytic_dispersion(k, A_ex=spec["A_ex"], M_s=spec["M_s"], a=spec["a"], K_u=spec["K_u"], B=spec["B"],
                                  kernel=spec["kernel"], gamma=spec["gamma"])
    p = sigma / (sigma + tau)  # occupied fraction
    widths = 3.0 / np.sqrt(p)[:, None] * (1.0 + 0.05 * np.cos(np.arange(r)))[None]  # (P, R) nm
    m_z_r = np.tanh((np.arange(x) - x / 2)[None, None] * spec["a"] / widths[..., None])
    spectrum = np.full((n, k.size, spec["n_spectrum_bins"]), 1.0 / spec["n_spectrum_bins"])
    data = SimpleNamespace(sigma=sigma, tau=tau, split=defect_split(spec), k=k, f_ideal=f_ideal,
                           f_centroid=f_ideal[None] * (0.5 + 0.5 * p[:, None]), spectrum=spectrum,
                           m_z=m_z_r.mean(axis=1), width=widths.mean(axis=1), m_z_r=m_z_r, widths=widths,
                           a=spec["a"], params=spec, path=Path("paper-shaped-defects.h5"))
    dep_spec = depinning_dataset_spec("paper")
    ds, dt = defect_grid(dep_spec)
    dep = SimpleNamespace(sigma=ds, tau=dt, split=defect_split(dep_spec), field=0.1 * (1.0 - ds / (ds + dt)) + 0.01,
                          path=Path("paper-shaped-depinning.h5"))
    return data, dep


def defect_network_seconds(epochs=(2, 6)):
    """Chapter 9 (paper): seconds of training each of its networks on the CPU, from two short runs.

    Every network the chapter trains (:func:`train_defect_networks`' five, the line-shape and depinning MLPs) at
    the paper profile's sizes on :func:`paper_shaped_defect_data`, through the chapter's own functions (checkpoints
    written as in the chapter, to a temporary folder), after a one-epoch warm-up run (not counted: first calls
    allocate and initialise), once for ``epochs[0]`` and once for ``epochs[1]`` epochs; the difference gives the
    time of an epoch, and the paper's epoch count of each network is extrapolated from it:
    ``t(e0) + (E - e0) * (t(e1) - t(e0)) / (e1 - e0)``.  Returns ``{network: seconds}``.
    """
    data, dep = paper_shaped_defect_data()
    paper = DEFECT_NETWORKS["paper"]
    timed = {}
    for e in (1, *epochs):
        short = copy.deepcopy(paper)
        for part in short.values():
            if isinstance(part, dict):
                part["epochs"] = e
        # the chapter's functions read the profile's table: give them the short one for these runs only
        with tempfile.TemporaryDirectory() as root, mock.patch.dict(DEFECT_NETWORKS, paper=short):
            common = dict(seed=0, device="cpu", progress=False, root=root)
            out = dict(train_defect_networks("paper", data, **common).seconds)
            for name, train, d in (("line_shape", train_line_shape_network, data),
                                   ("depinning", train_depinning_network, dep)):
                t0 = time.perf_counter()
                train("paper", d, **common)
                out[name] = time.perf_counter() - t0
        timed[e] = out
    (e0, t_a), (e1, t_b) = ((e, timed[e]) for e in epochs)
    return {name: t_a[name] + (paper["pinn" if name == "tfc_only" else name]["epochs"] - e0)  # TFC w = 0: the PINN's
            * (t_b[name] - t_a[name]) / (e1 - e0) for name in t_a}


def standard_problem_seconds():
    """Chapter 6 (paper): seconds of ``compare_standard_problem`` at each of ``micromagnetics_spec("paper")["dx"]``.

    Every cell size is timed (the finest, 0.25 nm, about 30 s here; scaling the 0.5 nm time by the ratio of the
    last halving predicted half of that).  Returns ``{dx in nm: seconds}``.
    """
    out = {}
    for dx in micromagnetics_spec("paper")["dx"]:
        t0 = time.perf_counter()
        compare_standard_problem(dx)
        out[round(dx * 1e9, 3)] = time.perf_counter() - t0
    return out


def estimator_rate(batch, min_time):
    """Windows/s of the paper estimator's training step: Table I's network on 32 x 32 windows, CPU eager."""
    torch.manual_seed(0)
    model = ParameterCNN(widths=TABLE_I_WIDTHS, dropout=1.0, input_map="polar_angle").train()
    opt = _adam(model, 1e-3)
    x, y = torch.rand(batch, 1, 32, 32) * 2 - 1, torch.rand(batch, 3)

    def step():
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()

    step()
    return batch / time_steps(step, torch.device("cpu"), min_time, repeats=2)


def estimation_work():
    """Chapters 6 and 7 (paper): Monte Carlo spin updates per chapter, and the estimators' training windows."""
    m, e, f = micromagnetics_spec("paper"), estimator_spec("paper"), fege_spec("paper")
    cells = e["shape"][0] * e["shape"][1]
    sweeps = e["n_anneal"] + e["n_sweeps"]
    ch6 = len(FILM_IMAGES) * m["shape"][0] * m["shape"][1] * (m["n_anneal"] + m["n_sweeps"])
    images = e["n_train"] + e["n_grid"] ** 3 + (e["n_grid"] - 1) ** 3 + 2  # + observation and re-simulation
    fege = (f["n_train"] + f["n_calibration"] + f["n_test"] + 2) * f["shape"][0] * f["shape"][1] * (
        f["n_anneal"] + f["n_sweeps"])
    h = e["hysteresis"]
    loops = 2 * e["loop_seeds"] + 8 * 2  # estimated + true films over the seeds, the 8 interval corners over 2
    hysteresis = loops * 2 * h["n_steps"] * h["n_sweeps"] * h["shape"][0] * h["shape"][1]
    ch7 = images * cells * sweeps + sum(L * L for L in e["sizes"]) * sweeps + fege + hysteresis
    epochs = [n for n, _ in e["stages"]]
    windows = (e["n_train"] * window_count(e["shape"], e["window"], e["train_stride"])[2]
               * (sum(epochs) + sum(epochs[AUGMENTATION["from_stage"]:]))
               + f["n_train"] * window_count(f["shape"], f["window"], f["train_stride"])[2]
               * sum(n for n, _ in f["stages"]))
    return ch6, ch7, windows


def series_samples():
    """Training samples of chapter 3's paper series: steps x epochs x training states."""
    spec = evae_training_spec("paper")
    evae_steps = len(spec["from_betas"]) * len(spec["gammas"]) * (2 if spec["controls"] else 1)
    n_train = evae_dataset_spec("paper")["splits"][0]
    return (len(spec["betas"]) + evae_steps) * spec["epochs"] * n_train, len(spec["betas"]) + evae_steps


def independent_samples():
    """Training samples of chapter 5's independent E-VAE (paper): its steps x epochs x training states."""
    spec = {**evae_training_spec("paper"), **independent_evae_spec("paper")["spec"]}
    steps = len(spec["betas"]) + len(spec["from_betas"]) * len(spec["gammas"])
    return steps * spec["epochs"] * evae_dataset_spec("paper")["splits"][0]


def open_boundary_work():
    """Chapter 5's open-boundary runs (paper): [(shape, n_states, schedule)] to anneal, and training samples."""
    spec = open_boundary_spec("paper")
    samples = (spec["first_epochs"] + spec["epochs"] * len(spec["gammas"])) * spec["splits"][0] * len(spec["sizes"])
    return [((n, n), spec["n_states"], spec["schedule"]) for n in spec["sizes"]], samples


def demo_updates():
    """Monte Carlo spin updates of chapters 1 and 2 (paper): their sweeps x sites, per chapter."""
    d = lattice_demo_spec("paper")
    ch1 = (d["mc_sweeps"] + d["relax_sweeps"]) * d["L"] ** 2 + d["relax_sweeps"] * 2 * d["W"]
    thermo = (d["thermo_T"][2] * (d["thermo_measure"] + d["thermo_burn_in"])
              * d["thermo_shape"][0] * d["thermo_shape"][1])
    phase = (d["phase_B"][2] * d["phase_T"][2] * (d["phase_measure"] + d["phase_burn_in"])
             * d["phase_shape"][0] * d["phase_shape"][1])
    free = (d["free_sweeps"] + d["free_burn_in"]) * d["free_shape"][0] * d["free_shape"][1]
    return {"chapter 1": ch1, "chapter 2": thermo + phase + free}


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
    train = {f"CPU {mode}": training_rate(torch.device("cpu"), args.train_batch, mode, args.min_time)
             for mode in ("eager", "compiled", "bf16")}
    for mode in ("eager", "compiled", "bf16", "auto"):
        train[f"CUDA {mode}"] = training_rate(torch.device("cuda"), 100, mode, args.min_time) if cuda else None
    train_base = train["CPU eager"]
    window_rate = estimator_rate(256, args.min_time)
    decode_rate, inverse_rate = analysis_rates(args.min_time)
    pair = defect_pair_seconds()
    networks = defect_network_seconds()
    standard = standard_problem_seconds()

    def dataset_s(device, rate, shape=shape, n=n_states, schedule=schedule, hamiltonian=H):
        return estimate_generation(hamiltonian=hamiltonian, shape=shape, schedule=schedule, n_states=n,
                                   device=device, workers=workers, rate=rate).seconds if rate else None

    data = {"numba CPU": dataset_s("numba", base), "torch CPU": dataset_s("torch-cpu", mc["torch CPU"]),
            "torch CUDA": dataset_s("cuda", mc["torch CUDA"])}
    samples, steps = series_samples()
    fit = {mode: (samples / rate if rate else None) for mode, rate in train.items()}
    open_data, open_samples = open_boundary_work()
    cpu_fit, cpu_data = train["CPU eager"], "numba"
    chapters = {name: n / base for name, n in demo_updates().items()}  # one worker: a lower bound
    chapters["chapter 3 (dataset + series)"] = data["numba CPU"] + samples / cpu_fit
    study_samples, latent_states, inverse_steps = latent_work()
    chapters["chapter 4 (seed study + analyses)"] = (study_samples / cpu_fit + latent_states / decode_rate
                                                     + inverse_steps / inverse_rate)
    chapters["chapter 5 (independent + open boundaries)"] = (
        independent_samples() / cpu_fit + open_samples / cpu_fit
        + sum(dataset_s(cpu_data, base, shape=sh, n=n, schedule=sc, hamiltonian=EVAE_OPEN_HAMILTONIAN)
              for sh, n, sc in open_data))
    ch6_updates, ch7_updates, windows = estimation_work()
    chapters["chapter 6 (thermal images + standard problem)"] = (ch6_updates / (base * workers)
                                                              + sum(standard.values()))
    chapters["chapter 7 (images + estimators)"] = ch7_updates / (base * workers) + windows / window_rate
    # the datasets' pairs run in parallel worker processes; the two references of each dataset are left out
    n_pairs = defect_dataset_spec("paper")["n_grid"] ** 2
    chapters["chapter 8 (defect dataset)"] = n_pairs * (pair["dispersion"] + pair["walls"]) / workers
    chapters["chapter 9 (depinning dataset + networks)"] = n_pairs * pair["depinning"] / workers + sum(networks.values())

    print(f"\nMonte Carlo, {shape[0]}x{shape[1]}, M updates/s (ratio to numba CPU, 1 worker, this run)")
    for name, rate in mc.items():
        print(f"  {name:24s} " + (f"{rate / 1e6:10.2f}   x{rate / base:.3g}" if rate else NOT_MEASURED))
    print(f"\nE-VAE training, SpinVAE({SIZE}), samples/s (ratio to CPU eager, this run; CPU batch {args.train_batch}, "
          "CUDA batch 100; CUDA auto = bf16 + channels-last + compile)")
    for name, rate in train.items():
        print(f"  {name:24s} " + (f"{rate:10.2f}   x{rate / train_base:.3g}" if rate else NOT_MEASURED))
    print(f"\nEstimator training, Table I network on 32x32 windows, batch 256, CPU eager: {window_rate:.1f} windows/s")
    print(f"\nChapter 4's model work, SpinVAE({SIZE}), CPU: {decode_rate:.1f} states/s encoded + decoded (batch 64), "
          f"{inverse_rate:.2f} inverse-mapping steps/s (2 targets)")
    print(f"\nChapters 8-9, one mid-grid (sigma, tau) pair of the paper datasets on one core (scaled from shortened "
          "runs): " + ", ".join(f"{k} {v:.1f} s" for k, v in pair.items()))
    print("\nChapter 9's networks at the paper sizes, CPU, extrapolated from 2- and 6-epoch runs to 3,000 epochs: "
          + ", ".join(f"{k} {hours(v)}" for k, v in networks.items()))
    print("\nChapter 6's standard problem, compare_standard_problem per cell size: " + ", ".join(
        f"{dx:g} nm {t:.1f} s" for dx, t in standard.items()))
    print(f"\nPaper profile, extrapolated (time; ratio to numba CPU on {workers} workers)")
    print(f"  chapters 3-5 dataset ({n_states} states, {schedule.n_sweeps} sweeps + relaxation each):")
    for name, sec in data.items():
        print(f"    {name:22s} " + (f"{hours(sec):>10s}   x{data['numba CPU'] / sec:.3g}" if sec else NOT_MEASURED))
    print(f"  chapter 3 training series ({steps} steps x 100 epochs x 30,000 states):")
    for name, sec in fit.items():
        print(f"    {name:22s} " + (f"{hours(sec):>10s}" if sec else NOT_MEASURED))
    print(f"  per chapter on this CPU (numba on {workers} workers, CPU eager training; chapters 1-2: their Monte "
          "Carlo sweeps on one worker, a lower bound):")
    for name, sec in chapters.items():
        print(f"    {name:44s} {hours(sec):>10s}")
    print("  chapters 8-9's datasets from one mid-grid pair each (an estimate, not a bound)"
          + (f"; on CUDA: {NOT_MEASURED}" if not cuda else ""))
    load_end, high = report_end(load_start)
    out = dict(mc_updates_per_s=mc, training_samples_per_s=train, estimator_windows_per_s=window_rate,
               latent_states_per_s=decode_rate, inverse_map_steps_per_s=inverse_rate, defect_pair_s=pair,
               defect_network_s=networks,
               standard_problem_s={str(dx): t for dx, t in standard.items()},
               paper_dataset_s=data, paper_training_s=fit,
               paper_chapter_cpu_s=chapters, training_steps=steps, workers=workers, load_start=load_start[0],
               load_end=load_end[0],
               high_load=high, torch=torch.__version__, python=platform.python_version())
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
