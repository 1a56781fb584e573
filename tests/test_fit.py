"""Generic supervised training: learns, resumes exactly, refuses foreign checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mag_ml.training import TrainingDivergedError, fit

torch.set_num_threads(1)


def data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    return x, x @ np.array([[1.0], [-2.0], [0.5]]) + 0.3


def model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Dropout(0.1), torch.nn.Linear(8, 1))


def test_learns_a_linear_map():
    x, y = data()
    result = fit(model(), (x, y), validation=data(16, 1), epochs=60, batch_size=16, lr=1e-2, progress=False)
    assert result.history["train"][-1] < 0.05 * result.history["train"][0]
    assert result.history["validation"][-1] < 0.01 * result.history["validation"][0]
    assert not result.model.training


def test_interrupted_run_resumes_to_the_same_weights(tmp_path):
    x, y = data()
    full = fit(model(), (x, y), epochs=6, batch_size=16, directory=tmp_path / "a", progress=False)
    fit(model(), (x, y), epochs=3, batch_size=16, directory=tmp_path / "b", progress=False)
    resumed = fit(model(), (x, y), epochs=6, batch_size=16, directory=tmp_path / "b", progress=False)
    assert resumed.history == full.history
    for a, b in zip(full.model.parameters(), resumed.model.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    with pytest.raises(ValueError, match="other data or settings"):
        fit(model(), (x, 2 * y), epochs=6, batch_size=16, directory=tmp_path / "a", progress=False)


def test_custom_loss_and_bad_input():
    x, y = data()
    seen = []

    def loss(m, xb, yb):
        seen.append(len(xb))
        return ((m(xb) - yb) ** 2).mean()

    fit(model(), (x, y), loss=loss, epochs=1, batch_size=50, progress=False)
    assert seen == [50, 14]
    with pytest.raises(TypeError, match="tuple"):
        fit(model(), x, epochs=1, progress=False)
    with pytest.raises(ValueError, match="rows"):
        fit(model(), (x, y[:10]), epochs=1, progress=False)
    with pytest.raises(ValueError, match="epochs"):
        fit(model(), (x, y), epochs=0, progress=False)
    with pytest.raises(TrainingDivergedError, match="non-finite"):
        fit(model(), (x, y * np.nan), epochs=1, progress=False)
