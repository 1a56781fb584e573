r"""Estimating A_ex, D and M_s from one spin image (Wang et al., Adv. Sci. 2020, arXiv 1908.05829).

The protocol of the paper (Fig. 1):

1. simulate images on a grid of (A_ex, D, M_s)
   (:func:`mag_ml.chapters.estimation.estimator_datasets`);
2. cut them into overlapping 32 x 32 windows with stride 8
   (:func:`mag_ml.data.windows.sliding_windows`), label each window with the
   min-max scaled parameters of its image (:class:`ParameterScaler`,
   targets in [0, 1]);
3. train the CNN of Table I (:class:`mag_ml.models.ParameterCNN`, three
   sigmoid outputs) with the mean squared error
   (:func:`mag_ml.chapters.estimation.train_estimator`);
4. for an observation, estimate every window and report the mean over the
   windows with their standard deviation as the uncertainty
   (:func:`estimate`), then re-simulate with the estimate.

The observation may be an array (``(3, H, W)`` spins or an ``(H, W)``
``m_z`` map), an OVF 1.0 or 2.0 file (OOMMF, MuMax3;
:func:`mag_ml.io.read_ovf`) or a PNG in the book's colour code
(:func:`mag_ml.plotting.spin_rgb`, inverted by
:func:`mag_ml.plotting.spins_from_rgb`; :func:`write_spin_png` writes one).

Cell size.  The network reads lengths in cells: a skyrmion of 40 nm is 10
cells at the training cell of 4 nm but 20 cells at 2 nm, so an image of
another cell size would be silently misread.  :attr:`Estimator.cell` is the
training cell (dx [m], square cells); :func:`estimate` compares it with the
cell of the observation (read from an OVF file's header, or given as
``cell=`` for arrays and PNGs, which otherwise are assumed to have the
training cell) and refuses a mismatch (relative difference > 1e-6) or
non-square cells unless ``resample=True``, which resamples the image onto
the training cell (linear interpolation of each spin component,
:func:`scipy.ndimage.zoom` with ``order=1``, then renormalisation to unit
length) before windows are cut.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from mag_ml.analysis.estimator_errors import conformal_halfwidth
from mag_ml.data.windows import sliding_windows
from mag_ml.files import atomic_path
from mag_ml.models.cnn import ParameterCNN
from mag_ml.physics.imaging import MicroscopeImage

__all__ = ["ParameterScaler", "Estimator", "Estimate", "check_parameters", "model_input", "window_dataset", "input_windows",
           "PARAMETER_NAMES", "PARAMETER_UNITS", "EDGE", "calibrate", "predict_windows", "predict_inputs",
           "predict_images", "read_observation", "write_spin_png", "estimate", "relative_errors", "IMAGE_KINDS"]

#: Distance from either end of the scaled range [0, 1] within which an estimate is flagged (sigmoid saturation).
EDGE = 0.02

#: The estimated parameters, in the order of every ``(..., 3)`` array.
PARAMETER_NAMES = ("A_ex", "D", "M_s")
#: Their SI units.
PARAMETER_UNITS = ("J/m", "J/m^2", "A/m")

_OVF_SUFFIXES = (".ovf", ".omf", ".ohf")
_PNG_SUFFIXES = (".png",)
#: Relative difference of two cell sides above which they differ (:func:`estimate`).
_CELL_RTOL = 1e-6
#: What an :class:`Estimator` reads (its ``image_kind``).
IMAGE_KINDS = ("spins", "ltem")


def check_parameters(parameters, name="parameters"):
    """Return ``parameters`` as a float64 ``(n, 3)`` array of positive A_ex and M_s.

    Raises
    ------
    ValueError
        Not ``(n, 3)`` with n >= 1, not finite, or a non-positive A_ex
        (column 0, J/m) or M_s (column 2, A/m), naming the row and value.
    """
    p = np.asarray(parameters, dtype=np.float64)
    if p.ndim == 1:
        p = p[None]
    if p.ndim != 2 or p.shape[1] != 3 or len(p) == 0 or not np.all(np.isfinite(p)):
        raise ValueError(f"{name} must be a finite (n, 3) array of (A_ex, D, M_s) in SI units, got shape "
                         f"{np.shape(parameters)}")
    for col in (0, 2):
        bad = np.flatnonzero(p[:, col] <= 0)
        if bad.size:
            raise ValueError(f"{name}: {PARAMETER_NAMES[col]} must be > 0 {PARAMETER_UNITS[col]}, "
                             f"got {float(p[bad[0], col])!r} in row {int(bad[0])}")
    return p


@dataclass(frozen=True)
class ParameterScaler:
    """Min-max scaling of (A_ex, D, M_s) onto [0, 1] over the training grid (the sigmoid's range).

    Attributes
    ----------
    low, high : tuple of 3 float
        Smallest and largest training value of each parameter (SI units).
    """

    low: tuple
    high: tuple

    def __post_init__(self):
        low, high = np.asarray(self.low, float), np.asarray(self.high, float)
        if low.shape != (3,) or high.shape != (3,) or not np.all(high > low):
            raise ValueError(f"low and high must be 3 values each with high > low, got {self.low}, {self.high}")
        object.__setattr__(self, "low", tuple(low.tolist()))
        object.__setattr__(self, "high", tuple(high.tolist()))

    @classmethod
    def from_parameters(cls, parameters):
        """The scaler of a training set: ``parameters`` ``(n, 3)``, SI units."""
        p = check_parameters(parameters)
        return cls(tuple(p.min(axis=0)), tuple(p.max(axis=0)))

    def scale(self, parameters):
        """``(p - low) / (high - low)``, float32, same shape as ``parameters`` (..., 3)."""
        p = np.asarray(parameters, dtype=np.float64)
        return ((p - self.low) / np.subtract(self.high, self.low)).astype(np.float32)

    def unscale(self, y):
        """Inverse of :meth:`scale`: SI parameters (float64) from network outputs (..., 3)."""
        y = np.asarray(y, dtype=np.float64)
        return self.low + y * np.subtract(self.high, self.low)


def model_input(spins, channels):
    """The network's input channels of spin images: ``m_z`` (``channels=1``) or all three.

    Parameters
    ----------
    spins : array_like, shape (3, H, W) or (N, 3, H, W)
        Unit vectors.
    channels : {1, 3}

    Returns
    -------
    ndarray float32, shape (C, H, W) or (N, C, H, W)

    Raises
    ------
    ValueError
        Not ``(3, H, W)`` / ``(N, 3, H, W)``, or ``channels`` not 1 or 3.
    """
    s = np.asarray(spins)
    if s.ndim not in (3, 4) or s.shape[-3] != 3:
        raise ValueError(f"spins must have shape (3, H, W) or (N, 3, H, W), got {s.shape}")
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (m_z) or 3 (m_x, m_y, m_z), got {channels!r}")
    return np.ascontiguousarray(s[..., 2:3, :, :] if channels == 1 else s, dtype=np.float32)


def window_dataset(parameters, spins, scaler, *, size=32, stride=8, channels=1):
    """Windows of every image, each labelled with its image's scaled parameters.

    Parameters
    ----------
    parameters : array_like (n, 3)
        ``(A_ex, D, M_s)`` of each image, SI units.
    spins : array_like (n, 3, H, W)
    scaler : ParameterScaler
    size, stride : int
        Window side and step (paper: 32, 8).
    channels : {1, 3}
        Network input channels (:func:`model_input`).

    Returns
    -------
    x : ndarray float32 (n * n_windows, channels, size, size)
    y : ndarray float32 (n * n_windows, 3)
        Scaled targets in [0, 1] for parameters inside the scaler's range.

    Raises
    ------
    ValueError
        Mismatched counts, bad parameters (negative A_ex or M_s), images
        smaller than a window.
    """
    return input_windows(parameters, model_input(spins, channels), scaler, size=size, stride=stride)


def input_windows(parameters, inputs, scaler, *, size=32, stride=8):
    """Windows of network inputs (e.g. imaged m_z maps), each labelled with its image's scaled parameters.

    Parameters
    ----------
    parameters : array_like (n, 3)
        ``(A_ex, D, M_s)`` of each image, SI units.
    inputs : array_like (n, C, H, W)
        The network's input channels per image (:func:`model_input` of spins,
        or a microscope's contrast, :func:`mag_ml.chapters.estimation.imaged`).
    scaler : ParameterScaler
    size, stride : int
        Window side and step.

    Returns
    -------
    x : ndarray float32 (n * n_windows, C, size, size)
    y : ndarray float32 (n * n_windows, 3)

    Raises
    ------
    ValueError
        Mismatched counts, bad parameters, images smaller than a window.
    """
    p = check_parameters(parameters)
    x = np.asarray(inputs, dtype=np.float32)
    if x.ndim != 4 or len(x) != len(p):
        raise ValueError(f"inputs must be (n, C, H, W) with n = {len(p)} (one per parameter row), "
                         f"got {np.shape(inputs)}")
    windows, _ = sliding_windows(x, size, stride)
    n_win = windows.shape[1]
    return (windows.reshape(-1, *windows.shape[2:]),
            np.repeat(scaler.scale(p), n_win, axis=0).astype(np.float32))


@dataclass
class Estimator:
    """A trained CNN with the scaling and windowing it was trained with.

    Attributes
    ----------
    model : ParameterCNN
    scaler : ParameterScaler
    stride : int
        Default window stride when estimating.
    history : dict
        ``{"train": [...], "validation": [...]}`` MSE per epoch (scaled units).
    cell : float
        Cell side dx [m] of the training images (square cells; default
        4e-9, the ``dx`` of the training film,
        ``mag_ml.chapters.estimation.FILM``).  :func:`estimate` refuses
        observations of another cell size unless asked to resample them.
    halfwidth : tuple of 3 float or None
        Split-conformal half-widths of the image estimate (SI units) at
        nominal coverage ``level``, set by :func:`calibrate`; None for an
        uncalibrated estimator.
    level : float or None
        Nominal coverage of ``halfwidth``.
    image_kind : {"spins", "ltem"}
        What the network reads: ``"spins"``, spin images or m_z maps
        (arrays, OVF, PNG, out-of-plane micrographs); ``"ltem"``, Lorentz
        TEM intensities, which :func:`estimate` takes only as a
        :class:`mag_ml.physics.imaging.MicroscopeImage` of kind ``"ltem"``.

    Raises
    ------
    ValueError
        ``cell`` not a positive finite number; an unknown ``image_kind``.
    """

    model: ParameterCNN
    scaler: ParameterScaler
    stride: int = 8
    history: dict = field(default_factory=dict)
    cell: float = 4e-9
    halfwidth: tuple | None = None
    level: float | None = None
    image_kind: str = "spins"

    def __post_init__(self):
        if self.image_kind not in IMAGE_KINDS:
            raise ValueError(f"image_kind must be one of {IMAGE_KINDS}, got {self.image_kind!r}")
        try:
            cell = float(self.cell)
        except (TypeError, ValueError):
            cell = float("nan")
        if not (np.isfinite(cell) and cell > 0):
            raise ValueError(f"cell must be the training cell side dx in metres, a positive number, got {self.cell!r}")
        self.cell = cell

    @property
    def channels(self):
        """Input channels of the network (1: m_z, 3: m_x, m_y, m_z)."""
        return self.model.channels

    @property
    def size(self):
        """Window side in cells."""
        return self.model.size


@torch.no_grad()
def predict_windows(estimator, windows, *, batch_size=1024):
    """SI estimates of single windows.

    Parameters
    ----------
    estimator : Estimator
    windows : array_like (n, channels, size, size)
    batch_size : int

    Returns
    -------
    ndarray float64 (n, 3)
        ``(A_ex, D, M_s)`` per window, inside the scaler's range (sigmoid).
    """
    model = estimator.model
    model.eval()
    device = next(model.parameters()).device
    x = torch.as_tensor(np.asarray(windows, dtype=np.float32))
    out = [model(x[i:i + batch_size].to(device)).cpu().numpy() for i in range(0, len(x), batch_size)]
    return estimator.scaler.unscale(np.concatenate(out))


def predict_images(estimator, spins, *, stride=None, batch_size=1024):
    """Window estimates of every image of a set (the violins of Wang et al. 2020, Fig. 3).

    Parameters
    ----------
    estimator : Estimator
    spins : array_like (n, 3, H, W)
    stride : int, optional
        Default the estimator's.
    batch_size : int

    Returns
    -------
    ndarray float64 (n, n_windows, 3)
        SI ``(A_ex, D, M_s)`` per window; ``.mean(axis=1)`` is each image's estimate.

    Raises
    ------
    ValueError
        ``spins`` not a set of images ``(n, 3, H, W)`` (one image: pass ``spins[None]`` or use :func:`estimate`).
    """
    if np.ndim(spins) != 4:
        raise ValueError(f"spins must be a set of images (n, 3, H, W), got shape {np.shape(spins)}; for one image "
                         "pass spins[None] or use estimate()")
    return predict_inputs(estimator, model_input(spins, estimator.channels), stride=stride, batch_size=batch_size)


def predict_inputs(estimator, inputs, *, stride=None, batch_size=1024):
    """Window estimates of a set of network inputs, e.g. imaged m_z maps (:func:`predict_images` without the spins).

    Parameters
    ----------
    estimator : Estimator
    inputs : array_like, shape (n, C, H, W), float32
        ``C = estimator.channels`` (1: an m_z or out-of-plane contrast map).
    stride : int, optional
        Default the estimator's.
    batch_size : int

    Returns
    -------
    ndarray float64 (n, n_windows, 3)
        SI ``(A_ex, D, M_s)`` per window.

    Raises
    ------
    ValueError
        ``inputs`` not ``(n, estimator.channels, H, W)``, or smaller than a window.
    """
    x = np.asarray(inputs, dtype=np.float32)
    if x.ndim != 4 or x.shape[1] != estimator.channels:
        raise ValueError(f"inputs must have shape (n, {estimator.channels}, H, W), got {x.shape}")
    windows, _ = sliding_windows(x, estimator.size, estimator.stride if stride is None else stride)
    n, n_win = windows.shape[:2]
    return predict_windows(estimator, windows.reshape(n * n_win, *windows.shape[2:]),
                           batch_size=batch_size).reshape(n, n_win, 3)


def write_spin_png(spins, path):
    """Save spins as a PNG in the book's colour code (:func:`mag_ml.plotting.spin_rgb`), one pixel per cell.

    The first row of the file is the top of the picture, the largest y, as
    the state looks in the book's figures (``origin="lower"``);
    :func:`read_observation` undoes that.  Written atomically.

    Parameters
    ----------
    spins : array_like (3, H, W)
    path : str or os.PathLike
        Ends in ``.png``.
    """
    from PIL import Image  # pillow and matplotlib (plotting) only when images are written

    from mag_ml.plotting import spin_rgb

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"path must end in .png, got {str(path)!r}")
    rgb = np.round(spin_rgb(spins)[::-1] * 255.0).astype(np.uint8)
    with atomic_path(path) as tmp:
        Image.fromarray(rgb, mode="RGB").save(tmp, format="PNG")


def _load_observation(observation):
    """``(x, name, cell, problem)``: the checked array, how errors name it, (dx, dy) [m] of an OVF file
    (None otherwise) and, for an OVF file whose ``meshunit`` is not a length, why its cell is unknown."""
    cell = problem = None
    if isinstance(observation, MicroscopeImage):
        x = np.asarray(observation.data, dtype=np.float64)[None]
        if not np.all(np.isfinite(x)):
            raise ValueError(f"{observation.kind} micrograph holds NaN or infinite values")
        return x, f"{observation.kind} micrograph", (observation.pixel, observation.pixel), None
    if isinstance(observation, (str, Path)):
        path = Path(observation)
        name = f"observation {path}"
        suffix = path.suffix.lower()
        if suffix not in _OVF_SUFFIXES + _PNG_SUFFIXES:
            raise ValueError(f"observation {str(path)!r}: unknown file type {suffix!r}; expected an OVF file "
                             f"({', '.join(_OVF_SUFFIXES)}) or a PNG in the book's colour code (.png)")
        if not path.is_file():
            raise FileNotFoundError(f"observation file {path} does not exist")
        if suffix in _OVF_SUFFIXES:
            from mag_ml.io.ovf import read_ovf

            x, meta = read_ovf(path)
            if x.ndim != 3:
                raise ValueError(f"observation {path}: {x.shape[1]} layers in z; one layer (znodes = 1) is needed")
            if meta["cell_metres"] is None:
                problem = (f"its meshunit {meta['meshunit']!r} is not a length unit "
                           "(mag_ml.io.METRES_PER_MESHUNIT)")
            else:
                cell = tuple(meta["cell_metres"][:2])
            units = meta["valueunits"]
        else:
            from PIL import Image

            from mag_ml.plotting import spins_from_rgb

            with Image.open(path) as im:
                x = spins_from_rgb(np.asarray(im.convert("RGB"))[::-1])
            units = None
    else:
        name = "observation array"
        x = np.asarray(observation, dtype=np.float64)
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3 or x.shape[0] not in (1, 3):
            raise ValueError(f"observation must be (3, H, W) spins or an (H, W) / (1, H, W) m_z map, "
                             f"got shape {x.shape}")
        units = None
    x = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError("observation holds NaN or infinite values")
    if np.abs(x[-1]).max() > 1.0 + 1e-3:
        hint = (f"; the file's values are in {units[0]!r}: divide M by M_s (m = M / |M|) before estimating"
                if units and units[0] not in ("1", "") else "")
        raise ValueError(f"{name}: m_z must lie in [-1, 1] (normalised magnetisation), got values up to "
                         f"{np.abs(x[-1]).max():.3g}{hint}")
    return x, name, cell, problem


def read_observation(observation, *, return_cell=False):
    """An observation as a float array: spins ``(3, H, W)`` or an ``m_z`` map ``(1, H, W)``.

    Parameters
    ----------
    observation : array_like or str or os.PathLike
        ``(3, H, W)`` spins, ``(H, W)`` or ``(1, H, W)`` m_z; a path to an
        OVF 1.0 or 2.0 file (``.ovf``, ``.omf``, ``.ohf``; one layer,
        normalised magnetisation) or a PNG in the book's colour code (first
        row = largest y, as :func:`write_spin_png`).
    return_cell : bool
        Also return the cell size of an OVF file.

    Returns
    -------
    x : ndarray float64, shape (3, H, W) or (1, H, W)
    cell : (float, float) or None
        Only with ``return_cell``: (dx, dy) [m] of an OVF file (its step
        sizes times its ``meshunit``); None for arrays and PNGs, which
        carry no cell size.

    Raises
    ------
    ValueError
        Unknown file type, an unreadable OVF file (:class:`mag_ml.io.OVFError`:
        irregular mesh, NaN values, ...), an OVF file with several layers
        (or, with ``return_cell``, a ``meshunit`` that is not a length), an
        array with a channel count other than 1 or 3, non-finite values, or
        m_z outside [-1, 1].
    FileNotFoundError
        Missing file.

    References
    ----------
    OOMMF user's guide, "Vector Field File Format (OVF)" (OVF 1.0 and 2.0).
    """
    x, name, cell, problem = _load_observation(observation)
    if not return_cell:
        return x
    if problem is not None:
        raise ValueError(f"{name}: cannot tell its cell size: {problem}")
    return x, cell


def _observation_cell(cell):
    """(dx, dy) [m] from ``cell=``: one positive number (square cells) or two."""
    try:
        values = (float(cell),) * 2 if np.ndim(cell) == 0 else tuple(float(c) for c in cell)
    except (TypeError, ValueError):
        values = ()
    if len(values) != 2 or not all(np.isfinite(c) and c > 0 for c in values):
        raise ValueError(f"cell must be the observation's cell side in metres, dx or (dx, dy), positive, "
                         f"got {cell!r}")
    return values


def _same_length(a, b):
    return abs(a - b) <= _CELL_RTOL * max(abs(a), abs(b))


def _resample(x, cell, target, *, clip=True):
    """``x`` (C, H, W) with cells (dx, dy) [m] resampled onto square cells of side ``target``.

    Each component is interpolated linearly (:func:`scipy.ndimage.zoom`,
    ``order=1``, ``grid_mode=True``: the image's full extent ``H dy`` is kept,
    so output cell centres sit where ``target``-sized cells lie; edges
    repeat the border cells) to ``round(H dy / target) x round(W dx / target)``
    cells; 3-component spins are then renormalised to unit length (cells
    whose interpolated vector vanishes, e.g. inside vacancies, stay zero)
    and, with ``clip``, values kept in [-1, 1] (not for intensities).
    """
    from scipy import ndimage

    dx, dy = cell
    h, w = x.shape[1:]
    shape = (max(1, round(h * dy / target)), max(1, round(w * dx / target)))
    zoom = (shape[0] / h, shape[1] / w)
    out = np.stack([ndimage.zoom(c, zoom, order=1, mode="nearest", grid_mode=True) for c in x])
    if out.shape[1:] != shape:  # zoom's own rounding of the output shape
        raise RuntimeError(f"resampling gave shape {out.shape[1:]}, expected {shape}")
    if len(out) == 3:
        norm = np.linalg.norm(out, axis=0)
        out = np.divide(out, norm, out=np.zeros_like(out), where=norm > 0)
    return np.clip(out, -1.0, 1.0) if clip else out


@dataclass
class Estimate:
    """Parameters estimated from one image: mean and spread over its windows.

    Attributes
    ----------
    mean, std : ndarray (3,) float64
        ``(A_ex [J/m], D [J/m^2], M_s [A/m])`` averaged over the windows,
        and their standard deviation (the uncertainty of Wang et al., Fig. 4).
    windows : ndarray (n, 3) float64
        Per-window estimates.
    positions : ndarray (n, 2) int
        ``(row, col)`` of each window's first cell, in the cells of the
        image the windows were cut from.
    shape : tuple of 2 int
        ``(H, W)`` of that image (after resampling, if any).
    cell : float
        Its cell side [m] (the estimator's training cell).
    observation_cell : tuple of 2 float
        ``(dx, dy)`` [m] of the observation as given (read from the OVF
        file, ``cell=``, or assumed to be the training cell).
    resampled : bool
        Whether the observation was resampled onto the training cell.
    interval : ndarray (3, 2) float64 or None
        ``(low, high)`` per parameter: the split-conformal interval of a
        calibrated estimator (:func:`calibrate`) at nominal coverage
        ``level``; None when the estimator is not calibrated.  The window
        spread ``std`` is *not* an interval for the truth.
    level : float or None
    flags : dict of str to str
        Parameters whose estimate lies within ``EDGE`` of either end of the
        training range, in scaled units: the sigmoid outputs saturate there,
        so the truth may lie beyond the range and the estimate is not to be
        trusted (the network can only interpolate).
    """

    mean: np.ndarray
    std: np.ndarray
    windows: np.ndarray
    positions: np.ndarray
    shape: tuple = ()
    cell: float = float("nan")
    observation_cell: tuple = ()
    resampled: bool = False
    interval: np.ndarray | None = None
    level: float | None = None
    flags: dict = field(default_factory=dict)

    def __getitem__(self, name):
        """``est["D"] -> (mean, std)`` by parameter name."""
        k = PARAMETER_NAMES.index(name)
        return float(self.mean[k]), float(self.std[k])

    def as_dict(self):
        """``{name: (mean, std)}`` in SI units."""
        return {name: self[name] for name in PARAMETER_NAMES}

    def __str__(self):
        scales = (("pJ/m", 1e12), ("mJ/m²", 1e3), ("MA/m", 1e-6))
        parts = []
        for k, (n, (u, f)) in enumerate(zip(PARAMETER_NAMES, scales)):
            if self.interval is None:
                text = f"{n} = {self.mean[k] * f:.3g} {u} (window spread {self.std[k] * f:.2g})"
            else:
                lo, hi = self.interval[k] * f
                text = f"{n} = {self.mean[k] * f:.3g} {u} [{lo:.3g}, {hi:.3g}] at {100 * self.level:.0f} %"
            parts.append(text + (f" ({self.flags[n]})" if n in self.flags else ""))
        return ", ".join(parts)


def estimate(observation, estimator, *, stride=None, batch_size=1024, cell=None, resample=False):
    """Estimate (A_ex, D, M_s) of one observed image with uncertainties (Wang et al. 2020, Figs. 1, 4).

    Parameters
    ----------
    observation : array_like or str or os.PathLike or MicroscopeImage
        ``(3, H, W)`` spins, an ``(H, W)`` m_z map, an OVF 1.0 / 2.0 file
        or a PNG in the book's colour code (:func:`read_observation`), or
        a micrograph (:class:`mag_ml.physics.imaging.MicroscopeImage`: an
        out-of-plane one for a ``"spins"`` estimator, a Lorentz TEM one for
        an ``"ltem"`` estimator), whose pixel size is its cell; at least one
        window large (after resampling).
    estimator : Estimator
    stride : int, optional
        Window stride; default the estimator's (paper: 8).
    batch_size : int
    cell : float or (float, float), optional
        Cell side dx, or (dx, dy), of the observation [m].  For arrays and
        PNGs; default: assume the estimator's training cell.  An OVF file
        carries its own cell size: ``cell`` may repeat it (a different value
        is an error) and is needed only when the file's ``meshunit`` is not
        a length.
    resample : bool
        If the observation's cell differs from :attr:`Estimator.cell` (or
        is not square), resample it onto the training cell before cutting
        windows (each spin component interpolated linearly,
        :func:`scipy.ndimage.zoom` with ``order=1``, then renormalised to
        unit length; an m_z map is interpolated only) instead of raising.
        The image side becomes ``round(H dy / cell)`` x
        ``round(W dx / cell)``.

    Returns
    -------
    Estimate
        Mean and standard deviation over the windows, SI units; every
        window's estimate lies inside the training range.  ``shape``,
        ``cell``, ``observation_cell`` and ``resampled`` record the image
        the windows were cut from.

    Raises
    ------
    ValueError
        Bad observation (see :func:`read_observation`); a cell size that
        differs from the training cell by more than a relative 1e-6, or
        non-square cells (dx != dy), without ``resample=True`` (the message
        names the observation and both cell sizes); ``cell`` contradicting
        an OVF file's cell, or missing for an OVF file whose ``meshunit`` is
        not a length; an image smaller than a window; an m_z-only
        observation for a network that needs three components; an
        observation of another kind than the estimator reads
        (``image_kind``).
    TypeError
        ``estimator`` is not an :class:`Estimator`.
    """
    if not isinstance(estimator, Estimator):
        raise TypeError(f"estimator must be an Estimator (from train_estimator), got {type(estimator).__name__}")
    micrograph = isinstance(observation, MicroscopeImage)
    if (estimator.image_kind == "ltem") != (micrograph and observation.kind == "ltem"):
        reads = "Lorentz TEM micrographs" if estimator.image_kind == "ltem" else "spins or m_z maps"
        got = f"a {observation.kind} micrograph" if micrograph else "spins or an m_z map"
        raise ValueError(f"the estimator reads {reads} (image_kind={estimator.image_kind!r}), got {got}")
    x, name, file_cell, problem = _load_observation(observation)
    given = None if cell is None else _observation_cell(cell)
    if file_cell is not None:
        if given is not None and not all(map(_same_length, given, file_cell)):
            raise ValueError(f"{name}: cell={cell!r} contradicts the file's cell {file_cell[0]:.6g} x "
                             f"{file_cell[1]:.6g} m")
        source = file_cell
    elif problem is not None and given is None:
        raise ValueError(f"{name}: cannot tell its cell size: {problem}; pass cell=(dx, dy) in metres")
    else:
        source = given if given is not None else (estimator.cell, estimator.cell)
    dx, dy = source
    square = _same_length(dx, dy)
    matches = square and _same_length(dx, estimator.cell) and _same_length(dy, estimator.cell)
    if not matches and not resample:
        if not square:
            raise ValueError(f"{name}: non-square cells, dx = {dx:.6g} m != dy = {dy:.6g} m; the estimator was "
                             f"trained on square cells of {estimator.cell:.6g} m: pass resample=True to resample "
                             "the image onto the training cell")
        raise ValueError(f"{name}: cell size {dx:.6g} m differs from the estimator's training cell "
                         f"{estimator.cell:.6g} m (the network reads lengths in cells, so the image would be "
                         "misread): pass resample=True to resample the image onto the training cell")
    if not matches:
        x = _resample(x, (dx, dy), estimator.cell, clip=estimator.image_kind == "spins")
    if estimator.channels == 1:
        x = x[-1:]
    elif x.shape[0] != estimator.channels:
        raise ValueError(f"observation has {x.shape[0]} channel(s) but the estimator needs "
                         f"{estimator.channels} (m_x, m_y, m_z)")
    windows, positions = sliding_windows(x.astype(np.float32), estimator.size,
                                         estimator.stride if stride is None else stride)
    p = predict_windows(estimator, windows, batch_size=batch_size)
    mean = p.mean(axis=0)
    scaled = estimator.scaler.scale(mean)
    flags = {n: "at the edge of the training range: the truth may lie beyond it"
             for n, y in zip(PARAMETER_NAMES, scaled) if y < EDGE or y > 1 - EDGE}
    interval = None
    if estimator.halfwidth is not None:
        hw = np.asarray(estimator.halfwidth, dtype=np.float64)
        interval = np.column_stack([mean - hw, mean + hw])
    return Estimate(mean, p.std(axis=0), p, positions, shape=tuple(x.shape[1:]), cell=estimator.cell,
                    observation_cell=(float(dx), float(dy)), resampled=not matches, interval=interval,
                    level=estimator.level, flags=flags)


def calibrate(estimator, parameters, spins=None, *, inputs=None, level=0.9, stride=None, batch_size=1024):
    """Split-conformal intervals for an estimator, from calibration images it was not trained on.

    The half-width of each parameter is the ``ceil((n+1) level)``-th
    smallest absolute error of the image estimates on the ``n`` calibration
    images (:func:`mag_ml.analysis.estimator_errors.conformal_halfwidth`;
    Lei et al., JASA 113, 1094 (2018)): for a new image exchangeable with
    them, the interval ``estimate +- halfwidth`` holds the truth with
    probability at least ``level``.

    Parameters
    ----------
    estimator : Estimator
    parameters : array_like, shape (n, 3)
        True SI parameters of the calibration images.
    spins : array_like, shape (n, 3, H, W)
        The calibration images (the estimator's training cell).
    inputs : array_like, shape (n, C, H, W), optional
        Instead of ``spins``: the network's inputs (e.g. micrographs on the
        training cell, :func:`predict_inputs`).
    level : float
        Nominal coverage in (0, 1).
    stride, batch_size
        As :func:`predict_images`.

    Returns
    -------
    Estimator
        A copy with ``halfwidth`` and ``level`` set.

    Raises
    ------
    ValueError
        Neither or both of ``spins`` and ``inputs``, mismatched counts, bad level, or too few images for the level
        (``ceil((n+1) level) > n``: the interval would be infinite).
    """
    if not isinstance(estimator, Estimator):
        raise TypeError(f"estimator must be an Estimator, got {type(estimator).__name__}")
    p = check_parameters(parameters)
    if (spins is None) == (inputs is None):
        raise ValueError("pass the calibration images as spins or as inputs (one of them)")
    images, label = (spins, "spins") if inputs is None else (inputs, "inputs")
    if len(images) != len(p):
        raise ValueError(f"{label} has {len(images)} images but parameters has {len(p)} rows")
    predict = predict_images if inputs is None else predict_inputs
    residuals = predict(estimator, images, stride=stride, batch_size=batch_size).mean(axis=1) - p
    hw = conformal_halfwidth(residuals, level)
    if not np.all(np.isfinite(hw)):
        raise ValueError(f"{len(p)} calibration images are too few for a level of {level}: need "
                         f"ceil((n + 1) level) <= n")
    return dataclasses.replace(estimator, halfwidth=tuple(hw.tolist()), level=float(level))


def relative_errors(true, estimated):
    """Mean relative error per parameter, ``mean_i |estimated_i - true_i| / true_i``.

    Parameters
    ----------
    true, estimated : array_like (n, 3)
        SI parameters (A_ex and M_s > 0; D must be nonzero).

    Returns
    -------
    ndarray (3,) float64
        For (A_ex, D, M_s); multiply by 100 for percent.
    """
    t = check_parameters(true, "true")
    e = np.asarray(estimated, dtype=np.float64)
    if e.shape != t.shape:
        raise ValueError(f"estimated must have the shape of true {t.shape}, got {e.shape}")
    if np.any(t[:, 1] == 0):
        raise ValueError("true D must be nonzero for a relative error")
    return np.mean(np.abs(e - t) / np.abs(t), axis=0)
