"""The chapter layer of chapters 3-5 (mag_ml.chapters.evae): profile tables, shared model outputs, cached runs.

Small, fast checks on random models and a miniature open-boundary run under
a temporary artifact root; the one check that needs the quick profile's
dataset (the independent training of chapter 5) is marked slow.
"""

import numpy as np
import pytest
import torch

from mag_ml.chapters import PROFILES
from mag_ml.chapters.evae import (EVAE_ANALYSIS, EVAE_BARRIER_SEEDS, EVAE_HAMILTONIAN, EVAE_INDEPENDENT,
                                  EVAE_OPEN_BOUNDARY, EVAE_OPEN_HAMILTONIAN, BarrierSeedStudy, barrier_seed_study, OpenBoundaryRun, evae_analysis_spec, evae_training_spec,
                                  independent_evae_spec, latent_directions, open_boundary_run, open_boundary_spec,
                                  reconstruct_states, sample_states)
from mag_ml.models import SpinVAE
from mag_ml.physics.monte_carlo import AnnealSchedule


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return SpinVAE(16, latent_dim=8).eval()


@pytest.fixture(scope="module")
def states():
    x = np.random.default_rng(0).normal(size=(6, 3, 16, 16))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


# ----------------------------------------------------------------------------- tables
@pytest.mark.parametrize("table", [EVAE_ANALYSIS, EVAE_INDEPENDENT, EVAE_OPEN_BOUNDARY, EVAE_BARRIER_SEEDS])
def test_tables_cover_every_profile(table):
    assert set(table) == set(PROFILES)
    assert set(table["quick"]) == set(table["paper"])


def test_quick_open_boundary_and_independent_settings_are_the_chapters():
    """The quick sizes and schedules chapter 5 was written with (its printed results depend on them)."""
    spec = open_boundary_spec("quick")
    assert spec["sizes"] == (32, 48) and spec["n_states"] == 120 and spec["splits"] == (100, 10, 10)
    assert spec["schedule"] == AnnealSchedule(T_start=1.0, T_end=0.01, n_steps=20, sweeps_per_step=50)
    assert (spec["beta"], spec["first_epochs"], spec["gammas"], spec["epochs"]) == (1e-3, 20, (1e4, 1e5), 5)
    assert (spec["batch_size"], spec["lr"], spec["n_samples"]) == (10, 1e-3, 100)
    assert all(open_boundary_spec(p)["padding"] == "zeros" for p in PROFILES)  # no wrap-around at open edges
    assert all(size % 16 == 0 for p in PROFILES for size in open_boundary_spec(p)["sizes"])
    # the independent training: chapter 3's schedule up to its E-VAE's beta, another training seed, no control
    for profile, seed in (("quick", 0), ("paper", 3)):
        ind, train = independent_evae_spec(profile, seed=seed), evae_training_spec(profile)
        beta = train["from_betas"][0]
        assert ind["training_seed"] == seed + 1
        assert ind["spec"] == dict(betas=[b for b in train["betas"] if b <= beta], from_betas=(beta,), controls=False)
    assert EVAE_OPEN_HAMILTONIAN.boundary == "open"
    assert EVAE_OPEN_HAMILTONIAN.as_dict() == {**EVAE_HAMILTONIAN.as_dict(), "boundary": "open"}


def test_barrier_seed_study_counts_and_says_what_the_widths_show():
    def study(evae, control):
        k = len(evae)
        return BarrierSeedStudy(100.0, range(k), evae, control, np.ones(k), np.ones(k), np.arange(k) * 1e-3,
                                np.full(k, 1.5e-3))

    all_narrower = study([5.0, 6.0, 4.0], [6.0, 7.5, 4.5])
    assert all_narrower.n_narrower == 3 and all_narrower.verdict() == "narrower than its control's in all 3 trainings"
    mean, se = all_narrower.mean_difference
    assert np.isclose(mean, -1.0) and np.isclose(se, np.std([-1.0, -1.5, -0.5], ddof=1) / np.sqrt(3))
    mixed = study([5.0, 8.0, 4.0, 7.0], [6.0, 7.0, 4.5, 6.0])
    assert mixed.n_narrower == 2 and mixed.verdict().endswith("in 2 of 4 trainings: no consistent sharpening")
    np.testing.assert_array_equal(mixed.difference, [-1.0, 1.0, -0.5, 1.0])
    broader = study([7.0, 8.0], [6.0, 7.0])
    assert broader.n_narrower == 0 and "broader than its control's in all 2 trainings" in broader.verdict()
    assert np.isnan(study([1.0], [2.0]).mean_difference[1])  # no standard error from one training
    assert all(0 not in profile["branch_offsets"] for profile in EVAE_BARRIER_SEEDS.values())
    assert mixed.n_lower == 2 and broader.n_lower == 2  # heights 0, 1, 2, 3 and 0, 1 (x 1e-3) against 1.5e-3


