"""The cached pipelines of chapters 6-7 (mag_ml.chapters.estimation): what the chapters used to wire inline.

Each test shrinks the quick profile (monkeypatched table) and checks that the
function returns what the direct calls return, caches under ``root`` and
reads the cache back.
"""

import numpy as np
import pytest

import mag_ml.chapters.estimation as estimation
import mag_ml.physics.hysteresis as hysteresis
from mag_ml.chapters.estimation import (MICROMAGNETICS_PROFILES, ESTIMATOR_PROFILES, FILM_IMAGES,
                                        estimator_observation, estimator_spec, film, hysteresis_loops,
                                        interval_corners, loop_ensembles,
                                        micromagnetic_dataset, micromagnetics_spec, midpoint_grid, parameter_grid,
                                        resimulation, size_study_images, thermal_images)
from mag_ml.estimation import read_observation
from mag_ml.physics.hysteresis import hysteresis_loop
from mag_ml.physics.micromagnetics import MicromagneticParameters, thermal_run

TINY_IMAGES = dict(dx=(2e-9,), shape=(8, 8), n_anneal=20, n_sweeps=10, movie_shape=(8, 8), n_snapshots=3)
TINY_ESTIMATOR = dict(ESTIMATOR_PROFILES["quick"], shape=(16, 16), n_grid=2, n_anneal=20, n_sweeps=10,
                      sizes=(8, 16), n_snapshots=3, hysteresis=dict(shape=(8, 8), B_max=1.5, n_steps=3, n_sweeps=10))


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setitem(MICROMAGNETICS_PROFILES, "quick", TINY_IMAGES)
    monkeypatch.setitem(ESTIMATOR_PROFILES, "quick", TINY_ESTIMATOR)


def test_quick_profile_keeps_the_chapters_sizes():
    assert estimator_spec("quick")["n_snapshots"] == 16  # the literal of chapter 7's re-simulation
    assert estimator_spec("paper")["n_snapshots"] >= 16
    assert micromagnetics_spec("quick")["shape"] == (128, 128)


def test_thermal_images_are_the_direct_runs_and_are_cached(tiny, tmp_path, monkeypatch, capsys):
    images = thermal_images("quick", seed=3, root=tmp_path)
    assert list(images) == list(FILM_IMAGES) and "4 images of (8, 8) cells" in capsys.readouterr().out
    spec = micromagnetics_spec("quick")
    for k, (label, spins) in enumerate(images.items()):
        p = MicromagneticParameters(**FILM_IMAGES[label], **spec["film"])
        direct = thermal_run(p, (8, 8), spec["T"], seed=3, sample=k, n_anneal=20, n_sweeps=10).spins
        np.testing.assert_array_equal(spins, direct)
    assert len(list((tmp_path / "quick").glob("thermal_images-*.npz"))) == 1

    def fail(*args, **kwargs):
        raise AssertionError("recomputed instead of loaded")

    monkeypatch.setattr(estimation, "thermal_run", fail)
    again = thermal_images("quick", seed=3, root=tmp_path, progress=False)
    assert capsys.readouterr().out == ""
    for label in images:
        np.testing.assert_array_equal(again[label], images[label])
    with pytest.raises(ValueError, match="profile"):
        thermal_images("huge", root=tmp_path)


def test_size_study_and_observation(tiny, tmp_path):
    p, images = size_study_images("quick", seed=1, root=tmp_path)
    np.testing.assert_array_equal(p, midpoint_grid(2)[0])
    assert list(images) == [8, 16] and images[8].shape == (3, 8, 8) and images[16].dtype == np.float32
    _, direct = micromagnetic_dataset("quick", [p], shape=(16, 16), seed=1 + 4, name="estimator_size_16",
                                      executor="serial", progress=False, root=tmp_path)
    np.testing.assert_array_equal(images[16], direct[0])

    obs = estimator_observation("quick", seed=1, root=tmp_path)
    np.testing.assert_array_equal(obs.parameters, midpoint_grid(2)[-1])
    assert obs.spins.shape == (3, 16, 16)
    assert obs.path.is_file() and obs.path.parent == tmp_path / "quick" and obs.path.suffix == ".png"
    assert obs.path.name.startswith("estimator_observation-")
    np.testing.assert_allclose(read_observation(obs.path)[2], obs.spins[2], atol=2.5 / 255)  # 8-bit m_z
    again = estimator_observation("quick", seed=1, root=tmp_path)
    assert again.path == obs.path
    np.testing.assert_array_equal(again.spins, obs.spins)


