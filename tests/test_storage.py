"""HDF5 spin datasets: layout, attributes round trip, verification on open (mag_ml.data.storage)."""

import json

import h5py
import numpy as np
import pytest

from mag_ml import AnnealSchedule, Hamiltonian, topological_charge
from mag_ml.data import storage
from mag_ml.data.storage import (DatasetCorruptError, DatasetMismatchError, create_dataset_file, dataset_params,
                                 load_observables, load_states, open_dataset, read_params, write_state)

from .conftest import neel_skyrmion, random_unit

H = Hamiltonian(J=1.0, D=0.3, B=0.05)
SCHEDULE = AnnealSchedule(T_start=1.0, T_end=0.05, n_steps=5, sweeps_per_step=20)
SHAPE = (16, 16)


def make_params(**changes):
    kw = dict(hamiltonian=H, shape=SHAPE, schedule=SCHEDULE, n_states=5, splits=(3, 1, 1), seed=7)
    return dataset_params(**{**kw, **changes})


def states(n=5):
    rng = np.random.default_rng(0)
    out = [neel_skyrmion(SHAPE, 3.0) if i == 0 else random_unit(rng, SHAPE) for i in range(n)]
    return np.stack(out)


def write_file(path, params, spins, n_done=None):
    with create_dataset_file(path, params) as f:
        for i, s in enumerate(spins[:n_done]):
            write_state(f, i, s, energy=H.energy(s), topological_charge=topological_charge(s))
    return path


@pytest.fixture
def done_file(tmp_path):
    return write_file(tmp_path / "d.h5", make_params(), states())


def test_params_validation():
    p = make_params()
    assert p["shape"] == [16, 16] and p["splits"] == {"train": 3, "validation": 1, "test": 1}
    assert p["hamiltonian"] == H.as_dict() and p["schedule"] == SCHEDULE.as_dict()
    assert p["spins_dtype"] == "float32" and make_params(dtype=np.float64)["spins_dtype"] == "float64"
    assert make_params(splits=None)["splits"] == {"train": 5, "validation": 0, "test": 0}
    assert make_params(splits={"train": 1, "validation": 2, "test": 2})["splits"]["test"] == 2
    bad = [
        (dict(shape=(15, 16)), "shape must be two even integers"),
        (dict(n_states=0), "n_states must be an integer >= 1, got 0"),
        (dict(n_states=2.5), "n_states"),
        (dict(splits=(3, 1, 2)), r"splits must sum to n_states = 5, got \(3, 1, 2\)"),
        (dict(splits=(6, -1, 0)), r"splits\['validation'\] must be an integer >= 0, got -1"),
        (dict(splits=(4, 1)), "three counts"),
        (dict(splits={"train": 5, "val": 0, "test": 0}), "keys"),
        (dict(seed=-1), "seed"),
        (dict(dtype="float16"), r"dtype must be one of \('float32', 'float64'\)"),
    ]
    for change, message in bad:
        with pytest.raises(ValueError, match=message):
            make_params(**change)
    with pytest.raises(TypeError, match="hamiltonian"):
        make_params(hamiltonian=1.0)


def test_round_trip(done_file):
    params, spins64 = make_params(), states()
    with open_dataset(done_file, params) as f:
        assert read_params(f) == params
        assert f.attrs["hamiltonian.D"] == 0.3 and f.attrs["seed"] == 7 and f.attrs["splits.test"] == 1
        assert list(f.attrs["shape"]) == [16, 16] and f.attrs["schedule.n_steps"] == 5
        assert f.attrs["mag_ml_version"] == storage.package_version()
        assert f.attrs["params_hash"] == storage.params_hash(params)
        assert f["spins"].dtype == np.float32 and f["spins"].chunks == (1, 3, 16, 16)
        assert f["done"][()].all() and list(f["split"][()]) == [0, 0, 0, 1, 2]
        energy = f["energy"][()]
    # observables come from the float64 states, not the stored float32 ones
    np.testing.assert_array_equal(energy, [H.energy(s) for s in spins64])
    obs = load_observables(done_file, "all")
    np.testing.assert_allclose(obs["energy_per_spin"], energy / 256, rtol=1e-15)
    assert obs["topological_charge"][0] == pytest.approx(-1.0, abs=0.05)  # a skyrmion with core along -z
    train = load_states(done_file, "train", expected_params=params)
    assert train.shape == (3, 3, 16, 16) and train.dtype == np.float32
    np.testing.assert_array_equal(train, spins64[:3].astype(np.float32))
    np.testing.assert_array_equal(load_states(done_file, "test")[0], spins64[4].astype(np.float32))
    assert load_states(done_file, "all").shape == (5, 3, 16, 16)
    with pytest.raises(ValueError, match="split must be one of"):
        load_states(done_file, "val")


def test_float64_storage(tmp_path):
    params = make_params(dtype="float64")
    path = write_file(tmp_path / "d64.h5", params, states())
    np.testing.assert_array_equal(load_states(path, "all", expected_params=params), states())


