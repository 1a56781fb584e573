"""The stored study results the chapters read were made for the chapters' current data and schedules.

``studies/results/vae_normalisation-quick.json`` (chapter 3, Figure 2A) records
the parameter hash of the training data it used and the schedule; a change to
either makes it stale, and this test says how to rerun it.  It also checks the
regimes the chapter reads off it against its own loss curves.
"""

import json
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULT = ROOT / "studies" / "results" / "vae_normalisation-quick.json"

pytestmark = pytest.mark.slow  # reads (and if missing makes) the quick E-VAE dataset


def test_normalisation_study_is_for_the_current_data_and_schedule():
    from mag_ml.artifacts import params_hash
    from mag_ml.chapters.evae import evae_training_dataset, evae_training_spec
    from mag_ml.data import open_dataset, read_params

    study = json.loads(RESULT.read_text())
    with open_dataset(evae_training_dataset("quick", progress=False)) as f:
        current = params_hash(read_params(f))
    spec = evae_training_spec("quick")
    rerun = "stale study: rerun  python studies/vae_normalisation.py --profile quick"
    assert study["dataset_params_hash"] == current, rerun
    assert (study["betas"], study["epochs"], study["first_epochs"], study["batch_size"]) == \
        (spec["betas"], spec["epochs"], spec["first_epochs"], spec["batch_size"]), rerun


def test_normalisation_study_regimes_follow_from_its_curves():
    study = json.loads(RESULT.read_text())
    assert set(study["variants"]) == {"per_spin", "sum", "per_spin_long"}
    for v in study["variants"].values():
        kl, rc = np.array(v["kl"]), np.array(v["rc"])
        below = [b for b, k in zip(study["betas"], kl) if k < study["kl_collapse"]]
        assert v["collapse_beta"] == (below[0] if below else None)
        assert v["rc_smallest_beta"] == pytest.approx(rc[0])
        assert 0 <= rc.min() and rc.max() <= 4  # per spin: |S_out - S_in|^2 of unit vectors