def test_bad_seed_study_and_branch_seed_arguments(tmp_path):
    from mag_ml.chapters.evae import train_evae_series

    with pytest.raises(ValueError, match=r"targets must have shape \(2, 3, 48, 48\).*got \(3, 48, 48\)"):
        barrier_seed_study("quick", np.zeros((3, 48, 48)), root=tmp_path, progress=False)
    with pytest.raises(ValueError, match="branch_seed must be"):
        train_evae_series("quick", branch_seed=-1, root=tmp_path, progress=False)
    assert not any(tmp_path.rglob("*.h5"))  # refused before any dataset was generated


def test_specs_are_copies_and_check_their_keys():
    a = evae_analysis_spec("quick")
    a["gammas"].append(5.0)
    assert evae_analysis_spec("quick")["gammas"] == [0.0, 1.0, 100.0]
    with pytest.raises(ValueError, match="profile"):
        open_boundary_spec("huge")
    with pytest.raises(ValueError, match="unknown open-boundary setting"):
        open_boundary_spec("quick", dict(size=16))


# ----------------------------------------------------------------------------- model outputs
def test_sample_states_is_the_models_sample_with_a_seeded_generator(model):
    x = sample_states(model, 5, seed=3)
    with torch.no_grad():
        ref = model.sample(5, generator=torch.Generator().manual_seed(3)).numpy()
        one = model.decode(torch.randn(1, 8, generator=torch.Generator().manual_seed(3))).numpy()
    assert x.dtype == np.float32 and x.shape == (5, 3, 16, 16)
    np.testing.assert_array_equal(x, ref)
    np.testing.assert_array_equal(sample_states(model, 1, seed=3), one)
    y = sample_states(model, 5, seed=3, dtype=np.float64)
    assert y.dtype == np.float64 and np.array_equal(y, x.astype(np.float64))
    assert not np.array_equal(sample_states(model, 5, seed=4), x)


def test_reconstruct_states_is_the_models_forward_pass(model, states):
    x = reconstruct_states(model, states, seed=2)
    with torch.no_grad():
        ref = model(torch.from_numpy(states), generator=torch.Generator().manual_seed(2))[0].numpy()
    np.testing.assert_array_equal(x, ref)
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-5)


