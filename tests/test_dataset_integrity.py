"""Nothing corrupt is used: every damaged or edited dataset and record table is refused with a clear error.

Spin datasets and record tables are checked at three layers (mag_ml.data.storage):
HDF5's fletcher32 checksum on every chunk (bytes changed on disk), a per-item
digest (values changed through h5py, which recomputes the checksums, or items
moved), and for spin datasets the energy and charge recomputed from the stored
spins (an edit that also forges the digest).  Each case below must be refused by
every reader (load_states, load_observables, open_dataset(verify_data=True) and
generate_dataset returning the file as complete) with a DatasetCorruptError
that names the file, what failed and what to do.
"""

from __future__ import annotations

import re
import shutil
import time

import h5py
import numpy as np
import pytest

from mag_ml import AnnealSchedule, Hamiltonian, topological_charge
from mag_ml.data import (DatasetCorruptError, dataset_params, generate_dataset, generate_records, load_observables,
                         load_records, load_states, open_dataset)
from mag_ml.data import storage
from mag_ml.data.storage import create_dataset_file, item_digest, write_state

from .conftest import neel_skyrmion, random_unit

H = Hamiltonian(J=1.0, D=0.3, B=0.05)
SHAPE = (12, 12)
SCHEDULE = AnnealSchedule(T_start=1.0, T_end=0.05, n_steps=3, sweeps_per_step=50)  # a few ms a state
N, SPLITS, SEED, RELAX_TOL = 10, (6, 2, 2), 3, 1e-5
KW = dict(hamiltonian=H, shape=SHAPE, schedule=SCHEDULE, n_states=N, splits=SPLITS, seed=SEED, relax_tol=RELAX_TOL,
          progress=False)
PARAMS = dataset_params(hamiltonian=H, shape=SHAPE, schedule=SCHEDULE, n_states=N, splits=SPLITS, seed=SEED,
                        relax_tol=RELAX_TOL)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    return generate_dataset(tmp_path_factory.mktemp("integrity") / "finished.h5", executor="serial", **KW)


@pytest.fixture
def copy(finished, tmp_path):
    path = tmp_path / "copy.h5"
    shutil.copyfile(finished, path)
    return path


