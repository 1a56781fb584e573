"""TFC constrained expressions and the physics-informed dispersion network (mag_ml.models.tfc)."""

import math

import numpy as np
import pytest
import torch

from mag_ml.physics.magnons import analytic_dispersion, sum_rule_frequency
from mag_ml.models.tfc import ConstrainedExpression, DispersionPINN, intact_bond_fraction, kernel_coordinate
from mag_ml.physics.defects import site_run_means, telegraph_vacancies
from mag_ml.physics.pseudospectral import PSLLChain, wavevectors

A = 0.5  # nm


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny networks train fastest on one thread (and leave the cores to others); restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _mlp(seed, dtype=torch.float64):
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(1, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16), torch.nn.Tanh(),
                              torch.nn.Linear(16, 1)).to(dtype)
    return lambda v: net(v.unsqueeze(-1)).squeeze(-1)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_constrained_expression_exact_for_random_networks(seed):
    """Values and derivatives at the constraint points equal the prescribed ones, whatever g."""
    ce = ConstrainedExpression([(0, 0.0), (1, 0.3), (2, 1.0), (0, 1.0)])
    g = _mlp(seed)
    kappa = torch.tensor([1.5, -2.0, 0.7, 4.0], dtype=torch.float64)
    u = torch.tensor([[0.0, 0.3, 1.0, 0.55]], dtype=torch.float64, requires_grad=True)
    f = ce(g, u, kappa)[0]
    d1 = torch.autograd.grad(f.sum(), u, create_graph=True)[0][0]
    d2 = torch.autograd.grad(d1[2], u)[0][0]
    assert f[0].item() == pytest.approx(1.5, abs=1e-12)
    assert d1[1].item() == pytest.approx(-2.0, abs=1e-12)
    assert d2[2].item() == pytest.approx(0.7, abs=1e-11)
    assert f[2].item() == pytest.approx(4.0, abs=1e-12)
    # away from the constraints f follows g (the constraints do not freeze the function)
    assert abs(f[3].item() - g(u[:, 3:4].detach())[0, 0].item()) > 1e-6


def test_constrained_expression_reproduces_a_function_that_satisfies_the_constraints():
    """Every function meeting the constraints is an output: g = f gives f back."""
    ce = ConstrainedExpression([(0, 0.0), (1, 1.0)])
    u = torch.linspace(0, 1, 7, dtype=torch.float64)[None]
    f = ce(torch.cos, u, torch.tensor([1.0, -math.sin(1.0)], dtype=torch.float64))
    assert torch.allclose(f, torch.cos(u), atol=1e-14)


def test_constrained_expression_rejects_bad_constraints():
    with pytest.raises(ValueError, match="singular"):
        ConstrainedExpression([(0, 0.5), (0, 0.5)])
    with pytest.raises(ValueError, match="order"):
        ConstrainedExpression([(-1, 0.0)])
    with pytest.raises(ValueError, match="pairs"):
        ConstrainedExpression([0.0])


def _pinn(seed, **kw):
    torch.manual_seed(seed)
    return DispersionPINN(12.5, 400.0, A, [1.0, 4.0, 16.0], [0.5, 2.0, 8.0], **kw)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("kernel", ["discrete", "continuum"])
def test_pinn_constraints_hold_for_random_weights(seed, kernel):
    model = _pinn(seed, kernel=kernel)
    sigma = torch.tensor([1.3, 7.0, 15.0])
    tau = torch.tensor([0.6, 3.0, 1.0])
    k = torch.linspace(0, math.pi / A, 17)
    k.requires_grad_(True)
    f = model(sigma, tau, k)
    assert f.shape == (3, 17)
    assert torch.allclose(f[:, 0], torch.tensor(12.5), rtol=0, atol=5e-6)  # f(0) = f0 (float32 rounding of 4 terms)
    assert torch.allclose(model(sigma, tau, -k), f, rtol=0, atol=1e-5)  # f(-k) = f(k)
    slope = torch.autograd.grad(f[:, 0].sum(), k)[0][0]  # d f / dk at k = 0
    assert abs(slope.item()) < 1e-5
    if kernel == "discrete":  # lattice periodicity
        assert torch.allclose(model(sigma, tau, k + 2 * math.pi / A), f, rtol=0, atol=1e-3)
    # the constraints do not freeze the free function: other k vary with the weights
    assert not torch.allclose(f, _pinn(seed + 10, kernel=kernel)(sigma, tau, k), atol=1e-3)
    # the multivariate constraint: tau -> 0 is the ideal chain, at every k and any sigma (inside or outside the
    # training box), for any weights
    u = torch.sin(0.5 * A * k) ** 2 if kernel == "discrete" else (k * A / math.pi) ** 2
    for s_ in (0.5, 3.0, 40.0):
        ideal = model(torch.full((1,), s_), torch.zeros(1), k)[0]
        assert torch.allclose(ideal, 12.5 + 400.0 * u, rtol=0, atol=1e-4)
    # and it is a limit, not a jump: a tiny tau is next to the ideal chain, a finite one is not
    near = model(sigma, torch.full((3,), 1e-6), k)
    assert torch.allclose(near, 12.5 + 400.0 * u.expand(3, -1), rtol=0, atol=1e-2)
    assert not torch.allclose(f, 12.5 + 400.0 * u.expand(3, -1), atol=1e-2)


