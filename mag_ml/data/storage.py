"""HDF5 files of spin states: layout, verification on open and on load, and a torch-free reader.

One file holds one dataset of ``N`` annealed spin states, the E-VAE dataset of
Kwon et al., Adv. Sci. 2021 (39,300 metastable states of the 2D Heisenberg
model with interfacial DMI, 30,000 / 5,000 / 4,300 for training / validation /
test) or its quick-profile miniature.

Layout (format ``"mag_ml.spin_dataset"``, version 2)
-----------------------------------------------------
``spins``
    ``(N, 3, H, W)``, channels first, unit vectors, row index y.  Stored as
    ``float32`` by default (the learning chapters train in float32 and the
    paper-size file halves to 7.7 GB); ``float64`` on request.  The simulation
    itself runs in float64.
``energy``
    ``(N,)`` float64, total energy of each state in units of J, computed with
    :meth:`mag_ml.physics.hamiltonian.Hamiltonian.energy` on the float64 state
    *before* it is rounded for storage.
``energy_per_spin``
    ``(N,)`` float64, ``energy / (H * W)``.
``topological_charge``
    ``(N,)`` float64, Berg-Luscher charge of the float64 state (an integer up to
    rounding on a periodic lattice).
``digest``
    ``(N,)`` uint64, BLAKE2b-64 digest of state ``i``'s index and stored bytes
    (``spins[i]``, ``energy[i]``, ``energy_per_spin[i]``,
    ``topological_charge[i]``), written with the state.
``done``
    ``(N,)`` bool, per-state completion record (a generation run that is
    interrupted and restarted skips the states marked done).
``split``
    ``(N,)`` int8: 0 = train, 1 = validation, 2 = test.  The splits are
    contiguous blocks in this order; state ``i`` is Monte Carlo sample ``i``,
    and samples are independent, so a block is as random as any subset.

Every dataset is chunked (``spins`` one state per chunk) and written with
HDF5's ``fletcher32`` checksum filter, so a flipped bit on disk makes the read
fail.  File attributes: ``format``, ``format_version``, ``mag_ml_version``,
``params_json`` (canonical JSON of the creation parameters, see
:func:`dataset_params`), ``params_hash`` (of those parameters and the version)
and, for people reading the file with other tools, one flat attribute per
parameter (``hamiltonian.D``, ``schedule.T_end``, ``seed``, ``shape``,
``n_states``, ``splits.train``, ...).

Verification
------------
:func:`open_dataset` checks the header (format, version, ``params_hash``,
every readable attribute against ``params_json``), the layout, the checksum
filters and the checksums of the per-state records.  :func:`load_states`,
:func:`load_observables` and :func:`mag_ml.data.generation.generate_dataset`
(before it returns a file as complete) also read every state they use, in
blocks of 256, and check that the spins are finite unit vectors, that their
bytes match their digest (this catches edits written through h5py, which
recompute the HDF5 checksums: a changed value, swapped states) and that the
energy and topological charge recomputed from the stored spins with the stored
Hamiltonian agree with the stored ones (within the rounding of the storage
dtype).  Anything else raises :class:`DatasetCorruptError` naming the file and
what failed.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
from pathlib import Path

import h5py
import numba
import numpy as np

from mag_ml.artifacts import canonical_json, package_version, params_hash
from mag_ml.files import MismatchError, atomic_path, check_matches
from mag_ml.checks import check_int
from mag_ml.physics.hamiltonian import Hamiltonian
from mag_ml.physics.lattice import check_shape
from mag_ml.physics.monte_carlo import anneal
from mag_ml.physics.rng import check_seed

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "SPLITS",
    "SPIN_DTYPES",
    "DatasetError",
    "DatasetMismatchError",
    "DatasetCorruptError",
    "DatasetBusyError",
    "dataset_params",
    "create_dataset_file",
    "write_state",
    "open_dataset",
    "read_params",
    "split_slice",
    "load_states",
    "SplitStates",
    "load_observables",
    "item_digest",
    "unit_spin_flags",
]

FORMAT = "mag_ml.spin_dataset"
#: Version 2: fletcher32 checksums on every dataset and a per-state digest (version 1 files are refused).
FORMAT_VERSION = 2
#: Split names, in the order of their blocks and of their int8 codes in ``split``.
SPLITS = ("train", "validation", "test")
#: Allowed storage dtypes of ``spins``.
SPIN_DTYPES = ("float32", "float64")
_OBSERVABLES = ("energy", "energy_per_spin", "topological_charge")
_UNIT_ATOL = {"float32": 1e-5, "float64": 1e-10}
#: Unit roundoff of the storage dtypes (the rounding of a float64 state stored in them).
_ROUNDOFF = {"float32": 2.0 ** -24, "float64": 2.0 ** -53}
#: States (records) read and verified at a time: verification never holds a whole file in memory.
_BLOCK = 256
#: Largest block read at once (bytes), and largest float64 working copy the norm check makes.
_BLOCK_BYTES = 64 << 20
#: Rows per chunk of the one-dimensional per-state datasets (8 kB of float64).
_ROW_CHUNK = 1024
_HEADER_ATTRS = ("format", "format_version", "mag_ml_version", "params_json", "params_hash")
_REMEDY = (" Delete the file and rerun the generation, or pass overwrite=True to generate_dataset / "
           "generate_records to regenerate it.")
_OLD_FORMAT = " (written by an older mag_ml, before checksums: regenerate it)"


class DatasetError(ValueError):
    """A spin-dataset file cannot be used as asked."""


class DatasetMismatchError(DatasetError, MismatchError):
    """The file was made with other parameters than the ones expected (see :class:`mag_ml.files.MismatchError`)."""


class DatasetCorruptError(DatasetError):
    """The file is unreadable, not a spin dataset, inconsistent, edited or incomplete.

    The message names the file and what failed (a checksum, a digest, a
    recomputed energy, an attribute, ...) and says what to do.
    """


class DatasetBusyError(OSError):
    """The file is open for writing in another process (HDF5's file lock is held).

    Not a :class:`DatasetError`: nothing is wrong with the file; wait for the
    other process to finish or stop it.
    """


def _corrupt(path, what):
    """A :class:`DatasetCorruptError` naming the file, what failed and what to do."""
    return DatasetCorruptError(f"{path}: {what}.{_REMEDY}")


# -- parameters ---------------------------------------------------------------
def _as_plain_dict(obj, name):
    if hasattr(obj, "as_dict"):
        obj = obj.as_dict()
    if not isinstance(obj, dict):
        raise TypeError(f"{name} must be an object with as_dict() or a dict, got {type(obj).__name__}")
    return json.loads(canonical_json(obj))


def dataset_params(*, hamiltonian, shape, schedule, n_states, splits=None, seed, dtype="float32", relax_tol=None):
    """Validated, canonical creation parameters of a spin dataset.

    The returned dict is what is stored in and compared against a file.

    Parameters
    ----------
    hamiltonian : Hamiltonian or dict
        Model (its ``as_dict()``: J, D, B, K in units of J, dmi, boundary).
    shape : tuple of int
        Lattice shape ``(H, W)``, two even integers >= 2.
    schedule : AnnealSchedule or dict
        Annealing schedule (its ``as_dict()``).
    n_states : int
        Number of states N >= 1 (paper: 39,300).
    splits : tuple of 3 int or dict, optional
        State counts ``(train, validation, test)`` or a dict with those keys;
        they must sum to ``n_states`` (paper: 30,000 / 5,000 / 4,300).
        Default: all states in ``train``.
    seed : int
        Base seed in ``[0, 2**63)``; state i is sample i of this seed.
    dtype : {"float32", "float64"}
        Storage dtype of ``spins``.
    relax_tol : float, optional
        Convergence threshold of the final T = 0 relaxation of each anneal
        (largest spin change in a sweep); default: the default of
        :func:`mag_ml.physics.monte_carlo.anneal`.  The value used is recorded.

    Returns
    -------
    dict
        ``{"hamiltonian": dict, "schedule": dict, "shape": [H, W], "n_states": N,
        "splits": {"train": .., "validation": .., "test": ..}, "seed": int,
        "spins_dtype": str, "relax_tol": float}`` with plain JSON types.

    Raises
    ------
    ValueError
        Odd or non-positive lattice sides, ``n_states < 1``, negative or
        wrong-length splits, splits not summing to ``n_states``, a bad seed,
        dtype or ``relax_tol``.
    TypeError
        ``hamiltonian`` or ``schedule`` without ``as_dict()``.
    """
    h, w = check_shape(shape)
    n_states = check_int(n_states, "n_states", minimum=1)
    if splits is None:
        splits = (n_states, 0, 0)
    if isinstance(splits, dict):
        if set(splits) != set(SPLITS):
            raise ValueError(f"splits must have the keys {SPLITS}, got {sorted(splits)}")
        splits = tuple(splits[k] for k in SPLITS)
    try:
        splits = tuple(splits)
    except TypeError:
        raise ValueError(f"splits must be three counts (train, validation, test), got {splits!r}") from None
    if len(splits) != 3:
        raise ValueError(f"splits must be three counts (train, validation, test), got {splits!r}")
    counts = [check_int(c, f"splits[{k!r}]", minimum=0) for k, c in zip(SPLITS, splits)]
    if sum(counts) != n_states:
        raise ValueError(f"splits must sum to n_states = {n_states}, got {tuple(counts)} (sum {sum(counts)})")
    try:
        dtype_name = np.dtype(dtype).name
    except TypeError:
        dtype_name = repr(dtype)
    if dtype_name not in SPIN_DTYPES:
        raise ValueError(f"dtype must be one of {SPIN_DTYPES}, got {dtype!r}")
    if relax_tol is None:
        relax_tol = inspect.signature(anneal).parameters["relax_tol"].default
    if (not isinstance(relax_tol, (int, float, np.integer, np.floating)) or isinstance(relax_tol, bool)
            or not math.isfinite(relax_tol) or relax_tol <= 0):
        raise ValueError(f"relax_tol must be a positive finite number, got {relax_tol!r}")
    return {
        "hamiltonian": _as_plain_dict(hamiltonian, "hamiltonian"),
        "schedule": _as_plain_dict(schedule, "schedule"),
        "shape": [h, w],
        "n_states": n_states,
        "splits": dict(zip(SPLITS, counts)),
        "seed": check_seed(seed, "seed"),
        "spins_dtype": dtype_name,
        "relax_tol": float(relax_tol),
    }


def _flatten(d, prefix=""):
    for key, value in d.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


# -- integrity primitives ---------------------------------------------------------
def item_digest(index, arrays):
    """Digest of one stored item: its index and the bytes of its values, in order.

    BLAKE2b with an 8-byte digest over ``index`` (int64) and each array's
    little-endian, C-ordered bytes in the dtype it is stored in.  Written
    beside every state and record and compared on verification, so any value
    changed after writing (even one written through h5py, which recomputes the
    HDF5 checksums) and any item moved to another index is detected.

    Parameters
    ----------
    index : int
        Item index in the file.
    arrays : sequence of array_like
        The item's values, already in their storage dtypes.

    Returns
    -------
    numpy.uint64
    """
    h = hashlib.blake2b(int(index).to_bytes(8, "little", signed=True), digest_size=8, person=b"mag_ml.item")
    for a in arrays:
        a = np.asarray(a)
        if a.dtype.byteorder == ">":
            a = a.astype(a.dtype.newbyteorder("<"))
        h.update(np.ascontiguousarray(a).tobytes())
    return np.frombuffer(h.digest(), dtype="<u8")[0]


def _chunk_rows(item_bytes, n):
    """Items per chunk: about 64 kB, at least one, at most ``n``."""
    return int(max(1, min(n, 65536 // max(1, item_bytes))))


def _block_rows(item_bytes, limit=_BLOCK_BYTES):
    """Items per verification block: at most :data:`_BLOCK` and ``limit`` bytes, at least one."""
    return int(max(1, min(_BLOCK, limit // max(1, item_bytes))))


def unit_spin_flags(spins, atol, *, max_bytes=_BLOCK_BYTES):
    """Per state: are all spins finite unit vectors within ``atol``?  Without a float64 copy of the batch.

    The norms are computed in float64 on sub-blocks of at most ``max_bytes``
    of float64 (about one 1024 x 1024 state each at the default), so the
    check of a whole split or a 1024 x 1024 batch needs only that much extra
    memory; the result does not depend on ``max_bytes``.

    Parameters
    ----------
    spins : ndarray, float32 or float64, shape (n, 3, H, W)
    atol : float
        Allowed ``| |S| - 1 |`` (storage rounding), > 0.
    max_bytes : int
        Size of the float64 working copy, >= 1 (one state at least).

    Returns
    -------
    ndarray of bool, shape (n,)

    Raises
    ------
    ValueError
        ``spins`` not of shape (n, 3, H, W), or a bad ``max_bytes``.
    """
    if spins.ndim != 4 or spins.shape[1] != 3:
        raise ValueError(f"spins must have shape (n, 3, H, W), got {spins.shape}")
    check_int(max_bytes, "max_bytes", minimum=1)
    rows = int(max(1, max_bytes // max(1, 8 * int(np.prod(spins.shape[1:])))))
    flags = np.empty(len(spins), dtype=bool)
    with np.errstate(invalid="ignore", over="ignore"):  # damaged values may be NaN or huge: flagged
        for a in range(0, len(spins), rows):
            s64 = spins[a:a + rows].astype(np.float64)
            norm = np.sqrt(np.einsum("nchw,nchw->nhw", s64, s64))
            flags[a:a + rows] = (np.isfinite(s64).all(axis=(1, 2, 3))
                                 & (np.abs(norm - 1.0) <= atol).all(axis=(1, 2)))
    return flags


def _create_checked(f, name, shape, dtype, *, chunks=None, **kw):
    """``f.create_dataset`` with the fletcher32 checksum filter (chunked; auto chunks for zero-size items)."""
    if chunks is not None and 0 in shape[1:]:
        chunks = True
    return f.create_dataset(name, shape, dtype=dtype, chunks=chunks or True, fletcher32=True, **kw)


def _read(f, path, name, sel=(), what=""):
    """``f[name][sel]``; a failing checksum (or any read error) becomes :class:`DatasetCorruptError`."""
    try:
        return f[name][sel]
    except OSError as err:
        raise _corrupt(path, f"dataset {name!r}{what} fails its HDF5 checksum (fletcher32) or cannot be read: "
                             f"bytes of the file changed on disk ({err})") from None


def _read_rows(f, path, name, a, b):
    """Items ``[a, b)`` of ``name``; on a read failure, name the first item whose chunk fails."""
    try:
        return f[name][a:b]
    except OSError:
        for i in range(a, b):
            _read(f, path, name, i, f", item {i},")
        return _read(f, path, name, np.s_[a:b], f" (items {a} to {b - 1})")


def _plain(value):
    """An attribute value as plain Python (lists, str, numbers) for comparison."""
    if isinstance(value, (list, tuple)):
        value = np.asarray(value)  # as h5py stores a list: one array, numbers promoted together
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()] if value.ndim else _plain(value.item())
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.generic):
        return value.item()
    return value


def _same_attr(got, want):
    try:
        return json.dumps(_plain(got), sort_keys=True) == json.dumps(_plain(want), sort_keys=True)
    except (TypeError, ValueError):
        return False


@numba.njit(inline="always")
def _solid_angle(ax, ay, az, bx, by, bz, cx, cy, cz):
    """Signed solid angle of the triangle (a, b, c), as in :mod:`mag_ml.physics.topology`."""
    num = ax * (by * cz - bz * cy) + ay * (bz * cx - bx * cz) + az * (bx * cy - by * cx)
    den = 1.0 + (ax * bx + ay * by + az * bz) + (bx * cx + by * cy + bz * cz) + (cx * ax + cy * ay + cz * az)
    return 2.0 * np.arctan2(num, den)


@numba.njit(cache=True, nogil=True)
def _charges(spins, periodic):
    """Berg-Luscher charge of each state of a (n, 3, H, W) block (float32 or float64), computed in float64.

    The same triangulation as :func:`mag_ml.physics.topology.charge_density`
    (triangles (i, i + x, i + x + y) and (i, i + x + y, i + y)), compiled: the
    verification of a paper-size file must not take minutes.
    """
    n, _, h, w = spins.shape
    out = np.empty(n)
    rows = h if periodic else h - 1
    cols = w if periodic else w - 1
    for k in range(n):
        q = 0.0
        for y in range(rows):
            y1 = (y + 1) % h
            for x in range(cols):
                x1 = (x + 1) % w
                ax, ay, az = float(spins[k, 0, y, x]), float(spins[k, 1, y, x]), float(spins[k, 2, y, x])
                bx, by, bz = float(spins[k, 0, y, x1]), float(spins[k, 1, y, x1]), float(spins[k, 2, y, x1])
                cx, cy, cz = float(spins[k, 0, y1, x1]), float(spins[k, 1, y1, x1]), float(spins[k, 2, y1, x1])
                dx, dy, dz = float(spins[k, 0, y1, x]), float(spins[k, 1, y1, x]), float(spins[k, 2, y1, x])
                q += _solid_angle(ax, ay, az, bx, by, bz, cx, cy, cz)
                q += _solid_angle(ax, ay, az, cx, cy, cz, dx, dy, dz)
        out[k] = q / (4.0 * np.pi)
    return out


def _tolerances(hamiltonian, n_sites, dtype_name):
    """Largest honest differences between the stored observables and those recomputed from the stored spins.

    The observables were computed on the float64 state; the stored spins are
    that state rounded to ``dtype`` (unit roundoff u).  The energy changes by
    at most ``sum_i |h_i| |dS_i| <= n_sites h_max u`` (h_max bounds the
    effective field), the charge by a similar sum of solid-angle derivatives;
    both get a margin of 4 (energy) and 32 (charge) and a floor for float64
    summation order.  ``energy[i] += 1`` or a swapped state is far outside.
    """
    u = _ROUNDOFF[dtype_name]
    h_max = max(1.0, 4 * abs(hamiltonian.J) + 4 * abs(hamiltonian.D) + abs(hamiltonian.B) + 2 * abs(hamiltonian.K))
    return n_sites * h_max * (4 * u + 1e-13), n_sites * (32 * u + 1e-13) + 1e-9


def _check_readable(f, path, readable):
    """Every flat readable attribute must equal its canonical value in ``params_json`` (else it was edited)."""
    for key, value in _flatten(readable):
        want = "null" if value is None else value
        if key not in f.attrs:
            raise _corrupt(path, f"the readable attribute {key!r} is missing (its canonical value is {want!r})")
        got = f.attrs[key]
        if not _same_attr(got, want):
            raise _corrupt(path, f"the readable attribute {key} = {_plain(got)!r} disagrees with the canonical "
                                 f"parameter record params_json ({key} = {want!r}): edited or damaged")


# -- writing --------------------------------------------------------------------
def _write_header(f, fmt, version, stored, readable):
    """The attributes every mag_ml HDF5 format has: format, versions, ``stored`` as JSON and its hash.

    ``readable`` is also written as flat attributes, one per (nested) key, for
    people reading the file with other tools; ``params_json`` is canonical and
    the readable attributes are verified against it on open.
    """
    flat = _readable_attrs(readable)
    f.attrs["format"] = fmt
    f.attrs["format_version"] = version
    f.attrs["mag_ml_version"] = package_version()
    f.attrs["params_json"] = canonical_json(stored)
    f.attrs["params_hash"] = params_hash(stored)
    for key, value in flat.items():
        f.attrs[key] = "null" if value is None else value


def _readable_attrs(readable):
    """The flat readable attributes of ``readable``; refuse names that would overwrite the header."""
    flat = dict(_flatten(readable))
    clash = sorted(set(flat) & set(_HEADER_ATTRS))
    if clash:
        raise ValueError(f"parameter names {clash} are reserved for the file header; rename them")
    return flat


def _create_exclusive(path):
    """Create a new HDF5 file, failing (``FileExistsError``) if anything exists at ``path``.

    Never ``"w"``: truncating a path that another process holds would destroy
    its work before HDF5's lock refuses the second writer.
    """
    return h5py.File(path, "x")


def create_dataset_file(path, params):
    """Create an empty spin-dataset file (all ``done`` False) and return it open.

    Parameters
    ----------
    path : str or os.PathLike
        File to create; it must not exist (created exclusively, HDF5 mode
        ``"x"``: callers write to a work file and rename it, see
        :func:`mag_ml.data.generation.generate_dataset`).
    params : dict
        From :func:`dataset_params`.

    Returns
    -------
    h5py.File
        Open in read/write mode; the caller closes it.

    Raises
    ------
    FileExistsError
        Something exists at ``path`` (possibly another process's work file).
    """
    n = params["n_states"]
    h, w = params["shape"]
    f = _create_exclusive(path)
    try:
        _write_header(f, FORMAT, FORMAT_VERSION, params, params)
        rows = (min(n, _ROW_CHUNK),)
        spins = _create_checked(f, "spins", (n, 3, h, w), params["spins_dtype"], chunks=(1, 3, h, w))
        spins.attrs["description"] = "unit spin vectors, channels (Sx, Sy, Sz), row index y, column index x"
        for name, unit in (("energy", "J"), ("energy_per_spin", "J per site")):
            ds = _create_checked(f, name, (n,), "float64", chunks=rows, fillvalue=np.nan)
            ds.attrs["units"] = f"{unit} (reduced units, float64 state before storage rounding)"
        ds = _create_checked(f, "topological_charge", (n,), "float64", chunks=rows, fillvalue=np.nan)
        ds.attrs["definition"] = "Berg-Luscher lattice charge of the float64 state"
        ds = _create_checked(f, "digest", (n,), "uint64", chunks=rows, fillvalue=0)
        ds.attrs["definition"] = "BLAKE2b-64 of the index and stored bytes of spins, energy, energy_per_spin, " \
                                 "topological_charge (mag_ml.data.storage.item_digest)"
        _create_checked(f, "done", (n,), bool, chunks=rows, fillvalue=False)
        codes = np.repeat(np.arange(3, dtype=np.int8), [params["splits"][k] for k in SPLITS])
        ds = _create_checked(f, "split", (n,), "int8", chunks=rows, data=codes)
        ds.attrs["labels"] = ",".join(SPLITS)
        f.flush()
    except BaseException:  # the file is ours (created exclusively): leave nothing half-made behind
        f.close()
        Path(path).unlink(missing_ok=True)
        raise
    return f


def write_state(f, index, spins, *, energy, topological_charge):
    """Store state ``index`` with its digest and mark it done (data first, then the flag, both flushed).

    Parameters
    ----------
    f : h5py.File
        Open for writing (from :func:`create_dataset_file` or
        :func:`open_dataset` with ``mode="r+"``).
    index : int
        State index in ``[0, N)``.
    spins : ndarray, float64, shape (3, H, W)
        The state as simulated; cast to the file's dtype here.
    energy : float
        Total energy of the float64 state, units of J.
    topological_charge : float
        Topological charge of the float64 state.

    Raises
    ------
    ValueError
        Index out of range, wrong shape, or non-finite spins, energy or charge
        (nothing is stored).
    """
    n, _, h, w = f["spins"].shape
    index = check_int(index, "index", minimum=0)
    if index >= n:
        raise ValueError(f"index must be in [0, {n}), got {index}")
    spins = np.asarray(spins)
    if spins.shape != (3, h, w):
        raise ValueError(f"spins must have shape {(3, h, w)}, got {spins.shape}")
    stored = np.ascontiguousarray(spins, dtype=f["spins"].dtype)
    energy, charge = np.float64(energy), np.float64(topological_charge)
    per_spin = np.float64(energy / (h * w))
    if not (np.isfinite(stored).all() and np.isfinite(energy) and np.isfinite(charge)):
        raise ValueError(f"state {index}: non-finite spins, energy ({energy}) or topological charge ({charge}); "
                         "not stored")
    f["spins"][index] = stored
    f["energy"][index] = energy
    f["energy_per_spin"][index] = per_spin
    f["topological_charge"][index] = charge
    f["digest"][index] = item_digest(index, (stored, energy, per_spin, charge))
    f.flush()
    f["done"][index] = True
    f.flush()


# -- reading and verification ----------------------------------------------------
def read_params(f):
    """Creation parameters stored in an open file, as returned by :func:`dataset_params`.

    Raises
    ------
    DatasetCorruptError
        Missing or malformed ``params_json`` attribute.
    """
    try:
        return json.loads(f.attrs["params_json"])
    except (KeyError, TypeError, ValueError) as err:
        raise _corrupt(f.filename, f"no readable params_json attribute ({err})") from None


def _check_header(f, path, fmt, format_version, readable=lambda params: params):
    """Check the attributes of :func:`_write_header`; return the stored parameters and mag_ml version."""
    attrs = f.attrs
    if attrs.get("format") != fmt:
        raise DatasetCorruptError(f"{path} is not a {fmt} file (format attribute {_plain(attrs.get('format'))!r})."
                                  f"{_REMEDY}")
    got = _plain(attrs.get("format_version"))
    if got != format_version or isinstance(got, bool):
        old = _OLD_FORMAT if isinstance(got, int) and got < format_version else ""
        raise DatasetCorruptError(f"{path} has format_version {got!r}; this mag_ml reads {format_version}{old}."
                                  f"{_REMEDY}")
    params = read_params(f)
    version = attrs.get("mag_ml_version")
    if attrs.get("params_hash") != params_hash(params, version=version):
        raise _corrupt(path, "params_hash does not match the stored parameters (edited or damaged)")
    _check_readable(f, path, readable(params))
    return params, version


def _check_datasets(f, path, want):
    """Every dataset of ``want`` ({name: (shape, dtype)}) present, of that shape and dtype, with checksums."""
    for name, (shape, dtype) in want.items():
        if name not in f or not isinstance(f[name], h5py.Dataset):
            raise _corrupt(path, f"no dataset {name!r}")
        ds = f[name]
        if ds.shape != tuple(shape) or ds.dtype != np.dtype(dtype):
            raise _corrupt(path, f"dataset {name!r} has shape {ds.shape} and dtype {ds.dtype}, expected "
                                 f"{tuple(shape)} and {np.dtype(dtype)}")
        if not ds.fletcher32:
            raise _corrupt(path, f"dataset {name!r} was written without checksums{_OLD_FORMAT}")


def _check_expected(path, stored, version, expected, check_version, hint):
    """Raise :class:`DatasetMismatchError` naming every stored parameter that differs from ``expected``."""
    if expected is None:
        return
    want, got = dict(expected), dict(stored)
    if check_version:
        want["mag_ml_version"], got["mag_ml_version"] = package_version(), version
    check_matches(path, got, json.loads(canonical_json(want)), what="dataset", hint=hint, error=DatasetMismatchError)


def _open_checked(path, mode, verify, what):
    """Open an HDF5 file and run ``verify(f, path)`` on it; close it again if anything is wrong."""
    path = Path(path)
    if mode not in ("r", "r+"):
        raise ValueError(f"mode must be 'r' or 'r+', got {mode!r}")
    if not path.exists():
        raise FileNotFoundError(f"no {what} at {path}")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory, not a {what} file")
    try:
        f = h5py.File(path, mode)
    except OSError as err:
        if "unable to lock file" in str(err).lower():  # held open by another process: busy, not damaged
            raise DatasetBusyError(f"{path} is in use by another process, which holds it open for writing "
                                   f"(wait for that run to finish, or stop it): {err}") from None
        raise DatasetCorruptError(f"{path} cannot be opened as HDF5 ({err}).{_REMEDY}") from None
    try:
        verify(f, path)
    except DatasetError:
        f.close()
        raise
    except (OSError, KeyError, TypeError, ValueError) as err:
        f.close()
        raise _corrupt(path, f"damaged ({type(err).__name__}: {err})") from None
    except BaseException:
        f.close()
        raise
    return f


def _spin_layout(params):
    n = params["n_states"]
    h, w = params["shape"]
    return {
        "spins": ((n, 3, h, w), params["spins_dtype"]),
        "energy": ((n,), "float64"),
        "energy_per_spin": ((n,), "float64"),
        "topological_charge": ((n,), "float64"),
        "digest": ((n,), "uint64"),
        "done": ((n,), "bool"),
        "split": ((n,), "int8"),
    }


def _verify(f, path, expected_params, require_complete, check_version, hint, verify_data=False):
    params, version = _check_header(f, path, FORMAT, FORMAT_VERSION)
    n = params["n_states"]
    _check_datasets(f, path, _spin_layout(params))
    codes = np.repeat(np.arange(3, dtype=np.int8), [params["splits"][k] for k in SPLITS])
    if not np.array_equal(_read(f, path, "split"), codes):
        raise _corrupt(path, "dataset 'split' disagrees with the splits attribute")
    done = _read(f, path, "done")
    for name in (*_OBSERVABLES, "digest"):  # small: read whole, which checks their checksums
        values = _read(f, path, name)
        if name != "digest" and not np.isfinite(values[done]).all():
            raise _corrupt(path, f"non-finite {name} of a state marked done")
    if require_complete and not done.all():
        raise _corrupt(path, f"incomplete: {int(done.sum())} of {n} states done")
    _check_expected(path, params, version, expected_params, check_version, hint)
    if verify_data:
        _scan_states(f, path, 0, n, only_done=True)


def _scan_states(f, path, start, stop, *, out=None, collect=False, only_done=False):
    """Read states ``[start, stop)`` in blocks of :data:`_BLOCK` and verify each one.

    Per state: finite unit spins (within the storage dtype's rounding), bytes
    matching the stored digest, ``energy_per_spin == energy / (H W)``, and
    energy and topological charge recomputed from the stored spins with the
    stored Hamiltonian within :func:`_tolerances` of the stored ones.

    Parameters
    ----------
    out : ndarray, optional
        ``(stop - start, 3, H, W)``: the spins are also copied here.
    collect : bool
        Return the failures instead of raising at the first failing block.
    only_done : bool
        Skip states not marked done (work files).

    Returns
    -------
    observables : dict of str to ndarray
        ``energy``, ``energy_per_spin``, ``topological_charge`` of the range.
    bad : list of (int, str)
        ``(index, reason)`` per failing state (empty unless ``collect``).
    """
    params = read_params(f)
    h, w = params["shape"]
    dtype = params["spins_dtype"]
    try:
        ham = Hamiltonian.from_dict(params["hamiltonian"])
    except (TypeError, ValueError) as err:
        raise _corrupt(path, f"the stored Hamiltonian cannot be rebuilt ({err})") from None
    tol_e, tol_q = _tolerances(ham, h * w, dtype)
    sl = np.s_[start:stop]
    obs = {name: _read(f, path, name, sl) for name in _OBSERVABLES}
    digests, done = _read(f, path, "digest", sl), _read(f, path, "done", sl)
    bad = []
    block = _block_rows(3 * h * w * np.dtype(dtype).itemsize)
    for a in range(start, stop, block):
        b = min(stop, a + block)
        spins = _read_rows(f, path, "spins", a, b)
        if out is not None:
            out[a - start:b - start] = spins
        problems = _check_block(spins, a, start, obs, digests, done if only_done else None, ham, tol_e, tol_q,
                                h * w, _UNIT_ATOL[dtype])
        if problems and not collect:
            listed = "; ".join(f"state {i}: {why}" for i, why in problems[:4])
            more = f" (and {len(problems) - 4} more in states {a} to {b - 1})" if len(problems) > 4 else ""
            raise _corrupt(path, f"{listed}{more}")
        bad += problems
    return obs, bad


def _check_block(spins, a, start, obs, digests, done, ham, tol_e, tol_q, n_sites, unit_atol):
    """Reasons why states of one block (spins from index ``a``) are not what was written."""
    sound = unit_spin_flags(spins, unit_atol)
    charges = _charges(np.ascontiguousarray(spins), ham.periodic)
    problems = []
    for k in range(len(spins)):
        i, j = a + k, a + k - start
        if done is not None and not done[j]:
            continue
        e, eps, q = obs["energy"][j], obs["energy_per_spin"][j], obs["topological_charge"][j]
        if not sound[k]:
            problems.append((i, "non-finite or non-unit spins"))
        elif item_digest(i, (spins[k], e, eps, q)) != digests[j]:
            problems.append((i, "the stored values do not match the digest written with them (changed after "
                                "writing, or moved from another index)"))
        elif eps != e / n_sites:
            problems.append((i, f"energy_per_spin {float(eps)!r} is not energy / sites = {float(e / n_sites)!r}"))
        else:
            try:
                e_spins = ham.energy(spins[k].astype(np.float64))
            except ValueError as err:
                problems.append((i, f"spins rejected by the Hamiltonian ({err})"))
                continue
            if not abs(e - e_spins) <= tol_e:
                problems.append((i, f"energy {float(e)!r} in the file, {e_spins!r} recomputed from its spins "
                                    f"(tolerance {tol_e:.2g})"))
            elif not abs(q - charges[k]) <= tol_q:
                problems.append((i, f"topological_charge {float(q)!r} in the file, {float(charges[k])!r} recomputed "
                                    f"from its spins (tolerance {tol_q:.2g})"))
    return problems


def find_bad_states(f, path):
    """States marked done in an open (work) file that fail verification, as ``[(index, reason), ...]``.

    Raises
    ------
    DatasetCorruptError
        A checksum fails (the file itself is damaged).
    """
    return _scan_states(f, path, 0, read_params(f)["n_states"], collect=True, only_done=True)[1]


def open_dataset(path, expected_params=None, *, require_complete=True, check_version=True, mode="r", hint="",
                 verify_data=False):
    """Open a spin-dataset file after checking that it is sound and the one expected.

    Parameters
    ----------
    path : str or os.PathLike
        HDF5 file written by :func:`mag_ml.data.generation.generate_dataset`.
    expected_params : dict, optional
        From :func:`dataset_params`; every entry must equal the stored one.
        ``None`` checks integrity only.
    require_complete : bool, optional
        Refuse a file whose ``done`` record is not all True (default).
    check_version : bool, optional
        With ``expected_params``, also require the file to come from this
        version of mag_ml (artifact names include the version too).
    mode : {"r", "r+"}
        Read-only (default) or read/write (resuming generation).
    hint : str, optional
        Appended to a mismatch message (e.g. how to regenerate).
    verify_data : bool, optional
        Also read and verify every state marked done, in blocks of 256
        (digest, unit spins, recomputed energy and charge; see the module
        notes).  Default False: the header, the layout and the checksums of
        the per-state records are always checked; :func:`load_states` and
        :func:`load_observables` verify the states they read.

    Returns
    -------
    h5py.File
        Open file; use it as a context manager (``with open_dataset(...) as f``).
        Datasets: ``spins`` (N, 3, H, W), ``energy``, ``energy_per_spin``,
        ``topological_charge``, ``digest``, ``done``, ``split``, all (N,).
        Reading a chunk whose checksum fails raises ``OSError``.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    IsADirectoryError
        ``path`` is a directory.
    DatasetBusyError
        The file is open for writing in another process (an ``OSError``).
    DatasetCorruptError
        Unreadable HDF5, wrong format or an older format version, parameters
        not matching their hash, a readable attribute disagreeing with
        ``params_json``, missing, misshapen or unchecksummed datasets, a
        failing checksum, (with ``require_complete``) missing states, (with
        ``verify_data``) a state that fails verification.  The message names
        the file and what failed.
    DatasetMismatchError
        Stored parameters differ from ``expected_params``; the message and
        ``.differences`` name each differing attribute.
    """
    return _open_checked(path, mode, lambda f, p: _verify(f, p, expected_params, require_complete, check_version,
                                                          hint, verify_data), "spin dataset")


def split_slice(params, split):
    """Index range of one split in a file's datasets.

    Parameters
    ----------
    params : dict
        From :func:`dataset_params` or :func:`read_params`.
    split : {"train", "validation", "test", "all"}

    Returns
    -------
    slice
        Contiguous block of state indices.

    Raises
    ------
    ValueError
        Unknown split name.
    """
    if split == "all":
        return slice(0, params["n_states"])
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS + ('all',)}, got {split!r}")
    counts = [params["splits"][k] for k in SPLITS]
    k = SPLITS.index(split)
    start = sum(counts[:k])
    return slice(start, start + counts[k])


def load_states(path, split="train", *, expected_params=None):
    """Spin states of one split, read into memory and verified (no torch needed).

    Parameters
    ----------
    path : str or os.PathLike
        Complete spin-dataset file.
    split : {"train", "validation", "test", "all"}
        Which block (Kwon et al. 2021: 30,000 / 5,000 / 4,300 states).
    expected_params : dict, optional
        Verified against the file first (see :func:`open_dataset`).

    Returns
    -------
    ndarray, shape (n, 3, H, W)
        In the stored dtype (float32 unless the file says otherwise); unit
        vectors, channels first.

    Raises
    ------
    DatasetCorruptError, DatasetMismatchError, DatasetBusyError, FileNotFoundError
        See :func:`open_dataset`; also, for any state of the split: a failing
        checksum, non-finite or non-unit spins, values that do not match
        their digest, or a stored energy or charge that disagrees with the one
        recomputed from the spins.
    ValueError
        Unknown split name.

    Notes
    -----
    The states are read and verified in blocks of 256; the cost is about
    that of computing each state's energy and charge once.
    """
    with open_dataset(path, expected_params) as f:
        return _read_split(f, path, read_params(f), split)[0]


class SplitStates:
    """The states of one split of a dataset file, read and verified on demand, never all at once.

    A drop-in for :func:`load_states`'s array in the analyses that stream
    (chapters 3-5 at the paper's 30,000 states of 128 x 128, 5.9 GB): ``len``,
    ``shape``, ``dtype``, ``nbytes`` without reading, and ``states[key]``
    reads only the rows asked for, verified exactly as :func:`load_states`
    verifies them (checksums, digests, energies and charges recomputed).

    Parameters
    ----------
    path : str or os.PathLike
        Complete spin-dataset file.
    split : {"train", "validation", "test", "all"}
    expected_params : dict, optional
        Verified against the file first (see :func:`open_dataset`).

    Raises
    ------
    DatasetCorruptError, DatasetMismatchError, DatasetBusyError, FileNotFoundError, ValueError
        As :func:`load_states`, when the object is made (header and split) or
        when rows are read (their verification).

    Examples
    --------
    ``states[10:20]`` (rows 10..19 of the split), ``states[[3, 1]]``,
    ``states[mask]`` (a boolean array of ``len(states)``), ``states[5]``
    (one state, shape (3, H, W)), ``states[:]`` (the whole split, as
    :func:`load_states`).
    """

    def __init__(self, path, split="train", *, expected_params=None):
        self.path, self.split = Path(path), split
        with open_dataset(self.path, expected_params) as f:
            self.params = read_params(f)
        self._slice = split_slice(self.params, split)
        h, w = self.params["shape"]
        self.shape = (self._slice.stop - self._slice.start, 3, h, w)
        self.dtype = np.dtype(self.params["spins_dtype"])

    def __len__(self):
        return self.shape[0]

    def __repr__(self):
        n, _, h, w = self.shape
        return f"SplitStates({str(self.path)!r}, {self.split!r}: {n} states of {h}x{w})"

    @property
    def ndim(self):
        return 4

    @property
    def nbytes(self):
        """Bytes of the whole split in memory (not read)."""
        return int(np.prod(self.shape)) * self.dtype.itemsize

    def rows(self, a, b):
        """States ``[a, b)`` of the split (clipped to it), read and verified; ndarray (b - a, 3, H, W)."""
        a, b = max(0, min(a, len(self))), max(0, min(b, len(self)))
        out = np.empty((max(0, b - a),) + self.shape[1:], dtype=self.dtype)
        if b > a:
            with open_dataset(self.path) as f:
                _scan_states(f, self.path, self._slice.start + a, self._slice.start + b, out=out)
        return out

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)):
            i = int(key) + (len(self) if key < 0 else 0)
            if not 0 <= i < len(self):
                raise IndexError(f"state {key} of a split of {len(self)} states")
            return self.rows(i, i + 1)[0]
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if step == 1:
                return self.rows(start, stop)
            key = np.arange(start, stop, step)
        idx = np.asarray(key)
        if idx.dtype == bool:
            if idx.shape != (len(self),):
                raise IndexError(f"a boolean mask must have shape ({len(self)},), got {idx.shape}")
            idx = np.flatnonzero(idx)
        if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
            raise IndexError(f"index states with an int, a slice, integer indices or a boolean mask, got {key!r}")
        idx = np.where(idx < 0, idx + len(self), idx)
        if idx.size and (idx.min() < 0 or idx.max() >= len(self)):
            raise IndexError(f"indices out of range for a split of {len(self)} states")
        out = np.empty((idx.size,) + self.shape[1:], dtype=self.dtype)
        order = np.argsort(idx, kind="stable")
        runs = np.split(order, np.flatnonzero(np.diff(idx[order]) != 0) + 1) if idx.size else []
        for run in runs:  # each distinct state read once (neighbouring ones in one read would need care; few here)
            out[run] = self.rows(int(idx[run[0]]), int(idx[run[0]]) + 1)[0]
        return out

    def __array__(self, dtype=None, copy=None):
        return self[:] if dtype is None else self[:].astype(dtype)


def _read_split(f, path, params, split):
    """The states of one split and their observables, read and verified in one pass."""
    sl = split_slice(params, split)
    h, w = params["shape"]
    states = np.empty((sl.stop - sl.start, 3, h, w), dtype=params["spins_dtype"])
    return states, _scan_states(f, path, sl.start, sl.stop, out=states)[0]


def load_observables(path, split="train", *, expected_params=None):
    """Per-state energy and topological charge of one split, verified against the stored spins.

    Parameters
    ----------
    path, split, expected_params
        As in :func:`load_states`.

    Returns
    -------
    dict of str to ndarray, float64, shape (n,)
        ``"energy"`` (units of J), ``"energy_per_spin"`` and
        ``"topological_charge"``, all computed on the float64 states.

    Raises
    ------
    DatasetCorruptError, DatasetMismatchError, DatasetBusyError, FileNotFoundError, ValueError
        As in :func:`load_states` (the spins of the split are read, in blocks,
        to verify the observables).
    """
    with open_dataset(path, expected_params) as f:
        sl = split_slice(read_params(f), split)
        return _scan_states(f, path, sl.start, sl.stop)[0]


def subset_dataset(source, path, keep, *, criterion):
    """Write the states of a dataset that ``keep`` selects to a new dataset file, atomically.

    Used to hold states out of a training set (chapter 3: every state at the
    ground-state energy leaves the E-VAE's training and validation splits).
    The new file has the source's creation parameters with the new counts
    and a ``subset`` entry recording the source's parameter hash, the kept
    source indices of each split and ``criterion``; states keep their stored
    spins, energies and charges, and are verified on reading like any other.

    Parameters
    ----------
    source : str or os.PathLike
        A complete spin dataset (verified as it is read).
    path : str or os.PathLike
        The new file; replaced atomically (an interrupted write leaves
        nothing behind).
    keep : dict of str to array_like of bool
        For each of :data:`SPLITS`, one flag per state of that split of
        ``source``.
    criterion : str
        What was kept and why, in words (stored in the file).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        ``keep`` without exactly the keys of :data:`SPLITS`, or a mask whose
        length is not that of its split, or one keeping nothing of ``train``.
    DatasetCorruptError, DatasetMismatchError, FileNotFoundError
        As in :func:`load_states`, for ``source``.
    """
    if not isinstance(keep, dict) or set(keep) != set(SPLITS):
        raise ValueError(f"keep must map each of {SPLITS} to a mask, got {sorted(keep) if isinstance(keep, dict) else keep!r}")
    with open_dataset(source) as f:
        params = read_params(f)
        masks, kept = {}, {}
        for split in SPLITS:
            n = params["splits"][split]
            mask = np.asarray(keep[split], dtype=bool)
            if mask.shape != (n,):
                raise ValueError(f"keep[{split!r}] must hold {n} flags (the split's states), got shape {mask.shape}")
            masks[split], kept[split] = mask, np.flatnonzero(mask)
        if not kept["train"].size:
            raise ValueError("keep['train'] keeps no state")
        counts = {split: int(kept[split].size) for split in SPLITS}
        new = dict(params, n_states=sum(counts.values()), splits=counts,
                   subset=dict(source_params_hash=params_hash(params), criterion=str(criterion),
                               kept={split: kept[split].tolist() for split in SPLITS}))
        index = 0
        with atomic_path(path) as tmp:
            out = create_dataset_file(tmp, new)
            try:
                for split in SPLITS:
                    if not counts[split]:
                        continue
                    states, obs = _read_split(f, source, params, split)  # one verified pass for both
                    m = masks[split]
                    for s, e, q in zip(states[m], obs["energy"][m], obs["topological_charge"][m]):
                        write_state(out, index, s, energy=e, topological_charge=q)
                        index += 1
            finally:
                out.close()
    return Path(path)


# -- record tables --------------------------------------------------------------
RECORDS_FORMAT = "mag_ml.records"
#: Version 2: fletcher32 checksums on every dataset and a per-record digest (version 1 files are refused).
RECORDS_FORMAT_VERSION = 2
_RESERVED_FIELDS = ("done", "digest")


def check_fields(fields):
    """Validated record fields ``{name: (item_shape, dtype)}`` as plain ``{name: [list, str]}``.

    Raises
    ------
    ValueError
        No fields, a reserved or non-identifier name (``done`` is the completion
        record, ``digest`` the per-record digest), a negative dimension or an
        unknown dtype.
    """
    if not isinstance(fields, dict) or not fields:
        raise ValueError(f"fields must be a non-empty dict {{name: (item_shape, dtype)}}, got {fields!r}")
    out = {}
    for name, spec in fields.items():
        if not isinstance(name, str) or not name.isidentifier() or name in _RESERVED_FIELDS:
            raise ValueError(f"field name must be an identifier other than 'done' and 'digest', got {name!r}")
        try:
            shape, dtype = spec
            shape = [int(n) for n in shape]
            dtype = np.dtype(dtype).name
        except (TypeError, ValueError):
            raise ValueError(f"fields[{name!r}] must be (item_shape, dtype), got {spec!r}") from None
        if any(n < 0 for n in shape):
            raise ValueError(f"fields[{name!r}] has a negative dimension: {shape}")
        out[name] = [shape, dtype]
    return out


def create_records_file(path, params, fields, n_items):
    """Create an empty record table (every ``done`` False) and return it open for writing.

    Layout (format ``"mag_ml.records"``, version 2): one dataset per field,
    shape ``(n_items, *item_shape)``, NaN-filled for floating dtypes; ``digest``
    ``(n_items,)`` uint64 (:func:`item_digest` of each record's fields in the
    stored order); ``done`` ``(n_items,)`` bool; every dataset chunked with
    the fletcher32 checksum filter; attributes ``format``, ``format_version``,
    ``mag_ml_version``, ``params_json`` (canonical JSON of ``params``, which
    also records the fields and ``n_items``), ``params_hash`` and one flat,
    human-readable attribute per parameter (verified against
    ``params_json`` on open).

    Parameters
    ----------
    path : str or os.PathLike
        File to create; it must not exist (created exclusively, HDF5 mode
        ``"x"``: callers write a work file).
    params : dict
        JSON-able creation parameters, verified on every later open.
    fields : dict
        ``{name: (item_shape, dtype)}`` (see :func:`check_fields`).
    n_items : int
        Number of records, >= 1.

    Returns
    -------
    h5py.File

    Raises
    ------
    FileExistsError
        Something exists at ``path``.
    ValueError
        Bad fields or ``n_items``; a parameter named like a header attribute.
    """
    stored = records_params(params, fields, n_items)
    n = stored["n_items"]
    f = _create_exclusive(path)
    try:
        _write_header(f, RECORDS_FORMAT, RECORDS_FORMAT_VERSION, stored, stored["params"])
        for name, (shape, dtype) in stored["fields"].items():
            fill = np.nan if np.issubdtype(np.dtype(dtype), np.floating) else 0
            item_bytes = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
            _create_checked(f, name, (n, *shape), dtype, fillvalue=fill,
                            chunks=(_chunk_rows(item_bytes, n), *shape))
        rows = (min(n, _ROW_CHUNK),)
        _create_checked(f, "digest", (n,), "uint64", chunks=rows, fillvalue=0)
        _create_checked(f, "done", (n,), bool, chunks=rows, fillvalue=False)
        f.flush()
    except BaseException:  # the file is ours (created exclusively): leave nothing half-made behind
        f.close()
        Path(path).unlink(missing_ok=True)
        raise
    return f


def records_params(params, fields, n_items):
    """What a record table stores and verifies: ``{"params", "fields", "n_items"}`` in plain JSON types.

    Raises
    ------
    TypeError
        ``params`` not a dict, or holding values that are not JSON-able.
    ValueError
        Bad ``fields`` or ``n_items``; a parameter named like a header
        attribute (``format``, ``format_version``, ``mag_ml_version``,
        ``params_json``, ``params_hash``).
    """
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict, got {type(params).__name__}")
    stored = json.loads(canonical_json({"params": params, "fields": check_fields(fields),
                                        "n_items": check_int(n_items, "n_items", minimum=1)}))
    _readable_attrs(stored["params"])
    return stored


def write_record(f, index, values):
    """Store record ``index`` (a dict with every field) with its digest and mark it done.

    Data and digest are flushed before the flag.  Values are converted to the
    field's dtype with NumPy's ``same_kind`` casting (float64 to float32 is
    fine, a float into an integer field is refused).

    Raises
    ------
    ValueError
        ``index`` not an integer in ``[0, n_items)``; a missing field, a wrong
        shape or a dtype that cannot be cast.
    """
    stored = read_params(f)
    n = stored["n_items"]
    if (not isinstance(index, (int, np.integer)) or isinstance(index, (bool, np.bool_))
            or not 0 <= index < n):
        raise ValueError(f"record index must be an integer in [0, {n}), got {index!r} (returned by the task)")
    index = int(index)
    if not isinstance(values, dict):
        raise ValueError(f"record {index} must be a dict of field values, got {type(values).__name__}")
    arrays = []
    for name, (shape, dtype) in stored["fields"].items():
        if name not in values:
            raise ValueError(f"record {index} lacks the field {name!r}")
        value = np.asarray(values[name])
        if value.shape != tuple(shape):
            raise ValueError(f"record {index}: field {name!r} has shape {value.shape}, expected {tuple(shape)}")
        try:
            value = np.ascontiguousarray(value.astype(dtype, casting="same_kind"))
        except TypeError:
            raise ValueError(f"record {index}: field {name!r} has dtype {value.dtype}, which cannot be stored as "
                             f"{dtype}") from None
        arrays.append(value)
    for (name, _), value in zip(stored["fields"].items(), arrays):
        f[name][index] = value
    f["digest"][index] = item_digest(index, arrays)
    f.flush()
    f["done"][index] = True
    f.flush()


def open_records(path, expected=None, *, require_complete=True, check_version=True, mode="r", hint="",
                 verify_data=False):
    """Open a record table after checking that it is sound and, optionally, the one expected.

    Parameters
    ----------
    path : str or os.PathLike
    expected : dict, optional
        From :func:`records_params`; every entry must equal the stored one.
    require_complete, check_version, mode, hint
        As in :func:`open_dataset`.
    verify_data : bool, optional
        Also read every record marked done, in blocks, and check its
        checksums and digest.

    Returns
    -------
    h5py.File

    Raises
    ------
    FileNotFoundError, IsADirectoryError, DatasetBusyError, DatasetCorruptError, DatasetMismatchError
        As in :func:`open_dataset` (the mismatch names each differing parameter).
    """
    return _open_checked(path, mode, lambda f, p: _verify_records(f, p, expected, require_complete, check_version,
                                                                  hint, verify_data), "record table")


def _verify_records(f, path, expected, require_complete, check_version, hint, verify_data=False):
    stored, version = _check_header(f, path, RECORDS_FORMAT, RECORDS_FORMAT_VERSION,
                                    readable=lambda st: st["params"])
    n = stored["n_items"]
    want = {name: ((n, *shape), dtype) for name, (shape, dtype) in stored["fields"].items()}
    _check_datasets(f, path, {**want, "digest": ((n,), "uint64"), "done": ((n,), "bool")})
    done = _read(f, path, "done")
    _read(f, path, "digest")
    if require_complete and not done.all():
        raise _corrupt(path, f"incomplete: {int(done.sum())} of {n} records done")
    _check_expected(path, stored, version, expected, check_version, hint)
    if verify_data:
        _scan_records(f, path, only_done=True)


def _scan_records(f, path, *, out=None, collect=False, only_done=False):
    """Read every record in blocks (at most 256 and about 64 MB) and check its digest.

    Returns ``[(index, reason), ...]`` with ``collect``; otherwise raises at
    the first failing block.  ``out`` (dict of arrays) receives the fields.
    """
    stored = read_params(f)
    n, fields = stored["n_items"], stored["fields"]
    item_bytes = sum(int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
                     for shape, dtype in fields.values())
    block = _block_rows(item_bytes)
    digests, done = _read(f, path, "digest"), _read(f, path, "done")
    bad = []
    for a in range(0, n, block):
        b = min(n, a + block)
        arrays = {name: _read_rows(f, path, name, a, b) for name in fields}
        if out is not None:
            for name in fields:
                out[name][a:b] = arrays[name]
        problems = [(i, "the stored values do not match the digest written with them (changed after writing, "
                        "or moved from another index)")
                    for i in range(a, b) if (done[i] or not only_done)
                    and item_digest(i, [arrays[name][i - a] for name in fields]) != digests[i]]
        if problems and not collect:
            listed = ", ".join(str(i) for i, _ in problems[:8])
            raise _corrupt(path, f"record(s) {listed}{' ...' if len(problems) > 8 else ''}: {problems[0][1]}")
        bad += problems
    return bad


def find_bad_records(f, path):
    """Records marked done in an open (work) table that fail verification, as ``[(index, reason), ...]``.

    Raises
    ------
    DatasetCorruptError
        A checksum fails (the file itself is damaged).
    """
    return _scan_records(f, path, collect=True, only_done=True)


def load_records(path, expected_params=None):
    """Every field of a complete record table, read into memory and verified.

    Parameters
    ----------
    path : str or os.PathLike
        Written by :func:`mag_ml.data.generation.generate_records`.
    expected_params : dict, optional
        The ``params`` it was generated with; verified (with this package version).

    Returns
    -------
    params : dict
        The stored creation parameters.
    arrays : dict of str to ndarray
        One ``(n_items, *item_shape)`` array per field.

    Raises
    ------
    FileNotFoundError, DatasetBusyError, DatasetCorruptError, DatasetMismatchError
        See :func:`open_records`; also a failing checksum or a record whose
        values do not match its digest (read in blocks).
    """
    with open_records(path) as f:
        stored = read_params(f)
        _check_expected(path, stored["params"], None, expected_params, False, "")
        n = stored["n_items"]
        arrays = {name: np.empty((n, *shape), dtype=dtype) for name, (shape, dtype) in stored["fields"].items()}
        _scan_records(f, path, out=arrays)
        return stored["params"], arrays
