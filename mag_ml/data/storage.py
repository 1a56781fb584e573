"""HDF5 files of spin states: layout, verification on open, and a torch-free reader.

One file holds one dataset of ``N`` annealed spin states, the E-VAE dataset of
Kwon et al., Adv. Sci. 2021 (39,300 metastable states of the 2D Heisenberg
model with interfacial DMI, 30,000 / 5,000 / 4,300 for training / validation /
test) or its quick-profile miniature.

Layout (format ``"mag_ml.spin_dataset"``, version 1)
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
``done``
    ``(N,)`` bool, per-state completion record (a generation run that is
    interrupted and restarted skips the states marked done).
``split``
    ``(N,)`` int8: 0 = train, 1 = validation, 2 = test.  The splits are
    contiguous blocks in this order; state ``i`` is Monte Carlo sample ``i``,
    and samples are independent, so a block is as random as any subset.

File attributes: ``format``, ``format_version``, ``mag_ml_version``,
``params_json`` (canonical JSON of the creation parameters, see
:func:`dataset_params`), ``params_hash`` (of those parameters and the version)
and, for people reading the file with other tools, one flat attribute per
parameter (``hamiltonian.D``, ``schedule.T_end``, ``seed``, ``shape``,
``n_states``, ``splits.train``, ...).
"""

from __future__ import annotations

import inspect
import json
import math
from pathlib import Path

import h5py
import numpy as np

from mag_ml.artifacts import canonical_json, package_version, params_hash
from mag_ml.files import MismatchError, check_matches
from mag_ml.checks import check_int
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
    "dataset_params",
    "create_dataset_file",
    "write_state",
    "open_dataset",
    "read_params",
    "split_slice",
    "load_states",
    "load_observables",
]

FORMAT = "mag_ml.spin_dataset"
FORMAT_VERSION = 1
#: Split names, in the order of their blocks and of their int8 codes in ``split``.
SPLITS = ("train", "validation", "test")
#: Allowed storage dtypes of ``spins``.
SPIN_DTYPES = ("float32", "float64")
_OBSERVABLES = ("energy", "energy_per_spin", "topological_charge")
_UNIT_ATOL = {"float32": 1e-5, "float64": 1e-10}


class DatasetError(ValueError):
    """A spin-dataset file cannot be used as asked."""


class DatasetMismatchError(DatasetError, MismatchError):
    """The file was made with other parameters than the ones expected (see :class:`mag_ml.files.MismatchError`)."""


class DatasetCorruptError(DatasetError):
    """The file is unreadable, not a spin dataset, inconsistent or incomplete."""


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


# -- writing --------------------------------------------------------------------
def _write_header(f, fmt, version, stored, readable):
    """The attributes every mag_ml HDF5 format has: format, versions, ``stored`` as JSON and its hash.

    ``readable`` is also written as flat attributes, one per (nested) key, for
    people reading the file with other tools; ``params_json`` is what is verified.
    """
    f.attrs["format"] = fmt
    f.attrs["format_version"] = version
    f.attrs["mag_ml_version"] = package_version()
    f.attrs["params_json"] = canonical_json(stored)
    f.attrs["params_hash"] = params_hash(stored)
    for key, value in _flatten(readable):
        f.attrs[key] = "null" if value is None else value


