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
  in GHz (the review's quoted 0.29-0.36 is given without a stated unit or
  normalisation; :func:`dispersion_metrics` also gives it relative to the
  ideal bandwidth);
* wall-width error ``Delta_pred - Delta`` in nm: its mean and standard
  deviation over the held-out pairs against the ensemble-mean width, and
  against the individual realisations' widths (the spread that a single
  sample of the statistical model has; the figures a review of the work
  quotes for the paper's network are mean 0.077 nm, standard deviation
  0.835 nm, :data:`PAPER_METRICS`; the arXiv abstract gives none).

Sizes per profile: :data:`mag_ml.chapters.defects.DEFECT_NETWORKS`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import brentq

from ..checks import check_int, check_real
from ..models.tfc import DispersionPINN, intact_bond_fraction, kernel_coordinate

__all__ = ["PAPER_METRICS", "TARGET", "BASELINES", "RESOLVED", "split_indices", "ideal_band", "dispersion_target", "cnn_loss", "pinn_loss",
           "predict_dispersion", "predict_walls",
           "dispersion_metrics", "wall_metrics", "metrics_table", "dispersion_baselines", "wall_baselines",
           "bootstrap_draws", "bootstrap_dispersion", "target_noise_floor", "bootstrap_walls", "dispersion_table", "wall_table",
           "compare", "ranking_text", "verdict_line",
           "INVERSE_COMBINATIONS", "inverse_baselines", "bootstrap_inverse", "inverse_coverage", "inverse_table",
           "predict_inverse", "identifiability_text", "InverseDesign", "inverse_design", "predict_scalar",
           "depinning_baselines", "depinning_table", "predict_line_shapes", "delta_lines", "line_shape_distance",
           "line_shape_baselines", "bootstrap_pairs", "line_shape_table"]

#: Dispersion the networks learn: the centroid (power-weighted mean frequency)
#: of the ensemble-averaged line at each k.  With strong disorder the averaged
#: line has several maxima (the flat band of short isolated segments near f0
#: and the renormalised magnon band), so its *peak* jumps between them from one
#: k or (sigma, tau) to the next, while the centroid is smooth and obeys the
#: first-moment sum rule exactly (the PINN's governing equation).
TARGET = "f_centroid"

#: Errors of the networks of Eagan, Copus & Iacocca, arXiv:2603.10182, as quoted by a review of the work
#: (the arXiv abstract states no numbers, so these are the review's figures, not read from the paper).
PAPER_METRICS = {"width_error_mean_nm": 0.077, "width_error_std_nm": 0.835, "dispersion_mae": (0.29, 0.36)}

#: Names of the baseline predictors, in the order of the results tables.
BASELINES = ("sum rule", "dilution law", "ideal (defect-free)", "training mean")

#: Fraction of paired bootstrap resamples beyond which one predictor is said to beat another.
RESOLVED = 0.95


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


# ----------------------------------------------------------------------------- baselines and intervals
def _occupied(sigma, tau):
    s, t = np.asarray(sigma, dtype=np.float64), np.asarray(tau, dtype=np.float64)
    if s.shape != t.shape or not (np.all(s > 0) and np.all(t > 0)):
        raise ValueError(f"sigma and tau must be positive arrays of one shape, got shapes {s.shape}, {t.shape}")
    return s, t, s / (s + t)


def dispersion_baselines(data, train, *, f0):
    r"""The formula and constant predictors of the dispersion, beside which every network is reported.

    Parameters
    ----------
    data : DefectDataset
        ``sigma``, ``tau`` (P,) [a], ``f_ideal`` (K,) [GHz] and the target
        dispersion (:data:`TARGET`, (P, K) [GHz]).
    train : array_like of int
        Indices of the training pairs (for the training mean).
    f0 : float
        Uniform-mode frequency [GHz] (:func:`ideal_band`).

    Returns
    -------
    dict of str to ndarray, float64, shape (P, K)
        Keys :data:`BASELINES`: ``"sum rule"``
        :math:`f_0 + \rho_b(\sigma,\tau)[f_\mathrm{ideal} - f_0]` (the exact
        first-moment sum rule with the ensemble bond fraction, no fitted
        parameter); ``"dilution law"`` :math:`f_0 + p[f_\mathrm{ideal} - f_0]`,
        exchange diluted by the occupied fraction
        :math:`p = \sigma/(\sigma + \tau)` (the mean-field estimate; it
        ignores that vacancies come in runs, so it removes more bonds than
        the chain loses: :math:`p < \rho_b`); ``"ideal (defect-free)"`` :math:`f_\mathrm{ideal}`;
        ``"training mean"`` the mean target over the training pairs at each k.

    Raises
    ------
    ValueError
        Bad sigma, tau or an empty ``train``.

    Notes
    -----
    Sum rule: :func:`mag_ml.physics.magnons.sum_rule_frequency` (derived for
    the vacancy model of arXiv:2603.10182).
    """
    s, t, p = _occupied(data.sigma, data.tau)
    train = np.asarray(train, dtype=np.int64)
    if train.size == 0:
        raise ValueError("train must name at least one training pair, got none")
    fi = np.asarray(data.f_ideal, dtype=np.float64)[None, :]
    rho = intact_bond_fraction(torch.as_tensor(s), torch.as_tensor(t)).numpy()[:, None]
    target = dispersion_target(data)
    return {"sum rule": f0 + rho * (fi - f0), "dilution law": f0 + p[:, None] * (fi - f0),
            "ideal (defect-free)": np.repeat(fi, s.size, axis=0),
            "training mean": np.repeat(target[train].mean(0, keepdims=True), s.size, axis=0)}


