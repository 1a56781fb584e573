"""Exports: spin datasets and result tables to xarray / netCDF-4, a spin state to VTK image data (.vti).

Each export is read back by a reader other than the one that wrote it where one exists:
netCDF files with h5py (netCDF-4 is HDF5; no xarray involved) as well as ``xarray.open_dataset``,
and ``.vti`` files (written by pyevtk) by a parser written here from the VTK file-format
specification ("VTK File Formats", XML ImageData: ``WholeExtent``, ``Origin``, ``Spacing``,
``PointData/DataArray`` with ``offset`` into raw ``AppendedData`` that starts after ``_``,
each block preceded by its byte count in the ``header_type``).
"""

import json
import re
import xml.etree.ElementTree as ET

import h5py
import numpy as np
import pytest
import xarray as xr

from mag_ml import AnnealSchedule, Hamiltonian, topological_charge
from mag_ml.data.export import dataset_to_xarray, export_dataset, records_to_xarray
from mag_ml.data.storage import create_dataset_file, create_records_file, dataset_params, write_record, write_state
from mag_ml.io import read_netcdf, spins_to_xarray, table_to_xarray, write_netcdf, write_vti

from .conftest import neel_skyrmion, random_unit

H = Hamiltonian(J=1.0, D=0.3, B=0.05, dmi="bulk", boundary="periodic")
SHAPE = (8, 12)


@pytest.fixture
def dataset_file(tmp_path, rng):
    params = dataset_params(hamiltonian=H, shape=SHAPE, schedule=AnnealSchedule(n_steps=3, sweeps_per_step=10),
                            n_states=4, splits=(2, 1, 1), seed=5, dtype="float64")
    spins = np.stack([neel_skyrmion(SHAPE, 2.0)] + [random_unit(rng, SHAPE) for _ in range(3)])
    path = tmp_path / "d.h5"
    with create_dataset_file(path, params) as f:
        for i, s in enumerate(spins):
            write_state(f, i, s, energy=H.energy(s), topological_charge=topological_charge(s))
    return path, spins


def test_dataset_to_netcdf_round_trip_keeps_units_and_hamiltonian(tmp_path, dataset_file):
    path, spins = dataset_file
    out = export_dataset(path, tmp_path / "d.nc")
    with xr.open_dataset(out, engine="h5netcdf") as ds:
        assert ds["spins"].dims == ("state", "component", "y", "x")
        np.testing.assert_array_equal(ds["spins"].values, spins)
        assert list(ds["component"].values) == ["x", "y", "z"]
        assert list(ds["split"].values) == ["train", "train", "validation", "test"]
        assert ds["x"].attrs["units"] == "a" and ds["energy"].attrs["units"] == "J"
        assert "units of J" in ds.attrs["units"] and "annealing" in ds.attrs["source"]
        assert (ds.attrs["J"], ds.attrs["D"], ds.attrs["B"], ds.attrs["dmi"]) == (1.0, 0.3, 0.05, "bulk")
        assert ds.attrs["params.seed"] == 5 and ds.attrs["params.schedule.n_steps"] == 3
        # the attributes alone rebuild the model: energies recomputed from the file's spins match the file's
        model = Hamiltonian.from_dict(json.loads(ds.attrs["hamiltonian"]))
        recomputed = [model.energy(s) for s in ds["spins"].values]
        np.testing.assert_allclose(recomputed, ds["energy"].values, rtol=1e-12)
        np.testing.assert_allclose(ds["energy_per_spin"].values, ds["energy"].values / np.prod(SHAPE))
    with h5py.File(out, "r") as f:  # an independent reader: netCDF-4 is HDF5
        np.testing.assert_array_equal(f["spins"][...], spins)
        assert f.attrs["D"] == 0.3 and f["energy"].attrs["units"] in (b"J", "J")


def test_one_split_keeps_its_state_indices(dataset_file):
    path, spins = dataset_file
    ds = dataset_to_xarray(path, "validation")
    assert list(ds["state"].values) == [2] and list(ds["split"].values) == ["validation"]
    np.testing.assert_array_equal(ds["spins"].values[0], spins[2])
    with pytest.raises(ValueError, match="split must be one of"):
        dataset_to_xarray(path, "training")


def test_table_round_trip(tmp_path):
    T = np.array([0.2, 0.5, 1.0])
    table = table_to_xarray({"energy_per_spin": [-2.0, -1.5, -1.0], "magnetisation": np.ones((3, 3))},
                            dim="T", coords={"T": T}, units={"T": "J/k_B", "energy_per_spin": "J"},
                            hamiltonian=H, source="a test scan", attrs={"seeds": [0, 1], "flag": True})
    back = read_netcdf(write_netcdf(table, tmp_path / "scan.nc"))
    xr.testing.assert_identical(back.drop_attrs(), table.drop_attrs())
    assert back["T"].attrs["units"] == "J/k_B" and back["magnetisation"].dims == ("T", "magnetisation_1")
    assert back.attrs["B"] == 0.05 and back.attrs["source"] == "a test scan" and back.attrs["flag"] == 1
    np.testing.assert_array_equal(back.attrs["seeds"], [0, 1])


