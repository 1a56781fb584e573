"""Analyses over a dataset split stream (issue 14, item 3): chunked results equal unchunked ones; memory is bounded.

Each chunked function of chapters 3-5 (energies, encodings, reconstructions, the Fourier MSE, the theta
distribution) is checked against
its one-batch result on small data, read from the file as a :class:`mag_ml.data.SplitStates` and as an array; the
last test runs the paper-size code path (128 x 128 states) on 200 states in a fresh process and bounds the growth of
its peak resident memory by the chunk size, and shows that the same analyses over the whole split loaded at once
exceed that bound.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mag_ml.analysis.collapse import fourier_mse, theta_distribution
from mag_ml.chapters.evae import EVAE_HAMILTONIAN as H, DecodedStates, latent_directions, reconstruct_states, sample_states
from mag_ml.data import SplitStates, load_states
from mag_ml.models import SpinVAE, energy_losses

from .test_training_speed import write_dataset

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("streaming") / "small.h5", 23, (16, 16), (17, 4, 2), seed=5)


def model():
    torch.manual_seed(0)
    return SpinVAE(16, latent_dim=8, hidden=32).eval()


def test_energy_losses_in_chunks_equal_one_batch(small):
    whole = load_states(small, "train")
    one = energy_losses(whole, H, batch_size=len(whole))
    reference = np.array([H.energy(s.astype(np.float64)) for s in whole]) / (16 * 16) + 2 * H.J
    np.testing.assert_allclose(one, reference, rtol=0, atol=1e-12)  # L_H = E/N - E_0/N, E_0 = -2JN
    for chunk in (1, 3, 17):
        np.testing.assert_array_equal(energy_losses(SplitStates(small, "train"), H, batch_size=chunk), one)
        np.testing.assert_array_equal(energy_losses(torch.from_numpy(whole), H, batch_size=chunk), one)


def test_encodings_of_a_split_in_chunks_equal_one_batch(small):
    whole = load_states(small, "train")
    m = model()
    one = latent_directions(m, whole, batch_size=len(whole))
    for chunk in (2, 5):
        part = latent_directions(m, SplitStates(small, "train"), batch_size=chunk)
        torch.testing.assert_close(part.mean, one.mean, rtol=0, atol=1e-6)
        np.testing.assert_allclose(part.variance_share, one.variance_share, rtol=0, atol=1e-6)
    rec = reconstruct_states(m, SplitStates(small, "train"), seed=4, batch_size=5)
    np.testing.assert_allclose(rec, reconstruct_states(m, whole, seed=4, batch_size=len(whole)), rtol=0, atol=1e-6)


def test_fourier_mse_of_a_split_equals_the_arrays(small):
    whole = load_states(small, "train")
    assert fourier_mse(SplitStates(small, "train"), chunk=4) == pytest.approx(fourier_mse(whole, chunk=len(whole)),
                                                                          rel=1e-12)


def test_theta_distribution_of_a_split_in_chunks_equals_one_batch(small):
    whole = load_states(small, "train")
    centres, density = theta_distribution(H, whole, bins=30, chunk=len(whole))
    for chunk in (1, 4):
        c, d = theta_distribution(H, SplitStates(small, "train"), bins=30, chunk=chunk)
        np.testing.assert_array_equal(c, centres)
        np.testing.assert_array_equal(d, density)
    assert np.sum(density * np.diff(np.linspace(0, np.pi, 31))) == pytest.approx(1.0)


def test_lazy_model_outputs_are_the_decoded_arrays(small):
    split, m = SplitStates(small, "train"), model()
    for lazy, eager in ((reconstruct_states(m, split, seed=4, batch_size=5, lazy=True),
                         reconstruct_states(m, split, seed=4, batch_size=5)),
                        (sample_states(m, 17, seed=2, batch_size=5, lazy=True), sample_states(m, 17, seed=2, batch_size=5))):
        assert isinstance(lazy, DecodedStates) and lazy.shape == eager.shape == (17, 3, 16, 16) and len(lazy) == 17
        np.testing.assert_array_equal(lazy[:], eager)  # the same z, decoded in the same batches
        np.testing.assert_array_equal(np.asarray(lazy, dtype=np.float64), eager.astype(np.float64))
        np.testing.assert_allclose(lazy[7:16], eager[7:16], rtol=0, atol=1e-6)  # other batches: rounding only
        np.testing.assert_allclose(lazy[-1], eager[-1], rtol=0, atol=1e-6)
        np.testing.assert_allclose(np.linalg.norm(lazy[3], axis=0), 1.0, atol=1e-5)  # unit spins
        with pytest.raises(IndexError):
            lazy[17]
        c, d = theta_distribution(H, lazy, bins=30, chunk=4)
        c1, d1 = theta_distribution(H, eager, bins=30, chunk=len(eager))
        np.testing.assert_array_equal(c, c1)
        np.testing.assert_allclose(d, d1, rtol=0, atol=1e-9)
    with pytest.raises(ValueError, match="batch_size"):
        sample_states(m, 4, batch_size=0)
    with pytest.raises(ValueError, match="n"):
        sample_states(m, 0)


def test_theta_distribution_returns_the_mean_angle_of_every_site(small):
    whole = load_states(small, "train").astype(np.float64)
    whole /= np.linalg.norm(whole, axis=1, keepdims=True)
    theta = np.arccos(np.clip(np.stack([H.cos_theta(s) for s in whole]), -1, 1))
    _, _, mean = theta_distribution(H, SplitStates(small, "train"), bins=30, chunk=4, return_mean=True)
    assert mean == pytest.approx(theta.mean(), rel=1e-12)
    assert theta.mean() > 0.05  # the training states are not relaxed: a wrong mean cannot pass as zero
    _, _, narrow = theta_distribution(H, whole, bins=np.linspace(0, 0.05, 5), return_mean=True)
    assert narrow == pytest.approx(theta.mean(), rel=1e-12)  # sites outside the edges still count


def peak_growth(path, mode, chunk):
    out = subprocess.run([sys.executable, "-m", "tests.stream_memory", str(path), mode, str(chunk)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return int(out.stdout.split()[-1])


def test_paper_size_analyses_stay_within_a_bound_set_by_the_chunk(tmp_path):
    path = write_dataset(tmp_path / "paper_size.h5", 200, (128, 128), (200, 0, 0))
    chunk = 16
    state64 = 3 * 128 * 128 * 8
    # per chunk state: its float64 copy, the energy's and the FFT's temporaries and the encoder's activations
    # (about 18 float64 states measured); 32 allowed, plus 16 MiB of allocator slack
    bound = 32 * chunk * state64 + (16 << 20)
    streamed = peak_growth(path, "stream", chunk)
    assert streamed < bound, f"streamed analyses grew the peak memory by {streamed / 2**20:.0f} MiB"
    whole = peak_growth(path, "whole", chunk)  # the split loaded and analysed at once: the bound catches it
    assert whole > bound, f"the unchunked analyses grew it by only {whole / 2**20:.0f} MiB"
