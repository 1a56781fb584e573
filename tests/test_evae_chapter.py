"""The behaviours chapter 3 shows, asserted on the quick profile's trained series.

Kwon et al. (Adv. Sci. 2021), Fig. 2: posterior collapse of the standard VAE
as beta grows; the E-VAE's output energy falling below the training set's
as gamma grows, with the reconstruction error flat and then rising.  The
series are those of the chapter (``train_evae_series("quick", seed=0)``):
reused from ``data/quick/`` when ``make book`` made them, trained here (about
two minutes on 2 CPU cores) otherwise.  Only directions of change are
asserted, not exact numbers.
"""

import numpy as np
import pytest
import torch

from mag_ml.chapters.evae import EVAE_HAMILTONIAN as H
from mag_ml.models import hamiltonian_loss
from mag_ml.chapters.evae import evae_training_spec, loss_regions, sample_states, train_evae_series

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def series():
    return train_evae_series("quick", seed=0, progress=False)


def test_schedule_is_the_profiles(series):
    spec = evae_training_spec("quick")
    assert list(series.vae.values("beta")) == spec["betas"]
    assert set(series.evae) == set(spec["from_betas"])
    for b, s in series.evae.items():
        assert list(s.values("gamma")) == spec["gammas"] and set(s.values("beta")) == {b}


def test_kl_falls_as_beta_grows_into_posterior_collapse(series):
    vae = series.vae
    kl, rc, h = vae.loss("train", "kl"), vae.loss("train", "rc"), vae.loss("train", "h")
    assert np.all(np.diff(kl) < 0), f"L_KL not decreasing with beta: {kl}"
    assert kl[-1] < 1e-2 * kl[0] and kl[-1] < 1.0  # the code carries (almost) nothing
    # collapsed reconstructions: far from the inputs, the energy of a uniform state (L_H = -B)
    assert rc[-1] > 3 * rc.min()
    assert abs(h[-1] + H.B) < 2e-3
    assert [r[2] for r in loss_regions(vae, "beta")] == ["VAE", "posterior collapse"]


def test_evae_energy_falls_below_the_training_set(series):
    energy = series.vae.history[0]["train_energy"]
    ends = []
    for b, s in series.evae.items():
        h = s.loss("train", "h")
        assert h[-1] < h[0] - 3e-3, f"beta={b}: L_H does not fall with gamma: {h}"
        # downhill overall: each step at most slightly above the previous one
        assert np.all(np.diff(h) < 5e-4), f"beta={b}: L_H rises with gamma: {h}"
        ends.append(h[-1])
    assert min(ends) < energy, f"no E-VAE ends below the training set's mean energy {energy}: {ends}"


def test_evae_reconstruction_flat_then_rising(series):
    for b, s in series.evae.items():
        rc = s.loss("train", "rc")
        gamma = s.values("gamma")
        assert rc[-1] > 2 * rc[0], f"beta={b}: L_RC at the largest gamma not above the smallest: {rc}"
        small = gamma <= 1.0  # flat or improving (the energy term sharpens the textures), not rising
        assert rc[small].max() <= 1.1 * rc[0], f"beta={b}: L_RC rises at small gamma: {rc}"
        labels = [r[2] for r in loss_regions(s, "gamma")]
        assert labels == ["reconstruction-dominated", "energy-dominated"]


def test_generated_states_lower_in_energy_with_gamma(series):
    """X'_out from z ~ N(0, I): the E-VAE at the largest gamma generates lower energies than the VAE."""
    b = evae_training_spec("quick")["from_betas"][0]

    def median_energy(model):
        x = torch.from_numpy(sample_states(model, 100, seed=0))
        assert torch.allclose(x.norm(dim=1), torch.ones(()), atol=1e-5)
        return float(hamiltonian_loss(x, H).median())

    vae = median_energy(series.model(beta=b))
    evae = median_energy(series.evae[b].model(-1))
    assert evae < vae - 5e-3
    assert evae < series.vae.history[0]["train_energy"] + 1e-3
