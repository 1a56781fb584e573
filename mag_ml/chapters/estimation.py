r"""Chapters 6-7: the SI films and the parameter estimator of Wang et al. (Adv. Sci. 2020).

The profile tables of chapter 6 (:data:`MICROMAGNETICS_PROFILES`) and chapter 7
(:data:`ESTIMATOR_PROFILES`), the film they share (:data:`FILM`,
:data:`FILM_TEMPERATURE`), the image datasets and the cached training of the
estimator (:func:`train_estimator`), and the cached pipelines the two
chapters call: the 300 K images of chapter 6 (:func:`thermal_images`), and
chapter 7's size study (:func:`size_study_images`), observation file
(:func:`estimator_observation`), re-simulation (:func:`resimulation`) and
hysteresis loops (:func:`hysteresis_loops`), the domain-shift study with
its augmented estimator (:func:`domain_shift_study`, :data:`AUGMENTATION`)
and the FeGe worked example in Lorentz TEM (:func:`fege_example`).

Wang et al. (arXiv 1908.05829) simulate a film of 4 nm x 4 nm x 1 nm cells
at T = 300 K in B = 0.18 T along z for a grid of exchange stiffness
:math:`A_{ex}`, interfacial DMI :math:`D` and saturation magnetisation
:math:`M_s`: a 5 x 5 x 5 training grid (random seed 1), test set A on the
same 125 parameter sets with seed 2, and test set B on the 4 x 4 x 4
midpoints of the grid, never seen in training.

The grid of this book
---------------------
The paper quotes :math:`A_{ex}` = 1-5 pJ/m and D = 1-5 mJ/m^2 (its appendix
writes the DMI unit as micro-J/m^2; with micro-J/m^2 the spiral period
:math:`4\pi A_{ex}/D` would be micrometres, thousands of cells, and no
texture would fit an image, so it must be mJ/m^2).  With 4 nm cells that
range cannot be imaged by a finite-difference model at 300 K
(:func:`mag_ml.physics.micromagnetics.characteristic_lengths`; chapter 7
computes the numbers): at its corner A = 1 pJ/m, D = 5 mJ/m^2 the period is
below one cell, and the reduced temperature :math:`k_BT/(2A_{ex}t)` of a
1 nm film is above the lattice's ordering crossover (about 0.7).

We keep the paper's cell side, field and temperature and the structure of
the grid, and choose the widest ranges (a factor 3 for each parameter) whose
physics the cells resolve everywhere on the grid:

* a film of t = 2 nm, so that the reduced temperature stays at or below
  0.12 down to A_ex = 9 pJ/m (ordered, visibly thermal);
* A_ex 9-27 pJ/m and D 1.5-4.5 mJ/m^2: spiral period at least 6 cells
  (at A_ex = 9 pJ/m, D = 4.5 mJ/m^2) and up to 57 cells;
* M_s 0.3-0.9 MA/m: exchange length :math:`\sqrt{2A_{ex}/\mu_0M_s^2}` at
  least one cell at the corner A_ex = 9 pJ/m, M_s = 0.9 MA/m;
* K_u = 0.3 MJ/m^3 (fixed): :math:`K_{eff} = K_u - \mu_0M_s^2/2` changes
  sign inside the M_s range (at 0.69 MA/m), the spin-reorientation regime of
  room-temperature skyrmion multilayers (Soumyanarayanan et al., Nat. Mater.
  16, 898 (2017)), so that M_s acts through both the Zeeman energy and the
  anisotropy and is visible in m_z images.

Over the grid the images go from isolated skyrmions (small D) to labyrinths
(large D/A_ex) and dense skyrmions (large M_s); chapter 7 shows the corners
and the tests check these conditions on every grid point.

Images are thermal snapshots from
:func:`mag_ml.physics.micromagnetics.thermal_state` (Monte Carlo of the
same Boltzmann distribution that MuMax3's stochastic LLG samples in the
paper), periodic boundaries, stored as float32 ``(3, H, W)`` unit vectors
in HDF5 (:func:`mag_ml.data.generation.generate_records`) with every
generation parameter as attributes; image ``i`` depends only on
``(seed, i)``.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from mag_ml.analysis.estimator_errors import (TextureRegression, constant_predictor, coverage, error_table, nrmse,
                                              texture_features)
from mag_ml.artifacts import artifact_path, load_or_compute
from mag_ml.chapters import profile_spec
from mag_ml.data.generation import generate_records
from mag_ml.data.storage import load_records
from mag_ml.estimation import (PARAMETER_NAMES, Estimator, ParameterScaler, calibrate, estimate, input_windows,
                               predict_images, predict_inputs, window_dataset, write_spin_png)
from mag_ml.files import load_npz, save_npz
from mag_ml.models.cnn import ParameterCNN
from mag_ml.physics.hysteresis import hysteresis_loop
from mag_ml.physics.imaging import MicroscopeImage, ltem_image, out_of_plane_image, resample
from mag_ml.physics.micromagnetics import MicromagneticParameters, thermal_run, thermal_state
from mag_ml.training import fit

__all__ = ["GRID_RANGES", "TRAIN_SEED", "latin_hypercube", "training_parameters", "FILM", "FILM_TEMPERATURE", "FILM_IMAGES", "MICROMAGNETICS_PROFILES", "micromagnetics_spec",
           "thermal_images", "ESTIMATOR_PROFILES", "train_estimator", "EstimatorEvaluation", "evaluate_estimator",
           "DOMAIN_SHIFTS", "AUGMENTATION", "within_augmentation", "imaged", "augmented_inputs", "domain_shift_study",
           "estimator_spec", "parameter_grid", "midpoint_grid", "film", "micromagnetic_images",
           "micromagnetic_dataset", "estimator_datasets", "size_study_images", "Observation",
           "estimator_observation", "resimulation", "hysteresis_loops", "LoopEnsemble", "loop_ensembles",
           "interval_corners", "FEGE", "FEGE_FILM", "FEGE_TEMPERATURE", "FEGE_LTEM", "FEGE_RANGES",
           "FEGE_PROFILES", "FEGE_SEEDS", "fege_spec", "fege_micrograph", "fege_inputs", "fege_datasets",
           "train_fege_estimator", "FeGeExample", "fege_example"]

#: The fixed part of the films of chapters 6 and 7: the cell side and field of
#: Wang et al. (Adv. Sci. 2020; 4 nm cells, 0.18 T) with our thickness and K_u
#: (module notes: why), and their temperature [K].
FILM = dict(K_u=0.3e6, B=0.18, dx=4e-9, thickness=2e-9, demag="thin_film")
FILM_TEMPERATURE = 300.0

#: Films of the finite-temperature images of chapter 6: :data:`FILM` at
#: :data:`FILM_TEMPERATURE`, with (A_ex, D, M_s) points of chapter 7's grid.
#: Labels name the morphology seen at 300 K.
FILM_IMAGES = {
    "isolated skyrmions": dict(A_ex=9e-12, D=1.5e-3, M_s=0.3e6),
    "dense skyrmions": dict(A_ex=9e-12, D=3e-3, M_s=0.9e6),
    "skyrmions and stripes": dict(A_ex=27e-12, D=4.5e-3, M_s=0.6e6),
    "labyrinth": dict(A_ex=9e-12, D=4.5e-3, M_s=0.3e6),
}

#: Sizes of chapter 6 per profile (see :func:`micromagnetics_spec`).
MICROMAGNETICS_PROFILES = {
    "quick": dict(dx=(2e-9, 1e-9, 0.5e-9), shape=(128, 128), n_anneal=1000, n_sweeps=200,
                  movie_shape=(64, 64), n_snapshots=30),
    "paper": dict(dx=(2e-9, 1e-9, 0.5e-9, 0.25e-9), shape=(512, 512), n_anneal=5000, n_sweeps=1000,
                  movie_shape=(128, 128), n_snapshots=40),
}


def micromagnetics_spec(profile):
    """Sizes of chapter 6 (SI parameters to spin images) for a profile.

    Parameters
    ----------
    profile : {"quick", "paper"}

    Returns
    -------
    dict
        ``dx``: cell sizes [m] of the standard-problem comparison (the
        paper's 0.25 nm takes about 30 s on 2 cores, ``benchmarks/paper_scale.py``); ``shape``: cells of the 300 K
        images (paper: 512 x 512 as Wang et al.); ``n_anneal``, ``n_sweeps``:
        Monte Carlo sweeps of :func:`~mag_ml.physics.micromagnetics.thermal_state`; ``movie_shape``,
        ``n_snapshots``: the annealing animation; ``films``: a copy of
        :data:`FILM_IMAGES`; ``film``: the fixed part (K_u, B, dx, thickness,
        demag); ``T``: 300 K.

    Raises
    ------
    ValueError
        Unknown profile.
    """
    return dict(profile_spec(MICROMAGNETICS_PROFILES, profile), films={k: dict(v) for k, v in FILM_IMAGES.items()},
                film=dict(FILM), T=FILM_TEMPERATURE)


def thermal_images(profile, *, seed=0, progress=True, root=None):
    """The 300 K images of chapter 6: one thermal state of each film of :data:`FILM_IMAGES`, made once and cached.

    Image ``k`` (films in the order of :data:`FILM_IMAGES`) is
    ``thermal_run(film_k, shape, T, seed=seed, sample=k, n_anneal=n_anneal,
    n_sweeps=n_sweeps).spins`` with the sizes of :func:`micromagnetics_spec`
    (:func:`mag_ml.physics.micromagnetics.thermal_run`: Monte Carlo of the
    Boltzmann distribution that MuMax3's stochastic LLG samples in Wang et
    al., Adv. Sci. 2020), periodic boundaries.  The four images are stored
    together in ``data/<profile>/thermal_images-<hash>.npz`` (hash of the
    films, sizes, temperature and seed) and loaded from there afterwards
    (:func:`mag_ml.artifacts.load_or_compute`).

    Parameters
    ----------
    profile : {"quick", "paper"}
        Sizes and artifact folder (quick: 128 x 128 cells, paper: 512 x 512).
    seed : int
        Random stream of the images (image ``k`` uses ``(seed, k)``).
    progress : bool
        Print the number of images and the time taken when they are computed
        (nothing is printed when they are loaded).
    root : path, optional
        Artifact root (default :func:`mag_ml.artifacts.data_root`).

    Returns
    -------
    dict of str to ndarray, shape (3, H, W), float64
        Unit spin vectors per film label, in the order of
        :data:`FILM_IMAGES`; ``(H, W)`` is the profile's ``shape`` (cells of
        :data:`FILM`: 4 nm x 4 nm x 2 nm).

    Raises
    ------
    ValueError
        Unknown profile; bad film parameters or shape (from
        :func:`~mag_ml.physics.micromagnetics.thermal_run`).
    """
    spec = micromagnetics_spec(profile)
    films = {label: MicromagneticParameters(**f, **spec["film"]) for label, f in spec["films"].items()}
    params = dict(films=spec["films"], film=spec["film"], T=spec["T"], shape=list(spec["shape"]),
                  n_anneal=spec["n_anneal"], n_sweeps=spec["n_sweeps"], seed=seed)
    labels = list(films)

    def make_images():
        t0 = time.perf_counter()
        out = {f"image{k}": thermal_run(films[label], spec["shape"], spec["T"], seed=seed, sample=k,
                                        n_anneal=spec["n_anneal"], n_sweeps=spec["n_sweeps"]).spins
               for k, label in enumerate(labels)}
        if progress:
            print(f"{len(out)} images of {spec['shape']} cells in {time.perf_counter() - t0:.1f} s")
        return out

    images = load_or_compute(artifact_path(profile, "thermal_images", params, root=root, suffix=".npz"), make_images,
                             save=save_npz, load=load_npz)
    return {label: images[f"image{k}"] for k, label in enumerate(labels)}


#: Offset of the training images' seed (and of the Latin hypercube's) from the chapter seed.
TRAIN_SEED = 1
#: (low, high) of each parameter over the grid (module notes: why these).
GRID_RANGES = ((9e-12, 27e-12), (1.5e-3, 4.5e-3), (0.3e6, 0.9e6))
#: Sizes per profile.  ``shape``: image cells; ``n_grid``: grid points per
#: parameter (test A ``n_grid**3`` sets, test B ``(n_grid-1)**3``
#: midpoints); ``design``: the training parameter sets, ``"grid"`` (the
#: paper: the ``n_grid**3`` grid, the sets of test A) or ``"latin"``
#: (``n_train`` sets of a Latin hypercube over :data:`GRID_RANGES`,
#: :func:`latin_hypercube`); ``n_anneal``/``n_sweeps``: Monte Carlo sweeps of
#: :func:`thermal_state`; ``window``/``stride``: sliding windows of an
#: estimate; ``train_stride``: their step on the training images;
#: ``channels``: 1 = m_z images; ``widths``, ``dropout``, ``input_map``: the
#: network (:class:`mag_ml.models.cnn.ParameterCNN`; paper: Table I's
#: widths and dropout); ``stages``: ``(epochs, lr)`` of successive Adam runs
#: (a step-wise learning-rate decay), ``batch_size``; ``sizes``: image
#: sides of the size study (paper Fig. 4: 128-1024); ``n_snapshots``: frames
#: of the re-simulation's animation (:func:`resimulation`); ``hysteresis``:
#: the M(B) loop of Fig. 1 (:func:`hysteresis_loops`), ``loop_seeds``: independent
#: random streams of each loop (:func:`loop_ensembles`).
#:
#: Why the quick profile trains as it does (measured on test B of this grid,
#: against the range-normalised RMSE of the grid centre): the paper's design
#: shrunk to 27 images on a 3-level grid leaves the network to interpolate
#: between three values per parameter and gave only 1.6-1.8 times the
#: constant predictor; images cost about 0.1 s each here while the Table I
#: network costs about 30 s of CPU per epoch of 2187 windows, so the quick
#: profile spends its budget on many parameter sets (a Latin hypercube,
#: non-overlapping training windows), a network of a quarter of Table I's
#: convolution widths, the polar-angle input and a decaying learning rate.
ESTIMATOR_PROFILES = {
    "quick": dict(shape=(96, 96), n_grid=4, design="latin", n_train=1200, n_anneal=1000, n_sweeps=200, window=32,
                  stride=8, train_stride=32, channels=1, widths=(16, 32, 128, 64), dropout=0.0,
                  input_map="polar_angle", stages=((5, 1e-3), (3, 2.5e-4), (2, 6e-5)), batch_size=64,
                  sizes=(32, 48, 64, 96, 128), n_snapshots=16,
                  hysteresis=dict(shape=(48, 48), B_max=1.5, n_steps=21, n_sweeps=100), loop_seeds=3),
    "paper": dict(shape=(512, 512), n_grid=5, design="grid", n_train=125, n_anneal=5000, n_sweeps=1000, window=32,
                  stride=8, train_stride=8, channels=1, widths=(64, 128, 512, 64), dropout=1.0,
                  input_map="polar_angle", stages=((10, 5e-4), (10, 1e-4)), batch_size=256, sizes=(128, 256, 512, 1024),
                  n_snapshots=40, hysteresis=dict(shape=(256, 256), B_max=1.5, n_steps=61, n_sweeps=500),
                  loop_seeds=3),
}


def estimator_spec(profile):
    """Sizes of the estimator chapter for ``profile`` (a copy of :data:`ESTIMATOR_PROFILES`).

    Parameters
    ----------
    profile : {"quick", "paper"}

    Returns
    -------
    dict
        The profile's entries plus ``ranges`` (:data:`GRID_RANGES`), ``film``
        (:data:`FILM`), ``T`` (:data:`FILM_TEMPERATURE`) and ``epochs`` (the
        sum over ``stages``).

    Raises
    ------
    ValueError
        Unknown profile.
    """
    spec = profile_spec(ESTIMATOR_PROFILES, profile)
    return dict(spec, ranges=GRID_RANGES, film=dict(FILM), T=FILM_TEMPERATURE,
                epochs=int(sum(e for e, _ in spec["stages"])))


def _levels(n, ranges):
    if not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n must be an integer >= 2 (grid points per parameter), got {n!r}")
    return [np.linspace(lo, hi, int(n)) for lo, hi in ranges]


def parameter_grid(n, ranges=GRID_RANGES):
    """All ``n**3`` combinations of ``n`` evenly spaced values of (A_ex, D, M_s).

    Parameters
    ----------
    n : int
        Points per parameter, >= 2 (paper: 5).
    ranges : sequence of 3 (low, high)
        SI ranges of A_ex [J/m], D [J/m^2], M_s [A/m].

    Returns
    -------
    ndarray, shape (n**3, 3), float64
        Rows ``(A_ex, D, M_s)``, A_ex varying slowest.
    """
    return np.array(list(itertools.product(*_levels(n, ranges))))


def midpoint_grid(n, ranges=GRID_RANGES):
    """The ``(n-1)**3`` midpoints of :func:`parameter_grid` (the paper's test set B).

    Same arguments; returns ndarray ``((n-1)**3, 3)`` float64.
    """
    mids = [0.5 * (v[1:] + v[:-1]) for v in _levels(n, ranges)]
    return np.array(list(itertools.product(*mids)))


def latin_hypercube(n, ranges=GRID_RANGES, *, seed=0):
    """``n`` parameter sets of a Latin hypercube over ``ranges`` (McKay, Beckman & Conover, Technometrics 21, 239 (1979)).

    Each parameter's range is cut into ``n`` equal strata; every stratum
    holds exactly one set, at a uniform position inside it, and the strata
    are paired at random between parameters.

    Parameters
    ----------
    n : int
        Number of sets, >= 1.
    ranges : sequence of 3 (low, high)
        SI ranges of A_ex [J/m], D [J/m^2], M_s [A/m].
    seed : int
        Random stream (:func:`numpy.random.default_rng`).

    Returns
    -------
    ndarray, shape (n, 3), float64
        Rows ``(A_ex, D, M_s)`` inside the ranges.

    Raises
    ------
    ValueError
        ``n`` not a positive integer (naming it and its value).
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a positive integer (number of parameter sets), got {n!r}")
    r = np.asarray(ranges, dtype=np.float64)
    rng = np.random.default_rng(seed)
    u = np.column_stack([(rng.permutation(int(n)) + rng.random(int(n))) / n for _ in range(len(r))])
    return r[:, 0] + u * (r[:, 1] - r[:, 0])


def training_parameters(profile, *, seed=0):
    """The training parameter sets of a profile: the grid (paper) or a Latin hypercube (quick).

    Parameters
    ----------
    profile : {"quick", "paper"}
        ``design`` of :func:`estimator_spec`: ``"grid"`` gives
        :func:`parameter_grid` ``(n_grid)``, ``"latin"`` gives
        :func:`latin_hypercube` ``(n_train, seed=seed + 1)``.
    seed : int
        Chapter seed.

    Returns
    -------
    ndarray, shape (n, 3), float64

    Raises
    ------
    ValueError
        Unknown profile or design.
    """
    spec = estimator_spec(profile)
    if spec["design"] == "grid":
        return parameter_grid(spec["n_grid"])
    if spec["design"] == "latin":
        return latin_hypercube(spec["n_train"], spec["ranges"], seed=seed + TRAIN_SEED)
    raise ValueError(f"design must be 'grid' or 'latin', got {spec['design']!r}")


def film(parameters, film_constants=None):
    """The :class:`MicromagneticParameters` of one grid point.

    Parameters
    ----------
    parameters : sequence of 3 float
        ``(A_ex [J/m], D [J/m^2], M_s [A/m])``.
    film_constants : dict, optional
        K_u, B, dx, thickness, demag; default :data:`FILM`.

    Returns
    -------
    MicromagneticParameters

    Raises
    ------
    ValueError
        From :class:`MicromagneticParameters`: A_ex or M_s not positive, ...
    """
    a_ex, d, m_s = (float(v) for v in parameters)
    return MicromagneticParameters(A_ex=a_ex, D=d, M_s=m_s, **(FILM if film_constants is None else film_constants))


def micromagnetic_images(settings, indices):
    """Thermal snapshots of the parameter sets ``indices``: the task of :func:`micromagnetic_dataset`.

    Parameters
    ----------
    settings : dict
        The dataset's ``params`` (see :func:`micromagnetic_dataset`).
    indices : list of int

    Returns
    -------
    list of (int, dict)
        ``(i, {"spins": (3, H, W) float32, "parameters": (3,) float64})``;
        image ``i`` is ``thermal_state(film(parameters[i]), shape, T, seed=seed, sample=i, ...)``.
    """
    out = []
    for i in indices:
        p = np.asarray(settings["parameters"][i], dtype=np.float64)
        spins = thermal_state(film(p, settings["film"]), tuple(settings["shape"]), settings["T"],
                              seed=settings["seed"], sample=int(i), n_anneal=settings["n_anneal"],
                              n_sweeps=settings["n_sweeps"])
        out.append((int(i), {"spins": spins.astype(np.float32), "parameters": p}))
    return out


def micromagnetic_dataset(profile, parameters, *, shape=None, seed, name="micromagnetic_images", executor=None,
                          progress=True, root=None, conditions=None):
    """Thermal images of a list of parameter sets, generated once and cached (resumable, parallel).

    Parameters
    ----------
    profile : {"quick", "paper"}
        Sizes (:func:`estimator_spec`) and artifact folder.
    parameters : array_like, shape (n, 3)
        ``(A_ex, D, M_s)`` per image, SI units, A_ex and M_s > 0.
    shape : tuple (H, W), optional
        Image cells (two even integers); default the profile's.
    seed : int
        Image i is ``thermal_state(..., seed=seed, sample=i)``.
    name : str
        Artifact name (file ``data/<profile>/<name>-<hash>.h5``).
    executor, progress
        As in :func:`mag_ml.data.generation.generate_records` (default:
        local processes).
    root : path, optional
        Artifact root.
    conditions : dict, optional
        ``film`` (the constants of :func:`film`), ``T`` [K], ``n_anneal``,
        ``n_sweeps``: another film than the profile's (the FeGe example,
        :func:`fege_datasets`); default the profile's.

    Returns
    -------
    parameters : ndarray (n, 3) float64
    spins : ndarray (n, 3, H, W) float32

    Raises
    ------
    ValueError
        ``parameters`` not ``(n, 3)`` or not finite, non-positive A_ex or
        M_s (naming the argument and the row), bad shape; see also
        :func:`generate_records`.
    """
    spec = estimator_spec(profile)
    c = dict(film=spec["film"], T=spec["T"], n_anneal=spec["n_anneal"], n_sweeps=spec["n_sweeps"])
    if conditions is not None:
        if set(conditions) != set(c):
            raise ValueError(f"conditions must have the keys {sorted(c)}, got {sorted(conditions)}")
        c = dict(conditions)
    p = np.asarray(parameters, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 3 or len(p) == 0 or not np.all(np.isfinite(p)):
        raise ValueError(f"parameters must be a finite (n, 3) array of (A_ex, D, M_s), got shape {p.shape}")
    for k in range(len(p)):
        film(p[k], c["film"])  # raises for a negative A_ex or M_s, naming it
    shape = tuple(int(s) for s in (spec["shape"] if shape is None else shape))
    settings = dict(source="Wang et al. 2020 (arXiv 1908.05829) grid, mag_ml thermal_state", shape=shape,
                    T=c["T"], film=c["film"], n_anneal=c["n_anneal"], n_sweeps=c["n_sweeps"],
                    seed=int(seed), parameters=p.tolist(), parameter_names=list(PARAMETER_NAMES))
    path = artifact_path(profile, name, settings, root=root, suffix=".h5")
    generate_records(path, params=settings, fields={"spins": ((3, *shape), "float32"), "parameters": ((3,), "float64")},
                     n_items=len(p), task=micromagnetic_images, task_args=(settings,), executor=executor,
                     progress=progress, desc=name)
    _, arrays = load_records(path, settings)
    return arrays["parameters"], arrays["spins"]


def estimator_datasets(profile, *, seed=0, executor=None, progress=True, root=None):
    """The paper's three datasets for ``profile``: training, test A, test B.

    Training: :func:`training_parameters` (the grid in the paper profile, a
    Latin hypercube in the quick one) with image seed ``seed + 1`` (paper:
    seed 1); test A: :func:`parameter_grid`, seed ``seed + 2`` (paper: 2; in
    the paper profile the training sets with new noise); test B:
    :func:`midpoint_grid`, seed ``seed + 3``.

    Returns
    -------
    dict
        ``{"train": (parameters, spins), "test_a": ..., "test_b": ...}`` as
        from :func:`micromagnetic_dataset`.
    """
    n = estimator_spec(profile)["n_grid"]
    grids = {"train": (training_parameters(profile, seed=seed), seed + TRAIN_SEED),
             "test_a": (parameter_grid(n), seed + 2), "test_b": (midpoint_grid(n), seed + 3)}
    return {key: micromagnetic_dataset(profile, grid, seed=s, name=f"estimator_{key}", executor=executor,
                                       progress=progress, root=root)
            for key, (grid, s) in grids.items()}


def train_estimator(profile, *, seed=0, datasets=None, device="auto", progress=True, root=None, augmentation=None):
    """Train the CNN of Wang et al. 2020 on the profile's training set (cached, resumable).

    Windows of the training images (:func:`window_dataset`, step
    ``train_stride``) with MSE loss on min-max scaled targets over
    :data:`GRID_RANGES`, Adam (:func:`mag_ml.training.fit`) in the
    profile's ``stages``: one run of ``epochs`` at learning rate ``lr`` per
    stage, each with a fresh optimiser starting from the weights the
    previous stage ended with (a step-wise learning-rate decay; the paper
    profile has two, so that its augmented twin has a clean stage to share).  Test set A is the validation set whose loss is
    recorded per epoch (no model selection: the last epoch's weights are
    kept), on half-overlapping windows (stride ``window // 2``; the
    evaluation of test A uses every window).  The network is
    :class:`ParameterCNN` with the profile's ``widths``, ``dropout`` and
    ``input_map``.  Stage ``k``'s checkpoint lives in
    ``data/<profile>/estimator_cnn-<hash>/stage_k/``; an interrupted training
    resumes there, a finished one is loaded without training.

    With ``augmentation`` (:data:`AUGMENTATION`), the stages from
    ``from_stage`` on train on the training images as microscopes record
    them (:func:`augmented_inputs`, one random imaging condition per image,
    stream ``(seed + 1, i)``), starting from the clean estimator's weights at
    that stage (its checkpoints are shared, so the clean estimator is the
    control of the augmented one); their checkpoints live in
    ``data/<profile>/estimator_cnn_augmented-<hash>/``.

    Parameters
    ----------
    profile : {"quick", "paper"}
    seed : int
        Network initialisation, batch order and dropout; the datasets use
        ``seed + 1`` (train), ``seed + 2`` (test A), ``seed + 3`` (test B).
    datasets : dict, optional
        ``estimator_datasets(profile, seed=seed)``, if already loaded (the
        checkpoint records a fingerprint of the windows: other data raise
        ValueError instead of reusing a network trained on something else).
    device : str
        ``"auto"``: CUDA when available.
    progress : bool
    root : path, optional
        Artifact root.
    augmentation : dict, optional
        ``pixel``, ``psf_fwhm``, ``noise`` ranges and ``from_stage`` (an
        index into ``stages``, >= 1), as :data:`AUGMENTATION`; None trains
        on the clean images only.

    Returns
    -------
    Estimator
        On ``device``, in eval mode, with its training history (all stages,
        one entry per epoch).

    Raises
    ------
    ValueError
        Unknown profile; a checkpoint written for other data or settings;
        ``from_stage`` outside ``1 .. len(stages) - 1``; bad augmentation
        ranges (:func:`augmented_inputs`).
    """
    spec = estimator_spec(profile)
    data = datasets or estimator_datasets(profile, seed=seed, progress=progress, root=root)
    p_train, s_train = data["train"]
    scaler = ParameterScaler(*zip(*spec["ranges"]))
    kw = dict(size=spec["window"], channels=spec["channels"])
    train = window_dataset(p_train, s_train, scaler, stride=spec["train_stride"], **kw)
    validation = window_dataset(*data["test_a"], scaler, stride=spec["window"] // 2, **kw)
    trained_on = ("shape", "n_grid", "design", "n_train", "n_anneal", "n_sweeps", "window", "train_stride",
                  "channels", "widths", "dropout", "input_map", "stages", "batch_size", "ranges", "film", "T")
    settings = dict(seed=int(seed), validation_stride=spec["window"] // 2, spec={k: spec[k] for k in trained_on})
    directory = artifact_path(profile, "estimator_cnn", settings, root=root, suffix="")
    directories = [directory / f"stage_{k}" for k in range(len(spec["stages"]))]
    data = [train] * len(spec["stages"])
    if augmentation is not None:
        start = augmentation.get("from_stage")
        if not isinstance(start, int) or not 1 <= start < len(spec["stages"]):
            raise ValueError(f"augmentation['from_stage'] must be a stage index in 1..{len(spec['stages']) - 1} "
                             f"(the earlier stages are the clean estimator's), got {start!r}")
        if spec["channels"] != 1:
            raise ValueError("augmentation images m_z: it needs an m_z estimator (channels=1)")
        x_aug, _ = augmented_inputs(s_train, spec["film"]["dx"], seed=seed + TRAIN_SEED, augmentation=augmentation)
        data[start:] = [input_windows(p_train, x_aug, scaler, size=spec["window"], stride=spec["train_stride"])] \
            * (len(spec["stages"]) - start)
        aug_dir = artifact_path(profile, "estimator_cnn_augmented", dict(settings, augmentation=augmentation),
                                root=root, suffix="")
        directories[start:] = [aug_dir / f"stage_{k}" for k in range(start, len(spec["stages"]))]
    torch.manual_seed(seed)
    model = ParameterCNN(channels=spec["channels"], size=spec["window"], widths=tuple(spec["widths"]),
                         dropout=spec["dropout"], input_map=spec["input_map"])
    model, history = _staged_fit(model, spec, data, validation, directories, seed=seed, device=device,
                                 progress=progress, name="estimator CNN")
    return Estimator(model, scaler, spec["stride"], history, cell=spec["film"]["dx"])


def _staged_fit(model, spec, data, validation, directories, *, seed, device, progress, name):
    """``spec["stages"]`` as successive :func:`fit` runs (stage k on ``data[k]`` into ``directories[k]``),
    each from the weights the last ended with; the model and the history of all stages."""
    history = {"train": [], "validation": []}
    for k, (epochs, lr) in enumerate(spec["stages"]):
        result = fit(model, data[k], validation=validation, epochs=int(epochs), batch_size=spec["batch_size"],
                     lr=float(lr), directory=directories[k], seed=seed, step=k, device=device,
                     progress=progress, desc=name, name=name)
        model = result.model
        for key in history:
            history[key].extend(result.history[key])
    return model, history


# ----------------------------------------------------------------------------- pipelines of chapter 7
#: Offsets of the image seeds of chapter 7 from the chapter's seed: training,
#: test A and test B use ``seed + 1``, ``+ 2``, ``+ 3`` (:func:`estimator_datasets`).
SIZE_STUDY_SEED, OBSERVATION_SEED, RESIMULATION_SEED = 4, 5, 6


def size_study_images(profile, *, seed=0, root=None):
    """Images of one test-B parameter set at every image side of the size study (paper Fig. 4), cached.

    The parameter set is the first midpoint of the grid
    (``midpoint_grid(n_grid)[0]``, never trained on); the image of side
    ``L`` is ``micromagnetic_dataset(profile, [p], shape=(L, L), seed=seed + 4,
    name=f"estimator_size_{L}")``, one cached file per side.

    Parameters
    ----------
    profile : {"quick", "paper"}
        Sides from :func:`estimator_spec` (``sizes``; quick 32-128, paper
        128-1024 cells as Wang et al. 2020).
    seed : int
        Chapter seed (images use ``seed + 4``).
    root : path, optional
        Artifact root.

    Returns
    -------
    parameters : ndarray, shape (3,), float64
        ``(A_ex [J/m], D [J/m^2], M_s [A/m])``.
    images : dict of int to ndarray, shape (3, L, L), float32
        Spins per side ``L``, in the order of ``sizes``.

    Raises
    ------
    ValueError
        Unknown profile; see :func:`micromagnetic_dataset`.
    """
    spec = estimator_spec(profile)
    p = midpoint_grid(spec["n_grid"])[0]
    images = {}
    for L in spec["sizes"]:
        _, img = micromagnetic_dataset(profile, [p], shape=(L, L), seed=seed + SIZE_STUDY_SEED,
                                       name=f"estimator_size_{L}", executor="serial", progress=False, root=root)
        images[int(L)] = img[0]
    return p, images


@dataclass
class Observation:
    """The single observation of chapter 7 (:func:`estimator_observation`).

    Attributes
    ----------
    parameters : ndarray, shape (3,), float64
        True ``(A_ex [J/m], D [J/m^2], M_s [A/m])``.
    spins : ndarray, shape (3, H, W), float32
        The simulated state.
    path : pathlib.Path
        The PNG file of the state in the book's colour code
        (:func:`mag_ml.estimation.write_spin_png`), what the estimator reads.
    """

    parameters: np.ndarray
    spins: np.ndarray
    path: Path


def estimator_observation(profile, *, seed=0, root=None):
    """Simulate the chapter's observation and save it as a PNG: the input of the single-image workflow.

    The parameters are the last midpoint of the grid
    (``midpoint_grid(n_grid)[-1]``, test-set-B physics, never trained on),
    imaged at the profile's ``shape`` with seed ``seed + 5``
    (:func:`micromagnetic_dataset`, cached as ``estimator_observation``);
    the PNG is written (again, atomically) to
    ``data/<profile>/estimator_observation-<hash>.png``.

    Parameters
    ----------
    profile : {"quick", "paper"}
    seed : int
        Chapter seed (the image uses ``seed + 5``).
    root : path, optional
        Artifact root.

    Returns
    -------
    Observation

    Raises
    ------
    ValueError
        Unknown profile; see :func:`micromagnetic_dataset`.
    """
    spec = estimator_spec(profile)
    p = midpoint_grid(spec["n_grid"])[-1]
    s = seed + OBSERVATION_SEED
    _, obs = micromagnetic_dataset(profile, [p], shape=spec["shape"], seed=s, name="estimator_observation",
                                   executor="serial", progress=False, root=root)
    png = artifact_path(profile, "estimator_observation", dict(p=p.tolist(), seed=s), root=root, suffix=".png")
    write_spin_png(obs[0], png)
    return Observation(parameters=p, spins=obs[0], path=png)


def resimulation(profile, parameters, *, seed=0):
    """A new thermal state of the film with the given (estimated) parameters, with its anneal's snapshots.

    ``thermal_run(film(parameters), shape, T, seed=seed + 6, n_anneal=n_anneal,
    n_sweeps=n_sweeps, n_snapshots=n_snapshots)`` with the sizes of
    :func:`estimator_spec`: the check of chapter 7 that the estimate
    reproduces the observed morphology.  Not cached (one image).

    Parameters
    ----------
    profile : {"quick", "paper"}
    parameters : sequence of 3 float
        ``(A_ex [J/m], D [J/m^2], M_s [A/m])``, e.g. ``estimate(...).mean``.
    seed : int
        Chapter seed (the run uses ``seed + 6``, sample 0).

    Returns
    -------
    mag_ml.physics.micromagnetics.ThermalRun
        ``spins`` (3, H, W) float64, ``snapshots`` and
        ``snapshot_temperatures`` [K] of the anneal.

    Raises
    ------
    ValueError
        Unknown profile; non-positive A_ex or M_s (:func:`film`).
    """
    spec = estimator_spec(profile)
    return thermal_run(film(parameters, spec["film"]), tuple(spec["shape"]), spec["T"],
                       seed=seed + RESIMULATION_SEED, n_anneal=spec["n_anneal"], n_sweeps=spec["n_sweeps"],
                       n_snapshots=spec["n_snapshots"])


def hysteresis_loops(profile, parameters, *, seed=0, progress=False, root=None):
    """M(B) loops at 300 K of several films, at the profile's hysteresis sizes, checkpointed and cached.

    For each film, :func:`mag_ml.physics.hysteresis.hysteresis_loop` with
    ``shape``, ``B_max``, ``n_steps`` and ``n_sweeps`` of the profile's
    ``hysteresis`` entry (:func:`estimator_spec`) and the random stream
    ``seed``; its checkpoint, written after every field step, is
    ``data/<profile>/hysteresis_loop-<hash>.npz`` (hash of the film and of
    every setting), so an interrupted loop resumes and a finished one is read
    back without sweeping.

    Parameters
    ----------
    profile : {"quick", "paper"}
    parameters : dict of str to sequence of 3 float
        Label to ``(A_ex [J/m], D [J/m^2], M_s [A/m])``, e.g.
        ``{"estimated": result.mean, "true": observation.parameters}``.
    seed : int
    progress : bool
        tqdm bar over each loop's field steps.
    root : path, optional
        Artifact root.

    Returns
    -------
    dict of str to mag_ml.physics.hysteresis.HysteresisLoop
        Same labels and order; fields ``B`` [T] down then up
        (``2 * n_steps``), ``m_z``, coercive and saturation fields [T].

    Raises
    ------
    ValueError
        Unknown profile; bad film parameters (:func:`film`).
    """
    spec = estimator_spec(profile)
    hs = spec["hysteresis"]
    loops = {}
    for label, p in parameters.items():
        params = film(p, spec["film"])
        key = dict(params=params.as_dict(), T=spec["T"], seed=int(seed), **hs)
        checkpoint = artifact_path(profile, "hysteresis_loop", key, root=root, suffix=".npz")
        loops[label] = hysteresis_loop(params, hs["shape"], spec["T"], hs["B_max"], hs["n_steps"],
                                       n_sweeps=hs["n_sweeps"], seed=seed, checkpoint=checkpoint, progress=progress)
    return loops


@dataclass
class LoopEnsemble:
    """M(B) loops of one film over independent random streams, with their spread (Wang et al. 2020, Fig. 1).

    Attributes
    ----------
    B : ndarray (2 n_steps,) float64
        Applied field [T], down then up branch (as :class:`~mag_ml.physics.hysteresis.HysteresisLoop`).
    loops : list of HysteresisLoop
        One per seed, in the order of ``seeds``.
    seeds : tuple of int
    """

    B: np.ndarray
    loops: list
    seeds: tuple

    @property
    def m_z(self):
        """Mean over the seeds of :math:`\\langle m_z\\rangle` at each field, ndarray (2 n_steps,)."""
        return np.mean([loop.m_z for loop in self.loops], axis=0)

    @property
    def m_z_std(self):
        """Standard deviation over the seeds (ddof=1) at each field, ndarray (2 n_steps,)."""
        return np.std([loop.m_z for loop in self.loops], axis=0, ddof=1)

    def field_stats(self, name):
        """Mean and standard deviation (ddof=1) over the seeds of ``"coercivity"``, ``"knee_field"`` or
        ``"saturation_field"`` [T]; ValueError for another name."""
        if name not in ("coercivity", "knee_field", "saturation_field"):
            raise ValueError(f"name must be 'coercivity', 'knee_field' or 'saturation_field', got {name!r}")
        v = np.array([getattr(loop, name) for loop in self.loops], dtype=np.float64)
        return float(np.mean(v)), float(np.std(v, ddof=1))

    def moment_per_volume(self, M_s):
        """The magnetometer's M_s: the film's moment at the largest field divided by its volume.

        A magnetometer measures the moment ``M_s V <m_z>``; divided by the
        sample volume it gives ``M_s <m_z>(B_max)`` [A/m], below the
        parameter M_s wherever the loop is not saturated or the thermal
        fluctuations keep ``<m_z>`` below 1 (the comparison of Wang et al.
        2020 for their FeGe estimate).

        Parameters
        ----------
        M_s : float
            The film's saturation magnetisation [A/m], > 0.

        Returns
        -------
        (float, float)
            Mean and standard deviation (ddof=1) over the seeds [A/m]; each seed's value uses the mean of
            its loop's points at ``B = max(B)``.

        Raises
        ------
        ValueError
            ``M_s`` not positive and finite.
        """
        M_s = float(M_s)
        if not (np.isfinite(M_s) and M_s > 0):
            raise ValueError(f"M_s must be a positive saturation magnetisation in A/m, got {M_s!r}")
        at_max = np.isclose(self.B, np.max(self.B))
        v = np.array([M_s * np.mean(np.asarray(loop.m_z)[at_max]) for loop in self.loops])
        return float(np.mean(v)), float(np.std(v, ddof=1))


def loop_ensembles(profile, parameters, *, seeds, progress=False, root=None):
    """:func:`hysteresis_loops` of each film for several independent random streams (cached per seed).

    Parameters
    ----------
    profile : {"quick", "paper"}
    parameters : dict of str to sequence of 3 float
        Label to ``(A_ex [J/m], D [J/m^2], M_s [A/m])``.
    seeds : sequence of int
        At least 2 distinct seeds (loop ``k`` uses the stream ``seeds[k]``).
    progress : bool
    root : path, optional

    Returns
    -------
    dict of str to LoopEnsemble

    Raises
    ------
    ValueError
        Fewer than 2 distinct seeds; see :func:`hysteresis_loops`.
    """
    seeds = tuple(int(v) for v in seeds)
    if len(set(seeds)) < 2 or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be at least 2 distinct integers (a spread needs repeats), got {seeds!r}")
    runs = [hysteresis_loops(profile, parameters, seed=s, progress=progress, root=root) for s in seeds]
    return {label: LoopEnsemble(runs[0][label].B, [r[label] for r in runs], seeds) for label in parameters}


def interval_corners(interval, ranges=GRID_RANGES):
    """The 8 corners of an estimate's interval box, clipped to the training ranges: films for a loop band.

    Parameters
    ----------
    interval : array_like, shape (3, 2)
        ``(low, high)`` of (A_ex [J/m], D [J/m^2], M_s [A/m]), e.g. ``Estimate.interval``.
    ranges : sequence of 3 (low, high)

    Returns
    -------
    ndarray, shape (8, 3), float64

    Raises
    ------
    ValueError
        ``interval`` not (3, 2) finite with low <= high (e.g. an uncalibrated estimate's None).
    """
    if interval is None:
        raise ValueError("interval is None: calibrate the estimator first (mag_ml.estimation.calibrate)")
    iv = np.asarray(interval, dtype=np.float64)
    if iv.shape != (3, 2) or not np.all(np.isfinite(iv)) or np.any(iv[:, 0] > iv[:, 1]):
        raise ValueError(f"interval must be a finite (3, 2) array of (low, high) with low <= high, got {interval!r}")
    r = np.asarray(ranges, dtype=np.float64)
    iv = np.clip(iv, r[:, :1], r[:, 1:])
    return np.array(list(itertools.product(*iv)))


# ----------------------------------------------------------------------------- evaluation with baselines
@dataclass
class EstimatorEvaluation:
    """The estimator on the test sets beside its baselines, with calibrated intervals.

    Attributes
    ----------
    predictions : dict of str to dict of str to ndarray (n, 3)
        ``predictions[split][predictor]``: image estimates (SI units) on
        ``"test_a"`` and ``"test_b"`` of ``"CNN"`` (mean over windows),
        ``"grid centre"`` (the constant predictor) and ``"texture
        regression"`` (:class:`mag_ml.analysis.estimator_errors.TextureRegression`
        fitted on the training images).
    truth : dict of str to ndarray (n, 3)
    rows : dict of str to list of dict
        :func:`mag_ml.analysis.estimator_errors.error_table` per split.
    calibrated : Estimator
        The estimator with split-conformal half-widths from test A.
    coverage : ndarray (3,)
        Fraction of test-B images whose truth lies in the calibrated interval.
    level : float
        Nominal coverage.
    bootstrap_level : float
        Two-sided level of the bootstrap intervals of ``rows``.
    """

    predictions: dict
    truth: dict
    rows: dict
    calibrated: Estimator
    coverage: np.ndarray
    level: float
    bootstrap_level: float = 0.95

    def row(self, split, predictor, parameter):
        """The error-table row of one predictor and parameter on a split."""
        return next(r for r in self.rows[split] if r["predictor"] == predictor and r["parameter"] == parameter)

    def markdown(self, split):
        """The error table of a split as Markdown (relative error and range-normalised RMSE, bootstrap intervals)."""
        pct = f"{100 * self.bootstrap_level:g} %"
        lines = [f"| parameter | predictor | relative error [{pct}] | range-normalised RMSE [{pct}] |",
                 "|---|---|---|---|"]
        for r in self.rows[split]:
            lines.append(f"| {r['parameter']} | {r['predictor']} | {100 * r['relative']:.1f} % "
                         f"[{100 * r['relative_lo']:.1f}, {100 * r['relative_hi']:.1f}] | {r['nrmse']:.3f} "
                         f"[{r['nrmse_lo']:.3f}, {r['nrmse_hi']:.3f}] |")
        return "\n".join(lines)


def evaluate_estimator(profile, estimator, datasets, *, level=0.9, n_boot=2000, bootstrap_level=0.95, seed=0):
    """Errors of the estimator and of two baselines on test sets A and B; intervals calibrated on A, checked on B.

    Parameters
    ----------
    profile : {"quick", "paper"}
        For the grid ranges and cell size (:func:`estimator_spec`).
    estimator : Estimator
        From :func:`train_estimator`.
    datasets : dict
        :func:`estimator_datasets` of the same profile and seed.
    level : float
        Nominal coverage of the split-conformal intervals.
    n_boot : int
        Bootstrap replicates over images.
    bootstrap_level : float
        Two-sided level of the bootstrap intervals in (0, 1).
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    EstimatorEvaluation

    Raises
    ------
    ValueError
        Unknown profile; too few test-A images for ``level``.
    """
    spec = estimator_spec(profile)
    ranges, dx = spec["ranges"], spec["film"]["dx"]
    p_train, s_train = datasets["train"]
    texture = TextureRegression(texture_features(s_train, dx), p_train)
    predictions, truth, rows = {}, {}, {}
    for split in ("test_a", "test_b"):
        p, s = datasets[split]
        truth[split] = np.asarray(p, dtype=np.float64)
        predictions[split] = {"CNN": predict_images(estimator, s).mean(axis=1),
                              "grid centre": constant_predictor(ranges, len(p)),
                              "texture regression": texture.predict(texture_features(s, dx))}
        rows[split] = error_table(truth[split], predictions[split], ranges, names=PARAMETER_NAMES, n_boot=n_boot,
                                  level=bootstrap_level, seed=seed)
    calibrated = calibrate(estimator, *datasets["test_a"], level=level)
    cov = coverage(truth["test_b"], predictions["test_b"]["CNN"], calibrated.halfwidth)
    return EstimatorEvaluation(predictions, truth, rows, calibrated, cov, float(level), float(bootstrap_level))


#: Imaging conditions of the domain-shift study: label -> (pixel [m], PSF FWHM [m], noise [units of m_z]).
#: The microscope samples the film at ``pixel`` after a Gaussian blur, adds white noise, and the image is
#: resampled back onto the training cell (:mod:`mag_ml.physics.imaging`).  All but the last lie inside
#: :data:`AUGMENTATION`'s ranges; the last (a blur beyond them) shows what augmentation cannot promise.
DOMAIN_SHIFTS = {
    "clean": (4e-9, 0.0, 0.0),
    "blur 8 nm": (4e-9, 8e-9, 0.0),
    "blur 16 nm": (4e-9, 16e-9, 0.0),
    "noise 0.1": (4e-9, 0.0, 0.1),
    "noise 0.3": (4e-9, 0.0, 0.3),
    "pixel 2.34 nm": (2.34e-9, 0.0, 0.0),
    "pixel 6 nm": (6e-9, 0.0, 0.0),
    "2.34 nm pixel + 10 nm blur + noise 0.2": (2.34e-9, 10e-9, 0.2),
    "blur 24 nm": (4e-9, 24e-9, 0.0),
}

#: Training with augmentation: from stage ``from_stage`` of the profile's ``stages`` on, each training image
#: ``i`` is imaged once (:func:`augmented_inputs`) with a pixel, PSF FWHM and noise drawn uniformly from
#: these (low, high) ranges by the stream ``(seed, i)``; the earlier stages are the clean estimator's own
#: (the same checkpoints), so the clean estimator is the augmented one's control: same network, seeds,
#: windows and epochs, only the images of the later stages differ.
AUGMENTATION = dict(pixel=(2.34e-9, 6e-9), psf_fwhm=(0.0, 16e-9), noise=(0.0, 0.3), from_stage=1)


def within_augmentation(condition, augmentation=None):
    """Whether an imaging condition (pixel [m], PSF FWHM [m], noise) lies inside the augmentation's ranges.

    Parameters
    ----------
    condition : sequence of 3 float
        As the values of :data:`DOMAIN_SHIFTS`.
    augmentation : dict, optional
        Default :data:`AUGMENTATION`.

    Returns
    -------
    bool
    """
    aug = AUGMENTATION if augmentation is None else augmentation
    return all(lo <= float(v) <= hi for v, (lo, hi) in
               zip(condition, (aug["pixel"], aug["psf_fwhm"], aug["noise"])))


def _imaged(state, cell, pixel, psf_fwhm, noise, rng):
    """One state's m_z through the microscope (blur at the cell, sampling at ``pixel``, noise), back on its grid."""
    img = out_of_plane_image(state, pixel=cell, psf_fwhm=psf_fwhm)
    if pixel != cell:
        img = resample(img, pixel)
    img = MicroscopeImage(img.data + noise * rng.standard_normal(img.data.shape), img.pixel, img.kind, img.settings)
    return (resample(img, cell, shape=np.shape(state)[1:]) if pixel != cell else img).data


def imaged(spins, cell, *, pixel, psf_fwhm, noise, seed=0):
    """m_z images as an out-of-plane microscope records them, back on the training cell.

    Parameters
    ----------
    spins : array_like, shape (n, 3, H, W)
        Simulated states on cells of side ``cell`` [m].
    cell : float
        Training cell [m].
    pixel, psf_fwhm, noise : float
        Microscope pixel [m], Gaussian PSF FWHM [m] and noise standard deviation (units of m_z).
    seed : int
        Image ``i`` uses the noise stream ``(seed, i)``.

    Returns
    -------
    ndarray, shape (n, 1, H, W), float32
        The contrast on the training cell, on the states' own grid.

    Raises
    ------
    ValueError
        Bad spins or conditions (:func:`mag_ml.physics.imaging.out_of_plane_image`).
    """
    return np.stack([_imaged(state, cell, pixel, psf_fwhm, noise, np.random.default_rng([int(seed), i]))
                     for i, state in enumerate(np.asarray(spins))])[:, None].astype(np.float32)


def augmented_inputs(spins, cell, *, seed, augmentation=None):
    """Each image through a microscope of its own: conditions drawn from :data:`AUGMENTATION`'s ranges.

    Parameters
    ----------
    spins, cell
        As :func:`imaged`.
    seed : int
        Image ``i`` draws its pixel, PSF FWHM and noise (uniform in the ranges), then its noise, from the
        stream ``(seed, i)``: the same inputs in every run, whatever the batch.
    augmentation : dict, optional
        ``pixel``, ``psf_fwhm``, ``noise``: (low, high) ranges [m, m, units of m_z]; default
        :data:`AUGMENTATION`.

    Returns
    -------
    inputs : ndarray, shape (n, 1, H, W), float32
        The imaged m_z on the training cell.
    conditions : ndarray, shape (n, 3), float64
        (pixel [m], PSF FWHM [m], noise) of each image.

    Raises
    ------
    ValueError
        A range with high < low or negative bounds (a non-positive pixel).
    """
    aug = AUGMENTATION if augmentation is None else augmentation
    bounds = []
    for key in ("pixel", "psf_fwhm", "noise"):
        lo, hi = (float(v) for v in aug[key])
        if not (0 <= lo <= hi) or (key == "pixel" and lo <= 0):
            raise ValueError(f"augmentation[{key!r}] must be a range (low, high) with 0 <= low <= high "
                             f"(pixel > 0), got {aug[key]!r}")
        bounds.append((lo, hi))
    out, conditions = [], []
    for i, state in enumerate(np.asarray(spins)):
        rng = np.random.default_rng([int(seed), i])
        c = [lo + (hi - lo) * u for (lo, hi), u in zip(bounds, rng.uniform(size=3))]
        out.append(_imaged(state, cell, *c, rng))
        conditions.append(c)
    return np.stack(out)[:, None].astype(np.float32), np.array(conditions, dtype=np.float64).reshape(-1, 3)


def domain_shift_study(profile, estimator, datasets, *, shifts=None, seed=0):
    """Range-normalised RMSE on test set B of an estimator trained on clean images, for each imaging condition.

    Parameters
    ----------
    profile : {"quick", "paper"}
    estimator : Estimator
        Trained on clean m_z images (``channels=1``).
    datasets : dict
        :func:`estimator_datasets`.
    shifts : dict, optional
        Label -> (pixel, PSF FWHM, noise); default :data:`DOMAIN_SHIFTS`.
    seed : int
        Noise streams.

    Returns
    -------
    dict of str to ndarray (3,)
        Label -> range-normalised RMSE of (A_ex, D, M_s).

    Raises
    ------
    ValueError
        An estimator that reads three components (an out-of-plane microscope gives m_z only).
    """
    if estimator.channels != 1:
        raise ValueError("the domain-shift study needs an m_z estimator (channels=1)")
    spec = estimator_spec(profile)
    p, s = datasets["test_b"]
    out = {}
    for label, (pixel, psf, noise) in (DOMAIN_SHIFTS if shifts is None else shifts).items():
        x = imaged(s, spec["film"]["dx"], pixel=pixel, psf_fwhm=psf, noise=noise, seed=seed)
        out[label] = nrmse(p, predict_inputs(estimator, x).mean(axis=1), spec["ranges"])
    return out


# ----------------------------------------------------------------------------- the FeGe worked example
#: B20 FeGe: exchange stiffness [J/m], bulk DMI [J/m^2] and saturation magnetisation [A/m] as simulated by
#: Beg et al., Sci. Rep. 5, 17137 (2015) (Methods), the values of the field's FeGe simulations.
FEGE = (8.78e-12, 1.58e-3, 3.84e5)
#: The FeGe lamella of the worked example: Wang et al.'s conditions for their FeGe image (0.18 T, 265 K)
#: with our choices: a 20 nm lamella (thinner than the 70 nm helix period, so one layer of cells with the
#: local thin-film demagnetisation), no uniaxial anisotropy (cubic B20), bulk DMI (Bloch skyrmions), cells
#: of two camera pixels.
FEGE_FILM = dict(K_u=0.0, B=0.18, dx=4.68e-9, thickness=20e-9, demag="thin_film", dmi="bulk")
FEGE_TEMPERATURE = 265.0
#: The microscope: Fresnel Lorentz TEM at 300 kV and a defocus of 300 um (our choice: a Fresnel contrast of
#: about 0.1 for this lamella), sampled at the paper's 2.34 nm/pixel with detector noise of 0.05 (units of
#: the incident intensity).
FEGE_LTEM = dict(pixel=2.34e-9, defocus=300e-6, voltage=300e3, noise=0.05)
#: Parameter ranges of the FeGe estimator [J/m, J/m^2, A/m]: what one may assume of a B20 helimagnet before
#: the measurement, a factor 3 or more each, resolved by the cells everywhere (helix period 4 pi A_ex / D at
#: least 4 cells, exchange length at least one cell); not centred on :data:`FEGE`, whose values the example
#: pretends not to know.
FEGE_RANGES = ((5e-12, 15e-12), (0.8e-3, 3.2e-3), (0.2e6, 0.6e6))
#: Sizes of the FeGe example per profile: ``shape`` (cells of ``FEGE_FILM["dx"]``), images of the
#: Latin-hypercube ``train``, ``calibration`` and ``test`` sets, Monte Carlo sweeps, the network (input map
#: ``"fresnel_contrast"``) and its stages.  Paper: 256 x 256 cells, the 512 x 512 pixels of the paper's image.
FEGE_PROFILES = {
    "quick": dict(shape=(64, 64), n_train=400, n_calibration=32, n_test=64, n_anneal=500, n_sweeps=100,
                  window=32, train_stride=32, stride=8, widths=(16, 32, 128, 64), dropout=0.0,
                  stages=((7, 1e-3), (3, 2.5e-4), (2, 6e-5)), batch_size=64),
    "paper": dict(shape=(256, 256), n_train=1000, n_calibration=125, n_test=125, n_anneal=5000, n_sweeps=1000,
                  window=32, train_stride=8, stride=8, widths=(64, 128, 512, 64), dropout=1.0,
                  stages=((20, 5e-4),), batch_size=256),
}
#: Seed offsets of the FeGe images: training, calibration, test, the example and its magnetometry.
FEGE_SEEDS = dict(train=7, calibration=8, test=9, example=10, magnetometry=11)


def fege_spec(profile):
    """Sizes of the FeGe worked example: a copy of ``FEGE_PROFILES[profile]`` with its physics.

    Parameters
    ----------
    profile : str
        ``"quick"`` or ``"paper"`` (anything else: ValueError).

    Returns
    -------
    dict
        The profile's entries plus ``ranges`` (:data:`FEGE_RANGES`), ``film`` (:data:`FEGE_FILM`), ``T``
        (:data:`FEGE_TEMPERATURE`) and ``ltem`` (:data:`FEGE_LTEM`).
    """
    return dict(profile_spec(FEGE_PROFILES, profile), ranges=FEGE_RANGES, film=dict(FEGE_FILM),
                T=FEGE_TEMPERATURE, ltem=dict(FEGE_LTEM))


def _fege_conditions(spec):
    """The ``conditions`` of :func:`micromagnetic_dataset` for the FeGe film of ``spec`` (:func:`fege_spec`)."""
    return dict(film=spec["film"], T=spec["T"], n_anneal=spec["n_anneal"], n_sweeps=spec["n_sweeps"])


def fege_micrograph(spins, M_s, *, seed, index=0, ltem=None, film_constants=None):
    """A Fresnel Lorentz TEM micrograph of a FeGe state at the camera's pixel size.

    The intensity is formed on the simulation's cells
    (:func:`mag_ml.physics.imaging.ltem_image`: the phase of the in-plane
    induction, Mansuripur / Beleggia-Zhu, propagated by the defocus), sampled
    at the camera pixel (:func:`mag_ml.physics.imaging.resample`) and given
    white detector noise there.

    Parameters
    ----------
    spins : array_like, shape (3, H, W)
        The state, on cells of ``film_constants["dx"]``.
    M_s : float
        Saturation magnetisation [A/m] (the phase is proportional to M_s t).
    seed, index : int
        The noise stream ``(seed, index)``.
    ltem, film_constants : dict, optional
        Default :data:`FEGE_LTEM`, :data:`FEGE_FILM`.

    Returns
    -------
    MicroscopeImage
        ``kind="ltem"``, ``pixel = ltem["pixel"]``, intensity normalised to the incident beam.

    Raises
    ------
    ValueError
        As :func:`mag_ml.physics.imaging.ltem_image`.
    """
    ltem = FEGE_LTEM if ltem is None else ltem
    f = FEGE_FILM if film_constants is None else film_constants
    img = ltem_image(spins, pixel=f["dx"], thickness=f["thickness"], M_s=M_s, defocus=ltem["defocus"],
                     voltage=ltem["voltage"])
    img = resample(img, ltem["pixel"])
    noise = ltem["noise"] * np.random.default_rng([int(seed), int(index)]).standard_normal(img.data.shape)
    return MicroscopeImage(img.data + noise, img.pixel, img.kind, dict(img.settings, noise=ltem["noise"],
                                                                        seed=int(seed), index=int(index)))


def fege_inputs(parameters, spins, *, seed, profile="quick"):
    """The network inputs of FeGe states: each micrograph resampled back onto the simulation's cells.

    Parameters
    ----------
    parameters : array_like, shape (n, 3)
        ``(A_ex, D, M_s)`` of each state (M_s sets the LTEM phase).
    spins : array_like, shape (n, 3, H, W)
    seed : int
        Image ``i`` has the noise stream ``(seed, i)`` (:func:`fege_micrograph`).
    profile : {"quick", "paper"}

    Returns
    -------
    ndarray, shape (n, 1, H, W), float32
        Intensities on cells of ``FEGE_FILM["dx"]``.
    """
    spec = fege_spec(profile)
    return np.stack([resample(fege_micrograph(s, p[2], seed=seed, index=i, ltem=spec["ltem"],
                                              film_constants=spec["film"]),
                              spec["film"]["dx"], shape=np.shape(s)[1:]).data
                     for i, (p, s) in enumerate(zip(np.asarray(parameters), spins))])[:, None].astype(np.float32)


def fege_datasets(profile, *, seed=0, executor=None, progress=True, root=None):
    """The FeGe example's training, calibration and test states (Latin hypercubes over :data:`FEGE_RANGES`).

    Parameters
    ----------
    profile : {"quick", "paper"}
    seed : int
        Chapter seed; the sets use ``seed + FEGE_SEEDS[key]`` for their
        Latin hypercube and their images.
    executor, progress, root
        As :func:`micromagnetic_dataset`.

    Returns
    -------
    dict of str to (ndarray (n, 3), ndarray (n, 3, H, W) float32)
        ``"train"``, ``"calibration"``, ``"test"``: parameters and states.

    Raises
    ------
    ValueError
        Unknown profile.
    """
    spec = fege_spec(profile)
    conditions = _fege_conditions(spec)
    out = {}
    for key in ("train", "calibration", "test"):
        s = seed + FEGE_SEEDS[key]
        out[key] = micromagnetic_dataset(profile, latin_hypercube(spec[f"n_{key}"], spec["ranges"], seed=s),
                                         shape=spec["shape"], seed=s, name=f"fege_{key}", executor=executor,
                                         progress=progress, root=root, conditions=conditions)
    return out


def train_fege_estimator(profile, *, seed=0, datasets=None, device="auto", progress=True, root=None):
    """The estimator of the FeGe example: a CNN trained on Lorentz TEM micrographs of FeGe, calibrated.

    The training of :func:`train_estimator` (windows, scaled targets,
    staged Adam, cached and resumable under
    ``data/<profile>/fege_cnn-<hash>/``) on :func:`fege_inputs` of the
    training states, with the input map ``"fresnel_contrast"``; then
    split-conformal intervals (:func:`mag_ml.estimation.calibrate`) at a
    nominal 90 % from the calibration states.

    Parameters
    ----------
    profile : {"quick", "paper"}
    seed : int
    datasets : dict, optional
        :func:`fege_datasets`, if already loaded.
    device, progress, root
        As :func:`train_estimator`.

    Returns
    -------
    Estimator
        ``image_kind="ltem"``, ``cell = FEGE_FILM["dx"]``, calibrated.

    Raises
    ------
    ValueError
        Unknown profile; a checkpoint written for other data or settings.
    """
    spec = fege_spec(profile)
    data = datasets or fege_datasets(profile, seed=seed, progress=progress, root=root)
    scaler = ParameterScaler(*zip(*spec["ranges"]))
    inputs = {key: fege_inputs(*data[key], seed=seed + FEGE_SEEDS[key], profile=profile) for key in data}
    train = input_windows(data["train"][0], inputs["train"], scaler, size=spec["window"], stride=spec["train_stride"])
    validation = input_windows(data["test"][0], inputs["test"], scaler, size=spec["window"], stride=spec["window"])
    directory = artifact_path(profile, "fege_cnn", dict(seed=int(seed), spec=spec), root=root, suffix="")
    torch.manual_seed(seed)
    model = ParameterCNN(channels=1, size=spec["window"], widths=tuple(spec["widths"]), dropout=spec["dropout"],
                         input_map="fresnel_contrast")
    n = len(spec["stages"])
    model, history = _staged_fit(model, spec, [train] * n, validation, [directory / f"stage_{k}" for k in range(n)],
                                 seed=seed, device=device, progress=progress, name="FeGe estimator CNN")
    estimator = Estimator(model, scaler, spec["stride"], history, cell=spec["film"]["dx"], image_kind="ltem")
    return calibrate(estimator, data["calibration"][0], inputs=inputs["calibration"], level=0.9)


@dataclass
class FeGeExample:
    """The FeGe worked example (:func:`fege_example`).

    Attributes
    ----------
    parameters : ndarray (3,)
        The literature parameters :data:`FEGE` the film was simulated with.
    spins : ndarray (3, H, W) float32
        The simulated state (265 K, 0.18 T).
    micrograph : MicroscopeImage
        Its Lorentz TEM image at 2.34 nm/pixel: the stand-in for the paper's experimental image.
    estimate : mag_ml.estimation.Estimate
        The calibrated FeGe estimator's reading of the micrograph.
    rows : list of dict
        :func:`mag_ml.analysis.estimator_errors.error_table` of the estimator and the range centre on the
        test states.
    coverage : ndarray (3,)
        Fraction of test states inside the calibrated interval.
    period : (float, float, float)
        Helix period 4 pi A_ex / D [m]: true, estimated, and the range centre's.
    moment_per_volume : float
        The film's moment at ``B_saturation`` divided by its volume, M_s <m_z> [A/m]: what a magnetometer reports.
    B_saturation : float
        The field of that measurement [T].
    """

    parameters: np.ndarray
    spins: np.ndarray
    micrograph: MicroscopeImage
    estimate: object
    rows: list
    coverage: np.ndarray
    period: tuple
    moment_per_volume: float
    B_saturation: float

    def row(self, predictor, parameter):
        """The test-set error row of ``predictor`` ("CNN" or "range centre") for ``parameter``."""
        return next(r for r in self.rows if r["predictor"] == predictor and r["parameter"] == parameter)


def fege_example(profile, estimator, datasets, *, seed=0, B_saturation=1.5, n_boot=2000, root=None):
    """Simulate FeGe with the literature parameters, image it as Lorentz TEM, estimate, and check.

    The film :data:`FEGE` at 265 K and 0.18 T (``seed + 10``), its
    micrograph (:func:`fege_micrograph`), the calibrated estimate with
    resampling onto the training cell (:func:`mag_ml.estimation.estimate`),
    the estimator's and the range centre's errors on the test states, the
    coverage of the calibrated interval there, the helix period the estimate
    implies, and the magnetometry the paper compares M_s with: the moment of
    the same film at ``B_saturation`` (``seed + 11``) per volume.

    Parameters
    ----------
    profile : {"quick", "paper"}
    estimator : Estimator
        :func:`train_fege_estimator`.
    datasets : dict
        :func:`fege_datasets`.
    seed : int
    B_saturation : float
        Field of the magnetometry [T] (above the FeGe film's saturation field, about 0.85 T with the
        thin-film shape anisotropy).
    n_boot : int
        Bootstrap replicates of the error table.
    root : path, optional

    Returns
    -------
    FeGeExample

    Raises
    ------
    ValueError
        Unknown profile; an estimator that does not read Lorentz TEM images.
    """
    if estimator.image_kind != "ltem" or estimator.halfwidth is None:
        raise ValueError("fege_example needs the calibrated Lorentz TEM estimator of train_fege_estimator")
    spec = fege_spec(profile)
    p = np.array(FEGE, dtype=np.float64)
    conditions = _fege_conditions(spec)
    _, s = micromagnetic_dataset(profile, [p], shape=spec["shape"], seed=seed + FEGE_SEEDS["example"],
                                 name="fege_example", executor="serial", progress=False, root=root,
                                 conditions=conditions)
    micrograph = fege_micrograph(s[0], p[2], seed=seed + FEGE_SEEDS["example"], ltem=spec["ltem"],
                                 film_constants=spec["film"])
    result = estimate(micrograph, estimator, resample=True)
    p_test, s_test = datasets["test"]
    x_test = fege_inputs(p_test, s_test, seed=seed + FEGE_SEEDS["test"], profile=profile)
    pred = predict_inputs(estimator, x_test).mean(axis=1)
    rows = error_table(p_test, {"CNN": pred, "range centre": constant_predictor(spec["ranges"], len(p_test))},
                       spec["ranges"], names=PARAMETER_NAMES, n_boot=n_boot, seed=seed)
    centre = constant_predictor(spec["ranges"], 1)[0]
    period = tuple(float(4 * np.pi * v[0] / v[1]) for v in (p, result.mean, centre))
    saturated = dict(conditions, film=dict(spec["film"], B=float(B_saturation)))
    _, s_sat = micromagnetic_dataset(profile, [p], shape=spec["shape"], seed=seed + FEGE_SEEDS["magnetometry"],
                                     name="fege_magnetometry", executor="serial", progress=False, root=root,
                                     conditions=saturated)
    return FeGeExample(p, s[0], micrograph, result, rows,
                       coverage(p_test, pred, estimator.halfwidth), period,
                       float(p[2] * s_sat[0, 2].mean()), float(B_saturation))
