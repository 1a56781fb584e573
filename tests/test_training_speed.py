"""Training at GPU speed without changing CPU results; datasets that stream (issue 14, items 2 and 3).

* CPU float32 training is bit-identical to the loop before the speed options existed: ``previous_loop`` below
  is that loop (commit 70596af's ``_fit``, before bf16, channels-last, compile and streaming were added), written
  out without its checkpoints and progress bar, and both run here on one torch thread.  Same-run comparison:
  float32 kernels differ between CPUs (AVX2 or AVX-512), so a digest recorded on one machine cannot be a
  reference on another;
* a dataset split read in blocks from its HDF5 file (``SplitStates``) trains exactly as the same states in
  memory when both get the same batches (``shuffle_block``);
* bf16 autocast and channels-last run on the CPU (a smoke test of the CUDA path's logic), a failing
  ``torch.compile`` falls back to eager with the eager result, bad options and unavailable devices fail clearly;
* ``train_schedule`` streams a split that does not fit the device, and refuses an update larger than the device's
  memory before it starts.
"""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pytest
import torch

from mag_ml import AnnealSchedule, Hamiltonian, topological_charge
from mag_ml.checks import TooLargeError, resolve_device
from mag_ml.data import SplitStates, load_states
from mag_ml.data.storage import create_dataset_file, dataset_params, write_state
from mag_ml.chapters.evae import SeriesResult, open_boundary_run, train_evae_series
from mag_ml.models import SpinVAE, energy_losses
from mag_ml import training
from mag_ml.training import (CHECKPOINT, Step, _EVAL_EPOCH, _epoch_order, _vae_loss, derived_seed, evaluate, fit,
                              series_key, train_schedule)

from .conftest import random_unit

torch.set_num_threads(1)

H = Hamiltonian(J=1.0, D=0.3, B=0.05)
STEPS = [Step(1e-3, 0.0, 2), Step(1e-3, 1.0, 2)]


def previous_loop(model, tensors, loss, *, epochs, batch_size, lr, seed, name, step, after_epoch=None):
    """The training loop of commit 70596af on the CPU: Adam, a seeded permutation per epoch, no speed options.

    Returns the per-epoch means of every loss term (``{"total": [...], ...}``), as that loop recorded them;
    ``after_epoch(model)`` runs after each epoch in eval mode.
    """
    opt = torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    n, sums_per_epoch = len(tensors[0]), {}
    for epoch in range(epochs):
        s = derived_seed(seed, series_key(name), step, epoch)
        torch.manual_seed(s)
        order = torch.randperm(n, generator=torch.Generator().manual_seed(s))
        if n % batch_size == 1:
            order = order[:-1]
        model.train()
        sums = {}
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            value = loss(model, *(t[idx] for t in tensors))
            terms = value if isinstance(value, dict) else {"total": value}
            opt.zero_grad(set_to_none=True)
            terms["total"].backward()
            opt.step()
            for t, v in terms.items():
                sums[t] = sums.get(t, 0.0) + v.item() * len(idx)
        for t, v in sums.items():
            sums_per_epoch.setdefault(t, []).append(v / len(order))
        model.eval()
        if after_epoch is not None:
            after_epoch(model)
    return sums_per_epoch


def states(n, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, 16, 16, generator=g)
    return x / x.norm(dim=1, keepdim=True)


def weights_digest(model):
    h = hashlib.sha256()
    for k, v in model.state_dict().items():
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def history_digest(history):
    core = [{k: v for k, v in e.items() if not k.endswith("_energy")} for e in history]
    return hashlib.sha256(json.dumps(core, sort_keys=True).encode()).hexdigest()


def vae():
    torch.manual_seed(0)
    return SpinVAE(16, latent_dim=8, hidden=32)


