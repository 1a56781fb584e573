"""Profiles, parameter hashes, atomic writes and the load-or-compute cache (mag_ml.artifacts)."""

import json
from pathlib import Path

import numpy as np
import pytest

from mag_ml import AnnealSchedule, Hamiltonian
from mag_ml.chapters import PROFILES, check_profile
from mag_ml.artifacts import (artifact_path, canonical_json, data_root, load_or_compute, package_version,
                              params_hash)
from mag_ml.files import atomic_path, atomic_write, load_json, load_npz, save_json, save_npz

PARAMS = {"profile": "quick", "J": 1.0, "D": 0.3, "shape": (48, 48), "n": 300}


def test_profiles():
    assert PROFILES == ("quick", "paper")
    assert check_profile("paper") == "paper"
    with pytest.raises(ValueError, match=r"profile must be one of \('quick', 'paper'\), got 'fast'"):
        check_profile("fast")


def test_hash_is_stable():
    # a literal: a change of canonicalisation would silently orphan every stored artifact
    assert canonical_json(PARAMS) == '{"D":0.3,"J":1.0,"n":300,"profile":"quick","shape":[48,48]}'
    assert params_hash(PARAMS, version="0.1.0") == "9d88fc15f3aaa647"
    reordered = {k: PARAMS[k] for k in reversed(list(PARAMS))}
    numpy_typed = {**PARAMS, "J": np.float64(1.0), "n": np.int64(300), "shape": np.array([48, 48])}
    assert params_hash(reordered) == params_hash(numpy_typed) == params_hash(PARAMS)
    assert params_hash(PARAMS) == params_hash({**PARAMS, "shape": [48, 48]})  # tuple == list


def test_hash_is_sensitive():
    base = params_hash(PARAMS)
    for key, value in [("J", 1.0000001), ("D", 0.25), ("shape", (48, 50)), ("n", 301), ("profile", "paper")]:
        assert params_hash({**PARAMS, key: value}) != base, key
    assert params_hash({**PARAMS, "extra": None}) != base
    assert params_hash(PARAMS, version="9.9") != base
    assert params_hash({**PARAMS, "n": 300.0}) != base  # documented: 1 and 1.0 differ


def test_hash_of_physics_objects():
    h = {"H": Hamiltonian(D=0.3), "schedule": AnnealSchedule()}
    assert params_hash(h) == params_hash({"H": Hamiltonian(D=0.3), "schedule": AnnealSchedule()})
    assert params_hash(h) != params_hash({**h, "H": Hamiltonian(D=0.31)})
    assert params_hash(h) != params_hash({**h, "H": Hamiltonian(dmi="bulk")})


def test_hash_bad_input():
    with pytest.raises(ValueError, match="finite"):
        params_hash({"T": float("nan")})
    with pytest.raises(TypeError, match="object"):
        params_hash({"f": object()})
    with pytest.raises(TypeError, match="keys must be str"):
        params_hash({1: 2})


def test_artifact_path(tmp_path, monkeypatch):
    p = artifact_path("quick", "states", PARAMS, root=tmp_path, suffix=".npz")
    assert p == tmp_path / "quick" / f"states-{params_hash(PARAMS)}.npz"
    assert not p.parent.exists()  # nothing created
    monkeypatch.setenv("MAG_ML_DATA", str(tmp_path / "env"))
    assert artifact_path("paper", "states", PARAMS).parent == tmp_path / "env" / "paper"
    monkeypatch.delenv("MAG_ML_DATA")
    repo = Path(__file__).resolve().parent.parent
    assert data_root() == repo / "data"
    monkeypatch.chdir(tmp_path)  # the repository's data/ is found from any folder (papermill --cwd book)
    assert data_root() == repo / "data"
    with pytest.raises(ValueError, match="profile"):
        artifact_path("huge", "states", PARAMS)
    with pytest.raises(ValueError, match="name"):
        artifact_path("quick", "../escape", PARAMS)
    with pytest.raises(ValueError, match="suffix"):
        artifact_path("quick", "states", PARAMS, suffix="h5")


def test_atomic_write_keeps_old_file_on_error(tmp_path):
    target = tmp_path / "a.json"
    with atomic_write(target) as f:
        f.write("old")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as f:
            f.write("new, half written")
            raise RuntimeError("compute failed")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]  # no temporary left
    with atomic_path(tmp_path / "sub" / "b.bin") as tmp:  # parent created, suffix kept
        assert tmp.parent == tmp_path / "sub" and tmp.suffix == ".bin"
        tmp.write_bytes(b"x")
    assert (tmp_path / "sub" / "b.bin").read_bytes() == b"x"


def test_load_or_compute_computes_once(tmp_path):
    path = artifact_path("quick", "demo", PARAMS, root=tmp_path, suffix=".npz")
    calls = []

    def compute():
        calls.append(1)
        return {"x": np.arange(5, dtype=np.float64) / 3}

    first = load_or_compute(path, compute, save=save_npz, load=load_npz)
    second = load_or_compute(path, compute, save=save_npz, load=load_npz)
    assert len(calls) == 1
    np.testing.assert_array_equal(first["x"], second["x"])
    assert first["x"].dtype == np.float64


def test_load_or_compute_failure_keeps_old_and_corrupt_is_recomputed(tmp_path):
    path = tmp_path / "r.json"
    load_or_compute(path, lambda: {"v": 1}, save=save_json, load=load_json)

    def boom():
        raise RuntimeError("diverged")

    with pytest.raises(RuntimeError, match="diverged"):
        load_or_compute(path, boom, save=save_json, load=load_json, recompute=True)
    assert load_json(path) == {"v": 1}
    path.write_text('{"v": ')  # truncated by an old non-atomic tool
    with pytest.warns(RuntimeWarning, match="could not be loaded"):
        assert load_or_compute(path, lambda: {"v": 2}, save=save_json, load=load_json) == {"v": 2}
    assert json.loads(path.read_text()) == {"v": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json", "r.json.sha256"]  # no partial file, its digest


def test_package_version():
    assert package_version() == __import__("mag_ml").__version__
