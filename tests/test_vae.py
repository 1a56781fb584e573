"""The E-VAE network and its loss terms (Kwon et al., Adv. Sci. 2021) against analytic cases."""

import numpy as np
import pytest
import torch

from mag_ml import Hamiltonian
from mag_ml.models import (PeriodicConv2d, SpinVAE, flops_per_sample, hamiltonian_loss, kl_divergence, layer_table,
                           periodic_pad, reconstruction_loss, reference_energy, total_loss, vae_losses)


def unit(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, generator=g)
    return x / x.norm(dim=1, keepdim=True)


def uniform(n, size, direction=(0.0, 0.0, 1.0)):
    d = torch.tensor(direction, dtype=torch.float32).view(1, 3, 1, 1)
    return d.expand(n, 3, size, size).clone()


@pytest.fixture(scope="module")
def model32():
    torch.manual_seed(0)
    return SpinVAE(32)


def test_shapes_and_unit_outputs(model32):
    x = unit(5, 3, 32, 32)
    out, mu, logvar = model32(x)
    assert out.shape == x.shape and out.dtype == torch.float32
    assert mu.shape == logvar.shape == (5, 100)
    assert torch.allclose(out.norm(dim=1), torch.ones(5, 32, 32), atol=1e-5)
    model32.eval()
    samples = model32.sample(3)
    model32.train()
    assert samples.shape == (3, 3, 32, 32)
    assert torch.allclose(samples.norm(dim=1), torch.ones(3, 32, 32), atol=1e-5)


def test_paper_architecture_sizes():
    """At L = 128: flatten 48 x 8 x 8 = 3072, dense 3072 -> 3072 -> 512 -> 2 x 100, decoder mirror."""
    m = SpinVAE(128)
    assert m.flat == 3072
    linear = [(mod.in_features, mod.out_features) for mod in m.modules() if isinstance(mod, torch.nn.Linear)]
    assert linear == [(3072, 3072), (3072, 512), (512, 100), (512, 100), (100, 512), (512, 3072)]
    convs = [(c.in_channels, c.out_channels, c.kernel_size) for c in m.modules() if isinstance(c, torch.nn.Conv2d)]
    assert convs == [(3, 6, (5, 5)), (6, 12, (5, 5)), (12, 24, (5, 5)), (24, 48, (5, 5)),
                     (48, 24, (5, 5)), (24, 12, (5, 5)), (12, 6, (5, 5)), (6, 3, (5, 5)), (3, 3, (5, 5))]
    assert all(c.padding_mode == "circular" for c in m.modules() if isinstance(c, torch.nn.Conv2d))
    rows = layer_table(m)
    assert rows[0]["out_shape"] == (6, 128, 128)
    assert rows[0]["flops"] == 2 * 25 * 3 * 6 * 128 * 128
    assert rows[-1]["out_shape"] == (3, 128, 128)
    assert flops_per_sample(m) == 3 * flops_per_sample(m, training=False)


@pytest.mark.parametrize("size", [0, 40, 8, 130])
def test_bad_size_raises(size):
    with pytest.raises(ValueError, match="multiple of 16"):
        SpinVAE(size)


def test_bad_input_shape_raises(model32):
    with pytest.raises(ValueError, match=r"\(N, 3, 32, 32\)"):
        model32(unit(2, 3, 16, 16))
    with pytest.raises(ValueError, match="z must have shape"):
        model32.decode(torch.zeros(2, 7))


def test_periodic_pad_is_circular():
    x = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).view(2, 3, 4, 5)
    out = periodic_pad(x, 2)
    expected = np.pad(x.numpy(), ((0, 0), (0, 0), (2, 2), (2, 2)), mode="wrap")
    np.testing.assert_array_equal(out.numpy(), expected)