def test_resimulation_is_the_direct_run(tiny):
    params = midpoint_grid(2)[0]
    run = resimulation("quick", params, seed=2)
    spec = estimator_spec("quick")
    direct = thermal_run(film(params, spec["film"]), (16, 16), spec["T"], seed=2 + 6, n_anneal=20, n_sweeps=10,
                         n_snapshots=3)
    np.testing.assert_array_equal(run.spins, direct.spins)
    assert len(run.snapshots) == 3
    np.testing.assert_array_equal(run.snapshot_temperatures, direct.snapshot_temperatures)


def test_hysteresis_loops_match_the_direct_loops_and_resume_from_checkpoints(tiny, tmp_path, monkeypatch):
    films = {"a": parameter_grid(2)[0], "b": parameter_grid(2)[-1]}
    loops = hysteresis_loops("quick", films, seed=4, root=tmp_path)
    assert list(loops) == ["a", "b"]
    spec = estimator_spec("quick")
    for label, p in films.items():
        direct = hysteresis_loop(film(p, spec["film"]), (8, 8), spec["T"], 1.5, 3, n_sweeps=10, seed=4,
                                 progress=False)
        np.testing.assert_array_equal(loops[label].B, direct.B)
        np.testing.assert_array_equal(loops[label].m_z, direct.m_z)
        np.testing.assert_array_equal(loops[label].coercive_fields, direct.coercive_fields)  # NaN: no reversal
    assert len(list((tmp_path / "quick").glob("hysteresis_loop-*.npz"))) == 2

    def fail(*args, **kwargs):
        raise AssertionError("swept again instead of read from the checkpoint")

    monkeypatch.setattr(hysteresis, "thermal_run", fail)
    again = hysteresis_loops("quick", films, seed=4, root=tmp_path)
    for label in films:
        np.testing.assert_array_equal(again[label].m_z, loops[label].m_z)
        np.testing.assert_array_equal(again[label].final_state, loops[label].final_state)
    with pytest.raises(ValueError, match="A_ex"):
        hysteresis_loops("quick", {"bad": (-1e-12, 3e-3, 1e6)}, root=tmp_path)


def test_loop_ensembles_average_independent_seeds(tiny, tmp_path):
    films = {"a": parameter_grid(2)[0]}
    ens = loop_ensembles("quick", films, seeds=(1, 2, 3), root=tmp_path)["a"]
    single = [hysteresis_loops("quick", films, seed=s, root=tmp_path)["a"] for s in (1, 2, 3)]
    m = np.array([loop.m_z for loop in single])
    np.testing.assert_allclose(ens.m_z, m.mean(axis=0))
    np.testing.assert_allclose(ens.m_z_std, m.std(axis=0, ddof=1))
    assert ens.seeds == (1, 2, 3) and not np.array_equal(m[0], m[1])  # independent streams differ
    mean, sd = ens.field_stats("saturation_field")
    v = [loop.saturation_field for loop in single]
    assert mean == pytest.approx(np.mean(v)) and sd == pytest.approx(np.std(v, ddof=1))
    with pytest.raises(ValueError, match="name must be"):
        ens.field_stats("remanence")
    # magnetometry: the moment at +B_max per volume, M_s <m_z>, below M_s at 300 K and never above it
    top = np.isclose(ens.B, ens.B.max())
    assert top.sum() == 2  # the start of the down branch and the end of the up branch
    mv, mv_sd = ens.moment_per_volume(5e5)
    per_seed = [5e5 * np.mean(loop.m_z[top]) for loop in single]
    assert mv == pytest.approx(np.mean(per_seed)) and mv_sd == pytest.approx(np.std(per_seed, ddof=1))
    assert 0 < mv < 5e5
    with pytest.raises(ValueError, match="M_s must be a positive"):
        ens.moment_per_volume(-1.0)
    for bad in ((1,), (2, 2)):
        with pytest.raises(ValueError, match="seeds must be at least 2 distinct"):
            loop_ensembles("quick", films, seeds=bad, root=tmp_path)