def test_model_outputs_in_batches_equal_one_batch(model, states):
    """Sampling, reconstruction and encoding stream in batches (bounded memory at paper scale) without changing
    the result beyond float rounding."""
    x = np.concatenate([states] * 5)  # 30 states
    np.testing.assert_allclose(reconstruct_states(model, x, seed=2, batch_size=4),
                               reconstruct_states(model, x, seed=2, batch_size=len(x)), atol=1e-6)
    np.testing.assert_allclose(sample_states(model, 23, seed=5, batch_size=4),
                               sample_states(model, 23, seed=5, batch_size=100), atol=1e-6)
    whole = latent_directions(model, x, batch_size=len(x))
    streamed = latent_directions(model, x, batch_size=4)
    torch.testing.assert_close(streamed.mean, whole.mean, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(streamed.std, whole.std, rtol=1e-5, atol=1e-6)


def test_latent_directions(model, states):
    d = latent_directions(model, states)
    assert len(d) == 6 and d.directions.shape == (6, 8)
    np.testing.assert_allclose(d.directions @ d.directions.T, np.eye(6), atol=1e-10)
    assert d.variance_share.sum() == pytest.approx(1.0) and np.all(np.diff(d.variance_share) <= 1e-12)
    with torch.no_grad():
        mu = model.encode(torch.from_numpy(states))[0].double()
    torch.testing.assert_close(d.latent([]), mu.mean(0))
    torch.testing.assert_close(d.latent([1.0]), mu.mean(0) + d.std[0] * d.directions[0])
    assert d.decode([0.5, -1.0]).shape == (3, 16, 16)
    with pytest.raises(ValueError, match="at most 6 coordinates"):
        d.latent([0.0] * 7)
    with pytest.raises(ValueError, match="at least two states"):
        latent_directions(model, states[:1])


# ----------------------------------------------------------------------------- open boundaries
TINY_OPEN = dict(sizes=(16,), n_states=6, splits=(4, 1, 1),
                 schedule=AnnealSchedule(T_start=1.0, T_end=0.1, n_steps=2, sweeps_per_step=5),
                 first_epochs=1, gammas=(1.0,), epochs=1, batch_size=2)


def test_open_boundary_run_trains_caches_and_compares(tmp_path, monkeypatch):
    run = open_boundary_run("quick", 16, seed=0, device="cpu", progress=False, root=tmp_path, spec=TINY_OPEN)
    assert isinstance(run, OpenBoundaryRun) and run.size == 16 and run.hamiltonian is EVAE_OPEN_HAMILTONIAN
    assert run.dataset.parent == tmp_path / "quick" and run.dataset.name.startswith("open_states-")
    assert run.series.directory.name.startswith("open_evae-") and run.series.name == "open16"
    assert [(s.beta, s.gamma, s.epochs) for s in run.series.steps] == [(1e-3, 0.0, 1), (1e-3, 1.0, 1)]
    assert len(run.series.history) == 2 and (run.series.directory / "history.json").is_file()

    again = open_boundary_run("quick", 16, seed=0, device="cpu", progress=False, root=tmp_path, spec=TINY_OPEN)
    assert again.series.directory == run.series.directory and again.series.history == run.series.history
    for a, b in zip(run.model().state_dict().values(), again.model().state_dict().values()):
        assert torch.equal(a, b)

    assert run.series.model_config["padding"] == "zeros" and run.model().padding == "zeros"
    c = run.compare(4, seed=0)
    assert c["n_ann"] == 6 and c["raw"].shape == c["rel"].shape == c["ann"].shape == c["direct"].shape == (3, 16, 16)
    # the direct minimisation relaxes trial states: at or below the uniform state it also relaxes
    assert c["e_direct"] <= c["e_uni"] + 1e-12
    assert c["e_rel"] <= c["e_raw"] + 1e-12  # relaxation only lowers the energy
    assert 0 < c["hit"] <= 1 and 0 <= c["frac"] <= 1
    assert c["e_uni"] == pytest.approx(EVAE_OPEN_HAMILTONIAN.energy(np.stack([0 * c["raw"][0], 0 * c["raw"][0],
                                                                               1 + 0 * c["raw"][0]])) / 256)
    # only the lowest anneal is read back: it is the state with the lowest stored energy
    assert EVAE_OPEN_HAMILTONIAN.energy(c["ann"]) / 256 == pytest.approx(c["e_ann"], abs=1e-6)
    # the direct minimisation is an artifact: a second comparison loads it instead of relaxing again
    import mag_ml.chapters.evae as evae
    assert len(list((tmp_path / "quick").glob("open_ground_state_search-*.npz"))) == 1
    monkeypatch.setattr(evae, "lowest_lattice_energy", lambda *a, **k: pytest.fail("direct minimisation rerun"))
    again_c = run.compare(4, seed=0)
    assert again_c["e_direct"] == c["e_direct"] and np.array_equal(again_c["direct"], c["direct"])

    other = open_boundary_run("quick", 16, seed=1, device="cpu", progress=False, root=tmp_path, spec=TINY_OPEN)
    assert other.dataset != run.dataset and other.series.directory != run.series.directory


@pytest.mark.slow
def test_independent_evae_is_chapter_3s_schedule_from_another_seed():
    from mag_ml.chapters.evae import independent_evae, train_evae_series

    a, b = train_evae_series("quick", seed=0, progress=False), independent_evae("quick", seed=0, progress=False)
    beta = evae_training_spec("quick")["from_betas"][0]
    assert (a.training_seed, b.training_seed) == (0, 1) and b.dataset == a.dataset and not b.control
    assert a.evae[beta].steps == b.evae[beta].steps  # identical conditions ...
    assert b.vae.steps == a.vae.steps[:len(b.vae.steps)] and b.vae.steps[-1].beta == beta
    # ... and independent weights from the very first step
    wa, wb = a.vae.model(0).state_dict(), b.vae.model(0).state_dict()
    assert not torch.equal(wa["encoder.0.weight"], wb["encoder.0.weight"])