def test_periodic_conv_commutes_with_translations():
    torch.manual_seed(1)
    conv = PeriodicConv2d(3, 4, 5)
    x = unit(2, 3, 12, 12)
    for shift in [(1, 0), (0, 5), (7, 11)]:
        a = conv(torch.roll(x, shift, dims=(-2, -1)))
        b = torch.roll(conv(x), shift, dims=(-2, -1))
        assert torch.allclose(a, b, atol=1e-6)


def test_open_padding_does_not_wrap_the_edges():
    """Zero padding (open samples): a site on one edge no longer sees the opposite edge; replicate pads with the
    edge itself; an unknown mode is refused, naming the argument."""
    torch.manual_seed(1)
    x = unit(1, 3, 12, 12)
    far = x.clone()
    far[..., -1] = -far[..., -1]  # change only the last column
    for mode, touches_first_column in (("circular", True), ("zeros", False), ("replicate", False)):
        conv = PeriodicConv2d(3, 2, 5, padding_mode=mode)
        changed = (conv(far) - conv(x)).abs().amax(dim=(0, 1, 2)) > 1e-7  # per output column
        assert bool(changed[0]) is touches_first_column, mode
        assert bool(changed[-1])
    zero = PeriodicConv2d(3, 2, 3, padding_mode="zeros", bias=False)
    with torch.no_grad():
        zero.weight.fill_(1.0)
    ones = torch.ones(1, 3, 4, 4)
    assert zero(ones)[0, 0, 0, 0].item() == pytest.approx(3 * 4)  # a corner sees 2 x 2 of its 3 x 3 window
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        PeriodicConv2d(3, 2, 5, padding_mode="reflect")
    with pytest.raises(ValueError, match="padding must be one of"):
        SpinVAE(16, padding="wrap")
    assert SpinVAE(16, latent_dim=4, padding="zeros").config()["padding"] == "zeros"


def test_encoder_and_decoder_see_a_torus(model32):
    """No edges anywhere: shifting the input by 16 sites shifts the last encoder map by one coarse
    site, and shifting the decoder's coarse map by one site shifts the output by 16."""
    model32.eval()
    convs = model32.encoder[:16]  # the four conv blocks, before flatten
    x = unit(2, 3, 32, 32, seed=3)
    with torch.no_grad():
        a = convs(torch.roll(x, (16, -16), dims=(-2, -1)))
        b = torch.roll(convs(x), (1, -1), dims=(-2, -1))
        assert torch.allclose(a, b, atol=1e-5)
        h = torch.randn(2, 48, 2, 2)
        a = model32.decoder_conv(torch.roll(h, 1, dims=-1))
        b = torch.roll(model32.decoder_conv(h), 16, dims=-1)
        assert torch.allclose(a, b, atol=1e-5)
    model32.train()


def test_kl_divergence_analytic():
    mu, logvar = torch.zeros(3, 100), torch.zeros(3, 100)
    assert torch.equal(kl_divergence(mu, logvar), torch.zeros(3))
    # one-dimensional Gaussians: KL = (mu^2 + s^2 - 1 - log s^2) / 2, summed over dims
    mu = torch.tensor([[1.0, -2.0]])
    logvar = torch.tensor([[np.log(4.0), 0.0]], dtype=torch.float32)
    expected = 0.5 * (1 + 4 - 1 - np.log(4.0)) + 0.5 * 4
    assert kl_divergence(mu, logvar).item() == pytest.approx(expected, rel=1e-6)


def test_reconstruction_loss_analytic():
    x = unit(4, 3, 8, 8)
    assert torch.equal(reconstruction_loss(x, x), torch.zeros(4))
    assert torch.allclose(reconstruction_loss(-x, x), torch.full((4,), 4.0))
    # orthogonal unit spins: |a - b|^2 = 2 per spin
    a, b = uniform(2, 8, (1, 0, 0)), uniform(2, 8, (0, 1, 0))
    assert torch.allclose(reconstruction_loss(a, b), torch.full((2,), 2.0))


