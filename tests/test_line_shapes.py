"""Line shapes S(k, f): coarse binning, sharp-line baselines, the Wasserstein-1 distance, the network and its loss."""

import numpy as np
import pytest
import torch

from mag_ml.analysis.defect_networks import (bootstrap_pairs, compare, delta_lines, line_shape_distance,
                                             line_shape_table, predict_line_shapes)
from mag_ml.models import LineShapeMLP, line_shape_loss
from mag_ml.physics.magnons import line_shapes

EDGES = np.linspace(0.0, 100.0, 11)  # 10 bins of 10 GHz


def test_line_shapes_bin_and_normalise_power():
    freqs = np.arange(0.0, 120.0, 1.0)
    power = np.zeros((2, freqs.size))
    power[0, 33] = 2.0  # a sharp line at 33 GHz: bin 3
    power[1, 55:65] = 1.0  # a flat band over 55-64 GHz: half in bin 5, half in bin 6
    power[:, 110] = 5.0  # above the last edge: dropped
    power[:, 0] = 7.0  # the static part below f_min: dropped
    s = line_shapes(freqs, power, EDGES, f_min=0.5)
    assert s.shape == (2, 10) and np.allclose(s.sum(1), 1.0)
    assert s[0, 3] == 1.0 and s[1, 5] == pytest.approx(0.5) and s[1, 6] == pytest.approx(0.5)
    assert np.allclose(line_shapes(freqs, np.zeros((1, freqs.size)), EDGES), 0.1)  # no power: uniform
    with pytest.raises(ValueError, match="edges"):
        line_shapes(freqs, power, EDGES[::-1])
    with pytest.raises(ValueError, match="power"):
        line_shapes(freqs, power[:, :5], EDGES)


def test_sharp_lines_keep_their_mean_and_the_distance_is_the_frequency_shift():
    centres = 0.5 * (EDGES[1:] + EDGES[:-1])
    f = np.array([[12.0, 47.5], [30.0, 81.0]])
    lines = delta_lines(f, EDGES)
    assert lines.shape == (2, 2, 10) and np.allclose(lines.sum(-1), 1.0)
    assert np.allclose((lines * centres).sum(-1), f)  # the mean frequency is kept
    # two sharp lines 20 GHz apart on bin centres: the earth mover moves all the power by 20 GHz
    a, b = delta_lines(np.array([[25.0]]), EDGES), delta_lines(np.array([[45.0]]), EDGES)
    assert line_shape_distance(a, b, EDGES) == pytest.approx([20.0])
    assert line_shape_distance(a, a, EDGES) == pytest.approx([0.0])
    with pytest.raises(ValueError, match="pred and true"):
        line_shape_distance(a, b[..., :5], EDGES)


def test_bootstrap_pairs_scores_means_and_pairs_the_resamples():
    errors = {"good": np.array([1.0, 1.2, 0.9, 1.1]), "bad": np.array([3.0, 2.5, 3.5, 2.8])}
    boot = bootstrap_pairs(errors, n_boot=500, seed=1)
    assert boot["good"]["value"] == pytest.approx(1.05) and boot["good"]["lo"] <= 1.05 <= boot["good"]["hi"]
    assert compare(boot, "good", "bad")[1] == "beats"
    assert "| good | network |" in line_shape_table(boot, networks=["good"])
    with pytest.raises(ValueError, match="one length"):
        bootstrap_pairs({"a": np.zeros(3), "b": np.zeros(4)})


def test_line_shape_network_normalises_and_learns():
    sigma, tau = np.array([2.0, 4.0, 8.0, 16.0]), np.array([1.0, 2.0, 1.0, 4.0])
    k = np.linspace(0, np.pi / 0.5, 9)
    torch.manual_seed(0)
    model = LineShapeMLP(sigma, tau, k, 10, a=0.5, hidden=16, depth=2)
    out = predict_line_shapes(model, sigma, tau)
    assert out.shape == (4, 9, 10) and np.allclose(out.sum(-1), 1.0, atol=1e-5)
    # targets: a sharp line moving with k and with the occupied fraction
    p = sigma / (sigma + tau)
    target = torch.tensor(delta_lines(10 + 70 * p[:, None] * np.sin(0.25 * k[None]) ** 2, EDGES), dtype=torch.float32)
    s, t = torch.tensor(sigma, dtype=torch.float32), torch.tensor(tau, dtype=torch.float32)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = line_shape_loss(model, s, t, target).item()
    for _ in range(200):
        opt.zero_grad()
        loss = line_shape_loss(model, s, t, target)
        loss.backward()
        opt.step()
    assert loss.item() >= 0 and loss.item() < 0.3 * first
