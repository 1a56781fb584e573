r"""The parameter-estimation CNN of Wang et al. (Adv. Sci. 2020, arXiv 1908.05829, Table I).

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

Quick-profile options (Table I is the default): ``widths`` sets the four
layer widths (conv, conv, dense, dense; Table I: 64, 128, 512, 64),
``dropout`` scales the three dropout rates (1: Table I's 0.25, 0.25, 0.5;
0: none), and ``input_map="polar_angle"`` feeds the network the polar angle
of the spins, :math:`1 - 2\theta/\pi` with :math:`\theta = \arccos m_z`,
instead of :math:`m_z = \cos\theta` (the last input channel only).  Near
saturation the cosine compresses the cell-scale thermal fluctuations
(:math:`1 - m_z \approx \theta^2/2`), which carry :math:`A_{ex}` through the
reduced temperature :math:`k_BT/(2A_{ex}t)`; the angle keeps them linear.
The map is part of the network, so every caller (estimates from arrays,
files and imaged contrast) applies it; contrast outside [-1, 1] (detector
noise) is clipped first.  ``input_map="fresnel_contrast"`` is for Lorentz
TEM intensities normalised to the incident beam
(:func:`mag_ml.physics.imaging.ltem_image`): it feeds
:math:`(I/I_0 - 1)/0.1`, the Fresnel contrast in units of 0.1, the order of
the contrast of a B20 film at a few hundred micrometres of defocus, so that
the network's inputs are of order one.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["ParameterCNN", "TABLE_I_WIDTHS", "INPUT_MAPS"]

#: Widths of Table I of Wang et al. 2020: conv filters, conv filters, dense, dense.
TABLE_I_WIDTHS = (64, 128, 512, 64)
#: Input maps of :class:`ParameterCNN` (module notes).
INPUT_MAPS = ("identity", "polar_angle", "fresnel_contrast")
#: Unit of the Fresnel contrast fed by ``input_map="fresnel_contrast"`` (module notes).
FRESNEL_CONTRAST_UNIT = 0.1


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
    widths : tuple of 4 int
        Filters of the two convolutions and units of the two dense layers
        (default :data:`TABLE_I_WIDTHS`).
    dropout : float
        Factor on Table I's dropout rates 0.25, 0.25, 0.5, in [0, 1].
    input_map : {"identity", "polar_angle", "fresnel_contrast"}
        ``"polar_angle"``: the last input channel ``m_z`` is replaced by
        ``1 - 2 arccos(clip(m_z, -1, 1)) / pi``; ``"fresnel_contrast"``: a
        Lorentz TEM intensity ``I/I0`` becomes ``(I/I0 - 1) / 0.1`` (module notes).

    Raises
    ------
    ValueError
        ``channels`` not 1 or 3, odd or too small ``size``, ``n_outputs < 1``,
        ``widths`` not 4 positive integers, ``dropout`` outside [0, 1],
        unknown ``input_map`` (each naming the argument and value).

    Notes
    -----
    ``forward(x)`` takes ``x`` of shape ``(N, channels, size, size)`` float32
    and returns ``(N, n_outputs)`` in (0, 1).  With ``size = 32`` and Table I widths the network
    has 16.9 M weights, 99 % of them in the first dense layer.
    """

    def __init__(self, channels=1, size=32, n_outputs=3, *, widths=TABLE_I_WIDTHS, dropout=1.0,
                 input_map="identity"):
        super().__init__()
        if channels not in (1, 3) or isinstance(channels, bool):
            raise ValueError(f"channels must be 1 (m_z) or 3 (m_x, m_y, m_z), got {channels!r}")
        if not isinstance(size, int) or size < 2 or size % 2:
            raise ValueError(f"size must be an even integer >= 2 (window side), got {size!r}")
        if not isinstance(n_outputs, int) or n_outputs < 1:
            raise ValueError(f"n_outputs must be a positive integer, got {n_outputs!r}")
        w = tuple(widths) if isinstance(widths, (tuple, list)) else ()
        if len(w) != 4 or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in w):
            raise ValueError(f"widths must be 4 positive integers (conv, conv, dense, dense), got {widths!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout <= 1:
            raise ValueError(f"dropout must be a factor in [0, 1] on Table I's rates, got {dropout!r}")
        if input_map not in INPUT_MAPS:
            raise ValueError(f"input_map must be one of {INPUT_MAPS}, got {input_map!r}")
        self.channels, self.size, self.n_outputs = channels, size, n_outputs
        self.widths, self.dropout, self.input_map = w, float(dropout), input_map
        c1, c2, f1, f2 = w
        q = float(dropout)
        self.features = nn.Sequential(
            nn.Conv2d(channels, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25 * q),
            nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.Dropout(0.25 * q),
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(c2 * (size // 2) ** 2, f1), nn.ReLU(), nn.Linear(f1, f2), nn.ReLU(),
            nn.Dropout(0.5 * q), nn.Linear(f2, n_outputs), nn.Sigmoid(),
        )

    def forward(self, x):
        if x.ndim != 4 or x.shape[1:] != (self.channels, self.size, self.size):
            raise ValueError(f"input must have shape (N, {self.channels}, {self.size}, {self.size}), "
                             f"got {tuple(x.shape)}")
        return self.head(self.features(self.map_input(x)))

    def map_input(self, x):
        """The input map (``input_map``) applied to a batch ``(N, channels, size, size)``."""
        if self.input_map == "identity":
            return x
        if self.input_map == "fresnel_contrast":
            return (x - 1.0) / FRESNEL_CONTRAST_UNIT
        polar = 1 - (2 / torch.pi) * torch.acos(x[:, -1:].clamp(-1.0, 1.0))
        return torch.cat([x[:, :-1], polar], dim=1) if self.channels > 1 else polar

    def n_parameters(self):
        """Number of trainable weights."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def layer_table(self):
        """Rows ``(layer, output shape, weights)`` for one window, as Table I of the paper."""
        rows = []
        x = torch.zeros(1, self.channels, self.size, self.size)
        with torch.no_grad():
            x = self.map_input(x)
            for layer in list(self.features) + list(self.head):
                x = layer(x)
                n = sum(p.numel() for p in layer.parameters())
                rows.append((repr(layer), tuple(x.shape[1:]), n))
        return rows
