r"""Losses, predictions, metrics and inverse design of the defect networks of chapter 9.

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

They are trained by :mod:`mag_ml.chapters.defects` (through
:func:`mag_ml.training.fit`) on the chapter's dataset with its
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

Sizes per profile: :data:`mag_ml.chapters.defects.DEFECT_NETWORKS`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import brentq

from ..checks import check_int, check_real
from ..models.tfc import DispersionPINN, kernel_coordinate

__all__ = ["PAPER_METRICS", "TARGET", "split_indices", "ideal_band", "dispersion_target", "cnn_loss", "pinn_loss",
           "predict_dispersion", "predict_walls",
           "dispersion_metrics", "wall_metrics", "metrics_table", "InverseDesign", "inverse_design"]

#: Dispersion the networks learn: the centroid (power-weighted mean frequency)
#: of the ensemble-averaged line at each k.  With strong disorder the averaged
#: line has several maxima (the flat band of short isolated segments near f0
#: and the renormalised magnon band), so its *peak* jumps between them from one
#: k or (sigma, tau) to the next, while the centroid is smooth and obeys the
#: first-moment sum rule exactly (the PINN's governing equation).
TARGET = "f_centroid"

#: Errors reported by Eagan, Copus & Iacocca, arXiv:2603.10182 (abstract and results).
PAPER_METRICS = {"width_error_mean_nm": 0.077, "width_error_std_nm": 0.835, "dispersion_mae": (0.29, 0.36)}


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


def dispersion_target(data, target=TARGET):
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
