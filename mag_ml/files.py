"""Files written atomically, and the plain formats of small artifacts (npz, JSON).

The base layer of the package: every writer of the book goes through
:func:`atomic_path`, so an interrupted or failed run never leaves a
half-written file and never destroys an old one.  The artifact cache
(:mod:`mag_ml.artifacts`) and every file format of the package build on it.

Integrity and ownership, for files that are read back to continue work
(training checkpoints, weights, finished histories):

* :func:`atomic_path` with ``digest=True`` (or :func:`write_digest` after any
  writer) records the file's SHA-256 beside it in ``<file>.sha256``
  (``sha256sum`` format), and :func:`check_digest` verifies it before the
  file is read; a changed, flipped or truncated byte, a missing or unreadable
  digest raises :class:`CorruptFileError` naming the file, what failed and
  what to do.  A file without a digest (written by an older version) is
  refused, never trusted (whoever knows such a file is intact can adopt it
  with :func:`write_digest`);
* :func:`directory_lock` makes one process at a time the writer of a folder
  (``fcntl.flock`` on ``<folder>/.lock``; the second gets
  :class:`InUseError` at once) and removes the temporary files that a killed
  writer left there (:func:`remove_stale_temporaries`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import json
import math
import os
import re
import secrets
from pathlib import Path

import numpy as np

__all__ = ["atomic_path", "move_into_place", "atomic_write", "to_jsonable", "save_npz", "load_npz", "save_json",
           "load_json", "MismatchError", "differences", "check_matches", "CorruptFileError", "file_digest",
           "digest_path", "write_digest", "check_digest", "InUseError", "directory_lock", "remove_stale_temporaries",
           "DIGEST_SUFFIX", "LOCK_FILE"]


@contextlib.contextmanager
def atomic_path(path, *, digest=False):
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
    digest : bool
        Also record the SHA-256 of the new file in ``<path>.sha256`` (see
        :func:`check_digest`).  The digest file is never behind the file: it
        first lists the new digest next to the old one, then the file is
        renamed, then the old digest is dropped, so a kill at any moment
        leaves a file that verifies (old or new content).

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
        if digest:
            new = file_digest(tmp)
            _write_digests(path, [new, *_recorded_digests(path)])  # old and new content both verify
        move_into_place(tmp, path)
        if digest:
            _write_digests(path, [new])
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


# ----------------------------------------------------------------------------- integrity: SHA-256 beside the file
#: Suffix of the digest file beside a verified file: ``checkpoint.pt`` -> ``checkpoint.pt.sha256``.
DIGEST_SUFFIX = ".sha256"
_HEX = re.compile(r"[0-9a-f]{64}")
_DEFAULT_HINT = "Delete it and rerun (or use another directory)."


class CorruptFileError(ValueError):
    """A file cannot be trusted: its digest does not match, it is missing or unreadable.

    Attributes
    ----------
    path : pathlib.Path
        The file.
    reason : str
        What failed (``"digest mismatch"``, ``"no digest"``, ``"unreadable digest"``, ``"unreadable"``).
    """

    def __init__(self, path, reason, message):
        self.path, self.reason = Path(path), reason
        super().__init__(message)


def digest_path(path):
    """The digest file of ``path``: ``<path>.sha256`` in the same folder."""
    path = Path(path)
    return path.with_name(path.name + DIGEST_SUFFIX)


def file_digest(path, *, block=1 << 20):
    """SHA-256 of a file's bytes, as 64 lowercase hex digits (read in blocks)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(block), b""):
            h.update(chunk)
    return h.hexdigest()


def _write_digests(path, digests):
    """Write ``digests`` (first: the current content) to ``path``'s digest file, atomically, ``sha256sum`` style."""
    unique = list(dict.fromkeys(digests))[:3]
    with atomic_write(digest_path(path), encoding="ascii") as f:
        f.writelines(f"{d}  {Path(path).name}\n" for d in unique)


def _read_digests(side):
    """The digests listed in a digest file; ValueError for a malformed one."""
    lines = Path(side).read_text(encoding="ascii").splitlines()
    digests = [line.split()[0] if line.split() else "" for line in lines]
    if not digests or not all(_HEX.fullmatch(d) for d in digests):
        raise ValueError(f"expected lines '<64 hex digits>  <name>', got {lines[:3]!r}")
    return digests


def _recorded_digests(path):
    """The digests in ``path``'s digest file, or [] when there is none or it is unreadable."""
    try:
        return _read_digests(digest_path(path))
    except (OSError, ValueError):
        return []


def write_digest(path):
    """Record the SHA-256 of the finished file ``path`` in ``<path>.sha256`` (atomically); return it.

    For writers that do not use :func:`atomic_path` with ``digest=True``:
    call it after the file is complete and in place.
    """
    value = file_digest(path)
    _write_digests(path, [value])
    return value


