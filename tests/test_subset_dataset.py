"""subset_dataset: a held-out copy of a spin dataset is a verified dataset with exactly the kept states.

Chapter 3 removes every state at the ground-state energy from the E-VAE's
training and validation splits this way (mag_ml.chapters.evae.evae_training_dataset).
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from mag_ml import AnnealSchedule, Hamiltonian
from mag_ml.data import DatasetCorruptError, generate_dataset, load_observables, load_states, read_params, open_dataset
from mag_ml.data import subset_dataset


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    path = tmp_path_factory.mktemp("subset") / "source.h5"
    return generate_dataset(path, hamiltonian=Hamiltonian(J=1.0, D=0.3, B=0.05), shape=(8, 8),
                            schedule=AnnealSchedule(T_start=1.0, T_end=0.1, n_steps=2, sweeps_per_step=5),
                            n_states=7, splits=(4, 2, 1), seed=3, executor="serial", progress=False)


def test_subset_keeps_exactly_the_selected_states(source, tmp_path):
    keep = {"train": [True, False, True, True], "validation": [False, True], "test": [True]}
    out = subset_dataset(source, tmp_path / "held_out.h5", keep, criterion="every other state, for the test")
    for split, mask in keep.items():
        mask = np.asarray(mask)
        np.testing.assert_array_equal(load_states(out, split), load_states(source, split)[mask])
        for name, values in load_observables(out, split).items():
            np.testing.assert_array_equal(values, load_observables(source, split)[name][mask])
    with open_dataset(out) as f:
        params = read_params(f)
    assert params["splits"] == {"train": 3, "validation": 1, "test": 1} and params["n_states"] == 5
    assert params["subset"]["kept"] == {"train": [0, 2, 3], "validation": [1], "test": [0]}
    assert params["subset"]["criterion"] == "every other state, for the test"
    with open_dataset(source) as f:
        assert {k: v for k, v in params.items() if k not in ("subset", "splits", "n_states")} == \
            {k: v for k, v in read_params(f).items() if k not in ("splits", "n_states")}


def test_subset_is_verified_like_any_dataset(source, tmp_path):
    out = subset_dataset(source, tmp_path / "held_out.h5", {"train": [True] * 4, "validation": [True, True],
                                                            "test": [False]}, criterion="all but the test state")
    with h5py.File(out, "r+") as f:  # an edit through h5py: the checksums follow, the digest does not
        f["spins"][0, 2, 0, 0] = -f["spins"][0, 2, 0, 0]
    with pytest.raises(DatasetCorruptError):
        load_states(out, "train")


@pytest.mark.parametrize("keep, match", [
    ({"train": [True] * 4, "validation": [True, True]}, "keep must map each of"),
    ({"train": [True] * 3, "validation": [True, True], "test": [True]}, r"keep\['train'\] must hold 4 flags"),
    ({"train": [False] * 4, "validation": [True, True], "test": [True]}, "keeps no state"),
])
def test_subset_refuses_bad_masks(source, tmp_path, keep, match):
    with pytest.raises(ValueError, match=match):
        subset_dataset(source, tmp_path / "bad.h5", keep, criterion="bad")
    assert not (tmp_path / "bad.h5").exists()