def create_dataset_file(path, params):
    """Create an empty spin-dataset file (all ``done`` False) and return it open.

    Parameters
    ----------
    path : str or os.PathLike
        File to create; an existing file is truncated (callers write to a
        work file and rename it, see :func:`mag_ml.data.generation.generate_dataset`).
    params : dict
        From :func:`dataset_params`.

    Returns
    -------
    h5py.File
        Open in read/write mode; the caller closes it.
    """
    n = params["n_states"]
    h, w = params["shape"]
    f = h5py.File(path, "w")
    try:
        _write_header(f, FORMAT, FORMAT_VERSION, params, params)
        spins = f.create_dataset("spins", (n, 3, h, w), dtype=params["spins_dtype"], chunks=(1, 3, h, w))
        spins.attrs["description"] = "unit spin vectors, channels (Sx, Sy, Sz), row index y, column index x"
        for name, unit in (("energy", "J"), ("energy_per_spin", "J per site")):
            ds = f.create_dataset(name, (n,), dtype="float64", fillvalue=np.nan)
            ds.attrs["units"] = f"{unit} (reduced units, float64 state before storage rounding)"
        ds = f.create_dataset("topological_charge", (n,), dtype="float64", fillvalue=np.nan)
        ds.attrs["definition"] = "Berg-Luscher lattice charge of the float64 state"
        f.create_dataset("done", (n,), dtype=bool, fillvalue=False)
        codes = np.repeat(np.arange(3, dtype=np.int8), [params["splits"][k] for k in SPLITS])
        ds = f.create_dataset("split", data=codes)
        ds.attrs["labels"] = ",".join(SPLITS)
        f.flush()
    except BaseException:
        f.close()
        raise
    return f


def write_state(f, index, spins, *, energy, topological_charge):
    """Store state ``index`` and mark it done (data first, then the flag, both flushed).

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
    """
    h, w = f["spins"].shape[2:]
    spins = np.asarray(spins)
    if spins.shape != (3, h, w):
        raise ValueError(f"spins must have shape {(3, h, w)}, got {spins.shape}")
    f["spins"][index] = spins.astype(f["spins"].dtype)
    f["energy"][index] = energy
    f["energy_per_spin"][index] = energy / (h * w)
    f["topological_charge"][index] = topological_charge
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
        raise DatasetCorruptError(f"{f.filename} has no readable params_json attribute ({err})") from None


def _check_header(f, path, fmt, format_version):
    """Check the attributes of :func:`_write_header`; return the stored parameters and mag_ml version."""
    attrs = f.attrs
    if attrs.get("format") != fmt:
        raise DatasetCorruptError(f"{path} is not a {fmt} file (format attribute {attrs.get('format')!r})")
    if attrs.get("format_version") != format_version:
        raise DatasetCorruptError(
            f"{path} has format_version {attrs.get('format_version')!r}; this mag_ml reads {format_version}"
        )
    params = read_params(f)
    version = attrs.get("mag_ml_version")
    if attrs.get("params_hash") != params_hash(params, version=version):
        raise DatasetCorruptError(f"{path}: params_hash does not match the stored parameters (edited or damaged)")
    return params, version


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
    try:
        f = h5py.File(path, mode)
    except OSError as err:
        if "unable to lock file" in str(err).lower():  # held open by another process: busy, not damaged
            raise OSError(f"{path} is open for writing in another process ({err})") from None
        raise DatasetCorruptError(f"{path} cannot be opened as HDF5 ({err})") from None
    try:
        verify(f, path)
    except DatasetError:
        f.close()
        raise
    except (OSError, KeyError, TypeError, ValueError) as err:
        f.close()
        raise DatasetCorruptError(f"{path} is damaged ({type(err).__name__}: {err})") from None
    return f


def _verify(f, path, expected_params, require_complete, check_version, hint):
    params, version = _check_header(f, path, FORMAT, FORMAT_VERSION)
    n = params["n_states"]
    h, w = params["shape"]
    want = {
        "spins": ((n, 3, h, w), np.dtype(params["spins_dtype"])),
        "energy": ((n,), np.dtype("float64")),
        "energy_per_spin": ((n,), np.dtype("float64")),
        "topological_charge": ((n,), np.dtype("float64")),
        "done": ((n,), np.dtype(bool)),
        "split": ((n,), np.dtype("int8")),
    }
    for name, (shape, dtype) in want.items():
        if name not in f or not isinstance(f[name], h5py.Dataset):
            raise DatasetCorruptError(f"{path} has no dataset {name!r}")
        if f[name].shape != shape or f[name].dtype != dtype:
            raise DatasetCorruptError(
                f"{path}: dataset {name!r} has shape {f[name].shape} and dtype {f[name].dtype}, "
                f"expected {shape} and {dtype}"
            )
    codes = np.repeat(np.arange(3, dtype=np.int8), [params["splits"][k] for k in SPLITS])
    if not np.array_equal(f["split"][()], codes):
        raise DatasetCorruptError(f"{path}: dataset 'split' disagrees with the splits attribute")
    done = f["done"][()]
    if not np.isfinite(f["energy"][()][done]).all():
        raise DatasetCorruptError(f"{path}: non-finite energy of a state marked done")
    if require_complete and not done.all():
        raise DatasetCorruptError(f"{path} is incomplete: {int(done.sum())} of {n} states done")
    _check_expected(path, params, version, expected_params, check_version, hint)


