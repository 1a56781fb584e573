r"""Image formation: what a microscope makes of a magnetisation (out-of-plane contrast and Lorentz TEM).

The estimator of Wang et al. (Adv. Sci. 2020) reads Lorentz TEM images of
B20 FeGe; the simulated states of the book are unit-vector fields on square
cells.  This module is the step between them:

Out-of-plane contrast (MFM, polar Kerr, XMCD: :func:`out_of_plane_image`)
    The signal is :math:`m_z` blurred by the instrument's point-spread
    function (a Gaussian of full width at half maximum ``psf_fwhm``) plus
    white Gaussian detector noise of standard deviation ``noise``.  This is
    the leading-order model of all three probes (MFM's transfer function of
    the stray field, Kerr and XMCD's linear response to :math:`m_z`); it
    drops the stray-field decay of MFM (its extra low-pass filter is then
    part of the PSF width).

Lorentz TEM in Fresnel mode (:func:`ltem_phase`, :func:`ltem_image`)
    The electron's Aharonov-Bohm phase for a film of thickness t with an
    in-plane magnetisation :math:`M_s\,\mathbf m(x, y)` uniform through the
    thickness is, in Fourier space (Mansuripur, J. Appl. Phys. 69, 2455
    (1991); Beleggia & Zhu, Phil. Mag. 83, 1045 (2003), Eq. 15 in the
    thin-film limit :math:`k t \ll 1`),

    .. math::

        \hat\varphi(\mathbf k) = \frac{i\pi\mu_0 M_s t}{\Phi_0}
            \frac{\hat m_x k_y - \hat m_y k_x}{k^2},\qquad
        \Phi_0 = \frac{h}{2e},

    so that, for a divergence-free texture (Bloch walls and skyrmions: no
    magnetic charges, hence no stray field outside the film),
    :math:`\nabla\varphi = (\pi\mu_0 M_s t/\Phi_0)(m_y, -m_x)`: the phase
    gradient is the in-plane induction rotated by 90 degrees.  Neel
    textures have :math:`\nabla\times\mathbf m_\parallel = 0` and give no
    phase at normal incidence: interfacial-DMI skyrmions are invisible to
    LTEM without tilting the sample, bulk-DMI (Bloch) skyrmions as in FeGe
    give the familiar dark/bright rings.  The defocused image is the
    Fresnel propagation of the exit wave :math:`\psi = e^{i\varphi}`
    (De Graef, *Introduction to Conventional TEM*, CUP 2003, ch. 10; the sign of Delta f is that of a
    propagation distance, the opposite of mag2exp's ``df_length``):

    .. math::

        I_{\Delta f}(\mathbf r) = \left|\mathcal F^{-1}\left[\hat\psi(\mathbf q)
            \, e^{-i\pi\lambda\Delta f q^2}\right]\right|^2,

    q in cycles per metre, :math:`\lambda` the relativistic electron
    wavelength at the accelerating voltage.  For small defocus this is the
    transport-of-intensity equation,
    :math:`I \approx 1 - \frac{\lambda\Delta f}{2\pi}\nabla^2\varphi`
    (tested).  Partial coherence and the detector are modelled as for the
    out-of-plane contrast (Gaussian blur, Gaussian noise).

Pixel size
    Every image carries its pixel size (:class:`MicroscopeImage`); the
    estimator reads lengths in training cells, so :func:`resample` brings an
    image to the training cell (linear interpolation, ``scipy.ndimage.zoom``).

Validation
    Against mag2exp 0.64 (ubermag's image simulation; the field's library) on
    the same Bloch skyrmion: phase and defocused image agree to 1e-5 of
    their range (tests/test_imaging.py, reference made by
    tests/data/make_mag2exp_reference.py).  mag2exp is not a dependency: it
    brings 172 packages and 1.6 GB (discretisedfield, oommfc, vtk, pyvista)
    into the book's environment for what is two FFTs here.

Periodic boundaries are assumed in the FFTs (the states of the book are
periodic); the mean in-plane magnetisation, whose phase is a ramp that a
periodic FFT cannot hold, is removed.  Units: SI throughout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.constants as const
import scipy.ndimage

from ..checks import check_real
from .rng import check_seed

__all__ = ["PHI_0", "electron_wavelength", "MicroscopeImage", "out_of_plane_image", "ltem_phase", "ltem_image",
           "resample"]

#: Magnetic flux quantum h / 2e [Wb].
PHI_0 = const.h / (2 * const.e)


def electron_wavelength(voltage):
    """Relativistic electron wavelength [m] at an accelerating ``voltage`` [V] (> 0).

    :math:`\\lambda = h / \\sqrt{2 m_e e V (1 + e V / (2 m_e c^2))}`; 300 kV gives 1.9687 pm.

    Raises
    ------
    ValueError
        Non-positive or non-finite ``voltage``.
    """
    V = check_real(voltage, "voltage", positive=True, unit="V")
    return const.h / np.sqrt(2 * const.m_e * const.e * V * (1 + const.e * V / (2 * const.m_e * const.c ** 2)))


@dataclass(frozen=True)
class MicroscopeImage:
    """A simulated micrograph with its pixel size.

    Attributes
    ----------
    data : numpy.ndarray, shape (H, W), float64
        Contrast (``"out_of_plane"``: blurred m_z in [-1, 1] plus noise;
        ``"ltem"``: intensity normalised to the incident beam, mean about 1).
    pixel : float
        Pixel size [m].
    kind : {"out_of_plane", "ltem"}
    settings : dict
        The imaging parameters (defocus, PSF width, noise, ...).
    """

    data: np.ndarray
    pixel: float
    kind: str
    settings: dict


def _check_spins(spins):
    s = np.asarray(spins, dtype=np.float64)
    if s.ndim != 3 or s.shape[0] != 3 or min(s.shape[1:]) < 2:
        raise ValueError(f"spins must have shape (3, H, W) with H, W >= 2, got {np.shape(spins)}")
    if not np.all(np.isfinite(s)):
        raise ValueError("spins must be finite")
    return s


def _blur_and_noise(image, pixel, psf_fwhm, noise, seed):
    psf_fwhm = check_real(psf_fwhm, "psf_fwhm", nonneg=True, unit="m")
    noise = check_real(noise, "noise", nonneg=True)
    if psf_fwhm > 0:  # FWHM = 2 sqrt(2 ln 2) sigma
        image = scipy.ndimage.gaussian_filter(image, psf_fwhm / pixel / (2 * np.sqrt(2 * np.log(2))), mode="wrap")
    if noise > 0:
        image = image + noise * np.random.default_rng(check_seed(seed, "seed")).standard_normal(image.shape)
    return image


def out_of_plane_image(spins, *, pixel, psf_fwhm=0.0, noise=0.0, seed=0):
    """Out-of-plane contrast (MFM, Kerr, XMCD style): blurred m_z plus detector noise.

    Parameters
    ----------
    spins : array_like, shape (3, H, W)
        Unit vectors (m_x, m_y, m_z) on square cells.
    pixel : float
        Cell size [m], > 0 (the image's pixel size).
    psf_fwhm : float
        Full width at half maximum of the Gaussian point-spread function [m], >= 0.
    noise : float
        Standard deviation of the additive Gaussian noise (units of m_z), >= 0.
    seed : int
        Seed of the noise.

    Returns
    -------
    MicroscopeImage
        ``kind="out_of_plane"``.

    Raises
    ------
    ValueError
        Bad shape, non-finite spins, negative widths or noise, non-positive pixel.
    """
    s = _check_spins(spins)
    pixel = check_real(pixel, "pixel", positive=True, unit="m")
    data = _blur_and_noise(s[2].copy(), pixel, psf_fwhm, noise, seed)
    return MicroscopeImage(data, pixel, "out_of_plane", dict(psf_fwhm=float(psf_fwhm), noise=float(noise),
                                                              seed=int(seed)))


def ltem_phase(spins, *, pixel, thickness, M_s):
    """Magnetic phase [rad] of a film in Lorentz TEM at normal incidence (Mansuripur / Beleggia-Zhu).

    Parameters
    ----------
    spins : array_like, shape (3, H, W)
        Unit vectors on square cells; only (m_x, m_y) enter.
    pixel : float
        Cell size [m], > 0.
    thickness : float
        Film thickness t [m], > 0.
    M_s : float
        Saturation magnetisation [A/m], > 0.

    Returns
    -------
    numpy.ndarray, shape (H, W), float64
        The phase, periodic, with zero mean (the uniform in-plane part is removed).

    Raises
    ------
    ValueError
        Bad shape, non-finite spins, non-positive pixel, thickness or M_s.
    """
    s = _check_spins(spins)
    pixel = check_real(pixel, "pixel", positive=True, unit="m")
    t = check_real(thickness, "thickness", positive=True, unit="m")
    M_s = check_real(M_s, "M_s", positive=True, unit="A/m")
    _, h, w = s.shape
    ky = 2 * np.pi * np.fft.fftfreq(h, pixel)[:, None]
    kx = 2 * np.pi * np.fft.fftfreq(w, pixel)[None, :]
    k2 = kx ** 2 + ky ** 2
    k2[0, 0] = 1.0  # the k = 0 term (uniform in-plane magnetisation) is set to zero below
    mx, my = np.fft.fft2(s[0]), np.fft.fft2(s[1])
    phase = 1j * np.pi * const.mu_0 * M_s * t / PHI_0 * (mx * ky - my * kx) / k2
    phase[0, 0] = 0.0
    return np.fft.ifft2(phase).real


def ltem_image(spins, *, pixel, thickness, M_s, defocus, voltage=300e3, psf_fwhm=0.0, noise=0.0, seed=0):
    """Fresnel-mode Lorentz TEM image: the exit wave exp(i phi) propagated by ``defocus``.

    Parameters
    ----------
    spins : array_like, shape (3, H, W)
    pixel : float
        Cell size [m], > 0.
    thickness : float
        Film thickness [m], > 0.
    M_s : float
        Saturation magnetisation [A/m], > 0.
    defocus : float
        Defocus Delta f [m] (either sign; 0 gives a uniform image).
    voltage : float
        Accelerating voltage [V] (default 300 kV).
    psf_fwhm, noise, seed
        Blur [m], additive noise (units of the normalised intensity) and its seed,
        as in :func:`out_of_plane_image`.

    Returns
    -------
    MicroscopeImage
        ``kind="ltem"``, intensity normalised to the incident beam.

    Raises
    ------
    ValueError
        As :func:`ltem_phase`; non-finite defocus, non-positive voltage.
    """
    phi = ltem_phase(spins, pixel=pixel, thickness=thickness, M_s=M_s)
    defocus = check_real(defocus, "defocus", unit="m")
    lam = electron_wavelength(voltage)
    h, w = phi.shape
    q2 = np.fft.fftfreq(h, pixel)[:, None] ** 2 + np.fft.fftfreq(w, pixel)[None, :] ** 2
    wave = np.fft.ifft2(np.fft.fft2(np.exp(1j * phi)) * np.exp(-1j * np.pi * lam * defocus * q2))
    data = _blur_and_noise(np.abs(wave) ** 2, float(pixel), psf_fwhm, noise, seed)
    return MicroscopeImage(data, float(pixel), "ltem", dict(thickness=float(thickness), M_s=float(M_s),
                                                           defocus=defocus, voltage=float(voltage),
                                                           psf_fwhm=float(psf_fwhm), noise=float(noise),
                                                           seed=int(seed)))


def resample(image, pixel, *, shape=None):
    """The image resampled to another pixel size (linear interpolation, periodic edges).

    Parameters
    ----------
    image : MicroscopeImage
    pixel : float
        Target pixel size [m], > 0 (e.g. the estimator's training cell).
    shape : (int, int), optional
        Output (rows, columns) instead of the rounded field of view: for an
        image brought back onto the exact grid it was simulated on, whose
        field of view the rounding at the microscope's pixel changed by less
        than one pixel.  It must lie within one pixel of
        ``round(H * image.pixel / pixel)`` (and of the columns').

    Returns
    -------
    MicroscopeImage
        Same field of view (up to one pixel), ``round(H * image.pixel / pixel)`` rows
        (or ``shape``).

    Raises
    ------
    TypeError
        ``image`` is not a :class:`MicroscopeImage`.
    ValueError
        Non-positive ``pixel``, a target smaller than 2 x 2 pixels, or a
        ``shape`` more than one pixel from the field of view.
    """
    if not isinstance(image, MicroscopeImage):
        raise TypeError(f"image must be a MicroscopeImage, got {type(image).__name__}")
    pixel = check_real(pixel, "pixel", positive=True, unit="m")
    h, w = image.data.shape
    rounded = (round(h * image.pixel / pixel), round(w * image.pixel / pixel))
    if shape is not None:
        shape = tuple(int(n) for n in shape)
        if len(shape) != 2 or any(abs(n - r) > 1 for n, r in zip(shape, rounded)):
            raise ValueError(f"shape={shape} is more than one pixel from the field of view of {image.data.shape} "
                             f"pixels of {image.pixel:g} m at {pixel:g} m ({rounded})")
    shape = rounded if shape is None else shape
    if min(shape) < 2:
        raise ValueError(f"resampling {image.data.shape} pixels of {image.pixel:g} m to {pixel:g} m gives {shape}")
    data = scipy.ndimage.zoom(image.data, (shape[0] / h, shape[1] / w), order=1, mode="grid-wrap", grid_mode=True)
    return MicroscopeImage(data, pixel, image.kind, dict(image.settings, resampled_from=image.pixel))
