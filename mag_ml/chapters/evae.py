"""The E-VAE dataset of each profile: one definition for every chapter that uses it.

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

from mag_ml.artifacts import artifact_path, check_profile
from mag_ml.data.generation import generate_dataset
from mag_ml.data.storage import dataset_params
from mag_ml.physics.hamiltonian import Hamiltonian
from mag_ml.physics.monte_carlo import AnnealSchedule

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
    check_profile(profile)
    return dict(hamiltonian=EVAE_HAMILTONIAN, seed=seed, **EVAE_PROFILES[profile])


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
