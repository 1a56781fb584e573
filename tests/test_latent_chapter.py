"""The behaviours chapter 4 shows, asserted on the quick profile's trained series.

Kwon et al. (Adv. Sci. 2021), Figs. 3B and 4B: the angle theta between each
output spin and its effective field shrinks as gamma grows, more than in the
gamma = 0 control trained for the same epochs; along a latent interpolation
from the direct minimisation's skyrmion lattice to the lattice with an
interstitial skyrmion, the barrier of the gamma = 100 E-VAE is narrower than
the control's.  The models are chapter 3's: reused from ``data/quick/`` when
present, trained here otherwise.  Only directions of change are asserted, not
exact numbers.
"""

import numpy as np
import pytest
import torch

from mag_ml import topological_charge
from mag_ml.analysis.latent import barrier, interpolate, inverse_map
from mag_ml.data import load_states
from mag_ml.chapters.evae import EVAE_HAMILTONIAN as H
from mag_ml.chapters.evae import barrier_targets, reconstruct_states, sample_states, train_evae_series

pytestmark = pytest.mark.slow
BETA = 1e-3


@pytest.fixture(scope="module")
def series():
    return train_evae_series("quick", seed=0, progress=False)


def _mean_theta(states):
    cos = H.cos_theta(torch.as_tensor(states).double()).numpy()
    return float(np.degrees(np.arccos(np.clip(cos, -1, 1))).mean())


def test_theta_sharpens_with_gamma_beyond_the_control(series):
    test = load_states(series.dataset, "test")
    rec, gen = {}, {}
    for g in (0.0, 1.0, 100.0, 1e5):
        model = series.model(beta=BETA, gamma=g)
        rec[g] = _mean_theta(reconstruct_states(model, test, seed=0))
        gen[g] = _mean_theta(sample_states(model, len(test), seed=0))
    assert rec[0.0] > rec[1.0] > rec[100.0] > rec[1e5], f"mean theta of reconstructions: {rec}"
    assert gen[100.0] < gen[0.0] and gen[1e5] < 0.5 * gen[0.0], f"mean theta of samples: {gen}"
    control = series.model(beta=BETA, gamma=1e5, control=True)
    assert _mean_theta(reconstruct_states(control, test, seed=0)) > 2 * rec[1e5]
    assert _mean_theta(sample_states(control, len(test), seed=0)) > 2 * gen[1e5]


def test_targets_and_barrier_sharpness(series):
    perfect, interstitial, _ = barrier_targets("quick")
    targets = np.stack([perfect, interstitial])
    q = topological_charge(targets)
    assert np.allclose(q, np.round(q), atol=1e-6) and round(q[1]) == round(q[0]) - 1  # one extra skyrmion
    assert H.energy(interstitial) > H.energy(perfect)
    width = {}
    for name, model in (("evae", series.model(beta=BETA, gamma=100.0)),
                        ("control", series.model(beta=BETA, gamma=100.0, control=True))):
        torch.manual_seed(0)
        z, _ = inverse_map(model, targets, steps=300, lr=2e-2)
        b = barrier(interpolate(model, z[0], z[1], n=61, hamiltonian=H).energy)
        assert b.height > 0 and b.R[0] > 0 > b.R[-1]  # a peak inside the path; R > 0 toward the perfect lattice
        width[name] = b.width
    assert width["evae"] < width["control"], width
