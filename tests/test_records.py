"""Generic record tables: resumable, executor-independent, verified on load."""

from __future__ import annotations

import concurrent.futures as cf

import h5py
import numpy as np
import pytest

from mag_ml.data import generate_records, load_records
from mag_ml.data.generation import work_path
from mag_ml.data.storage import DatasetCorruptError, DatasetMismatchError

FIELDS = {"x": ((4,), "float64"), "n": ((), "int64")}


def draws(seed, indices):
    """Record i: four normal numbers from the stream (seed, i) and their count."""
    return [(i, {"x": np.random.default_rng([seed, i]).normal(size=4), "n": 4}) for i in indices]


def failing_after(limit, seed, indices):
    if max(indices) >= limit:
        raise RuntimeError("interrupted")
    return draws(seed, indices)


def make(path, executor="serial", **kw):
    return generate_records(path, params={"seed": 3}, fields=FIELDS, n_items=6, task=draws, task_args=(3,),
                            executor=executor, progress=False, **kw)


def test_same_records_on_any_executor(tmp_path):
    make(tmp_path / "a.h5")
    with cf.ThreadPoolExecutor(2) as ex:
        make(tmp_path / "b.h5", executor=ex, chunk=4)
    pa, a = load_records(tmp_path / "a.h5", {"seed": 3})
    _, b = load_records(tmp_path / "b.h5")
    assert pa == {"seed": 3}
    np.testing.assert_array_equal(a["x"], b["x"])
    np.testing.assert_array_equal(a["x"][5], np.random.default_rng([3, 5]).normal(size=4))
    assert a["n"].tolist() == [4] * 6


def test_interrupted_run_resumes_and_keeps_finished_records(tmp_path):
    path = tmp_path / "r.h5"
    with pytest.raises(RuntimeError, match="interrupted"):
        generate_records(path, params={"seed": 3}, fields=FIELDS, n_items=6, task=failing_after,
                         task_args=(4, 3), executor="serial", progress=False)
    assert not path.exists()
    with h5py.File(work_path(path)) as f:
        assert f["done"][()].tolist() == [True] * 4 + [False] * 2
    make(path)
    make(tmp_path / "ref.h5")
    np.testing.assert_array_equal(load_records(path)[1]["x"], load_records(tmp_path / "ref.h5")[1]["x"])
    assert not work_path(path).exists()


def test_other_parameters_are_refused_unless_overwrite(tmp_path):
    path = make(tmp_path / "r.h5")
    with pytest.raises(DatasetMismatchError, match="seed"):
        generate_records(path, params={"seed": 4}, fields=FIELDS, n_items=6, task=draws, task_args=(4,),
                         executor="serial", progress=False)
    with pytest.raises(DatasetMismatchError, match="seed"):
        load_records(path, {"seed": 4})
    generate_records(path, params={"seed": 4}, fields=FIELDS, n_items=6, task=draws, task_args=(4,),
                     executor="serial", progress=False, overwrite=True)
    assert load_records(path)[0] == {"seed": 4}


def test_damaged_file_is_reported(tmp_path):
    path = make(tmp_path / "r.h5")
    with h5py.File(path, "r+") as f:
        f.attrs["params_json"] = '{"params": {"seed": 5}}'
    with pytest.raises(DatasetCorruptError, match="params_hash"):
        load_records(path)


@pytest.mark.parametrize("fields, match", [({}, "non-empty"), ({"done": ((), "bool")}, "other than 'done'"),
                                           ({"x": ((-1,), "float64")}, "negative"),
                                           ({"x": ((2,), "nonsense")}, "item_shape, dtype")])
def test_bad_fields(tmp_path, fields, match):
    with pytest.raises(ValueError, match=match):
        generate_records(tmp_path / "r.h5", params={}, fields=fields, n_items=2, task=draws, task_args=(0,),
                         executor="serial", progress=False)


def test_wrong_record_shape_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="field 'x' has shape"):
        generate_records(tmp_path / "r.h5", params={}, fields={"x": ((3,), "float64"), "n": ((), "int64")},
                         n_items=2, task=draws, task_args=(0,), executor="serial", progress=False)


def interrupting_after(limit, seed, indices):
    if max(indices) >= limit:
        raise KeyboardInterrupt
    return draws(seed, indices)


def test_serial_interrupt_keeps_finished_records(tmp_path):
    path = tmp_path / "r.h5"
    with pytest.raises(KeyboardInterrupt):
        generate_records(path, params={"seed": 3}, fields=FIELDS, n_items=6, task=interrupting_after,
                         task_args=(3, 3), executor="serial", progress=False)
    with h5py.File(work_path(path), "r") as f:
        assert f["done"][()].tolist() == [True] * 3 + [False] * 3
    make(path)
    make(tmp_path / "ref.h5")
    np.testing.assert_array_equal(load_records(path)[1]["x"], load_records(tmp_path / "ref.h5")[1]["x"])


def wrong_index(seed, indices):
    return [(i + 100, values) for i, values in draws(seed, indices)]


def float_count(seed, indices):
    return [(i, {**values, "n": 4.5}) for i, values in draws(seed, indices)]


@pytest.mark.parametrize("task, error, match", [
    (wrong_index, ValueError, r"returned items for the indices \[100\] when asked for \[0\]"),
    (float_count, ValueError, r"field 'n' has dtype float64, which cannot be stored as int64"),
])
def test_bad_task_results_are_clear_errors(tmp_path, task, error, match):
    with pytest.raises(error, match=match):
        generate_records(tmp_path / "r.h5", params={}, fields=FIELDS, n_items=2, task=task, task_args=(0,),
                         executor="serial", progress=False)


def test_reserved_names(tmp_path):
    with pytest.raises(ValueError, match="other than 'done' and 'digest'"):
        generate_records(tmp_path / "r.h5", params={}, fields={"digest": ((), "uint64")}, n_items=2, task=draws,
                         task_args=(0,), executor="serial", progress=False)
    with pytest.raises(ValueError, match=r"parameter names \['params_hash'\] are reserved"):
        generate_records(tmp_path / "r.h5", params={"params_hash": 1}, fields=FIELDS, n_items=2, task=draws,
                         task_args=(0,), executor="serial", progress=False)
    assert not (tmp_path / "r.h5").exists() and not work_path(tmp_path / "r.h5").exists()


def failing_at(bad, seed, indices):
    if bad in indices:
        raise RuntimeError(f"record {bad} failed")
    return draws(seed, indices)


def test_a_failed_task_does_not_lose_the_others(tmp_path):
    path = tmp_path / "r.h5"
    with cf.ThreadPoolExecutor(2) as ex, pytest.raises(RuntimeError, match="record 2 failed") as info:
        generate_records(path, params={"seed": 3}, fields=FIELDS, n_items=6, task=failing_at, task_args=(2, 3),
                         executor=ex, progress=False)
    assert "1 of 6 tasks failed" in "".join(getattr(info.value, "__notes__", ["1 of 6 tasks failed"]))
    with h5py.File(work_path(path), "r") as f:
        assert f["done"][()].tolist() == [True, True, False, True, True, True]
    make(path)
    np.testing.assert_array_equal(load_records(path)[1]["x"][2], np.random.default_rng([3, 2]).normal(size=4))
