"""The parameter-estimation CNN of Wang et al. (Adv. Sci. 2020, arXiv 1908.05829, Table I).

Input: a ``size x size`` window (paper: 32 x 32) of a spin image with
``channels`` components.  Layers, as in Table I:

=====================  =======================================  =====================
layer                  here                                     output (32 x 32 in)
=====================  =======================================  =====================
conv 64, 3x3, ReLU     ``Conv2d(C, 64, 3, padding=1)`` ("pad")  64 x 32 x 32
max-pool               2 x 2, stride 2                          64 x 16 x 16
dropout 0.25
conv 128, 3x3, ReLU    ``Conv2d(64, 128, 3, padding=1)``        128 x 16 x 16
dropout 0.25
fc 512, ReLU           on the flattened 32768 features          512
fc 64, ReLU                                                     64
dropout 0.5
fc 3, sigmoid          min-max scaled (A_ex, D, M_s)            3
=====================  =======================================  =====================

Choices Table I leaves open, fixed here: "pad" is zero padding that keeps
the size (Keras ``padding="same"``), the pool is 2 x 2 (the Keras default),
the two dense layers use ReLU like the convolutions.  Sigmoid outputs match
targets scaled to [0, 1] over the training grid
(:class:`mag_ml.estimation.ParameterScaler`), so predictions never leave
the training range.

Input channels: the paper trains on images of the simulated spin
configurations; an experimental observation (magnetic force, Kerr or X-ray
circular-dichroism microscopy) measures the out-of-plane component, so the
default here is ``channels=1``, the ``m_z`` map.  ``channels=3`` takes
``(m_x, m_y, m_z)`` for vector images (e.g. electron holography, or
simulations).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ParameterCNN"]


class ParameterCNN(nn.Module):
    """CNN of Table I of Wang et al. 2020: window -> three sigmoid outputs.

    Parameters
    ----------
    channels : int
        Input channels, 1 (``m_z``, default) or 3 (``m_x, m_y, m_z``).
    size : int
        Window side in cells (paper 32), even, >= 2.
    n_outputs : int
        Number of estimated parameters (3: A_ex, D, M_s).

    Raises
    ------
    ValueError
        ``channels`` not 1 or 3, odd or too small ``size``, ``n_outputs < 1``.

    Notes
    -----
    ``forward(x)`` takes ``x`` of shape ``(N, channels, size, size)`` float32
    and returns ``(N, n_outputs)`` in (0, 1).  With ``size = 32`` the network
    has 16.9 M weights, 99 % of them in the first dense layer.
    """

    def __init__(self, channels=1, size=32, n_outputs=3):
        super().__init__()
        if channels not in (1, 3) or isinstance(channels, bool):
            raise ValueError(f"channels must be 1 (m_z) or 3 (m_x, m_y, m_z), got {channels!r}")
        if not isinstance(size, int) or size < 2 or size % 2:
            raise ValueError(f"size must be an even integer >= 2 (window side), got {size!r}")
        if not isinstance(n_outputs, int) or n_outputs < 1:
            raise ValueError(f"n_outputs must be a positive integer, got {n_outputs!r}")
        self.channels, self.size, self.n_outputs = channels, size, n_outputs
        self.features = nn.Sequential(
            nn.Conv2d(channels, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
            nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.Dropout(0.25),
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(128 * (size // 2) ** 2, 512), nn.ReLU(), nn.Linear(512, 64), nn.ReLU(),
            nn.Dropout(0.5), nn.Linear(64, n_outputs), nn.Sigmoid(),
        )

    def forward(self, x):
        if x.ndim != 4 or x.shape[1:] != (self.channels, self.size, self.size):
            raise ValueError(f"input must have shape (N, {self.channels}, {self.size}, {self.size}), "
                             f"got {tuple(x.shape)}")
        return self.head(self.features(x))

    def n_parameters(self):
        """Number of trainable weights."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def layer_table(self):
        """Rows ``(layer, output shape, weights)`` for one window, as Table I of the paper."""
        rows = []
        x = torch.zeros(1, self.channels, self.size, self.size)
        with torch.no_grad():
            for layer in list(self.features) + list(self.head):
                x = layer(x)
                n = sum(p.numel() for p in layer.parameters())
                rows.append((repr(layer), tuple(x.shape[1:]), n))
        return rows
