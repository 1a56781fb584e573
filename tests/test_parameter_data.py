"""The estimator's parameter grid and image datasets (Wang et al. 2020): physics of the grid, files, seeds."""

import numpy as np
import pytest

from mag_ml.chapters.estimation import (GRID_RANGES, FILM_TEMPERATURE, TRAIN_SEED, estimator_spec, film,
                                        latin_hypercube, micromagnetic_dataset, midpoint_grid, parameter_grid,
                                        training_parameters)
from mag_ml.physics.micromagnetics import characteristic_lengths, temperature_to_reduced, to_lattice


def test_grids():
    g = parameter_grid(5)
    assert g.shape == (125, 3) and len(np.unique(g, axis=0)) == 125
    for k, (lo, hi) in enumerate(GRID_RANGES):
        np.testing.assert_allclose(np.unique(g[:, k]), np.linspace(lo, hi, 5))
    m = midpoint_grid(5)
    assert m.shape == (64, 3)
    levels = np.unique(g[:, 0])
    np.testing.assert_allclose(np.unique(m[:, 0]), 0.5 * (levels[1:] + levels[:-1]))
    assert not np.any(np.isin(m[:, 1], g[:, 1]))  # test set B is never on the training grid
    with pytest.raises(ValueError, match="n must be an integer >= 2"):
        parameter_grid(1)


def test_latin_hypercube_and_training_parameters():
    lhs = latin_hypercube(50, seed=3)
    assert lhs.shape == (50, 3)
    for k, (lo, hi) in enumerate(GRID_RANGES):
        strata = np.floor((lhs[:, k] - lo) / (hi - lo) * 50).astype(int)
        assert sorted(strata) == list(range(50))  # one set per stratum of every parameter
    np.testing.assert_array_equal(latin_hypercube(50, seed=3), lhs)
    assert not np.array_equal(latin_hypercube(50, seed=4), lhs)
    np.testing.assert_array_equal(training_parameters("paper"), parameter_grid(5))
    q = estimator_spec("quick")
    np.testing.assert_array_equal(training_parameters("quick", seed=2),
                                  latin_hypercube(q["n_train"], seed=2 + TRAIN_SEED))
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="n must be a positive integer"):
            latin_hypercube(bad)


def test_spec_profiles():
    q, p = estimator_spec("quick"), estimator_spec("paper")
    assert p["shape"] == (512, 512) and p["n_grid"] == 5 and (p["window"], p["stride"]) == (32, 8)
    assert p["sizes"][0] == 128 and p["sizes"][-1] == 1024
    assert p["design"] == "grid" and p["n_train"] == 125 and p["train_stride"] == 8  # the paper's design
    assert p["widths"] == (64, 128, 512, 64) and p["dropout"] == 1.0  # Table I
    assert q["design"] == "latin" and q["epochs"] == sum(e for e, _ in q["stages"])
    assert q["n_grid"] == 4 and q["T"] == FILM_TEMPERATURE == 300.0 and q["film"]["B"] == 0.18
    assert q["film"]["dx"] == 4e-9 and q["film"]["thickness"] == 2e-9
    with pytest.raises(ValueError, match="profile"):
        estimator_spec("huge")


def test_grid_is_wide_resolved_ordered_and_straddles_reorientation():
    """The documented choice, on every corner of the grid (the extremes of each condition)."""
    assert all(hi / lo >= 3 - 1e-12 for lo, hi in GRID_RANGES)  # each parameter spans at least a factor 3
    for a, d, m in parameter_grid(2):
        params = film((a, d, m))
        lengths = characteristic_lengths(params)
        assert lengths.cell_ratios["exchange_length"] <= 1.0  # exchange length >= one cell
        assert 4 * np.pi * a / d >= 6 * params.dx  # spiral period >= 6 cells
        H, scale = to_lattice(params)
        assert temperature_to_reduced(300.0, scale) <= 0.12  # ordered at 300 K
    k_eff = [film((15e-12, 3e-3, m)).K_eff for m in (GRID_RANGES[2][0], GRID_RANGES[2][1])]
    assert k_eff[0] > 0 > k_eff[1]


def _period(mz, dx):
    """Mean wavelength of an m_z map from its power spectrum, sum |m_q|^2 / sum |m_q|^2 |q| (m)."""
    f = np.abs(np.fft.fft2(mz - mz.mean())) ** 2
    qy, qx = np.meshgrid(np.fft.fftfreq(mz.shape[0]), np.fft.fftfreq(mz.shape[1]), indexing="ij")
    q = 2 * np.pi * np.hypot(qx, qy) / dx
    return 2 * np.pi * f.sum() / (f * q).sum()


def test_dataset_files_seeds_and_physics(tmp_path):
    """Images follow the spiral period 4 pi A/D; files are keyed, cached, seeded per image."""
    params = [[10e-12, 5e-3, 0.7e6], [20e-12, 3e-3, 0.7e6]]
    p, s = micromagnetic_dataset("quick", params, shape=(48, 48), seed=1, root=tmp_path, executor="serial",
                                 progress=False)
    assert s.shape == (2, 3, 48, 48) and s.dtype == np.float32
    np.testing.assert_allclose(p, params)
    np.testing.assert_allclose(np.linalg.norm(s, axis=1), 1.0, atol=1e-6)
    period = [_period(x[2].astype(float), 4e-9) for x in s]
    expected = [4 * np.pi * a / d for a, d, _ in params]  # 25 nm and 84 nm
    assert period[1] / period[0] > 1.8  # the longer spiral period shows (ratio 3.4 in the continuum)
    assert 0.5 * expected[0] < period[0] < 2.0 * expected[0]
    # image i depends only on (seed, i): the first image alone is the same; a second call loads the file
    p1, s1 = micromagnetic_dataset("quick", params[:1], shape=(48, 48), seed=1, root=tmp_path, executor="serial",
                                   progress=False)
    np.testing.assert_array_equal(s1[0], s[0])
    _, s3 = micromagnetic_dataset("quick", params[:1], shape=(48, 48), seed=3, root=tmp_path, executor="serial",
                                  progress=False)
    assert not np.array_equal(s3[0], s[0])
    assert len(sorted(tmp_path.glob("quick/micromagnetic_images-*.h5"))) == 3
    with pytest.raises(ValueError, match="A_ex must be a finite real number > 0"):
        micromagnetic_dataset("quick", [[-1e-12, 3e-3, 1e6]], seed=1, root=tmp_path)
    with pytest.raises(ValueError, match=r"\(n, 3\)"):
        micromagnetic_dataset("quick", [[1e-12, 3e-3]], seed=1, root=tmp_path)