def test_mismatch_names_attribute(done_file):
    with pytest.raises(DatasetMismatchError, match=r"hamiltonian\.D = 0\.3 in the file, expected 0\.25") as info:
        open_dataset(done_file, make_params(hamiltonian=Hamiltonian(D=0.25)))
    assert [d[0] for d in info.value.differences] == ["hamiltonian.D"]
    assert isinstance(info.value, ValueError)
    with pytest.raises(DatasetMismatchError, match="seed = 7 in the file, expected 8"):
        load_states(done_file, expected_params=make_params(seed=8))
    with pytest.raises(DatasetMismatchError, match=r"schedule\.sweeps_per_step"):
        open_dataset(done_file, make_params(schedule=AnnealSchedule(T_start=1.0, T_end=0.05, n_steps=5,
                                                                    sweeps_per_step=21)))
    with pytest.raises(DatasetMismatchError, match="spins_dtype"):
        open_dataset(done_file, make_params(dtype="float64"))


def test_version_mismatch(done_file, monkeypatch):
    monkeypatch.setattr(storage, "package_version", lambda: "99.0")
    with pytest.raises(DatasetMismatchError, match="mag_ml_version"):
        open_dataset(done_file, make_params())
    open_dataset(done_file, make_params(), check_version=False).close()


@pytest.mark.parametrize("damage", ["garbage", "truncated", "tampered", "missing", "incomplete", "nan"])
def test_corrupted_file_raises(tmp_path, damage):
    params = make_params()
    path = write_file(tmp_path / "c.h5", params, states(), n_done=3 if damage == "incomplete" else None)
    if damage == "garbage":
        path.write_bytes(b"not an HDF5 file at all" * 100)
    elif damage == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 3])
    else:
        with h5py.File(path, "r+") as f:
            if damage == "tampered":  # parameters edited without their hash
                edited = json.loads(f.attrs["params_json"])
                edited["hamiltonian"]["D"] = 0.5
                f.attrs["params_json"] = json.dumps(edited)
            elif damage == "missing":
                del f["topological_charge"]
            elif damage == "nan":
                f["spins"][1, 0, 0, 0] = np.nan
    match = {"garbage": "cannot be opened", "truncated": "cannot be opened", "tampered": "params_hash",
             "missing": "no dataset 'topological_charge'", "incomplete": "incomplete: 3 of 5 states done",
             "nan": "non-finite or non-unit"}[damage]
    with pytest.raises(DatasetCorruptError, match=match):
        load_states(path, "all", expected_params=params)


def test_incomplete_allowed_for_resume(tmp_path):
    path = write_file(tmp_path / "p.h5", make_params(), states(), n_done=2)
    with open_dataset(path, make_params(), require_complete=False, mode="r+") as f:
        assert list(f["done"][()]) == [True, True, False, False, False]
        assert np.isnan(f["energy"][2])


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no spin dataset"):
        open_dataset(tmp_path / "nothing.h5")


def test_layout_has_checksums_and_digests(done_file):
    with h5py.File(done_file, "r") as f:
        assert all(f[name].fletcher32 and f[name].chunks for name in f)
        assert f.attrs["format_version"] == storage.FORMAT_VERSION == 2
        spins, e, eps, q = f["spins"][1], f["energy"][1], f["energy_per_spin"][1], f["topological_charge"][1]
        assert f["digest"][1] == storage.item_digest(1, (spins, e, eps, q))
        assert f["digest"][1] != storage.item_digest(2, (spins, e, eps, q))  # the index is part of the digest


def test_creation_is_exclusive_and_writes_are_checked(done_file, tmp_path):
    before = done_file.read_bytes()
    with pytest.raises(FileExistsError):
        create_dataset_file(done_file, make_params())
    assert done_file.read_bytes() == before
    s = states()[0]
    with create_dataset_file(tmp_path / "new.h5", make_params()) as f:
        with pytest.raises(ValueError, match="non-finite spins"):
            write_state(f, 0, np.full((3, 16, 16), np.nan), energy=0.0, topological_charge=0.0)
        with pytest.raises(ValueError, match=r"index must be in \[0, 5\), got 5"):
            write_state(f, 5, s, energy=H.energy(s), topological_charge=0.0)
        assert not f["done"][()].any()


def test_directory_is_not_a_dataset(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a directory"):
        load_states(tmp_path)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_chunked_norm_check_equals_the_whole_batch_check(dtype):
    """unit_spin_flags in float64 sub-blocks of one state gives the flags of one float64 pass over the batch."""
    spins = states(9).astype(dtype)
    spins[2, 0, 3, 4] *= 1.001  # non-unit
    spins[5, 2, 0, 0] = np.nan
    spins[7, 1, 1, 1] += 2e-6 if dtype == "float32" else 2e-11  # within the tolerance
    atol = storage._UNIT_ATOL[dtype]
    s64 = spins.astype(np.float64)
    with np.errstate(invalid="ignore"):
        whole = np.isfinite(s64).all(axis=(1, 2, 3)) & (np.abs(np.linalg.norm(s64, axis=1) - 1) <= atol).all(axis=(1, 2))
    one_state = 8 * 3 * SHAPE[0] * SHAPE[1]
    for max_bytes in (1, one_state, 4 * one_state, 1 << 30):
        assert np.array_equal(storage.unit_spin_flags(spins, atol, max_bytes=max_bytes), whole)
    assert whole.tolist() == [True, True, False, True, True, False, True, True, True]
