"""Which loss normalisation and training budget give the regimes of Kwon et al. 2021, Fig. 2A?

The paper's standard VAE shows, as beta grows tenfold per step, a replica
regime at small beta (reconstructions nearly exact, L_RC near zero),
posterior collapse near beta ~ 1e-2 (L_KL -> 0, L_RC jumps) and an L_H of
the reconstructions that rises with beta.  This study trains the standard
VAE's beta series of a profile (its schedule and held-out training data,
:func:`mag_ml.chapters.evae.evae_training_dataset`) in three variants:

* ``per_spin``: the book's per-spin L_RC and L_H (``EVAE_TRAINING``);
* ``sum``: the sums of a Keras-style implementation (L_RC over all sites
  and components, L_H the total energy; :func:`mag_ml.models.vae_losses`);
* ``per_spin_long``: per-spin with four times the epochs per step.

and writes, per variant, the end-of-step training losses and the regimes
read off them to ``studies/results/vae_normalisation-<profile>.json``, which
chapter 3 shows.  Run (quick: about three minutes on 2 CPU cores)::

    python studies/vae_normalisation.py --profile quick

Each series is cached under ``data/<profile>/`` like the chapters' models.
"""

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from mag_ml.artifacts import artifact_path, params_hash
from mag_ml.chapters.evae import EVAE_HAMILTONIAN, evae_training_dataset, evae_training_spec
from mag_ml.data import load_states, open_dataset, read_params
from mag_ml.files import atomic_write, to_jsonable
from mag_ml.models import SpinVAE
from mag_ml.training import Step, train_schedule

#: variant name -> (normalisation, factor on the epochs of every step)
VARIANTS = {"per_spin": ("per_spin", 1), "sum": ("sum", 1), "per_spin_long": ("per_spin", 4)}
#: L_KL below this (nats per sample): the code carries almost nothing, posterior collapse (as chapter 3's loss_regions)
KL_COLLAPSE = 1.0
OUT = Path(__file__).resolve().parent / "results"


def regimes(betas, rc, kl, h):
    """The Fig. 2A regimes read off one series' per-spin training losses."""
    collapsed = [b for b, k in zip(betas, kl) if k < KL_COLLAPSE]
    before = [i for i, b in enumerate(betas) if not collapsed or b < collapsed[0]]
    slope = float(np.polyfit(np.log10(np.asarray(betas)[before]), np.asarray(h)[before], 1)[0]) if len(before) > 1 \
        else float("nan")
    return dict(collapse_beta=collapsed[0] if collapsed else None, rc_smallest_beta=float(rc[0]),
                h_slope_per_decade_before_collapse=slope)


def main(profile, seed=0):
    spec = evae_training_spec(profile)
    path = evae_training_dataset(profile, seed=seed, progress=False)
    train, validation = load_states(path, "train"), load_states(path, "validation")
    with open_dataset(path) as f:
        data_params = read_params(f)
    n_sites = train.shape[-1] * train.shape[-2]
    out = dict(profile=profile, seed=seed, dataset_params_hash=params_hash(data_params), betas=spec["betas"],
               epochs=spec["epochs"], first_epochs=spec["first_epochs"], batch_size=spec["batch_size"],
               kl_collapse=KL_COLLAPSE, variants={})
    for name, (normalisation, factor) in VARIANTS.items():
        steps = [Step(b, 0.0, factor * (spec["first_epochs"] if k == 0 else spec["epochs"]))
                 for k, b in enumerate(spec["betas"])]
        params = to_jsonable(dict(dataset=data_params, study="vae_normalisation", variant=name, seed=seed,
                                  steps=[s.as_dict() for s in steps], batch_size=spec["batch_size"], lr=spec["lr"]))
        directory = artifact_path(profile, "vae_normalisation", params, suffix="")
        torch.manual_seed(seed)
        history = train_schedule(SpinVAE(train.shape[-1]), steps, train, validation, EVAE_HAMILTONIAN, directory,
                                 seed=seed, name="vae", batch_size=spec["batch_size"], lr=spec["lr"], params=params,
                                 normalisation=normalisation, progress=True)
        scale = n_sites if normalisation == "sum" else 1  # report every variant per spin
        rc = [h["train"]["rc"] / scale for h in history]
        kl = [h["train"]["kl"] for h in history]
        hh = [h["train"]["h"] / scale for h in history]
        out["variants"][name] = dict(normalisation=normalisation, epochs_factor=factor, rc=rc, kl=kl, h=hh,
                                     **regimes(spec["betas"], rc, kl, hh))
    OUT.mkdir(exist_ok=True)
    with atomic_write(OUT / f"vae_normalisation-{profile}.json") as f:
        json.dump(out, f, indent=1)
    print(json.dumps({k: {m: v[m] for m in ("collapse_beta", "rc_smallest_beta",
                                             "h_slope_per_decade_before_collapse")}
                      for k, v in out["variants"].items()}, indent=1))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="quick", choices=["quick", "paper"])
    parser.add_argument("--seed", type=int, default=0)
    main(**vars(parser.parse_args()))