def open_dataset(path, expected_params=None, *, require_complete=True, check_version=True, mode="r", hint=""):
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

    Returns
    -------
    h5py.File
        Open file; use it as a context manager (``with open_dataset(...) as f``).
        Datasets: ``spins`` (N, 3, H, W), ``energy``, ``energy_per_spin``,
        ``topological_charge``, ``done``, ``split``, all (N,).

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    OSError
        The file is locked by another process that is writing it.
    DatasetCorruptError
        Unreadable HDF5, wrong format, parameters not matching their hash,
        missing or misshapen datasets, or (with ``require_complete``) missing
        states.
    DatasetMismatchError
        Stored parameters differ from ``expected_params``; the message and
        ``.differences`` name each differing attribute.
    """
    return _open_checked(path, mode, lambda f, p: _verify(f, p, expected_params, require_complete, check_version,
                                                          hint), "spin dataset")


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
    """Spin states of one split, read into memory (no torch needed).

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
    DatasetCorruptError, DatasetMismatchError, FileNotFoundError
        See :func:`open_dataset`; also non-finite or non-unit spins.
    ValueError
        Unknown split name.
    """
    with open_dataset(path, expected_params) as f:
        params = read_params(f)
        states = f["spins"][split_slice(params, split)]
    norm = np.sqrt((states.astype(np.float64) ** 2).sum(axis=1))
    if not np.isfinite(states).all() or not np.allclose(norm, 1.0, atol=_UNIT_ATOL[params["spins_dtype"]], rtol=0):
        raise DatasetCorruptError(f"{path}: split {split!r} holds non-finite or non-unit spins")
    return states


def load_observables(path, split="train", *, expected_params=None):
    """Per-state energy and topological charge of one split.

    Parameters
    ----------
    path, split, expected_params
        As in :func:`load_states`.

    Returns
    -------
    dict of str to ndarray, float64, shape (n,)
        ``"energy"`` (units of J), ``"energy_per_spin"`` and
        ``"topological_charge"``, all computed on the float64 states.
    """
    with open_dataset(path, expected_params) as f:
        sl = split_slice(read_params(f), split)
        return {name: f[name][sl] for name in _OBSERVABLES}


# -- record tables --------------------------------------------------------------
RECORDS_FORMAT = "mag_ml.records"
RECORDS_FORMAT_VERSION = 1


def check_fields(fields):
    """Validated record fields ``{name: (item_shape, dtype)}`` as plain ``{name: [list, str]}``.

    Raises
    ------
    ValueError
        No fields, a reserved or non-identifier name (``done`` is the completion
        record), a negative dimension or an unknown dtype.
    """
    if not isinstance(fields, dict) or not fields:
        raise ValueError(f"fields must be a non-empty dict {{name: (item_shape, dtype)}}, got {fields!r}")
    out = {}
    for name, spec in fields.items():
        if not isinstance(name, str) or not name.isidentifier() or name == "done":
            raise ValueError(f"field name must be an identifier other than 'done', got {name!r}")
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

    Layout (format ``"mag_ml.records"``, version 1): one dataset per field,
    shape ``(n_items, *item_shape)``, NaN-filled for floating dtypes; ``done``
    ``(n_items,)`` bool; attributes ``format``, ``format_version``,
    ``mag_ml_version``, ``params_json`` (canonical JSON of ``params``, which
    also records the fields and ``n_items``), ``params_hash`` and one flat,
    human-readable attribute per parameter.

    Parameters
    ----------
    path : str or os.PathLike
        File to create (truncated if it exists: callers write a work file).
    params : dict
        JSON-able creation parameters, verified on every later open.
    fields : dict
        ``{name: (item_shape, dtype)}`` (see :func:`check_fields`).
    n_items : int
        Number of records, >= 1.

    Returns
    -------
    h5py.File
    """
    stored = records_params(params, fields, n_items)
    f = h5py.File(path, "w")
    try:
        _write_header(f, RECORDS_FORMAT, RECORDS_FORMAT_VERSION, stored, stored["params"])
        for name, (shape, dtype) in stored["fields"].items():
            fill = np.nan if np.issubdtype(np.dtype(dtype), np.floating) else 0
            f.create_dataset(name, (stored["n_items"], *shape), dtype=dtype, fillvalue=fill,
                             chunks=(1, *shape) if shape and all(shape) else None)
        f.create_dataset("done", (stored["n_items"],), dtype=bool, fillvalue=False)
        f.flush()
    except BaseException:
        f.close()
        raise
    return f