def wall_baselines(data, train):
    r"""The formula and constant predictors of the wall width [nm], beside which the network is reported.

    Parameters
    ----------
    data : DefectDataset
        ``sigma``, ``tau`` (P,) [a], ``wall_width`` (sqrt(A/K) [nm]) and
        ``width`` (P,) [nm].
    train : array_like of int
        Indices of the training pairs.

    Returns
    -------
    dict of str to ndarray, float64, shape (P,) or None
        ``"sum rule"``: None (the sum rule is about magnon frequencies and
        predicts no width; the row is kept so that every table has the same
        baselines); ``"dilution law"`` :math:`\Delta_0/\sqrt p`, the wall of
        the anisotropy diluted to :math:`pK_u`, :math:`\Delta_0 = \sqrt{A/K_u}`;
        ``"ideal (defect-free)"`` :math:`\Delta_0`; ``"training mean"`` the
        mean width of the training pairs.

    Raises
    ------
    ValueError
        Bad sigma, tau or an empty ``train``.
    """
    s, _, p = _occupied(data.sigma, data.tau)
    train = np.asarray(train, dtype=np.int64)
    if train.size == 0:
        raise ValueError("train must name at least one training pair, got none")
    d0 = float(data.wall_width)
    return {"sum rule": None, "dilution law": d0 / np.sqrt(p), "ideal (defect-free)": np.full(s.size, d0),
            "training mean": np.full(s.size, float(np.mean(np.asarray(data.width)[train])))}


def bootstrap_draws(n_pairs, n_realisations, *, n_boot=2000, seed=0):
    """Resampling indices of a two-level bootstrap: test pairs, then realisations within each drawn pair.

    Parameters
    ----------
    n_pairs, n_realisations : int
        >= 1.
    n_boot : int
        Number of resamples, >= 10.
    seed : int
        ``numpy.random.default_rng(seed)``.

    Returns
    -------
    pairs : ndarray, int64, shape (n_boot, n_pairs)
    realisations : ndarray, int64, shape (n_boot, n_pairs, n_realisations)

    Raises
    ------
    ValueError
        Counts out of range.

    Notes
    -----
    Both levels are resampled with replacement (the pairs are a sample of
    the (sigma, tau) plane, the realisations of the vacancy process), the
    standard hierarchical bootstrap (Davison & Hinkley, *Bootstrap Methods
    and their Application*, 1997, sec. 3.8).  Every predictor is scored on
    the same draws, so differences between them are paired.
    """
    n_pairs = check_int(n_pairs, "n_pairs", minimum=1)
    n_realisations = check_int(n_realisations, "n_realisations", minimum=1)
    n_boot = check_int(n_boot, "n_boot", minimum=10)
    rng = np.random.default_rng(seed)
    return (rng.integers(0, n_pairs, size=(n_boot, n_pairs)),
            rng.integers(0, n_realisations, size=(n_boot, n_pairs, n_realisations)))


def _interval(point, draws, level, *, nonneg=True):
    """Basic bootstrap interval (Davison & Hinkley 1997, eq. 5.6): [2 t - q_hi, 2 t - q_lo], clipped at 0 if nonneg.

    The resampled statistic's shift from ``point`` estimates the statistic's bias and is subtracted: resampled
    realisations add their scatter to every target, which raises a resampled MAE (module docstring of the
    bootstrap functions).
    """
    q_lo, q_hi = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
    lo, hi = 2 * point - q_hi, 2 * point - q_lo
    if nonneg:
        lo, hi = max(lo, 0.0), max(hi, 0.0)
    return dict(value=float(point), lo=float(lo), hi=float(hi), draws=np.asarray(draws, dtype=np.float64))


def _check_level(level):
    level = check_real(level, "level", positive=True)
    if level >= 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    return level


def _applicable(predictions, shape):
    """(name, float64 array) of every prediction that is not None, each checked to have ``shape``."""
    for name, pred in predictions.items():
        if pred is None:
            continue
        pr = np.asarray(pred, dtype=np.float64)
        if pr.shape != tuple(shape):
            raise ValueError(f"predictions[{name!r}] must have shape {tuple(shape)}, got {pr.shape}")
        yield name, pr


