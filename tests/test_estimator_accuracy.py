"""The headline claim of chapter 7: the quick estimator beats the constant predictor on test set B.

Wang et al. (Adv. Sci. 2020) report the CNN's errors on test set B, the
midpoints of the parameter grid that no training image has.  On this book's
grid the constant predictor (the grid centre for every image) is the
baseline any estimator must beat; the chapter's claim, asserted here, is
that the quick-profile estimator's range-normalised RMSE on test B is at
most a third of the constant predictor's for each of A_ex, D and M_s.  The
estimator and datasets are the chapter's (``train_estimator("quick",
seed=0)``): reused from ``data/quick/`` when the chapter made them, made
here (a few minutes on 2 CPU cores) otherwise.  Training is seeded and, on
the CPU, deterministic; the chapter's run with seed 0 reached 4.8, 5.8 and
7.2 times (A_ex, D, M_s; the chapter glues its own as ``testB_gain_*``), so
the factor 3 leaves a margin for other BLAS builds, machines and seeds.
"""

import numpy as np
import pytest

from mag_ml.analysis.estimator_errors import constant_predictor, nrmse
from mag_ml.chapters.estimation import estimator_datasets, estimator_spec, evaluate_estimator, train_estimator
from mag_ml.estimation import PARAMETER_NAMES, predict_images

pytestmark = pytest.mark.slow

#: The factor of issue 12 / chapter 7 by which the estimator must beat the grid centre.
FACTOR = 3.0


@pytest.fixture(scope="module")
def trained():
    datasets = estimator_datasets("quick", seed=0, progress=False)
    return datasets, train_estimator("quick", seed=0, datasets=datasets, progress=False)


def test_estimator_beats_constant_predictor_threefold_on_test_b(trained):
    datasets, estimator = trained
    ranges = estimator_spec("quick")["ranges"]
    p, s = datasets["test_b"]
    cnn = nrmse(p, predict_images(estimator, s).mean(axis=1), ranges)
    const = nrmse(p, constant_predictor(ranges, len(p)), ranges)
    assert np.all(const > 0.2)  # the midpoints are far from the centre: the baseline is not trivial
    for k, name in enumerate(PARAMETER_NAMES):
        assert cnn[k] * FACTOR <= const[k], (f"{name}: range-normalised RMSE {cnn[k]:.3f} on test B, constant "
                                             f"predictor {const[k]:.3f}: only {const[k] / cnn[k]:.2f} times better")


def test_evaluation_agrees_and_intervals_are_reported(trained):
    """The chapter's table holds the same numbers; the calibrated intervals are finite with a measured coverage."""
    datasets, estimator = trained
    ev = evaluate_estimator("quick", estimator, datasets, n_boot=200, seed=0)
    ranges = estimator_spec("quick")["ranges"]
    p, s = datasets["test_b"]
    cnn = nrmse(p, predict_images(estimator, s).mean(axis=1), ranges)
    for k, name in enumerate(PARAMETER_NAMES):
        assert ev.row("test_b", "CNN", name)["nrmse"] == pytest.approx(cnn[k])
    assert np.all(np.isfinite(ev.calibrated.halfwidth)) and ev.level == 0.9
    assert ev.coverage.shape == (3,) and np.all((0 <= ev.coverage) & (ev.coverage <= 1))