def test_interval_corners_are_clipped_to_the_ranges():
    iv = np.array([[10e-12, 12e-12], [1e-3, 2e-3], [0.5e6, 1.2e6]])
    c = interval_corners(iv)
    assert c.shape == (8, 3)
    np.testing.assert_allclose(np.unique(c[:, 0]), [10e-12, 12e-12])
    np.testing.assert_allclose(np.unique(c[:, 1]), [1.5e-3, 2e-3])  # clipped to the grid's D range
    np.testing.assert_allclose(np.unique(c[:, 2]), [0.5e6, 0.9e6])
    with pytest.raises(ValueError, match="interval is None"):
        interval_corners(None)
    with pytest.raises(ValueError, match=r"interval must be a finite \(3, 2\)"):
        interval_corners(iv[::-1, ::-1])


def test_imaged_keeps_the_grid_and_augmentation_draws_reproducible_conditions():
    """Micrographs at another pixel come back on the states' own grid; each image draws its own conditions."""
    rng = np.random.default_rng(0)
    spins = rng.normal(size=(5, 3, 24, 24))
    spins /= np.linalg.norm(spins, axis=1, keepdims=True)
    for pixel in (2.34e-9, 4e-9, 6e-9):
        x = estimation.imaged(spins, 4e-9, pixel=pixel, psf_fwhm=0.0, noise=0.0)
        assert x.shape == (5, 1, 24, 24) and x.dtype == np.float32
    clean = estimation.imaged(spins, 4e-9, pixel=4e-9, psf_fwhm=0.0, noise=0.0)
    np.testing.assert_array_equal(clean[:, 0], spins[:, 2].astype(np.float32))  # the identity microscope
    x, conditions = estimation.augmented_inputs(spins, 4e-9, seed=3)
    again, _ = estimation.augmented_inputs(spins[2:], 4e-9, seed=3)
    assert x.shape == (5, 1, 24, 24) and conditions.shape == (5, 3)
    assert len({tuple(c) for c in conditions}) == 5  # one microscope per image
    assert all(estimation.within_augmentation(c) for c in conditions)
    np.testing.assert_array_equal(again[0], estimation.augmented_inputs(spins[2:3], 4e-9, seed=3)[0][0])
    assert not np.array_equal(x[2], again[0])  # the stream is (seed, index in the batch), stated in the docstring
    assert not estimation.within_augmentation((4e-9, 24e-9, 0.0))
    with pytest.raises(ValueError, match=r"augmentation\['noise'\]"):
        estimation.augmented_inputs(spins, 4e-9, seed=0, augmentation=dict(pixel=(2e-9, 6e-9), psf_fwhm=(0, 1e-8),
                                                                            noise=(0.3, 0.1)))


def test_augmented_training_shares_the_clean_stages_and_checks_from_stage(tiny, tmp_path, monkeypatch):
    """The augmented estimator starts from the clean one's checkpoint; only the later stages see imaged windows."""
    monkeypatch.setitem(ESTIMATOR_PROFILES, "quick", dict(TINY_ESTIMATOR, n_train=16, window=8, train_stride=8,
                                                           stride=8, widths=(4, 4, 8, 8), batch_size=16))
    datasets = estimation.estimator_datasets("quick", seed=0, progress=False, root=tmp_path)
    clean = estimation.train_estimator("quick", seed=0, datasets=datasets, progress=False, root=tmp_path,
                                       device="cpu")
    aug = estimation.train_estimator("quick", seed=0, datasets=datasets, progress=False, root=tmp_path,
                                     device="cpu", augmentation=estimation.AUGMENTATION)
    n0 = estimation.estimator_spec("quick")["stages"][0][0]
    assert aug.history["train"][:n0] == clean.history["train"][:n0]
    assert aug.history["train"][n0:] != clean.history["train"][n0:]
    assert sorted(p.name for p in tmp_path.rglob("estimator_cnn_augmented-*/stage_*")) == ["stage_1", "stage_2"]
    for bad in (0, 3, "1"):
        with pytest.raises(ValueError, match="from_stage"):
            estimation.train_estimator("quick", seed=0, datasets=datasets, progress=False, root=tmp_path,
                                       augmentation=dict(estimation.AUGMENTATION, from_stage=bad))


