r"""Errors of a parameter estimator beside its baselines, and intervals that can be checked.

What the estimator chapter reports for an estimator of (A_ex, D, M_s)
(Wang et al., Adv. Sci. 2020) on a test set of images:

Errors
    Per parameter, the mean relative error :math:`\langle|\hat p - p|/p\rangle`
    and the range-normalised RMSE
    :math:`\sqrt{\langle(\hat p - p)^2\rangle}/(p_{max} - p_{min})` over the
    grid's range, each with a percentile bootstrap interval over images
    (:func:`error_table`).  The range-normalised error is the one that
    compares grids of different widths: a relative error of 7 % means little
    on a grid that spans a factor 2.

Baselines
    * the constant predictor: the centre of the grid for every image
      (:func:`constant_predictor`); any estimator must beat it;
    * a physics baseline, :class:`TextureRegression`: a least-squares fit,
      on the training images, of each parameter on three numbers a
      physicist reads off an image without a network: the wavenumber of the
      structure-factor peak (the texture period is :math:`\propto A/D`),
      the mean :math:`m_z` (the field and anisotropy against the DMI) and
      the variance of :math:`m_z` (contrast), with their pairwise products.

Intervals
    Split-conformal intervals (Vovk, Gammerman & Shafer 2005; Lei et al.,
    JASA 113, 1094 (2018)): on calibration images not used in training, the
    absolute residuals :math:`r_i` of each parameter; the half-width is the
    :math:`\lceil (n+1)(1-\alpha)\rceil`-th smallest :math:`r_i`
    (:func:`conformal_halfwidth`), which covers a new exchangeable image's
    truth with probability at least :math:`1 - \alpha`.  Test set B (grid
    midpoints) is not exchangeable with grid-point calibration images, so
    its measured coverage (:func:`coverage`) is a real check, printed beside
    the nominal level.
"""

from __future__ import annotations

import math

import numpy as np

from ..checks import check_int, check_real
from .structure_factor import structure_factor

__all__ = ["relative_error", "nrmse", "bootstrap_interval", "error_table", "constant_predictor",
           "texture_features", "TextureRegression", "conformal_halfwidth", "coverage"]


def _pair(true, pred):
    t = np.asarray(true, dtype=np.float64)
    p = np.asarray(pred, dtype=np.float64)
    if t.ndim != 2 or t.shape != p.shape or len(t) == 0:
        raise ValueError(f"true and pred must be (n, k) arrays of the same shape, n >= 1; got {t.shape} and {p.shape}")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(p))):
        raise ValueError("true and pred must be finite")
    return t, p


def _ranges(ranges, k):
    r = np.asarray(ranges, dtype=np.float64)
    if r.shape != (k, 2) or not np.all(r[:, 1] > r[:, 0]):
        raise ValueError(f"ranges must be {k} (low, high) pairs with high > low, got {ranges!r}")
    return r


def relative_error(true, pred):
    """Mean of ``|pred - true| / |true|`` over rows, per column: ndarray (k,)."""
    t, p = _pair(true, pred)
    return np.mean(np.abs(p - t) / np.abs(t), axis=0)


def nrmse(true, pred, ranges):
    """Root-mean-square error divided by the range width, per column.

    Parameters
    ----------
    true, pred : array_like, shape (n, k)
    ranges : sequence of k (low, high)
        The grid's range of each parameter (same units).

    Returns
    -------
    ndarray, shape (k,)

    Raises
    ------
    ValueError
        Shapes that differ, non-finite values, empty or inverted ranges.
    """
    t, p = _pair(true, pred)
    r = _ranges(ranges, t.shape[1])
    return np.sqrt(np.mean((p - t) ** 2, axis=0)) / (r[:, 1] - r[:, 0])


def bootstrap_interval(metric, true, pred, *, n_boot=2000, level=0.95, seed=0):
    """Percentile bootstrap interval of ``metric(true[idx], pred[idx])`` over resampled rows.

    Parameters
    ----------
    metric : callable
        ``metric(true, pred) -> ndarray (k,)``.
    true, pred : array_like, shape (n, k)
    n_boot : int
        Bootstrap replicates, >= 100.
    level : float
        Two-sided level in (0, 1).
    seed : int

    Returns
    -------
    (ndarray (k,), ndarray (k,))
        Lower and upper bounds.
    """
    t, p = _pair(true, pred)
    n_boot = check_int(n_boot, "n_boot", minimum=100)
    level = check_real(level, "level", positive=True)
    if level >= 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(t), size=(n_boot, len(t)))
    values = np.array([metric(t[i], p[i]) for i in idx])
    a = (1 - level) / 2
    return np.quantile(values, a, axis=0), np.quantile(values, 1 - a, axis=0)


