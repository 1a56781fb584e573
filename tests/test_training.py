"""The sequential training loop: schedules, exact resume after an interruption, NaN detection."""

import json

import numpy as np

import pytest
import torch

from mag_ml import Hamiltonian
from mag_ml.checks import resolve_device
from mag_ml.models import SpinVAE
from mag_ml.training import (_EVAL_EPOCH, CHECKPOINT, HISTORY, Step, TrainingDivergedError,
                             derived_seed as _seed, evaluate, series_key, tenfold,
                             train_schedule)
from mag_ml.chapters.evae import EVAE_TRAINING, evae_training_spec

H = Hamiltonian(J=1.0, D=0.3, B=0.05)
STEPS = [Step(1e-3, 0.0, 2), Step(1e-3, 1.0, 2)]


class Interrupt(Exception):
    pass


def states(n, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, 16, 16, generator=g)
    return x / x.norm(dim=1, keepdim=True)


@pytest.fixture(scope="module")
def data():
    return states(20, 0), states(6, 1)


def fresh_model():
    torch.manual_seed(0)
    return SpinVAE(16, latent_dim=8, hidden=32)


def run(directory, data, **kw):
    model = fresh_model()
    kw = dict(dict(seed=3, batch_size=8, checkpoint_every=1, progress=False), **kw)
    history = train_schedule(model, STEPS, *data, H, directory, **kw)
    return model, history


def test_tenfold_and_steps():
    assert tenfold(1e-6, 1) == [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0]
    assert tenfold(1e-4, 1e6)[-1] == 1e6 and len(tenfold(1e-4, 1e6)) == 11
    with pytest.raises(ValueError):
        tenfold(0, 1)
    with pytest.raises(ValueError, match="beta"):
        Step(-1.0, 0.0, 1)
    with pytest.raises(ValueError, match="epochs"):
        Step(1.0, 0.0, 0)
    with pytest.raises(ValueError, match="gamma"):
        Step(1.0, float("nan"), 1)


def test_profiles_schedules():
    paper = evae_training_spec("paper")
    assert paper["betas"] == tenfold(1e-6, 1.0)
    # the tenfold steps and the paper's values around its collapse (Kwon et al. 2021, Fig. 5B), in order
    assert paper["gammas"] == sorted(set(tenfold(1e-4, 1e6)) | {500.0, 1000.0, 1500.0, 2000.0, 5000.0})
    assert all(g in evae_training_spec("quick")["gammas"] for g in (500.0, 1000.0, 1500.0, 2000.0, 5000.0))
    assert paper["epochs"] == 100 and paper["batch_size"] == 100 and paper["lr"] == 1e-3
    assert set(paper["from_betas"]) == {1e-3, 1e-4}
    for spec in EVAE_TRAINING.values():
        assert all(b in spec["betas"] for b in spec["from_betas"])
        assert spec["normalisation"] == "per_spin" and spec["controls"] is True
    with pytest.raises(ValueError, match="profile"):
        evae_training_spec("huge")


def test_device_auto():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize("stop_at", [("step", 0), ("epoch", 1)])
def test_interrupted_run_resumes_to_the_same_history(tmp_path, data, stop_at):
    """Interrupt after step 0, or within step 1 after its first epoch, then resume: same history and
    weights, bit for bit, as an uninterrupted run."""
    ref_model, ref_history = run(tmp_path / "ref", data)
    assert len(ref_history) == 2 and (tmp_path / "ref" / HISTORY).exists()

    def interrupt(event, step, epoch, history):
        if (event, step) == stop_at and (event == "step" or epoch == 0):
            raise Interrupt

    with pytest.raises(Interrupt):
        run(tmp_path / "cut", data, callback=interrupt)
    assert (tmp_path / "cut" / CHECKPOINT).exists() and not (tmp_path / "cut" / HISTORY).exists()
    ckpt = torch.load(tmp_path / "cut" / CHECKPOINT, weights_only=False)
    position = (ckpt["settings"]["step"], len(ckpt["history"]["train"]))
    assert position == ((1, 0) if stop_at[0] == "step" else (1, 1))

    model, history = run(tmp_path / "cut", data)
    assert history == ref_history
    for (name, a), b in zip(ref_model.state_dict().items(), model.state_dict().values()):
        assert torch.equal(a, b), name
    for k in range(2):
        a = torch.load(tmp_path / "ref" / f"step_{k:03d}.pt")
        b = torch.load(tmp_path / "cut" / f"step_{k:03d}.pt")
        assert all(torch.equal(a[n], b[n]) for n in a)


