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
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..checks import check_int, check_real
from .tfc import DefectNormaliser

__all__ = ["DispersionCNN", "WallCNN", "wall_loss"]


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
