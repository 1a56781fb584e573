"""Files written atomically, and the plain formats of small artifacts (npz, JSON).

The base layer of the package: every writer of the book goes through
:func:`atomic_path`, so an interrupted or failed run never leaves a
half-written file and never destroys an old one.  The artifact cache
(:mod:`mag_ml.artifacts`) and every file format of the package build on it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import secrets
from pathlib import Path

import numpy as np

__all__ = ["atomic_path", "move_into_place", "atomic_write", "to_jsonable", "save_npz", "load_npz", "save_json",
           "load_json", "MismatchError", "differences", "check_matches"]


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


def to_jsonable(obj):
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
        return to_jsonable(obj.tolist())
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            if not isinstance(key, str):
                raise TypeError(f"artifact parameter keys must be str, got {key!r}")
            out[key] = to_jsonable(value)
        return out
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if hasattr(obj, "as_dict"):  # Hamiltonian, AnnealSchedule, ...
        return {"__type__": type(obj).__name__, **to_jsonable(obj.as_dict())}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {"__type__": type(obj).__name__, **to_jsonable(dataclasses.asdict(obj))}
    raise TypeError(
        f"cannot use {type(obj).__name__} {obj!r} as an artifact parameter; "
        "allowed: None, bool, int, float, str, lists/tuples/dicts of these, numpy "
        "scalars and arrays, paths, and objects with an as_dict() method"
    )


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
        json.dump(to_jsonable(obj), f, indent=1, sort_keys=True, allow_nan=False)
        f.write("\n")


def load_json(path):
    """Load a JSON file; a malformed file raises ``ValueError``."""
    with open(path, encoding="utf-8") as f:
        return json.load(f)


# ----------------------------------------------------------------------------- "was it made for this?"
class MismatchError(ValueError):
    """A file (dataset, checkpoint, loop) was made for other parameters, data or settings than asked.

    Attributes
    ----------
    path : pathlib.Path
    differences : list of (str, object, object)
        ``(parameter, value in the file, expected value)`` for each difference;
        nested entries are named with dots, e.g. ``"hamiltonian.D"``.
    """

    def __init__(self, path, differences, hint="", what="file"):
        self.path = Path(path)
        self.differences = list(differences)
        items = "; ".join(f"{name} = {got!r} in the file, expected {want!r}" for name, got, want in self.differences)
        super().__init__(f"{what} {self.path} was made with other parameters than asked (other data or settings): "
                         f"{items}.{hint}")


def differences(got, want, prefix=""):
    """Every leaf where two nested structures differ (values or types).

    Parameters
    ----------
    got, want : object
        Nested dicts of JSON-like values.
    prefix : str
        Name of the enclosing entry (used in the recursion).

    Returns
    -------
    list of (str, object, object)
        ``(dotted name, got, want)``; empty when they are equal.
    """
    if isinstance(got, dict) and isinstance(want, dict):
        out = []
        for key in sorted(set(got) | set(want)):
            out += differences(got.get(key, "<missing>"), want.get(key, "<missing>"), f"{prefix}{key}.")
        return out
    return [] if got == want and type(got) is type(want) else [(prefix.rstrip("."), got, want)]


def check_matches(path, stored, expected, *, what="file", hint="", error=MismatchError):
    """The one check that a file was made for the request at hand: raise unless ``stored == expected``.

    Used for datasets, record tables, training checkpoints and hysteresis loops.

    Parameters
    ----------
    path : str or os.PathLike
        The file (named in the message).
    stored, expected : dict
        The parameters recorded in the file and those of the request (JSON-like).
    what : str
        What the file is, for the message ("dataset", "checkpoint", ...).
    hint : str
        What to do, appended to the message.
    error : type
        A :class:`MismatchError` subclass to raise.

    Raises
    ------
    MismatchError
        Naming every differing parameter with both values.
    """
    diffs = differences(stored, expected)
    if diffs:
        raise error(path, diffs, hint, what)