def bootstrap_dispersion(predictions, f_centroid_r, weight_r, *, n_boot=2000, seed=0, level=0.95):
    """Held-out dispersion MAE of each predictor with a bootstrap interval over test pairs and realisations.

    Parameters
    ----------
    predictions : dict of str to array_like, shape (P, K)
        Predicted dispersions [GHz] on the P test pairs.
    f_centroid_r, weight_r : array_like, float64, shape (P, R, K)
        Each test realisation's centroid [GHz] and spectral weight: the
        target of a pair is their weighted mean (the centroid of the
        averaged spectrum), recomputed for every resample of realisations.
    n_boot, seed
        As in :func:`bootstrap_draws`.
    level : float
        Central interval, in (0, 1).

    Returns
    -------
    dict of str to dict
        Per predictor ``value`` (MAE [GHz] on the data as measured), ``lo``,
        ``hi`` (the interval) and ``draws`` (n_boot,) the MAE of every
        resample (the same resamples for every predictor).

    Raises
    ------
    ValueError
        Shapes that do not match, bad ``level`` or counts.

    Notes
    -----
    Basic bootstrap intervals (Davison & Hinkley 1997, eq. 5.6).
    Resampling the realisations adds their scatter to each resampled
    target, so a resampled MAE is biased upwards against the measured one,
    most for a predictor whose error is not large against that scatter (the
    measured MAE is itself biased upwards by the targets' own finite-ensemble
    noise, :func:`target_noise_floor`); the basic interval subtracts that
    shift (a percentile interval would lie above the measured value).  The
    ranking of two predictors is read from the paired resamples
    (:func:`ranking_text`).
    """
    level = _check_level(level)
    c, w = np.asarray(f_centroid_r, dtype=np.float64), np.asarray(weight_r, dtype=np.float64)
    if c.ndim != 3 or c.shape != w.shape:
        raise ValueError(f"f_centroid_r and weight_r must be (P, R, K) arrays of one shape, got {c.shape}, {w.shape}")
    n_p, n_r, _ = c.shape
    pairs, reals = bootstrap_draws(n_p, n_r, n_boot=n_boot, seed=seed)
    target = (w * c).sum(1) / w.sum(1)
    cw = (w * c)[pairs[:, :, None], reals]  # (B, P, R, K)
    t_boot = cw.sum(2) / w[pairs[:, :, None], reals].sum(2)
    out = {}
    for name, f in predictions.items():
        f = np.asarray(f, dtype=np.float64)
        if f.shape != target.shape:
            raise ValueError(f"predictions[{name!r}] must have shape {target.shape}, got {f.shape}")
        out[name] = _interval(np.abs(f - target).mean(), np.abs(f[pairs] - t_boot).mean(axis=(1, 2)), level)
    return out


def target_noise_floor(f_centroid_r, weight_r):
    r"""Expected MAE of a perfect predictor of the ensemble expectation against the finite-ensemble targets [GHz].

    Each target is the weighted mean :math:`T = \sum_r w_r c_r` of R
    realisations' centroids (weights normalised per pair and k); its
    standard error is estimated as
    :math:`s = \sqrt{\tfrac{R}{R-1}\sum_r w_r^2 (c_r - T)^2}`, and a
    prediction that equals the expectation has a mean absolute error
    :math:`\sqrt{2/\pi}\,s` (Gaussian errors), averaged over pairs and k.
    A predictor whose held-out MAE is near this floor cannot be told from
    the exact expectation by this run.

    Parameters
    ----------
    f_centroid_r, weight_r : array_like, float64, shape (P, R, K)
        As in :func:`bootstrap_dispersion`, R >= 2.

    Returns
    -------
    float
        The floor in GHz.

    Raises
    ------
    ValueError
        Shapes that do not match or fewer than 2 realisations.
    """
    c, w = np.asarray(f_centroid_r, dtype=np.float64), np.asarray(weight_r, dtype=np.float64)
    if c.ndim != 3 or c.shape != w.shape or c.shape[1] < 2:
        raise ValueError(f"f_centroid_r and weight_r must be (P, R, K) arrays of one shape with R >= 2, got "
                         f"{c.shape}, {w.shape}")
    r = c.shape[1]
    wn = w / w.sum(1, keepdims=True)
    t = (wn * c).sum(1, keepdims=True)
    se = np.sqrt(r / (r - 1) * (wn ** 2 * (c - t) ** 2).sum(1))
    return float(np.sqrt(2 / np.pi) * se.mean())


