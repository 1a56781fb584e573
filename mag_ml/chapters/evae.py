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

Profile tables (read with :func:`mag_ml.chapters.profile_spec` or the
``*_spec`` functions below): :data:`EVAE_PROFILES` (dataset),
:data:`EVAE_TRAINING` (the beta and gamma series of chapter 3),
:data:`EVAE_ANALYSIS` (sample counts and search sizes of chapters 3-5),
:data:`EVAE_BARRIER_SEEDS` (chapter 4's seed study, :func:`barrier_seed_study`),
:data:`EVAE_INDEPENDENT` (chapter 5's second, independent training) and
:data:`EVAE_OPEN_BOUNDARY` (chapter 5's open-boundary runs, Supporting Note
S2).  Cached pipelines: :func:`evae_dataset`, :func:`train_evae_series`,
:func:`independent_evae`, :func:`open_boundary_run` /
:func:`open_boundary_series`.  Model outputs the chapters share:
:func:`sample_states` (``z ~ N(0, I)`` decoded), :func:`reconstruct_states`
and :func:`latent_directions`.
"""

from __future__ import annotations

import math
import zlib
from pathlib import Path

import numpy as np
import torch

from mag_ml.analysis.collapse import LatticeSearch, lowest_lattice_energy
from mag_ml.artifacts import artifact_path, load_or_compute
from mag_ml.chapters import profile_spec
from mag_ml.checks import check_int, resolve_device
from mag_ml.data.generation import generate_dataset
from mag_ml.data.storage import (SplitStates, dataset_params, load_observables, open_dataset, read_params,
                                 subset_dataset)
from mag_ml.files import load_npz, save_npz, to_jsonable
from mag_ml.models.vae import ANALYSIS_BATCH, SpinVAE, state_batch
from mag_ml.physics.hamiltonian import Hamiltonian
from mag_ml.physics.monte_carlo import AnnealSchedule, relax
from mag_ml.training import Step, derived_seed, load_step_weights, series_key, tenfold, train_schedule

__all__ = ["GROUND_STATE_TOL", "PAPER_TRANSITION_GAMMAS", "ground_state_search", "evae_training_dataset",
           "EVAE_HAMILTONIAN", "EVAE_OPEN_HAMILTONIAN", "EVAE_PROFILES", "EVAE_TRAINING", "EVAE_ANALYSIS",
           "EVAE_INDEPENDENT", "EVAE_OPEN_BOUNDARY", "evae_dataset_spec", "evae_dataset", "evae_training_spec", "LATTICE_DEMOS", "lattice_demo_spec",
           "evae_analysis_spec", "SeriesResult", "EVAESeries", "train_evae_series", "loss_regions",
           "DecodedStates", "sample_states", "reconstruct_states", "LatentDirections", "latent_directions",
           "independent_evae_spec", "independent_evae", "barrier_targets", "EVAE_BARRIER_SEEDS", "BarrierSeedStudy",
           "barrier_seed_study", "open_boundary_spec", "open_boundary_dataset",
           "OpenBoundaryRun", "open_ground_state_search", "open_boundary_run", "open_boundary_series"]

_INIT_SLOT = 2 ** 31 - 2  # spawn-key slot of the initial weights of the standard VAE

#: The paper's model (interfacial DMI; see :class:`mag_ml.Hamiltonian`).
EVAE_HAMILTONIAN = Hamiltonian(J=1.0, D=0.3, B=0.05, dmi="interfacial", boundary="periodic")
#: The same model on a finite square sample with open boundaries (Supporting Note S2 of the paper).
EVAE_OPEN_HAMILTONIAN = Hamiltonian(J=1.0, D=0.3, B=0.05, dmi="interfacial", boundary="open")

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


# ----------------------------------------------------------------------------- the ground state, held out
#: A state is at the ground-state energy when its relaxed E/N is within this of the direct minimisation (J).
GROUND_STATE_TOL = 1e-6


def ground_state_search(profile, *, root=None):
    """The direct minimisation of chapter 5 on the profile's lattice, cached.

    :func:`mag_ml.analysis.collapse.lowest_lattice_energy` over the trial
    lattices of :data:`EVAE_ANALYSIS` (``lattice_spacings`` in sites,
    ``lattice_angles`` in degrees) on the periodic lattice of
    :data:`EVAE_PROFILES`; seconds on 48 x 48.  Stored as
    ``data/<profile>/ground_state_search-<hash>.npz``.

    Parameters
    ----------
    profile : {"quick", "paper"}
    root : path, optional
        Artifact root (default ``data/``).

    Returns
    -------
    LatticeSearch
        The best relaxed trial lattice (``state``, ``energy`` per spin,
        ``spacing``, ``angle`` in radians) and the energies and charges of all.

    Raises
    ------
    ValueError
        Unknown profile.
    """
    shape = profile_spec(EVAE_PROFILES, profile)["shape"]
    analysis = evae_analysis_spec(profile)
    spacings, angles = analysis["lattice_spacings"], list(np.deg2rad(analysis["lattice_angles"]))
    params = dict(hamiltonian=EVAE_HAMILTONIAN.as_dict(), shape=list(shape), spacings=spacings, angles=angles)
    path = artifact_path(profile, "ground_state_search", params, root=root, suffix=".npz")

    def compute():
        r = lowest_lattice_energy(EVAE_HAMILTONIAN, shape, spacings, angles)
        return dict(state=r.state, energy=r.energy, spacing=r.spacing, angle=r.angle, energies=r.energies,
                    charges=r.charges)

    d = load_or_compute(path, compute, save=lambda obj, tmp: save_npz(obj, tmp), load=load_npz)
    return LatticeSearch(d["state"], float(d["energy"]), float(d["spacing"]), float(d["angle"]), d["energies"],
                         d["charges"])


def evae_training_dataset(profile, *, seed=0, progress=True, root=None):
    """The E-VAE dataset with every state at the ground-state energy removed from training and validation.

    Kwon et al. 2021 claim that the collapsed E-VAE finds a ground state not
    necessarily in its training data.  On the quick profile's 48 x 48 torus
    the commensurate four-skyrmion lattice is one in seven of the anneals, so
    that claim is only tested once those states are held out: every state of
    the ``train`` and ``validation`` splits of :func:`evae_dataset` whose
    stored E/N lies at or below the direct minimisation
    (:func:`ground_state_search`) plus :data:`GROUND_STATE_TOL` is left out;
    the ``test`` split is kept whole.  Written once with
    :func:`mag_ml.data.subset_dataset` to
    ``data/<profile>/evae_training_states-<hash>.h5`` (its ``subset``
    attribute lists the kept source indices and the criterion).

    Parameters
    ----------
    profile : {"quick", "paper"}
    seed : int
        Dataset seed.
    progress : bool
    root : path, optional
        Artifact root (default ``data/``).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        Unknown profile; see also :func:`evae_dataset`.
    DatasetCorruptError
        An existing held-out file fails verification (delete it to rebuild).
    """
    source = evae_dataset(profile, seed=seed, progress=progress, root=root)
    ground = ground_state_search(profile, root=root).energy
    with open_dataset(source) as f:
        source_params = read_params(f)
    params = dict(source=source_params, ground_state_energy_per_spin=ground, tol=GROUND_STATE_TOL)
    path = artifact_path(profile, "evae_training_states", params, root=root, suffix=".h5")
    if path.exists():
        with open_dataset(path):  # verified; a damaged file raises, naming itself
            return path
    keep = {split: load_observables(source, split)["energy_per_spin"] > ground + GROUND_STATE_TOL
            for split in ("train", "validation")}
    keep["test"] = np.ones(source_params["splits"]["test"], dtype=bool)
    criterion = (f"train and validation without the states with E/N <= {ground:.9f} + {GROUND_STATE_TOL:g} J "
                 "(the direct minimisation over trial skyrmion lattices); test kept whole")
    return subset_dataset(source, path, keep, criterion=criterion)


# ----------------------------------------------------------------------------- training series
#: The gammas of Kwon et al. 2021 around their collapse (Fig. 5B), added to the tenfold steps of both profiles.
PAPER_TRANSITION_GAMMAS = (500.0, 1000.0, 1500.0, 2000.0, 5000.0)


def _gamma_steps(start, stop):
    return sorted(set(tenfold(start, stop)) | set(PAPER_TRANSITION_GAMMAS))


#: Schedules of the chapter per profile.  ``betas``: the standard VAE's steps;
#: ``gammas``: the E-VAE's, run from each of ``from_betas`` (the tenfold steps
#: and :data:`PAPER_TRANSITION_GAMMAS`); ``epochs``: epochs per step,
#: ``first_epochs`` for the very first step (from random weights);
#: ``normalisation``: of the loss terms (:func:`mag_ml.models.vae_losses`);
#: ``controls``: every E-VAE series gets its control, the same steps at
#: ``gamma = 0`` with the same epochs and seeds.  Paper: Kwon et al. 2021, 100 epochs per step, batch 100,
#: i.e. 30,000 Adam updates per step.  Quick: 240 training states (fewer once
#: the ground state is held out, :func:`evae_training_dataset`); batches of
#: 24 give 10 updates per epoch (batches of 100 would give 2.4, too few for
#: the trends to show in a few epochs), 5 per step, 20 for the first step;
#: one E-VAE series (from beta = 1e-3); the ``gamma`` range skips the steps
#: below 1e-2, where ``gamma L_H`` is negligible, and goes to 1e5 so the
#: collapse shows.
EVAE_TRAINING = {
    "quick": dict(betas=tenfold(1e-5, 1.0), gammas=_gamma_steps(1e-2, 1e5), from_betas=(1e-3,),
                  epochs=5, first_epochs=20, batch_size=24, lr=1e-3, checkpoint_every=10,
                  normalisation="per_spin", controls=True),
    "paper": dict(betas=tenfold(1e-6, 1.0), gammas=_gamma_steps(1e-4, 1e6), from_betas=(1e-3, 1e-4),
                  epochs=100, first_epochs=100, batch_size=100, lr=1e-3, checkpoint_every=10,
                  normalisation="per_spin", controls=True),
}


def evae_training_spec(profile):
    """The schedule of :data:`EVAE_TRAINING` for ``profile`` (a copy); ValueError for an unknown profile."""
    return profile_spec(EVAE_TRAINING, profile)


#: Sizes of the chapters' analyses of the trained models, per profile.
#:
#: * chapter 3: ``n_gallery`` validation states and ``n_gallery_samples``
#:   generated states per model in the galleries, ``n_energy_samples``
#:   generated states per model in the energy box plot;
#: * chapter 4: the models compared (``gammas``, at the first of
#:   ``EVAE_TRAINING[profile]["from_betas"]``; 0 is the standard VAE),
#:   ``theta_bins`` bins of the theta distribution, inverse mapping with
#:   ``inverse_steps`` Adam steps of rate ``inverse_lr``, ``n_path`` states on
#:   the latent path (R = -30..30 about its middle), zoomed frames ``zoom_frames`` (R of the frames)
#:   of ``2 zoom_half`` sites, ``n_directions`` sliders of the latent explorer;
#: * chapter 5: ``n_samples`` generated states per model for the Fourier
#:   MSE, ``collapse_fraction`` (generated states count as collapsed below
#:   this fraction of the training set's Fourier MSE), ``n_relax`` relaxed samples of the independent training, and the
#:   trial lattices of the ground-state search (``lattice_spacings`` in
#:   sites, ``lattice_angles`` in degrees).
#:
#: Quick: what the chapters were written with (48 x 48).  Paper: ours, not
#: the paper's (it does not give them): inverse mapping closer to saturation
#: (3000 steps lower the final MSE by another quarter from the quick
#: profile's 600, chapter 4), and a finer lattice scan for the 128 x 128 box,
#: which admits nearly any lattice constant.
EVAE_ANALYSIS = {
    "quick": dict(n_gallery=3, n_gallery_samples=2, n_energy_samples=200,
                  gammas=[0.0, 1.0, 100.0], theta_bins=90, inverse_steps=600, inverse_lr=2e-2, n_path=61,
                  zoom_frames=[-6, -3, -1, 0, 1, 3, 6], zoom_half=12, n_directions=4,
                  n_samples=100, collapse_fraction=0.03, n_relax=20, lattice_spacings=list(range(16, 29, 2)),
                  lattice_angles=[0, 10, 20, 30]),
    "paper": dict(n_gallery=3, n_gallery_samples=2, n_energy_samples=200,
                  gammas=[0.0, 1.0, 100.0], theta_bins=90, inverse_steps=3000, inverse_lr=2e-2, n_path=61,
                  zoom_frames=[-6, -3, -1, 0, 1, 3, 6], zoom_half=12, n_directions=4,
                  n_samples=100, collapse_fraction=0.03, n_relax=20, lattice_spacings=list(range(16, 29)),
                  lattice_angles=[0, 5, 10, 15, 20, 25, 30]),
}


#: Sizes of the demonstrations of chapters 1 and 2 (the lattice model itself).  ``L``: the square
#: lattice of chapter 1, ``W``: its spirals on 2 x W, ``mc_sweeps`` / ``relax_sweeps``: its thermal
#: run and relaxation; chapter 2: ``free_shape``, ``free_sweeps``, ``free_burn_in`` (free spins against
#: the Langevin function), ``n_snapshots`` (the anneal animation), ``explorer_shape`` (the anneal explorer);
#: the thermodynamics: ``thermo_shape``, ``thermo_T`` (T_high, T_low, n of a geometric cooling),
#: ``thermo_measure``, ``thermo_burn_in`` (measurements and equilibration sweeps per temperature); the
#: field-cooled phase diagram: ``phase_shape``, ``phase_B`` (B_min, B_max, n, units of J), ``phase_T``,
#: ``phase_measure``, ``phase_burn_in``.
LATTICE_DEMOS = {
    "quick": dict(L=48, W=64, mc_sweeps=200, relax_sweeps=4000, free_shape=(8, 8), free_sweeps=3000,
                  free_burn_in=300, n_snapshots=24, explorer_shape=(32, 32), thermo_shape=(32, 32),
                  thermo_T=(1.6, 0.15, 14), thermo_measure=2000, thermo_burn_in=1000, phase_shape=(48, 48),
                  phase_B=(0.0, 0.12, 13), phase_T=(1.5, 0.05, 8), phase_measure=300, phase_burn_in=300),
    "paper": dict(L=128, W=256, mc_sweeps=1000, relax_sweeps=12000, free_shape=(8, 8), free_sweeps=10000,
                  free_burn_in=1000, n_snapshots=40, explorer_shape=(32, 32), thermo_shape=(64, 64),
                  thermo_T=(1.6, 0.1, 24), thermo_measure=20000, thermo_burn_in=5000, phase_shape=(96, 96),
                  phase_B=(0.0, 0.12, 25), phase_T=(1.5, 0.02, 16), phase_measure=2000, phase_burn_in=2000),
}


def lattice_demo_spec(profile):
    """The sizes of :data:`LATTICE_DEMOS` for ``profile`` (a copy); ValueError for an unknown profile."""
    return profile_spec(LATTICE_DEMOS, profile)


def evae_analysis_spec(profile):
    """The sizes of :data:`EVAE_ANALYSIS` for ``profile`` (a copy); ValueError for an unknown profile."""
    return profile_spec(EVAE_ANALYSIS, profile)


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
    paired_gammas : list of float or None
        For a control series (every step at ``gamma = 0``): the ``gamma`` of
        the E-VAE step each of its steps parallels (same epochs and seeds);
        None otherwise.
    """

    def __init__(self, name, directory, steps, history, model_config, paired_gammas=None):
        self.name, self.directory, self.steps = name, Path(directory), list(steps)
        self.history, self.model_config = history, model_config
        self.paired_gammas = None if paired_gammas is None else [float(g) for g in paired_gammas]

    def __repr__(self):
        return f"SeriesResult({self.name!r}, {len(self.steps)} steps, {self.directory})"

    def __len__(self):
        return len(self.steps)

    def values(self, name):
        """Array of ``beta`` or ``gamma`` (the step parameter), one per step.

        For a control series ``values("gamma")`` is the paired E-VAE step's
        ``gamma`` (the axis its losses are drawn against), not the 0 it trained with.
        """
        if name == "gamma" and self.paired_gammas is not None:
            return np.array(self.paired_gammas)
        return np.array([h[name] for h in self.history])

    def loss(self, split, term):
        """Array of a loss term (``rc``, ``kl``, ``h``, ``total``) of ``split`` per step."""
        return np.array([h[split][term] for h in self.history])

    def index(self, *, beta=None, gamma=None):
        """Index of the step with the given ``beta`` and/or ``gamma`` (relative tolerance 1e-6; paired gamma for a control)."""
        gammas = self.values("gamma") if self.paired_gammas is not None else [s.gamma for s in self.steps]
        hits = [k for k, s in enumerate(self.steps)
                if (beta is None or math.isclose(s.beta, beta, rel_tol=1e-6))
                and (gamma is None or math.isclose(gammas[k], gamma, rel_tol=1e-6))]
        if not hits:
            raise KeyError(f"{self.name}: no step with beta={beta!r}, gamma={gamma!r}; "
                           f"steps are {[(s.beta, g) for s, g in zip(self.steps, gammas)]}")
        return hits[0]

    def model(self, step=None, *, beta=None, gamma=None, device="auto"):
        """The :class:`SpinVAE` at the end of a step, in eval mode.

        Parameters
        ----------
        step : int, optional
            Step index (negative counts from the end).
        beta, gamma : float, optional
            Alternatively, select the step by its weights.
        device : "auto", str or torch.device, default "auto"
            ``"auto"``: CUDA when available, else the CPU
            (:func:`mag_ml.checks.resolve_device`; "cuda" without a GPU raises ValueError).
        """
        if step is None:
            step = self.index(beta=beta, gamma=gamma)
        device = resolve_device(device)  # an unavailable device fails before anything is read
        step = range(len(self.steps))[step]
        model = SpinVAE(**self.model_config)
        model.load_state_dict(load_step_weights(self.directory, step))
        return model.to(device).eval()


class EVAESeries:
    """The chapter's trained models: one standard VAE series, E-VAE series and their gamma = 0 controls.

    Attributes
    ----------
    profile : str
    vae : SeriesResult
        ``beta`` series at ``gamma = 0``.
    evae : dict of float to SeriesResult
        ``gamma`` series, keyed by their fixed ``beta``.
    control : dict of float to SeriesResult
        For each E-VAE series, the same steps at ``gamma = 0`` (same epochs,
        same seeds): what training for that long does without the energy term.
    dataset : pathlib.Path
        The HDF5 dataset they were trained on (:func:`evae_training_dataset`).
    training_seed : int
    """

    def __init__(self, profile, vae, evae, control, dataset, training_seed):
        self.profile, self.vae, self.evae, self.control = profile, vae, evae, control
        self.dataset, self.training_seed = Path(dataset), training_seed

    def __repr__(self):
        return (f"EVAESeries({self.profile!r}, seed {self.training_seed}, vae={len(self.vae)} steps, "
                f"evae={{{', '.join(f'{b:g}: {len(s)} steps' for b, s in self.evae.items())}}}, "
                f"{len(self.control)} controls)")

    def model(self, *, beta, gamma=0.0, control=False, device="auto"):
        """The model trained with ``beta`` and ``gamma`` (``gamma = 0``: the standard VAE step).

        With ``control=True``: the gamma = 0 control at the end of the step
        paired with ``gamma`` (trained as long as that E-VAE step).
        """
        if gamma == 0 and not control:
            return self.vae.model(beta=beta, device=device)
        for b, series in (self.control if control else self.evae).items():
            if math.isclose(b, beta, rel_tol=1e-6):
                return series.model(gamma=gamma, device=device)
        raise KeyError(f"no E-VAE series with beta={beta!r}; have {list(self.evae)}")


def train_evae_series(profile, *, seed=0, training_seed=None, branch_seed=None, device="auto", progress=True,
                      root=None, spec=None, checkpoint_every=None, callback=None):
    """Train (or load) the standard VAE, the E-VAE series and their controls of a profile.

    Whatever is already finished under ``data/<profile>/`` is loaded, an
    interrupted series resumes from its checkpoint, and the rest is trained:
    first the standard VAE through ``spec["betas"]`` (``gamma = 0``), then,
    for each ``beta`` in ``spec["from_betas"]``, an E-VAE series through
    ``spec["gammas"]`` starting from the VAE's weights at that ``beta``, and
    its control: the same steps from the same weights with ``gamma = 0``
    (same epochs, same batch orders and noise).  The training data are
    :func:`evae_training_dataset` (the ground state held out).

    Parameters
    ----------
    profile : {"quick", "paper"}
        Sizes of :data:`EVAE_PROFILES` and schedule of
        :data:`EVAE_TRAINING`.  Quick: 48 x 48, about 200 training states,
        about 3 minutes on 2 CPU cores.  Paper: 128 x 128, 30,000 states,
        100 epochs per step (GPU).
    seed : int
        Seed of the dataset (:func:`evae_dataset`).
    training_seed : int, optional
        Seed of the initial weights, batch orders and noise (default
        ``seed``); another value gives an independent training on the same
        data (chapter 5).
    branch_seed : int, optional
        Seed of the batch orders and noise of the E-VAE series and their
        controls only (default the training seed): the same standard VAE,
        another training of what grows from it (chapter 4's seed study,
        :func:`barrier_seed_study`).
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
        Unknown profile or spec key, a ``from_betas`` value not among ``betas``.
    TrainingDivergedError
        See :func:`train_schedule`.
    """
    device = resolve_device(device)  # an unavailable device fails before any dataset is made
    base = evae_training_spec(profile)
    unknown = set(spec or {}) - set(base)
    if unknown:
        raise ValueError(f"unknown training setting(s) {sorted(unknown)}; have {sorted(base)}")
    spec = {**base, **(spec or {})}
    for b in spec["from_betas"]:
        if not any(math.isclose(b, x, rel_tol=1e-6) for x in spec["betas"]):
            raise ValueError(f"from_betas value {b!r} is not among betas {spec['betas']!r}")
    seed_t = seed if training_seed is None else training_seed
    seed_b = seed_t if branch_seed is None else check_int(branch_seed, "branch_seed", minimum=0)
    every = spec["checkpoint_every"] if checkpoint_every is None else checkpoint_every
    data_path = evae_training_dataset(profile, seed=seed, progress=progress, root=root)
    size = evae_dataset_spec(profile, seed)["shape"][0]
    model_config = SpinVAE(size).config()
    train = SplitStates(data_path, "train")   # read whole by train_schedule when it fits the device, else in blocks
    validation = SplitStates(data_path, "validation")
    with open_dataset(data_path) as f:
        data_params = read_params(f)
    common = dict(dataset=data_params, model=model_config, seed=seed_t, batch_size=spec["batch_size"], lr=spec["lr"],
                  adam_betas=[0.9, 0.999])
    H = EVAE_HAMILTONIAN
    kw = dict(seed=seed_t, batch_size=spec["batch_size"], lr=spec["lr"], device=device, checkpoint_every=every,
              callback=callback, progress=progress, normalisation=spec["normalisation"])

    vae_steps = [Step(b, 0.0, spec["first_epochs"] if k == 0 else spec["epochs"])
                 for k, b in enumerate(spec["betas"])]
    vae_params = to_jsonable(dict(common, name="vae", steps=[s.as_dict() for s in vae_steps]))
    vae_dir = artifact_path(profile, "vae_series", vae_params, root=root, suffix="")
    torch.manual_seed(derived_seed(seed_t, series_key("vae"), 0, _INIT_SLOT))
    model = SpinVAE(size)
    history = train_schedule(model, vae_steps, train, validation, H, vae_dir, name="vae", params=vae_params, **kw)
    vae = SeriesResult("vae", vae_dir, vae_steps, history, model_config)

    evae, control = {}, {}
    for b in spec["from_betas"]:
        name = f"evae_beta{b:g}"
        kinds = [("evae", spec["gammas"])] + [("control", [0.0] * len(spec["gammas"]))] * bool(spec["controls"])
        for kind, gammas in kinds:
            steps = [Step(b, g, spec["epochs"]) for g in gammas]
            # seed: of the standard VAE it grows from; branch_seed (when given): the one this series trains with
            params = to_jsonable(dict(common, name=name, start=vae_params, start_beta=b, kind=kind,
                                      steps=[s.as_dict() for s in steps],
                                      **({} if branch_seed is None else dict(branch_seed=seed_b))))
            directory = artifact_path(profile, f"{kind}_series", params, root=root, suffix="")
            model = vae.model(beta=b)
            label = name if kind == "evae" else f"control_beta{b:g}"
            # the control runs under the E-VAE's name: the same derived seeds, so only gamma differs
            history = train_schedule(model, steps, train, validation, H, directory, name=name, params=params,
                                     desc=label, **dict(kw, seed=seed_b))
            result = SeriesResult(label, directory, steps, history, model_config,
                                  paired_gammas=None if kind == "evae" else spec["gammas"])
            (evae if kind == "evae" else control)[b] = result
    return EVAESeries(profile, vae, evae, control, data_path, seed_t)


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



# ----------------------------------------------------------------------------- model outputs
def _device(model):
    return next(model.parameters()).device


class DecodedStates:
    """States decoded by a model from fixed latent vectors, ``batch_size`` at a time, only when read.

    What :func:`sample_states` and :func:`reconstruct_states` return with
    ``lazy=True``: the latent vectors (``n x latent_dim``, small) are drawn
    once, the states (``n x 3 x L x L``, about 0.9 GB for the paper's 4,300
    test states) are decoded per slice, so an analysis that reads in chunks
    (:func:`mag_ml.analysis.collapse.theta_distribution`,
    :func:`mag_ml.analysis.collapse.fourier_mse`) never holds them all.
    Reading a slice twice decodes it twice, to the same values.

    Attributes
    ----------
    shape : tuple (n, 3, L, L)
    ndim : int
        4.
    dtype : numpy.dtype
        Of every slice read (the model's, float32, unless asked otherwise).
    """

    ndim = 4

    def __init__(self, model, z, dtype=None, batch_size=ANALYSIS_BATCH):
        self.model, self.z, self.batch_size = model, z, batch_size
        self.dtype = np.dtype(torch.empty(0, dtype=z.dtype).numpy().dtype if dtype is None else dtype)
        self.shape = (len(z), 3, model.size, model.size)

    def __repr__(self):
        return f"DecodedStates({self.shape[0]} states of {self.shape[2]}x{self.shape[3]}, decoded when read)"

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, key):
        """States ``key`` (an int or a slice) as a numpy array of ``dtype``, decoded ``batch_size`` at a time."""
        if isinstance(key, (int, np.integer)):
            i = range(len(self))[key]  # negative indices as numpy's; out of range raises IndexError
            return self[i:i + 1][0]
        z = self.z[key]
        with torch.no_grad():
            parts = [self.model.decode(z[i:i + self.batch_size]).cpu().numpy() for i in range(0, len(z), self.batch_size)]
        x = np.concatenate(parts) if parts else np.empty((0, *self.shape[1:]), self.dtype)
        return x.astype(self.dtype, copy=False)

    def __array__(self, dtype=None, copy=None):
        x = self[:]
        return x if dtype is None else x.astype(dtype, copy=False)


def _decoded(model, z, dtype, batch_size, lazy):
    states = DecodedStates(model, z, dtype, batch_size)
    return states if lazy else states[:]


def sample_states(model, n, *, seed=0, dtype=None, batch_size=ANALYSIS_BATCH, lazy=False):
    """``n`` generated states X'_out: latent vectors ``z ~ N(0, I)`` decoded by ``model``.

    The vectors come from ``torch.Generator().manual_seed(seed)``, so the same
    ``(n, seed)`` gives the same ``z`` for every model of one latent
    dimension: the chapters compare models on one set of ``z``.  With
    ``n = 1`` it decodes the single vector ``torch.randn(1, latent_dim,
    generator=torch.Generator().manual_seed(seed))``.  The vectors are drawn
    at once and decoded ``batch_size`` at a time (the result depends on it
    only through float rounding; memory stays bounded at paper scale).

    Parameters
    ----------
    model : SpinVAE
        In eval mode (as returned by :meth:`SeriesResult.model`).
    n : int
        Number of states (>= 1).
    seed : int, default 0
    dtype : numpy dtype, optional
        Dtype of the result; default the model's (float32).
    batch_size : int, default ANALYSIS_BATCH
    lazy : bool, default False
        Return a :class:`DecodedStates` that decodes the slices it is asked
        for, instead of the decoded array (for analyses that stream).

    Returns
    -------
    numpy.ndarray or DecodedStates, shape (n, 3, L, L)
        Unit-vector spins.

    Raises
    ------
    ValueError
        ``n`` or ``batch_size`` below 1.
    """
    n = check_int(n, "n", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    device = _device(model)
    p = next(model.parameters())
    z = torch.randn((n, model.latent_dim), generator=torch.Generator(device=device).manual_seed(seed),
                    device=device, dtype=p.dtype)
    return _decoded(model, z, dtype, batch_size, lazy)


def reconstruct_states(model, states, *, seed=0, dtype=None, batch_size=ANALYSIS_BATCH, lazy=False):
    """Reconstructions X_out of ``states``: encoded, drawn by the reparameterisation, decoded.

    Parameters
    ----------
    model : SpinVAE
        In eval mode.
    states : array_like, torch.Tensor or mag_ml.data.SplitStates, shape (n, 3, L, L)
        Input spins X_in, float32 like the datasets.
    seed : int, default 0
        Seed of the reparameterisation noise (``torch.Generator().manual_seed(seed)``,
        drawn for all states at once: the result does not depend on ``batch_size``
        beyond float rounding).
    dtype : numpy dtype, optional
        Dtype of the result; default the model's (float32).
    batch_size : int, default ANALYSIS_BATCH
        States moved to the model's device and encoded (and decoded) at a time.
    lazy : bool, default False
        Encode now (the latent vectors are kept) but return a
        :class:`DecodedStates` that decodes the slices it is asked for.

    Returns
    -------
    numpy.ndarray or DecodedStates, shape (n, 3, L, L)

    Raises
    ------
    ValueError
        ``batch_size`` below 1.
    """
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    device = _device(model)
    with torch.no_grad():  # the forward pass in batches, the noise drawn for all states at once (as forward does)
        codes = [model.encode(state_batch(states, i, i + batch_size, device, torch.float32))
                 for i in range(0, len(states), batch_size)]
        mu, logvar = torch.cat([c[0] for c in codes]), torch.cat([c[1] for c in codes])
        z = model.reparameterize(mu, logvar, generator=torch.Generator(device=device).manual_seed(seed))
    return _decoded(model, z, dtype, batch_size, lazy)


class LatentDirections:
    """Principal directions of the encoder means of a set of states (chapter 4's latent explorer).

    Built by :func:`latent_directions`.  A point of the window is given by
    coordinates ``c`` in units of the standard deviation along each
    direction: ``z = mean + sum_k c_k std_k v_k``.

    Attributes
    ----------
    model : SpinVAE
    mean : torch.Tensor, shape (latent_dim,), float64
        Mean of the encoder means.
    std : torch.Tensor, shape (k,), float64
        Standard deviation of the means along each direction.
    directions : torch.Tensor, shape (k, latent_dim), float64
        Orthonormal directions ``v_k``, by decreasing variance.
    variance_share : numpy.ndarray, shape (k,)
        Share of the variance of the means along each direction.
    """

    def __init__(self, model, mean, std, directions, variance_share):
        self.model, self.mean, self.std, self.directions = model, mean, std, directions
        self.variance_share = variance_share

    def __len__(self):
        return len(self.std)

    def latent(self, coords):
        """The latent vector (float64, shape (latent_dim,)) at ``coords`` (one value per leading direction)."""
        coords = list(coords)
        if len(coords) > len(self):
            raise ValueError(f"at most {len(self)} coordinates, got {len(coords)}")
        return self.mean + sum(c * self.std[k] * self.directions[k] for k, c in enumerate(coords))

    def decode(self, coords):
        """The state (float64 numpy, shape (3, L, L)) decoded at ``coords``."""
        z = self.latent(coords)
        with torch.no_grad():
            x = self.model.decode(z[None].float().to(_device(self.model)))[0]
        return x.double().cpu().numpy()


def latent_directions(model, states, *, batch_size=ANALYSIS_BATCH):
    """Principal components of the encoder means ``mu(X)`` of ``states``.

    Parameters
    ----------
    model : SpinVAE
        In eval mode.
    states : array_like, torch.Tensor or mag_ml.data.SplitStates, shape (n, 3, L, L)
        At least two states, e.g. the training set (a split streams from its file).
    batch_size : int, default ANALYSIS_BATCH
        States encoded at a time (the result depends on it only through float rounding).

    Returns
    -------
    LatentDirections
        ``min(n, latent_dim)`` directions.

    Raises
    ------
    ValueError
        Fewer than two states.
    """
    shape = tuple(states.shape) if hasattr(states, "shape") else np.shape(states)
    if len(shape) != 4 or shape[0] < 2:
        raise ValueError(f"need at least two states of shape (n, 3, L, L), got shape {shape}")
    with torch.no_grad():  # in batches: the paper's 30,000 states at once would need tens of GB
        mu = torch.cat([model.encode(state_batch(states, i, i + batch_size, _device(model), torch.float32))[0].double().cpu()
                        for i in range(0, shape[0], batch_size)])
    mu_mean = mu.mean(0)
    _, sv, pcs = torch.linalg.svd(mu - mu_mean, full_matrices=False)
    return LatentDirections(model, mu_mean, sv / np.sqrt(len(mu) - 1), pcs, (sv ** 2 / (sv ** 2).sum()).numpy())


# ----------------------------------------------------------------------------- chapter 4: barrier targets
def _cores(sz, periodic=True):
    """(y, x) of the skyrmion cores of an S_z map: local minima below -0.5 (periodic neighbourhoods)."""
    from scipy.ndimage import minimum_filter

    low = minimum_filter(sz, size=5, mode="wrap" if periodic else "nearest")
    return np.argwhere((sz == low) & (sz < -0.5)).astype(np.float64)


def barrier_targets(profile, *, radius=3.0, root=None):
    """The two target states of chapter 4 (Kwon et al. 2021, Fig. 4): a skyrmion lattice and an interstitial.

    The perfect lattice is the ground state of the direct minimisation
    (:func:`ground_state_search`, a real skyrmion lattice at the profile's
    size).  The interstitial state adds one skyrmion (the ansatz of
    :func:`mag_ml.analysis.spirals.skyrmion` of ``radius``, pasted within
    two radii of its core) at the centroid of the triangle of cores nearest
    the middle of the box, and relaxes at T = 0 (:func:`mag_ml.relax`).

    Parameters
    ----------
    profile : {"quick", "paper"}
    radius : float, default 3.0
        Of the pasted skyrmion, in sites.
    root : path, optional
        Artifact root of the search.

    Returns
    -------
    perfect, interstitial : ndarray, float64, shape (3, L, L)
        Relaxed states; the interstitial's charge is the perfect lattice's
        minus one when the extra skyrmion survives (the chapter prints both).
    site : (float, float)
        (y, x) of the added core.

    Raises
    ------
    ValueError
        Unknown profile, or fewer than three cores in the perfect lattice.
    """
    from mag_ml.analysis.spirals import skyrmion

    perfect = ground_state_search(profile, root=root).state
    L = perfect.shape[-1]
    cores = _cores(perfect[2])
    if len(cores) < 3:
        raise ValueError(f"the perfect lattice of profile {profile!r} has {len(cores)} skyrmion cores; need >= 3")
    wrap = lambda d: (d + L / 2) % L - L / 2  # noqa: E731  (minimum-image separation on the torus)
    first = cores[np.argmin(np.hypot(*wrap(cores - (L / 2, L / 2)).T))]
    d = wrap(cores - first)
    order = np.argsort(np.hypot(*d.T))[1:]  # nearest first, the core itself left out
    b = d[order[0]]
    # the third corner: the next-nearest core that is also a nearest neighbour of the second
    c = next(d[k] for k in order[1:] if np.hypot(*wrap(d[k] - b)) < 1.2 * np.hypot(*b))
    site = tuple((first + (b + c) / 3) % L)
    y, x = np.mgrid[0:L, 0:L]
    dy, dx = wrap(y - site[0]), wrap(x - site[1])
    pasted = skyrmion((L, L), radius, centre=(L / 2, L / 2))
    shifted = np.roll(pasted, (int(round(site[0] - L / 2)), int(round(site[1] - L / 2))), axis=(1, 2))
    start = np.where(np.hypot(dy, dx) < 2 * radius, shifted, perfect)
    interstitial, _ = relax(EVAE_HAMILTONIAN, start)
    return perfect, interstitial, site


#: Chapter 4's seed study of the barrier's sharpening.  One training decides
#: little: the width of a latent barrier moves with the batch orders and noise
#: of the training (even float rounding of another CPU reversed the order of
#: the quick profile's E-VAE and control).  So the E-VAE series from the
#: standard VAE at the first of ``from_betas``, up to the largest of
#: :data:`EVAE_ANALYSIS`'s ``gammas``, and its control are trained again with
#: each branch seed ``seed + k`` of ``branch_offsets`` (same starting weights,
#: other batches and noise; :func:`train_evae_series`'s ``branch_seed``), and
#: every pair is measured as the chapter's own (the pair of branch seed ``seed``).
#: Quick: 4 pairs, the 3 new ones about 40 s each on 2 CPU cores.
EVAE_BARRIER_SEEDS = {
    "quick": dict(branch_offsets=(1, 2, 3)),
    "paper": dict(branch_offsets=(1, 2, 3)),
}


#: The measurements of :class:`BarrierSeedStudy`, as cached by :func:`barrier_seed_study`.
_STUDY_FIELDS = ("width_evae", "width_control", "slope_evae", "slope_control", "height_evae", "height_control")


class BarrierSeedStudy:
    """Latent barriers of E-VAE / control pairs trained with several branch seeds (:func:`barrier_seed_study`).

    Attributes
    ----------
    gamma : float
        The E-VAE step compared (its control: the same epochs at ``gamma = 0``).
    seeds : ndarray (k,) int
        Branch seeds; the first is the chapter's own training.
    width_evae, width_control : ndarray (k,) float64
        Widths at half height of the barriers (steps of R, :func:`mag_ml.analysis.latent.barrier`).
    slope_evae, slope_control : ndarray (k,) float64
        Steepest slopes ``max |d epsilon / dR|`` (J per spin per step).
    height_evae, height_control : ndarray (k,) float64
        Heights of the peaks above the path's start, the perfect lattice (J per spin).
    """

    def __init__(self, gamma, seeds, width_evae, width_control, slope_evae, slope_control, height_evae,
                 height_control):
        self.gamma, self.seeds = float(gamma), np.asarray(seeds, dtype=int)
        self.width_evae, self.width_control = np.asarray(width_evae, float), np.asarray(width_control, float)
        self.slope_evae, self.slope_control = np.asarray(slope_evae, float), np.asarray(slope_control, float)
        self.height_evae, self.height_control = np.asarray(height_evae, float), np.asarray(height_control, float)

    def __repr__(self):
        return f"BarrierSeedStudy(gamma={self.gamma:g}, seeds={self.seeds.tolist()})"

    @property
    def difference(self):
        """``width_evae - width_control`` per seed (< 0: the E-VAE's barrier is narrower)."""
        return self.width_evae - self.width_control

    @property
    def n_narrower(self):
        """Number of seeds whose E-VAE barrier is narrower than its control's."""
        return int((self.difference < 0).sum())

    @property
    def n_lower(self):
        """Number of seeds whose E-VAE barrier is lower (above the perfect lattice) than its control's."""
        return int((self.height_evae < self.height_control).sum())

    @property
    def mean_difference(self):
        """Mean of :attr:`difference` and its standard error (steps of R)."""
        d = self.difference
        return float(d.mean()), float(d.std(ddof=1) / math.sqrt(d.size)) if d.size > 1 else math.nan

    def verdict(self):
        """The study's answer in words: consistent only when every seed agrees (a sign test of k pairs)."""
        k, n = self.seeds.size, self.n_narrower
        if n == k:
            return f"narrower than its control's in all {k} trainings"
        if n == 0:
            return f"broader than its control's in all {k} trainings: no sharpening"
        return f"narrower than its control's in {n} of {k} trainings: no consistent sharpening"


def barrier_seed_study(profile, targets, *, seed=0, device="auto", progress=True, root=None):
    """Barrier widths of the E-VAE and its control over several trainings (:data:`EVAE_BARRIER_SEEDS`).

    Each pair is measured as chapter 4 measures its own (Kwon et al. 2021,
    Fig. 4B): inverse mapping of both targets (``inverse_steps`` Adam steps of
    rate ``inverse_lr`` of :data:`EVAE_ANALYSIS`, after ``torch.manual_seed``
    of the branch seed), ``n_path`` states on the straight latent line, and
    :func:`mag_ml.analysis.latent.barrier` of their energies.  Missing
    trainings are trained (cached like chapter 3's series), and the widths
    and slopes are cached under ``data/<profile>/`` as well.

    Parameters
    ----------
    profile : {"quick", "paper"}
    targets : ndarray, shape (2, 3, L, L)
        The perfect lattice and the interstitial state (:func:`barrier_targets`).
    seed : int
        The dataset and training seed of chapter 3's series (the first pair).
    device : "auto", str or torch.device
    progress : bool
    root : path, optional
        Artifact root (default ``data/``).

    Returns
    -------
    BarrierSeedStudy

    Raises
    ------
    ValueError
        Unknown profile, ``targets`` not of shape (2, 3, L, L), an unavailable device.
    """
    from mag_ml.analysis.latent import barrier, interpolate, inverse_map

    analysis, train = evae_analysis_spec(profile), evae_training_spec(profile)
    offsets = profile_spec(EVAE_BARRIER_SEEDS, profile)["branch_offsets"]
    L = evae_dataset_spec(profile, seed)["shape"][0]
    targets = np.asarray(targets)
    if targets.shape != (2, 3, L, L):
        raise ValueError(f"targets must have shape (2, 3, {L}, {L}) (perfect lattice, interstitial), "
                         f"got {targets.shape}")
    beta, gamma = train["from_betas"][0], analysis["gammas"][-1]
    gammas = [g for g in train["gammas"] if g <= gamma * (1 + 1e-9)]
    seeds = [seed] + [seed + k for k in offsets]
    pairs = {s: train_evae_series(profile, seed=seed, device=device, progress=progress, root=root) if s == seed else
             train_evae_series(profile, seed=seed, branch_seed=s, spec=dict(gammas=gammas, from_betas=(beta,)),
                               device=device, progress=progress, root=root) for s in seeds}
    # the measurements are cached too, keyed by the trainings (their directories name their parameters) and targets
    params = dict(trainings=[[p.evae[beta].directory.name, p.control[beta].directory.name] for p in pairs.values()],
                  seeds=seeds, gamma=gamma, targets=zlib.crc32(np.ascontiguousarray(targets, np.float64).tobytes()),
                  fields=list(_STUDY_FIELDS),  # a cache of other measurements is not reused
                  **{k: analysis[k] for k in ("inverse_steps", "inverse_lr", "n_path")})
    path = artifact_path(profile, "barrier_seed_study", params, root=root, suffix=".npz")

    def compute():
        out = {key: [] for key in _STUDY_FIELDS}
        for s, series in pairs.items():
            for kind in ("evae", "control"):
                model = series.model(beta=beta, gamma=gamma, control=kind == "control", device=device)
                torch.manual_seed(s)
                z, _ = inverse_map(model, targets, steps=analysis["inverse_steps"], lr=analysis["inverse_lr"])
                b = barrier(interpolate(model, z[0], z[1], n=analysis["n_path"], hamiltonian=EVAE_HAMILTONIAN).energy)
                out[f"width_{kind}"].append(b.width)
                out[f"slope_{kind}"].append(b.max_slope)
                out[f"height_{kind}"].append(b.height)
        return {k: np.array(v) for k, v in out.items()}

    d = load_or_compute(path, compute, save=lambda obj, tmp: save_npz(obj, tmp), load=load_npz)
    return BarrierSeedStudy(gamma, seeds, **{k: d[k] for k in _STUDY_FIELDS})


# ----------------------------------------------------------------------------- chapter 5: independent training
#: Chapter 5's second training under identical conditions: the same schedule
#: as chapter 3's series up to the first of ``from_betas`` (the standard VAE's
#: steps to that beta, then the whole E-VAE series), on the same data, with
#: the training seed ``seed + seed_offset`` (other initial weights, batch
#: orders and noise from the first step on).  It has no control of its own.
EVAE_INDEPENDENT = {
    "quick": dict(seed_offset=1),
    "paper": dict(seed_offset=1),
}


def independent_evae_spec(profile, seed=0):
    """The training seed and schedule of chapter 5's independent E-VAE.

    Returns
    -------
    dict
        ``training_seed`` (``seed + seed_offset``) and ``spec``: the keys of
        :data:`EVAE_TRAINING` that differ from the profile's (``betas`` up
        to the first of ``from_betas``, that one ``from_beta``, no control).

    Raises
    ------
    ValueError
        Unknown profile.
    """
    ind, train = profile_spec(EVAE_INDEPENDENT, profile), evae_training_spec(profile)
    beta = train["from_betas"][0]
    betas = [b for b in train["betas"] if b <= beta * (1 + 1e-9)]
    return dict(training_seed=seed + ind["seed_offset"], spec=dict(betas=betas, from_betas=(beta,), controls=False))


def independent_evae(profile, *, seed=0, device="auto", progress=True, root=None):
    """Train (or load) chapter 5's independent E-VAE (:func:`independent_evae_spec`), cached like chapter 3's.

    Returns
    -------
    EVAESeries
        Its ``evae`` holds the one series; ``control`` is empty.

    Raises
    ------
    ValueError
        Unknown profile.
    TrainingDivergedError
        See :func:`train_schedule`.
    """
    ind = independent_evae_spec(profile, seed)
    return train_evae_series(profile, seed=seed, training_seed=ind["training_seed"], device=device,
                             progress=progress, root=root, spec=ind["spec"])


# ----------------------------------------------------------------------------- chapter 5: open boundaries
#: Chapter 5's confined samples with open boundaries (Supporting Note S2 of
#: Kwon et al. 2021), per profile: square samples of each of ``sizes``
#: (divisible by 16), ``n_states`` annealed states split ``splits`` with
#: ``schedule`` (:data:`EVAE_OPEN_HAMILTONIAN`), and a short E-VAE per size: a
#: standard VAE at ``beta`` for ``first_epochs`` epochs from random weights,
#: then ``epochs`` epochs at each of ``gammas``, batches of ``batch_size``,
#: Adam rate ``lr``; ``n_samples`` generated states per model are compared
#: with the best anneal and the direct minimisation from trial lattices;
#: ``padding`` of the network's convolutions: "zeros", the vacuum beyond an
#: open edge (a missing neighbour contributes no field), where the periodic
#: padding would couple opposite edges that the Hamiltonian does not.  Quick: 32 x 32 and 48 x 48, 120 states, a few
#: minutes on 2 CPU cores.  Paper: the note's sample sizes are not restated
#: here; the sizes, state counts and schedule of this entry are ours (64 x 64
#: and 128 x 128, 1,200 states annealed like the periodic dataset, the whole
#: large-gamma end of the E-VAE schedule with 100 epochs per step).
EVAE_OPEN_BOUNDARY = {
    "quick": dict(sizes=(32, 48), n_states=120, splits=(100, 10, 10),
                  schedule=AnnealSchedule(T_start=1.0, T_end=0.01, n_steps=20, sweeps_per_step=50),
                  beta=1e-3, first_epochs=20, gammas=(1e4, 1e5), epochs=5, batch_size=10, lr=1e-3,
                  n_samples=100, padding="zeros"),
    "paper": dict(sizes=(64, 128), n_states=1_200, splits=(1_000, 100, 100),
                  schedule=AnnealSchedule(T_start=1.0, T_end=0.01, n_steps=50, sweeps_per_step=200),
                  beta=1e-3, first_epochs=100, gammas=(1e4, 1e5, 1e6), epochs=100, batch_size=100, lr=1e-3,
                  n_samples=100, padding="zeros"),
}

_OPEN_DATA_KEYS = ("n_states", "splits", "schedule")


def open_boundary_spec(profile, spec=None):
    """The settings of :data:`EVAE_OPEN_BOUNDARY` for ``profile`` (a copy), updated with ``spec``.

    Raises
    ------
    ValueError
        Unknown profile, or a key of ``spec`` the table does not have.
    """
    out = profile_spec(EVAE_OPEN_BOUNDARY, profile)
    unknown = set(spec or {}) - set(out)
    if unknown:
        raise ValueError(f"unknown open-boundary setting(s) {sorted(unknown)}; have {sorted(out)}")
    out.update(spec or {})
    return out


def _open_data_spec(spec, size, seed):
    return dict(hamiltonian=EVAE_OPEN_HAMILTONIAN, shape=(size, size), seed=seed,
                **{k: spec[k] for k in _OPEN_DATA_KEYS})


def open_boundary_dataset(profile, size, *, seed=0, executor="serial", progress=True, root=None, spec=None):
    """Path of the annealed open-boundary states of one sample size, generating whatever is missing.

    Parameters
    ----------
    profile : {"quick", "paper"}
    size : int
        Side of the square sample (sites).
    seed : int
        State i is ``anneal(..., seed=seed, sample=i)``.
    executor : concurrent.futures.Executor, "serial" or None, default "serial"
        Where the anneals run (see :func:`mag_ml.data.generate_dataset`).
        The quick datasets are small enough that worker processes would not
        pay off; pass an executor (or None: local processes) for the paper
        profile.
    progress : bool
    root : path, optional
        Artifact root (default ``data/``).
    spec : dict, optional
        Overrides of :data:`EVAE_OPEN_BOUNDARY` (e.g. for tests).

    Returns
    -------
    pathlib.Path
        ``data/<profile>/open_states-<hash>.h5``.
    """
    data_spec = _open_data_spec(open_boundary_spec(profile, spec), size, seed)
    path = artifact_path(profile, "open_states", dataset_params(**data_spec), root=root, suffix=".h5")
    return generate_dataset(path, executor=executor, progress=progress, **data_spec)


def open_ground_state_search(profile, size, *, root=None):
    """The direct minimisation of chapter 5 in the open square of side ``size``, cached.

    The uniform +z state relaxed at T = 0 (:func:`mag_ml.relax`) and, when
    any of :data:`EVAE_ANALYSIS`'s ``lattice_spacings`` fits in the square,
    the trial skyrmion lattices of those spacings and ``lattice_angles``
    relaxed in it (:func:`mag_ml.analysis.collapse.lowest_lattice_energy`
    with :data:`EVAE_OPEN_HAMILTONIAN`); the lower of the two.  Stored as
    ``data/<profile>/open_ground_state_search-<hash>.npz`` like
    :func:`ground_state_search`, so a rerun of chapter 5 does not repeat it.

    Parameters
    ----------
    profile : {"quick", "paper"}
    size : int
        Side of the square (sites).
    root : path, optional
        Artifact root (default ``data/``).

    Returns
    -------
    state : numpy.ndarray, float64, shape (3, size, size)
    energy : float
        Its energy per spin (J).

    Raises
    ------
    ValueError
        Unknown profile.
    """
    H, analysis = EVAE_OPEN_HAMILTONIAN, evae_analysis_spec(profile)
    spacings = [a for a in analysis["lattice_spacings"] if a <= size]  # lattices that fit in the square
    angles = list(np.deg2rad(analysis["lattice_angles"]))
    params = dict(hamiltonian=H.as_dict(), size=int(size), spacings=spacings, angles=angles)
    path = artifact_path(profile, "open_ground_state_search", params, root=root, suffix=".npz")

    def compute():
        uniform = np.zeros((3, size, size))
        uniform[2] = 1.0
        state, _ = relax(H, uniform)
        energy = H.energy(state) / size ** 2
        if spacings:
            search = lowest_lattice_energy(H, (size, size), spacings, angles)
            if search.energy < energy:
                state, energy = search.state, search.energy
        return dict(state=state, energy=energy)

    d = load_or_compute(path, compute, save=lambda obj, tmp: save_npz(obj, tmp), load=load_npz)
    return d["state"], float(d["energy"])


class OpenBoundaryRun:
    """One open-boundary sample size of chapter 5: its dataset and its short E-VAE.

    Attributes
    ----------
    profile : str
    size : int
    hamiltonian : Hamiltonian
        :data:`EVAE_OPEN_HAMILTONIAN`.
    dataset : pathlib.Path
    series : SeriesResult
    """

    def __init__(self, profile, size, hamiltonian, dataset, series, root=None):
        self.profile, self.size, self.hamiltonian, self.dataset = profile, size, hamiltonian, Path(dataset)
        self.series, self.root = series, root

    def __repr__(self):
        return f"OpenBoundaryRun({self.size}x{self.size}, {len(self.series)} steps, {self.series.directory})"

    def model(self, device="auto"):
        """The E-VAE at the end of the last (largest-gamma) step, in eval mode (``device``: :meth:`SeriesResult.model`)."""
        return self.series.model(-1, device=device)

    def compare(self, n_samples, *, seed=0):
        """Lowest energies of ``n_samples`` generated states, raw and relaxed, against the annealed states.

        Parameters
        ----------
        n_samples : int
            Generated states (:func:`sample_states` with ``seed``), each
            relaxed at T = 0 with :func:`mag_ml.relax`.
        seed : int

        Returns
        -------
        dict
            ``raw``, ``rel``, ``ann``: the lowest raw sample, relaxed sample
            and annealed state (float64, (3, L, L)); ``e_raw``, ``e_rel``,
            ``e_ann``: their energies per spin, ``e_uni`` that of the uniform
            +z state; ``frac``: share of the anneals at or below ``e_rel``;
            ``n_ann``: number of anneals; ``hit``: share of the relaxed samples
            at their minimum (within 1e-8); ``direct``, ``e_direct``: the
            lowest state of the direct minimisation (trial skyrmion lattices
            of chapter 5's spacings that fit in the square and its angles,
            relaxed in the open square, and the uniform state relaxed) and
            its energy per spin.
        """
        H, n = self.hamiltonian, self.size ** 2
        raw = sample_states(self.model(), n_samples, seed=seed, dtype=np.float64)
        rel = np.stack([relax(H, s)[0] for s in raw])
        e_raw = np.array([H.energy(s) for s in raw]) / n
        e_rel = np.array([H.energy(s) for s in rel]) / n
        e_ann = load_observables(self.dataset, "all")["energy_per_spin"]   # every split, in file order
        ann = SplitStates(self.dataset, "all")[int(np.argmin(e_ann))]   # only the lowest anneal is read back
        uniform = np.zeros((3, self.size, self.size))
        uniform[2] = 1.0
        direct, e_direct = open_ground_state_search(self.profile, self.size, root=self.root)
        return dict(raw=raw[np.argmin(e_raw)], rel=rel[np.argmin(e_rel)], ann=ann.astype(np.float64),
                    e_raw=e_raw.min(), e_rel=e_rel.min(), e_ann=e_ann.min(), e_uni=H.energy(uniform) / n,
                    frac=np.mean(e_ann <= e_rel.min() + 1e-9), n_ann=e_ann.size,
                    hit=np.mean(e_rel < e_rel.min() + 1e-8), direct=direct, e_direct=float(e_direct))


def open_boundary_run(profile, size, *, seed=0, device="auto", executor="serial", progress=True, root=None,
                      spec=None, checkpoint_every=10):
    """Make (or load) the open-boundary dataset and short E-VAE of one sample size.

    The dataset is :func:`open_boundary_dataset`; the E-VAE (a
    :class:`SpinVAE` of ``size`` with the table's ``padding``, zeros: no
    convolution wraps one edge onto the other) starts from random
    weights initialised after ``torch.manual_seed(seed)`` and trains through
    the steps of :data:`EVAE_OPEN_BOUNDARY` with the open-boundary
    Hamiltonian in ``L_H`` (``E_0 = -2JN`` still, a constant shift).  Cached
    under ``data/<profile>/open_evae-<hash>/`` and resumable like
    :func:`train_evae_series`.

    Parameters
    ----------
    profile : {"quick", "paper"}
    size : int
        Side of the square sample, divisible by 16.
    seed : int
        Seed of the dataset and of the training.
    device : "auto", str or torch.device
    executor : see :func:`open_boundary_dataset`
    progress : bool
    root : path, optional
        Artifact root (default ``data/``).
    spec : dict, optional
        Overrides of :data:`EVAE_OPEN_BOUNDARY` (e.g. for tests); part of the
        artifacts' hashes.
    checkpoint_every : int, default 10
        Epochs between checkpoints within a step (not part of the hash).

    Returns
    -------
    OpenBoundaryRun

    Raises
    ------
    ValueError
        Unknown profile or setting, a size not divisible by 16.
    TrainingDivergedError
        See :func:`train_schedule`.
    """
    device = resolve_device(device)  # an unavailable device fails before the dataset is made
    spec = open_boundary_spec(profile, spec)
    path = open_boundary_dataset(profile, size, seed=seed, executor=executor, progress=progress, root=root,
                                 spec=spec)
    b = spec["beta"]
    steps = [Step(b, 0.0, spec["first_epochs"])] + [Step(b, g, spec["epochs"]) for g in spec["gammas"]]
    name = f"open{size}"
    torch.manual_seed(seed)
    model = SpinVAE(size, padding=spec["padding"])
    params = to_jsonable(dict(dataset=dataset_params(**_open_data_spec(spec, size, seed)), model=model.config(),
                              name=name, seed=seed, steps=[s.as_dict() for s in steps],
                              batch_size=spec["batch_size"], lr=spec["lr"], adam_betas=[0.9, 0.999]))
    directory = artifact_path(profile, "open_evae", params, root=root, suffix="")
    history = train_schedule(model, steps, SplitStates(path, "train"), SplitStates(path, "validation"),
                             EVAE_OPEN_HAMILTONIAN, directory, seed=seed, name=name, batch_size=spec["batch_size"],
                             lr=spec["lr"], device=device, checkpoint_every=checkpoint_every, params=params,
                             progress=progress)
    return OpenBoundaryRun(profile, size, EVAE_OPEN_HAMILTONIAN, path,
                           SeriesResult(name, directory, steps, history, model.config()), root=root)


def open_boundary_series(profile, *, seed=0, device="auto", executor="serial", progress=True, root=None, spec=None):
    """:func:`open_boundary_run` for every size of the profile's :data:`EVAE_OPEN_BOUNDARY` entry.

    Returns
    -------
    dict of int to OpenBoundaryRun
        Keyed by size, in the table's order.
    """
    sizes = open_boundary_spec(profile, spec)["sizes"]
    return {size: open_boundary_run(profile, size, seed=seed, device=device, executor=executor, progress=progress,
                                    root=root, spec=spec) for size in sizes}
