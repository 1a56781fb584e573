r"""Micromagnetic image datasets of the parameter estimator (Wang et al., Adv. Sci. 2020).

Wang et al. (arXiv 1908.05829) simulate a film of 4 nm x 4 nm x 1 nm cells
at T = 300 K in B = 0.18 T along z for a grid of exchange stiffness
:math:`A_{ex}`, interfacial DMI :math:`D` and saturation magnetisation
:math:`M_s`: a 5 x 5 x 5 training grid (random seed 1), test set A on the
same 125 parameter sets with seed 2, and test set B on the 4 x 4 x 4
midpoints of the grid, never seen in training.

The grid of this book
---------------------
The paper quotes :math:`A_{ex}` = 1-5 pJ/m and D = 1-5 mJ/m^2.  With
4 nm cells and t = 1 nm that range cannot be imaged by a finite-difference
model at 300 K (:func:`mag_ml.physics.micromagnetics.characteristic_lengths`):

* the reduced temperature :math:`k_BT/(2A_{ex}t)` is 0.41-2.1, at or above
  the ordering crossover of the lattice (about 0.7-1): the film would be
  paramagnetic noise;
* the reduced DMI :math:`D\,\Delta x/(2A_{ex})` reaches 10, a spiral period
  :math:`4\pi A_{ex}/D` of 2.5 nm, below one cell.

We therefore keep the paper's cell, field, temperature and the structure of
the grid, and choose ranges with the same physics resolved by the cells:

==============  ==================  ==================================================
parameter       range               why
==============  ==================  ==================================================
A_ex            10-20 pJ/m          :math:`k_BT/(2A_{ex}t)` = 0.21-0.10: ordered but
                                    visibly thermal (the noise carries A_ex)
D               3-5 mJ/m^2          :math:`D\Delta x/(2A_{ex})` = 0.3-1.0: period
                                    :math:`4\pi A_{ex}/D` = 25-84 nm, 6-21 cells
M_s             0.6-1.0 MA/m        straddles the spin reorientation (below)
K_u             0.4 MJ/m^3 (fixed)  perpendicular anisotropy of a Co/Pt-type stack
==============  ==================  ==================================================

Why :math:`K_u`: with thin-film demagnetisation (the local shape
anisotropy :math:`-\mu_0 M_s^2/2`) and :math:`K_u = 0`, a film with
:math:`M_s \gtrsim 0.5` MA/m is easy-plane and 0.18 T barely tilts it out
of the plane: the :math:`m_z` images are grey and hardly depend on
:math:`M_s`.  Room-temperature skyrmion multilayers are tuned close to the
spin reorientation, :math:`K_{eff} = K_u - \mu_0M_s^2/2 \approx 0`
(Soumyanarayanan et al., Nat. Mater. 16, 898 (2017)).  With
:math:`K_u` = 0.4 MJ/m^3 the grid crosses :math:`K_{eff} = 0` at
:math:`M_s` = 0.80 MA/m, so that :math:`M_s` changes both the Zeeman energy
(reduced field :math:`2A_{ex}M_sB/D^2` = 0.09-0.8) and the anisotropy
(:math:`2A_{ex}K_{eff}/D^2` = -1 to +0.8).  Over the grid the
images go from labyrinths (large D/A_ex) to isolated skyrmions and bubbles
in a +z background (small D/A_ex, large M_s), the morphologies of the
paper's Figures 1-3.

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

import numpy as np

from mag_ml.artifacts import artifact_path, check_profile
from mag_ml.data.generation import generate_records
from mag_ml.data.storage import load_records
from mag_ml.physics.micromagnetics import FILM, FILM_TEMPERATURE, MicromagneticParameters, thermal_state

__all__ = ["PARAMETER_NAMES", "PARAMETER_UNITS", "GRID_RANGES", "FILM", "TEMPERATURE", "ESTIMATOR_PROFILES",
           "estimator_spec", "parameter_grid", "midpoint_grid", "film", "micromagnetic_images",
           "micromagnetic_dataset", "estimator_datasets"]

#: The estimated parameters, in the order of every ``(..., 3)`` array.
PARAMETER_NAMES = ("A_ex", "D", "M_s")
#: Their SI units.
PARAMETER_UNITS = ("J/m", "J/m^2", "A/m")
#: (low, high) of each parameter over the grid (module notes: why these).
GRID_RANGES = ((10e-12, 20e-12), (3e-3, 5e-3), (0.6e6, 1.0e6))
#: The fixed part of the film (the paper's cell and field, our K_u: module notes)
#: and the temperature of every image [K], shared with chapter 6.
TEMPERATURE = FILM_TEMPERATURE

#: Sizes per profile.  ``shape``: image cells; ``n_grid``: grid points per
#: parameter (train and test A ``n_grid**3`` sets, test B ``(n_grid-1)**3``
#: midpoints); ``n_anneal``/``n_sweeps``: Monte Carlo sweeps of
#: :func:`thermal_state`; ``window``/``stride``: sliding windows; ``channels``:
#: 1 = m_z images; ``epochs``, ``batch_size``, ``lr``: Adam training;
#: ``sizes``: image sides of the size study (paper Fig. 4: 128-1024);
#: ``hysteresis``: the M(B) loop of Fig. 1.
ESTIMATOR_PROFILES = {
    "quick": dict(shape=(96, 96), n_grid=3, n_anneal=1000, n_sweeps=200, window=32, stride=8, channels=1,
                  epochs=8, batch_size=32, lr=1e-3, sizes=(32, 48, 64, 96, 128),
                  hysteresis=dict(shape=(48, 48), B_max=1.5, n_steps=21, n_sweeps=100)),
    "paper": dict(shape=(512, 512), n_grid=5, n_anneal=5000, n_sweeps=1000, window=32, stride=8, channels=1,
                  epochs=20, batch_size=256, lr=5e-4, sizes=(128, 256, 512, 1024),
                  hysteresis=dict(shape=(256, 256), B_max=1.5, n_steps=61, n_sweeps=500)),
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
        (:data:`FILM`) and ``T`` (:data:`TEMPERATURE`).

    Raises
    ------
    ValueError
        Unknown profile.
    """
    check_profile(profile)
    spec = {k: (dict(v) if isinstance(v, dict) else v) for k, v in ESTIMATOR_PROFILES[profile].items()}
    return dict(spec, ranges=GRID_RANGES, film=dict(FILM), T=TEMPERATURE)


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
                          progress=True, root=None):
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
    p = np.asarray(parameters, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 3 or len(p) == 0 or not np.all(np.isfinite(p)):
        raise ValueError(f"parameters must be a finite (n, 3) array of (A_ex, D, M_s), got shape {p.shape}")
    for k in range(len(p)):
        film(p[k], spec["film"])  # raises for a negative A_ex or M_s, naming it
    shape = tuple(int(s) for s in (spec["shape"] if shape is None else shape))
    settings = dict(source="Wang et al. 2020 (arXiv 1908.05829) grid, mag_ml thermal_state", shape=shape,
                    T=spec["T"], film=spec["film"], n_anneal=spec["n_anneal"], n_sweeps=spec["n_sweeps"],
                    seed=int(seed), parameters=p.tolist(), parameter_names=list(PARAMETER_NAMES))
    path = artifact_path(profile, name, settings, root=root, suffix=".h5")
    generate_records(path, params=settings, fields={"spins": ((3, *shape), "float32"), "parameters": ((3,), "float64")},
                     n_items=len(p), task=micromagnetic_images, task_args=(settings,), executor=executor,
                     progress=progress, desc=name)
    _, arrays = load_records(path, settings)
    return arrays["parameters"], arrays["spins"]


def estimator_datasets(profile, *, seed=0, executor=None, progress=True, root=None):
    """The paper's three datasets for ``profile``: training, test A, test B.

    Training: :func:`parameter_grid` with image seed ``seed + 1`` (paper:
    seed 1); test A: the same grid, seed ``seed + 2`` (paper: 2); test B:
    :func:`midpoint_grid`, seed ``seed + 3``.

    Returns
    -------
    dict
        ``{"train": (parameters, spins), "test_a": ..., "test_b": ...}`` as
        from :func:`micromagnetic_dataset`.
    """
    n = estimator_spec(profile)["n_grid"]
    grids = {"train": (parameter_grid(n), seed + 1), "test_a": (parameter_grid(n), seed + 2),
             "test_b": (midpoint_grid(n), seed + 3)}
    return {key: micromagnetic_dataset(profile, grid, seed=s, name=f"estimator_{key}", executor=executor,
                                       progress=progress, root=root)
            for key, (grid, s) in grids.items()}
