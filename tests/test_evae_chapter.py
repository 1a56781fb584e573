"""The behaviours chapter 3 shows, asserted on the quick profile's trained series.

Kwon et al. (Adv. Sci. 2021), Fig. 2: posterior collapse of the standard VAE
as beta grows; the E-VAE's output energy falling below the training set's
as gamma grows, with the reconstruction error flat and then rising, beside
a gamma = 0 control trained for the same epochs with the same seeds; the
training data hold no state at the ground-state energy.  The series are
those of the chapter (``train_evae_series("quick", seed=0)``): reused from
``data/quick/`` when ``make book`` made them, trained here (about three
minutes on 2 CPU cores) otherwise.  Only directions of change are asserted,
not exact numbers.
"""

import numpy as np
import pytest
import torch

from mag_ml.chapters.evae import EVAE_HAMILTONIAN as H
from mag_ml.chapters.evae import (GROUND_STATE_TOL, evae_dataset, evae_training_spec, ground_state_search,
                                  loss_regions, sample_states, train_evae_series)
from mag_ml.data import load_observables, load_states
from mag_ml.models import hamiltonian_loss

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
        c = series.control[b]
        assert [(x.beta, x.gamma, x.epochs) for x in c.steps] == [(b, 0.0, x.epochs) for x in s.steps]
        assert list(c.values("gamma")) == spec["gammas"]  # drawn at the gammas it parallels


def test_ground_state_is_held_out_of_training_and_validation(series):
    """No training or validation state at (or below) the direct minimisation's energy; the rest kept as it was."""
    ground = ground_state_search("quick").energy
    source = evae_dataset("quick", seed=0, progress=False)
    for split in ("train", "validation"):
        e = load_observables(series.dataset, split)["energy_per_spin"]
        assert e.min() > ground + GROUND_STATE_TOL
        e_src = load_observables(source, split)["energy_per_spin"]
        assert np.array_equal(e, e_src[e_src > ground + GROUND_STATE_TOL])  # the others, in order
        assert (e_src <= ground + GROUND_STATE_TOL).any()  # there was something to hold out
    assert np.array_equal(load_states(series.dataset, "test"), load_states(source, "test"))


def test_control_differs_from_the_evae_only_by_the_energy_term(series):
    """Same weights, seeds and epochs: at gamma = 1e-2 (a negligible energy term) the two are the same training;
    at large gamma only the E-VAE gives up its reconstructions and lowers its energy."""
    for b, s in series.evae.items():
        c = series.control[b]
        rc_e, rc_c = s.loss("train", "rc"), c.loss("train", "rc")
        assert abs(rc_e[0] - rc_c[0]) < 0.02 * rc_c[0], (rc_e[0], rc_c[0])
        # the control never becomes energy-dominated (its L_RC never rises beyond 1.5 times its minimum so far)
        assert [r[2] for r in loss_regions(c, "gamma")] == ["reconstruction-dominated"], rc_c
        assert rc_c[-1] < 0.2 * rc_e[-1], f"control L_RC {rc_c}, E-VAE {rc_e}"
        assert s.loss("train", "h")[-1] < c.loss("train", "h")[-1] - 1e-3


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