# -- ways to damage a file ------------------------------------------------------------
def element_offset(path, name, coord):
    """Byte offset in the file of element ``coord`` of dataset ``name`` (chunked, no compression)."""
    with h5py.File(path, "r") as f:
        ds = f[name]
        start = tuple(c // ch * ch for c, ch in zip(coord, ds.chunks))
        info = ds.id.get_chunk_info_by_coord(start)
        within = np.ravel_multi_index(tuple(c - s for c, s in zip(coord, start)), ds.chunks)
        return info.byte_offset + int(within) * ds.dtype.itemsize, ds.dtype.itemsize


def flip_on_disk(path, name, coord, byte=0, mask=0x01):
    """XOR one byte of one stored value in the file itself (byte 0 is the least significant)."""
    offset, _ = element_offset(path, name, coord)
    with open(path, "r+b") as fh:
        fh.seek(offset + byte)
        value = fh.read(1)[0]
        fh.seek(offset + byte)
        fh.write(bytes([value ^ mask]))


def random_bytes_on_disk(path, name, coord, n_bytes=200):
    offset, _ = element_offset(path, name, coord)
    with open(path, "r+b") as fh:
        fh.seek(offset)
        fh.write(np.random.default_rng(1).integers(0, 256, n_bytes, dtype=np.uint8).tobytes())


def flip_through_h5py(path, name, index, bits, byte=None):
    """XOR bits of one value, written back through h5py (HDF5 recomputes the chunk checksum)."""
    with h5py.File(path, "r+") as f:
        ds = f[name]
        value = np.array(ds[index])
        raw = value.view(f"u{value.dtype.itemsize}")
        raw ^= np.array(bits, dtype=raw.dtype)
        ds[index] = value


def edit(path, fn):
    with h5py.File(path, "r+") as f:
        fn(f)


def swap(f, names, i, j):
    for name in names:
        a, b = f[name][i], f[name][j]
        f[name][i], f[name][j] = b, a


def forge_digest(f, i):
    """Recompute state i's digest from what is stored now: the digest no longer catches the edit."""
    f["digest"][i] = item_digest(i, (f["spins"][i], f["energy"][i], f["energy_per_spin"][i],
                                     f["topological_charge"][i]))


def energy_plus_one_forged(f):
    f["energy"][7] += 1
    f["energy_per_spin"][7] = f["energy"][7] / (SHAPE[0] * SHAPE[1])
    forge_digest(f, 7)


def charge_plus_one_forged(f):
    f["topological_charge"][3] += 1
    forge_digest(f, 3)


def swap_forged(f):
    swap(f, ["spins"], 2, 8)  # a ferromagnetic state and a skyrmion (two ferromagnets would be the same state)
    forge_digest(f, 2)
    forge_digest(f, 8)


def per_spin_forged(f):
    f["energy_per_spin"][4] *= 1 + 1e-12
    forge_digest(f, 4)


def set_attr(name, value):
    def fn(f):
        f.attrs[name] = value
    return fn


def del_attr(name):
    def fn(f):
        del f.attrs[name]
    return fn


def nan_spin(f):
    f["spins"][4, 2, 3, 3] = np.nan


def random_state(f):
    f["spins"][6] = np.random.default_rng(2).integers(0, 256, 3 * 12 * 12 * 4, dtype=np.uint8).view(np.float32) \
        .reshape(3, 12, 12)


HIGH_BIT32 = np.uint32(0xFF000000)
CASES = {
    # bytes changed in the file itself: HDF5's fletcher32 checksum
    "disk: low-order bit of a spin value": (lambda p: flip_on_disk(p, "spins", (3, 0, 5, 7)),
                                            r"'spins', item 3, fails its HDF5 checksum"),
    "disk: high byte of a spin value": (lambda p: flip_on_disk(p, "spins", (4, 2, 1, 1), byte=3, mask=0xFF),
                                        r"'spins', item 4, fails its HDF5 checksum"),
    "disk: random bytes in the spins": (lambda p: random_bytes_on_disk(p, "spins", (5, 0, 0, 0)),
                                        r"'spins', item 5, fails its HDF5 checksum"),
    "disk: byte of an energy": (lambda p: flip_on_disk(p, "energy", (7,), byte=0, mask=0x10), r"'energy'.*checksum"),
    "disk: byte of a topological charge": (lambda p: flip_on_disk(p, "topological_charge", (2,), byte=5),
                                           r"'topological_charge'.*checksum"),
    "disk: byte of a digest": (lambda p: flip_on_disk(p, "digest", (1,), byte=2), r"'digest'.*checksum"),
    "disk: byte of the done record": (lambda p: flip_on_disk(p, "done", (3,)), r"'done'.*checksum"),
    # values changed through h5py (checksums recomputed): the per-state digest or the spin checks
    "h5py: low-order bit of a spin value": (lambda p: flip_through_h5py(p, "spins", (3, 0, 5, 7), 1),
                                            r"state 3: .*digest"),
    "h5py: high byte of a spin value": (lambda p: flip_through_h5py(p, "spins", (4, 2, 1, 1), HIGH_BIT32),
                                        r"state 4: non-finite or non-unit"),
    "h5py: low-order bit of an energy": (lambda p: flip_through_h5py(p, "energy", 7, 1), r"state 7: .*digest"),
    "h5py: low-order bit of a topological charge": (lambda p: flip_through_h5py(p, "topological_charge", 2, 1),
                                                    r"state 2: .*digest"),
    "h5py: energy[7] += 1": (lambda p: edit(p, lambda f: f["energy"].__setitem__(7, f["energy"][7] + 1)),
                             r"state 7: .*digest"),
    "h5py: two states swapped": (lambda p: edit(p, lambda f: swap(f, ["spins"], 2, 8)), r"state 2: .*digest"),
    "h5py: two states swapped in every dataset": (
        lambda p: edit(p, lambda f: swap(f, ["spins", "energy", "energy_per_spin", "topological_charge", "digest"],
                                         2, 8)), r"state 2: .*moved from another index"),
    "h5py: NaN spin": (lambda p: edit(p, nan_spin), r"state 4: non-finite or non-unit"),
    "h5py: random bytes as a state": (lambda p: edit(p, random_state), r"state 6: "),
    # digest forged as well: the energy and charge recomputed from the spins
    "forged: energy[7] += 1": (lambda p: edit(p, energy_plus_one_forged), r"state 7: energy .* recomputed"),
    "forged: two states swapped": (lambda p: edit(p, swap_forged), r"state 2: energy .* recomputed from its spins"),
    "forged: charge[3] += 1": (lambda p: edit(p, charge_plus_one_forged), r"state 3: topological_charge .* recomputed"),
    "forged: energy_per_spin": (lambda p: edit(p, per_spin_forged), r"state 4: energy_per_spin"),
    # the readable attributes beside params_json
    "attribute: hamiltonian.D edited": (lambda p: edit(p, set_attr("hamiltonian.D", 0.25)),
                                        r"readable attribute hamiltonian\.D = 0\.25 disagrees .*0\.3"),
    "attribute: seed edited": (lambda p: edit(p, set_attr("seed", 4)), r"readable attribute seed = 4"),
    "attribute: shape edited": (lambda p: edit(p, set_attr("shape", [12, 14])), r"readable attribute shape"),
    "attribute: schedule.T_end deleted": (lambda p: edit(p, del_attr("schedule.T_end")),
                                          r"readable attribute 'schedule\.T_end' is missing"),
    "attribute: params_json edited": (
        lambda p: edit(p, set_attr("params_json", storage.canonical_json({**PARAMS, "seed": 4}))), r"params_hash"),
    "header: older format version": (lambda p: edit(p, set_attr("format_version", 1)),
                                     r"format_version 1; this mag_ml reads 2 \(written by an older mag_ml"),
}


def read_with(reader, path):
    if reader == "load_states":
        load_states(path, "all")
    elif reader == "load_observables":
        load_observables(path, "all")
    elif reader == "open_dataset(verify_data=True)":
        open_dataset(path, PARAMS, verify_data=True).close()
    else:
        generate_dataset(path, executor="serial", **KW)


READERS = ["load_states", "load_observables", "open_dataset(verify_data=True)", "generate_dataset"]


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("case", list(CASES))
def test_corruption_is_detected(copy, case, reader):
    damage, match = CASES[case]
    damage(copy)
    before = copy.read_bytes()
    with pytest.raises(DatasetCorruptError) as info:
        read_with(reader, copy)
    message = str(info.value)
    assert str(copy) in message
    assert re.search(match, message), message
    assert "Delete the file and rerun" in message and "overwrite=True" in message
    assert copy.read_bytes() == before  # nothing is replaced without overwrite=True


def test_sound_file_passes_every_reader(finished):
    for reader in READERS:
        read_with(reader, finished)


def test_overwrite_replaces_a_corrupt_file(finished, copy):
    edit(copy, lambda f: f["energy"].__setitem__(7, f["energy"][7] + 1))
    generate_dataset(copy, executor="serial", overwrite=True, **KW)
    for name in ("spins", "energy", "topological_charge", "digest"):
        with h5py.File(copy, "r") as a, h5py.File(finished, "r") as b:
            assert a[name][()].tobytes() == b[name][()].tobytes()


def test_split_reads_check_their_own_states(copy):
    edit(copy, lambda f: f["energy"].__setitem__(8, f["energy"][8] + 1))  # state 8: test split
    load_states(copy, "train")  # the train block is sound and is what was asked for
    load_observables(copy, "validation")
    with pytest.raises(DatasetCorruptError, match="state 8"):
        load_states(copy, "test")
    with pytest.raises(DatasetCorruptError, match="state 8"):
        load_observables(copy, "test")


def test_every_dataset_has_checksums(finished, tmp_path):
    with h5py.File(finished, "r") as f:
        assert set(f) == {"spins", "energy", "energy_per_spin", "topological_charge", "digest", "done", "split"}
        for name in f:
            assert f[name].fletcher32 and f[name].chunks, name
        assert f["spins"].chunks == (1, 3, *SHAPE) and f.attrs["format_version"] == 2
    path = generate_records(tmp_path / "r.h5", params={"seed": 1}, fields=RECORD_FIELDS, n_items=6, task=records,
                            task_args=(1,), executor="serial", progress=False)
    with h5py.File(path, "r") as f:
        assert set(f) == {*RECORD_FIELDS, "digest", "done"}
        for name in f:
            assert f[name].fletcher32 and f[name].chunks, name


def test_dataset_without_checksums_is_refused(copy):
    def strip(f):
        data = f["energy"][()]
        del f["energy"]
        f.create_dataset("energy", data=data)
    edit(copy, strip)
    with pytest.raises(DatasetCorruptError, match=r"dataset 'energy' was written without checksums .*regenerate"):
        load_states(copy, "all")


# -- the recomputation ------------------------------------------------------------------
@pytest.mark.parametrize("boundary", ["periodic", "open"])
def test_charge_kernel_matches_topology(rng, boundary):
    states = np.stack([random_unit(rng, (8, 10)) for _ in range(3)] + [neel_skyrmion((8, 10), 2.0)])
    want = topological_charge(states, boundary=boundary)
    np.testing.assert_allclose(storage._charges(states, boundary == "periodic"), want, rtol=0, atol=1e-12)
    np.testing.assert_allclose(storage._charges(states.astype(np.float32), boundary == "periodic"), want, atol=1e-5)


def test_tolerances_cover_float32_rounding_with_margin(rng):
    """The stored observables are of the float64 states: recomputing from float32 spins stays far inside."""
    shape = (32, 32)
    states = np.stack([random_unit(rng, shape) for _ in range(8)] + [neel_skyrmion(shape, 4.0)])
    tol_e, tol_q = storage._tolerances(H, shape[0] * shape[1], "float32")
    s32 = states.astype(np.float32).astype(np.float64)
    de = max(abs(H.energy(a) - H.energy(b)) for a, b in zip(states, s32))
    dq = np.abs(topological_charge(states) - storage._charges(s32, True)).max()
    assert de < tol_e / 10 and dq < tol_q / 10
    assert tol_e < 0.1 and tol_q < 0.1  # energy[i] += 1 and a whole skyrmion are far outside


def write_random_file(path, n, shape, seed=0):
    params = dataset_params(hamiltonian=H, shape=shape, schedule=SCHEDULE, n_states=n, seed=seed)
    rng = np.random.default_rng(seed)
    with create_dataset_file(path, params) as f:
        for i in range(n):
            s = random_unit(rng, shape)
            write_state(f, i, s, energy=H.energy(s), topological_charge=topological_charge(s))
    return path


def test_verification_reads_in_blocks(tmp_path, monkeypatch):
    path = write_random_file(tmp_path / "blocks.h5", 600, (4, 4))
    reads = []
    real = storage._read_rows

    def spy(f, path, name, a, b):
        out = real(f, path, name, a, b)
        if name == "spins":
            reads.append(len(out))
        return out

    monkeypatch.setattr(storage, "_read_rows", spy)
    assert load_states(path, "all").shape == (600, 3, 4, 4)
    assert reads == [256, 256, 88]
    reads.clear()
    open_dataset(path, verify_data=True).close()
    load_observables(path, "all")
    assert reads and max(reads) <= storage._BLOCK


def test_verification_cost(tmp_path):
    """300 states of 48 x 48: each verified read takes well under a second (about 0.1 s on a laptop core)."""
    path = write_random_file(tmp_path / "cost.h5", 300, (48, 48))
    load_states(path, "all")  # compile the kernels
    for fn in (lambda: load_states(path, "all"), lambda: load_observables(path, "all"),
               lambda: open_dataset(path, verify_data=True).close()):
        start = time.perf_counter()
        fn()
        assert time.perf_counter() - start < 2.0


# -- record tables ------------------------------------------------------------------------
RECORD_FIELDS = {"x": ((4,), "float64"), "n": ((), "int64"), "img": ((2, 3, 3), "float32")}


def records(seed, indices):
    out = []
    for i in indices:
        rng = np.random.default_rng([seed, i])
        out.append((i, {"x": rng.normal(size=4), "n": i * 10, "img": rng.normal(size=(2, 3, 3))}))
    return out


def make_records(path, **kw):
    return generate_records(path, params={"seed": 1, "label": "test"}, fields=RECORD_FIELDS, n_items=6,
                            task=records, task_args=(1,), executor="serial", progress=False, **kw)


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return make_records(tmp_path_factory.mktemp("records") / "table.h5")


RECORD_CASES = {
    "disk: byte of a float field": (lambda p: flip_on_disk(p, "x", (2, 1), byte=0), r"'x'.*checksum"),
    "disk: byte of an integer field": (lambda p: flip_on_disk(p, "n", (4,), byte=0), r"'n'.*checksum"),
    "disk: high byte of an image": (lambda p: flip_on_disk(p, "img", (1, 0, 2, 2), byte=3, mask=0xFF),
                                    r"'img'.*checksum"),
    "disk: byte of a digest": (lambda p: flip_on_disk(p, "digest", (0,), byte=7), r"'digest'.*checksum"),
    "h5py: low-order bit of a float field": (lambda p: flip_through_h5py(p, "x", (3, 0), 1),
                                             r"record\(s\) 3: .*digest"),
    "h5py: integer field + 1": (lambda p: edit(p, lambda f: f["n"].__setitem__(2, f["n"][2] + 1)), r"record\(s\) 2"),
    "h5py: NaN in an image": (lambda p: edit(p, lambda f: f["img"].__setitem__((5, 1, 1, 1), np.nan)),
                              r"record\(s\) 5"),
    "h5py: two records swapped": (lambda p: edit(p, lambda f: swap(f, ["x", "n", "img", "digest"], 1, 4)),
                                  r"record\(s\) 1, 4: .*moved from another index"),
    "attribute: seed edited": (lambda p: edit(p, set_attr("seed", 2)), r"readable attribute seed = 2 disagrees"),
    "attribute: label edited": (lambda p: edit(p, set_attr("label", "tset")), r"readable attribute label"),
}


@pytest.mark.parametrize("reader", ["load_records", "generate_records"])
@pytest.mark.parametrize("case", list(RECORD_CASES))
def test_record_corruption_is_detected(table, tmp_path, case, reader):
    path = tmp_path / "copy.h5"
    shutil.copyfile(table, path)
    damage, match = RECORD_CASES[case]
    damage(path)
    with pytest.raises(DatasetCorruptError) as info:
        load_records(path) if reader == "load_records" else make_records(path)
    message = str(info.value)
    assert str(path) in message and re.search(match, message), message
    assert "overwrite=True" in message


def test_record_table_passes_and_round_trips(table):
    params, arrays = load_records(table, {"seed": 1, "label": "test"})
    assert params == {"seed": 1, "label": "test"}
    assert arrays["n"].tolist() == [0, 10, 20, 30, 40, 50] and arrays["img"].dtype == np.float32
    np.testing.assert_array_equal(arrays["x"][3], np.random.default_rng([1, 3]).normal(size=4))
    assert make_records(table) == table