def test_cpu_float32_schedule_is_bit_identical_to_the_previous_loop_and_on_resume(tmp_path):
    model = vae()
    history = train_schedule(model, STEPS, states(20, 0), states(6, 1), H, tmp_path / "a", seed=3, batch_size=8,
                             checkpoint_every=1, progress=False)
    reference, train, validation = vae(), states(20, 0), states(6, 1)
    for k, step in enumerate(STEPS):
        terms = previous_loop(reference, (train,), _vae_loss(H, step.beta, step.gamma, "per_spin"),
                              epochs=step.epochs, batch_size=8, lr=1e-3, seed=3, name="series", step=k)
        gen = torch.Generator().manual_seed(derived_seed(3, series_key("series"), k, _EVAL_EPOCH))
        expected = {split: evaluate(reference, x, H, beta=step.beta, gamma=step.gamma, batch_size=8, generator=gen)
                    for split, x in (("train", train), ("validation", validation))}
        assert history[k]["epoch_train"] == {t: terms[t] for t in history[k]["epoch_train"]}
        assert {split: history[k][split] for split in expected} == expected
    assert weights_digest(model) == weights_digest(reference)
    assert all(math.isfinite(v) for v in history[-1]["epoch_train"]["total"])
    # the energy lines are energy_losses' float64 means of the states (the float32 twin they replaced differed
    # from them by rounding only)
    assert history[0]["train_energy"] == float(energy_losses(states(20, 0), H).mean())
    assert abs(history[0]["train_energy"] - 1.9969104766845702) < 1e-6

    class Stop(Exception):
        pass

    def stop(event, k, epoch, hist):
        if (event, k, epoch) == ("epoch", 1, 0):
            raise Stop

    with pytest.raises(Stop):
        train_schedule(vae(), STEPS, states(20, 0), states(6, 1), H, tmp_path / "b", seed=3, batch_size=8,
                       checkpoint_every=1, progress=False, callback=stop)
    resumed = vae()
    history_b = train_schedule(resumed, STEPS, states(20, 0), states(6, 1), H, tmp_path / "b", seed=3, batch_size=8,
                               checkpoint_every=1, progress=False)
    assert weights_digest(resumed) == weights_digest(model) and history_b == history


def test_cpu_float32_fit_is_bit_identical_to_the_previous_loop():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3))
    y = x @ np.array([[1.0], [-2.0], [0.5]]) + 0.3
    validation = [torch.as_tensor(a[:16]).float() for a in (x, y)]

    def net():
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Dropout(0.1), torch.nn.Linear(8, 1))

    model = net()
    result = fit(model, (x, y), validation=(x[:16], y[:16]), epochs=5, batch_size=16, progress=False)
    reference, expected_validation = net(), []

    def mse(m, a, b):
        return torch.nn.functional.mse_loss(m(a), b)

    def validate(m):  # the previous loop's validation loss: one batch of 16 here
        with torch.no_grad():
            expected_validation.append(mse(m, *validation).item())

    terms = previous_loop(reference, [torch.as_tensor(a).float() for a in (x, y)], mse, epochs=5, batch_size=16,
                          lr=1e-3, seed=0, name="fit", step=0, after_epoch=validate)
    assert weights_digest(model) == weights_digest(reference)
    assert result.history["train"] == terms["total"]
    assert result.history["validation"] == expected_validation
    assert result.history["train"][-1] < result.history["train"][0]


def write_dataset(path, n, shape, splits, seed=0):
    """A dataset file of random unit states (their energies and charges stored as a generation stores them)."""
    params = dataset_params(hamiltonian=H, shape=shape, n_states=n, splits=splits, seed=seed,
                            schedule=AnnealSchedule(T_start=1.0, T_end=0.1, n_steps=1, sweeps_per_step=1))
    rng = np.random.default_rng(seed)
    with create_dataset_file(path, params) as f:
        for i in range(n):
            s = random_unit(rng, shape)
            write_state(f, i, s, energy=H.energy(s), topological_charge=topological_charge(s))
    return path


@pytest.fixture(scope="module")
def small_file(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("stream") / "small.h5", 27, (16, 16), (21, 4, 2))