def bootstrap_walls(predictions, widths, *, n_boot=2000, seed=0, level=0.95):
    """Held-out wall-width errors of each predictor with bootstrap intervals over test pairs and realisations.

    Any scalar per realisation is scored the same way (chapter 9 also
    scores depinning fields, in mT, with it).

    Parameters
    ----------
    predictions : dict of str to array_like (P,) or None
        Predicted widths [nm] on the P test pairs; None for a predictor
        without a width (reported as not applicable).
    widths : array_like, float64, shape (P, R)
        Widths of the test realisations [nm].
    n_boot, seed, level
        As in :func:`bootstrap_dispersion`.

    Returns
    -------
    dict of str to dict or None
        Per predictor ``std`` and ``mean``: the standard deviation (ddof 1)
        and mean of ``prediction - width`` over all test realisations (the
        paper's statistic); ``mae_mean``: the mean absolute error against
        each pair's ensemble-mean width.  Each is a dict of ``value``,
        ``lo``, ``hi`` and ``draws``; None where the prediction is None.

    Raises
    ------
    ValueError
        Shapes that do not match, bad ``level`` or counts.
    """
    level = _check_level(level)
    wd = np.asarray(widths, dtype=np.float64)
    if wd.ndim != 2 or not np.all(np.isfinite(wd)):
        raise ValueError(f"widths must be a finite (P, R) array, got shape {wd.shape}")
    n_p, n_r = wd.shape
    pairs, reals = bootstrap_draws(n_p, n_r, n_boot=n_boot, seed=seed)
    w_boot = wd[pairs[:, :, None], reals]  # (B, P, R)
    out = dict.fromkeys(predictions)  # None where a predictor does not apply; table order kept
    for name, pr in _applicable(predictions, (n_p,)):
        e, e_boot = pr[:, None] - wd, pr[pairs][:, :, None] - w_boot
        flat = e_boot.reshape(e_boot.shape[0], -1)
        out[name] = dict(
            std=_interval(e.std(ddof=1), flat.std(axis=1, ddof=1), level),
            mean=_interval(e.mean(), flat.mean(axis=1), level, nonneg=False),
            mae_mean=_interval(np.abs(e.mean(1)).mean(), np.abs(e_boot.mean(2)).mean(1), level))
    return out


def _cell(stat, fmt):
    return f"{stat['value']:{fmt}} [{stat['lo']:{fmt}}, {stat['hi']:{fmt}}]"


def _results_table(boot, networks, columns, cells, paper_row):
    """Markdown rows ``| name | kind | cells(stat)... |`` for every predictor of ``boot``, networks marked."""
    missing = [n for n in networks if n not in boot]
    if missing:
        raise ValueError(f"networks {missing} have no entry in boot (keys {sorted(boot)})")
    lines = ["| " + " | ".join(["predictor", "kind", *columns]) + " |", "|" + "---|" * (len(columns) + 2)]
    for name, stat in boot.items():
        kind = "network" if name in networks else "baseline"
        lines.append("| " + " | ".join([name, kind, *cells(stat)]) + " |")
    if paper_row is not None:
        lines.append("| " + " | ".join(paper_row) + " |")
    return "\n".join(lines)


def dispersion_table(boot, *, networks, bandwidth, paper=True):
    """Markdown table of the held-out dispersion MAE of networks and baselines, with intervals.

    Parameters
    ----------
    boot : dict
        :func:`bootstrap_dispersion` for the networks and :data:`BASELINES`.
    networks : sequence of str
        Which keys of ``boot`` are networks (the rest are baselines).
    bandwidth : float
        Ideal bandwidth W [GHz] (for the relative column).
    paper : bool
        Add the review's quoted figure as a last row.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        A network missing from ``boot``.
    """
    lo, hi = PAPER_METRICS["dispersion_mae"]
    return _results_table(boot, networks, ["held-out MAE [GHz] (95 % interval)", "MAE / bandwidth"],
                          lambda st: [_cell(st, ".0f"), f"{100 * st['value'] / bandwidth:.1f} %"],
                          ["paper's networks (figure quoted by a review)", "-", f"{lo}-{hi} (unit not stated)", "-"]
                          if paper else None)


def wall_table(boot, *, networks, paper=True):
    """Markdown table of the held-out wall-width errors of networks and baselines, with intervals.

    Parameters
    ----------
    boot : dict
        :func:`bootstrap_walls` for the networks and :data:`BASELINES`.
    networks : sequence of str
        Which keys of ``boot`` are networks.
    paper : bool
        Add the review's quoted figures as a last row.

    Returns
    -------
    str
        Markdown: per predictor the standard deviation and mean of the error
        against single realisations and the MAE against the ensemble means,
        each with its interval; "no width prediction" for a None entry.

    Raises
    ------
    ValueError
        If a name of ``networks`` has no entry in ``boot``.
    """
    def cells(st):
        if st is None:
            return ["no width prediction", "-", "-"]
        return [_cell(st["std"], ".3f"), _cell(st["mean"], "+.3f"), _cell(st["mae_mean"], ".3f")]

    return _results_table(boot, networks, ["error std vs realisations [nm]", "error mean vs realisations [nm]",
                                           "MAE vs ensemble means [nm]"], cells,
                          ["paper's network (figures quoted by a review)", "-",
                           str(PAPER_METRICS["width_error_std_nm"]), f"{PAPER_METRICS['width_error_mean_nm']:+}", "-"]
                          if paper else None)


def _best(scores, networks):
    """(scored, best network, best baseline) of a score dict; ValueError without both kinds."""
    scored = {n: v for n, v in scores.items() if v is not None}
    nets = [n for n in networks if n in scored]
    bases = [n for n in scored if n not in networks]
    if not nets or not bases:
        raise ValueError(f"a verdict needs at least one scored network and one baseline, got networks {nets}, "
                         f"baselines {bases}")
    return (scored, min(nets, key=lambda n: scored[n]["value"]), min(bases, key=lambda n: scored[n]["value"]))