def records_params(params, fields, n_items):
    """What a record table stores and verifies: ``{"params", "fields", "n_items"}`` in plain JSON types."""
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict, got {type(params).__name__}")
    return json.loads(canonical_json({"params": params, "fields": check_fields(fields),
                                      "n_items": check_int(n_items, "n_items", minimum=1)}))


def write_record(f, index, values):
    """Store record ``index`` (a dict with every field) and mark it done, data flushed before the flag."""
    for name in read_params(f)["fields"]:
        if name not in values:
            raise ValueError(f"record {index} lacks the field {name!r}")
        value = np.asarray(values[name])
        if value.shape != f[name].shape[1:]:
            raise ValueError(f"record {index}: field {name!r} has shape {value.shape}, expected {f[name].shape[1:]}")
        f[name][index] = value
    f.flush()
    f["done"][index] = True
    f.flush()


def open_records(path, expected=None, *, require_complete=True, check_version=True, mode="r", hint=""):
    """Open a record table after checking that it is sound and, optionally, the one expected.

    Parameters
    ----------
    path : str or os.PathLike
    expected : dict, optional
        From :func:`records_params`; every entry must equal the stored one.
    require_complete, check_version, mode, hint
        As in :func:`open_dataset`.

    Returns
    -------
    h5py.File

    Raises
    ------
    FileNotFoundError, DatasetCorruptError, DatasetMismatchError
        As in :func:`open_dataset` (the mismatch names each differing parameter).
    """
    return _open_checked(path, mode, lambda f, p: _verify_records(f, p, expected, require_complete, check_version,
                                                                  hint), "record table")


def _verify_records(f, path, expected, require_complete, check_version, hint):
    stored, version = _check_header(f, path, RECORDS_FORMAT, RECORDS_FORMAT_VERSION)
    n = stored["n_items"]
    for name, (shape, dtype) in {**stored["fields"], "done": [[], "bool"]}.items():
        if name not in f or f[name].shape != (n, *shape) or f[name].dtype != np.dtype(dtype):
            raise DatasetCorruptError(f"{path}: dataset {name!r} missing or not {(n, *shape)} {dtype}")
    done = f["done"][()]
    if require_complete and not done.all():
        raise DatasetCorruptError(f"{path} is incomplete: {int(done.sum())} of {n} records done")
    _check_expected(path, stored, version, expected, check_version, hint)


def load_records(path, expected_params=None):
    """Every field of a complete record table, read into memory.

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
    FileNotFoundError, DatasetCorruptError, DatasetMismatchError
        See :func:`open_records`.
    """
    with open_records(path) as f:
        stored = read_params(f)
        _check_expected(path, stored["params"], None, expected_params, False, "")
        return stored["params"], {name: f[name][()] for name in stored["fields"]}
