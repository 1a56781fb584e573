r"""The classical Heisenberg Hamiltonian with DMI, Zeeman and uniaxial anisotropy.

.. math::

    \mathcal{H} = -J \sum_{\langle ij\rangle} \mathbf S_i\cdot\mathbf S_j
        - \sum_{\langle ij\rangle} \mathbf D_{ij}\cdot(\mathbf S_i\times\mathbf S_j)
        - B \sum_i S_i^z - K \sum_i (S_i^z)^2

on a square lattice, each nearest-neighbour bond counted once (Kwon et al.,
Adv. Sci. 2021, Eq. 1, with the anisotropy term added).  Reduced units:
J = k_B = 1, and D, B, K, T are in units of J.  Interfacial (Neel) DMI has
:math:`\mathbf D_{ij} = D\,\hat z\times\hat r_{ij}`, bulk (Bloch) DMI
:math:`\mathbf D_{ij} = D\,\hat r_{ij}`.

Two implementations share this module: numba loops for simulation (single
states, float64) and torch for learning (batched, differentiable, CPU or
CUDA).  Both compute the same effective field
:math:`\mathbf h_i = -\partial\mathcal H/\partial\mathbf S_i`; the tests check
they agree to rounding and that torch's gradient equals minus the field.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numba
import numpy as np

from ..checks import check_real, describe
from .lattice import BOUNDARIES, check_boundary, check_mask, check_spins

DMI_KINDS = ("interfacial", "bulk")


@numba.njit(inline="always", fastmath=True)
def pair_field(xr, yr, zr, xl, yl, zl, xu, yu, zu, xd, yd, zd, J, Dx, Dy):
    """Exchange + DMI field on a site from its right, left, up and down neighbours.

    ``h = J sum_j S_j + S_{+x} x D_x + D_x x S_{-x} + S_{+y} x D_y + D_y x S_{-y}``:
    the bond (i, i + x) contributes ``-D_x . (S_i x S_{i+x}) = -S_i . (S_{i+x} x D_x)``.
    """
    hx = J * (xr + xl + xu + xd)
    hy = J * (yr + yl + yu + yd)
    hz = J * (zr + zl + zu + zd)
    # S_{+x} x D_x + D_x x S_{-x} = (S_{+x} - S_{-x}) x D_x
    ax, ay, az = xr - xl, yr - yl, zr - zl
    hx += ay * Dx[2] - az * Dx[1]
    hy += az * Dx[0] - ax * Dx[2]
    hz += ax * Dx[1] - ay * Dx[0]
    bx, by, bz = xu - xd, yu - yd, zu - zd
    hx += by * Dy[2] - bz * Dy[1]
    hy += bz * Dy[0] - bx * Dy[2]
    hz += bx * Dy[1] - by * Dy[0]
    return hx, hy, hz


@numba.njit(cache=True)
def _field_and_energy(S, periodic, J, Dx, Dy, B, K):
    """Effective field (3, H, W) and energy per site (H, W) of zero-padded spins."""
    _, h, w = S.shape
    field = np.empty_like(S)
    e = np.empty((h, w))
    for y in range(h):
        for x in range(w):
            nb = np.zeros((4, 3))  # right, left, up, down; stays 0 across open edges
            for d, (dy, dx) in enumerate(((0, 1), (0, -1), (1, 0), (-1, 0))):
                yy, xx = y + dy, x + dx
                if periodic:
                    yy, xx = yy % h, xx % w
                elif yy < 0 or yy >= h or xx < 0 or xx >= w:
                    continue
                for a in range(3):
                    nb[d, a] = S[a, yy, xx]
            hx, hy, hz = pair_field(nb[0, 0], nb[0, 1], nb[0, 2], nb[1, 0], nb[1, 1], nb[1, 2],
                                    nb[2, 0], nb[2, 1], nb[2, 2], nb[3, 0], nb[3, 1], nb[3, 2],
                                    J, Dx, Dy)
            sx, sy, sz = S[0, y, x], S[1, y, x], S[2, y, x]
            # each bond is shared by two sites: half of the pair energy goes to each
            e[y, x] = -0.5 * (sx * hx + sy * hy + sz * hz) - B * sz - K * sz * sz
            occupied = sx * sx + sy * sy + sz * sz > 0.0  # vacancies hold S = 0
            field[0, y, x] = hx * occupied
            field[1, y, x] = hy * occupied
            field[2, y, x] = (hz + B + 2.0 * K * sz) * occupied
    return field, e


@dataclass(frozen=True)
class Hamiltonian:
    """Square-lattice spin Hamiltonian (reduced units, J = k_B = 1).

    Parameters
    ----------
    J : float
        Nearest-neighbour exchange (> 0 ferromagnetic).
    D : float
        DMI strength in units of J.  The E-VAE chapters use ``D = 0.3``.
    B : float
        Field along +z in units of J (``B`` stands for ``g mu_B B``).
    K : float
        Uniaxial anisotropy along z (> 0 easy axis), energy ``-K (S^z)^2``.
    dmi : {"interfacial", "bulk"}
        DM vector orientation.  Kwon et al. (Adv. Sci. 2021) do not state it;
        the book uses interfacial (Neel) DMI.  On the square lattice the two
        are related by rotating every in-plane component by 90 degrees about
        z, so energies, skyrmion sizes and charges are identical.
    boundary : {"periodic", "open"}
        Periodic as in the paper, or open (free edges, confined samples).

    Notes
    -----
    The uniform +z state has energy ``-2 J N - B N - K N`` on a periodic
    lattice of N sites; a flat spiral has wavevector ``q = atan(D / J)`` per
    lattice spacing at B = K = 0.

    Raises
    ------
    ValueError
        Non-finite couplings, unknown ``dmi`` or ``boundary``; couplings
        that are not real numbers (bools included) raise
        :class:`mag_ml.checks.ArgumentTypeError`, a TypeError that is also a
        ValueError.
    """

    J: float = 1.0
    D: float = 0.3
    B: float = 0.05
    K: float = 0.0
    dmi: str = "interfacial"
    boundary: str = "periodic"

    def __post_init__(self):
        for name in ("J", "D", "B", "K"):  # Python or NumPy reals; bools are not numbers
            object.__setattr__(self, name, check_real(getattr(self, name), name))
        if not isinstance(self.dmi, str) or self.dmi not in DMI_KINDS:
            raise ValueError(f"dmi must be one of {DMI_KINDS}, got {describe(self.dmi)}")
        check_boundary(self.boundary)

    # -- description -------------------------------------------------------
    def as_dict(self):
        """Couplings and kinds as a flat dict (HDF5 attributes, artifact keys)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d):
        """Inverse of :meth:`as_dict`; unknown keys raise TypeError."""
        return cls(**{k: (v.item() if hasattr(v, "item") else v) for k, v in d.items()})

    @property
    def periodic(self):
        return self.boundary == "periodic"

    def dmi_vectors(self):
        """DM vectors of the +x and +y bonds, two float64 arrays of shape (3,)."""
        if self.dmi == "interfacial":  # D (z x r_ij)
            return np.array([0.0, self.D, 0.0]), np.array([-self.D, 0.0, 0.0])
        return np.array([self.D, 0.0, 0.0]), np.array([0.0, self.D, 0.0])  # D r_ij

    # -- numpy / numba (one state) and torch (batch) ------------------------
    def _numba(self, spins, mask):
        return self._numba_unchecked(check_spins(spins, mask=mask))

    def _numba_unchecked(self, spins):
        Dx, Dy = self.dmi_vectors()
        return _field_and_energy(spins, self.periodic, self.J, Dx, Dy, self.B, self.K)

    def _numba_energy_unchecked(self, spins):
        """Energy of any float64 (3, H, W) array, unit or not (finite differences in tests)."""
        return float(self._numba_unchecked(spins)[1].sum())

    def energy_per_site(self, spins, mask=None):
        """Energy of each site, bonds shared half-half, so the sum is the energy.

        Parameters
        ----------
        spins : ndarray, float, shape (3, H, W) or torch.Tensor (N, 3, H, W)
        mask : ndarray of bool, shape (H, W), optional
            Occupied sites; vacancies carry no moment (their spins must be 0).

        Returns
        -------
        ndarray (H, W) float64, or tensor (N, H, W)
        """
        if _is_tensor(spins):
            return self._torch(spins, mask)[1]
        return self._numba(spins, mask)[1]

    def energy(self, spins, mask=None):
        """Total energy in units of J.

        Returns
        -------
        float for a (3, H, W) array; tensor (N,) for a (N, 3, H, W) tensor
        (differentiable, on the tensor's device).
        """
        if _is_tensor(spins):
            return self._torch(spins, mask)[1].sum(dim=(-2, -1))
        return float(self._numba(spins, mask)[1].sum())

    def field(self, spins, mask=None):
        """Effective field ``h_i = -dH/dS_i``, same shape and type as ``spins``.

        Zero on vacant sites.
        """
        if _is_tensor(spins):
            return self._torch(spins, mask)[0]
        return self._numba(spins, mask)[0]

    def cos_theta(self, spins, mask=None, eps=1e-12):
        """Local correlation ``cos(theta_i) = S_i . h_i / |h_i|`` (Kwon et al. 2021, Fig. 3).

        1 where a spin is aligned with its effective field (a local energy
        minimum), 0 on vacancies.  Shape (H, W), or (N, H, W) for a tensor.
        """
        h = self.field(spins, mask)
        if _is_tensor(spins):
            return (spins * h).sum(-3) / h.norm(dim=-3).clamp_min(eps)
        return np.einsum("chw,chw->hw", spins, h) / np.maximum(np.linalg.norm(h, axis=0), eps)

    def _torch(self, spins, mask):
        import torch

        if spins.ndim != 4 or spins.shape[1] != 3:
            raise ValueError(f"spins must have shape (N, 3, H, W), got {tuple(spins.shape)}")
        if mask is not None:
            mask = torch.as_tensor(check_mask(np.asarray(mask), spins.shape[-2:]), device=spins.device)
            spins = spins * mask.to(spins.dtype)
        Dx, Dy = (torch.as_tensor(v, dtype=spins.dtype, device=spins.device).view(1, 3, 1, 1)
                  for v in self.dmi_vectors())
        right, left = _shift(spins, -1, -1, self.periodic), _shift(spins, 1, -1, self.periodic)
        up, down = _shift(spins, -1, -2, self.periodic), _shift(spins, 1, -2, self.periodic)
        h = (self.J * (right + left + up + down)
             + torch.cross(right - left, Dx.expand_as(spins), dim=1)
             + torch.cross(up - down, Dy.expand_as(spins), dim=1))
        sz = spins[:, 2]
        e = -0.5 * (spins * h).sum(1) - self.B * sz - self.K * sz * sz
        h = torch.cat([h[:, :2], (h[:, 2] + self.B + 2.0 * self.K * sz).unsqueeze(1)], dim=1)
        if mask is not None:
            h = h * mask.to(spins.dtype)
        return h, e


def _is_tensor(x):
    return type(x).__module__.startswith("torch")


def _shift(spins, step, dim, periodic):
    """Neighbour values: out[..., i] = spins[..., i - step] along ``dim``, zeros past open edges."""
    import torch

    if periodic:
        return torch.roll(spins, step, dims=dim)
    out = torch.zeros_like(spins)
    n = spins.shape[dim]
    src = spins.narrow(dim, max(-step, 0), n - abs(step))
    out.narrow(dim, max(step, 0), n - abs(step)).copy_(src)
    return out


__all__ = ["Hamiltonian", "DMI_KINDS", "BOUNDARIES", "pair_field"]
