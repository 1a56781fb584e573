r"""Theory of Functional Connections (TFC) and the physics-informed dispersion network.

Eagan, Copus & Iacocca, arXiv:2603.10182 (2026) predict the magnon dispersion
of a chain with random vacancies with a physics-informed neural network (PINN)
whose output is a TFC *constrained expression*: a functional of a free network
that satisfies stated constraints exactly, whatever the network's weights.
No code of theirs is public; this module is an open implementation.

Constrained expressions (Mortari, Mathematics 5, 57 (2017); Leake & Mortari,
Mach. Learn. Knowl. Extr. 2, 37 (2020))
    For m linear point constraints :math:`C_i[f] = f^{(n_i)}(u_i) = \kappa_i`
    (value, ``n_i = 0``, or a derivative of order ``n_i``) on a function of
    one variable u, pick m support functions :math:`s_j(u) = u^j` and form
    :math:`S_{ij} = C_i[s_j]`.  With the switching functions
    :math:`\varphi_i(u) = \sum_j s_j(u)\,(S^{-1})_{ji}` (so that
    :math:`C_l[\varphi_i] = \delta_{li}`), the expression

    .. math::

        f(u) = g(u) + \sum_{i=1}^{m} \varphi_i(u)\,\bigl(\kappa_i - C_i[g]\bigr)

    satisfies every constraint for *any* free function g, and every function
    that satisfies them is of this form (take g = f).  Here g is a neural
    network, so training is an unconstrained optimisation
    (:class:`ConstrainedExpression`).

Symmetry of the dispersion
    The magnon frequency of a chain is even in k, :math:`f(-k) = f(k)`
    (reflection symmetry of the vacancy ensemble and of the exchange kernel),
    and on a lattice periodic, :math:`f(k + 2\pi/a) = f(k)`.  Both hold
    exactly when the free function is evaluated on the *exchange-kernel
    coordinate*

    .. math::

        u(k) = \frac{\mathcal K(k)}{\mathcal K(\pi/a)} =
        \begin{cases} \sin^2(ka/2) & \text{discrete kernel} \\ (ka/\pi)^2 & \text{continuum} \end{cases}

    (:func:`kernel_coordinate`), with :math:`\mathcal K` the PS-LL exchange
    kernel of :mod:`mag_ml.physics.pseudospectral`.  Because
    :math:`du/dk = 0` at k = 0 (and at the zone edge for the lattice), the
    slope constraint :math:`f'(0) = 0` follows too: evenness, periodicity and
    the zero slope are built into the coordinate, the value at k = 0 into the
    constrained expression.

The value at k = 0
    Vacancies do not change the uniform-mode (FMR) frequency
    :math:`f_0 = \frac{\gamma}{2\pi}(B + 2K_u/M_s)`: with the discrete kernel a
    vacancy cuts the chain, and the uniform precession of every occupied
    segment has no exchange torque (neighbours are parallel), so it is an
    exact eigenmode with the defect-free frequency, whatever the segments'
    lengths.  (The first-moment sum rule of
    :func:`mag_ml.physics.magnons.sum_rule_frequency` gives the same at
    k = 0; chapter 9 checks it against the PS-LL solver.)

Governing equation of the PINN
    Linearising the Landau-Lifshitz equation about +z on the occupied sites
    and taking the power-weighted mean over the eigenmodes that a plane wave
    excites gives the exact first-moment sum rule (derived in
    :mod:`mag_ml.physics.magnons`)

    .. math::

        \bar f(k) = f_0 + \rho_b\,\bigl[f_\mathrm{ideal}(k) - f_0\bigr], \qquad
        \rho_b = p + (1 - p)\,e^{-1/\lambda},

    where :math:`\rho_b` is the mean number of intact (occupied-occupied)
    bonds per occupied site of the telegraph chain, p = sigma/(sigma + tau)
    and :math:`\lambda = (1/\sigma + 1/\tau)^{-1}`
    (:func:`intact_bond_fraction`).  It is the dispersion of a defect-free
    chain with the renormalised exchange :math:`A_\mathrm{eff} = \rho_b A`
    (an effective-medium linearised LL equation).  The PINN's residual is

    .. math:: R(k; \sigma, \tau) = f_\theta(k; \sigma, \tau) - f_0 - \rho_b(\sigma, \tau)\,[f_\mathrm{ideal}(k) - f_0],

    zero in expectation for the spectral centroid (the power-weighted mean
    frequency of the ensemble-averaged line, which chapter 9's networks
    learn).  A finite ensemble scatters about it (random excitation
    amplitudes, the realised bond fraction), so the residual enters the loss
    with a small weight, as a physics prior that can be evaluated at any
    (sigma, tau), also where no simulation was run (collocation points).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

__all__ = ["kernel_coordinate", "intact_bond_fraction", "ConstrainedExpression", "DispersionPINN",
           "DefectNormaliser"]

_KERNELS = ("discrete", "continuum")


def _kernel(kernel):
    if kernel not in _KERNELS:
        raise ValueError(f"kernel must be one of {_KERNELS}, got {kernel!r}")
    return kernel


def kernel_coordinate(k, a, kernel="discrete"):
    r"""Even (and, for the lattice, periodic) coordinate :math:`u = \mathcal K(k)/\mathcal K(\pi/a)`.

    Parameters
    ----------
    k : torch.Tensor or array_like
        Wavevectors [1/nm], any shape.
    a : float
        Lattice constant [nm], > 0.
    kernel : {"discrete", "continuum"}
        ``"discrete"``: :math:`\sin^2(ka/2)` (the PS-LL kernel of the
        nearest-neighbour chain over its zone-edge value); ``"continuum"``:
        :math:`(ka/\pi)^2`.

    Returns
    -------
    torch.Tensor, shape of ``k``
        u in [0, 1] on the first Brillouin zone (float dtype of ``k``;
        float32 for non-tensor input).

    Raises
    ------
    ValueError
        Unknown ``kernel`` or non-positive ``a``.

    Notes
    -----
    Source: the exchange kernel of the PS-LL equation, Rockwell et al.,
    arXiv:2312.14068; used here as the TFC coordinate (module docstring).
    """
    _kernel(kernel)
    if not (isinstance(a, (int, float, np.floating)) and math.isfinite(a) and a > 0):
        raise ValueError(f"a (lattice constant, nm) must be a finite number > 0, got {a!r}")
    k = k if torch.is_tensor(k) else torch.as_tensor(np.asarray(k), dtype=torch.float32)
    if kernel == "continuum":
        return (k * (a / math.pi)) ** 2
    return torch.sin(0.5 * a * k) ** 2


def intact_bond_fraction(sigma, tau):
    r"""Mean number of intact bonds per occupied site, :math:`\rho_b = p + (1-p)e^{-1/\lambda}`.

    The probability that the right neighbour of an occupied site is
    occupied, for the site-sampled telegraph chain of
    :mod:`mag_ml.physics.defects` (a two-state Markov chain with
    correlation :math:`r = e^{-1/\lambda}` per site); equal to
    ``1 - 1 / mean occupied run`` (:func:`mag_ml.physics.defects.site_run_means`).

    Parameters
    ----------
    sigma, tau : torch.Tensor or float
        Mean occupied / vacant segment lengths (units of a), > 0;
        broadcastable.

    Returns
    -------
    torch.Tensor
        rho_b in (p, 1), differentiable in sigma and tau.

    Raises
    ------
    ValueError
        A non-positive or non-finite sigma or tau.

    Notes
    -----
    Source: the first-moment sum rule of the vacancy model
    (:func:`mag_ml.physics.magnons.sum_rule_frequency`) for the
    telegraph defects of Eagan, Copus & Iacocca, arXiv:2603.10182.
    """
    sigma = torch.as_tensor(sigma, dtype=torch.get_default_dtype()) if not torch.is_tensor(sigma) else sigma
    tau = torch.as_tensor(tau, dtype=sigma.dtype) if not torch.is_tensor(tau) else tau
    for name, v in (("sigma", sigma), ("tau", tau)):
        if not bool(torch.all(torch.isfinite(v) & (v > 0))):
            raise ValueError(f"{name} must be finite and > 0 (units of a), got {v.detach().cpu().numpy()!r}")
    p = sigma / (sigma + tau)
    lam = sigma * tau / (sigma + tau)
    return p + (1 - p) * torch.exp(-1.0 / lam)


class ConstrainedExpression:
    r"""TFC constrained expression for point constraints on a function of one variable.

    ``f(u) = g(u) + sum_i phi_i(u) (kappa_i - C_i[g])`` with monomial
    support functions (module docstring).

    Parameters
    ----------
    constraints : sequence of (int, float)
        ``(order, point)`` pairs: the derivative order n_i >= 0 (0 = value)
        and the point u_i where it is prescribed.  The support matrix must
        be invertible (e.g. two value constraints at the same point are
        rejected).

    Raises
    ------
    ValueError
        Empty, malformed or inconsistent constraints.

    Notes
    -----
    Source: Mortari, "The Theory of Connections: Connecting Points",
    Mathematics 5, 57 (2017), Eq. (1) and the switching-function form of
    Leake & Mortari, "Deep Theory of Functional Connections",
    Mach. Learn. Knowl. Extr. 2, 37 (2020), Sec. 2.
    """

    def __init__(self, constraints):
        try:
            parsed = [(int(n), float(x)) for n, x in constraints]
        except (TypeError, ValueError) as err:
            raise ValueError(f"constraints must be (order, point) pairs, got {constraints!r}") from err
        if not parsed or any(n < 0 or not math.isfinite(x) for n, x in parsed):
            raise ValueError(f"constraints need at least one (order >= 0, finite point) pair, got {constraints!r}")
        self.constraints = parsed
        m = len(parsed)
        s = np.array([[self._monomial_derivative(j, n, x) for j in range(m)] for n, x in parsed])
        if abs(np.linalg.det(s)) < 1e-12:
            raise ValueError(f"constraints {parsed} do not determine the monomial support functions "
                             "(singular support matrix); remove duplicate or dependent constraints")
        self.coefficients = np.linalg.inv(s)  # (m support functions j, m constraints i)

    @staticmethod
    def _monomial_derivative(j, n, x):
        """n-th derivative of u**j at x."""
        if n > j:
            return 0.0
        return math.factorial(j) / math.factorial(j - n) * x ** (j - n)

    def switching(self, u):
        """Switching functions phi_i(u), shape ``u.shape + (m,)`` (``C_l[phi_i] = delta_li``)."""
        m = len(self.constraints)
        powers = torch.stack([u ** j for j in range(m)], dim=-1)
        return powers @ torch.as_tensor(self.coefficients, dtype=u.dtype, device=u.device)

    def free_terms(self, g, batch_shape, dtype, device):
        r"""The constraint operators applied to the free function, :math:`C_i[g]`, shape ``batch_shape + (m,)``.

        ``g(points)`` is called with a tensor of shape ``batch_shape + (m,)``
        holding the constraint points; derivatives come from autograd (with
        ``create_graph``, so they can be trained through).
        """
        points = torch.tensor([x for _, x in self.constraints], dtype=dtype, device=device)
        points = points.expand(*batch_shape, len(self.constraints)).clone()
        need = max(n for n, _ in self.constraints)
        if need:
            points.requires_grad_(True)
        derivs = [g(points)]
        for _ in range(need):  # g acts pointwise, so d(sum)/d(point_i) is g'(point_i)
            derivs.append(torch.autograd.grad(derivs[-1].sum(), points, create_graph=True)[0])
        return torch.stack([derivs[n][..., i] for i, (n, _) in enumerate(self.constraints)], dim=-1)

    def __call__(self, g, u, values):
        """Evaluate the constrained expression.

        Parameters
        ----------
        g : callable
            Free function; ``g(v)`` maps a tensor of shape ``batch_shape + (n,)``
            to one of the same shape, pointwise along the last axis (e.g. a
            network applied to each point, with per-sample conditioning on
            the batch axes; derivative constraints rely on the pointwise form).
        u : torch.Tensor, shape ``batch_shape + (n,)``
            Where to evaluate f.
        values : torch.Tensor, shape ``batch_shape + (m,)`` or broadcastable
            Prescribed kappa_i.

        Returns
        -------
        torch.Tensor, shape of ``u``
            f(u); satisfies every constraint exactly (to rounding) for any g.
        """
        batch_shape = u.shape[:-1]
        cg = self.free_terms(g, batch_shape, u.dtype, u.device)
        eta = torch.as_tensor(values, dtype=u.dtype, device=u.device) - cg  # (..., m)
        return g(u) + (self.switching(u) * eta.unsqueeze(-2)).sum(-1)


class DefectNormaliser(nn.Module):
    """Standardised log defect parameters, ``((log sigma, log tau) - mean) / std``, as network input.

    Parameters
    ----------
    sigma, tau : array_like, shape (P,)
        Training values (units of a), > 0; their log mean and std are kept
        as buffers (saved with the model).

    Raises
    ------
    ValueError
        Non-positive values or mismatched shapes.
    """

    def __init__(self, sigma, tau):
        super().__init__()
        logs = np.log(_positive_pair(sigma, tau))
        self.register_buffer("mean", torch.as_tensor(logs.mean(1), dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(np.maximum(logs.std(1), 1e-3), dtype=torch.float32))

    def forward(self, sigma, tau):
        """(B,) sigma and tau -> (B, 2) standardised features."""
        z = torch.stack([torch.log(sigma), torch.log(tau)], dim=-1)
        return (z - self.mean) / self.std


def _positive_pair(sigma, tau):
    s, t = np.asarray(sigma, dtype=np.float64).ravel(), np.asarray(tau, dtype=np.float64).ravel()
    if s.shape != t.shape or s.size == 0:
        raise ValueError(f"sigma and tau must be non-empty 1D arrays of equal length, got {s.shape} and {t.shape}")
    if not (np.all(np.isfinite(s)) and np.all(s > 0) and np.all(np.isfinite(t)) and np.all(t > 0)):
        raise ValueError("sigma and tau must be finite and > 0 (mean segment lengths in units of a)")
    return np.stack([s, t])


class DispersionPINN(nn.Module):
    r"""TFC-constrained network for the defective magnon dispersion f(k; sigma, tau) in GHz.

    .. math::

        f(u, v) = F(u, v) + f_\mathrm{ideal}(u) - F(u, 0), \qquad
        F(u, v) = h(u, v) + f_0 - h(0, v), \qquad
        h(u, v) = f_0 + W u + s\,g_\theta(u, \log\sigma, v)

    with :math:`u = u(k)` (:func:`kernel_coordinate`),
    :math:`v = \tau/(\sigma + \tau) = 1 - p` the vacancy fraction,
    :math:`f_\mathrm{ideal}(k) = f_0 + W u(k)` the defect-free dispersion
    (exact for the PS-LL chain: :math:`\mathcal K \propto u`), g an MLP
    (tanh, smooth for autograd) of u, the standardised log sigma and v, and
    s a frequency scale.  This is the two-variable TFC constrained
    expression built recursively (Leake & Mortari 2020, Sec. 2.2): the
    value constraint :math:`f(0, v) = f_0` in u (:class:`ConstrainedExpression`),
    then :math:`f(u, 0) = f_\mathrm{ideal}(u)` in v, for every u (a
    constraint on a whole function, the defect-free limit: as tau -> 0 at
    fixed sigma the chain is the ideal one); the two are compatible at
    (0, 0).  By construction: :math:`f(0) = f_0`, :math:`f(-k) = f(k)`,
    :math:`f'(0) = 0`, for the discrete kernel :math:`f(k + 2\pi/a) = f(k)`,
    and :math:`f(k; \sigma, \tau{=}0) = f_\mathrm{ideal}(k)`, for any weights.

    Parameters
    ----------
    f0 : float
        Uniform-mode frequency [GHz] (the defect-free f at k = 0).
    bandwidth : float
        W = f_ideal(pi/a) - f0 [GHz], > 0.
    a : float
        Lattice constant [nm].
    sigma, tau : array_like, shape (P,)
        Training defect parameters (input standardisation, :class:`DefectNormaliser`).
    kernel : {"discrete", "continuum"}
    hidden, depth : int
        Width and number of hidden layers of g.
    scale : float, optional
        s [GHz]; default ``0.1 * bandwidth``.

    Raises
    ------
    ValueError
        Bad sizes, kernel or parameters.

    Notes
    -----
    Source: PINN with a TFC constrained expression for the dispersion,
    Eagan, Copus & Iacocca, arXiv:2603.10182; TFC: Leake & Mortari (2020).
    The residual of the governing equation is :meth:`residual`.
    """

    def __init__(self, f0, bandwidth, a, sigma, tau, *, kernel="discrete", hidden=64, depth=3, scale=None):
        super().__init__()
        for name, v in (("f0", f0), ("bandwidth", bandwidth)):
            if not (isinstance(v, (int, float, np.floating)) and math.isfinite(v)):
                raise ValueError(f"{name} must be a finite number (GHz), got {v!r}")
        if bandwidth <= 0:
            raise ValueError(f"bandwidth must be > 0 GHz, got {bandwidth!r}")
        if not isinstance(hidden, int) or hidden < 1 or not isinstance(depth, int) or depth < 1:
            raise ValueError(f"hidden and depth must be positive ints, got {hidden!r}, {depth!r}")
        self.kernel, self.a = _kernel(kernel), float(a)
        kernel_coordinate(torch.zeros(1), self.a, kernel)  # validates a
        self.register_buffer("f0", torch.tensor(float(f0)))
        self.register_buffer("bandwidth", torch.tensor(float(bandwidth)))
        self.register_buffer("scale", torch.tensor(float(0.1 * bandwidth if scale is None else scale)))
        self.normaliser = DefectNormaliser(sigma, tau)
        layers, width = [], 3
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.Tanh()]
            width = hidden
        self.g = nn.Sequential(*layers, nn.Linear(width, 1))
        self.tfc = ConstrainedExpression([(0, 0.0)])

    def ideal(self, k):
        """Defect-free dispersion f0 + W u(k) [GHz], shape of ``k``."""
        return self.f0 + self.bandwidth * kernel_coordinate(k, self.a, self.kernel)

    def free(self, u, z):
        """h(u, v) = f0 + W u + s g(u, z) for u (B, n) and features z (B, 2) = (standardised log sigma, v) -> (B, n)."""
        zz = z.unsqueeze(-2).expand(*u.shape, z.shape[-1])
        g = self.g(torch.cat([u.unsqueeze(-1), zz], dim=-1)).squeeze(-1)
        return self.f0 + self.bandwidth * u + self.scale * g

    def features(self, sigma, tau):
        """(B, 2): the standardised log sigma and the vacancy fraction v = tau / (sigma + tau) (finite at tau = 0)."""
        z = (torch.log(sigma) - self.normaliser.mean[0]) / self.normaliser.std[0]
        return torch.stack([z, tau / (sigma + tau)], dim=-1)

    def forward(self, sigma, tau, k):
        """Predicted f [GHz], shape (B, K), for sigma > 0, tau >= 0 (B,) and wavevectors k (K,) [1/nm]."""
        z = self.features(sigma, tau)
        u = kernel_coordinate(k, self.a, self.kernel).to(z.dtype).expand(z.shape[0], -1)
        f0 = self.f0.expand(z.shape[0], 1)

        def constrained_in_u(features):  # F(u, v): f(0, v) = f0 for any weights
            return self.tfc(lambda w: self.free(w, features), u, f0)

        ideal_limit = torch.stack([z[:, 0], torch.zeros_like(z[:, 1])], dim=-1)  # v = 0: tau -> 0 at this sigma
        return constrained_in_u(z) + self.f0 + self.bandwidth * u - constrained_in_u(ideal_limit)

    def residual(self, sigma, tau, k):
        r"""Residual of the effective-medium dispersion relation (module docstring), GHz, shape (B, K).

        :math:`R = f_\theta - f_0 - \rho_b(\sigma, \tau)\,[f_\mathrm{ideal}(k) - f_0]`.
        """
        rho = intact_bond_fraction(sigma, tau).unsqueeze(-1)
        u = kernel_coordinate(k, self.a, self.kernel).to(rho.dtype)
        return self(sigma, tau, k) - self.f0 - rho * self.bandwidth * u
