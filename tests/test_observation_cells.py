"""estimate() reads the cell size of what it is given: an image of another cell size than the training
cell is refused (the network reads lengths in cells), or resampled onto it when asked.

OVF files carry their cell in the header (OOMMF user's guide, "Vector Field File Format (OVF)":
xstepsize / ystepsize in meshunit); arrays and PNGs take ``cell=`` (default: the training cell).
"""

import numpy as np
import pytest
import torch

from mag_ml.chapters.estimation import parameter_grid
from mag_ml.estimation import Estimator, ParameterScaler, estimate, read_observation, write_spin_png
from mag_ml.io.ovf import write_ovf
from mag_ml.models.cnn import ParameterCNN

NM = 1e-9


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def estimator():
    torch.manual_seed(0)
    return Estimator(ParameterCNN(channels=1, size=32).eval(), ParameterScaler.from_parameters(parameter_grid(2)),
                     stride=8, cell=4 * NM)


def _spins(shape, seed=0):
    s = np.random.default_rng(seed).normal(size=(3, *shape))
    return s / np.linalg.norm(s, axis=0)


def _helix(shape, dx, dy, period=48 * NM):
    """A smooth cycloid along x and y, sampled at the centres of (dx, dy) cells: (3, H, W) unit vectors."""
    h, w = shape
    y, x = np.meshgrid((np.arange(h) + 0.5) * dy, (np.arange(w) + 0.5) * dx, indexing="ij")
    phase = 2 * np.pi * (x + 0.5 * y) / period
    s = np.stack([np.sin(phase), 0.3 * np.sin(2 * np.pi * y / period), np.cos(phase)])
    return s / np.linalg.norm(s, axis=0)


def test_estimator_cell_default_and_check():
    est = Estimator(ParameterCNN(channels=1, size=16), ParameterScaler((0, 0, 0), (1, 1, 1)))
    assert est.cell == 4e-9  # the dx of the training film (mag_ml.chapters.estimation.FILM)
    for bad in (0.0, -4e-9, float("nan"), "4 nm", None):
        with pytest.raises(ValueError, match="cell must be the training cell"):
            Estimator(est.model, est.scaler, cell=bad)


def test_ovf_of_another_cell_size_is_refused(estimator, tmp_path):
    path = write_ovf(tmp_path / "fine.ovf", _spins((64, 64)), cell=(2 * NM, 2 * NM, 1 * NM), format="binary4")
    with pytest.raises(ValueError, match=r"fine\.ovf: cell size 2e-09 m differs from the estimator's training "
                                         r"cell 4e-09 m .* pass resample=True"):
        estimate(path, estimator)
    x, cell = read_observation(path, return_cell=True)
    assert x.shape == (3, 64, 64) and cell == (2 * NM, 2 * NM)
    # within the 1e-6 tolerance the cells are the same
    close = write_ovf(tmp_path / "close.ovf", _spins((40, 40)), cell=(4 * NM * (1 + 1e-7), 4 * NM, 1 * NM))
    assert estimate(close, estimator).shape == (40, 40)
    far = write_ovf(tmp_path / "far.ovf", _spins((40, 40)), cell=(4 * NM * (1 + 1e-5),) * 2 + (1 * NM,))
    with pytest.raises(ValueError, match="far.ovf: cell size 4.00004e-09 m differs"):
        estimate(far, estimator)


def test_resample_gives_half_the_side(estimator, tmp_path):
    fine = _helix((64, 64), 2 * NM, 2 * NM)
    path = write_ovf(tmp_path / "fine.ovf", fine, cell=(2 * NM, 2 * NM, 1 * NM), format="binary8")
    est = estimate(path, estimator, resample=True)
    assert est.shape == (32, 32) and est.resampled and est.cell == 4 * NM
    assert est.observation_cell == (2 * NM, 2 * NM)
    assert est.windows.shape == (1, 3) and est.positions.tolist() == [[0, 0]]  # one 32 x 32 window
    # the resampled image is the field sampled at 4 nm cell centres: the same estimate as an image made at 4 nm
    coarse = _helix((32, 32), 4 * NM, 4 * NM)
    np.testing.assert_allclose(est.mean, estimate(coarse, estimator).mean, rtol=1e-4)
    # an array with cell= behaves as the file; matching cells are not touched
    np.testing.assert_allclose(estimate(fine, estimator, cell=2 * NM, resample=True).mean, est.mean, rtol=1e-6)
    same = estimate(coarse, estimator, cell=4 * NM, resample=True)
    assert not same.resampled and same.shape == (32, 32)


def test_resampled_spins_are_unit_vectors(estimator):
    from mag_ml.estimation import _resample

    fine = _spins((40, 52), 3)
    fine[:, 10:14, 20:24] = 0.0  # a vacancy block stays empty
    out = _resample(fine, (2 * NM, 2 * NM), 4 * NM)
    assert out.shape == (3, 20, 26)
    norm = np.linalg.norm(out, axis=0)
    assert np.all(norm[5:7, 10:12] == 0)
    np.testing.assert_allclose(np.delete(norm.ravel(), np.ravel_multi_index(([5, 5, 6, 6], [10, 11, 10, 11]),
                                                                            norm.shape)), 1.0, atol=1e-12)
    mz = _resample(fine[2:], (3 * NM, 3 * NM), 4 * NM)  # an m_z map: interpolated, not renormalised
    assert mz.shape == (1, 30, 39) and np.abs(mz).max() <= 1.0