TINY_FEGE = dict(shape=(16, 16), n_train=12, n_calibration=9, n_test=6, n_anneal=20, n_sweeps=10, window=8,
                 train_stride=8, stride=8, widths=(4, 4, 8, 8), dropout=0.0, stages=((1, 1e-3),), batch_size=16)


def test_fege_micrograph_is_sampled_at_the_camera_pixel_and_linear_in_m_s():
    """Fresnel contrast at small defocus is linear in the phase (transport of intensity), so in M_s t."""
    spins = thermal_run(MicromagneticParameters(A_ex=8.78e-12, D=1.58e-3, M_s=3.84e5, **estimation.FEGE_FILM),
                        (32, 32), 265.0, seed=0, n_anneal=50, n_sweeps=10).spins
    quiet = dict(estimation.FEGE_LTEM, noise=0.0, defocus=20e-6)
    img = estimation.fege_micrograph(spins, 3e5, seed=0, ltem=quiet)
    assert img.kind == "ltem" and img.pixel == 2.34e-9 and img.data.shape == (64, 64)  # 32 * 4.68 / 2.34
    double = estimation.fege_micrograph(spins, 6e5, seed=0, ltem=quiet)
    contrast, contrast2 = img.data - 1, double.data - 1
    assert np.abs(contrast).max() > 1e-3
    np.testing.assert_allclose(contrast2, 2 * contrast, atol=0.05 * np.abs(contrast2).max())
    noisy = [estimation.fege_micrograph(spins, 3e5, seed=1, index=i).data for i in (0, 0, 1)]
    np.testing.assert_array_equal(noisy[0], noisy[1])
    assert not np.array_equal(noisy[0], noisy[2])


def test_fege_pipeline_trains_an_ltem_estimator_that_reads_micrographs_only(tiny, tmp_path, monkeypatch):
    monkeypatch.setitem(estimation.FEGE_PROFILES, "quick", TINY_FEGE)
    data = estimation.fege_datasets("quick", seed=0, progress=False, root=tmp_path)
    assert {k: len(v[0]) for k, v in data.items()} == dict(train=12, calibration=9, test=6)
    for p, _ in data.values():
        assert all(lo <= v <= hi for row in p for v, (lo, hi) in zip(row, estimation.FEGE_RANGES))
    est = estimation.train_fege_estimator("quick", seed=0, datasets=data, progress=False, root=tmp_path, device="cpu")
    assert est.image_kind == "ltem" and est.cell == estimation.FEGE_FILM["dx"] and est.level == 0.9
    ex = estimation.fege_example("quick", est, data, seed=0, n_boot=100, root=tmp_path)
    assert ex.micrograph.pixel == estimation.FEGE_LTEM["pixel"] and ex.estimate.resampled
    assert ex.estimate.interval.shape == (3, 2) and ex.coverage.shape == (3,)
    assert ex.period[0] == pytest.approx(4 * np.pi * estimation.FEGE[0] / estimation.FEGE[1])
    assert 0 < ex.moment_per_volume <= estimation.FEGE[2]  # M_s <m_z> (20 sweeps here: not yet saturated)
    assert {r["predictor"] for r in ex.rows} == {"CNN", "range centre"}
    from mag_ml.estimation import estimate
    with pytest.raises(ValueError, match="reads Lorentz TEM micrographs"):
        estimate(ex.spins, est)
    with pytest.raises(ValueError, match="differs from the estimator's training cell"):
        estimate(ex.micrograph, est)  # 2.34 nm pixels, 4.68 nm cells: resampling is asked for, never silent
    from mag_ml.estimation import Estimator
    spins_estimator = Estimator(est.model, est.scaler, cell=est.cell)  # the same network declared an m_z reader
    with pytest.raises(ValueError, match="reads spins or m_z maps.*got a ltem micrograph"):
        estimate(ex.micrograph, spins_estimator, resample=True)
    with pytest.raises(ValueError, match="image_kind must be one of"):
        Estimator(est.model, est.scaler, image_kind="mfm")


@pytest.mark.parametrize("profile", ["quick", "paper"])
def test_every_profile_can_train_the_augmented_twin(profile):
    """The augmentation starts after a clean stage: every profile has one to share (the chapter runs it)."""
    stages = estimation.estimator_spec(profile)["stages"]
    assert 1 <= estimation.AUGMENTATION["from_stage"] < len(stages)
