"""Profiles and the artifact cache shared by every chapter.

Chapters exchange data only through files under ``data/<profile>/``
(README, "Where things go").  Each file name carries a
short hash of every parameter that made it, so a changed parameter gives a new
file and an unchanged one is loaded instead of recomputed.  Every writer goes
through :func:`atomic_path`: the file is written under a temporary name in the
same folder and renamed into place only when complete, so an interrupted or
failed run never leaves a half-written artifact and never destroys an old one.

Typical use in a chapter::

    path = artifact_path(profile, "relaxed_states", params, suffix=".npz")
    arrays = load_or_compute(path, compute, save=save_npz, load=load_npz)
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
import re
import warnings
from pathlib import Path

from .files import atomic_path, check_digest, to_jsonable

__all__ = [
    "PROFILES",
    "UnknownProfileError",
    "check_profile",
    "package_version",
    "data_root",
    "canonical_json",
    "params_hash",
    "artifact_path",
    "load_or_compute",
]

#: Size profiles of the book: ``"quick"`` runs every chapter on 2 CPU cores in
#: minutes, ``"paper"`` uses the source works' sizes (GPU recommended).
PROFILES = ("quick", "paper")


class UnknownProfileError(ValueError):
    """A profile name that is not one of :data:`PROFILES` (a ValueError)."""


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


#: Environment variable that overrides the artifact root folder.
DATA_ENV = "MAG_ML_DATA"

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@functools.lru_cache(maxsize=1)
def package_version():
    """Installed version of the ``mag_ml`` package, e.g. ``"0.1.0"``.

    Returns ``"0+unknown"`` when the package metadata is not installed.
    """
    try:
        return importlib.metadata.version("mag_ml")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


def data_root(root=None):
    """Folder that holds the ``<profile>/`` artifact folders.

    Parameters
    ----------
    root : str or os.PathLike, optional
        Explicit root; wins over everything else.

    Returns
    -------
    pathlib.Path
        ``root`` if given; else the environment variable ``MAG_ML_DATA`` if
        set; else the repository's ``data/`` folder when the package runs from
        a source checkout (the folder next to ``pyproject.toml`` above the
        package, found whatever the current directory is, e.g. ``book/`` under
        papermill); else ``./data`` in the current directory.  The folder is
        not created here.
    """
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    repo = Path(__file__).resolve().parent.parent
    if (repo / "pyproject.toml").is_file():
        return repo / "data"
    return Path.cwd() / "data"


def canonical_json(params):
    """Canonical JSON text of a parameter structure (the input of the hash).

    Keys are sorted, separators fixed, tuples become lists, numpy scalars and
    arrays become Python numbers and lists, objects with ``as_dict()`` (such as
    ``Hamiltonian`` and ``AnnealSchedule``) become their dict plus their type
    name.  ``1`` and ``1.0`` are different parameters (``"1"`` vs ``"1.0"``).

    Parameters
    ----------
    params : dict or any value accepted as above

    Returns
    -------
    str

    Raises
    ------
    TypeError
        For a value of an unsupported type or a non-string dict key.
    ValueError
        For a NaN or infinite number.
    """
    return json.dumps(to_jsonable(params), sort_keys=True, separators=(",", ":"), allow_nan=False)


def params_hash(params, *, length=16, version=None):
    """Short SHA-256 hex digest of ``params`` and the package version.

    Parameters
    ----------
    params : dict
        Every parameter that determines the artifact (see :func:`canonical_json`).
    length : int, optional
        Number of hex characters kept (default 16, i.e. 64 bits).
    version : str, optional
        Package version mixed into the hash; default :func:`package_version`.
        Artifacts made by another version of ``mag_ml`` therefore get another
        name and are recomputed.

    Returns
    -------
    str
        ``length`` lowercase hex characters; the same for the same parameters
        in any process, on any machine.
    """
    if not isinstance(length, int) or not 4 <= length <= 64:
        raise ValueError(f"length must be an integer in [4, 64], got {length!r}")
    version = package_version() if version is None else str(version)
    text = canonical_json({"params": params, "mag_ml_version": version})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def artifact_path(profile, name, params, *, root=None, suffix=".h5"):
    """Path of the artifact ``name`` made with ``params`` in ``profile``.

    Parameters
    ----------
    profile : {"quick", "paper"}
        Size profile of the chapter (its folder).
    name : str
        Short descriptive name, letters, digits, ``_``, ``-`` and ``.``, e.g.
        ``"skyrmion_states"``.
    params : dict
        Every parameter that made the artifact (hashed with
        :func:`params_hash`; the profile and name are part of the path).
    root : str or os.PathLike, optional
        Artifact root, default :func:`data_root`.
    suffix : str, optional
        File suffix including the dot, e.g. ``".h5"``, ``".npz"``, ``".json"``
        (default ``".h5"``).

    Returns
    -------
    pathlib.Path
        ``<root>/<profile>/<name>-<hash><suffix>``.  Nothing is created.

    Raises
    ------
    ValueError
        Unknown profile (:class:`UnknownProfileError`), or a name or suffix with other characters.
    """
    check_profile(profile)
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(
            f"name must start with a letter or digit and contain only letters, digits, "
            f"'_', '-' and '.', got {name!r}"
        )
    if not isinstance(suffix, str) or not (suffix == "" or (suffix[:1] == "." and _NAME_RE.match(suffix[1:]))):
        raise ValueError(f"suffix must be empty or a dot followed by letters/digits, got {suffix!r}")
    return data_root(root) / profile / f"{name}-{params_hash(params)}{suffix}"


def load_or_compute(path, compute, *, save, load, recompute=False):
    """Load the artifact at ``path`` if it is there and loads, else compute it.

    Parameters
    ----------
    path : str or os.PathLike
        Artifact location, normally from :func:`artifact_path` (so that the
        file name encodes the parameters).
    compute : callable
        ``compute() -> obj``; called only when the file is missing or unreadable.
    save : callable
        ``save(obj, tmp_path)`` writes ``obj`` to the given path (a temporary
        path; the rename is done here, atomically).
    load : callable
        ``load(path) -> obj``; should raise (``OSError``, ``ValueError``,
        ``KeyError``, ``EOFError``) for a corrupted or mismatched file.
    recompute : bool, optional
        Compute and replace even if a valid file exists.

    Returns
    -------
    object
        ``load(path)``: also after a computation the object is read back from
        the file, so a first run and a rerun return exactly the same data
        (e.g. the same float32 rounding).

    Raises
    ------
    Exception
        Whatever ``compute`` or ``save`` raise; in that case an existing file
        at ``path`` is left untouched and no partial file remains.

    Warns
    -----
    RuntimeWarning
        When an existing file fails its SHA-256 digest (written beside it,
        :func:`mag_ml.files.check_digest`: a changed byte, a truncation, a file
        from an older version) or cannot be loaded, and is recomputed (it is
        replaced only once the new one is complete).
    """
    path = Path(path)
    if path.exists() and not recompute:
        try:
            check_digest(path, what="artifact")
            return load(path)
        except (OSError, ValueError, KeyError, EOFError) as err:
            warnings.warn(
                f"artifact {path} could not be loaded ({type(err).__name__}: {err}); recomputing it",
                RuntimeWarning,
                stacklevel=2,
            )
    obj = compute()
    with atomic_path(path, digest=True) as tmp:
        save(obj, tmp)
    check_digest(path, what="artifact")
    return load(path)