def test_history_contents_and_reload(tmp_path, data):
    model, history = run(tmp_path, data)
    for k, entry in enumerate(history):
        assert (entry["step"], entry["beta"], entry["gamma"], entry["epochs"]) == (k, STEPS[k].beta,
                                                                                  STEPS[k].gamma, 2)
        for split in ("train", "validation"):
            terms = entry[split]
            assert set(terms) == {"rc", "kl", "h", "total"}
            assert terms["total"] == pytest.approx(terms["rc"] + entry["beta"] * terms["kl"]
                                                   + (entry["gamma"] * terms["h"] if entry["gamma"] else 0))
        assert all(len(v) == 2 for v in entry["epoch_train"].values())
    # the mean energy of the inputs, L_H of the training states
    x = data[0]
    e = ((H.energy(x.double()) + 2 * 256) / 256).mean().item()
    assert history[0]["train_energy"] == pytest.approx(e, rel=1e-5)
    # finished: a second call only loads (no callback, same history, final weights)
    calls = []
    model2, again = run(tmp_path, data, callback=lambda *a: calls.append(a))
    assert again == json.loads(json.dumps(history)) and not calls
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), model2.state_dict().values()))
    # the step files hold the evaluated models
    m = fresh_model()
    m.load_state_dict(torch.load(tmp_path / "step_001.pt"))
    gen = torch.Generator().manual_seed(_seed(3, series_key("series"), 1, _EVAL_EPOCH))
    evaluate(m, data[0], H, beta=1e-3, gamma=1.0, generator=gen)  # train first, as train_schedule does
    assert evaluate(m, data[1], H, beta=1e-3, gamma=1.0, generator=gen) == history[1]["validation"]


def test_mismatched_checkpoint_raises(tmp_path, data):
    with pytest.raises(Interrupt):
        run(tmp_path, data, callback=lambda e, s, ep, h: (_ for _ in ()).throw(Interrupt()))
    with pytest.raises(ValueError, match="other parameters"):
        run(tmp_path, data, seed=4)


def test_nan_loss_names_step_and_epoch(tmp_path, data):
    model = fresh_model()
    steps = [Step(1e-3, 0.0, 1), Step(1e-3, 1.0, 2)]

    def poison(event, step, epoch, history):
        if event == "step" and step == 0:
            with torch.no_grad():
                model.decoder_conv[-1].weight.fill_(float("nan"))

    with pytest.raises(TrainingDivergedError, match=r"step 1 \(beta=0.001, gamma=1\), epoch 0"):
        train_schedule(model, steps, *data, H, tmp_path, batch_size=8, progress=False, callback=poison)
    # the checkpoint still holds the state after step 0
    ckpt = torch.load(tmp_path / CHECKPOINT, weights_only=False)
    assert (ckpt["settings"]["step"], len(ckpt["history"]["train"])) == (1, 0)
    assert all(torch.isfinite(v).all() for v in ckpt["model"].values() if v.is_floating_point())


def test_bad_arguments(tmp_path, data):
    with pytest.raises(ValueError, match="batch_size"):
        train_schedule(fresh_model(), STEPS, *data, H, tmp_path, batch_size=1, progress=False)
    with pytest.raises(ValueError, match="steps"):
        train_schedule(fresh_model(), [], *data, H, tmp_path, progress=False)


def test_loss_figure_and_regions(tmp_path, data):
    import matplotlib.pyplot as plt

    from mag_ml.plotting import plot_series_losses
    from mag_ml.chapters.evae import SeriesResult, loss_regions

    _, history = run(tmp_path, data)
    s = SeriesResult("series", tmp_path, STEPS, history, fresh_model().config())
    assert s.values("gamma").tolist() == [0.0, 1.0] and s.loss("train", "rc").shape == (2,)
    fig = plot_series_losses(s, "beta", regions=[(1e-4, 1e-2, "a region")])
    assert len(fig.axes) == 3 and [ax.get_title() for ax in fig.axes] == [r"$L_\mathrm{RC}$", r"$L_\mathrm{KL}$",
                                                                            r"$L_\mathrm{H}$"]
    plt.close(fig)
    with pytest.raises(ValueError, match="parameter"):
        plot_series_losses(s, "delta")
    with pytest.raises(ValueError, match="positive"):
        loss_regions(s, "gamma")  # gamma = 0 has no place on a log axis
    assert s.model(1).training is False
    with pytest.raises(KeyError, match="no step"):
        s.index(gamma=5.0)


def test_estimate_schedule_times_a_copy_and_warns_on_long_cpu_runs(monkeypatch):
    """The estimate trains a copy (the model's weights are untouched), scales one update by the number of
    updates of the schedule, counts the data on the device, and warns when a CPU run would be long."""
    import mag_ml.training as training

    model = fresh_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = np.asarray(states(8, 0))
    est = training.estimate_schedule(model, torch.as_tensor(x), [Step(1e-3, 1.0, 3), Step(1e-3, 10.0, 2)],
                                     batch_size=4, hamiltonian=Hamiltonian())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert est.seconds > 0 and est.data_bytes == x.nbytes and est.device == "cpu"
    assert "of training on cpu" in str(est)
    monkeypatch.setattr(training, "CPU_WARNING_SECONDS", 0.0)
    with pytest.warns(RuntimeWarning, match="meant for a GPU"):
        training.estimate_schedule(model, torch.as_tensor(x), [Step(1e-3, 0.0, 1)], batch_size=4,
                                   hamiltonian=Hamiltonian())
