"""Dataset generation on the torch backend: the same distribution of annealed states as numba's."""

import warnings

import numpy as np
import pytest
import torch
from scipy.stats import ks_2samp

from mag_ml import AnnealSchedule, Hamiltonian
from mag_ml.data import generate_dataset, load_observables
from mag_ml.data import generation
from mag_ml.data.generation import anneal_samples, monte_carlo_backend

H = Hamiltonian(J=1.0, D=0.3, B=0.05)
SHAPE = (12, 12)
SCHEDULE = AnnealSchedule(T_start=1.0, T_end=0.05, n_steps=8, sweeps_per_step=40)
N, RELAX_TOL = 120, 1e-6
KW = dict(hamiltonian=H, shape=SHAPE, schedule=SCHEDULE, n_states=N, relax_tol=RELAX_TOL, progress=False)


def test_torch_and_numba_datasets_are_draws_of_one_distribution(tmp_path):
    """Two-sample Kolmogorov-Smirnov tests on energies and charges (fixed seeds: deterministic)."""
    numba_file = generate_dataset(tmp_path / "numba.h5", seed=1, device="numba", executor="serial", **KW)
    torch_file = generate_dataset(tmp_path / "torch.h5", seed=2, device="torch-cpu", chunk=N, **KW)
    a, b = load_observables(numba_file), load_observables(torch_file)
    assert not np.array_equal(a["energy"], b["energy"])  # different draws
    for name in ("energy", "topological_charge"):
        assert ks_2samp(a[name], b[name]).pvalue > 0.01, name
    # the test has power: states of a field 1.6 times as strong are told apart
    stronger = Hamiltonian(J=1.0, D=0.3, B=0.08)
    e_stronger = [item[2] for item in anneal_samples(stronger, SHAPE, SCHEDULE, 3, RELAX_TOL, range(N))]
    assert ks_2samp(a["energy"], e_stronger).pvalue < 0.01


def test_device_values():
    assert monte_carlo_backend("cpu") == monte_carlo_backend("numba") == ("numba", None)
    assert monte_carlo_backend("torch-cpu") == ("torch", "cpu")
    assert monte_carlo_backend("auto") == (("torch", "cuda:0") if torch.cuda.is_available() else ("numba", None))
    with pytest.raises(ValueError, match="device must be one of"):
        monte_carlo_backend("gpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device='cuda'.*no CUDA device"):
            generate_dataset("unused.h5", seed=0, device="cuda", **KW)


def test_estimate_is_the_update_count_over_the_rate():
    schedule = AnnealSchedule(T_start=1.0, T_end=0.01, n_steps=50, sweeps_per_step=200)
    est = generation.estimate_generation(hamiltonian=H, shape=(128, 128), schedule=schedule, n_states=39_300,
                                         device="cpu", workers=2, rate=5e7)
    updates = 39_300 * 128 * 128 * 10_000 * (1 + generation.RELAX_FRACTION)
    assert est.seconds == pytest.approx(updates / 1e8) and est.backend == "numba" and est.workers == 2
    assert est.file_bytes == 39_300 * 3 * 128 * 128 * 4
    assert "h with numba on 2 CPU worker(s)" in str(est)
    with pytest.raises(ValueError, match="rate must be"):
        generation.estimate_generation(hamiltonian=H, shape=(8, 8), schedule=schedule, n_states=1, rate=-1.0)


def test_paper_size_run_on_a_cpu_warns_before_it_starts(tmp_path, monkeypatch):
    """The estimate comes first (rate measured, then the warning); small runs measure nothing and do not warn."""
    started = []
    monkeypatch.setattr(generation, "measure_update_rate", lambda *a, **k: 5e7)
    monkeypatch.setattr(generation, "_generate", lambda *a, **k: started.append(True))
    paper = dict(hamiltonian=H, shape=(128, 128), n_states=39_300, splits=(30_000, 5_000, 4_300), seed=0,
                 schedule=AnnealSchedule(T_start=1.0, T_end=0.01, n_steps=50, sweeps_per_step=200))
    with pytest.warns(generation.LongRunWarning, match=r"estimated to take about .* h .*wants a GPU"):
        generate_dataset(tmp_path / "paper.h5", device="cpu", progress=False, **paper)
    assert started == [True]
    monkeypatch.setattr(generation, "measure_update_rate", lambda *a, **k: pytest.fail("measured a small run"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        generate_dataset(tmp_path / "small.h5", seed=0, device="cpu", **KW)
