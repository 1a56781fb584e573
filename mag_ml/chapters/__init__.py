"""The chapter layer: one module per source work, holding its profiles and cached pipelines.

* :mod:`mag_ml.chapters.evae`: chapters 2-5, the Hamiltonian-guided VAE of
  Kwon et al. (Adv. Sci. 2021): dataset, training series, open-boundary runs;
* :mod:`mag_ml.chapters.estimation`: chapters 6-7, the SI films and the CNN
  parameter estimation of Wang et al. (Adv. Sci. 2020);
* :mod:`mag_ml.chapters.defects`: chapters 8-9, the vacancy statistics and
  defect networks of Eagan, Copus & Iacocca (arXiv 2603.10182).

Every table of sizes is a *profile table*: a dict from profile name to the
settings of that profile, read with :func:`profile_spec`, which raises
:class:`UnknownProfileError` for a profile the table does not have.  The
layers below (physics, io, models, analysis, data, training) know nothing of
profiles.  Importing this package imports no chapter module.
"""

from __future__ import annotations

import copy

__all__ = ["PROFILES", "UnknownProfileError", "check_profile", "profile_spec"]

#: Size profiles of the book: ``"quick"`` runs every chapter on 2 CPU cores in
#: minutes, ``"paper"`` uses the source works' sizes (GPU recommended).
PROFILES = ("quick", "paper")


class UnknownProfileError(ValueError):
    """A profile name that is not one of :data:`PROFILES` (or not in the table asked)."""


def check_profile(profile):
    """Return ``profile`` if it is one of :data:`PROFILES`.

    Parameters
    ----------
    profile : str
        Profile name from a chapter's parameters cell.

    Returns
    -------
    str
        The profile, unchanged.

    Raises
    ------
    UnknownProfileError
        ``profile`` is not one of ``PROFILES`` (a ValueError).
    """
    if not isinstance(profile, str) or profile not in PROFILES:
        raise UnknownProfileError(f"profile must be one of {PROFILES}, got {profile!r}")
    return profile


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
