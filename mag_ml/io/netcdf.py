r"""Spin states and result tables as labelled ``xarray.Dataset`` objects, written to netCDF.

An exported state keeps what a reader needs to use it without this package:
dimensions with names, coordinates in physical units, the Hamiltonian and
the units as attributes.  Layout of :func:`spins_to_xarray`:

``spins`` (``state``, ``component``, ``y``, ``x``)
    Unit spin vectors (0 on vacancies), channels first as everywhere in the
    book; ``component`` is the coordinate ``["x", "y", "z"]``.
``x``, ``y``
    Site positions ``origin + i * spacing`` in ``length_unit`` (``"a"``, the
    lattice spacing, for the lattice model; ``"m"`` for SI films).
per-state observables (``state``)
    E.g. ``energy`` (units of J) and ``topological_charge`` (1), each with
    its ``units`` attribute.
global attributes
    ``J``, ``D``, ``B``, ``K``, ``dmi``, ``boundary`` (the
    :class:`mag_ml.Hamiltonian`, also as canonical JSON in ``hamiltonian``),
    ``units`` (a sentence on the unit system), ``source`` (where the data
    come from), ``mag_ml_version``, and any extra attributes given.

:func:`table_to_xarray` does the same for a table of results along one
dimension (a temperature scan, a parameter grid, a record table).  netCDF-4
files are written with the ``h5netcdf`` engine, which uses h5py (netCDF-4 is
HDF5 underneath), atomically (:func:`mag_ml.files.atomic_path`); they open
with ``xarray.open_dataset``, ``netCDF4``, ``ncdump`` or ParaView's netCDF
reader.

Reference: the netCDF user guide (Unidata), "Attribute conventions" (``units``,
``long_name``, ``source``); xarray's data model (Hoyer & Hamman, J. Open Res.
Softw. 5, 10 (2017)).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import xarray as xr

from ..files import atomic_path
from ..physics.hamiltonian import Hamiltonian
from .grid import check_grid

__all__ = ["spins_to_xarray", "table_to_xarray", "write_netcdf", "read_netcdf", "hamiltonian_attrs",
           "LATTICE_UNITS", "NETCDF_ENGINE"]

#: The engine used to write and read netCDF-4 files (h5py underneath).
NETCDF_ENGINE = "h5netcdf"
#: The ``units`` attribute of data in the reduced units of the lattice model.
LATTICE_UNITS = ("reduced units: J = k_B = 1; energies, D, B, K and T in units of J; "
                 "lengths in lattice spacings a; spins are unit vectors")
_SPIN_DIMS = ("state", "component", "y", "x")


def _version():
    """The installed package version (the attribute ``mag_ml_version``)."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("mag_ml")
    except PackageNotFoundError:
        return "unknown"


def _attr_value(name, value):
    """A value netCDF can store as an attribute: str, int, float or a 1D numeric array."""
    if isinstance(value, (bool, np.bool_)):
        return int(value)  # netCDF has no boolean attributes
    if value is None:
        return "null"
    if isinstance(value, (str, int, float, np.integer, np.floating)):
        return value
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    arr = np.asarray(value) if isinstance(value, (list, tuple, np.ndarray)) else None
    if arr is not None and arr.ndim == 1 and arr.dtype.kind in "iuf":
        return arr
    if isinstance(value, (list, tuple)):
        return json.dumps(list(value))
    raise ValueError(f"attrs[{name!r}] must be a string, a number, a 1D numeric array or JSON-able, "
                     f"got {type(value).__name__}")


def hamiltonian_attrs(hamiltonian):
    """Flat netCDF attributes of a Hamiltonian: ``J``, ``D``, ``B``, ``K``, ``dmi``, ``boundary``, ``hamiltonian``.

    Parameters
    ----------
    hamiltonian : Hamiltonian or dict
        The model (couplings in units of J) or its :meth:`~mag_ml.Hamiltonian.as_dict`.

    Returns
    -------
    dict
        One attribute per field, plus ``hamiltonian``: the canonical JSON of
        all of them (``Hamiltonian.from_dict(json.loads(...))`` rebuilds it).

    Raises
    ------
    TypeError
        ``hamiltonian`` is neither a Hamiltonian nor a dict.
    ValueError
        The dict does not describe a valid Hamiltonian.
    """
    if isinstance(hamiltonian, dict):
        hamiltonian = Hamiltonian.from_dict(hamiltonian)
    if not isinstance(hamiltonian, Hamiltonian):
        raise TypeError(f"hamiltonian must be a mag_ml.Hamiltonian or its as_dict(), got {type(hamiltonian).__name__}")
    d = hamiltonian.as_dict()
    return {**d, "hamiltonian": json.dumps(d, sort_keys=True)}