def check_digest(path, *, what="file", hint=_DEFAULT_HINT):
    """Verify ``path`` against its recorded SHA-256 before it is read; return the digest.

    Parameters
    ----------
    path : str or os.PathLike
        An existing file written with a digest (:func:`atomic_path` with
        ``digest=True`` or :func:`write_digest`).
    what : str
        What the file is, for the message (``"checkpoint"``, ...).
    hint : str
        What to do, appended to the message.

    Returns
    -------
    str
        The file's SHA-256 (hex).

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    CorruptFileError
        Naming the file: its digest does not match the recorded one (a
        changed, flipped or truncated byte), the digest file is missing (a
        file from an older version, never trusted) or malformed, or the file
        cannot be read.
    """
    path = Path(path)
    side = digest_path(path)
    if not path.exists():
        raise FileNotFoundError(f"{what} {path} is missing. {hint}")
    if not side.exists():
        raise CorruptFileError(path, "no digest",
                               f"{what} {path} has no SHA-256 digest file {side.name} (it was written by an older "
                               f"version of mag_ml, or the digest was deleted), so its content cannot be verified "
                               f"and it is not used. {hint} (If you know it is intact, record its digest "
                               f"with mag_ml.files.write_digest({str(path)!r}).)")
    try:
        recorded = _read_digests(side)
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise CorruptFileError(path, "unreadable digest",
                               f"{what} {path} cannot be verified: its digest file {side} is unreadable "
                               f"({type(err).__name__}: {err}). {hint}") from err
    try:
        actual = file_digest(path)
    except OSError as err:
        raise CorruptFileError(path, "unreadable", f"{what} {path} cannot be read ({type(err).__name__}: {err}). "
                                                   f"{hint}") from err
    if actual not in recorded:
        raise CorruptFileError(path, "digest mismatch",
                               f"{what} {path} is damaged: digest mismatch, its SHA-256 {actual[:16]}... is not the "
                               f"{recorded[0][:16]}... recorded in {side.name} when it was written (a changed, "
                               f"flipped or truncated byte; size now {path.stat().st_size} bytes). {hint}")
    return actual


# ----------------------------------------------------------------------------- one writer per folder
#: Lock file of :func:`directory_lock`, inside the locked folder.
LOCK_FILE = ".lock"
_TEMPORARY = re.compile(r"\.(.+)\.[0-9a-f]{8}\.tmp(\.[^.]+)?")


class InUseError(RuntimeError):
    """Another process holds the folder's lock (:func:`directory_lock`)."""

    def __init__(self, directory, message):
        self.directory = Path(directory)
        super().__init__(message)


def _is_locked(path):
    """Whether another open file description holds a ``flock`` on ``path`` (HDF5 writers hold one)."""
    try:
        import fcntl
    except ImportError:  # no flock: treat every temporary as possibly in use
        return True
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def remove_stale_temporaries(directory, names=None):
    """Remove the temporary files of :func:`atomic_path` (``.<name>.<8 hex>.tmp<suffix>``) left in ``directory``.

    Such files are leftovers of a writer killed before its rename.  One that
    another process holds locked (an open HDF5 writer) is left alone.

    Parameters
    ----------
    directory : str or os.PathLike
    names : collection of str, optional
        Only temporaries of these final file names (default: all).

    Returns
    -------
    list of pathlib.Path
        The removed files.
    """
    removed = []
    directory = Path(directory)
    if not directory.is_dir():
        return removed
    for entry in directory.iterdir():
        match = _TEMPORARY.fullmatch(entry.name)
        if (match is None or (names is not None and match.group(1) not in names) or not entry.is_file()
                or _is_locked(entry)):
            continue
        with contextlib.suppress(FileNotFoundError):
            entry.unlink()
            removed.append(entry)
    return removed


@contextlib.contextmanager
def directory_lock(directory, *, what="writing", clean=True):
    """Hold the exclusive lock of ``directory`` (created) for the body: one writer per folder.

    The lock is ``fcntl.flock`` on ``<directory>/.lock`` (released by the
    system when the process ends, kill -9 included; the file itself stays).
    A second holder, another process or another thread of this one, fails at
    once.  With ``clean`` the temporary files that a killed writer left in
    the folder are removed once the lock is held.

    Parameters
    ----------
    directory : str or os.PathLike
    what : str
        What the holder does there, for the message (``"training"``).
    clean : bool
        Remove stale temporaries (:func:`remove_stale_temporaries`).

    Raises
    ------
    InUseError
        Another process (or thread) holds the lock.

    Notes
    -----
    In a read-only folder (the lock file cannot be created) the body runs
    without a lock: nothing can be written there by anyone.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    lock = directory / LOCK_FILE
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as err:
        if err.errno not in (errno.EROFS, errno.EACCES, errno.EPERM) or not directory.is_dir():
            raise
        yield directory  # a read-only folder: nobody can write there, so there is no writer to exclude
        return
    try:
        try:
            _lock_fd(fd)
        except OSError as err:
            raise InUseError(directory, f"{directory} is in use: another process is {what} there (it holds the "
                                        f"lock {lock}). Wait for it to finish or stop it, or use another "
                                        f"directory.") from err
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())  # who holds it, for people (the lock is the flock)
        except OSError:
            pass
        if clean:
            remove_stale_temporaries(directory)
        yield directory
    finally:
        os.close(fd)  # releases the lock


try:
    import fcntl

    def _lock_fd(fd):
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except ImportError:  # Windows
    import msvcrt

    def _lock_fd(fd):
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)


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
