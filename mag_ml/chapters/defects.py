r"""Chapters 8-9: the (sigma, tau) vacancy dataset and the defect networks, with their profiles.

Dispersions and domain walls of chains with random telegraph vacancies, over a (sigma, tau) grid,
and the cached training of the networks of chapter 9 (:data:`DEFECT_NETWORKS`).

The dataset of Eagan, Copus & Iacocca, arXiv:2603.10182 (2026), made with
the pseudospectral Landau-Lifshitz solver (Rockwell, Hirst, Ostler &
Iacocca, arXiv:2312.14068; :class:`mag_ml.physics.pseudospectral.PSLLChain`)
and the vacancy model of :mod:`mag_ml.physics.defects`.  One record per
(sigma, tau) pair, with many vacancy realisations each:

* dispersion: :func:`mag_ml.physics.magnons.measure_dispersion` on a
  chain of ``n_dispersion`` sites with cut vacancies (m = 0 there), the +z
  ground state excited by white transverse noise and evolved without
  damping, the space-time power spectra averaged over
  ``n_dispersion_realisations`` realisations; ``f`` is the peak frequency
  of the averaged line at each k, ``f_std`` its rms spread about its
  centroid (the broadening), ``f_centroid`` the centroid (which obeys the
  first-moment sum rule of :mod:`mag_ml.physics.magnons`);
* domain walls: :func:`mag_ml.physics.walls.wall_width_ensemble` on a
  chain of ``n_wall`` sites with bridged vacancies and the wall centre
  pinned (the protocol of :mod:`mag_ml.physics.walls`, "Domain walls
  with vacancies"): ``n_realisations`` widths from tanh fits, and the
  profiles averaged.

Material (both parts): A = 10 pJ/m, M_s = 1 MA/m, K_u = 0.5 MJ/m^3 along
z (sqrt(A/K) = 4.47 nm), B = 0, a = 0.5 nm, discrete (nearest-neighbour)
kernel, gamma of :data:`mag_ml.physics.pseudospectral.GAMMA`.

Grid and split
    sigma and tau each take ``n_grid`` log-spaced values (units of a);
    the pairs are their product, ``sigma`` varying slowest.  Test pairs
    (split 2) are the interior grid points with both indices odd: they lie
    between training pairs and are never trained on (held-out (sigma, tau)
    pairs, interpolation).  ``n_validation`` further pairs, drawn with
    ``numpy.random.default_rng([seed, 2])`` from the rest, are validation
    (split 1); the others are training (split 0).

Random streams
    Pair p draws its vacancies with the seeds
    ``SeedSequence([seed, p, 0])`` (dispersion) and ``[seed, p, 1]``
    (walls) and the realisation index r: record p depends only on
    ``(seed, p)`` and the parameters, so the file is the same on any
    executor and after any interruption (:func:`mag_ml.data.generation.generate_records`).

Units: lengths nm, wavevectors rad/nm, frequencies GHz, sigma and tau in
units of a.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..analysis.defect_networks import (TARGET, cnn_loss, dispersion_target, ideal_band, pinn_loss,
                                        split_indices)
from ..artifacts import artifact_path
from ..data.generation import generate_records, load_records
from ..models.defect_cnn import (DefectInverseCNN, DefectMLP, DispersionCNN, LineShapeMLP, WallCNN, inverse_loss,
                                 line_shape_loss, mlp_loss, wall_loss)
from ..models.tfc import DispersionPINN
from ..physics.defects import check_defect_parameters, telegraph_vacancies
from ..physics.magnons import DispersionResult, analytic_dispersion, line_shapes, measure_dispersion
from ..physics.pseudospectral import GAMMA, PSLLChain, wavevectors
from ..physics.rng import check_seed
from ..physics.walls import (DEPINNING_PROTOCOL, WallResult, analytic_wall_width, depinning_ensemble, depinning_field,
                             domain_wall_width, free_wall_detection_field, switching_field, wall_width_ensemble)
from ..training import FitResult, fit
from . import profile_spec

__all__ = ["DEFECT_DATASETS", "DEFECT_MATERIAL", "defect_dataset_spec", "defect_grid", "defect_split",
           "spectrum_edges",
           "defect_chains", "defect_pair_seed", "defect_record", "defect_dataset", "write_defect_dataset",
           "DefectDataset", "load_defect_dataset", "DefectRealisation", "defect_realisation", "WALL_MAX_STEPS",
           "defect_wall_ensemble", "DEFECT_DEMOS", "defect_demo_spec", "DEFECT_NETWORKS", "defect_networks_spec",
           "defect_networks_directory", "train_dispersion_cnn", "train_dispersion_pinn", "train_wall_cnn",
           "inverse_samples", "train_inverse_cnn",
           "DefectNetworks", "train_defect_networks", "DEPINNING_DATASETS", "depinning_dataset_spec",
           "depinning_chain", "depinning_record", "depinning_dataset", "write_depinning_dataset", "DepinningDataset",
           "load_depinning_dataset", "train_depinning_network", "train_line_shape_network"]

#: Material, lattice constant and kernel of the dataset (SI, a in nm).
DEFECT_MATERIAL = dict(A_ex=1e-11, M_s=1e6, K_u=5e5, B=0.0, a=0.5, kernel="discrete", gamma=GAMMA)

#: Sizes per profile.  ``quick``: 7 x 7 pairs (9 held-out test pairs) with
#: sigma in 2..16 and tau in 1..8 (units of a), 8 wall and 8 dispersion
#: realisations each; dispersion chains of 192 sites, 8 mean defect periods
#: sigma + tau at the largest sigma and tau (the quick profile's range is
#: half the paper's, so that the chains stay short), walls on 256 sites.
#: ``paper``: 12 x 12 pairs (sigma 2..64, tau 1..32) with 32 wall and 16
#: dispersion realisations on chains of 512 and 768 sites (8 periods at the
#: largest sigma + tau; the source's scale of hundreds of pairs; minutes per
#: pair on one core).  ``batch`` realisations are simulated together as the
#: blocks of one chain (:class:`~mag_ml.physics.pseudospectral.PSLLChain`,
#: ``blocks``: the same dispersions to rounding, at about a third of the
#: cost for these chains; walls relax until every block has converged).
#: RK4 accuracy (:mod:`mag_ml.physics.pseudospectral`): at ``dt_fraction``
#: 0.1 the band-edge magnon (9 THz here) has a frequency error of 5e-5 and
#: loses 8e-5 of its amplitude per period.  At 0.2 peaks are still exact to
#: a fraction of the 20 GHz bin, but the weaker high-frequency weight lowers
#: spectral centroids (measured for sigma = 8, tau = 4: mean deviation from
#: the sum rule -4.4 % of the shift at 0.2, -2.3 % at 0.1 and at 0.05, the
#: rest being sampling noise), hence 0.1.  Sampling every 8 steps keeps the
#: Nyquist frequency (12.5 THz) above the band.  Relaxing a wall further
#: than ``torque_tol`` = 1e-3 T moves its fitted width by a few 1e-2 nm at
#: most, against a realisation scatter of about 1 nm.  The line shape
#: S(k, f) is kept on ``n_spectrum_bins`` equal frequency bins from 0 to
#: 1.05 times the top of the ideal band (:func:`spectrum_edges`).
DEFECT_DATASETS = {
    "quick": dict(n_grid=7, sigma_range=(2.0, 16.0), tau_range=(1.0, 8.0), n_validation=4,
                  n_realisations=8, n_wall=256, n_dispersion=192, n_dispersion_realisations=8,
                  duration=50.0, dt_fraction=0.1, sample_every=8, amplitude=0.01, torque_tol=1e-3, batch=8,
                  n_spectrum_bins=32),
    "paper": dict(n_grid=12, sigma_range=(2.0, 64.0), tau_range=(1.0, 32.0), n_validation=14,
                  n_realisations=32, n_wall=512, n_dispersion=768, n_dispersion_realisations=16,
                  duration=200.0, dt_fraction=0.1, sample_every=8, amplitude=0.01, torque_tol=1e-4, batch=8,
                  n_spectrum_bins=64),
}


def defect_dataset_spec(profile, seed=0):
    """Every parameter of the (sigma, tau) dataset of a profile.

    Parameters
    ----------
    profile : {"quick", "paper"}
    seed : int
        Seed of all random draws, in [0, 2**63).

    Returns
    -------
    dict
        JSON-able: the sizes of :data:`DEFECT_DATASETS` (``n_grid`` values
        of sigma and of tau in ``sigma_range`` / ``tau_range`` [a];
        ``n_realisations`` wall realisations on ``n_wall`` sites;
        ``n_dispersion_realisations`` on ``n_dispersion`` sites recorded for
        ``duration`` ps every ``sample_every`` RK4 steps of ``dt_fraction``
        times the stability limit after a transverse excitation of rms
        ``amplitude`` rad; relaxation to ``torque_tol`` T; ``batch``
        realisations simulated together),
        the material of :data:`DEFECT_MATERIAL`, ``seed`` and
        ``wall_protocol`` / ``dispersion_vacancies`` naming the models and
        ``records`` the record layout (3: with the per-realisation
        centroids and wall profiles; 4: with the line shapes), so files of
        an older layout are not reused.

    Raises
    ------
    ValueError
        Unknown profile or bad seed.
    """
    return dict(profile_spec(DEFECT_DATASETS, profile), **DEFECT_MATERIAL, seed=check_seed(seed, "seed"),
                wall_protocol="bridged-pinned", dispersion_vacancies="cut", records=4)


def defect_grid(spec):
    """The (sigma, tau) pairs of a spec: product of two log-spaced axes, sigma slowest.

    Parameters
    ----------
    spec : dict
        From :func:`defect_dataset_spec`.

    Returns
    -------
    sigma, tau : ndarray, float64, shape (n_grid**2,)
        Mean occupied and vacant segment lengths [a].
    """
    s = np.geomspace(*spec["sigma_range"], spec["n_grid"])
    t = np.geomspace(*spec["tau_range"], spec["n_grid"])
    sigma, tau = np.meshgrid(s, t, indexing="ij")
    return sigma.ravel(), tau.ravel()


def defect_split(spec):
    """Split of the pairs: 0 train, 1 validation, 2 test (held-out interior pairs).

    Parameters
    ----------
    spec : dict
        From :func:`defect_dataset_spec`.

    Returns
    -------
    ndarray, int8, shape (n_grid**2,)
        Test: grid indices (i, j) both odd and below ``n_grid - 1`` (interior,
        surrounded by training pairs); validation: ``n_validation`` others
        drawn with ``default_rng([seed, 2])``; the rest training.
    """
    n = spec["n_grid"]
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    test = ((i % 2 == 1) & (j % 2 == 1) & (i < n - 1) & (j < n - 1)).ravel()
    split = np.where(test, 2, 0).astype(np.int8)
    rng = np.random.default_rng([spec["seed"], 2])
    split[rng.choice(np.flatnonzero(~test), size=spec["n_validation"], replace=False)] = 1
    return split


def defect_chains(spec):
    """The defect-free template chains of a spec: (dispersion chain, wall chain).

    Parameters
    ----------
    spec : dict
        From :func:`defect_dataset_spec`.

    Returns
    -------
    (PSLLChain, PSLLChain)
        ``n_dispersion`` sites with cut vacancies (for
        :func:`mag_ml.physics.magnons.measure_dispersion`) and
        ``n_wall`` sites with bridged vacancies (for
        :func:`mag_ml.physics.walls.wall_width_ensemble`).
    """
    mat = dict(A_ex=spec["A_ex"], M_s=spec["M_s"], K_u=spec["K_u"], B=spec["B"], kernel=spec["kernel"],
               gamma=spec["gamma"])
    return (PSLLChain(spec["n_dispersion"], spec["a"], **mat, vacancy_model="cut"),
            PSLLChain(spec["n_wall"], spec["a"], **mat, vacancy_model="bridged"))


def spectrum_edges(spec):
    """Frequency bin edges [GHz] of the dataset's line shapes: ``n_spectrum_bins`` bins on [0, 1.05 f_ideal(pi/a)].

    Parameters
    ----------
    spec : dict
        From :func:`defect_dataset_spec`.

    Returns
    -------
    ndarray, float64, shape (n_spectrum_bins + 1,)
    """
    top = analytic_dispersion(np.pi / spec["a"], A_ex=spec["A_ex"], M_s=spec["M_s"], a=spec["a"], K_u=spec["K_u"],
                              B=spec["B"], kernel=spec["kernel"], gamma=spec["gamma"])
    return np.linspace(0.0, 1.05 * float(top), spec["n_spectrum_bins"] + 1)


def defect_pair_seed(seed, pair, stream):
    """Seed of pair ``pair``'s vacancy draws: stream 0 dispersion, 1 walls (depends on these three only).

    Parameters
    ----------
    seed, pair, stream : int
        Non-negative.

    Returns
    -------
    int
        In [0, 2**32).
    """
    return int(np.random.SeedSequence([seed, pair, stream]).generate_state(1, np.uint32)[0])


def defect_record(spec, sigma, tau, pair):
    """Simulate one (sigma, tau) pair: ensemble dispersion and wall widths/profiles.

    Parameters
    ----------
    spec : dict
        From :func:`defect_dataset_spec`.
    sigma, tau : float
        Mean occupied and vacant segment lengths [a], > 0, with
        ``sigma + tau <= n_dispersion``.
    pair : int
        Index of the pair (selects its random streams, :func:`defect_pair_seed`).

    Returns
    -------
    dict of ndarray
        ``f``, ``f_std``, ``f_centroid``, ``linewidth`` (K,) [GHz];
        ``spectrum`` (K, n_spectrum_bins) the line shape of the averaged
        spectrum at each k (:func:`~mag_ml.physics.magnons.line_shapes` on
        :func:`spectrum_edges`, rows summing to 1);
        ``f_centroid_r`` (R_d, K) [GHz] and ``weight_r`` (R_d, K) (arbitrary
        units), each dispersion realisation's centroid and spectral weight
        (``f_centroid`` is their weighted mean); ``widths`` (R,) [nm] and
        ``m_z_r`` (R, X) the relaxed profile of each wall realisation; ``converged`` (R,) int8; ``m_z`` (X,)
        mean wall profile (from -z to +z along x); ``occupied_fraction`` ()
        over the wall chains.

    Raises
    ------
    ValueError
        Bad sigma, tau (not positive, or a chain shorter than sigma + tau).
    """
    dchain, wchain = defect_chains(spec)
    disp = measure_dispersion(dchain, spec["duration"], sigma=sigma, tau=tau,
                              n_realisations=spec["n_dispersion_realisations"],
                              seed=defect_pair_seed(spec["seed"], pair, 0), amplitude=spec["amplitude"],
                              dt=spec["dt_fraction"] * dchain.stable_dt(), sample_every=spec["sample_every"],
                              batch=spec.get("batch", 1))
    walls = defect_wall_ensemble(spec, sigma, tau, seed=defect_pair_seed(spec["seed"], pair, 1), chain=wchain)
    spectrum = line_shapes(disp.freqs, disp.power, spectrum_edges(spec), f_min=0.5 * disp.bin)
    return dict(f=disp.f, f_std=disp.spread, f_centroid=disp.centroid, linewidth=disp.linewidth, spectrum=spectrum,
                f_centroid_r=disp.centroids, weight_r=disp.weights, widths=walls.widths, m_z_r=-walls.m_z, converged=walls.converged.astype(np.int8), m_z=-walls.m_z.mean(axis=0),
                occupied_fraction=np.float64(walls.occupied_fraction))


def _pair_task(spec, indices):
    """generate_records task: records for the given pair indices."""
    sigma, tau = defect_grid(spec)
    return [(p, defect_record(spec, float(sigma[p]), float(tau[p]), p)) for p in indices]


def _fields(spec):
    k, r, x = spec["n_dispersion"] // 2 + 1, spec["n_realisations"], spec["n_wall"] // 2
    rd = spec["n_dispersion_realisations"]
    return {"f": ((k,), "float64"), "f_std": ((k,), "float64"), "f_centroid": ((k,), "float64"),
            "linewidth": ((k,), "float64"), "spectrum": ((k, spec["n_spectrum_bins"]), "float64"),
            "f_centroid_r": ((rd, k), "float64"), "weight_r": ((rd, k), "float64"),
            "m_z_r": ((r, x), "float64"), "widths": ((r,), "float64"), "converged": ((r,), "int8"),
            "m_z": ((x,), "float64"), "occupied_fraction": ((), "float64")}


def defect_dataset(profile, *, seed=0, executor=None, progress=True, root=None):
    """Path of the profile's (sigma, tau) dataset, generating whatever is missing.

    ``data/<profile>/defect_dataset-<hash>.h5`` (hash of every parameter of
    :func:`defect_dataset_spec`), written by
    :func:`mag_ml.data.generation.generate_records`: one record per pair,
    resumable after an interruption, parallel over pairs.

    Parameters
    ----------
    profile : {"quick", "paper"}
    seed : int
    executor : concurrent.futures.Executor or "serial", optional
        Where the pairs run (default: local processes, one per core).
    progress : bool
        tqdm progress bar over pairs.
    root : path, optional
        Artifact root (default ``data/`` or ``$MAG_ML_DATA``).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        Unknown profile or bad seed; see also
        :func:`mag_ml.data.generation.generate_records`.
    """
    spec = defect_dataset_spec(profile, seed)
    path = artifact_path(profile, "defect_dataset", spec, root=root, suffix=".h5")
    return write_defect_dataset(path, spec, executor=executor, progress=progress, desc=f"defect dataset ({profile})")


def _check_grid(spec, chains):
    """ValueError unless the (sigma, tau) ranges are positive and every chain ``spec[name]`` holds the corner."""
    for name in ("sigma_range", "tau_range"):
        lo, hi = spec[name]
        if not 0 < lo <= hi:
            raise ValueError(f"{name} must be (low, high) with 0 < low <= high (units of a), got {spec[name]!r}")
    for name in chains:
        try:
            check_defect_parameters(spec[name], spec["sigma_range"][1], spec["tau_range"][1])
        except ValueError as err:
            raise ValueError(f"{name} = {spec[name]!r}: {err}") from None


def _dataset_path(path_or_profile, profiles, make, **kw):
    """The file of a dataset: ``make(profile, **kw)`` for a profile of ``profiles``, else the path given."""
    if isinstance(path_or_profile, str) and path_or_profile in profiles:
        return make(path_or_profile, **kw)
    if isinstance(path_or_profile, (str, os.PathLike)):
        return Path(path_or_profile)
    raise ValueError(f"path_or_profile must be a profile {tuple(profiles)} or a file path, got {path_or_profile!r}")


def write_defect_dataset(path, spec, *, executor=None, progress=True, desc=None):
    """Generate (or find, or resume) the dataset of any spec at ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        Destination ``.h5``.
    spec : dict
        As from :func:`defect_dataset_spec`, possibly with other sizes (the
        tests use tiny ones); stored in the file and verified on reuse.
    executor, progress
        As in :func:`defect_dataset`.
    desc : str, optional
        Progress-bar label.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        Ranges not positive, a chain shorter than the longest mean occupied
        plus vacant segment (``sigma + tau`` at the grid's corner), a
        ``dt_fraction`` outside (0, 1] (RK4 unstable above the limit), or
        bad sizes; see also :func:`mag_ml.data.generation.generate_records`.
    """
    _check_grid(spec, ("n_dispersion", "n_wall"))
    if not 0 < spec["dt_fraction"] <= 1:
        raise ValueError(f"dt_fraction must be in (0, 1] (a fraction of the RK4 stability limit; above 1 the "
                         f"integration is unstable), got {spec['dt_fraction']!r}")
    return generate_records(path, params=spec, fields=_fields(spec), n_items=spec["n_grid"] ** 2,
                            task=_pair_task, task_args=(spec,), executor=executor, progress=progress, desc=desc)


@dataclass
class DefectDataset:
    """The (sigma, tau) dataset in memory (:func:`load_defect_dataset`).

    P pairs, K wavevectors, X profile points, R wall realisations.

    Attributes
    ----------
    sigma, tau : ndarray, float64, shape (P,)
        Mean occupied and vacant segment lengths [a].
    split : ndarray, int8, shape (P,)
        0 train, 1 validation, 2 test (held-out pairs; :func:`defect_split`).
    k : ndarray, float64, shape (K,)
        Wavevectors 0 .. pi / a [rad/nm].
    f_ideal : ndarray, float64, shape (K,)
        Analytic defect-free dispersion [GHz] (the simulation matches it).
    f : ndarray, float64, shape (P, K)
        Peak frequency of the ensemble-averaged spectrum [GHz].
    f_std : ndarray, float64, shape (P, K)
        Its rms spread about the centroid [GHz] (line broadening).
    f_centroid, linewidth : ndarray, float64, shape (P, K)
        Centroid and FWHM of the averaged line [GHz] (the FWHM is that of
        its sharpest maximum, window-limited in the quick profile).
    spectrum : ndarray, float64, shape (P, K, F)
        Line shape S(k, f): the fraction of the averaged line's power in
        each frequency bin (rows sum to 1).
    spectrum_edges : ndarray, float64, shape (F + 1,)
        Its bin edges [GHz] (:func:`spectrum_edges`).
    f_centroid_r, weight_r : ndarray, float64, shape (P, R_d, K)
        Centroid [GHz] and spectral weight (arbitrary units) of each
        dispersion realisation; ``f_centroid`` is ``sum_r weight_r
        f_centroid_r / sum_r weight_r`` (for bootstraps over realisations).
    x : ndarray, float64, shape (X,)
        Position relative to the pinned wall centre [nm].
    m_z : ndarray, float64, shape (P, X)
        Ensemble-mean relaxed wall profile, from -z to +z along x
        (about tanh(x / width)).
    m_z_r : ndarray, float64, shape (P, R, X)
        The relaxed profile of each wall realisation (same orientation).
    width, width_std : ndarray, float64, shape (P,)
        Mean and standard deviation (ddof = 1) of the widths [nm].
    widths : ndarray, float64, shape (P, R)
        Width of each realisation [nm].
    converged : ndarray, bool, shape (P, R)
        Whether each wall relaxation met the torque tolerance.
    occupied_fraction : ndarray, float64, shape (P,)
        Mean fraction of occupied sites of the wall chains.
    a, A_ex, M_s, K_u, B, gamma : float
        Lattice constant [nm], exchange [J/m], M_s [A/m], K_u [J/m^3],
        field [T], gyromagnetic ratio [rad/(s T)].
    wall_width : float
        sqrt(A_ex / K_u) [nm], the defect-free continuum width.
    params : dict
        Every generation parameter (:func:`defect_dataset_spec`).
    path : pathlib.Path
    """

    sigma: np.ndarray
    tau: np.ndarray
    split: np.ndarray
    k: np.ndarray
    f_ideal: np.ndarray
    f: np.ndarray
    f_std: np.ndarray
    f_centroid: np.ndarray
    linewidth: np.ndarray
    spectrum: np.ndarray
    spectrum_edges: np.ndarray
    f_centroid_r: np.ndarray
    weight_r: np.ndarray
    x: np.ndarray
    m_z: np.ndarray
    m_z_r: np.ndarray
    width: np.ndarray
    width_std: np.ndarray
    widths: np.ndarray
    converged: np.ndarray
    occupied_fraction: np.ndarray
    a: float
    A_ex: float
    M_s: float
    K_u: float
    B: float
    gamma: float
    wall_width: float
    params: dict
    path: Path


def load_defect_dataset(path_or_profile, *, seed=0, executor=None, progress=True, root=None):
    """Load the (sigma, tau) dataset, verified; given a profile, generate it first if missing.

    Parameters
    ----------
    path_or_profile : str or os.PathLike
        ``"quick"`` or ``"paper"`` (then :func:`defect_dataset` with the
        other arguments finds or makes the file), or the path of a file it
        wrote.
    seed, executor, progress, root
        As in :func:`defect_dataset` (used only with a profile).

    Returns
    -------
    DefectDataset

    Raises
    ------
    FileNotFoundError, mag_ml.data.DatasetCorruptError, mag_ml.data.DatasetMismatchError
        Missing, damaged or foreign file.
    ValueError
        Unknown profile.
    """
    path = _dataset_path(path_or_profile, DEFECT_DATASETS, defect_dataset, seed=seed, executor=executor,
                         progress=progress, root=root)
    spec, arr = load_records(path)
    sigma, tau = defect_grid(spec)
    k = wavevectors(spec["n_dispersion"], spec["a"])
    widths = arr["widths"]
    x = (np.arange(spec["n_wall"] // 2) - spec["n_wall"] // 4) * spec["a"]  # as in wall_width_ensemble
    return DefectDataset(
        sigma=sigma, tau=tau, split=defect_split(spec), k=k,
        f_ideal=analytic_dispersion(k, A_ex=spec["A_ex"], M_s=spec["M_s"], a=spec["a"], K_u=spec["K_u"],
                                    B=spec["B"], kernel=spec["kernel"], gamma=spec["gamma"]),
        f=arr["f"], f_std=arr["f_std"], f_centroid=arr["f_centroid"], linewidth=arr["linewidth"],
        spectrum=arr["spectrum"], spectrum_edges=spectrum_edges(spec),
        f_centroid_r=arr["f_centroid_r"], weight_r=arr["weight_r"], x=x,
        m_z=arr["m_z"], m_z_r=arr["m_z_r"], width=widths.mean(axis=1),
        width_std=widths.std(axis=1, ddof=1) if widths.shape[1] > 1 else np.zeros(len(widths)),
        widths=widths, converged=arr["converged"].astype(bool), occupied_fraction=arr["occupied_fraction"],
        a=spec["a"], A_ex=spec["A_ex"], M_s=spec["M_s"], K_u=spec["K_u"], B=spec["B"], gamma=spec["gamma"],
        wall_width=analytic_wall_width(spec["A_ex"], spec["K_u"]), params=spec, path=path)


@dataclass
class DefectRealisation:
    """One vacancy realisation of both chains of a spec, simulated (:func:`defect_realisation`).

    Attributes
    ----------
    sigma, tau : float
        Vacancy parameters [a].
    realisation : int
    occupied : ndarray, bool, shape (n_wall,)
        Occupation of the wall chain.
    x : ndarray, float64, shape (n_wall,)
        Site centres of the wall chain [nm].
    wall : mag_ml.physics.walls.WallResult
        Relaxed pinned wall pair (bridged vacancies) and the fit of the first.
    occupied_dispersion : ndarray, bool, shape (n_dispersion,)
        Occupation of the dispersion chain.
    dispersion : mag_ml.physics.magnons.DispersionResult
        Its spectrum (one realisation), peaks, centroid and sum rule.
    """

    sigma: float
    tau: float
    realisation: int
    occupied: np.ndarray
    x: np.ndarray
    wall: WallResult
    occupied_dispersion: np.ndarray
    dispersion: DispersionResult


def defect_realisation(spec, sigma, tau, *, realisation=0):
    """Simulate one realisation: a wall and a dispersion with the vacancies ``(spec seed, realisation)``.

    For display (the chapter's explorer): the wall chain gets
    ``telegraph_vacancies(n_wall, sigma, tau, seed=spec["seed"], realisation=realisation)``
    and the dispersion chain the same call with ``n_dispersion``; protocols
    as in the dataset (module docstring).

    Parameters
    ----------
    spec : dict
        From :func:`defect_dataset_spec`.
    sigma, tau : float
        Mean occupied and vacant segment lengths [a], > 0, with
        ``sigma + tau`` at most the dispersion chain's length.
    realisation : int
        >= 0.

    Returns
    -------
    DefectRealisation

    Raises
    ------
    ValueError
        Bad ``sigma``, ``tau`` or ``realisation`` (message names it).
    """
    dchain, wchain = defect_chains(spec)
    occ_d = telegraph_vacancies(dchain.n, sigma, tau, seed=spec["seed"], realisation=realisation)
    occ_w = telegraph_vacancies(wchain.n, sigma, tau, seed=spec["seed"], realisation=realisation)
    wall = domain_wall_width(wchain.replace(occupied=occ_w), torque_tol=spec["torque_tol"], max_steps=WALL_MAX_STEPS)
    disp = measure_dispersion(dchain.replace(occupied=occ_d), spec["duration"], seed=spec["seed"],
                              amplitude=spec["amplitude"], dt=spec["dt_fraction"] * dchain.stable_dt(),
                              sample_every=spec["sample_every"])
    return DefectRealisation(sigma=float(sigma), tau=float(tau), realisation=int(realisation), occupied=occ_w,
                             x=wchain.x, wall=wall, occupied_dispersion=occ_d, dispersion=disp)


#: Largest number of relaxation steps of a wall of the dataset (they converge in about 1e3).
WALL_MAX_STEPS = 400_000


def defect_wall_ensemble(spec, sigma, tau, *, seed, n_realisations=None, chain=None):
    """Pinned walls with bridged vacancies over realisations: the wall protocol of the dataset, for any pair.

    :func:`mag_ml.physics.walls.wall_width_ensemble` on the wall chain of
    ``spec`` (:func:`defect_chains`) with its ``torque_tol`` and at most
    :data:`WALL_MAX_STEPS` relaxation steps; :func:`defect_record` uses it
    with the pair's seed, chapter 9 to check an inverse design on new
    realisations.

    Parameters
    ----------
    spec : dict
        From :func:`defect_dataset_spec` (or a :class:`DefectDataset`'s ``params``).
    sigma, tau : float
        Mean occupied and vacant segment lengths [a], > 0, ``sigma + tau <= n_wall``.
    seed : int
        Seed of the vacancy draws (realisation r uses ``(seed, r)``).
    n_realisations : int, optional
        Default ``spec["n_realisations"]``, the dataset's count.
    chain : PSLLChain, optional
        The wall chain, if already built (default ``defect_chains(spec)[1]``).

    Returns
    -------
    mag_ml.physics.walls.WallEnsemble
        ``widths`` (R,) [nm], ``mean``, ``std``, ``converged`` (R,), ``m_z`` (R, X), ``x`` (X,) [nm].

    Raises
    ------
    ValueError
        Bad ``sigma``, ``tau``, ``n_realisations`` or seed (message names it).
    """
    wchain = defect_chains(spec)[1] if chain is None else chain
    n = spec["n_realisations"] if n_realisations is None else n_realisations
    return wall_width_ensemble(wchain, sigma, tau, n_realisations=n, seed=seed, torque_tol=spec["torque_tol"],
                               max_steps=WALL_MAX_STEPS, batch=spec.get("batch", 1))


#: Sizes of chapter 8's illustrations per profile (the dataset's are in
#: :data:`DEFECT_DATASETS`).  ``n_statistics`` sites of each of
#: ``n_statistics_realisations`` telegraph chains for the run-length and
#: spectrum statistics; ``n_integration`` sites followed for
#: ``integration_duration`` ps in the RK4 check; ``n_dispersion_realisations``
#: realisations of the dataset's dispersion chain for the one defective
#: spectrum shown; ``n_wall`` sites of the free and one-vacancy walls and
#: ``n_wall_realisations`` pinned walls with sigma = tau = 1;
#: ``n_packet`` sites followed for ``packet_duration`` ps, a frame every
#: ``packet_sample_every`` steps, in the spin-wave packet animation;
#: ``coarse_factor`` the ratio grid spacing / lattice constant of the
#: grid-independent check (``n_wall`` lattice sites on ``n_wall /
#: coarse_factor`` grid points), its spin waves recorded for
#: ``coarse_duration`` ps (a 6.7 GHz bin, so that 1 % of f(0) = 28 GHz is
#: resolved).  ``paper`` keeps the displayed chains and takes larger ensembles.
DEFECT_DEMOS = {
    "quick": dict(n_statistics=2**15, n_statistics_realisations=16, n_integration=256, integration_duration=20.0,
                  n_dispersion_realisations=8, n_wall=256, n_wall_realisations=6, n_packet=512,
                  packet_duration=24.0, packet_sample_every=200, coarse_factor=4, coarse_duration=150.0),
    "paper": dict(n_statistics=2**15, n_statistics_realisations=64, n_integration=256, integration_duration=20.0,
                  n_dispersion_realisations=32, n_wall=256, n_wall_realisations=32, n_packet=512,
                  packet_duration=24.0, packet_sample_every=200, coarse_factor=4, coarse_duration=150.0),
}


def defect_demo_spec(profile):
    """Sizes of chapter 8's illustrations for a profile (a copy of :data:`DEFECT_DEMOS`).

    Parameters
    ----------
    profile : {"quick", "paper"}

    Returns
    -------
    dict
        Site counts (``n_statistics``, ``n_integration``, ``n_wall``,
        ``n_packet``), realisation counts (``n_statistics_realisations``,
        ``n_dispersion_realisations``, ``n_wall_realisations``), durations
        [ps] (``integration_duration``, ``packet_duration``,
        ``coarse_duration``), ``packet_sample_every`` (RK4 steps per frame)
        and ``coarse_factor`` (grid spacing / lattice constant of the
        grid-independent PS-LL check).

    Raises
    ------
    ValueError
        Unknown profile.
    """
    return profile_spec(DEFECT_DEMOS, profile)


# ----------------------------------------------------------------------------- networks of chapter 9
#: Training sizes per profile.  ``quick``: small networks, a few hundred
#: full-batch epochs and weight decay against over-fitting the 36 training
#: pairs (seconds on 2 CPU cores); ``paper``: larger networks and longer
#: training (the paper's hyper-parameters are not public).
DEFECT_NETWORKS = {
    "quick": dict(cnn=dict(channels=16, layers=4, epochs=200, lr=3e-3, weight_decay=1e-3),
                  pinn=dict(hidden=48, depth=3, epochs=300, lr=3e-3, weight=0.1, n_collocation=32),
                  wall=dict(features=32, channels=16, epochs=200, lr=3e-3, weight_decay=1e-3, width_weight=1.0),
                  inverse=dict(features=32, channels=16, epochs=150, lr=3e-3, weight_decay=1e-3),
                  depinning=dict(hidden=16, depth=2, epochs=100, lr=3e-3, weight_decay=1e-3),
                  line_shape=dict(hidden=64, depth=3, epochs=150, lr=3e-3, weight_decay=1e-4),
                  batch_size=64),
    "paper": dict(cnn=dict(channels=64, layers=6, epochs=3000, lr=1e-3, weight_decay=1e-4),
                  pinn=dict(hidden=128, depth=4, epochs=3000, lr=1e-3, weight=0.1, n_collocation=256),
                  wall=dict(features=128, channels=48, epochs=3000, lr=1e-3, weight_decay=1e-4, width_weight=1.0),
                  inverse=dict(features=128, channels=48, epochs=3000, lr=1e-3, weight_decay=1e-4),
                  depinning=dict(hidden=64, depth=3, epochs=3000, lr=1e-3, weight_decay=1e-4),
                  line_shape=dict(hidden=128, depth=4, epochs=3000, lr=1e-3, weight_decay=1e-4),
                  batch_size=64),
}

def defect_networks_spec(profile):
    """Network and training sizes of chapter 9 for a profile (a copy of :data:`DEFECT_NETWORKS`).

    Parameters
    ----------
    profile : {"quick", "paper"}

    Returns
    -------
    dict
        ``cnn``, ``pinn``, ``wall``, ``inverse``, ``depinning``, ``line_shape`` (each with the network sizes, epochs,
        lr, optionally Adam's ``weight_decay`` and, for the PINN, the residual weight and the number of
        collocation (sigma, tau) pairs per batch) and ``batch_size``.

    Raises
    ------
    ValueError
        Unknown profile.
    """
    return profile_spec(DEFECT_NETWORKS, profile)


# ----------------------------------------------------------------------------- training
def _fit(model, train, validation, loss, spec, part, directory, seed, device, progress, desc):
    return fit(model, train, validation=validation, loss=loss, epochs=spec[part]["epochs"],
               batch_size=spec["batch_size"], lr=spec[part]["lr"], weight_decay=spec[part].get("weight_decay", 0.0),
               directory=directory, seed=seed, device=device, progress=progress, desc=desc)


def train_dispersion_cnn(data, spec, *, target=TARGET, directory=None, seed=0, device="auto", progress=True):
    """Train :class:`DispersionCNN` on the training pairs (validation: split 1).

    Parameters
    ----------
    data : DefectDataset
        ``sigma``, ``tau``, ``split``, ``f_ideal`` (K,) and the target
        dispersion (P, K) [GHz].
    spec : dict
        :func:`defect_networks_spec` (uses ``cnn`` and ``batch_size``).
    target : str
        Name of the dataset's dispersion to learn (default :data:`TARGET`,
        the centroid; ``"f"`` for the peak).
    directory : path, optional
        Checkpoint folder of :func:`mag_ml.training.fit` (resumable).
    seed : int
        Initialisation (``torch.manual_seed``) and shuffling seed.
    device, progress
        As in :func:`mag_ml.training.fit`.

    Returns
    -------
    mag_ml.training.FitResult
    """
    tr, va = split_indices(data, 0), split_indices(data, 1)
    torch.manual_seed(seed)
    c = spec["cnn"]
    model = DispersionCNN(data.f_ideal, data.sigma[tr], data.tau[tr], channels=c["channels"], layers=c["layers"])
    f = dispersion_target(data, target)
    fi = np.broadcast_to(np.asarray(data.f_ideal, dtype=np.float32), f.shape)

    def part(idx):
        return (fi[idx], data.sigma[idx], data.tau[idx], f[idx])

    return _fit(model, part(tr), part(va), cnn_loss, spec, "cnn", directory, seed, device, progress, "dispersion CNN")


def train_dispersion_pinn(data, spec, *, a, kernel="discrete", target=TARGET, weight=None, directory=None, seed=0,
                          device="auto", progress=True):
    """Train :class:`DispersionPINN` (data + residual, :func:`pinn_loss`) on the training pairs.

    Parameters
    ----------
    data : DefectDataset
    spec : dict
        :func:`defect_networks_spec` (uses ``pinn`` and ``batch_size``).
    a : float
        Lattice constant [nm]; with ``kernel`` it fixes the TFC coordinate.
    kernel : {"discrete", "continuum"}
    weight : float, optional
        Residual weight w (default ``spec["pinn"]["weight"]``; 0 trains the
        TFC network on the data alone, for comparison).
    target, directory, seed, device, progress
        As in :func:`train_dispersion_cnn`.

    Returns
    -------
    mag_ml.training.FitResult
    """
    tr, va = split_indices(data, 0), split_indices(data, 1)
    f = dispersion_target(data, target)
    f0, w = ideal_band(data, a=a, kernel=kernel)
    p = spec["pinn"]
    torch.manual_seed(seed)
    model = DispersionPINN(f0, w, a, data.sigma[tr], data.tau[tr], kernel=kernel, hidden=p["hidden"], depth=p["depth"])
    s, t = np.asarray(data.sigma)[tr], np.asarray(data.tau)[tr]
    loss = pinn_loss(data.k, weight=p["weight"] if weight is None else weight, n_collocation=p["n_collocation"],
                     sigma_range=(float(s.min()), float(s.max())), tau_range=(float(t.min()), float(t.max())))

    def part(idx):
        return (data.sigma[idx], data.tau[idx], f[idx])

    return _fit(model, part(tr), part(va), loss, spec, "pinn", directory, seed, device, progress, "dispersion PINN")


def train_wall_cnn(data, spec, *, directory=None, seed=0, device="auto", progress=True):
    """Train the two-branch :class:`WallCNN` jointly on profiles and widths (:func:`wall_loss`).

    Parameters
    ----------
    data : DefectDataset
        ``sigma``, ``tau``, ``split``, ``m_z`` (P, X), ``width`` (P,) [nm].
    spec : dict
        :func:`defect_networks_spec` (uses ``wall`` and ``batch_size``).
    directory, seed, device, progress
        As in :func:`train_dispersion_cnn`.

    Returns
    -------
    mag_ml.training.FitResult
    """
    tr, va = split_indices(data, 0), split_indices(data, 1)
    w = spec["wall"]
    torch.manual_seed(seed)
    model = WallCNN(np.shape(data.m_z)[1], data.sigma[tr], data.tau[tr], width_ref=float(np.mean(data.width[tr])),
                    features=w["features"], channels=w["channels"])

    def loss(model, sigma, tau, m_z, width):
        return wall_loss(model, sigma, tau, m_z, width, width_weight=w["width_weight"])

    def part(idx):
        return (data.sigma[idx], data.tau[idx], data.m_z[idx], data.width[idx])

    return _fit(model, part(tr), part(va), loss, spec, "wall", directory, seed, device, progress, "wall CNN")


def inverse_samples(data, split):
    """The realisations of one split as samples of the inverse network: (m_z (S, X), width (S,), sigma, tau (S,)).

    Parameters
    ----------
    data : DefectDataset
        ``m_z_r`` (P, R, X), ``widths`` (P, R) [nm], ``sigma``, ``tau`` (P,).
    split : {0, 1, 2}

    Returns
    -------
    tuple of ndarray
        One sample per realisation of the split's pairs, S = pairs x R.
    """
    idx = split_indices(data, split)
    m = np.asarray(data.m_z_r)[idx]
    r = m.shape[1]
    return (m.reshape(-1, m.shape[-1]), np.asarray(data.widths)[idx].ravel(), np.repeat(data.sigma[idx], r),
            np.repeat(data.tau[idx], r))


def train_inverse_cnn(data, spec, *, directory=None, seed=0, device="auto", progress=True):
    """Train the two-branch :class:`DefectInverseCNN` on every wall realisation of the training pairs.

    Parameters
    ----------
    data : DefectDataset
        ``m_z_r``, ``widths``, ``sigma``, ``tau``, ``split``.
    spec : dict
        :func:`defect_networks_spec` (uses ``inverse`` and ``batch_size``).
    directory, seed, device, progress
        As in :func:`train_dispersion_cnn`.

    Returns
    -------
    mag_ml.training.FitResult
        Loss: the Gaussian negative log-likelihood (:func:`~mag_ml.models.defect_cnn.inverse_loss`); validation on
        the realisations of split 1.
    """
    w = spec["inverse"]
    train, val = inverse_samples(data, 0), inverse_samples(data, 1)
    torch.manual_seed(seed)
    model = DefectInverseCNN(train[0].shape[1], train[2], train[3], width_ref=float(np.mean(train[1])),
                             features=w["features"], channels=w["channels"])
    return _fit(model, train, val, inverse_loss, spec, "inverse", directory, seed, device, progress, "inverse CNN")


def defect_networks_directory(profile, *, a, kernel="discrete", target=TARGET, seed=0, dataset_key=None, root=None):
    """Artifact folder of the chapter's network checkpoints (one sub-folder per network, e.g. ``cnn/``).

    ``artifact_path(profile, "defect_networks", params, suffix="")`` with
    ``params`` the profile's spec (:func:`defect_networks_spec`), ``seed``,
    ``a``, ``kernel``, ``target`` and ``dataset_key``: a change of any of
    them trains anew.

    Parameters
    ----------
    profile : {"quick", "paper"}
    a : float
        Lattice constant [nm].
    kernel : {"discrete", "continuum"}
    target : str
        Dispersion the networks learn (:data:`TARGET`).
    seed : int
    dataset_key : str, optional
        Identifies the dataset, e.g. its file name (which carries its
        parameter hash).
    root : path, optional
        Artifact root (default :func:`mag_ml.artifacts.data_root`).

    Returns
    -------
    pathlib.Path
        Not created here.

    Raises
    ------
    ValueError
        Unknown profile.
    """
    params = dict(spec=defect_networks_spec(profile), seed=int(seed), a=float(a), kernel=kernel, target=target,
                  dataset=dataset_key)
    return artifact_path(profile, "defect_networks", params, root=root, suffix="")


@dataclass
class DefectNetworks:
    """The five trained networks of chapter 9 (:func:`train_defect_networks`).

    Attributes
    ----------
    cnn : mag_ml.training.FitResult
        :class:`~mag_ml.models.defect_cnn.DispersionCNN` (:func:`train_dispersion_cnn`).
    pinn : mag_ml.training.FitResult
        :class:`~mag_ml.models.tfc.DispersionPINN` with the residual weight of
        the profile (:func:`train_dispersion_pinn`).
    tfc_only : mag_ml.training.FitResult
        The same TFC network trained on the data alone (residual weight 0).
    wall : mag_ml.training.FitResult
        :class:`~mag_ml.models.defect_cnn.WallCNN` (:func:`train_wall_cnn`).
    inverse : mag_ml.training.FitResult
        :class:`~mag_ml.models.defect_cnn.DefectInverseCNN` (:func:`train_inverse_cnn`).
    directory : pathlib.Path
        Checkpoint folder (:func:`defect_networks_directory`), with
        sub-folders ``cnn/``, ``pinn/``, ``tfc_only/``, ``wall/`` and ``inverse/``.
    seconds : dict of str to float
        Wall-clock time of each network's training or loading [s], keyed
        ``"cnn"``, ``"pinn"``, ``"tfc_only"``, ``"wall"``, ``"inverse"``.
    """

    cnn: FitResult
    pinn: FitResult
    tfc_only: FitResult
    wall: FitResult
    inverse: FitResult
    directory: Path
    seconds: dict


def train_defect_networks(profile, data, *, seed=0, target=TARGET, a=None, kernel=None, dataset_key=None,
                          device="auto", progress=True, root=None):
    """Train (or load) the five networks of chapter 9 on the (sigma, tau) dataset, checkpointed.

    With the sizes of :func:`defect_networks_spec`: the dispersion CNN, the
    TFC-PINN (residual weight ``spec["pinn"]["weight"]``), the same TFC
    network with weight 0, the two-branch wall CNN and the inverse two-branch CNN, each with the seed
    ``seed`` (initialisation and shuffling, independent of the order) in its
    own sub-folder of :func:`defect_networks_directory`; an interrupted
    training resumes there and a finished one is loaded (Eagan, Copus &
    Iacocca, arXiv:2603.10182).

    Parameters
    ----------
    profile : {"quick", "paper"}
        Network sizes and artifact folder.
    data : DefectDataset
        From :func:`load_defect_dataset` (or an object with the same
        attributes, then with ``a``, ``kernel`` and ``dataset_key`` given).
    seed : int
    target : str
        Dispersion the networks learn (default :data:`TARGET`, the centroid).
    a : float, optional
        Lattice constant [nm]; default ``data.a``.
    kernel : {"discrete", "continuum"}, optional
        Default ``data.params["kernel"]``.
    dataset_key : str, optional
        Names the dataset in the checkpoint key; default ``data.path.name``
        (which carries the dataset's parameter hash).
    device : str
        ``"auto"``: CUDA when available.
    progress : bool
        tqdm bars over epochs.
    root : path, optional
        Artifact root (default :func:`mag_ml.artifacts.data_root`).

    Returns
    -------
    DefectNetworks

    Raises
    ------
    ValueError
        Unknown profile or target; a checkpoint written for other settings
        (see :func:`mag_ml.training.fit`).
    """
    spec = defect_networks_spec(profile)
    a = data.a if a is None else a
    kernel = data.params["kernel"] if kernel is None else kernel
    dataset_key = data.path.name if dataset_key is None else dataset_key
    directory = defect_networks_directory(profile, a=a, kernel=kernel, target=target, seed=seed,
                                          dataset_key=dataset_key, root=root)
    common = dict(seed=seed, device=device, progress=progress)
    steps = dict(
        cnn=lambda: train_dispersion_cnn(data, spec, target=target, directory=directory / "cnn", **common),
        pinn=lambda: train_dispersion_pinn(data, spec, a=a, kernel=kernel, target=target,
                                           directory=directory / "pinn", **common),
        tfc_only=lambda: train_dispersion_pinn(data, spec, a=a, kernel=kernel, target=target, weight=0.0,
                                               directory=directory / "tfc_only", **common),
        wall=lambda: train_wall_cnn(data, spec, directory=directory / "wall", **common),
        inverse=lambda: train_inverse_cnn(data, spec, directory=directory / "inverse", **common))
    results, seconds = {}, {}
    for name, train in steps.items():
        t0 = time.perf_counter()
        results[name] = train()
        seconds[name] = time.perf_counter() - t0
    return DefectNetworks(**results, directory=directory, seconds=seconds)


# ----------------------------------------------------------------------------- depinning (chapter 9)
#: Sizes of the depinning dataset per profile: the (sigma, tau) grid of
#: :data:`DEFECT_DATASETS` (``n_grid`` values each, the same split rule),
#: ``n_realisations`` cut-vacancy chains of ``n_sites`` sites per pair
#: (simulated together as blocks), ramped at ``ramp_rate`` T/ps with the
#: rest of :data:`mag_ml.physics.walls.DEPINNING_PROTOCOL`.  ``quick``: 7 x 7
#: pairs (9 held out), 4 chains of 128 sites (5 mean defect periods at the
#: largest sigma + tau), a fast ramp of 16 mT/ps up to 3 B_K (about a
#: quarter of a second of CPU a pair); ``paper``: the dispersion grid of the
#: paper profile, 16 chains of 768 sites, 1 mT/ps (some 30 000 steps of 12 288
#: sites, tens of seconds a pair).
DEPINNING_DATASETS = {
    "quick": dict(n_grid=7, sigma_range=(2.0, 16.0), tau_range=(1.0, 8.0), n_validation=4, n_sites=128,
                  n_realisations=4, ramp_rate=1.6e-2, b_max_factor=3.0),
    "paper": dict(n_grid=12, sigma_range=(2.0, 64.0), tau_range=(1.0, 32.0), n_validation=14, n_sites=768,
                  n_realisations=16, ramp_rate=1e-3),
}


def depinning_dataset_spec(profile, seed=0):
    """Every parameter of the depinning dataset of a profile.

    Parameters
    ----------
    profile : {"quick", "paper"}
    seed : int
        Seed of the vacancy draws, in [0, 2**63).

    Returns
    -------
    dict
        JSON-able: :data:`DEPINNING_DATASETS` of the profile, the material of
        :data:`DEFECT_MATERIAL`, the protocol of
        :data:`mag_ml.physics.walls.DEPINNING_PROTOCOL` (its ``ramp_rate``
        replaced by the profile's), ``seed`` and ``records`` (layout 1).

    Raises
    ------
    ValueError
        Unknown profile or bad seed.
    """
    sizes = profile_spec(DEPINNING_DATASETS, profile)
    return dict({**DEPINNING_PROTOCOL, **sizes}, **DEFECT_MATERIAL, seed=check_seed(seed, "seed"), records=1)


def depinning_chain(spec, occupied=None):
    """The one-block chain of the depinning dataset (cut vacancies), optionally with an occupation.

    Parameters
    ----------
    spec : dict
        From :func:`depinning_dataset_spec`.
    occupied : array_like of bool, shape (n_sites,), optional
        Default: no vacancies.

    Returns
    -------
    PSLLChain
    """
    return PSLLChain(spec["n_sites"], spec["a"], A_ex=spec["A_ex"], M_s=spec["M_s"], K_u=spec["K_u"],
                     kernel=spec["kernel"], gamma=spec["gamma"], occupied=occupied, vacancy_model="cut")


def _protocol(spec):
    return {k: spec[k] for k in DEPINNING_PROTOCOL if k != "b_max_factor"} | dict(
        b_max=spec["b_max_factor"] * 2 * spec["K_u"] / spec["M_s"])


def depinning_record(spec, item):
    """One record of the depinning dataset: the depinning field of each realisation of a pair, or a reference.

    Items ``0 .. n_grid**2 - 1`` are the (sigma, tau) pairs of
    :func:`defect_grid` (realisation r of pair p draws
    ``telegraph_vacancies(n_sites, sigma, tau, seed=defect_pair_seed(seed, p, 2), realisation=r)``);
    item ``n_grid**2`` is the single-vacancy reference (one cut vacancy at
    the sites nearest a quarter and three quarters of the chain, one under
    each wall) and ``n_grid**2 + 1`` the defect-free chain; a reference is
    one deterministic chain, its field repeated in every entry.

    Parameters
    ----------
    spec : dict
        From :func:`depinning_dataset_spec`.
    item : int

    Returns
    -------
    dict of ndarray
        ``field_r`` (R,) [T], NaN where a wall did not move by the largest
        field or a chain relaxed to no wall.

    Raises
    ------
    ValueError
        Bad sizes or an item out of range.
    """
    n_pairs = spec["n_grid"] ** 2
    item = int(item)
    r = spec["n_realisations"]
    if 0 <= item < n_pairs:
        sigma, tau = defect_grid(spec)
        res = depinning_ensemble(depinning_chain(spec), float(sigma[item]), float(tau[item]), n_realisations=r,
                                 seed=defect_pair_seed(spec["seed"], item, 2), **_protocol(spec))
        return dict(field_r=res.fields)
    if item == n_pairs:
        n = spec["n_sites"]
        occ = np.ones(n, dtype=bool)
        occ[[n // 4, 3 * n // 4]] = False
        chain = depinning_chain(spec, occ)
    elif item == n_pairs + 1:
        chain = depinning_chain(spec)
    else:
        raise ValueError(f"item must be in [0, {n_pairs + 1}] (pairs, then the two references), got {item}")
    return dict(field_r=np.full(r, depinning_field(chain, **_protocol(spec)).fields[0]))


def _depinning_task(spec, indices):
    """generate_records task: depinning records for the given items."""
    return [(i, depinning_record(spec, i)) for i in indices]


def depinning_dataset(profile, *, seed=0, executor=None, progress=True, root=None):
    """Path of the profile's depinning dataset, generating whatever is missing.

    ``data/<profile>/depinning_dataset-<hash>.h5``, written by
    :func:`mag_ml.data.generation.generate_records` (resumable, parallel
    over items, any executor).

    Parameters
    ----------
    profile : {"quick", "paper"}
    seed : int
    executor : concurrent.futures.Executor or "serial", optional
        Where the items run (default: local processes, one per core).
    progress : bool
        Progress bar over items.
    root : path, optional
        Artifact root.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        Unknown profile or bad seed.
    """
    spec = depinning_dataset_spec(profile, seed)
    path = artifact_path(profile, "depinning_dataset", spec, root=root, suffix=".h5")
    return write_depinning_dataset(path, spec, executor=executor, progress=progress,
                                   desc=f"depinning dataset ({profile})")


def write_depinning_dataset(path, spec, *, executor=None, progress=True, desc=None):
    """Generate (or find, or resume) the depinning dataset of any spec at ``path``.

    Parameters
    ----------
    path : str or os.PathLike
    spec : dict
        As from :func:`depinning_dataset_spec`, possibly with other sizes.
    executor, progress, desc
        As in :func:`depinning_dataset`.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        Ranges not positive or a chain shorter than sigma + tau at the
        grid's corner; see also :func:`mag_ml.data.generation.generate_records`.
    """
    _check_grid(spec, ("n_sites",))
    return generate_records(path, params=spec, fields={"field_r": ((spec["n_realisations"],), "float64")},
                            n_items=spec["n_grid"] ** 2 + 2, task=_depinning_task, task_args=(spec,),
                            executor=executor, progress=progress, desc=desc)


@dataclass
class DepinningDataset:
    """The depinning dataset in memory (:func:`load_depinning_dataset`); P pairs, R realisations.

    Attributes
    ----------
    sigma, tau : ndarray, float64, shape (P,)
        Mean occupied and vacant segment lengths [a].
    split : ndarray, int8, shape (P,)
        0 train, 1 validation, 2 test (:func:`defect_split`).
    fields : ndarray, float64, shape (P, R)
        Depinning field of each realisation [T] (NaN: not depinned, or no wall).
    field : ndarray, float64, shape (P,)
        Their mean over the finite entries [T].
    single_vacancy, defect_free : float
        Reference fields [T]: one cut vacancy under each wall, and no
        vacancy (the free wall's detection field under the ramp).
    switching : float
        Stoner-Wohlfarth field of the tilted ramp [T] (the slow-ramp limit
        of the single-vacancy field).
    free_wall : float
        :func:`mag_ml.physics.walls.free_wall_detection_field` of the
        protocol [T] (the defect-free reference it should match).
    params : dict
    path : pathlib.Path
    """

    sigma: np.ndarray
    tau: np.ndarray
    split: np.ndarray
    fields: np.ndarray
    field: np.ndarray
    single_vacancy: float
    defect_free: float
    switching: float
    free_wall: float
    params: dict
    path: Path


def load_depinning_dataset(path_or_profile, *, seed=0, executor=None, progress=True, root=None):
    """Load the depinning dataset, verified; given a profile, generate it first if missing.

    Parameters
    ----------
    path_or_profile : str or os.PathLike
        ``"quick"`` or ``"paper"``, or the path of a file
        :func:`write_depinning_dataset` wrote.
    seed, executor, progress, root
        As in :func:`depinning_dataset` (with a profile only).

    Returns
    -------
    DepinningDataset

    Raises
    ------
    FileNotFoundError, mag_ml.data.DatasetCorruptError, mag_ml.data.DatasetMismatchError
        Missing, damaged or foreign file.
    ValueError
        Unknown profile.
    """
    path = _dataset_path(path_or_profile, DEPINNING_DATASETS, depinning_dataset, seed=seed, executor=executor,
                         progress=progress, root=root)
    spec, arr = load_records(path)
    sigma, tau = defect_grid(spec)
    p = sigma.size
    fields = arr["field_r"]
    finite = np.isfinite(fields[:p])
    with np.errstate(invalid="ignore"):  # a pair without a finite field has a NaN mean
        mean = np.where(finite, fields[:p], 0.0).sum(1) / finite.sum(1)
    return DepinningDataset(
        sigma=sigma, tau=tau, split=defect_split(spec), fields=fields[:p], field=mean,
        single_vacancy=float(fields[p, 0]), defect_free=float(fields[p + 1, 0]),
        switching=switching_field(spec["K_u"], spec["M_s"], spec["tilt"]),
        free_wall=free_wall_detection_field(ramp_rate=spec["ramp_rate"],
                                            distance=analytic_wall_width(spec["A_ex"], spec["K_u"]),
                                            alpha=spec["alpha"], width=analytic_wall_width(spec["A_ex"], spec["K_u"]),
                                            gamma=spec["gamma"]),
        params=spec, path=path)


def train_depinning_network(profile, data, *, seed=0, device="auto", progress=True, root=None):
    """Train (or load) the :class:`~mag_ml.models.defect_cnn.DefectMLP` of the depinning field on the training pairs.

    Targets: each training pair's mean depinning field [T]; validation:
    split 1; sizes ``defect_networks_spec(profile)["depinning"]``;
    checkpoints in ``data/<profile>/depinning_network-<hash>/`` keyed by
    the spec, the seed and the dataset's file name (resumable, loaded when
    finished).

    Parameters
    ----------
    profile : {"quick", "paper"}
    data : DepinningDataset
    seed : int
    device, progress
        As in :func:`mag_ml.training.fit`.
    root : path, optional
        Artifact root.

    Returns
    -------
    mag_ml.training.FitResult

    Raises
    ------
    ValueError
        Unknown profile, or training pairs without a finite mean field.
    """
    tr, va = split_indices(data, 0), split_indices(data, 1)
    if not np.all(np.isfinite(data.field[np.concatenate([tr, va])])):
        raise ValueError("every training and validation pair needs a finite mean depinning field (NaN: no "
                         "realisation depinned by the largest field); raise b_max_factor")
    return _fit_cached(profile, "depinning", data, data.field,
                       lambda d: DefectMLP(data.sigma[tr], data.tau[tr], data.field[tr], hidden=d["hidden"],
                                           depth=d["depth"]),
                       mlp_loss, seed, device, progress, root, "depinning MLP")


def _fit_cached(profile, part, data, target, build, loss, seed, device, progress, root, desc):
    """Fit ``build(spec[part])`` on (sigma, tau, target) of splits 0 / 1, in ``<part>_network-<hash>/`` (resumable)."""
    spec = defect_networks_spec(profile)
    tr, va = split_indices(data, 0), split_indices(data, 1)
    directory = artifact_path(profile, f"{part}_network", dict(spec=spec[part], seed=int(seed),
                                                               dataset=data.path.name), root=root, suffix="")
    torch.manual_seed(seed)
    model = build(spec[part])
    target = np.asarray(target)

    def split(idx):
        return (data.sigma[idx], data.tau[idx], target[idx])

    return _fit(model, split(tr), split(va), loss, spec, part, directory, seed, device, progress, desc)


def train_line_shape_network(profile, data, *, seed=0, device="auto", progress=True, root=None):
    """Train (or load) the :class:`~mag_ml.models.defect_cnn.LineShapeMLP` of S(k, f) on the training pairs.

    Targets: the line shapes ``data.spectrum`` (P, K, F); loss
    :func:`~mag_ml.models.defect_cnn.line_shape_loss`; validation: split 1;
    sizes ``defect_networks_spec(profile)["line_shape"]``; checkpoints in
    ``data/<profile>/line_shape_network-<hash>/`` keyed by the spec, the
    seed and the dataset's file name (resumable, loaded when finished).

    Parameters
    ----------
    profile : {"quick", "paper"}
    data : DefectDataset
    seed : int
    device, progress
        As in :func:`mag_ml.training.fit`.
    root : path, optional
        Artifact root.

    Returns
    -------
    mag_ml.training.FitResult

    Raises
    ------
    ValueError
        Unknown profile.
    """
    tr = split_indices(data, 0)
    return _fit_cached(profile, "line_shape", data, data.spectrum,
                       lambda d: LineShapeMLP(data.sigma[tr], data.tau[tr], data.k, np.shape(data.spectrum)[-1],
                                              a=data.a, kernel=data.params["kernel"], hidden=d["hidden"],
                                              depth=d["depth"]),
                       line_shape_loss, seed, device, progress, root, "line-shape MLP")
