"""The (sigma, tau) dataset of chapter 8: layout, split, determinism, resumability, bad input."""

import numpy as np
import pytest

import mag_ml.chapters.defects as defects
from mag_ml.chapters.defects import (defect_dataset_spec, defect_grid, defect_split, load_defect_dataset,
                                     write_defect_dataset)
from mag_ml.physics.defects import occupied_fraction

# 3 x 3 pairs, 2 realisations, 128-site wall chains, 16-site dispersion chains, 10 ps records: ~3 s
TINY = dict(defect_dataset_spec("quick", seed=5), n_grid=3, sigma_range=(2.0, 8.0), tau_range=(1.0, 4.0),
            n_validation=2, n_realisations=2, n_wall=128, n_dispersion=16, n_dispersion_realisations=2,
            duration=10.0)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = tmp_path_factory.mktemp("defects") / "tiny.h5"
    write_defect_dataset(path, TINY, executor="serial", progress=False)
    return load_defect_dataset(path)


def test_layout_units_and_split(tiny):
    p, k, x = 9, 16 // 2 + 1, 128 // 2
    d = tiny
    assert d.sigma.shape == d.tau.shape == d.split.shape == (p,) and d.split.dtype == np.int8
    assert np.all(d.sigma > 0) and np.all(d.tau > 0)
    assert d.k.shape == d.f_ideal.shape == (k,) and d.k[0] == 0 and d.k[-1] == pytest.approx(np.pi / d.a)
    assert d.f.shape == d.f_std.shape == d.f_centroid.shape == (p, k)
    assert d.f_centroid_r.shape == d.weight_r.shape == (p, 2, k)
    assert np.allclose((d.weight_r * d.f_centroid_r).sum(1) / d.weight_r.sum(1), d.f_centroid)
    assert d.x.shape == (x,) and d.m_z.shape == (p, x) and d.widths.shape == (p, 2)
    assert np.allclose(d.width, d.widths.mean(1)) and d.width_std.shape == (p,)
    assert d.converged.all()
    # split: the single interior odd-odd pair is the held-out test pair
    assert np.flatnonzero(d.split == 2).tolist() == [4] and (d.split == 1).sum() == 2
    # physics in the records: the wall goes from -z to +z with its centre (m_z = 0) at x = 0 and a width of
    # the order of sqrt(A/K); the dispersion's gap at k = 0 is the anisotropy field's; vacancies lower the mean
    j = int(np.argmin(np.abs(d.x)))
    assert np.all(d.m_z[:, 0] < -0.9) and np.all(d.m_z[:, -1] > 0.9) and np.all(np.abs(d.m_z[:, j]) < 0.05)
    assert np.all((d.widths > 0.8 * d.wall_width) & (d.widths < 3 * d.wall_width))
    assert d.f_ideal[0] == pytest.approx(d.gamma / (2 * np.pi) * 2 * d.K_u / d.M_s * 1e-9)
    assert np.all(d.f_centroid[:, 1:].mean(1) < d.f_ideal[1:].mean())
    # the line shapes: normalised at each k, and their mean frequency is the centroid to within a bin
    edges = d.spectrum_edges
    assert d.spectrum.shape == (p, k, edges.size - 1) and np.allclose(d.spectrum.sum(-1), 1.0)
    mean = (d.spectrum * 0.5 * (edges[1:] + edges[:-1])).sum(-1)
    assert np.abs(mean - d.f_centroid).max() < edges[1] - edges[0]
    p_occ = np.array([occupied_fraction(s, t) for s, t in zip(d.sigma, d.tau)])
    assert np.corrcoef(p_occ, d.occupied_fraction)[0, 1] > 0.8