def test_pinn_gradients_flow_and_residual_definition():
    model = _pinn(0)
    sigma, tau = torch.tensor([2.0, 5.0]), torch.tensor([1.0, 3.0])
    k = torch.linspace(0, math.pi / A, 9)
    r = model.residual(sigma, tau, k)
    u = torch.sin(0.5 * A * k) ** 2
    expected = model(sigma, tau, k) - 12.5 - intact_bond_fraction(sigma, tau)[:, None] * 400.0 * u
    assert torch.allclose(r, expected, atol=1e-4)
    (r ** 2).mean().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0


def test_pinn_loss_decreases_on_a_tiny_problem():
    """A few hundred Adam steps fit a sum-rule dispersion plus a smooth distortion."""
    from mag_ml.analysis.defect_networks import pinn_loss

    k = np.linspace(0, math.pi / A, 17)
    sigma = np.array([1.0, 2.0, 4.0, 8.0, 2.0, 6.0])
    tau = np.array([1.0, 1.0, 2.0, 1.0, 4.0, 3.0])
    u = np.sin(0.5 * A * k) ** 2
    rho = intact_bond_fraction(torch.tensor(sigma), torch.tensor(tau)).numpy()
    f = 12.5 + rho[:, None] * 400.0 * u - 30.0 * (1 - rho[:, None]) * np.sin(math.pi * u) ** 2
    model = DispersionPINN(12.5, 400.0, A, sigma, tau, hidden=16, depth=2)
    loss = pinn_loss(k, weight=0.01, n_collocation=8, sigma_range=(1, 8), tau_range=(1, 4))
    batch = [torch.tensor(x, dtype=torch.float32) for x in (sigma, tau, f)]
    torch.manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = loss(model, *batch).item()
    for _ in range(300):
        opt.zero_grad()
        value = loss(model, *batch)
        value.backward()
        opt.step()
    assert value.item() < 0.2 * first


def test_intact_bond_fraction_matches_run_lengths_and_the_sum_rule():
    """rho_b = 1 - 1/<run> (defects module) and the PS-LL sum rule of a long random chain."""
    for s, t in [(1.0, 1.0), (4.0, 0.5), (10.0, 3.0), (0.7, 5.0)]:
        run, _ = site_run_means(s, t)
        assert intact_bond_fraction(s, t).item() == pytest.approx(1 - 1 / run, rel=1e-6)
    n, s, t = 20000, 4.0, 2.0
    chain = PSLLChain(n, A, 1e-11, 8e5, K_u=5e5, B=0.1,
                      occupied=telegraph_vacancies(n, s, t, seed=3, realisation=0))
    k = wavevectors(n, A)[:: n // 32]
    ideal = analytic_dispersion(k, A_ex=1e-11, M_s=8e5, a=A, K_u=5e5, B=0.1)
    mean = sum_rule_frequency(chain, k)
    rho = float(intact_bond_fraction(s, t))
    # one realisation of 20000 sites: the bond fraction fluctuates by ~ sqrt(rho (1-rho) / N_occ) ~ 0.4 %
    assert np.allclose(mean - ideal[0], rho * (ideal - ideal[0]), rtol=0, atol=0.01 * (ideal[-1] - ideal[0]))
    assert mean[0] == pytest.approx(ideal[0], rel=1e-12)  # k = 0: the FMR frequency is unchanged


def test_uniform_precession_is_unchanged_by_vacancies():
    """The constraint f(0) = f0: a uniformly tilted chain with vacancies precesses at gamma (B + 2K m_z / M_s)."""
    n = 256
    occ = telegraph_vacancies(n, 3.0, 2.0, seed=1, realisation=0)
    assert 0 < occ.sum() < n
    chain = PSLLChain(n, A, 1e-11, 8e5, K_u=5e5, B=0.1, occupied=occ, kernel="discrete")
    theta = 0.2
    m = np.zeros((3, n))
    m[0], m[2] = math.sin(theta), math.cos(theta)
    m[:, ~occ] = 0.0
    rate = chain.rhs(m)
    omega = chain.gamma_ps * (0.1 + chain.c_an * math.cos(theta))  # rad/ps, exact (nonlinear) Larmor rate
    expected = -omega * np.cross(m.T, [0.0, 0.0, 1.0]).T
    assert np.allclose(rate, expected, rtol=0, atol=1e-12 * omega)


def test_bad_input():
    with pytest.raises(ValueError, match="kernel"):
        kernel_coordinate(torch.zeros(3), A, "cubic")
    with pytest.raises(ValueError, match="lattice constant"):
        kernel_coordinate(torch.zeros(3), -1.0)
    with pytest.raises(ValueError, match="sigma"):
        intact_bond_fraction(torch.tensor([-1.0]), torch.tensor([1.0]))
    with pytest.raises(ValueError, match="tau"):
        intact_bond_fraction(1.0, 0.0)
    with pytest.raises(ValueError, match="bandwidth"):
        DispersionPINN(10.0, -1.0, A, [1.0], [1.0])
    with pytest.raises(ValueError, match="sigma and tau"):
        DispersionPINN(10.0, 1.0, A, [1.0, -2.0], [1.0, 1.0])
    from mag_ml.analysis.defect_networks import pinn_loss

    with pytest.raises(ValueError, match="weight"):
        pinn_loss([0.0, 1.0], weight=-1.0, n_collocation=4, sigma_range=(1, 2), tau_range=(1, 2))
    with pytest.raises(ValueError, match="n_collocation"):
        pinn_loss([0.0, 1.0], weight=1.0, n_collocation=-4, sigma_range=(1, 2), tau_range=(1, 2))
    with pytest.raises(ValueError, match="tau_range"):
        pinn_loss([0.0, 1.0], weight=1.0, n_collocation=4, sigma_range=(1, 2), tau_range=(0, 2))
