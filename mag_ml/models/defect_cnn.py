r"""Convolutional networks for vacancy statistics: the dispersion CNN and the two-branch wall CNN.

Eagan, Copus & Iacocca, arXiv:2603.10182 (2026) learn, from pseudospectral
Landau-Lifshitz simulations of chains with random telegraph vacancies
(mean occupied length sigma, mean vacant length tau, units of a):

* a CNN that predicts the defective magnon dispersion f(k) from the ideal
  one and (sigma, tau) (:class:`DispersionCNN`);
* a two-branch CNN that predicts the domain-wall width from (sigma, tau),
  one branch for the spatial magnetisation profile and one for the width
  (:class:`WallCNN`), used inversely to find defect parameters for a target
  width (:func:`mag_ml.analysis.defect_networks.inverse_design`).

The paper gives no layer-by-layer description that is public; the
architectures here are small, stated choices:

:class:`DispersionCNN`
    Input: three channels on the k grid, the ideal dispersion (centred and
    scaled by buffers fixed at construction) and the standardised
    log sigma and log tau broadcast along k.  Four 1D convolutions
    (kernel 5, replicate padding, GELU, 32 channels) and a 1x1 output
    convolution give the defect-induced shift; the output is
    ``f = f_ideal + s * shift`` (residual learning; s a frequency scale in
    GHz).  Unlike :class:`mag_ml.models.tfc.DispersionPINN` it is not
    constrained: f(0) = f0 is only learned.

:class:`WallCNN`
    A shared trunk (MLP on the standardised (log sigma, log tau)) feeds

    * the *profile branch*: a decoder (dense layer to 32 channels on X/8
      points, three blocks of 2x upsampling + convolution + GELU, a last
      convolution resampled to the X grid, tanh) giving the ensemble-mean
      wall profile m_z(x);
    * the *width branch*: a 1D CNN (two strided convolutions, global
      average pool) that reads the predicted profile, concatenated with the
      trunk features, and a dense head giving the width
      ``Delta = Delta_ref * exp(head)`` [nm] (positive by construction).

    Trained jointly on ``MSE(m_z) + MSE(Delta / Delta_ref)``
    (:func:`wall_loss`): the profile branch gives the width branch a
    physical intermediate, the profile, to read the width from.

:class:`DefectInverseCNN` (the two-branch network as the review describes it)
    The inverse direction, from what is measured to the defect statistics:
    the *profile branch* (two strided 1D convolutions, GELU, an adaptive
    average pool to 8 points, a dense layer) reads one realisation's relaxed
    m_z(x), the *width branch* (a dense layer) reads its fitted width as
    log(Delta / Delta_ref); a dense head on both gives a Gaussian over the
    standardised (log sigma, log tau): a mean and a log-variance per
    parameter, trained by the Gaussian negative log-likelihood
    (:func:`inverse_loss`), so the predicted standard deviation is the
    network's uncertainty (heteroscedastic regression, Nix & Weigend 1994).

:class:`DefectMLP`
    A scalar of (sigma, tau), e.g. the depinning field of chapter 9: an MLP
    (GELU) on the standardised (log sigma, log tau), output
    ``centre + scale * head``, trained by :func:`mlp_loss`.

:class:`LineShapeMLP`
    The defect-averaged line shape S(k, f) on F frequency bins: an MLP
    (GELU) of the exchange-kernel coordinate u(k) and the standardised
    (log sigma, log tau) gives F logits, a softmax the fractions of the
    line's power per bin; trained by the Kullback-Leibler divergence from
    the measured line shapes (:func:`line_shape_loss`).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..checks import check_int, check_real
from .tfc import DefectNormaliser, kernel_coordinate

__all__ = ["DispersionCNN", "WallCNN", "wall_loss", "DefectInverseCNN", "inverse_loss", "DefectMLP", "mlp_loss",
           "LineShapeMLP", "line_shape_loss"]


class DispersionCNN(nn.Module):
    """1D CNN: (ideal dispersion, sigma, tau) -> defective dispersion, in GHz.

    Parameters
    ----------
    f_ideal : array_like, shape (K,)
        Training ideal dispersion [GHz] (sets the input centring and scale;
        any ideal dispersion on a K-point grid is accepted in
        :meth:`forward`).
    sigma, tau : array_like, shape (P,)
        Training defect parameters (units of a; input standardisation).
    channels : int
        Channels of the hidden convolutions.
    layers : int
        Number of hidden convolutions.
    scale : float, optional
        Output scale s [GHz]; default 0.1 of the ideal bandwidth.

    Raises
    ------
    ValueError
        Bad sizes or values.

    Notes
    -----
    Source: the dispersion CNN of Eagan, Copus & Iacocca, arXiv:2603.10182
    (architecture: module docstring).
    """

    def __init__(self, f_ideal, sigma, tau, *, channels=32, layers=4, scale=None):
        super().__init__()
        f_ideal = np.asarray(f_ideal, dtype=np.float64)
        if f_ideal.ndim != 1 or f_ideal.size < 2 or not np.all(np.isfinite(f_ideal)):
            raise ValueError(f"f_ideal must be a finite 1D array of >= 2 frequencies (GHz), got shape "
                             f"{f_ideal.shape}")
        channels, layers = check_int(channels, "channels", minimum=1), check_int(layers, "layers", minimum=1)
        span = float(f_ideal.max() - f_ideal.min()) or 1.0
        self.register_buffer("centre", torch.tensor(float(f_ideal.mean()), dtype=torch.float32))
        self.register_buffer("span", torch.tensor(span, dtype=torch.float32))
        scale = 0.1 * span if scale is None else check_real(scale, "scale", positive=True)
        self.register_buffer("scale", torch.tensor(scale, dtype=torch.float32))
        self.normaliser = DefectNormaliser(sigma, tau)
        convs, width = [], 3
        for _ in range(layers):
            convs += [nn.Conv1d(width, channels, 5, padding=2, padding_mode="replicate"), nn.GELU()]
            width = channels
        self.body = nn.Sequential(*convs, nn.Conv1d(width, 1, 1))

    def forward(self, f_ideal, sigma, tau):
        """Predicted f [GHz], shape (B, K), from f_ideal (B, K) [GHz] and sigma, tau (B,)."""
        if f_ideal.ndim != 2:
            raise ValueError(f"f_ideal must have shape (B, K), got {tuple(f_ideal.shape)}")
        z = self.normaliser(sigma, tau)
        x = torch.cat([((f_ideal - self.centre) / self.span).unsqueeze(1),
                       z.unsqueeze(-1).expand(-1, -1, f_ideal.shape[-1])], dim=1)
        return f_ideal + self.scale * self.body(x).squeeze(1)


class WallCNN(nn.Module):
    """Two-branch CNN: (sigma, tau) -> (wall profile m_z(x), wall width Delta [nm]).

    Parameters
    ----------
    n_x : int
        Points of the profile grid X, >= 8.
    sigma, tau : array_like, shape (P,)
        Training defect parameters (units of a; input standardisation).
    width_ref : float
        Delta_ref [nm], e.g. the mean training width (output scale).
    features : int
        Width of the trunk.
    channels : int
        Channels of the convolutions.

    Raises
    ------
    ValueError
        Bad sizes or values.

    Notes
    -----
    Source: the two-branch domain-wall network of Eagan, Copus & Iacocca,
    arXiv:2603.10182 (architecture: module docstring).
    """

    def __init__(self, n_x, sigma, tau, *, width_ref, features=64, channels=32):
        super().__init__()
        self.n_x = check_int(n_x, "n_x", minimum=8)
        features, channels = check_int(features, "features", minimum=1), check_int(channels, "channels", minimum=1)
        self.register_buffer("width_ref", torch.tensor(check_real(width_ref, "width_ref", positive=True)))
        self.normaliser = DefectNormaliser(sigma, tau)
        self.trunk = nn.Sequential(nn.Linear(2, features), nn.GELU(), nn.Linear(features, features), nn.GELU())
        self.n_coarse = max(1, math.ceil(self.n_x / 8))
        self.channels = channels
        self.seed_layer = nn.Linear(features, channels * self.n_coarse)
        blocks = []
        for _ in range(3):
            blocks += [nn.Upsample(scale_factor=2, mode="linear", align_corners=False),
                       nn.Conv1d(channels, channels, 5, padding=2, padding_mode="replicate"), nn.GELU()]
        self.decoder = nn.Sequential(*blocks)
        self.profile_out = nn.Conv1d(channels, 1, 5, padding=2, padding_mode="replicate")
        self.width_branch = nn.Sequential(
            nn.Conv1d(1, channels, 5, stride=2, padding=2), nn.GELU(),
            nn.Conv1d(channels, channels, 5, stride=2, padding=2), nn.GELU(),
            nn.AdaptiveAvgPool1d(1), nn.Flatten())
        self.width_head = nn.Sequential(nn.Linear(channels + features, features), nn.GELU(), nn.Linear(features, 1))

    def forward(self, sigma, tau):
        """m_z (B, X) in [-1, 1] and Delta (B,) [nm] for sigma, tau (B,) in units of a."""
        h = self.trunk(self.normaliser(sigma, tau))
        x = self.seed_layer(h).view(-1, self.channels, self.n_coarse)
        x = self.profile_out(self.decoder(x))
        x = F.interpolate(x, size=self.n_x, mode="linear", align_corners=False)
        profile = torch.tanh(x.squeeze(1))
        w = self.width_head(torch.cat([self.width_branch(profile.unsqueeze(1)), h], dim=-1)).squeeze(-1)
        return profile, self.width_ref * torch.exp(w)


def wall_loss(model, sigma, tau, m_z, width, *, width_weight=1.0):
    r"""Joint loss of :class:`WallCNN`: ``mean (m_z - m_z')^2 + w mean ((Delta - Delta') / Delta_ref)^2``.

    Parameters
    ----------
    model : WallCNN
    sigma, tau : torch.Tensor, shape (B,)
        Defect parameters (units of a).
    m_z : torch.Tensor, shape (B, X)
        Target ensemble-mean profiles.
    width : torch.Tensor, shape (B,)
        Target ensemble-mean widths [nm].
    width_weight : float
        w, the weight of the width term.

    Returns
    -------
    torch.Tensor
        Scalar loss (the signature ``loss(model, *batch)`` of
        :func:`mag_ml.training.fit`).
    """
    profile, w = model(sigma, tau)
    return F.mse_loss(profile, m_z) + width_weight * F.mse_loss(w / model.width_ref, width / model.width_ref)


class DefectInverseCNN(nn.Module):
    """Two-branch CNN: (relaxed m_z(x) of one realisation, its wall width) -> (log sigma, log tau) with uncertainty.

    Parameters
    ----------
    n_x : int
        Points of the profile grid X, >= 8.
    sigma, tau : array_like, shape (P,)
        Training defect parameters (units of a; they set the standardised
        output coordinates).
    width_ref : float
        Delta_ref [nm] (input scale of the width branch).
    features, channels : int
        Width of the dense layers and channels of the convolutions, >= 1.

    Raises
    ------
    ValueError
        Bad sizes or values (message names the argument).

    Notes
    -----
    Source: the two-branch network of Eagan, Copus & Iacocca,
    arXiv:2603.10182, as a review of the work describes it (defect
    parameters from magnetisation profiles and wall widths); architecture:
    module docstring.
    """

    def __init__(self, n_x, sigma, tau, *, width_ref, features=32, channels=16):
        super().__init__()
        self.n_x = check_int(n_x, "n_x", minimum=8)
        features, channels = check_int(features, "features", minimum=1), check_int(channels, "channels", minimum=1)
        self.register_buffer("width_ref", torch.tensor(check_real(width_ref, "width_ref", positive=True)))
        self.normaliser = DefectNormaliser(sigma, tau)
        self.profile_branch = nn.Sequential(
            nn.Conv1d(1, channels, 5, stride=2, padding=2), nn.GELU(),
            nn.Conv1d(channels, channels, 5, stride=2, padding=2), nn.GELU(),
            nn.AdaptiveAvgPool1d(8), nn.Flatten(), nn.Linear(8 * channels, features), nn.GELU())
        self.width_branch = nn.Sequential(nn.Linear(1, features), nn.GELU())
        self.head = nn.Sequential(nn.Linear(2 * features, features), nn.GELU(), nn.Linear(features, 4))

    def forward(self, m_z, width):
        """Mean (B, 2) and log-variance (B, 2) of the standardised (log sigma, log tau), from m_z (B, X) and width (B,) [nm]."""
        if m_z.ndim != 2 or m_z.shape[-1] != self.n_x:
            raise ValueError(f"m_z must have shape (B, {self.n_x}), got {tuple(m_z.shape)}")
        h = torch.cat([self.profile_branch(m_z.unsqueeze(1)),
                       self.width_branch(torch.log(width / self.width_ref).unsqueeze(-1))], dim=-1)
        out = self.head(h)
        return out[:, :2], out[:, 2:].clamp(-10.0, 5.0)

    def predict(self, m_z, width):
        """(log sigma, log tau) means (B, 2) and standard deviations (B, 2), in natural log of units of a."""
        mean, logvar = self(m_z, width)
        return mean * self.normaliser.std + self.normaliser.mean, torch.exp(0.5 * logvar) * self.normaliser.std


def inverse_loss(model, m_z, width, sigma, tau):
    r"""Gaussian negative log-likelihood of :class:`DefectInverseCNN` (per sample and parameter, without constants).

    ``mean(0.5 (z - mu)^2 exp(-s) + 0.5 s)`` with z the standardised
    (log sigma, log tau) of the sample, mu and s the predicted mean and
    log-variance.

    Parameters
    ----------
    model : DefectInverseCNN
    m_z : torch.Tensor, shape (B, X)
    width : torch.Tensor, shape (B,)
        [nm]
    sigma, tau : torch.Tensor, shape (B,)
        Units of a.

    Returns
    -------
    torch.Tensor
        Scalar.
    """
    mean, logvar = model(m_z, width)
    z = model.normaliser(sigma, tau)
    return torch.mean(0.5 * (z - mean) ** 2 * torch.exp(-logvar) + 0.5 * logvar)


def _mlp(n_in, hidden, depth, n_out):
    """``depth`` hidden layers of ``hidden`` units with GELU, then a linear layer to ``n_out``."""
    layers, width = [], n_in
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), nn.GELU()]
        width = hidden
    return nn.Sequential(*layers, nn.Linear(width, n_out))


class DefectMLP(nn.Module):
    """MLP: (sigma, tau) -> one scalar y (e.g. a depinning field in T), ``y = centre + scale * head``.

    Parameters
    ----------
    sigma, tau : array_like, shape (P,)
        Training defect parameters (units of a; input standardisation).
    y : array_like, shape (P,)
        Training targets: their mean and standard deviation (at least 1e-6
        of the mean's magnitude, or 1) set ``centre`` and ``scale``.
    hidden : int
        Width of the hidden layers, >= 1.
    depth : int
        Number of hidden layers, >= 1.

    Raises
    ------
    ValueError
        Bad sizes or non-finite targets.

    Notes
    -----
    Source: a stated choice (module docstring) for the depinning field against
    the vacancy statistics of Eagan, Copus & Iacocca, arXiv:2603.10182.
    """

    def __init__(self, sigma, tau, y, *, hidden=32, depth=2):
        super().__init__()
        y = np.asarray(y, dtype=np.float64).ravel()
        if y.size == 0 or not np.all(np.isfinite(y)):
            raise ValueError(f"y must be a non-empty finite array of training targets, got shape {y.shape}")
        hidden, depth = check_int(hidden, "hidden", minimum=1), check_int(depth, "depth", minimum=1)
        self.normaliser = DefectNormaliser(sigma, tau)
        scale = float(y.std()) if y.size > 1 else 0.0
        scale = max(scale, 1e-6 * abs(float(y.mean()))) or 1.0
        self.register_buffer("centre", torch.tensor(float(y.mean()), dtype=torch.float32))
        self.register_buffer("scale", torch.tensor(scale, dtype=torch.float32))
        self.body = _mlp(2, hidden, depth, 1)

    def forward(self, sigma, tau):
        """Predicted y, shape (B,), from sigma, tau (B,)."""
        return self.centre + self.scale * self.body(self.normaliser(sigma, tau))[:, 0]


def mlp_loss(model, sigma, tau, y):
    """Mean squared error of a :class:`DefectMLP` in units of its scale squared (a scalar tensor)."""
    return torch.mean(((model(sigma, tau) - y) / model.scale) ** 2)


class LineShapeMLP(nn.Module):
    """MLP: (k, sigma, tau) -> the line shape S(k, f) on ``n_bins`` frequency bins (rows summing to 1).

    Parameters
    ----------
    sigma, tau : array_like, shape (P,)
        Training defect parameters (units of a; input standardisation).
    k : array_like, shape (K,)
        Wavevectors of the output [1/nm] (kept as a buffer).
    n_bins : int
        Frequency bins F, >= 2.
    a : float
        Lattice constant [nm] (the coordinate u(k) = sin^2(ka/2)).
    kernel : {"discrete", "continuum"}
    hidden, depth : int
        Width and number of hidden layers, >= 1.

    Raises
    ------
    ValueError
        Bad sizes.

    Notes
    -----
    Source: a stated choice (module docstring) for the defect-averaged
    spectral function of the chains of Eagan, Copus & Iacocca, arXiv:2603.10182.
    """

    def __init__(self, sigma, tau, k, n_bins, *, a, kernel="discrete", hidden=64, depth=3):
        super().__init__()
        n_bins = check_int(n_bins, "n_bins", minimum=2)
        hidden, depth = check_int(hidden, "hidden", minimum=1), check_int(depth, "depth", minimum=1)
        self.normaliser = DefectNormaliser(sigma, tau)
        k = torch.as_tensor(np.asarray(k, dtype=np.float64), dtype=torch.float32)
        self.register_buffer("u", kernel_coordinate(k, check_real(a, "a", positive=True), kernel))
        self.body = _mlp(3, hidden, depth, n_bins)

    def forward(self, sigma, tau):
        """Log line shapes, shape (B, K, F) (``exp`` sums to 1 over F), from sigma, tau (B,)."""
        z = self.normaliser(sigma, tau)
        b, k = z.shape[0], self.u.shape[0]
        x = torch.cat([self.u.view(1, k, 1).expand(b, k, 1), z.view(b, 1, 2).expand(b, k, 2)], dim=-1)
        return F.log_softmax(self.body(x), dim=-1)


def line_shape_loss(model, sigma, tau, spectrum):
    """Mean Kullback-Leibler divergence KL(measured || predicted) over samples and k (a scalar tensor, >= 0)."""
    log_p = model(sigma, tau)
    s = spectrum.clamp_min(0)
    return torch.mean(torch.sum(torch.xlogy(s, s) - s * log_p, dim=-1))