@pytest.mark.parametrize("B", [0.0, 0.05, -0.3])
def test_hamiltonian_loss_of_uniform_state(B):
    """E(+z) = -2JN - BN on a periodic lattice, so L_H = (E - E0)/N = -B, for any J and D."""
    H = Hamiltonian(J=1.3, D=0.3, B=B)
    x = uniform(3, 16)
    assert reference_energy(H, 256) == -2 * 1.3 * 256
    assert torch.allclose(hamiltonian_loss(x, H), torch.full((3,), -B), atol=1e-6)
    # an in-plane uniform state feels no field energy
    assert torch.allclose(hamiltonian_loss(uniform(1, 16, (1, 0, 0)), H), torch.zeros(1), atol=1e-6)


def test_hamiltonian_loss_matches_numba_energy(rng):
    H = Hamiltonian(J=1.0, D=0.3, B=0.05)
    s = rng.normal(size=(3, 16, 16))
    s /= np.linalg.norm(s, axis=0)
    t = torch.tensor(s[None], dtype=torch.float64)
    assert hamiltonian_loss(t, H).item() == pytest.approx((H.energy(s) + 2 * 256) / 256, rel=1e-12)


def test_vae_losses_and_total():
    H = Hamiltonian(B=0.05)
    x = uniform(2, 16)
    terms = vae_losses(x, x, torch.zeros(2, 10), torch.zeros(2, 10), H)
    assert terms["rc"].item() == 0 and terms["kl"].item() == 0
    assert terms["h"].item() == pytest.approx(-0.05, abs=1e-6)
    assert total_loss(terms, 1.0, 2.0).item() == pytest.approx(-0.1, abs=1e-6)
    mu = torch.ones(2, 10)
    terms = vae_losses(x, x, mu, torch.zeros(2, 10), None)
    assert torch.isnan(terms["h"])
    assert total_loss(terms, 0.1, 0.0).item() == pytest.approx(0.5)  # gamma = 0 ignores the NaN


def test_sum_normalisation_is_n_times_the_per_spin_terms():
    """The Keras-style sums: L_RC and L_H times the N sites, L_KL unchanged (Adam then trains as per spin at beta/N)."""
    H = Hamiltonian(J=1.0, D=0.3, B=0.05)
    x, out = unit(3, 3, 8, 8, seed=2), unit(3, 3, 8, 8, seed=4)
    mu, logvar = torch.randn(3, 5), torch.randn(3, 5)
    a = vae_losses(x, out, mu, logvar, H)
    b = vae_losses(x, out, mu, logvar, H, normalisation="sum")
    assert b["rc"].item() == pytest.approx(64 * a["rc"].item(), rel=1e-6)
    assert b["h"].item() == pytest.approx(64 * a["h"].item(), rel=1e-6)
    assert b["kl"].item() == a["kl"].item()
    assert b["rc"].item() == pytest.approx(((out - x) ** 2).sum(dim=(1, 2, 3)).mean().item(), rel=1e-6)
    with pytest.raises(ValueError, match="normalisation must be one of"):
        vae_losses(x, out, mu, logvar, H, normalisation="mean")


def test_gradient_reaches_every_parameter(model32):
    model32.zero_grad()
    x = unit(4, 3, 32, 32, seed=5)
    out, mu, logvar = model32(x)
    loss = total_loss(vae_losses(x, out, mu, logvar, Hamiltonian()), 1e-3, 1.0)
    loss.backward()
    missing = [n for n, p in model32.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not missing, f"no gradient for {missing}"
    model32.zero_grad()


def test_hamiltonian_loss_gradient_is_minus_field_over_n():
    H = Hamiltonian(J=1.0, D=0.3, B=0.05)
    x = unit(2, 3, 8, 8, seed=7).double().requires_grad_(True)
    hamiltonian_loss(x, H).sum().backward()
    assert torch.allclose(x.grad, -H.field(x.detach()) / 64, atol=1e-12)