def _global_attrs(hamiltonian, units, source, attrs):
    if not isinstance(source, str):
        raise ValueError(f"source must be a string saying where the data come from, got {source!r}")
    if not isinstance(units, str) or not units:
        raise ValueError(f"units must be a non-empty string describing the unit system, got {units!r}")
    out = {"units": units, "source": source, "mag_ml_version": _version()}
    if hamiltonian is not None:
        out.update(hamiltonian_attrs(hamiltonian))
    for name, value in (attrs or {}).items():
        if not isinstance(name, str) or not name:
            raise ValueError(f"attribute names must be non-empty strings, got {name!r}")
        out[name] = _attr_value(name, value)
    return out


def _per_item(values, n, name, dim):
    """``values`` as an array whose first axis has length ``n``."""
    arr = np.asarray(values)
    if arr.ndim == 0 or arr.shape[0] != n:
        raise ValueError(f"{name} must have {n} values along {dim!r} (one per item), got shape {arr.shape}")
    return arr


def spins_to_xarray(spins, *, hamiltonian=None, spacing=1.0, origin=(0.0, 0.0), length_unit="a",
                    observables=None, units=None, source="", attrs=None):
    """Spin states as an ``xarray.Dataset`` with named dimensions, coordinates and units.

    Parameters
    ----------
    spins : array_like, shape (3, H, W) or (N, 3, H, W), float
        States, channels first, row index y (a single state gets ``state`` of
        length 1).  Stored in their dtype (float32 or float64).
    hamiltonian : Hamiltonian or dict, optional
        The model the states belong to: written as the attributes ``J``,
        ``D``, ``B``, ``K``, ``dmi``, ``boundary`` and ``hamiltonian`` (JSON).
    spacing : float
        Distance between neighbouring sites, > 0, in ``length_unit``.
    origin : (float, float)
        Position ``(x0, y0)`` of site (0, 0) in ``length_unit``.
    length_unit : str
        Unit of the coordinates ``x`` and ``y``: ``"a"`` (lattice spacings) by
        default, ``"m"`` for SI films.
    observables : dict of str to (units, array (N,)), optional
        Per-state values, e.g. ``{"energy": ("J", E), "topological_charge": ("1", Q)}``.
    units : str, optional
        The global ``units`` attribute; default :data:`LATTICE_UNITS`.
    source : str
        Where the states come from (a file, a paper, a protocol).
    attrs : dict, optional
        More global attributes (numbers, strings, 1D arrays; dicts and lists
        are stored as JSON).

    Returns
    -------
    xarray.Dataset
        Variable ``spins`` (state, component, y, x) and the observables
        (state); coordinates ``state`` (0..N-1), ``component`` (x, y, z),
        ``y``, ``x`` (with ``units``).

    Raises
    ------
    ValueError
        Spins not of shape (3, H, W) or (N, 3, H, W), or not finite; a
        non-positive or non-finite spacing; an origin that is not two finite
        numbers; an observable with the wrong length or no units string; a bad
        ``units``, ``source`` or attribute.
    TypeError
        A ``hamiltonian`` that is neither a Hamiltonian nor a dict.
    """
    arr = np.asarray(spins)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[1] != 3 or arr.dtype.kind != "f":
        raise ValueError(f"spins must be a float array of shape (3, H, W) or (N, 3, H, W), got "
                         f"{arr.dtype} of shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("spins must be finite, got NaN or inf values")
    spacing, (x0, y0) = check_grid(spacing, origin)
    if not isinstance(length_unit, str) or not length_unit:
        raise ValueError(f"length_unit must be a non-empty string such as 'a' or 'm', got {length_unit!r}")
    n, _, h, w = arr.shape
    data_vars = {"spins": (_SPIN_DIMS, arr, {"long_name": "unit spin vector", "units": "1"})}
    for name, spec in (observables or {}).items():
        try:
            unit, values = spec
        except (TypeError, ValueError):
            raise ValueError(f"observables[{name!r}] must be (units, values), got {type(spec).__name__}") from None
        if not isinstance(unit, str):
            raise ValueError(f"observables[{name!r}] needs a units string first, got {unit!r}")
        data_vars[name] = (("state",), _per_item(values, n, f"observables[{name!r}]", "state"), {"units": unit})
    coords = {
        "state": np.arange(n),
        "component": ["x", "y", "z"],
        "y": ("y", y0 + spacing * np.arange(h), {"units": length_unit, "long_name": "site position y"}),
        "x": ("x", x0 + spacing * np.arange(w), {"units": length_unit, "long_name": "site position x"}),
    }
    return xr.Dataset(data_vars, coords=coords,
                      attrs=_global_attrs(hamiltonian, LATTICE_UNITS if units is None else units, source, attrs))


def table_to_xarray(columns, *, dim, coords=None, units=None, hamiltonian=None, global_units=None, source="",
                    attrs=None):
    """A table of results along one dimension as an ``xarray.Dataset``.

    Parameters
    ----------
    columns : dict of str to array_like
        Variables, each with ``n`` rows along ``dim`` (first axis); extra
        axes become dimensions ``<name>_<k>`` (k = 1, 2, ...).
    dim : str
        Name of the row dimension, e.g. ``"T"`` for a temperature scan.
    coords : dict of str to array_like (n,), optional
        Coordinates along ``dim`` (one of them may be named ``dim``).
    units : dict of str to str, optional
        ``units`` attribute per column or coordinate (``"J"``, ``"1"``, ``"m"``, ...).
    hamiltonian, global_units, source, attrs
        As ``hamiltonian``, ``units``, ``source`` and ``attrs`` of
        :func:`spins_to_xarray`.

    Returns
    -------
    xarray.Dataset

    Raises
    ------
    ValueError
        No columns, a bad ``dim`` name, columns or coordinates of different
        lengths, units for a name that is not in the table, or a bad
        attribute.
    """
    if not isinstance(dim, str) or not dim:
        raise ValueError(f"dim must be a non-empty string naming the rows, got {dim!r}")
    if not isinstance(columns, dict) or not columns:
        raise ValueError(f"columns must be a non-empty dict of arrays, got {columns!r}")
    units = dict(units or {})
    coords = dict(coords or {})
    unknown = sorted(set(units) - set(columns) - set(coords))
    if unknown:
        raise ValueError(f"units given for {unknown}, which are neither columns nor coordinates")
    n = np.asarray(next(iter(columns.values()))).shape[:1]
    if not n:
        raise ValueError("columns must be arrays with one row per item, got a scalar")
    n = n[0]
    data_vars = {}
    for name, values in columns.items():
        arr = _per_item(values, n, f"columns[{name!r}]", dim)
        dims = (dim, *(f"{name}_{k}" for k in range(1, arr.ndim)))
        data_vars[name] = (dims, arr, {"units": units[name]} if name in units else {})
    xcoords = {name: ((dim,), _per_item(values, n, f"coords[{name!r}]", dim),
                      {"units": units[name]} if name in units else {}) for name, values in coords.items()}
    return xr.Dataset(data_vars, coords=xcoords,
                      attrs=_global_attrs(hamiltonian, LATTICE_UNITS if global_units is None else global_units,
                                          source, attrs))


def write_netcdf(dataset, path):
    """Write an ``xarray.Dataset`` to a netCDF-4 file, atomically (engine ``h5netcdf``).

    Parameters
    ----------
    dataset : xarray.Dataset
        E.g. from :func:`spins_to_xarray` or :func:`table_to_xarray`.
    path : str or os.PathLike
        Destination (``.nc``); replaced if it exists, untouched if writing fails.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    TypeError
        ``dataset`` is not an ``xarray.Dataset``.
    """
    if not isinstance(dataset, xr.Dataset):
        raise TypeError(f"dataset must be an xarray.Dataset, got {type(dataset).__name__}")
    path = Path(path)
    with atomic_path(path) as tmp:
        dataset.to_netcdf(tmp, engine=NETCDF_ENGINE)
    return path


def read_netcdf(path):
    """Read a netCDF-4 file fully into memory (the file is closed on return).

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    xarray.Dataset

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no netCDF file at {path}")
    return xr.load_dataset(path, engine=NETCDF_ENGINE)