def ranking_text(scores, *, networks, quantity, unit, fmt=".0f", resamples="test pairs and realisations"):
    """One generated paragraph: the predictors ranked by a bootstrapped error, and the best network's verdict.

    Parameters
    ----------
    scores : dict of str to dict or None
        Per predictor a statistic of :func:`bootstrap_dispersion` or
        :func:`bootstrap_walls` (``value``, ``lo``, ``hi``, ``draws``);
        None entries (not applicable) are skipped.
    networks : sequence of str
        Which names are networks (at least one, with a score).
    quantity : str
        What is ranked, e.g. ``"held-out dispersion MAE"``.
    unit : str
        Unit of the values, e.g. ``"GHz"``.
    fmt : str
        Number format.
    resamples : str
        What the bootstrap resampled (named in the text).

    Returns
    -------
    str
        Markdown: the ranking (smallest first), then the best network
        against the best baseline: "beats" when it is better in at least
        :data:`RESOLVED` of the paired bootstrap resamples, "is worse than"
        when in at most 1 - :data:`RESOLVED`, otherwise "is not
        distinguished by this run from", with the fraction.

    Raises
    ------
    ValueError
        No network or no baseline with a score.
    """
    scored, best_net, best_base = _best(scores, networks)
    unit = f" {unit}" if unit else ""
    order = sorted(scored, key=lambda n: scored[n]["value"])
    ranked = " < ".join(f"{n} {scored[n]['value']:{fmt}}{unit}" for n in order)
    a, b = scored[best_net], scored[best_base]
    wins, verdict = compare(scores, best_net, best_base)
    return (f"Ranked by {quantity} (smallest first): {ranked}. The best network, the {best_net} "
            f"({a['value']:{fmt}}{unit}), {verdict} the best baseline, the {best_base} ({b['value']:{fmt}}{unit}): "
            f"the network is better in {100 * wins:.0f} % of the bootstrap resamples of {resamples}.")



def compare(scores, first, second):
    """Paired bootstrap comparison of two predictors' errors.

    Parameters
    ----------
    scores : dict of str to dict
        Statistics with ``draws`` on the same resamples (:func:`bootstrap_dispersion`, :func:`bootstrap_walls`).
    first, second : str
        Keys of ``scores``.

    Returns
    -------
    (float, str)
        The fraction of resamples in which ``first`` has the smaller error,
        and the verb phrase the chapter uses for it: ``"beats"`` (fraction
        >= :data:`RESOLVED`), ``"is worse than"`` (<= 1 - RESOLVED) or
        ``"is not distinguished by this run from"``.

    Raises
    ------
    KeyError
        A name not in ``scores``.
    """
    wins = float(np.mean(scores[first]["draws"] < scores[second]["draws"]))
    if wins >= RESOLVED:
        return wins, "beats"
    if wins <= 1 - RESOLVED:
        return wins, "is worse than"
    return wins, "is not distinguished by this run from"


def verdict_line(scores, *, networks, quantity, unit, fmt=".0f"):
    """A generated summary bullet: does the best network beat the best baseline, and do their intervals overlap?

    Parameters
    ----------
    scores, networks, quantity, unit, fmt
        As in :func:`ranking_text`.

    Returns
    -------
    str
        One Markdown list item (indented by two spaces, for a nested list).

    Raises
    ------
    ValueError
        No network or no baseline with a score.
    """
    _, best, base = _best(scores, networks)
    unit = f" {unit}" if unit else ""
    a, b = scores[best], scores[base]
    wins, verb = compare(scores, best, base)
    return (f"  - {quantity}: the best network, the {best}, {verb} the best baseline, the {base} "
            f"({a['value']:{fmt}} against {b['value']:{fmt}}{unit}; 95 % intervals {a['lo']:{fmt}}-{a['hi']:{fmt}} "
            f"and {b['lo']:{fmt}}-{b['hi']:{fmt}}{unit}; better in {100 * wins:.0f} % of the paired resamples).")


# ----------------------------------------------------------------------------- the inverse (two-branch) network
#: Combinations of the defect parameters whose recovery the inverse network is scored on (natural logs).
INVERSE_COMBINATIONS = ("log sigma", "log tau", "log(tau/sigma)", "log lambda")


def _combinations(log_s, log_t):
    lam = log_s + log_t - np.logaddexp(log_s, log_t)  # lambda = sigma tau / (sigma + tau)
    return np.stack([log_s, log_t, log_t - log_s, lam], axis=-1)