def error_table(true, predictions, ranges, *, names, n_boot=2000, level=0.95, seed=0):
    """Relative error and range-normalised RMSE of several predictors, with bootstrap intervals.

    Parameters
    ----------
    true : array_like, shape (n, k)
    predictions : dict of str to array_like (n, k)
        Predictor name -> estimates (e.g. ``{"CNN": ..., "constant": ...}``).
    ranges : sequence of k (low, high)
    names : sequence of k str
        Parameter names.
    n_boot, level, seed
        As :func:`bootstrap_interval` (the same resampled rows for every predictor).

    Returns
    -------
    list of dict
        One row per (predictor, parameter): ``predictor``, ``parameter``,
        ``relative``, ``relative_lo``, ``relative_hi``, ``nrmse``,
        ``nrmse_lo``, ``nrmse_hi``.
    """
    rows = []
    for label, pred in predictions.items():
        rel = relative_error(true, pred)
        rel_lo, rel_hi = bootstrap_interval(relative_error, true, pred, n_boot=n_boot, level=level, seed=seed)
        nr = nrmse(true, pred, ranges)
        nr_lo, nr_hi = bootstrap_interval(lambda t, p: nrmse(t, p, ranges), true, pred, n_boot=n_boot,
                                          level=level, seed=seed)
        for j, name in enumerate(names):
            rows.append(dict(predictor=label, parameter=name, relative=rel[j], relative_lo=rel_lo[j],
                             relative_hi=rel_hi[j], nrmse=nr[j], nrmse_lo=nr_lo[j], nrmse_hi=nr_hi[j]))
    return rows


def constant_predictor(ranges, n):
    """The grid centre for each of ``n`` images: ndarray (n, k), the baseline every estimator must beat."""
    r = np.asarray(ranges, dtype=np.float64)
    return np.tile(r.mean(axis=1), (check_int(n, "n", minimum=1), 1))


def texture_features(spins, dx):
    """Peak wavenumber of S(q) of m_z [1/m], mean m_z and variance of m_z, per image.

    Parameters
    ----------
    spins : array_like, shape (n, 3, H, W)
    dx : float
        Cell size [m].

    Returns
    -------
    ndarray, shape (n, 3), float64
    """
    s = np.asarray(spins)
    if s.ndim != 4 or s.shape[1] != 3:
        raise ValueError(f"spins must have shape (n, 3, H, W), got {s.shape}")
    out = np.empty((len(s), 3))
    for i, state in enumerate(s):
        q, S = structure_factor(state, dx)
        out[i] = q[1 + np.argmax(S[1:])], float(np.mean(state[2])), float(np.var(state[2]))
    return out


class TextureRegression:
    """Least-squares regression of each parameter on :func:`texture_features` and their pairwise products.

    Features are standardised on the training images; the design has an
    intercept, the 3 features and their 6 products (10 columns), so at least
    10 training images are needed.

    Parameters
    ----------
    features : array_like, shape (n, 3)
        Training features.
    targets : array_like, shape (n, k)
        Training parameters.

    Raises
    ------
    ValueError
        Fewer than 10 images, mismatched rows, non-finite values.
    """

    def __init__(self, features, targets):
        f = np.asarray(features, dtype=np.float64)
        y = np.asarray(targets, dtype=np.float64)
        if f.ndim != 2 or f.shape[1] != 3 or y.ndim != 2 or len(f) != len(y) or len(f) < 10:
            raise ValueError(f"need (n, 3) features and (n, k) targets with n >= 10, got {f.shape} and {y.shape}")
        if not (np.all(np.isfinite(f)) and np.all(np.isfinite(y))):
            raise ValueError("features and targets must be finite")
        self.mean, self.std = f.mean(axis=0), np.where(f.std(axis=0) > 0, f.std(axis=0), 1.0)
        self.coef, *_ = np.linalg.lstsq(self._design(f), y, rcond=None)

    def _design(self, f):
        z = (np.asarray(f, dtype=np.float64) - self.mean) / self.std
        products = [z[:, i] * z[:, j] for i in range(3) for j in range(i, 3)]
        return np.column_stack([np.ones(len(z)), z, *products])

    def predict(self, features):
        """Estimates, ndarray (n, k), for features (n, 3)."""
        return self._design(features) @ self.coef


def conformal_halfwidth(residuals, level):
    """Split-conformal half-width per column: the ceil((n+1) level)-th smallest |residual|.

    Parameters
    ----------
    residuals : array_like, shape (n, k)
        ``estimate - truth`` on calibration images.
    level : float
        Nominal coverage 1 - alpha in (0, 1).

    Returns
    -------
    ndarray, shape (k,)
        ``inf`` where n is too small for the level (``ceil((n+1) level) > n``).
    """
    r = np.abs(np.asarray(residuals, dtype=np.float64))
    if r.ndim != 2 or len(r) == 0 or not np.all(np.isfinite(r)):
        raise ValueError(f"residuals must be a finite (n, k) array with n >= 1, got shape {r.shape}")
    level = check_real(level, "level", positive=True)
    if level >= 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    rank = math.ceil((len(r) + 1) * level)
    if rank > len(r):
        return np.full(r.shape[1], np.inf)
    return np.sort(r, axis=0)[rank - 1]


def coverage(true, pred, halfwidth):
    """Fraction of rows whose truth lies in ``pred +- halfwidth``, per column: ndarray (k,)."""
    t, p = _pair(true, pred)
    return np.mean(np.abs(p - t) <= np.asarray(halfwidth, dtype=np.float64), axis=0)
