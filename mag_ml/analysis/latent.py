r"""The latent space of a trained (E-)VAE: inverse mapping, interpolation, barriers (chapter 4).

Kwon et al., "Magnetic state generation using Hamiltonian guided variational
autoencoder with spin structure stabilization", Adv. Sci. 8, 2004795 (2021),
Fig. 4:

* :func:`inverse_map`: the latent vector z* whose decoded state best matches
  a target state (Fig. 4A), found by gradient descent on z* alone;
* :func:`interpolate`: states decoded along the straight line between two
  latent vectors, with their energies per spin (Fig. 4B);
* :func:`barrier`: the peak of an energy path, its height and the path
  re-indexed by R, the number of steps from the peak (Fig. 4B).

Models follow the interface of :class:`mag_ml.models.SpinVAE`:
``encode(x) -> (mu, logvar)`` and ``decode(z) -> x_out`` on float32 tensors of
shape ``(N, 3, L, L)`` (channels first, unit spins) and ``(N, latent_dim)``.
Every function here puts the model in eval mode (batch norm uses its running
statistics, so each state is decoded independently of the others in the
batch) and restores its previous mode and ``requires_grad`` flags on return.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import numpy as np
import torch

from ..physics.hamiltonian import Hamiltonian

__all__ = ["inverse_map", "Interpolation", "interpolate", "Barrier", "barrier"]


@contextlib.contextmanager
def _frozen(model):
    """Eval mode and no parameter gradients inside the block; previous state restored after."""
    was_training = model.training
    flags = [p.requires_grad for p in model.parameters()]
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        yield model
    finally:
        for p, f in zip(model.parameters(), flags):
            p.requires_grad_(f)
        model.train(was_training)


def _model_param(model):
    try:
        return next(model.parameters())
    except StopIteration:  # pragma: no cover - a model without parameters
        return torch.empty(0)


def _as_batch(target, like):
    """Target spins as a float tensor (N, 3, H, W) on the model's device and dtype."""
    t = torch.as_tensor(np.asarray(target) if not isinstance(target, torch.Tensor) else target)
    t = t.detach().to(device=like.device, dtype=like.dtype if like.is_floating_point() else torch.float32)
    if t.ndim == 3:
        t = t.unsqueeze(0)
    if t.ndim != 4 or t.shape[1] != 3:
        raise ValueError(f"target must have shape (3, H, W) or (N, 3, H, W), got {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise ValueError("target contains NaN or inf values")
    return t


def inverse_map(model, target, steps=2000, lr=1e-2, *, tol=1e-4, window=20, min_steps=None):
    r"""Latent vector z* whose decoded state matches a target state (Kwon et al. 2021, Fig. 4A).

    z* starts at the encoder's mean ``mu(target)`` and is optimised alone
    (model weights frozen, model in eval mode) with Adam on

    .. math:: L(z^*) = \frac{1}{3 N H W}\sum (\mathrm{decode}(z^*) - X_\mathrm{target})^2 ,

    the mean squared error over samples, components and sites, until the loss
    saturates or ``steps`` run out.  Saturation: after at least ``min_steps``
    steps, the relative decrease over the last ``window`` steps,
    ``(L[k - window] - L[k]) / L[k - window]``, falls below ``tol``.  A batch
    of targets is optimised jointly (their z* are independent; the summed
    loss gives each its own gradient).

    Parameters
    ----------
    model : torch.nn.Module
        With ``encode`` and ``decode`` as :class:`mag_ml.models.SpinVAE`.
    target : ndarray or torch.Tensor, shape (3, H, W) or (N, 3, H, W)
        Unit spins (converted to the model's dtype and device, float32 for a
        default SpinVAE).
    steps : int, default 2000
        Maximum number of Adam steps (>= 1).
    lr : float, default 1e-2
        Adam learning rate.
    tol : float, default 1e-4
        Relative-decrease threshold of the saturation test (>= 0; 0 runs all
        ``steps``).
    window : int, default 20
        Steps over which the decrease is measured.
    min_steps : int, optional
        Steps before the saturation test applies; default ``window``.

    Returns
    -------
    z : torch.Tensor, shape (N, latent_dim)
        The optimised latent vectors (detached, model dtype and device).
    history : ndarray (n_steps + 1,) float64
        The loss before the first step and after each step taken.

    Raises
    ------
    ValueError
        Bad shapes or optimisation settings.
    """
    for name, v in (("steps", steps), ("window", window)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a finite positive number, got {lr!r}")
    if not (isinstance(tol, (int, float)) and math.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol must be a finite number >= 0, got {tol!r}")
    min_steps = window if min_steps is None else int(min_steps)
    with _frozen(model):
        x = _as_batch(target, _model_param(model))
        with torch.no_grad():
            mu, _ = model.encode(x)
        z = mu.detach().clone().requires_grad_(True)
        opt = torch.optim.Adam([z], lr=lr)
        history = []
        for k in range(int(steps) + 1):
            opt.zero_grad()
            loss = torch.mean((model.decode(z) - x) ** 2)
            history.append(float(loss.detach()))
            if k == steps:
                break
            if tol > 0 and k >= max(min_steps, window):
                old = history[k - window]
                if old <= 0 or (old - history[k]) / old < tol:
                    break
            loss.backward()
            opt.step()
    return z.detach(), np.asarray(history, dtype=np.float64)


@dataclass
class Interpolation:
    """Outcome of :func:`interpolate`.

    Attributes
    ----------
    t : ndarray (n,) float64
        Path parameter, 0 at ``z0`` and 1 at ``z1``.
    z : torch.Tensor (n, latent_dim)
        Latent vectors ``(1 - t) z0 + t z1``.
    states : torch.Tensor (n, 3, H, W)
        Decoded unit spins (model dtype, on the CPU).
    energy : ndarray (n,) float64 or None
        Energy per spin of each state (units of J), computed in float64;
        None without a Hamiltonian.
    """

    t: np.ndarray
    z: torch.Tensor
    states: torch.Tensor
    energy: np.ndarray | None


def interpolate(model, z0, z1, n=41, hamiltonian=None, *, batch_size=64):
    r"""Decode states along the straight line between two latent vectors (Kwon et al. 2021, Fig. 4B).

    ``z(t) = (1 - t) z0 + t z1`` for ``n`` equally spaced ``t`` in [0, 1];
    each is decoded in eval mode, so the endpoints are exactly
    ``decode(z0)`` and ``decode(z1)``.  With a Hamiltonian the energy per
    spin of each decoded state is computed (torch path of
    :meth:`mag_ml.Hamiltonian.energy`, in float64): the energy landscape
    between, e.g., a perfect skyrmion lattice and the lattice with one
    interstitial skyrmion, whose maximum is the barrier (:func:`barrier`).

    Parameters
    ----------
    model : torch.nn.Module
        With ``decode`` as :class:`mag_ml.models.SpinVAE`.
    z0, z1 : torch.Tensor or array_like, shape (latent_dim,) or (1, latent_dim)
        End points (e.g. from :func:`inverse_map`).
    n : int, default 41
        Number of states, >= 2, endpoints included.
    hamiltonian : mag_ml.Hamiltonian, optional
    batch_size : int, default 64
        States decoded at once (memory).

    Returns
    -------
    Interpolation

    Raises
    ------
    TypeError
        ``hamiltonian`` given but not a :class:`mag_ml.Hamiltonian`.
    ValueError
        Mismatched latent vectors or ``n < 2``.
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 2:
        raise ValueError(f"n must be an integer >= 2, got {n!r}")
    if hamiltonian is not None and not isinstance(hamiltonian, Hamiltonian):
        raise TypeError(f"hamiltonian must be a mag_ml.Hamiltonian, got {type(hamiltonian).__name__}")
    p = _model_param(model)
    dtype = p.dtype if p.is_floating_point() else torch.float32
    a, b = (torch.as_tensor(v).detach().to(device=p.device, dtype=dtype).reshape(1, -1) for v in (z0, z1))
    if a.shape != b.shape:
        raise ValueError(f"z0 and z1 must have the same size, got {tuple(a.shape)} and {tuple(b.shape)}")
    t = np.linspace(0.0, 1.0, int(n))
    tt = torch.as_tensor(t, device=p.device, dtype=dtype).unsqueeze(1)
    z = (1.0 - tt) * a + tt * b
    z[0], z[-1] = a[0], b[0]  # exact endpoints
    with _frozen(model), torch.no_grad():
        states = torch.cat([model.decode(z[i:i + batch_size]).cpu() for i in range(0, int(n), batch_size)])
    energy = None
    if hamiltonian is not None:
        n_sites = states.shape[-2] * states.shape[-1]
        energy = (hamiltonian.energy(states.double()) / n_sites).numpy()
    return Interpolation(t=t, z=z.detach().cpu(), states=states, energy=energy)


@dataclass
class Barrier:
    """Outcome of :func:`barrier`.

    Attributes
    ----------
    index : int
        Index of the highest energy along the path.
    height : float
        ``E[index] - E[0]``: barrier above the start (units of the input).
    height_end : float
        ``E[index] - E[-1]``: barrier above the end.
    R : ndarray (n,) int
        Steps from the peak, positive toward the start of the path
        (``index - arange(n)``): with the path run from the perfect skyrmion
        lattice to the interstitial state, R > 0 lies toward the perfect
        lattice, as in Kwon et al. 2021, Supporting Note S1.
    width : float
        Width of the barrier at half height, in steps of R: the distance
        between the two points (linearly interpolated) where the energy
        crosses half way between the peak and each side's own end value (a
        peak at an end of the path has no width on that side).
    max_slope : float
        Largest ``|E[i+1] - E[i]|`` per step of R (units of the input).
    """

    index: int
    height: float
    height_end: float
    R: np.ndarray
    width: float
    max_slope: float


def _half_crossing(e, level, peak, direction):
    """Distance in steps from ``peak`` to where ``e`` first falls to ``level`` going ``direction`` (+1 / -1)."""
    i = peak
    while 0 <= i + direction < e.size:
        j = i + direction
        if e[j] <= level:
            return abs(i - peak) + (e[i] - level) / (e[i] - e[j])
        i = j
    return float(abs(i - peak))


def barrier(energies):
    """Energy barrier along a path: peak, heights, steps from the peak, and its sharpness.

    Re-indexing by R (Kwon et al. 2021, Fig. 4B and Supporting Note S1)
    aligns paths of different models at their peaks; the width at half
    height and the steepest slope measure the sharpening the paper claims
    for the E-VAE.  For an energy that only falls (or only rises) the "peak"
    is the start (or end) and the height is 0 (or the total rise); ties go
    to the first maximum.

    Parameters
    ----------
    energies : array_like (n,)
        Energies along the path (e.g. ``Interpolation.energy``, J per spin).

    Returns
    -------
    Barrier

    Raises
    ------
    ValueError
        Empty, non-1-D or non-finite input.
    """
    e = np.asarray(energies, dtype=np.float64)
    if e.ndim != 1 or e.size == 0:
        raise ValueError(f"energies must be a non-empty 1-D array, got shape {e.shape}")
    if not np.all(np.isfinite(e)):
        raise ValueError("energies must be finite")
    i = int(np.argmax(e))
    width = (_half_crossing(e, (e[i] + e[0]) / 2, i, -1) + _half_crossing(e, (e[i] + e[-1]) / 2, i, +1))
    slope = float(np.abs(np.diff(e)).max()) if e.size > 1 else 0.0
    return Barrier(index=i, height=float(e[i] - e[0]), height_end=float(e[i] - e[-1]), R=i - np.arange(e.size),
                   width=float(width), max_slope=slope)