def inverse_baselines(widths, *, wall_width, train_sigma, train_tau):
    r"""Predictors of (log sigma, log tau) from a realisation's wall width that need no network.

    Parameters
    ----------
    widths : array_like, shape (S,)
        Fitted widths of the samples [nm].
    wall_width : float
        :math:`\Delta_0 = \sqrt{A/K_u}` [nm].
    train_sigma, train_tau : array_like, shape (T,)
        Defect parameters of the training samples (units of a).

    Returns
    -------
    dict of str to ndarray (S, 2) or None
        Keys :data:`BASELINES`.  ``"dilution law"``: the width inverted
        through :math:`\Delta = \Delta_0/\sqrt p`, i.e.
        :math:`\tau/\sigma = (\Delta/\Delta_0)^2 - 1` (floored at 1e-3),
        with the correlation length :math:`\lambda` at its training mean
        (one width cannot fix two parameters); ``"training mean"``: the
        training means of log sigma and log tau; ``"sum rule"`` and
        ``"ideal (defect-free)"``: None (the sum rule is about magnon
        frequencies, and the defect-free chain has tau = 0, no finite
        log tau).

    Raises
    ------
    ValueError
        Non-positive widths or defect parameters.
    """
    w = np.asarray(widths, dtype=np.float64)
    s, t, _ = _occupied(train_sigma, train_tau)
    if not np.all(w > 0):
        raise ValueError("widths must be > 0 (nm)")
    mean = np.array([np.log(s).mean(), np.log(t).mean()])
    log_lam = float(_combinations(np.log(s), np.log(t))[:, 3].mean())
    u = np.log(np.maximum((w / float(wall_width)) ** 2 - 1.0, 1e-3))  # log(tau / sigma)
    log_s = log_lam + np.logaddexp(0.0, u) - u  # sigma = lambda (1 + tau/sigma) / (tau/sigma)
    return {"sum rule": None, "dilution law": np.stack([log_s, log_s + u], axis=-1),
            "ideal (defect-free)": None, "training mean": np.repeat(mean[None], w.size, axis=0)}


def bootstrap_inverse(predictions, true_log, n_pairs, *, n_boot=2000, seed=0, level=0.95):
    """RMSE of recovered defect parameters per combination, with intervals over test pairs and realisations.

    Parameters
    ----------
    predictions : dict of str to array_like (S, 2) or None
        Predicted (log sigma, log tau) of the S = n_pairs x R test samples,
        pair-major (:func:`mag_ml.chapters.defects.inverse_samples`); None
        for a predictor that does not apply.
    true_log : array_like, shape (S, 2)
        True (log sigma, log tau).
    n_pairs : int
        Number of test pairs P (S must be a multiple).
    n_boot, seed, level
        As in :func:`bootstrap_dispersion`.

    Returns
    -------
    dict of str to dict of str to dict, or None
        Per predictor and per :data:`INVERSE_COMBINATIONS` a statistic
        (``value``, ``lo``, ``hi``, ``draws``) of the RMSE (natural log
        units).

    Raises
    ------
    ValueError
        Shapes that do not match.
    """
    level = _check_level(level)
    y = np.asarray(true_log, dtype=np.float64)
    n_pairs = check_int(n_pairs, "n_pairs", minimum=1)
    if y.ndim != 2 or y.shape[1] != 2 or y.shape[0] % n_pairs:
        raise ValueError(f"true_log must be (n_pairs x R, 2), got {y.shape} for n_pairs={n_pairs}")
    n_r = y.shape[0] // n_pairs
    pairs, reals = bootstrap_draws(n_pairs, n_r, n_boot=n_boot, seed=seed)
    rows = (pairs[:, :, None] * n_r + reals).reshape(pairs.shape[0], -1)
    cy = _combinations(y[:, 0], y[:, 1])
    out = dict.fromkeys(predictions)  # None where a predictor does not apply; table order kept
    for name, pr in _applicable(predictions, y.shape):
        e2 = (_combinations(pr[:, 0], pr[:, 1]) - cy) ** 2  # (S, 4)
        out[name] = {c: _interval(np.sqrt(e2[:, j].mean()), np.sqrt(e2[rows, j].mean(1)), level)
                     for j, c in enumerate(INVERSE_COMBINATIONS)}
    return out


def inverse_coverage(mean_log, std_log, true_log):
    """Fraction of samples whose true (log sigma, log tau) lies within one predicted standard deviation.

    Parameters
    ----------
    mean_log, std_log, true_log : array_like, shape (S, 2)

    Returns
    -------
    ndarray, float64, shape (2,)
        For log sigma and log tau; 0.683 for a calibrated Gaussian uncertainty.

    Raises
    ------
    ValueError
        Shapes that do not match.
    """
    m, sd, y = (np.asarray(a, dtype=np.float64) for a in (mean_log, std_log, true_log))
    if not (m.shape == sd.shape == y.shape and m.ndim == 2 and m.shape[1] == 2):
        raise ValueError(f"mean_log, std_log and true_log must be (S, 2) arrays, got {m.shape}, {sd.shape}, {y.shape}")
    return (np.abs(y - m) <= sd).mean(0)


@torch.no_grad()
def predict_inverse(model, m_z, width):
    """(log sigma, log tau) predicted by a :class:`~mag_ml.models.defect_cnn.DefectInverseCNN`, with its uncertainty.

    Parameters
    ----------
    model : DefectInverseCNN
    m_z : array_like, shape (S, X)
        Relaxed profiles of single realisations.
    width : array_like, shape (S,)
        Their fitted widths [nm].

    Returns
    -------
    mean_log, std_log : ndarray, float64, shape (S, 2)
        Mean and standard deviation of (log sigma, log tau) (natural logs, sigma and tau in units of a).
    """
    model.eval()
    dev = next(model.parameters()).device
    mean, std = model.predict(_t(m_z).to(dev), _t(width).to(dev))
    return mean.cpu().double().numpy(), std.cpu().double().numpy()


