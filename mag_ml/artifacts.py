"""Profiles and the artifact cache shared by every chapter.

Chapters exchange data only through files under ``data/<profile>/``
(DESIGN.md, "Chapters, profiles and artifacts").  Each file name carries a
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

import contextlib
import dataclasses
import functools
import hashlib
import importlib.metadata
import json
import math
import os
import re
import secrets
import warnings
from pathlib import Path

import numpy as np

__all__ = [
    "PROFILES",
    "check_profile",
    "package_version",
    "data_root",
    "canonical_json",
    "params_hash",
    "artifact_path",
    "atomic_path",
    "move_into_place",
    "atomic_write",
    "load_or_compute",
    "save_npz",
    "load_npz",
    "save_json",
    "load_json",
]

#: Size profiles of the book: ``"quick"`` runs every chapter on 2 CPU cores in
#: minutes, ``"paper"`` uses the source works' sizes (GPU recommended).
PROFILES = ("quick", "paper")

#: Environment variable that overrides the artifact root folder.
DATA_ENV = "MAG_ML_DATA"

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


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
    ValueError
        If ``profile`` is not one of ``PROFILES``.
    """
    if not isinstance(profile, str) or profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    return profile


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


def _to_jsonable(obj):
    """Recursively turn ``obj`` into plain JSON types (see :func:`canonical_json`)."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, np.integer)) and not isinstance(obj, np.bool_):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        if not math.isfinite(value):
            raise ValueError(f"artifact parameters must be finite numbers, got {obj!r}")
        return value
    if isinstance(obj, np.ndarray):
        return _to_jsonable(obj.tolist())
    if isinstance(obj, (list, tuple)):
        return [_to_jsonable(v) for v in obj]
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            if not isinstance(key, str):
                raise TypeError(f"artifact parameter keys must be str, got {key!r}")
            out[key] = _to_jsonable(value)
        return out
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if hasattr(obj, "as_dict"):  # Hamiltonian, AnnealSchedule, ...
        return {"__type__": type(obj).__name__, **_to_jsonable(obj.as_dict())}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {"__type__": type(obj).__name__, **_to_jsonable(dataclasses.asdict(obj))}
    raise TypeError(
        f"cannot use {type(obj).__name__} {obj!r} as an artifact parameter; "
        "allowed: None, bool, int, float, str, lists/tuples/dicts of these, numpy "
        "scalars and arrays, paths, and objects with an as_dict() method"
    )


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
    return json.dumps(_to_jsonable(params), sort_keys=True, separators=(",", ":"), allow_nan=False)


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
        Size profile of the chapter.
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
        Unknown profile, or a name or suffix with other characters.
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


@contextlib.contextmanager
def atomic_path(path):
    """Write a file atomically: yield a temporary path, rename it on success.

    The temporary file lies in the same folder as ``path`` (so the final
    :func:`os.replace` is an atomic rename on the same file system) and keeps
    its suffix (tools that look at the extension still work).  If the body
    raises, the temporary file is removed and ``path`` is left untouched, old
    content included.  The parent folder is created if needed.

    Parameters
    ----------
    path : str or os.PathLike
        Final location.

    Yields
    ------
    pathlib.Path
        Temporary path to write to (it does not exist yet).

    Examples
    --------
    >>> with atomic_path("out.h5") as tmp:            # doctest: +SKIP
    ...     with h5py.File(tmp, "w") as f:
    ...         f["x"] = x
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp{path.suffix}")
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"nothing was written to the temporary file {tmp} for {path}")
        move_into_place(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def move_into_place(src, path):
    """Atomically replace ``path`` by the finished file ``src`` (same folder).

    The data of ``src`` is flushed to disk (``fsync``) before the rename, so a
    crash leaves either the old or the new complete file at ``path``.

    Parameters
    ----------
    src : str or os.PathLike
        Complete file, on the same file system as ``path``.
    path : str or os.PathLike
        Destination; replaced if it exists.
    """
    with open(src, "rb+") as f:
        os.fsync(f.fileno())
    os.replace(src, path)


@contextlib.contextmanager
def atomic_write(path, mode="w", **open_kwargs):
    """Open ``path`` for writing atomically (see :func:`atomic_path`).

    Parameters
    ----------
    path : str or os.PathLike
        Final location.
    mode : {"w", "wb"}
        Text or binary mode.
    **open_kwargs
        Passed to :func:`open` (e.g. ``encoding="utf-8"``).

    Yields
    ------
    file object
        Open on a temporary file; on a clean exit it is closed and renamed to
        ``path``, on an exception it is removed and ``path`` is untouched.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    with atomic_path(path) as tmp:
        with open(tmp, mode, **open_kwargs) as f:
            yield f


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
        When an existing file cannot be loaded and is recomputed (it is
        replaced only once the new one is complete).
    """
    path = Path(path)
    if path.exists() and not recompute:
        try:
            return load(path)
        except (OSError, ValueError, KeyError, EOFError) as err:
            warnings.warn(
                f"artifact {path} could not be loaded ({type(err).__name__}: {err}); recomputing it",
                RuntimeWarning,
                stacklevel=2,
            )
    obj = compute()
    with atomic_path(path) as tmp:
        save(obj, tmp)
    return load(path)


def save_npz(arrays, path):
    """Save a dict of arrays as an uncompressed ``.npz`` file (for :func:`load_or_compute`).

    Parameters
    ----------
    arrays : dict of str to array_like
    path : str or os.PathLike
        Written exactly here (no ``.npz`` is appended).
    """
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def load_npz(path):
    """Load a ``.npz`` file written by :func:`save_npz` as a dict of arrays (no pickles)."""
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def save_json(obj, path):
    """Save ``obj`` as UTF-8 JSON (numpy scalars and arrays converted, NaN rejected)."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(_to_jsonable(obj), f, indent=1, sort_keys=True, allow_nan=False)
        f.write("\n")


def load_json(path):
    """Load a JSON file; a malformed file raises ``ValueError``."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)
