"""The book's HDF5 files as ``xarray.Dataset`` and netCDF, for readers outside the book.

:func:`dataset_to_xarray` turns a spin dataset (:mod:`.storage`, e.g. the
E-VAE dataset of Kwon et al., Adv. Sci. 2021) into the layout of
:func:`mag_ml.io.netcdf.spins_to_xarray`: ``spins`` (state, component, y, x),
per-state ``energy``, ``energy_per_spin`` and ``topological_charge``, the split
of each state, the Hamiltonian, schedule and seed as attributes.
:func:`records_to_xarray` does the same for a record table.  Both read
through the verified loaders (checksums, digests, recomputed observables), so
an export never carries a corrupt file further.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mag_ml.io.netcdf import spins_to_xarray, table_to_xarray, write_netcdf
from mag_ml.physics.hamiltonian import Hamiltonian

from .storage import FORMAT, FORMAT_VERSION, RECORDS_FORMAT, SPLITS, _flatten, load_observables, load_records, \
    load_states, open_dataset, read_params, split_slice

__all__ = ["dataset_to_xarray", "records_to_xarray", "export_dataset"]

_OBSERVABLE_UNITS = {"energy": "J", "energy_per_spin": "J", "topological_charge": "1"}


def _param_attrs(params, skip=()):
    """Flat ``params.<key>`` attributes and the canonical JSON ``params_json``."""
    flat = {f"params.{k}": v for k, v in _flatten(params) if k.split(".")[0] not in skip}
    return {**flat, "params_json": json.dumps(params, sort_keys=True)}


def dataset_to_xarray(path, split="all", *, expected_params=None):
    """A spin dataset file as an ``xarray.Dataset`` (read and verified).

    Parameters
    ----------
    path : str or os.PathLike
        Complete spin-dataset file (:func:`mag_ml.data.generate_dataset`).
    split : {"train", "validation", "test", "all"}
        Which states to export.
    expected_params : dict, optional
        Verified against the file first (see :func:`mag_ml.data.open_dataset`).

    Returns
    -------
    xarray.Dataset
        ``spins`` (state, component, y, x) in the stored dtype; ``energy``,
        ``energy_per_spin`` (units of J) and ``topological_charge`` (state);
        the coordinate ``split`` (state) with the split names; ``x``, ``y``
        in lattice spacings; attributes ``J``, ``D``, ``B``, ``K``, ``dmi``,
        ``boundary``, ``hamiltonian``, ``units``, ``source`` and every
        creation parameter as ``params.<name>`` (schedule, seed, shape, ...).

    Raises
    ------
    DatasetCorruptError, DatasetMismatchError, DatasetBusyError, FileNotFoundError
        As in :func:`mag_ml.data.load_states`.
    ValueError
        Unknown split name.
    """
    path = Path(path)
    with open_dataset(path, expected_params) as f:
        params = read_params(f)
    sl = split_slice(params, split)  # ValueError for an unknown split, before reading anything
    states = load_states(path, split)
    obs = load_observables(path, split)
    counts = [params["splits"][k] for k in SPLITS]
    names = np.repeat(np.array(SPLITS), counts)[sl]
    source = (f"mag_ml spin dataset {path.name} ({FORMAT} version {FORMAT_VERSION}): Monte Carlo simulated "
              "annealing and T = 0 relaxation of the 2D Heisenberg model with DMI (Kwon et al., Adv. Sci. 2021)")
    ds = spins_to_xarray(states, hamiltonian=params["hamiltonian"], source=source,
                         observables={k: (u, obs[k]) for k, u in _OBSERVABLE_UNITS.items()},
                         attrs=_param_attrs(params, skip=("hamiltonian",)))
    return ds.assign_coords(state=np.arange(sl.start, sl.stop), split=("state", names.astype(str)))


def records_to_xarray(path, *, dim="item", units=None, expected_params=None):
    """A record table (:func:`mag_ml.data.generate_records`) as an ``xarray.Dataset``.

    Parameters
    ----------
    path : str or os.PathLike
        Complete record table.
    dim : str
        Name of the row dimension (one row per record).
    units : dict of str to str, optional
        ``units`` attribute per field.
    expected_params : dict, optional
        The parameters it was generated with; verified.

    Returns
    -------
    xarray.Dataset
        One variable per field (``dim`` first, extra axes ``<field>_<k>``);
        the creation parameters as ``params.<name>`` attributes and
        ``params_json``; the Hamiltonian attributes when the parameters hold
        a lattice ``hamiltonian``.

    Raises
    ------
    DatasetCorruptError, DatasetMismatchError, DatasetBusyError, FileNotFoundError
        As in :func:`mag_ml.data.load_records`.
    ValueError
        Bad ``dim`` or units for a field the table does not have.
    """
    path = Path(path)
    params, arrays = load_records(path, expected_params)
    hamiltonian = params.get("hamiltonian")
    try:
        hamiltonian = Hamiltonian.from_dict(hamiltonian) if isinstance(hamiltonian, dict) else None
    except (TypeError, ValueError):
        hamiltonian = None  # another model's parameters (SI films, chains): kept as params.* only
    return table_to_xarray(arrays, dim=dim, units=units, hamiltonian=hamiltonian,
                           global_units="as stated by each variable's units attribute and the parameters",
                           source=f"mag_ml record table {path.name} ({RECORDS_FORMAT})",
                           attrs=_param_attrs(params))


def export_dataset(path, out, split="all", *, expected_params=None):
    """Write a spin dataset file to netCDF-4 (:func:`dataset_to_xarray`, then :func:`mag_ml.io.write_netcdf`).

    Parameters
    ----------
    path : str or os.PathLike
        Spin-dataset file (HDF5).
    out : str or os.PathLike
        The netCDF file to write (``.nc``), atomically.
    split, expected_params
        As in :func:`dataset_to_xarray`.

    Returns
    -------
    pathlib.Path
        ``out``.

    Raises
    ------
    DatasetCorruptError, DatasetMismatchError, DatasetBusyError, FileNotFoundError, ValueError
        As in :func:`dataset_to_xarray`; ``out`` is then left untouched.
    """
    return write_netcdf(dataset_to_xarray(path, split, expected_params=expected_params), out)