def identifiability_text(boot, true_log, *, network):
    """Generated Markdown: which combinations of (sigma, tau) the network recovers, by RMSE over their spread.

    A combination counts as *determined* when the network's RMSE is below half
    the standard deviation of its true values over the test samples, *partly
    determined* below 0.8 of it, and *not determined* otherwise (then the
    network does little better than the mean).

    Parameters
    ----------
    boot : dict
        :func:`bootstrap_inverse`.
    true_log : array_like, shape (S, 2)
        True (log sigma, log tau) of the test samples.
    network : str
        Key of the network in ``boot``.

    Returns
    -------
    str

    Raises
    ------
    KeyError
        ``network`` not in ``boot``.
    """
    y = np.asarray(true_log, dtype=np.float64)
    spread = _combinations(y[:, 0], y[:, 1]).std(0)
    parts = []
    for j, c in enumerate(INVERSE_COMBINATIONS):
        ratio = boot[network][c]["value"] / max(spread[j], 1e-12)
        word = "determined" if ratio < 0.5 else "partly determined" if ratio < 0.8 else "not determined"
        parts.append(f"{c} is {word} (RMSE {boot[network][c]['value']:.2f} against a spread of {spread[j]:.2f})")
    return ("From one realisation's profile and width, " + "; ".join(parts)
            + ". Ratios below 0.5 of the spread count as determined, below 0.8 as partly determined.")


def inverse_table(boot, *, networks):
    """Markdown table of the inverse network's recovery errors beside the baselines, one column per combination.

    Parameters
    ----------
    boot : dict
        :func:`bootstrap_inverse`.
    networks : sequence of str
        Which keys are networks.

    Returns
    -------
    str
        RMSE [natural-log units] with 95 % intervals; "does not apply" rows for None.

    Raises
    ------
    ValueError
        A network missing from ``boot``.
    """
    def cells(st):
        if st is None:
            return ["does not apply"] + ["-"] * (len(INVERSE_COMBINATIONS) - 1)
        return [_cell(st[c], ".2f") for c in INVERSE_COMBINATIONS]

    return _results_table(boot, networks, [f"RMSE {c}" for c in INVERSE_COMBINATIONS], cells, None)


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


# ----------------------------------------------------------------------------- depinning
def predict_scalar(model, sigma, tau):
    """Predictions of a :class:`~mag_ml.models.defect_cnn.DefectMLP` (e.g. depinning fields in T), float64 (P,).

    Parameters
    ----------
    model : DefectMLP
    sigma, tau : array_like, shape (P,)
        Defect parameters [a], > 0.

    Returns
    -------
    ndarray, float64, shape (P,)
    """
    model.eval()
    with torch.no_grad():
        return model(_t(sigma), _t(tau)).double().numpy()


def depinning_baselines(data, train):
    """The predictors of the depinning field that need no network [T], each (P,).

    Parameters
    ----------
    data : DepinningDataset
        ``field`` (P,), ``single_vacancy`` and ``defect_free`` [T].
    train : array_like of int
        Indices of the training pairs.

    Returns
    -------
    dict of str to ndarray, float64, shape (P,)
        ``"single vacancy"``: the field of one cut vacancy under each wall
        (the physical baseline: a wall leaves a vacancy when the segment
        beside it switches, whatever the statistics); ``"ideal
        (defect-free)"``: the field at which a free wall has moved by the
        threshold under the same ramp; ``"training mean"``.

    Raises
    ------
    ValueError
        An empty ``train``.
    """
    train = np.asarray(train, dtype=np.int64)
    if train.size == 0:
        raise ValueError("train must name at least one training pair, got none")
    p = np.asarray(data.field).size
    return {"single vacancy": np.full(p, float(data.single_vacancy)),
            "ideal (defect-free)": np.full(p, float(data.defect_free)),
            "training mean": np.full(p, float(np.mean(np.asarray(data.field)[train])))}


def depinning_table(boot, *, networks):
    """Markdown table of the held-out depinning-field errors [mT] of networks and baselines, with intervals.

    Parameters
    ----------
    boot : dict
        :func:`bootstrap_walls` of the predictions and fields in mT.
    networks : sequence of str
        Which keys of ``boot`` are networks.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        A network missing from ``boot``.
    """
    return _results_table(boot, networks, ["MAE vs ensemble means [mT]", "error std vs realisations [mT]"],
                          lambda st: [_cell(st["mae_mean"], ".2f"), _cell(st["std"], ".2f")], None)


# ----------------------------------------------------------------------------- line shapes S(k, f)
def predict_line_shapes(model, sigma, tau):
    """Line shapes of a :class:`~mag_ml.models.defect_cnn.LineShapeMLP`, float64 (P, K, F), rows summing to 1."""
    model.eval()
    with torch.no_grad():
        return model(_t(sigma), _t(tau)).exp().double().numpy()