def test_records_to_xarray(tmp_path):
    path = tmp_path / "r.h5"
    fields = {"width": ((), "float64"), "profile": ((4,), "float32")}
    with create_records_file(path, {"hamiltonian": H.as_dict(), "seed": 2}, fields, 3) as f:
        for i in range(3):
            write_record(f, i, {"width": 1.5 * i, "profile": np.arange(4) + i})
    ds = records_to_xarray(path, units={"width": "a"})
    np.testing.assert_array_equal(ds["width"].values, [0.0, 1.5, 3.0])
    assert ds["profile"].shape == (3, 4) and ds["width"].attrs["units"] == "a"
    assert ds.attrs["D"] == 0.3 and ds.attrs["params.seed"] == 2


def read_vti(path):
    """Point data of a VTK XML ImageData file with raw appended data, parsed from the format spec."""
    raw = path.read_bytes()
    start = raw.index(b"<AppendedData")
    data = raw[raw.index(b"_", start) + 1:]  # binary data begin after the underscore
    root = ET.fromstring(raw[:start] + b"</VTKFile>")
    order = "<" if root.get("byte_order") == "LittleEndian" else ">"
    header = {"UInt64": "u8", "UInt32": "u4"}[root.get("header_type", "UInt32")]
    image = root.find("ImageData")
    extent = [int(v) for v in image.get("WholeExtent").split()]
    n = [extent[2 * k + 1] - extent[2 * k] + 1 for k in range(3)]  # points along x, y, z
    arrays = {}
    for da in image.iter("DataArray"):
        offset = int(da.get("offset"))
        size = int(np.frombuffer(data, order + header, 1, offset)[0])
        dtype = order + {"Float64": "f8", "Float32": "f4"}[da.get("type")]
        values = np.frombuffer(data, dtype, size // np.dtype(dtype).itemsize, offset + np.dtype(header).itemsize)
        ncomp = int(da.get("NumberOfComponents", 1))
        arrays[da.get("Name")] = values.reshape(n[2], n[1], n[0], ncomp)  # x fastest, then y, then z
    origin = [float(v) for v in image.get("Origin").split()]
    spacing = [float(v) for v in image.get("Spacing").split()]
    return arrays, origin, spacing, n


def test_vti_read_by_an_independent_parser(tmp_path, rng):
    state = random_unit(rng, SHAPE)  # (3, H=8, W=12), not square, so a transposition shows
    cos = rng.uniform(-1, 1, SHAPE)
    path = write_vti(tmp_path / "m.vti", state, spacing=0.5, origin=(1.0, -2.0), scalars={"cos_theta": cos})
    arrays, origin, spacing, n = read_vti(path)
    assert n == [SHAPE[1], SHAPE[0], 1] and origin == [1.0, -2.0, 0.0] and spacing == [0.5, 0.5, 0.5]
    spins = arrays["spins"][0]  # (H, W, 3)
    np.testing.assert_array_equal(np.moveaxis(spins, -1, 0), state)
    np.testing.assert_array_equal(arrays["m_z"][0, :, :, 0], state[2])
    np.testing.assert_array_equal(arrays["cos_theta"][0, :, :, 0], cos)
    assert re.search(rb'<ImageData WholeExtent="0 11 0 7 0 0"', path.read_bytes())


def test_exports_refuse_bad_input(tmp_path, rng):
    state = random_unit(rng, SHAPE)
    with pytest.raises(ValueError, match="path must end in .vti"):
        write_vti(tmp_path / "m.vtk", state)
    with pytest.raises(ValueError, match=r"spins must be one state of shape \(3, H, W\), got shape \(8, 12\)"):
        write_vti(tmp_path / "m.vti", state[0])
    with pytest.raises(ValueError, match="spacing must be a positive"):
        write_vti(tmp_path / "m.vti", state, spacing=-1.0)
    with pytest.raises(ValueError, match=r"scalars\['q'\] must be a finite map"):
        write_vti(tmp_path / "m.vti", state, scalars={"q": np.zeros(3)})
    assert not list(tmp_path.iterdir())  # nothing half-written is left behind
    with pytest.raises(ValueError, match="spins must be a float array of shape"):
        spins_to_xarray(state[:2])
    with pytest.raises(ValueError, match=r"observables\['energy'\] must have 1 values along 'state'"):
        spins_to_xarray(state, observables={"energy": ("J", [1.0, 2.0])})
    with pytest.raises(ValueError, match="units given for"):
        table_to_xarray({"a": [1.0]}, dim="T", units={"b": "J"})
    with pytest.raises(TypeError, match="dataset must be an xarray.Dataset"):
        write_netcdf({"a": 1}, tmp_path / "x.nc")
