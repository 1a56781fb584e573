r"""Training, metrics and inverse design of the defect networks of chapter 9.

Eagan, Copus & Iacocca, arXiv:2603.10182 (2026) train three networks on
pseudospectral Landau-Lifshitz simulations of chains with random telegraph
vacancies (mean occupied length sigma, mean vacant length tau, units of a):

* :class:`mag_ml.models.DispersionCNN`: (f_ideal, sigma, tau) -> f(k);
* :class:`mag_ml.models.DispersionPINN`: a Theory-of-Functional-Connections
  constrained expression for f(k; sigma, tau), trained on the data plus the
  residual of the effective-medium dispersion relation (first-moment sum
  rule, :mod:`mag_ml.models.tfc`);
* :class:`mag_ml.models.WallCNN`: (sigma, tau) -> (wall profile m_z(x),
  width Delta), used inversely: which (sigma, tau) give a target width
  (:func:`inverse_design`, a curve, not a point).

This module trains them through :func:`mag_ml.training.fit` (checkpoints
per epoch, resumable) on the dataset of :mod:`mag_ml.data.defects` with its
split (0 train, 1 validation, 2 test = held-out (sigma, tau) pairs); the
dispersion they learn is the centroid of the ensemble-averaged line
(:data:`TARGET`; the peak is available too).  It measures the errors the
paper reports, on the held-out pairs:

* dispersion mean absolute error, ``mean |f_pred - f|`` over pairs and k,
  in GHz (the paper's 0.29-0.36 is given without a stated unit or
  normalisation; :func:`dispersion_metrics` also gives it relative to the
  ideal bandwidth);
* wall-width error ``Delta_pred - Delta`` in nm: its mean and standard
  deviation over the held-out pairs against the ensemble-mean width, and
  against the individual realisations' widths (the spread that a single
  sample of the statistical model has; paper: mean 0.077 nm, standard
  deviation 0.835 nm).

Sizes per profile: :data:`DEFECT_NETWORKS` / :func:`defect_networks_spec`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import brentq

from ..artifacts import artifact_path, check_profile
from ..checks import check_int, check_real
from ..models.defect_cnn import DispersionCNN, WallCNN, wall_loss
from ..models.tfc import DispersionPINN, kernel_coordinate
from ..training import fit

__all__ = ["DEFECT_NETWORKS", "PAPER_METRICS", "TARGET", "defect_networks_spec", "split_indices", "ideal_band",
           "cnn_loss", "pinn_loss", "defect_networks_directory", "train_dispersion_cnn", "train_dispersion_pinn",
           "train_wall_cnn", "predict_dispersion", "predict_walls",
           "dispersion_metrics", "wall_metrics", "metrics_table", "InverseDesign", "inverse_design"]

#: Training sizes per profile.  ``quick``: small networks, a few hundred
#: full-batch epochs and weight decay against over-fitting the 18 training
#: pairs (seconds on 2 CPU cores); ``paper``: larger networks and longer
#: training (the paper's hyper-parameters are not public).
DEFECT_NETWORKS = {
    "quick": dict(cnn=dict(channels=16, layers=4, epochs=200, lr=3e-3, weight_decay=1e-3),
                  pinn=dict(hidden=48, depth=3, epochs=300, lr=3e-3, weight=0.1, n_collocation=32),
                  wall=dict(features=32, channels=16, epochs=200, lr=3e-3, weight_decay=1e-3, width_weight=1.0),
                  batch_size=64),
    "paper": dict(cnn=dict(channels=64, layers=6, epochs=3000, lr=1e-3, weight_decay=1e-4),
                  pinn=dict(hidden=128, depth=4, epochs=3000, lr=1e-3, weight=0.1, n_collocation=256),
                  wall=dict(features=128, channels=48, epochs=3000, lr=1e-3, weight_decay=1e-4, width_weight=1.0),
                  batch_size=64),
}

#: Dispersion the networks learn: the centroid (power-weighted mean frequency)
#: of the ensemble-averaged line at each k.  With strong disorder the averaged
#: line has several maxima (the flat band of short isolated segments near f0
#: and the renormalised magnon band), so its *peak* jumps between them from one
#: k or (sigma, tau) to the next, while the centroid is smooth and obeys the
#: first-moment sum rule exactly (the PINN's governing equation).
TARGET = "f_centroid"

#: Errors reported by Eagan, Copus & Iacocca, arXiv:2603.10182 (abstract and results).
PAPER_METRICS = {"width_error_mean_nm": 0.077, "width_error_std_nm": 0.835, "dispersion_mae": (0.29, 0.36)}


def defect_networks_spec(profile):
    """Network and training sizes of chapter 9 for a profile (a copy of :data:`DEFECT_NETWORKS`).

    Parameters
    ----------
    profile : {"quick", "paper"}

    Returns
    -------
    dict
        ``cnn``, ``pinn``, ``wall`` (each with the network sizes, epochs,
        lr, optionally Adam's ``weight_decay`` and, for the PINN, the residual weight and the number of
        collocation (sigma, tau) pairs per batch) and ``batch_size``.

    Raises
    ------
    ValueError
        Unknown profile.
    """
    check_profile(profile)
    spec = DEFECT_NETWORKS[profile]
    return {k: dict(v) if isinstance(v, dict) else v for k, v in spec.items()}


# ----------------------------------------------------------------------------- data helpers
def split_indices(data, split):
    """Indices of the pairs in one split (0 train, 1 validation, 2 test).

    Parameters
    ----------
    data : DefectDataset
        Anything with a ``split`` array of shape (P,).
    split : {0, 1, 2}

    Returns
    -------
    ndarray, int64

    Raises
    ------
    ValueError
        Unknown split or an empty split.
    """
    if split not in (0, 1, 2):
        raise ValueError(f"split must be 0 (train), 1 (validation) or 2 (test), got {split!r}")
    idx = np.flatnonzero(np.asarray(data.split) == split)
    if idx.size == 0:
        raise ValueError(f"the dataset has no pairs in split {split}")
    return idx


def ideal_band(data, *, a, kernel="discrete"):
    r"""Uniform-mode frequency f0 and bandwidth W of the ideal dispersion, ``f_ideal = f0 + W u(k)``.

    Least squares on the dataset's k grid with
    :func:`mag_ml.models.tfc.kernel_coordinate`; exact for the PS-LL chain.

    Parameters
    ----------
    data : DefectDataset
        ``k`` (K,) [1/nm] and ``f_ideal`` (K,) [GHz].
    a : float
        Lattice constant [nm].
    kernel : {"discrete", "continuum"}

    Returns
    -------
    (float, float)
        f0 and W in GHz.

    Raises
    ------
    ValueError
        If ``f_ideal`` is not of that form (relative misfit > 1e-3): wrong
        ``a`` or ``kernel``.
    """
    u = kernel_coordinate(torch.as_tensor(np.asarray(data.k, dtype=np.float64)), a, kernel).numpy()
    f = np.asarray(data.f_ideal, dtype=np.float64)
    (f0, w), *_ = np.linalg.lstsq(np.stack([np.ones_like(u), u], 1), f, rcond=None)
    misfit = float(np.abs(f0 + w * u - f).max())
    if misfit > 1e-3 * max(abs(w), 1e-12):
        raise ValueError(f"f_ideal is not f0 + W u(k) for a = {a} nm and kernel = {kernel!r} (misfit "
                         f"{misfit:.3g} GHz); check the lattice constant and the kernel")
    return float(f0), float(w)


def _target(data, target):
    if target not in ("f", "f_centroid") or not hasattr(data, target):
        raise ValueError(f"target must name the dataset's dispersion, 'f_centroid' (mean) or 'f' (peak), got "
                         f"{target!r}")
    return np.asarray(getattr(data, target))


def _t(x):
    return torch.as_tensor(np.asarray(x), dtype=torch.float32)


# ----------------------------------------------------------------------------- losses
def cnn_loss(model, f_ideal, sigma, tau, f):
    """Mean squared error of the dispersion CNN in units of its output scale (dimensionless)."""
    return torch.mean(((model(f_ideal, sigma, tau) - f) / model.scale) ** 2)


def pinn_loss(k, *, weight, n_collocation, sigma_range, tau_range):
    r"""Loss of the PINN: data misfit plus the weighted residual of the governing equation.

    .. math::

        L = \frac{1}{s^2}\Bigl\langle (f_\theta - f)^2 \Bigr\rangle_\mathrm{batch, k}
            + \frac{w}{s^2}\Bigl\langle R(k; \sigma_c, \tau_c)^2 \Bigr\rangle_\mathrm{collocation, k}

    with s the model's frequency scale and R :meth:`DispersionPINN.residual`
    at ``n_collocation`` pairs drawn log-uniformly in the training box (new
    ones every batch, from torch's global generator, which
    :func:`mag_ml.training.fit` seeds per epoch).

    Parameters
    ----------
    k : array_like, shape (K,)
        Wavevectors of the data [1/nm].
    weight : float
        w >= 0.
    n_collocation : int
        >= 0 (0: no residual term).
    sigma_range, tau_range : (float, float)
        Box of the collocation pairs (units of a), 0 < lo <= hi.

    Returns
    -------
    callable
        ``loss(model, sigma, tau, f) -> scalar tensor`` for :func:`mag_ml.training.fit`.

    Raises
    ------
    ValueError
        Negative weight or count, bad ranges.
    """
    weight = check_real(weight, "weight", nonneg=True)
    n_collocation = check_int(n_collocation, "n_collocation", minimum=0)
    logs = []
    for name, (lo, hi) in (("sigma_range", sigma_range), ("tau_range", tau_range)):
        if not (0 < lo <= hi and math.isfinite(hi)):
            raise ValueError(f"{name} must be (lo, hi) with 0 < lo <= hi, got {(lo, hi)!r}")
        logs.append((math.log(lo), math.log(hi)))
    k = _t(k)

    def loss(model, sigma, tau, f):
        kk = k.to(f.device)
        value = torch.mean(((model(sigma, tau, kk) - f) / model.scale) ** 2)
        if weight > 0 and n_collocation > 0:
            r = torch.rand(n_collocation, 2, device=f.device)
            sc = torch.exp(logs[0][0] + (logs[0][1] - logs[0][0]) * r[:, 0])
            tc = torch.exp(logs[1][0] + (logs[1][1] - logs[1][0]) * r[:, 1])
            value = value + weight * torch.mean((model.residual(sc, tc, kk) / model.scale) ** 2)
        return value

    return loss


# ----------------------------------------------------------------------------- training
def _fit(model, train, validation, loss, spec, part, directory, seed, device, progress, desc):
    return fit(model, train, validation=validation, loss=loss, epochs=spec[part]["epochs"],
               batch_size=spec["batch_size"], lr=spec[part]["lr"], weight_decay=spec[part].get("weight_decay", 0.0),
               directory=directory, seed=seed, device=device, progress=progress, desc=desc)


def train_dispersion_cnn(data, spec, *, target=TARGET, directory=None, seed=0, device="auto", progress=True):
    """Train :class:`DispersionCNN` on the training pairs (validation: split 1).

    Parameters
    ----------
    data : DefectDataset
        ``sigma``, ``tau``, ``split``, ``f_ideal`` (K,) and the target
        dispersion (P, K) [GHz].
    spec : dict
        :func:`defect_networks_spec` (uses ``cnn`` and ``batch_size``).
    target : str
        Name of the dataset's dispersion to learn (default :data:`TARGET`,
        the centroid; ``"f"`` for the peak).
    directory : path, optional
        Checkpoint folder of :func:`mag_ml.training.fit` (resumable).
    seed : int
        Initialisation (``torch.manual_seed``) and shuffling seed.
    device, progress
        As in :func:`mag_ml.training.fit`.

    Returns
    -------
    mag_ml.training.FitResult
    """
    tr, va = split_indices(data, 0), split_indices(data, 1)
    torch.manual_seed(seed)
    c = spec["cnn"]
    model = DispersionCNN(data.f_ideal, data.sigma[tr], data.tau[tr], channels=c["channels"], layers=c["layers"])
    f = _target(data, target)
    fi = np.broadcast_to(np.asarray(data.f_ideal, dtype=np.float32), f.shape)

    def part(idx):
        return (fi[idx], data.sigma[idx], data.tau[idx], f[idx])

    return _fit(model, part(tr), part(va), cnn_loss, spec, "cnn", directory, seed, device, progress, "dispersion CNN")


def train_dispersion_pinn(data, spec, *, a, kernel="discrete", target=TARGET, weight=None, directory=None, seed=0,
                          device="auto", progress=True):
    """Train :class:`DispersionPINN` (data + residual, :func:`pinn_loss`) on the training pairs.

    Parameters
    ----------
    data : DefectDataset
    spec : dict
        :func:`defect_networks_spec` (uses ``pinn`` and ``batch_size``).
    a : float
        Lattice constant [nm]; with ``kernel`` it fixes the TFC coordinate.
    kernel : {"discrete", "continuum"}
    weight : float, optional
        Residual weight w (default ``spec["pinn"]["weight"]``; 0 trains the
        TFC network on the data alone, for comparison).
    target, directory, seed, device, progress
        As in :func:`train_dispersion_cnn`.

    Returns
    -------
    mag_ml.training.FitResult
    """
    tr, va = split_indices(data, 0), split_indices(data, 1)
    f = _target(data, target)
    f0, w = ideal_band(data, a=a, kernel=kernel)
    p = spec["pinn"]
    torch.manual_seed(seed)
    model = DispersionPINN(f0, w, a, data.sigma[tr], data.tau[tr], kernel=kernel, hidden=p["hidden"], depth=p["depth"])
    s, t = np.asarray(data.sigma)[tr], np.asarray(data.tau)[tr]
    loss = pinn_loss(data.k, weight=p["weight"] if weight is None else weight, n_collocation=p["n_collocation"],
                     sigma_range=(float(s.min()), float(s.max())), tau_range=(float(t.min()), float(t.max())))

    def part(idx):
        return (data.sigma[idx], data.tau[idx], f[idx])

    return _fit(model, part(tr), part(va), loss, spec, "pinn", directory, seed, device, progress, "dispersion PINN")


def train_wall_cnn(data, spec, *, directory=None, seed=0, device="auto", progress=True):
    """Train the two-branch :class:`WallCNN` jointly on profiles and widths (:func:`wall_loss`).

    Parameters
    ----------
    data : DefectDataset
        ``sigma``, ``tau``, ``split``, ``m_z`` (P, X), ``width`` (P,) [nm].
    spec : dict
        :func:`defect_networks_spec` (uses ``wall`` and ``batch_size``).
    directory, seed, device, progress
        As in :func:`train_dispersion_cnn`.

    Returns
    -------
    mag_ml.training.FitResult
    """
    tr, va = split_indices(data, 0), split_indices(data, 1)
    w = spec["wall"]
    torch.manual_seed(seed)
    model = WallCNN(np.shape(data.m_z)[1], data.sigma[tr], data.tau[tr], width_ref=float(np.mean(data.width[tr])),
                    features=w["features"], channels=w["channels"])

    def loss(model, sigma, tau, m_z, width):
        return wall_loss(model, sigma, tau, m_z, width, width_weight=w["width_weight"])

    def part(idx):
        return (data.sigma[idx], data.tau[idx], data.m_z[idx], data.width[idx])

    return _fit(model, part(tr), part(va), loss, spec, "wall", directory, seed, device, progress, "wall CNN")


def defect_networks_directory(profile, *, a, kernel="discrete", target=TARGET, seed=0, dataset_key=None, root=None):
    """Artifact folder of the chapter's network checkpoints (one sub-folder per network, e.g. ``cnn/``).

    ``artifact_path(profile, "defect_networks", params, suffix="")`` with
    ``params`` the profile's spec (:func:`defect_networks_spec`), ``seed``,
    ``a``, ``kernel``, ``target`` and ``dataset_key``: a change of any of
    them trains anew.

    Parameters
    ----------
    profile : {"quick", "paper"}
    a : float
        Lattice constant [nm].
    kernel : {"discrete", "continuum"}
    target : str
        Dispersion the networks learn (:data:`TARGET`).
    seed : int
    dataset_key : str, optional
        Identifies the dataset, e.g. its file name (which carries its
        parameter hash).
    root : path, optional
        Artifact root (default :func:`mag_ml.artifacts.data_root`).

    Returns
    -------
    pathlib.Path
        Not created here.

    Raises
    ------
    ValueError
        Unknown profile.
    """
    params = dict(spec=defect_networks_spec(profile), seed=int(seed), a=float(a), kernel=kernel, target=target,
                  dataset=dataset_key)
    return artifact_path(profile, "defect_networks", params, root=root, suffix="")


# ----------------------------------------------------------------------------- predictions and metrics
@torch.no_grad()
def predict_dispersion(model, sigma, tau, *, k=None, f_ideal=None):
    """Predicted dispersion [GHz] of a trained CNN or PINN, shape (P, K).

    Parameters
    ----------
    model : DispersionCNN or DispersionPINN
    sigma, tau : array_like, shape (P,)
        Units of a.
    k : array_like, shape (K,)
        Wavevectors [1/nm] (PINN).
    f_ideal : array_like, shape (K,)
        Ideal dispersion [GHz] on the k grid (CNN).

    Returns
    -------
    ndarray, float64

    Raises
    ------
    ValueError
        ``k`` missing for a PINN or ``f_ideal`` missing for a CNN.
    """
    model.eval()
    dev = next(model.parameters()).device
    s, t = _t(np.atleast_1d(sigma)).to(dev), _t(np.atleast_1d(tau)).to(dev)
    if isinstance(model, DispersionPINN):
        if k is None:
            raise ValueError("k is required for a DispersionPINN")
        with torch.enable_grad():  # the constrained expression may need derivatives of the free function
            return model(s, t, _t(k).to(dev)).detach().cpu().double().numpy()
    if f_ideal is None:
        raise ValueError("f_ideal is required for a DispersionCNN")
    fi = _t(f_ideal).to(dev).expand(len(s), -1)
    return model(fi, s, t).cpu().double().numpy()


@torch.no_grad()
def predict_walls(model, sigma, tau):
    """Predicted ensemble-mean wall profiles and widths of a :class:`WallCNN`.

    Parameters
    ----------
    model : WallCNN
    sigma, tau : array_like, shape (P,)
        Units of a.

    Returns
    -------
    profile : ndarray, float64, shape (P, X)
        m_z on the dataset's x grid.
    width : ndarray, float64, shape (P,)
        Delta [nm].
    """
    model.eval()
    dev = next(model.parameters()).device
    profile, width = model(_t(np.atleast_1d(sigma)).to(dev), _t(np.atleast_1d(tau)).to(dev))
    return profile.cpu().double().numpy(), width.cpu().double().numpy()


def dispersion_metrics(f_pred, f_true, f_ideal):
    """Errors of predicted dispersions against the measured ones.

    Parameters
    ----------
    f_pred, f_true : array_like, shape (P, K)
        Predicted and measured (ensemble-mean) f [GHz].
    f_ideal : array_like, shape (K,)
        Ideal dispersion [GHz] (for the relative error and the baseline).

    Returns
    -------
    dict
        ``mae`` (GHz, mean over pairs and k), ``rmse`` (GHz), ``max`` (GHz),
        ``relative_mae`` (mae over the ideal bandwidth), ``mae_ideal``
        (GHz: the error of predicting f = f_ideal, the no-defect baseline)
        and ``f0_error`` (GHz, mean |f_pred(k=0) - f_ideal(0)|; 0 for the
        TFC network by construction).

    Raises
    ------
    ValueError
        Shapes that do not match.
    """
    fp, ft, fi = (np.asarray(x, dtype=np.float64) for x in (f_pred, f_true, f_ideal))
    if fp.shape != ft.shape or fp.ndim != 2 or fi.shape != fp.shape[1:]:
        raise ValueError(f"f_pred and f_true must be (P, K) and f_ideal (K,), got {fp.shape}, {ft.shape}, {fi.shape}")
    err = fp - ft
    return dict(mae=float(np.abs(err).mean()), rmse=float(np.sqrt((err ** 2).mean())), max=float(np.abs(err).max()),
                relative_mae=float(np.abs(err).mean() / (fi.max() - fi.min())),
                mae_ideal=float(np.abs(fi[None] - ft).mean()), f0_error=float(np.abs(fp[:, 0] - fi[0]).mean()))


def wall_metrics(width_pred, width_true, widths=None):
    """Wall-width errors in nm (the paper's mean and standard deviation).

    Parameters
    ----------
    width_pred, width_true : array_like, shape (P,)
        Predicted and ensemble-mean widths [nm].
    widths : array_like, shape (P, R), optional
        Widths of the individual realisations [nm] (NaN entries ignored).

    Returns
    -------
    dict
        ``mean``, ``std`` (ddof 1 when P > 1) and ``mae`` of
        ``width_pred - width_true``; with ``widths`` also
        ``realisation_mean`` and ``realisation_std``, the same statistics of
        ``width_pred - widths[p, r]`` over all held-out realisations (the
        error against single samples, which includes their scatter).

    Raises
    ------
    ValueError
        Shapes that do not match.
    """
    wp, wt = np.asarray(width_pred, dtype=np.float64), np.asarray(width_true, dtype=np.float64)
    if wp.shape != wt.shape or wp.ndim != 1:
        raise ValueError(f"width_pred and width_true must be (P,) arrays of equal length, got {wp.shape}, {wt.shape}")
    e = wp - wt
    out = dict(mean=float(e.mean()), std=float(e.std(ddof=1)) if e.size > 1 else 0.0, mae=float(np.abs(e).mean()))
    if widths is not None:
        w = np.asarray(widths, dtype=np.float64)
        if w.ndim != 2 or w.shape[0] != wp.size:
            raise ValueError(f"widths must have shape ({wp.size}, R), got {w.shape}")
        er = (wp[:, None] - w)[np.isfinite(w)]
        out.update(realisation_mean=float(er.mean()), realisation_std=float(er.std(ddof=1)) if er.size > 1 else 0.0)
    return out


def metrics_table(dispersion, wall):
    """Markdown table of the measured errors beside the paper's.

    Parameters
    ----------
    dispersion : dict of str to dict
        Network name -> :func:`dispersion_metrics` on held-out pairs (the
        first one's ``mae_ideal`` is shown as the no-defect baseline).
    wall : dict
        :func:`wall_metrics` on held-out pairs (with realisations).

    Returns
    -------
    str
        A markdown table (display with ``IPython.display.Markdown``).

    Raises
    ------
    ValueError
        Empty ``dispersion``.
    """
    if not dispersion:
        raise ValueError("dispersion must map at least one network name to its metrics")
    lo, hi = PAPER_METRICS["dispersion_mae"]
    paper = f"{lo}-{hi} (unit not stated)"
    rows = [(f"dispersion MAE, {name}", f"{m['mae']:.3g} GHz ({100 * m['relative_mae']:.2g} % of bandwidth)", paper)
            for name, m in dispersion.items()]
    rows.append(("dispersion MAE, f = f_ideal (no-defect baseline)",
                 f"{next(iter(dispersion.values()))['mae_ideal']:.3g} GHz", "-"))
    mean, std = PAPER_METRICS["width_error_mean_nm"], PAPER_METRICS["width_error_std_nm"]
    rows += [("wall-width error mean, vs ensemble mean", f"{wall['mean']:.3g} nm", f"{mean} nm"),
             ("wall-width error std, vs ensemble mean", f"{wall['std']:.3g} nm", f"{std} nm")]
    if "realisation_mean" in wall:
        rows += [("wall-width error mean, vs single realisations", f"{wall['realisation_mean']:.3g} nm", f"{mean} nm"),
                 ("wall-width error std, vs single realisations", f"{wall['realisation_std']:.3g} nm", f"{std} nm")]
    lines = ["| quantity (held-out pairs) | this book | paper |", "|---|---|---|"]
    return "\n".join(lines + [f"| {a} | {b} | {c} |" for a, b, c in rows])


# ----------------------------------------------------------------------------- inverse design
@dataclass
class InverseDesign:
    """Defect parameters predicted to give a target wall width (:func:`inverse_design`).

    Attributes
    ----------
    target : float
        Target width [nm].
    sigma, tau : ndarray, float64, shape (n,)
        Points of the iso-width curve(s) in the searched box (units of a);
        empty if the target is outside the network's range there.
    width : ndarray, float64, shape (n,)
        Network width at those points [nm] (equal to ``target`` to the root
        tolerance).
    sigma_grid, tau_grid : ndarray, shape (S,), (T,)
        The log grids that were scanned.
    width_grid : ndarray, shape (S, T)
        Network width on the grid [nm] (for contour plots).
    """

    target: float
    sigma: np.ndarray
    tau: np.ndarray
    width: np.ndarray
    sigma_grid: np.ndarray
    tau_grid: np.ndarray
    width_grid: np.ndarray


def inverse_design(model, target, *, sigma_range, tau_range, n_sigma=41, n_tau=81, xtol=1e-6):
    r"""All (sigma, tau) in a box for which the wall network predicts a target width.

    The inverse problem is not unique: one equation, two unknowns, so the
    solutions form curves :math:`\Delta_\theta(\sigma, \tau) = \Delta^*`.
    For each sigma of a log grid, :math:`\Delta_\theta` is scanned along a
    log grid of tau, every sign change of :math:`\Delta_\theta - \Delta^*`
    is refined with ``scipy.optimize.brentq`` on log tau, and the roots are
    collected.

    Parameters
    ----------
    model : WallCNN
        Trained network (eval mode is set).
    target : float
        Target width Delta* [nm], > 0.
    sigma_range, tau_range : (float, float)
        Search box (units of a), normally the training range (the network
        is not trusted outside it).
    n_sigma, n_tau : int
        Grid sizes, >= 2.
    xtol : float
        Root tolerance in log tau.

    Returns
    -------
    InverseDesign

    Raises
    ------
    ValueError
        Non-positive target or bad ranges or sizes.

    Notes
    -----
    Source: inverse use of the two-branch network (defect parameters for a
    target width), Eagan, Copus & Iacocca, arXiv:2603.10182.
    """
    if not (isinstance(target, (int, float, np.floating)) and math.isfinite(target) and target > 0):
        raise ValueError(f"target must be a width in nm, finite and > 0, got {target!r}")
    for name, (lo, hi) in (("sigma_range", sigma_range), ("tau_range", tau_range)):
        if not (0 < lo < hi and math.isfinite(hi)):
            raise ValueError(f"{name} must be (lo, hi) with 0 < lo < hi, got {(lo, hi)!r}")
    for name, n in (("n_sigma", n_sigma), ("n_tau", n_tau)):
        if not isinstance(n, int) or n < 2:
            raise ValueError(f"{name} must be an integer >= 2, got {n!r}")
    sg = np.geomspace(*sigma_range, n_sigma)
    tg = np.geomspace(*tau_range, n_tau)
    ss, tt = np.meshgrid(sg, tg, indexing="ij")
    grid = predict_walls(model, ss.ravel(), tt.ravel())[1].reshape(ss.shape)

    def width_at(s, log_t):
        return float(predict_walls(model, [s], [math.exp(log_t)])[1][0])

    sig, tau, wid = [], [], []
    for i, s in enumerate(sg):
        d = grid[i] - target
        for j in np.flatnonzero(np.sign(d[:-1]) * np.sign(d[1:]) <= 0):
            if d[j] == 0 and j > 0 and d[j - 1] == 0:
                continue
            lt = brentq(lambda x: width_at(s, x) - target, math.log(tg[j]), math.log(tg[j + 1]), xtol=xtol) \
                if d[j] != d[j + 1] else math.log(tg[j])
            sig.append(s)
            tau.append(math.exp(lt))
            wid.append(width_at(s, lt))
    return InverseDesign(target=float(target), sigma=np.array(sig), tau=np.array(tau), width=np.array(wid),
                         sigma_grid=sg, tau_grid=tg, width_grid=grid)
