r"""The variational autoencoder of the E-VAE paper and its three loss terms.

Kwon et al., "Magnetic state generation using Hamiltonian guided variational
autoencoder with spin structure stabilization", Adv. Sci. 8, 2004795 (2021),
Fig. 1 and Methods.  One network serves both the standard VAE (``gamma = 0``)
and the E-VAE (``gamma > 0``); only the loss differs,

.. math::

    L = L_\mathrm{RC} + \beta L_\mathrm{KL} + \gamma L_\mathrm{H}.

Architecture (:class:`SpinVAE`), for an ``L x L`` lattice with ``L`` divisible
by 16 and ``F = 48 (L/16)^2`` (3072 at the paper's ``L = 128``):

* encoder: four blocks of periodic padding, 5x5 convolution (6, 12, 24, 48
  filters), batch norm, LeakyReLU and 2x2 max-pool; flatten to ``F``; dense
  ``F`` with batch norm and LeakyReLU; dense 512 without activation; two dense
  heads giving the latent means ``mu`` and log-variances ``logvar`` (100 each);
* decoder: dense 512 and dense ``F`` (each with batch norm and LeakyReLU, the
  mirror of the encoder's hidden dense layer), reshape to ``48 x L/16 x L/16``,
  four blocks of 2x nearest-neighbour upsampling, periodic padding, 5x5
  convolution (24, 12, 6, 3 filters), batch norm and LeakyReLU; a last
  periodic-padded 5x5 convolution with 3 filters and no activation; every spin
  divided by its length, so outputs are unit vectors.

Choices the paper leaves open, made here and kept fixed: the decoder's two
dense layers carry batch norm and LeakyReLU like the encoder's hidden dense
layer; the LeakyReLU slope is 0.3 (the Keras default, the framework of the
paper's era); convolutions have biases; batch norm uses PyTorch's defaults
(momentum 0.1, eps 1e-5); upsampling is nearest-neighbour.  Periodic padding
(:func:`periodic_pad`) makes every convolution see the torus of the periodic
lattice, so the network has no edges.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["SpinVAE", "periodic_pad", "PeriodicConv2d", "vae_losses", "total_loss", "kl_divergence",
           "reconstruction_loss", "hamiltonian_loss", "energy_losses", "state_batch", "ANALYSIS_BATCH",
           "reference_energy", "layer_table", "flops_per_sample",
           "LOSS_TERMS", "NORMALISATIONS", "PADDING_MODES"]

#: Names of the loss terms in histories and in :func:`vae_losses`.
LOSS_TERMS = ("rc", "kl", "h", "total")


def periodic_pad(x, pad):
    """Circular padding of the last two axes: the lattice's periodic boundary.

    Parameters
    ----------
    x : torch.Tensor, shape (N, C, H, W)
    pad : int
        Sites added on each side (``pad <= H, W``).

    Returns
    -------
    torch.Tensor, shape (N, C, H + 2 pad, W + 2 pad)
        ``out[..., i, j] = x[..., (i - pad) % H, (j - pad) % W]``.
    """
    return F.pad(x, (pad, pad, pad, pad), mode="circular")


#: Padding modes of :class:`PeriodicConv2d` and :class:`SpinVAE`: "circular" for periodic lattices, "zeros"
#: or "replicate" for samples with open boundaries (Kwon et al. 2021, Supporting Note S2).
PADDING_MODES = ("circular", "zeros", "replicate")


class PeriodicConv2d(nn.Conv2d):
    """``nn.Conv2d`` with 'same' output size, padded like the lattice's boundary (periodic by default).

    The odd ``kernel_size`` k is padded by ``k // 2`` on every side before an
    unpadded convolution.  With ``padding_mode="circular"`` (what
    :func:`periodic_pad` does) the layer commutes with lattice translations;
    ``"zeros"`` or ``"replicate"`` pad an open sample without wrapping its
    opposite edges onto each other.

    Raises
    ------
    ValueError
        An even ``kernel_size`` or a ``padding_mode`` not in :data:`PADDING_MODES`.
    """

    def __init__(self, in_channels, out_channels, kernel_size=5, *, padding_mode="circular", **kwargs):
        if kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd, got {kernel_size!r}")
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}")
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2,
                         padding_mode=padding_mode, **kwargs)


class SpinVAE(nn.Module):
    """The convolutional VAE of Kwon et al. (Adv. Sci. 2021) for ``L x L`` spin lattices.

    Parameters
    ----------
    size : int, default 128
        Lattice side ``L`` (square lattice, periodic); must be a positive
        multiple of 16 (four 2x2 poolings).  The paper uses 128.
    latent_dim : int, default 100
        Dimension of ``z`` (the paper's 100).
    channels : tuple of 4 int, default (6, 12, 24, 48)
        Filters of the encoder's convolutions; the decoder uses them in
        reverse, ending with 3 (the spin components).
    hidden : int, default 512
        Width of the dense layer before the latent heads (and after ``z``).
    kernel_size : int, default 5
    negative_slope : float, default 0.3
        Slope of the LeakyReLUs (Keras' default).
    padding : {"circular", "zeros", "replicate"}, default "circular"
        Padding of every convolution (:class:`PeriodicConv2d`): the paper's
        periodic lattice, or zero / edge-replicating padding for samples with
        open boundaries.

    Notes
    -----
    ``forward(x)`` takes spins ``(N, 3, L, L)`` float32 and returns
    ``(x_out, mu, logvar)``: unit-vector outputs of the same shape and the
    ``(N, latent_dim)`` latent means and log-variances.  ``z`` is drawn by the
    reparameterisation ``z = mu + exp(logvar / 2) * eps``, ``eps ~ N(0, I)``.

    Raises
    ------
    ValueError
        ``size`` not a positive multiple of 16, non-positive widths, an
        unknown ``padding``.
    """

    def __init__(self, size=128, *, latent_dim=100, channels=(6, 12, 24, 48), hidden=512, kernel_size=5,
                 negative_slope=0.3, padding="circular"):
        super().__init__()
        if not isinstance(size, numbers.Integral) or size < 16 or size % 16:
            raise ValueError(f"size must be a positive multiple of 16 (four 2x2 poolings), got {size!r}")
        size = int(size)
        channels = tuple(int(c) for c in channels)
        if len(channels) != 4 or min(channels) < 1:
            raise ValueError(f"channels must be 4 positive ints, got {channels!r}")
        for name, value in (("latent_dim", latent_dim), ("hidden", hidden)):
            if not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        latent_dim, hidden = int(latent_dim), int(hidden)
        if padding not in PADDING_MODES:
            raise ValueError(f"padding must be one of {PADDING_MODES}, got {padding!r}")
        self.padding = padding
        conv = lambda c_in, c_out: PeriodicConv2d(c_in, c_out, kernel_size, padding_mode=padding)  # noqa: E731
        self.size, self.latent_dim, self.channels, self.hidden = size, latent_dim, channels, hidden
        self.kernel_size, self.negative_slope = kernel_size, float(negative_slope)
        self.coarse = size // 16
        self.flat = channels[-1] * self.coarse ** 2  # F: 3072 at L = 128
        act = lambda: nn.LeakyReLU(self.negative_slope)  # noqa: E731

        enc, c_in = [], 3
        for c in channels:
            enc += [conv(c_in, c), nn.BatchNorm2d(c), act(), nn.MaxPool2d(2)]
            c_in = c
        self.encoder = nn.Sequential(*enc, nn.Flatten(),
                                     nn.Linear(self.flat, self.flat), nn.BatchNorm1d(self.flat), act(),
                                     nn.Linear(self.flat, hidden))
        self.to_mu = nn.Linear(hidden, latent_dim)
        self.to_logvar = nn.Linear(hidden, latent_dim)

        self.decoder_dense = nn.Sequential(nn.Linear(latent_dim, hidden), nn.BatchNorm1d(hidden), act(),
                                           nn.Linear(hidden, self.flat), nn.BatchNorm1d(self.flat), act())
        dec, c_in = [], channels[-1]
        for c in (*channels[-2::-1], 3):  # 24, 12, 6, 3
            dec += [nn.Upsample(scale_factor=2, mode="nearest"), conv(c_in, c),
                    nn.BatchNorm2d(c), act()]
            c_in = c
        dec += [conv(3, 3)]  # no activation
        self.decoder_conv = nn.Sequential(*dec)

    @property
    def n_parameters(self):
        """Number of trainable parameters (12.8 M at L = 128, most in the dense layers)."""
        return sum(p.numel() for p in self.parameters())

    def config(self):
        """Constructor arguments as a dict (artifact keys, reloading)."""
        return dict(size=self.size, latent_dim=self.latent_dim, channels=list(self.channels), hidden=self.hidden,
                    kernel_size=self.kernel_size, negative_slope=self.negative_slope, padding=self.padding)

    def _check(self, x):
        if x.ndim != 4 or x.shape[1] != 3 or x.shape[2] != self.size or x.shape[3] != self.size:
            raise ValueError(f"spins must have shape (N, 3, {self.size}, {self.size}), got {tuple(x.shape)}")

    def encode(self, x):
        """Latent means and log-variances, each ``(N, latent_dim)``, of spins ``(N, 3, L, L)``."""
        self._check(x)
        h = self.encoder(x)
        return self.to_mu(h), self.to_logvar(h)

    def decode(self, z):
        """Unit-vector spins ``(N, 3, L, L)`` decoded from latent vectors ``(N, latent_dim)``."""
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(f"z must have shape (N, {self.latent_dim}), got {tuple(z.shape)}")
        h = self.decoder_dense(z).view(-1, self.channels[-1], self.coarse, self.coarse)
        s = self.decoder_conv(h)
        return s / s.norm(dim=1, keepdim=True).clamp_min(1e-12)

    def reparameterize(self, mu, logvar, generator=None):
        """``z = mu + exp(logvar / 2) * eps`` with ``eps ~ N(0, I)`` (from ``generator`` if given)."""
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + torch.exp(0.5 * logvar) * eps

    def forward(self, x, generator=None):
        """``(x_out, mu, logvar)`` for spins ``x`` of shape ``(N, 3, L, L)``; see the class notes."""
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterize(mu, logvar, generator)), mu, logvar

    @torch.no_grad()
    def sample(self, n, generator=None):
        """Decode ``n`` latent vectors ``z ~ N(0, I)``: the generated states X'_out of the paper."""
        p = next(self.parameters())
        z = torch.randn((n, self.latent_dim), generator=generator, device=p.device, dtype=p.dtype)
        return self.decode(z)


# ----------------------------------------------------------------------------- losses
def reconstruction_loss(x_out, x):
    r"""Per-spin reconstruction error ``L_RC``, one value per sample.

    :math:`L_\mathrm{RC} = \frac1N\sum_i |\mathbf S^\mathrm{out}_i - \mathbf S^\mathrm{in}_i|^2`
    (sum over the 3 components, mean over the N sites); 0 for a perfect
    reconstruction, 4 for every spin reversed, 2 on average for uncorrelated
    random spins.  Shapes ``(B, 3, H, W)`` in, ``(B,)`` out.
    """
    return ((x_out - x) ** 2).sum(dim=1).mean(dim=(-2, -1))


def kl_divergence(mu, logvar):
    r"""KL divergence of ``N(mu, exp(logvar))`` from ``N(0, I)``, summed over latent dims.

    :math:`L_\mathrm{KL} = -\frac12\sum_k (1 + \log\sigma_k^2 - \mu_k^2 - \sigma_k^2)`;
    0 exactly when ``mu = 0`` and ``logvar = 0``.  ``(B, d)`` in, ``(B,)`` out.
    """
    return -0.5 * (1.0 + logvar - mu ** 2 - logvar.exp()).sum(dim=-1)


def reference_energy(hamiltonian, n_sites):
    """``E0 = -2 J N``: the exchange energy of any uniform state on a periodic square lattice."""
    return -2.0 * hamiltonian.J * n_sites


def hamiltonian_loss(x_out, hamiltonian):
    r"""Energy per spin measured from ``E0 = -2JN``: ``L_H = (E(S_out) - E0) / N``, per sample.

    Differentiable (the torch path of :meth:`mag_ml.Hamiltonian.energy`).  The
    uniform +z state has ``L_H = -B`` (-0.05 for the paper's model); the
    metastable training states of the E-VAE dataset lie a few hundredths of J
    below it.  ``(B, 3, H, W)`` in, ``(B,)`` out.
    """
    n = x_out.shape[-2] * x_out.shape[-1]
    return (hamiltonian.energy(x_out) - reference_energy(hamiltonian, n)) / n


#: States per batch in the analyses over datasets and trained models (energies, sampling, reconstruction,
#: encoding): bounded memory at the paper's 128 x 128 (256 states: about 50 MB of spins, a few hundred MB of
#: activations).
ANALYSIS_BATCH = 256


def state_batch(states, start, stop, device, dtype=None):
    """Rows ``[start, stop)`` of many states as a tensor on ``device``: only those rows are read and converted.

    Parameters
    ----------
    states : array_like, torch.Tensor or mag_ml.data.SplitStates
        Anything sliced by ``states[start:stop]`` (a dataset split reads those rows from its file, verified).
    start, stop : int
    device : torch.device
    dtype : torch.dtype, optional
        Of the result; default the rows' own.

    Returns
    -------
    torch.Tensor, shape (stop - start, ...)
    """
    part = states[start:stop]
    return (part if torch.is_tensor(part) else torch.as_tensor(np.asarray(part))).to(device, dtype)


def energy_losses(states, hamiltonian, *, batch_size=ANALYSIS_BATCH, device="auto", dtype=torch.float64):
    """``L_H`` (:func:`hamiltonian_loss`) of each of many states, ``batch_size`` at a time on ``device``.

    The one place the energies of a set of states are computed: the training
    set's energy line of every E-VAE step (:func:`mag_ml.training.train_schedule`)
    and the chapters' energy histograms (Kwon et al., Adv. Sci. 2021, Fig. 2).
    Only ``batch_size`` states are ever converted (to ``dtype``) and moved to
    the device at once; the result does not depend on ``batch_size``.

    Parameters
    ----------
    states : array_like, torch.Tensor or mag_ml.data.SplitStates, shape (n, 3, H, W)
        Spins; anything sliced by ``states[a:b]`` (a dataset split streams
        from its file).
    hamiltonian : mag_ml.Hamiltonian
    batch_size : int, default ANALYSIS_BATCH
        >= 1.
    device : "auto", str or torch.device
        ``"auto"``: CUDA when available, else the CPU
        (:func:`mag_ml.checks.resolve_device`).
    dtype : torch.dtype, default torch.float64

    Returns
    -------
    numpy.ndarray, shape (n,), float64
        ``(E - E_0) / N`` per state, units of J per spin.

    Raises
    ------
    ValueError
        A bad ``batch_size`` or ``device`` (CUDA asked for without one).
    """
    from mag_ml.checks import check_int, resolve_device

    check_int(batch_size, "batch_size", minimum=1)
    device = resolve_device(device)
    out = np.empty(len(states), dtype=np.float64)
    with torch.no_grad():
        for i in range(0, len(states), batch_size):
            x = state_batch(states, i, i + batch_size, device, dtype)
            out[i:i + len(x)] = hamiltonian_loss(x, hamiltonian).double().cpu().numpy()
    return out


#: Loss normalisations of :func:`vae_losses`: "per_spin" (the book's) and "sum" (a Keras-style implementation).
NORMALISATIONS = ("per_spin", "sum")


def vae_losses(x, x_out, mu, logvar, hamiltonian=None, *, normalisation="per_spin"):
    r"""The three loss terms of the (E-)VAE, each averaged over the batch.

    Normalisation ``"per_spin"`` (the default; Kwon et al. 2021 write the
    terms without one):

    * ``rc``: :func:`reconstruction_loss`, the squared error **per spin**;
    * ``kl``: :func:`kl_divergence`, **summed** over the latent dimensions,
      the standard ELBO form (each latent dimension is one independent
      Gaussian factor of the posterior);
    * ``h``: :func:`hamiltonian_loss`, the energy **per spin** measured from
      ``E0 = -2JN``.

    With ``rc`` and ``h`` both per spin, the ratio of the reconstruction and
    energy gradients, and hence the meaning of a value of ``gamma``, does not
    depend on the lattice size: a ``gamma`` found on the quick profile's 48 x 48
    lattice means the same on the paper's 128 x 128 one.  ``beta`` is relative
    to a per-spin reconstruction error, so the paper's posterior collapse near
    ``beta ~ 1e-2`` appears at similar values.

    Normalisation ``"sum"``, as a Keras-style implementation writes it:
    ``rc`` summed over the N sites and 3 components, ``h`` the total energy
    ``E(S_out) - E0``, ``kl`` summed as above.  That is ``N`` times the
    per-spin ``rc`` and ``h`` with the same ``kl``: the same optimisation
    as ``"per_spin"`` at ``beta / N`` (Adam's steps do not depend on the
    loss's overall scale), so ``beta`` then depends on the lattice size.

    Parameters
    ----------
    x, x_out : torch.Tensor, shape (B, 3, H, W)
        Input and decoded spins (unit vectors).
    mu, logvar : torch.Tensor, shape (B, latent_dim)
    hamiltonian : mag_ml.Hamiltonian, optional
        If None, ``h`` is not computed (NaN), for a standard VAE.
    normalisation : {"per_spin", "sum"}, default "per_spin"

    Returns
    -------
    dict of str to 0-d torch.Tensor
        ``{"rc", "kl", "h"}``, batch means; combine with :func:`total_loss`.

    Raises
    ------
    ValueError
        An unknown ``normalisation``.
    """
    if normalisation not in NORMALISATIONS:
        raise ValueError(f"normalisation must be one of {NORMALISATIONS}, got {normalisation!r}")
    scale = x.shape[-2] * x.shape[-1] if normalisation == "sum" else 1
    out = {"rc": scale * reconstruction_loss(x_out, x).mean(), "kl": kl_divergence(mu, logvar).mean()}
    out["h"] = (scale * hamiltonian_loss(x_out, hamiltonian).mean() if hamiltonian is not None
                else torch.full((), float("nan"), device=x.device))
    return out


def total_loss(terms, beta, gamma):
    """``L = L_RC + beta L_KL + gamma L_H`` from the dict of :func:`vae_losses` (``h`` skipped at gamma = 0)."""
    loss = terms["rc"] + beta * terms["kl"]
    if gamma:
        loss = loss + gamma * terms["h"]
    return loss


# ----------------------------------------------------------------------------- cost
def layer_table(model, batch=2):
    """Output shape, parameter count and forward FLOPs of every layer, for one sample.

    Runs a forward pass of ``batch`` random inputs (CPU, no grad, model left
    unchanged) with hooks on the leaf modules.  FLOPs count a multiply-add
    as 2: a convolution costs ``2 k^2 C_in C_out H_out W_out``, a dense layer
    ``2 n_in n_out``; batch norm, activations, pooling and upsampling count
    one FLOP per output element (normalisation: a few), so the table is
    dominated, as in practice, by convolutions and dense layers.

    Returns
    -------
    list of dict
        ``name``, ``kind``, ``out_shape`` (per sample), ``params``, ``flops``.
    """
    rows, hooks = [], []

    def hook(name):
        def f(module, inputs, output):
            out = output[0] if isinstance(output, tuple) else output
            n_out = out[0].numel()
            if isinstance(module, nn.Conv2d):
                k = module.kernel_size[0] * module.kernel_size[1]
                flops = 2 * k * module.in_channels * n_out
            elif isinstance(module, nn.Linear):
                flops = 2 * module.in_features * module.out_features
            elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
                flops = 4 * n_out
            else:
                flops = n_out
            rows.append(dict(name=name, kind=type(module).__name__, out_shape=tuple(out.shape[1:]),
                             params=sum(p.numel() for p in module.parameters(recurse=False)), flops=int(flops)))
        return f

    for name, module in model.named_modules():
        if not list(module.children()):
            hooks.append(module.register_forward_hook(hook(name)))
    was_training = model.training
    try:
        model.eval()
        p = next(model.parameters())
        with torch.no_grad():
            x = torch.randn(batch, 3, model.size, model.size, dtype=p.dtype, device=p.device)
            model(x / x.norm(dim=1, keepdim=True))
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    return rows


def flops_per_sample(model, *, training=True):
    """Floating-point operations per sample of one training step (or forward pass).

    The forward count of :func:`layer_table` plus the Hamiltonian energy
    (about 60 FLOPs per site); a training step (forward + backward) is taken
    as 3 x forward, the usual estimate (the backward pass computes gradients
    with respect to both inputs and weights, each about one forward).
    """
    forward = sum(r["flops"] for r in layer_table(model)) + 60 * model.size ** 2
    return 3 * forward if training else forward

