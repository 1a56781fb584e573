"""Chapters 2-5: the E-VAE dataset, training series and their profiles (Kwon et al., Adv. Sci. 2021).

Kwon et al. (Adv. Sci. 2021) train on 39,300 metastable states of the 2D
Heisenberg model with J = 1, D = 0.3, B = 0.05 on a periodic 128 x 128
lattice, split 30,000 / 5,000 / 4,300.  The ``"paper"`` profile reproduces
that; ``"quick"`` is a miniature on 48 x 48 sites (about 2.2 spiral periods,
2 pi / atan(0.3) = 21.6 sites, so 4-9 skyrmions still fit) with 300 states,
made in under a minute on 2 CPU cores.

The paper does not give its annealing schedule.  Ours is geometric cooling
from T = 1.0 (well above the ordering crossover, about 0.7 J here) to 0.01,
then over-relaxed field alignment at T = 0 (:func:`mag_ml.anneal`).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from mag_ml.artifacts import artifact_path
from mag_ml.chapters import profile_spec
from mag_ml.data.generation import generate_dataset
from mag_ml.data.storage import dataset_params, load_states
from mag_ml.files import to_jsonable
from mag_ml.models.vae import SpinVAE
from mag_ml.physics.hamiltonian import Hamiltonian
from mag_ml.physics.monte_carlo import AnnealSchedule
from mag_ml.training import Step, derived_seed, resolve_device, series_key, step_weights, tenfold, train_schedule

__all__ = ["EVAE_HAMILTONIAN", "EVAE_PROFILES", "EVAE_TRAINING", "evae_dataset_spec", "evae_dataset",
           "evae_training_spec", "SeriesResult", "EVAESeries", "train_evae_series", "loss_regions"]

_INIT_SLOT = 2 ** 31 - 2  # spawn-key slot of the initial weights of the standard VAE

#: The paper's model (interfacial DMI; see :class:`mag_ml.Hamiltonian`).
EVAE_HAMILTONIAN = Hamiltonian(J=1.0, D=0.3, B=0.05, dmi="interfacial", boundary="periodic")

EVAE_PROFILES = {
    "quick": dict(shape=(48, 48), n_states=300, splits=(240, 30, 30),
                  schedule=AnnealSchedule(T_start=1.0, T_end=0.01, n_steps=20, sweeps_per_step=50)),
    "paper": dict(shape=(128, 128), n_states=39_300, splits=(30_000, 5_000, 4_300),
                  schedule=AnnealSchedule(T_start=1.0, T_end=0.01, n_steps=50, sweeps_per_step=200)),
}


def evae_dataset_spec(profile, seed=0):
    """Parameters of the E-VAE dataset of ``profile``.

    Parameters
    ----------
    profile : {"quick", "paper"}
    seed : int
        Dataset seed; state i is ``anneal(..., seed=seed, sample=i)``.

    Returns
    -------
    dict
        Keyword arguments of :func:`mag_ml.data.generate_dataset` (without
        ``path``): ``hamiltonian``, ``shape``, ``schedule``, ``n_states``,
        ``splits``, ``seed``.

    Raises
    ------
    ValueError
        Unknown profile.
    """
    return dict(hamiltonian=EVAE_HAMILTONIAN, seed=seed, **profile_spec(EVAE_PROFILES, profile))


def evae_dataset(profile, *, seed=0, executor=None, progress=True, root=None):
    """Path of the profile's E-VAE dataset, generating whatever is missing.

    The file lives at ``data/<profile>/evae_states-<hash>.h5``, the hash
    covering every generation parameter; a finished file is verified and
    reused, an interrupted generation resumes (see
    :func:`mag_ml.data.generate_dataset`).

    Parameters
    ----------
    profile : {"quick", "paper"}
    seed : int
    executor : concurrent.futures.Executor, optional
        Where the anneals run (default: local processes).  Pass a
        ``dask.distributed.Client(...).get_executor()`` for a cluster.
    progress : bool
    root : path, optional
        Artifact root (default ``data/``).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        Unknown profile; see also :func:`mag_ml.data.generate_dataset`.
    """
    spec = evae_dataset_spec(profile, seed)
    path = artifact_path(profile, "evae_states", dataset_params(**spec), root=root, suffix=".h5")
    return generate_dataset(path, executor=executor, progress=progress, **spec)


# ----------------------------------------------------------------------------- training series
#: Schedules of the chapter per profile.  ``betas``: the standard VAE's steps;
#: ``gammas``: the E-VAE's, run from each of ``from_betas``; ``epochs``:
#: epochs per step, ``first_epochs`` for the very first step (from random
#: weights).  Paper: Kwon et al. 2021, 100 epochs per step, batch 100, i.e.
#: 30,000 Adam updates per step.  Quick: 240 training states; batches of 24
#: give 10 updates per epoch (batches of 100 would give 2.4, too few for the
#: trends to show in a few epochs), 50 per step, 200 for the first step; the
#: ``gamma`` range skips the steps below 1e-2, where ``gamma L_H`` is
#: negligible (``L_H`` is a few hundredths per spin), and goes to 1e5 so
#: the collapse shows.  About 125 epochs of 0.5-1 s on 2 idle CPU cores.
EVAE_TRAINING = {
    "quick": dict(betas=tenfold(1e-5, 1.0), gammas=tenfold(1e-2, 1e5), from_betas=(1e-3, 1e-4),
                  epochs=5, first_epochs=20, batch_size=24, lr=1e-3, checkpoint_every=10),
    "paper": dict(betas=tenfold(1e-6, 1.0), gammas=tenfold(1e-4, 1e6), from_betas=(1e-3, 1e-4),
                  epochs=100, first_epochs=100, batch_size=100, lr=1e-3, checkpoint_every=10),
}


def evae_training_spec(profile):
    """The schedule of :data:`EVAE_TRAINING` for ``profile`` (a copy); ValueError for an unknown profile."""
    return profile_spec(EVAE_TRAINING, profile)


class SeriesResult:
    """One trained series: its steps, history and saved weights.

    Attributes
    ----------
    name : str
    directory : pathlib.Path
    steps : list of Step
    history : list of dict
        As returned by :func:`train_schedule`.
    model_config : dict
        Arguments of :class:`SpinVAE`.
    """

    def __init__(self, name, directory, steps, history, model_config):
        self.name, self.directory, self.steps = name, Path(directory), list(steps)
        self.history, self.model_config = history, model_config

    def __repr__(self):
        return f"SeriesResult({self.name!r}, {len(self.steps)} steps, {self.directory})"

    def __len__(self):
        return len(self.steps)

    def values(self, name):
        """Array of ``beta`` or ``gamma`` (the step parameter), one per step."""
        return np.array([h[name] for h in self.history])

    def loss(self, split, term):
        """Array of a loss term (``rc``, ``kl``, ``h``, ``total``) of ``split`` per step."""
        return np.array([h[split][term] for h in self.history])

    def index(self, *, beta=None, gamma=None):
        """Index of the step with the given ``beta`` and/or ``gamma`` (relative tolerance 1e-6)."""
        hits = [k for k, s in enumerate(self.steps)
                if (beta is None or math.isclose(s.beta, beta, rel_tol=1e-6))
                and (gamma is None or math.isclose(s.gamma, gamma, rel_tol=1e-6))]
        if not hits:
            raise KeyError(f"{self.name}: no step with beta={beta!r}, gamma={gamma!r}; "
                           f"steps are {[(s.beta, s.gamma) for s in self.steps]}")
        return hits[0]

    def model(self, step=None, *, beta=None, gamma=None, device="cpu"):
        """The :class:`SpinVAE` at the end of a step, in eval mode.

        Parameters
        ----------
        step : int, optional
            Step index (negative counts from the end).
        beta, gamma : float, optional
            Alternatively, select the step by its weights.
        device : str or torch.device, default "cpu"
        """
        if step is None:
            step = self.index(beta=beta, gamma=gamma)
        step = range(len(self.steps))[step]
        model = SpinVAE(**self.model_config)
        model.load_state_dict(torch.load(step_weights(self.directory, step), map_location="cpu"))
        return model.to(resolve_device(device)).eval()


class EVAESeries:
    """The chapter's trained models: one standard VAE series and E-VAE series.

    Attributes
    ----------
    profile : str
    vae : SeriesResult
        ``beta`` series at ``gamma = 0``.
    evae : dict of float to SeriesResult
        ``gamma`` series, keyed by their fixed ``beta``.
    dataset : pathlib.Path
        The HDF5 dataset they were trained on.
    """

    def __init__(self, profile, vae, evae, dataset):
        self.profile, self.vae, self.evae, self.dataset = profile, vae, evae, Path(dataset)

    def __repr__(self):
        return (f"EVAESeries({self.profile!r}, vae={len(self.vae)} steps, "
                f"evae={{{', '.join(f'{b:g}: {len(s)} steps' for b, s in self.evae.items())}}})")

    def model(self, *, beta, gamma=0.0, device="cpu"):
        """The model trained with ``beta`` and ``gamma`` (``gamma = 0``: the standard VAE step)."""
        if gamma == 0:
            return self.vae.model(beta=beta, device=device)
        for b, series in self.evae.items():
            if math.isclose(b, beta, rel_tol=1e-6):
                return series.model(gamma=gamma, device=device)
        raise KeyError(f"no E-VAE series with beta={beta!r}; have {list(self.evae)}")


def train_evae_series(profile, *, seed=0, device="auto", progress=True, root=None, spec=None,
                      checkpoint_every=None, callback=None):
    """Train (or load) the standard VAE and E-VAE series of a profile.

    Whatever is already finished under ``data/<profile>/`` is loaded, an
    interrupted series resumes from its checkpoint, and the rest is trained:
    first the standard VAE through ``spec["betas"]`` (``gamma = 0``), then,
    for each ``beta`` in ``spec["from_betas"]``, an E-VAE series through
    ``spec["gammas"]`` starting from the VAE's weights at that ``beta``.

    Parameters
    ----------
    profile : {"quick", "paper"}
        Sizes of :data:`mag_ml.chapters.evae.EVAE_PROFILES` and schedule of
        :data:`EVAE_TRAINING`.  Quick: 48 x 48, 240 training states, about
        1.5-2.5 minutes on 2 CPU cores.  Paper: 128 x 128, 30,000 states, 100
        epochs per step (GPU).
    seed : int
        Seed of the dataset (:func:`mag_ml.chapters.evae.evae_dataset`) and of the
        training.
    device : "auto", str or torch.device
    progress : bool
    root : path, optional
        Artifact root (default ``data/``).
    spec : dict, optional
        Override of the schedule (keys of :data:`EVAE_TRAINING`), e.g. for
        tests; it is part of the artifacts' hash.
    checkpoint_every : int, optional
        Overrides the spec's value (not part of the hash).
    callback : callable, optional
        Passed to :func:`train_schedule` (``callback(event, step, epoch, history)``).

    Returns
    -------
    EVAESeries

    Raises
    ------
    ValueError
        Unknown profile, a ``from_betas`` value not among ``betas``.
    TrainingDivergedError
        See :func:`train_schedule`.
    """
    spec = evae_training_spec(profile) if spec is None else {**evae_training_spec(profile), **spec}
    for b in spec["from_betas"]:
        if not any(math.isclose(b, x, rel_tol=1e-6) for x in spec["betas"]):
            raise ValueError(f"from_betas value {b!r} is not among betas {spec['betas']!r}")
    every = spec["checkpoint_every"] if checkpoint_every is None else checkpoint_every
    data_path = evae_dataset(profile, seed=seed, progress=progress, root=root)
    data_spec = evae_dataset_spec(profile, seed)
    size = data_spec["shape"][0]
    model_config = SpinVAE(size).config()
    train = load_states(data_path, "train")
    validation = load_states(data_path, "validation")
    common = dict(dataset=dataset_params(**data_spec), model=model_config, seed=seed,
                  batch_size=spec["batch_size"], lr=spec["lr"], adam_betas=[0.9, 0.999])
    H = EVAE_HAMILTONIAN
    kw = dict(seed=seed, batch_size=spec["batch_size"], lr=spec["lr"], device=device, checkpoint_every=every,
              callback=callback, progress=progress)

    vae_steps = [Step(b, 0.0, spec["first_epochs"] if k == 0 else spec["epochs"])
                 for k, b in enumerate(spec["betas"])]
    vae_params = to_jsonable(dict(common, name="vae", steps=[s.as_dict() for s in vae_steps]))
    vae_dir = artifact_path(profile, "vae_series", vae_params, root=root, suffix="")
    torch.manual_seed(derived_seed(seed, series_key("vae"), 0, _INIT_SLOT))
    model = SpinVAE(size)
    history = train_schedule(model, vae_steps, train, validation, H, vae_dir, name="vae", params=vae_params, **kw)
    vae = SeriesResult("vae", vae_dir, vae_steps, history, model_config)

    evae = {}
    for b in spec["from_betas"]:
        name = f"evae_beta{b:g}"
        steps = [Step(b, g, spec["epochs"]) for g in spec["gammas"]]
        params = to_jsonable(dict(common, name=name, start=vae_params, start_beta=b,
                                steps=[s.as_dict() for s in steps]))
        directory = artifact_path(profile, "evae_series", params, root=root, suffix="")
        model = vae.model(beta=b)
        history = train_schedule(model, steps, train, validation, H, directory, name=name, params=params, **kw)
        evae[b] = SeriesResult(name, directory, steps, history, model_config)
    return EVAESeries(profile, vae, evae, data_path)


def loss_regions(series, parameter, *, kl_collapse=1.0, rc_factor=1.5):
    """Named ranges of ``beta`` or ``gamma`` for the loss figure, found from a series' history.

    * ``beta`` (standard VAE): "posterior collapse" where the training ``L_KL``
      is below ``kl_collapse`` nats per sample (the latent code carries almost
      no information about the input), "VAE" below that.
    * ``gamma`` (E-VAE): "reconstruction-dominated" while the training
      ``L_RC`` has not yet risen beyond ``rc_factor`` times its smallest
      value in the series, "energy-dominated" from the first step after that
      minimum where it has.

    Region edges lie halfway (geometrically) between steps; the outer edges
    half a step beyond the first and last ones.

    Returns
    -------
    list of (float, float, str)
        ``(lo, hi, label)`` spans, in order, as taken by :func:`mag_ml.plotting.plot_series_losses`.
    """
    x = series.values(parameter)
    if len(x) == 0 or np.any(x <= 0):
        raise ValueError(f"{parameter} values must be positive for log-spaced regions, got {x!r}")
    mids = np.sqrt(x[1:] * x[:-1])
    ratio = x[1] / x[0] if len(x) > 1 else 10.0
    edges = np.concatenate([[x[0] / math.sqrt(ratio)], mids, [x[-1] * math.sqrt(ratio)]])
    if parameter == "beta":
        labels = np.where(series.loss("train", "kl") < kl_collapse, "posterior collapse", "VAE")
    elif parameter == "gamma":
        rc = series.loss("train", "rc")
        k = int(np.argmin(rc))
        beyond = np.zeros(len(rc), dtype=bool)
        beyond[k:] = np.maximum.accumulate(rc[k:] > rc_factor * rc[k])
        labels = np.where(beyond, "energy-dominated", "reconstruction-dominated")
    else:
        raise ValueError(f"parameter must be 'beta' or 'gamma', got {parameter!r}")
    regions = []
    for i, label in enumerate(labels):
        if regions and regions[-1][2] == label:
            regions[-1] = (regions[-1][0], float(edges[i + 1]), label)
        else:
            regions.append((float(edges[i]), float(edges[i + 1]), str(label)))
    return regions
