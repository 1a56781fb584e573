"""The chapter layer: one module per source work, holding its profiles and cached pipelines.

* :mod:`mag_ml.chapters.evae`: chapters 2-5, the Hamiltonian-guided VAE of
  Kwon et al. (Adv. Sci. 2021): dataset, training series, open-boundary runs;
* :mod:`mag_ml.chapters.estimation`: chapters 6-7, the SI films and the CNN
  parameter estimation of Wang et al. (Adv. Sci. 2020);
* :mod:`mag_ml.chapters.defects`: chapters 8-9, the vacancy statistics and
  defect networks of Eagan, Copus & Iacocca (arXiv 2603.10182).

Every table of sizes is a *profile table*: a dict from profile name to the
settings of that profile, read with :func:`profile_spec`, which raises
:class:`~mag_ml.artifacts.UnknownProfileError` for an unknown profile (the
profile names are those of the artifact folders, :data:`mag_ml.artifacts.PROFILES`).  The
layers below (physics, io, models, analysis, data, training) know nothing of
profiles.  Importing this package imports no chapter module.
"""

from __future__ import annotations

import copy

from mag_ml.artifacts import PROFILES, UnknownProfileError, check_profile

__all__ = ["PROFILES", "UnknownProfileError", "check_profile", "profile_spec"]

def profile_spec(table, profile):
    """A deep copy of ``table[profile]``: the one lookup of every profile table.

    Parameters
    ----------
    table : dict of str to dict
        A profile table (keys: profile names).
    profile : str

    Returns
    -------
    dict
        A copy the caller may change.

    Raises
    ------
    UnknownProfileError
        ``profile`` is not one of :data:`PROFILES`.
    """
    check_profile(profile)
    return copy.deepcopy(table[profile])