def test_non_square_cells_need_resample(estimator, tmp_path):
    spins = _helix((64, 32), 4 * NM, 2 * NM)  # dy = 2 nm: 64 rows of 2 nm are 32 rows of 4 nm
    path = write_ovf(tmp_path / "rect.ovf", spins, cell=(4 * NM, 2 * NM, 1 * NM), format="text")
    with pytest.raises(ValueError, match=r"rect\.ovf: non-square cells, dx = 4e-09 m != dy = 2e-09 m.*"
                                         r"pass resample=True"):
        estimate(path, estimator)
    est = estimate(path, estimator, resample=True)
    assert est.shape == (32, 32) and est.observation_cell == (4 * NM, 2 * NM)
    with pytest.raises(ValueError, match="observation array: non-square cells"):
        estimate(spins, estimator, cell=(4 * NM, 2 * NM))


def test_arrays_and_pngs_take_cell(estimator, tmp_path):
    spins = _spins((64, 64), 1)
    assert estimate(spins, estimator).shape == (64, 64)  # default: the training cell
    with pytest.raises(ValueError, match=r"observation array: cell size 2e-09 m differs from the estimator's "
                                         r"training cell 4e-09 m"):
        estimate(spins, estimator, cell=2 * NM)
    write_spin_png(spins, tmp_path / "m.png")
    with pytest.raises(ValueError, match=r"m\.png: cell size 2e-09 m differs .* resample=True"):
        estimate(tmp_path / "m.png", estimator, cell=(2 * NM, 2 * NM))
    assert estimate(tmp_path / "m.png", estimator, cell=2 * NM, resample=True).shape == (32, 32)
    for bad in (0.0, (1e-9, 2e-9, 3e-9), "2 nm", (-1e-9, 1e-9)):
        with pytest.raises(ValueError, match="cell must be the observation's cell side"):
            estimate(spins, estimator, cell=bad)


def test_ovf_cell_argument_must_agree_with_the_file(estimator, tmp_path):
    path = write_ovf(tmp_path / "m.ovf", _spins((40, 40)), cell=(4 * NM, 4 * NM, 1 * NM))
    assert estimate(path, estimator, cell=4 * NM).shape == (40, 40)
    with pytest.raises(ValueError, match=r"m\.ovf: cell=2e-09 contradicts the file's cell 4e-09 x 4e-09 m"):
        estimate(path, estimator, cell=2e-9)


def test_meshunit_is_applied_and_must_be_a_length(estimator, tmp_path):
    raw = write_ovf(tmp_path / "m.ovf", _spins((40, 40)), cell=(4 * NM, 4 * NM, 1 * NM), format="text").read_bytes()
    nm = (raw.replace(b"# meshunit: m\n", b"# meshunit: nm\n").replace(b"stepsize: 4e-09", b"stepsize: 4.0")
          .replace(b"zstepsize: 1e-09", b"zstepsize: 1.0"))
    (tmp_path / "nm.ovf").write_bytes(nm)
    assert read_observation(tmp_path / "nm.ovf", return_cell=True)[1] == pytest.approx((4 * NM, 4 * NM), rel=1e-15)
    assert estimate(tmp_path / "nm.ovf", estimator).shape == (40, 40)
    (tmp_path / "nm.ovf").write_bytes(nm.replace(b"stepsize: 4.0", b"stepsize: 2.0"))
    with pytest.raises(ValueError, match="nm.ovf: cell size 2e-09 m differs"):
        estimate(tmp_path / "nm.ovf", estimator)
    (tmp_path / "u.ovf").write_bytes(raw.replace(b"# meshunit: m\n", b"# meshunit: unspecified\n"))
    with pytest.raises(ValueError, match=r"u\.ovf: cannot tell its cell size: its meshunit 'unspecified' is not "
                                         r"a length unit.*pass cell="):
        estimate(tmp_path / "u.ovf", estimator)
    assert estimate(tmp_path / "u.ovf", estimator, cell=4 * NM).shape == (40, 40)
    with pytest.raises(ValueError, match="cannot tell its cell size"):
        read_observation(tmp_path / "u.ovf", return_cell=True)


@pytest.mark.parametrize("fmt", ["text", "binary4", "binary8"])
def test_ovf1_file_is_accepted(estimator, tmp_path, fmt):
    spins = _spins((40, 48), 2)
    path = write_ovf(tmp_path / "m.omf", spins, cell=(4 * NM, 4 * NM, 1 * NM), format=fmt, version=1)
    assert path.read_bytes().startswith(b"# OOMMF: rectangular mesh v1.0\n")
    est = estimate(path, estimator)
    assert est.shape == (40, 48) and not est.resampled and est.windows.shape == (2 * 3, 3)
    np.testing.assert_allclose(est.mean, estimate(spins, estimator).mean, rtol=1e-5)
    fine = write_ovf(tmp_path / "fine.omf", _helix((64, 64), 2 * NM, 2 * NM), cell=(2 * NM, 2 * NM, 1 * NM),
                     format=fmt, version=1)
    with pytest.raises(ValueError, match="fine.omf: cell size 2e-09 m"):
        estimate(fine, estimator)
    assert estimate(fine, estimator, resample=True).shape == (32, 32)


def test_ovf_in_ampere_per_metre_is_refused_with_a_hint(estimator, tmp_path):
    path = write_ovf(tmp_path / "M.omf", _spins((40, 40)) * 5.8e5, cell=(4 * NM, 4 * NM, 1 * NM),
                     valueunits="A/m", version=1)
    with pytest.raises(ValueError, match=r"m_z must lie in \[-1, 1\].*in 'A/m': divide M by M_s"):
        estimate(path, estimator)