def test_split_states_reads_what_load_states_reads(small_file):
    whole = load_states(small_file, "train")
    split = SplitStates(small_file, "train")
    assert len(split) == 21 and split.shape == whole.shape and split.nbytes == whole.nbytes
    np.testing.assert_array_equal(split[:], whole)
    np.testing.assert_array_equal(split[3:11], whole[3:11])
    np.testing.assert_array_equal(split[::5], whole[::5])
    np.testing.assert_array_equal(split[-1], whole[-1])
    np.testing.assert_array_equal(split[[7, 2, 7]], whole[[7, 2, 7]])
    mask = np.arange(21) % 3 == 0
    np.testing.assert_array_equal(split[mask], whole[mask])
    np.testing.assert_array_equal(np.asarray(split), whole)
    with pytest.raises(IndexError, match="21 states"):
        split[21]
    with pytest.raises(IndexError, match="boolean mask"):
        split[np.ones(3, dtype=bool)]


def test_block_order_is_a_permutation_in_blocks():
    order = _epoch_order(23, 5, torch.Generator().manual_seed(1))
    assert sorted(order.tolist()) == list(range(23))
    blocks = (order // 5).tolist()
    runs = [b for k, b in enumerate(blocks) if k == 0 or b != blocks[k - 1]]
    assert len(runs) == 5 and sorted(runs) == list(range(5))  # each block once, contiguous
    assert torch.equal(_epoch_order(23, None, torch.Generator().manual_seed(1)),
                       torch.randperm(23, generator=torch.Generator().manual_seed(1)))


@pytest.mark.parametrize("block", [8, 5])  # a multiple of the batch (8) and one that splits batches over blocks
def test_streamed_split_trains_exactly_like_the_same_batches_in_memory(small_file, block):
    def loss(model, x):
        out, mu, logvar = model(x)
        return ((out - x) ** 2).mean() + 1e-3 * (mu ** 2).mean()

    runs = []
    for data in (SplitStates(small_file, "train"), load_states(small_file, "train")):
        model = vae()
        result = fit(model, (data,), validation=(SplitStates(small_file, "validation"),), loss=loss, epochs=3,
                     batch_size=8, shuffle_block=block, progress=False, seed=2)
        runs.append((weights_digest(model), result.history))
    assert runs[0] == runs[1]
    # the block order is another order than the default permutation: the comparison above can fail
    model = vae()
    other = fit(model, (load_states(small_file, "train"),), loss=loss, epochs=3, batch_size=8, progress=False, seed=2)
    assert other.history["train"] != runs[0][1]["train"]


def test_train_schedule_streams_a_split_too_large_for_the_device(small_file, tmp_path, monkeypatch):
    seen = []
    real = training._fit

    def spy(model, train, *args, **kw):
        seen.append(type(train[0]).__name__)
        return real(model, train, *args, **kw)

    monkeypatch.setattr(training, "_fit", spy)
    monkeypatch.setattr(training, "RESIDENT_SHARE", 0.0)  # nothing fits: stream
    model = vae()
    history = train_schedule(model, STEPS, SplitStates(small_file, "train"), SplitStates(small_file, "validation"), H,
                             tmp_path / "s", seed=3, batch_size=8, progress=False)
    assert seen == ["SplitStates"] * len(STEPS)
    assert np.isfinite([h["train"]["total"] for h in history]).all()
    assert history[0]["train_energy"] == float(energy_losses(load_states(small_file, "train"), H).mean())
    monkeypatch.setattr(training, "RESIDENT_SHARE", 0.5)
    seen.clear()
    train_schedule(vae(), STEPS, SplitStates(small_file, "train"), SplitStates(small_file, "validation"), H,
                   tmp_path / "r", seed=3, batch_size=8, progress=False)
    assert seen == ["Tensor"] * len(STEPS)


def test_an_update_larger_than_the_device_fails_before_training(tmp_path, monkeypatch):
    monkeypatch.setattr(training, "device_memory", lambda device: 10_000)
    with pytest.raises(TooLargeError, match=r"train_schedule\('series'\) on cpu needs about .*estimate: about"):
        train_schedule(vae(), STEPS, states(20, 0), states(6, 1), H, tmp_path, seed=3, batch_size=8, progress=False)
    assert not (tmp_path / CHECKPOINT).exists()


def test_bf16_autocast_and_channels_last_train_on_the_cpu():
    x = states(16, 0)

    def loss(model, xb):
        out, mu, logvar = model(xb)
        assert out.dtype == torch.float32  # the network ran in bf16, the loss sees float32
        return ((out - xb) ** 2).mean()

    base = fit(vae(), (x,), loss=loss, epochs=4, batch_size=8, lr=3e-3, progress=False)
    model = vae()
    fast = fit(model, (x,), loss=loss, epochs=4, batch_size=8, lr=3e-3, progress=False, precision="bf16",
               channels_last=True)
    assert model.encoder[0].weight.is_contiguous(memory_format=torch.channels_last)
    assert np.isfinite(fast.history["train"]).all() and fast.history["train"][-1] < fast.history["train"][0]
    assert fast.history["train"] != base.history["train"]  # bf16 did take effect
    np.testing.assert_allclose(fast.history["train"], base.history["train"], rtol=0.05)


def test_a_failing_compile_falls_back_to_the_eager_result(monkeypatch):
    x = states(16, 0)

    def loss(model, xb):
        return ((model(xb)[0] - xb) ** 2).mean()

    eager = vae()
    fit(eager, (x,), loss=loss, epochs=2, batch_size=8, progress=False)

    def broken(model):
        def call(*args, **kw):
            raise RuntimeError("no compiler here")
        return call

    monkeypatch.setattr(torch, "compile", broken)
    model = vae()
    with pytest.warns(RuntimeWarning, match="torch.compile of SpinVAE failed.*no compiler here"):
        fit(model, (x,), loss=loss, epochs=2, batch_size=8, progress=False, compile=True)
    assert weights_digest(model) == weights_digest(eager)

    class Compiled:  # like torch's OptimizedModule: calls through, but has no truth value (len raises)
        def __init__(self, module):
            self.module = module

        def __len__(self):
            raise TypeError("does not support len()")

        def __call__(self, *args, **kw):
            return self.module(*args, **kw)

    monkeypatch.setattr(torch, "compile", Compiled)
    model = vae()
    fit(model, (x,), loss=loss, epochs=2, batch_size=8, progress=False, compile=True)
    assert weights_digest(model) == weights_digest(eager)


def test_bad_speed_options_and_unavailable_devices(tmp_path):
    x = (states(8, 0),)
    with pytest.raises(ValueError, match="precision must be one of"):
        fit(vae(), x, loss=lambda m, b: m(b)[0].mean(), epochs=1, batch_size=4, progress=False, precision="fp8")
    with pytest.raises(ValueError, match="compile must be True, False or 'auto'"):
        fit(vae(), x, loss=lambda m, b: m(b)[0].mean(), epochs=1, batch_size=4, progress=False, compile="yes")
    with pytest.raises(ValueError, match="shuffle_block"):
        fit(vae(), x, loss=lambda m, b: m(b)[0].mean(), epochs=1, batch_size=4, progress=False, shuffle_block=0)
    if torch.cuda.is_available():
        pytest.skip("the no-GPU errors need a machine without CUDA")
    for call in (lambda: resolve_device("cuda"),
                 lambda: fit(vae(), x, epochs=1, batch_size=4, progress=False, device="cuda"),
                 lambda: train_schedule(vae(), STEPS, states(8, 0), states(4, 1), H, tmp_path, device="cuda",
                                        progress=False),
                 lambda: energy_losses(states(4, 0), H, device="cuda"),
                 lambda: SeriesResult("s", tmp_path, STEPS, [], vae().config()).model(0, device="cuda"),
                 lambda: train_evae_series("quick", device="cuda", root=tmp_path, progress=False),
                 lambda: open_boundary_run("quick", 16, device="cuda", root=tmp_path, progress=False)):
        with pytest.raises(ValueError, match="device='cuda' was asked for, but this machine has no CUDA device"):
            call()
    assert not any(tmp_path.rglob("*.h5"))  # refused before any dataset was generated
