"""The behaviours chapter 4 shows, asserted on the quick profile's trained series.

Kwon et al. (Adv. Sci. 2021), Figs. 3B and 4B: the angle theta between each
output spin and its effective field shrinks as gamma grows; along a latent
interpolation from a skyrmion lattice to the lattice with an interstitial
skyrmion, the end plateaus and the barrier fall as gamma grows.  The models
are chapter 3's (``train_evae_series("quick", seed=0)``): reused from
``data/quick/`` when present, trained here (about two minutes on 2 CPU
cores) otherwise.  Only directions of change are asserted, not exact numbers.
"""

import numpy as np
import pytest
import torch

from mag_ml import relax, topological_charge
from mag_ml.analysis.collapse import skyrmion_lattice
from mag_ml.analysis.latent import barrier, interpolate, inverse_map
from mag_ml.analysis.spirals import skyrmion
from mag_ml.data import load_states
from mag_ml.chapters.evae import EVAE_HAMILTONIAN as H
from mag_ml.chapters.evae import evae_dataset_spec, reconstruct_states, sample_states, train_evae_series

pytestmark = pytest.mark.slow
BETA = 1e-3


@pytest.fixture(scope="module")
def series():
    return train_evae_series("quick", seed=0, progress=False)


def _mean_theta(states):
    cos = H.cos_theta(torch.as_tensor(states).double()).numpy()
    return float(np.degrees(np.arccos(np.clip(cos, -1, 1))).mean())


def test_theta_sharpens_with_gamma(series):
    test = load_states(series.dataset, "test")
    rec, gen = {}, {}
    for g in (0.0, 1.0, 100.0, 1e5):
        model = series.model(beta=BETA, gamma=g)
        rec[g] = _mean_theta(reconstruct_states(model, test, seed=0))
        gen[g] = _mean_theta(sample_states(model, len(test), seed=0))
    assert rec[0.0] > rec[1.0] > rec[100.0] > rec[1e5], f"mean theta of reconstructions: {rec}"
    assert gen[100.0] < gen[0.0] and gen[1e5] < 0.5 * gen[0.0], f"mean theta of samples: {gen}"


def test_interpolation_barrier_and_plateaus_fall_with_gamma(series):
    L = evae_dataset_spec("quick")["shape"][0]
    perfect, _ = relax(H, skyrmion_lattice((L, L), L / 2))
    centre = (L / 2 - L / 12, L / 4)
    y, x = np.mgrid[0:L, 0:L]
    inside = np.hypot(y - centre[0], x - centre[1]) < 6.0
    interstitial, _ = relax(H, np.where(inside, skyrmion((L, L), 3.0, centre=centre), perfect))
    targets = np.stack([perfect, interstitial])
    assert np.allclose(topological_charge(targets), [-4, -5], atol=1e-6)
    result = {}
    for g in (0.0, 100.0):
        model = series.model(beta=BETA, gamma=g)
        z, _ = inverse_map(model, targets, steps=300, lr=2e-2)
        energy = interpolate(model, z[0], z[1], n=41, hamiltonian=H).energy
        result[g] = (energy[0], energy[-1], barrier(energy).height)
    (s0, e0, b0), (s1, e1, b1) = result[0.0], result[100.0]
    assert s1 < s0 and e1 < e0, f"plateaus (start, end, barrier) by gamma: {result}"
    assert 0 < b1 < b0, f"barrier heights by gamma: {result}"
