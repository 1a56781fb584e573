"""Image formation (mag_ml.physics.imaging): Lorentz phase against its defining relations, TIE, unitarity."""

from pathlib import Path

import numpy as np
import pytest
import scipy.constants as const

from mag_ml.physics.imaging import (PHI_0, MicroscopeImage, electron_wavelength, ltem_image, ltem_phase,
                                    out_of_plane_image, resample)
from tests.conftest import neel_skyrmion

PIXEL, T, MS = 2e-9, 50e-9, 3.84e5  # FeGe-like film
C = np.pi * const.mu_0 * MS * T / PHI_0  # phase gradient per unit in-plane m [rad/m]


def spectral_gradient(f, pixel):
    h, w = f.shape
    ky = 2 * np.pi * np.fft.fftfreq(h, pixel)[:, None]
    kx = 2 * np.pi * np.fft.fftfreq(w, pixel)[None, :]
    F = np.fft.fft2(f)
    return np.fft.ifft2(1j * kx * F).real, np.fft.ifft2(1j * ky * F).real


def smooth_field(shape, seed):
    """A smooth periodic scalar field (a few low Fourier modes)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:shape[0], 0:shape[1]] * (2 * np.pi / np.array(shape))[:, None, None]
    return sum(rng.normal() * np.cos(a * x + b * y + rng.uniform(0, 2 * np.pi))
               for a in range(0, 3) for b in range(-2, 3) if (a, b) != (0, 0))


def test_electron_wavelength():
    assert electron_wavelength(300e3) == pytest.approx(1.9687e-12, rel=1e-4)
    assert electron_wavelength(200e3) == pytest.approx(2.5079e-12, rel=1e-4)
    with pytest.raises(ValueError, match="voltage"):
        electron_wavelength(-1.0)


def test_phase_gradient_is_the_rotated_induction_for_a_divergence_free_texture():
    psi = smooth_field((48, 64), 0)
    dpx, dpy = spectral_gradient(psi, PIXEL)
    m = np.stack([dpy, -dpx, np.zeros_like(psi)]) / np.abs(np.stack([dpy, dpx])).max()  # curl of psi: div m = 0
    gx, gy = spectral_gradient(ltem_phase(m, pixel=PIXEL, thickness=T, M_s=MS), PIXEL)
    scale = C * np.abs(m).max()
    np.testing.assert_allclose(gx, C * m[1], atol=1e-10 * scale)
    np.testing.assert_allclose(gy, -C * m[0], atol=1e-10 * scale)


def test_a_curl_free_texture_has_no_phase():
    chi = smooth_field((40, 40), 1)
    gx, gy = spectral_gradient(chi, PIXEL)
    m = np.stack([gx, gy, np.zeros_like(chi)]) / np.abs(np.stack([gx, gy])).max()
    phi = ltem_phase(m, pixel=PIXEL, thickness=T, M_s=MS)
    assert np.abs(phi).max() < 1e-10 * C * PIXEL * 40


def test_bloch_skyrmions_show_neel_skyrmions_do_not():
    bloch = neel_skyrmion((64, 64), 6.0, helicity=np.pi / 2)
    neel = neel_skyrmion((64, 64), 6.0, helicity=np.pi)
    kw = dict(pixel=PIXEL, thickness=T, M_s=MS, defocus=200e-6)
    contrast_bloch = ltem_image(bloch, **kw).data.std()
    contrast_neel = ltem_image(neel, **kw).data.std()
    assert contrast_bloch > 0.05
    assert contrast_neel < 0.05 * contrast_bloch


def test_small_defocus_follows_the_transport_of_intensity_equation():
    s = neel_skyrmion((64, 64), 8.0, helicity=np.pi / 2)
    phi = ltem_phase(s, pixel=PIXEL, thickness=T, M_s=MS)
    gx, _ = spectral_gradient(phi, PIXEL)
    _, gy = spectral_gradient(phi, PIXEL)
    lap = spectral_gradient(gx, PIXEL)[0] + spectral_gradient(gy, PIXEL)[1]
    dz = 2e-6
    tie = 1 - electron_wavelength(300e3) * dz / (2 * np.pi) * lap
    image = ltem_image(s, pixel=PIXEL, thickness=T, M_s=MS, defocus=dz).data
    assert np.abs(tie - 1).max() > 1e-3  # a visible contrast, not a trivial agreement
    np.testing.assert_allclose(image - 1, tie - 1, atol=0.02 * np.abs(tie - 1).max())


def test_propagation_conserves_the_beam_and_focus_shows_nothing():
    s = neel_skyrmion((32, 48), 5.0, helicity=np.pi / 2)
    for dz in (0.0, 1e-4, -3e-4):
        img = ltem_image(s, pixel=PIXEL, thickness=T, M_s=MS, defocus=dz)
        assert img.data.mean() == pytest.approx(1.0, abs=1e-12) and img.kind == "ltem" and img.pixel == PIXEL
    np.testing.assert_allclose(ltem_image(s, pixel=PIXEL, thickness=T, M_s=MS, defocus=0.0).data, 1.0, atol=1e-12)
    # opposite defocus inverts the contrast to first order
    a = ltem_image(s, pixel=PIXEL, thickness=T, M_s=MS, defocus=2e-6).data - 1
    b = ltem_image(s, pixel=PIXEL, thickness=T, M_s=MS, defocus=-2e-6).data - 1
    np.testing.assert_allclose(a, -b, atol=0.02 * np.abs(a).max())


def test_out_of_plane_image_blur_and_noise():
    s = neel_skyrmion((64, 64), 6.0)
    clean = out_of_plane_image(s, pixel=PIXEL)
    np.testing.assert_array_equal(clean.data, s[2])
    blurred = out_of_plane_image(s, pixel=PIXEL, psf_fwhm=10e-9).data
    assert blurred.mean() == pytest.approx(s[2].mean(), abs=1e-12)  # a PSF keeps the mean
    assert blurred.min() > s[2].min() + 0.05  # and fills the core
    noisy = out_of_plane_image(s, pixel=PIXEL, noise=0.1, seed=3).data
    assert np.std(noisy - s[2]) == pytest.approx(0.1, rel=0.05)
    np.testing.assert_array_equal(noisy, out_of_plane_image(s, pixel=PIXEL, noise=0.1, seed=3).data)


def test_resample_keeps_the_field_of_view():
    y, x = np.mgrid[0:64, 0:64]
    img = MicroscopeImage(np.sin(2 * np.pi * x / 32), 2e-9, "out_of_plane", {})
    half = resample(img, 4e-9)
    assert half.data.shape == (32, 32) and half.pixel == 4e-9 and half.settings["resampled_from"] == 2e-9
    np.testing.assert_allclose(half.data[0], np.sin(2 * np.pi * np.arange(32) / 16 + np.pi / 32), atol=0.01)  # centres at old 2j + 0.5
    const_img = MicroscopeImage(np.full((10, 10), 0.3), 2.34e-9, "ltem", {})
    np.testing.assert_allclose(resample(const_img, 4e-9).data, 0.3)
    with pytest.raises(TypeError, match="MicroscopeImage"):
        resample(np.zeros((4, 4)), 1e-9)


def test_resample_onto_an_exact_grid():
    """``shape=`` brings a micrograph back onto the grid it was simulated on; a shape off by more than a pixel is refused."""
    y, x = np.mgrid[0:41, 0:41]
    img = MicroscopeImage(np.cos(2 * np.pi * x / 41), 2.34e-9, "out_of_plane", {})
    rounded = resample(img, 4e-9)  # 41 * 2.34 / 4 = 23.985 -> 24
    exact = resample(img, 4e-9, shape=(23, 25))
    assert rounded.data.shape == (24, 24) and exact.data.shape == (23, 25)
    np.testing.assert_allclose(exact.data[0], np.cos(2 * np.pi * (np.arange(25) + 0.5) / 25 - np.pi / 41), atol=0.02)
    with pytest.raises(ValueError, match="shape=.*more than one pixel"):
        resample(img, 4e-9, shape=(22, 24))


def test_bad_input():
    s = neel_skyrmion((8, 8), 2.0)
    with pytest.raises(ValueError, match="shape"):
        ltem_phase(s[:2], pixel=PIXEL, thickness=T, M_s=MS)
    with pytest.raises(ValueError, match="thickness"):
        ltem_phase(s, pixel=PIXEL, thickness=-1.0, M_s=MS)
    with pytest.raises(ValueError, match="pixel"):
        out_of_plane_image(s, pixel=0.0)
    with pytest.raises(ValueError, match="noise"):
        out_of_plane_image(s, pixel=PIXEL, noise=-0.1)
    bad = s.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        ltem_image(bad, pixel=PIXEL, thickness=T, M_s=MS, defocus=1e-6)


def test_agrees_with_mag2exp():
    """The same magnetisation through mag2exp 0.64 (tests/data/make_mag2exp_reference.py): phase and image.

    mag2exp regularises 1/k^2 with a Tikhonov filter of radius kc cells (here 1e-3), a relative change of
    order kc^2 at the lowest wavevector; its df_length is minus our propagation distance.
    """
    ref = np.load(Path(__file__).with_name("data") / "mag2exp_ltem_reference.npz")
    pixel, t, M_s, defocus, _ = ref["settings"]
    phase = ltem_phase(ref["spins"], pixel=pixel, thickness=t, M_s=M_s)
    expected = ref["phase"] - ref["phase"].mean()  # phases are defined up to a constant
    np.testing.assert_allclose(phase, expected, atol=1e-5 * np.ptp(expected))
    image = ltem_image(ref["spins"], pixel=pixel, thickness=t, M_s=M_s, defocus=defocus).data
    assert np.ptp(ref["image"]) > 0.05  # a real contrast
    np.testing.assert_allclose(image, ref["image"], atol=1e-5 * np.ptp(ref["image"]))