def test_grid_and_split_rules():
    spec = defect_dataset_spec("quick", seed=0)
    sigma, tau = defect_grid(spec)
    assert sigma.size == tau.size == spec["n_grid"] ** 2
    assert sigma[0] == spec["sigma_range"][0] and tau[-1] == spec["tau_range"][1]
    split = defect_split(spec)
    test = np.flatnonzero(split == 2)
    assert test.tolist() == [8, 10, 12, 22, 24, 26, 36, 38, 40]  # (i, j) both odd and interior, 7 x 7 grid
    # statistics of the quick profile: >= 9 held-out pairs x 8 realisations, >= 8 mean defect periods a chain
    assert spec["n_realisations"] >= 8 and spec["n_dispersion_realisations"] >= 8
    for s in (spec, defect_dataset_spec("paper")):
        assert s["n_dispersion"] >= 8 * (s["sigma_range"][1] + s["tau_range"][1])
    assert set(zip(sigma[test], tau[test])).isdisjoint(zip(sigma[split == 0], tau[split == 0]))
    assert (split == 1).sum() == spec["n_validation"]
    assert np.array_equal(split, defect_split(defect_dataset_spec("quick", seed=0)))
    paper = defect_dataset_spec("paper")
    assert paper["n_grid"] ** 2 >= 100 and paper["n_realisations"] >= 32


def test_same_seed_same_file_and_resume_after_interruption(tmp_path, tiny, monkeypatch):
    real = defects.defect_record

    def failing(spec, sigma, tau, pair):
        if pair == 5:
            raise RuntimeError("interrupted")
        return real(spec, sigma, tau, pair)

    path = tmp_path / "resumed.h5"
    monkeypatch.setattr(defects, "defect_record", failing)
    with pytest.raises(RuntimeError, match="interrupted"):
        write_defect_dataset(path, TINY, executor="serial", progress=False)
    assert not path.exists() and path.with_name(path.name + ".partial").exists()
    calls = []
    monkeypatch.setattr(defects, "defect_record", lambda *a: calls.append(a[-1]) or real(*a))
    write_defect_dataset(path, TINY, executor="serial", progress=False)
    assert calls == [5]  # every other pair was kept from the interrupted run
    again = load_defect_dataset(path)
    for name in ("f", "f_std", "widths", "m_z", "occupied_fraction"):
        assert np.array_equal(getattr(again, name), getattr(tiny, name)), name
    other = tmp_path / "other_seed.h5"
    write_defect_dataset(other, dict(TINY, seed=6), executor="serial", progress=False)
    assert not np.array_equal(load_defect_dataset(other).widths, tiny.widths)


def test_bad_input_raises(tmp_path):
    with pytest.raises(ValueError, match="sigma_range"):
        write_defect_dataset(tmp_path / "a.h5", dict(TINY, sigma_range=(0.0, 8.0)), progress=False)
    with pytest.raises(ValueError, match="n_dispersion = 8.*sigma \\+ tau"):
        write_defect_dataset(tmp_path / "b.h5", dict(TINY, n_dispersion=8), progress=False)
    with pytest.raises(ValueError, match="dt_fraction"):
        write_defect_dataset(tmp_path / "c.h5", dict(TINY, dt_fraction=1.5), progress=False)
    with pytest.raises(ValueError, match="tau"):
        defects.defect_record(TINY, 2.0, -1.0, 0)
    with pytest.raises(ValueError, match="profile"):
        defect_dataset_spec("huge")
    with pytest.raises(ValueError, match="path_or_profile"):
        load_defect_dataset(3)
    with pytest.raises(FileNotFoundError):
        load_defect_dataset(tmp_path / "missing.h5")


def test_explorer_runs_shows_errors_and_has_a_static_grid():
    from mag_ml.widgets import defect_explorer

    spec = dict(TINY, n_wall=128, n_dispersion=32)
    explorer = defect_explorer(spec, sigma=4.0, tau=2.0, presets=((4.0, 1.0),))
    assert explorer.result is not None and explorer.png[:8] == b"\x89PNG\r\n\x1a\n"
    assert 0.8 * 4.47 < explorer.result.wall.width < 3 * 4.47 and "wall width" in explorer.status.value
    explorer.sliders["realisation"].value = 1  # observed: reruns
    assert explorer.result.realisation == 1
    assert explorer.static().data[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="sigma must be in"):
        defect_explorer(spec, sigma=100.0)