def delta_lines(freq, edges):
    """Sharp lines at given frequencies on the bins: weight split linearly between the two nearest bin centres.

    The split keeps the line's mean frequency (inside the outer bin centres).

    Parameters
    ----------
    freq : array_like, float64, shape (...)
        Line frequencies [GHz].
    edges : array_like, float64, shape (F + 1,)
        Bin edges [GHz], equally spaced.

    Returns
    -------
    ndarray, float64, shape (..., F)
    """
    edges = np.asarray(edges, dtype=np.float64)
    centres = 0.5 * (edges[1:] + edges[:-1])
    x = np.clip((np.asarray(freq, dtype=np.float64) - centres[0]) / (centres[1] - centres[0]), 0, centres.size - 1)
    lo = np.minimum(np.floor(x).astype(np.int64), centres.size - 2)
    w = x - lo
    out = np.zeros(x.shape + (centres.size,))
    np.put_along_axis(out, lo[..., None], (1 - w)[..., None], axis=-1)
    np.put_along_axis(out, lo[..., None] + 1, w[..., None], axis=-1)
    return out


def line_shape_distance(pred, true, edges):
    """Wasserstein-1 (earth mover's) distance between line shapes, in GHz, averaged over k: (P,).

    :math:`W_1 = \\Delta f \\sum_j |P_j - Q_j|` with P, Q the cumulative
    sums over the bins of width :math:`\\Delta f`: how far, in frequency,
    the power of one line must move to give the other.

    Parameters
    ----------
    pred, true : array_like, float64, shape (P, K, F)
        Line shapes (rows summing to 1).
    edges : array_like, float64, shape (F + 1,)
        Bin edges [GHz], equally spaced.

    Returns
    -------
    ndarray, float64, shape (P,)

    Raises
    ------
    ValueError
        Shapes that do not match.
    """
    p, q = np.asarray(pred, dtype=np.float64), np.asarray(true, dtype=np.float64)
    edges = np.asarray(edges, dtype=np.float64)
    if p.shape != q.shape or p.ndim != 3 or p.shape[-1] != edges.size - 1:
        raise ValueError(f"pred and true must be (P, K, {edges.size - 1}) arrays, got {p.shape} and {q.shape}")
    df = float(edges[1] - edges[0])
    return df * np.abs(np.cumsum(p, -1) - np.cumsum(q, -1)).sum(-1).mean(-1)


def line_shape_baselines(data, train, *, f0):
    """The line-shape predictors that need no network, each (P, K, F).

    Parameters
    ----------
    data : DefectDataset
        ``spectrum`` (P, K, F), ``spectrum_edges``, ``f_ideal`` and what
        :func:`dispersion_baselines` needs.
    train : array_like of int
        Indices of the training pairs.
    f0 : float
        Uniform-mode frequency [GHz].

    Returns
    -------
    dict of str to ndarray
        ``"sum rule"``: a sharp line at the sum-rule centroid (the exact
        first moment; no formula gives the width); ``"ideal (defect-free)"``:
        a sharp line at f_ideal(k); ``"training mean"``: the mean line shape
        of the training pairs at each k.
    """
    train = np.asarray(train, dtype=np.int64)
    spec = np.asarray(data.spectrum)
    rule = dispersion_baselines(data, train, f0=f0)["sum rule"]
    return {"sum rule": delta_lines(rule, data.spectrum_edges),
            "ideal (defect-free)": delta_lines(np.broadcast_to(data.f_ideal, rule.shape), data.spectrum_edges),
            "training mean": np.broadcast_to(spec[train].mean(0), spec.shape).copy()}


def bootstrap_pairs(errors, *, n_boot=2000, seed=0, level=0.95):
    """Mean of per-pair errors with a basic bootstrap interval over the test pairs, for each predictor.

    For targets with one value per pair (the line shape of the ensemble-
    averaged spectrum): the pairs are resampled, the same resamples for
    every predictor (so :func:`compare` pairs them).

    Parameters
    ----------
    errors : dict of str to array_like (P,)
        Error of each predictor on each test pair.
    n_boot, seed, level
        As in :func:`bootstrap_dispersion`.

    Returns
    -------
    dict of str to dict
        ``value``, ``lo``, ``hi``, ``draws`` per predictor.

    Raises
    ------
    ValueError
        Mismatched lengths or a bad level.
    """
    level = _check_level(level)
    arrays = {name: np.asarray(e, dtype=np.float64) for name, e in errors.items()}
    sizes = {a.shape for a in arrays.values()}
    if len(sizes) != 1 or len(next(iter(sizes))) != 1:
        raise ValueError(f"errors must all be (P,) arrays of one length, got shapes {sorted(sizes)}")
    n_p = next(iter(sizes))[0]
    pairs, _ = bootstrap_draws(n_p, 1, n_boot=n_boot, seed=seed)
    return {name: _interval(a.mean(), a[pairs].mean(1), level) for name, a in arrays.items()}


def line_shape_table(boot, *, networks):
    """Markdown table of the held-out line-shape distances [GHz] of networks and baselines, with intervals.

    Parameters
    ----------
    boot : dict
        :func:`bootstrap_pairs` of :func:`line_shape_distance`.
    networks : sequence of str

    Returns
    -------
    str
    """
    return _results_table(boot, networks, ["held-out Wasserstein-1 distance [GHz] (95 % interval)"],
                          lambda st: [_cell(st, ".0f")], None)
