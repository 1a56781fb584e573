r"""Sequential training of the (E-)VAE: schedules, checkpoints, resumable series.

Kwon et al. (Adv. Sci. 2021) train one network in *steps*: each step fixes the
loss weights ``beta`` (KL) and ``gamma`` (Hamiltonian) of

.. math::

    L = L_\mathrm{RC} + \beta L_\mathrm{KL} + \gamma L_\mathrm{H}

and trains for a number of epochs starting from the weights the previous
step ended with.  The standard VAE raises ``beta`` tenfold per step from
1e-6 to 1; the E-VAE starts from the ``beta = 1e-3`` and ``beta = 1e-4``
models and raises ``gamma`` tenfold per step from 1e-4 to 1e6 with ``beta``
fixed.  This module has

* :func:`train_schedule`: the one training loop of the book.  It trains a
  list of :class:`Step`, checkpoints atomically after every step and every
  ``checkpoint_every`` epochs, resumes an interrupted run where it stopped
  (with exactly the same history and weights on the CPU), shows progress
  bars and stops with :class:`TrainingDivergedError` on a NaN or infinite
  loss;
* :func:`train_evae_series` / :func:`load_series`: the series of the E-VAE
  chapter for a profile, as artifacts under ``data/<profile>/`` that later
  chapters reuse (:class:`EVAESeries`);
* the loss curves of Fig. 2 are drawn by :func:`mag_ml.plotting.plot_series_losses`.

Reproducibility: at the start of every epoch the global torch generator and
the shuffling generator are seeded from ``(seed, series, step, epoch)``, and
the end-of-step evaluation uses its own generator seeded the same way, so
an epoch's randomness (batch order, reparameterisation noise) depends only
on where it is in the schedule, never on what ran before in the process.
Each step starts a fresh Adam optimiser (as re-compiling a Keras model with
new loss weights does); its state is checkpointed within a step.
"""

from __future__ import annotations

import json
import math
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from mag_ml.artifacts import artifact_path, atomic_path, check_profile, load_json, save_json
from mag_ml.checks import check_int
from mag_ml.models.vae import LOSS_TERMS, SpinVAE, hamiltonian_loss, total_loss, vae_losses

__all__ = ["Step", "TrainingDivergedError", "SeriesResult", "EVAESeries", "EVAE_TRAINING", "resolve_device",
           "tenfold", "train_schedule", "evaluate", "train_evae_series", "load_series", "evae_training_spec",
           "series_table", "loss_regions", "fit", "FitResult"]

_EVAL_EPOCH = 2 ** 31 - 1  # spawn-key slot of the end-of-step evaluation


# ----------------------------------------------------------------------------- schedule
@dataclass(frozen=True)
class Step:
    """One step of a sequential schedule: loss weights and the number of epochs.

    Parameters
    ----------
    beta : float
        Weight of ``L_KL`` (>= 0).
    gamma : float
        Weight of ``L_H`` (>= 0; 0 is the standard VAE).
    epochs : int
        Passes over the training set (>= 1).
    """

    beta: float
    gamma: float
    epochs: int

    def __post_init__(self):
        for name in ("beta", "gamma"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
            object.__setattr__(self, name, float(value))
        if not isinstance(self.epochs, (int, np.integer)) or self.epochs < 1:
            raise ValueError(f"epochs must be a positive int, got {self.epochs!r}")
        object.__setattr__(self, "epochs", int(self.epochs))

    def as_dict(self):
        return asdict(self)


def tenfold(start, stop):
    """``start, 10 start, 100 start, ... <= stop`` as floats rounded to 1 significant digit.

    >>> tenfold(1e-3, 1)
    [0.001, 0.01, 0.1, 1.0]
    """
    if not (start > 0 and stop >= start):
        raise ValueError(f"need 0 < start <= stop, got start={start!r}, stop={stop!r}")
    n = int(round(math.log10(stop / start))) + 1
    return [float(f"{start * 10 ** k:.0e}") for k in range(n)]


class TrainingDivergedError(FloatingPointError):
    """A loss became NaN or infinite; the message names the step, epoch and loss terms."""


def resolve_device(device="auto"):
    """``"auto"`` -> CUDA when available, else CPU; any other value -> ``torch.device(device)``."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _seed(seed, series_key, step, epoch):
    """64-bit seed that depends only on (seed, series, step, epoch)."""
    ss = np.random.SeedSequence(int(seed), spawn_key=(int(series_key), int(step), int(epoch)))
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def series_key(name):
    """Stable integer key of a series name (CRC-32), part of every derived seed."""
    return zlib.crc32(str(name).encode("utf-8"))


# ----------------------------------------------------------------------------- evaluation
@torch.no_grad()
def evaluate(model, states, hamiltonian, *, beta, gamma, batch_size=100, generator=None):
    """Mean loss terms of ``model`` (eval mode) over a whole set of states.

    Parameters
    ----------
    model : SpinVAE
    states : torch.Tensor, shape (n, 3, L, L), on the model's device
    hamiltonian : mag_ml.Hamiltonian
    beta, gamma : float
        Weights of the total.
    batch_size : int
    generator : torch.Generator, optional
        Source of the reparameterisation noise (seeded by the caller for
        reproducible numbers).

    Returns
    -------
    dict of str to float
        ``rc``, ``kl``, ``h``, ``total`` (see :func:`mag_ml.models.vae_losses`),
        means over the states.  The model's train/eval mode is restored.
    """
    was_training = model.training
    model.eval()
    sums, n = dict.fromkeys(LOSS_TERMS, 0.0), 0
    try:
        for i in range(0, len(states), batch_size):
            x = states[i:i + batch_size]
            out, mu, logvar = model(x, generator=generator)
            terms = vae_losses(x, out, mu, logvar, hamiltonian)
            terms["total"] = total_loss(terms, beta, gamma)
            for k in LOSS_TERMS:
                sums[k] += float(terms[k]) * len(x)
            n += len(x)
    finally:
        model.train(was_training)
    return {k: v / n for k, v in sums.items()}


@torch.no_grad()
def _mean_energy(states, hamiltonian, batch_size=100):
    """Mean ``L_H`` of the states themselves (the training set's energy line)."""
    total = 0.0
    for i in range(0, len(states), batch_size):
        total += float(hamiltonian_loss(states[i:i + batch_size], hamiltonian).sum())
    return total / len(states)


# ----------------------------------------------------------------------------- checkpoints
CHECKPOINT = "checkpoint.pt"
HISTORY = "history.json"


def _step_file(k):
    return f"step_{k:03d}.pt"


def _save(obj, path):
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def _load_checkpoint(directory, params):
    path = Path(directory) / CHECKPOINT
    if not path.exists():
        return None
    try:
        ckpt = torch.load(path, map_location="cpu")
    except Exception as err:  # noqa: BLE001 - any unreadable file is a corrupted artifact
        raise ValueError(f"checkpoint {path} cannot be read ({type(err).__name__}: {err}); "
                         "delete it to restart the series") from err
    if json.loads(ckpt.get("params", "null")) != params:
        raise ValueError(f"checkpoint {path} was written for other parameters "
                         f"({ckpt.get('params')!r}, expected {json.dumps(params)!r}); delete it to restart")
    return ckpt


def _jsonable(params):
    return json.loads(json.dumps(params, sort_keys=True, default=lambda o: o.as_dict()))


# ----------------------------------------------------------------------------- the loop
def train_schedule(model, steps, train, validation, hamiltonian, directory, *, seed=0, name="series",
                   batch_size=100, lr=1e-3, adam_betas=(0.9, 0.999), device="auto", checkpoint_every=10,
                   params=None, callback=None, progress=True):
    """Train ``model`` through ``steps`` in order, resumably; return the history.

    Each step trains ``step.epochs`` epochs of mini-batch Adam on
    ``L_RC + beta L_KL + gamma L_H`` (:func:`mag_ml.models.vae_losses`),
    starting from the weights the previous step ended with (the first step
    from ``model`` as given), then evaluates the model on the whole training
    and validation sets.

    Files in ``directory`` (each written atomically):

    * ``checkpoint.pt``: model, optimiser and RNG states, the history so far
      and the position (step, epochs done), after every step and every
      ``checkpoint_every`` epochs within a step;
    * ``step_NNN.pt``: the model's ``state_dict`` at the end of step NNN;
    * ``history.json``: the complete history, written last: its presence
      marks the series as finished, and a call then only loads it.

    A call finding a ``checkpoint.pt`` resumes from it; on the CPU the
    resumed run ends with exactly the history and weights of an
    uninterrupted one.

    Parameters
    ----------
    model : SpinVAE
        Initial weights (ignored when resuming); trained in place and left
        with the final weights.
    steps : sequence of Step
    train, validation : array_like or torch.Tensor, shape (n, 3, L, L), float32
        Unit-vector spin states; moved to ``device`` once.
    hamiltonian : mag_ml.Hamiltonian
        Energy of ``L_H``.
    directory : str or os.PathLike
        Where the files above go (created).
    seed : int
        Base of every derived seed (initial shuffles, noise, evaluation).
    name : str
        Series name: part of the derived seeds and of the progress bar.
    batch_size : int, default 100
    lr : float, default 1e-3
    adam_betas : (float, float), default (0.9, 0.999)
    device : "auto", str or torch.device
        ``"auto"``: CUDA if available, else CPU.
    checkpoint_every : int, default 10
        Epochs between checkpoints within a step (0: only at step ends).
    params : dict, optional
        JSON-able description of everything that determines the run (stored
        in the checkpoint and verified on resume).  Default: the steps and
        hyper-parameters given here.
    callback : callable, optional
        ``callback(event, step, epoch, history)`` with ``event`` in
        ``{"epoch", "step"}``, called after the epoch's or step's checkpoint
        is written; an exception raised there stops training (tests use it to
        simulate an interruption).
    progress : bool
        Show a tqdm progress bar over all epochs.

    Returns
    -------
    list of dict
        One entry per step: ``step``, ``beta``, ``gamma``, ``epochs``;
        ``train`` and ``validation``: dicts of the loss terms ``rc``, ``kl``,
        ``h``, ``total`` of the end-of-step model (eval mode, whole set);
        ``train_energy`` and ``validation_energy``: ``L_H`` of the input
        states themselves; ``epoch_train``: per-epoch training means of each
        term (lists, in train mode, averaged over the epoch's batches).

    Raises
    ------
    TrainingDivergedError
        A NaN or infinite loss; the message names step, epoch and batch; the
        last checkpoint is left untouched.
    ValueError
        Bad arguments, or a checkpoint written for other parameters.
    """
    steps = [s if isinstance(s, Step) else Step(**s) for s in steps]
    if not steps:
        raise ValueError("steps must hold at least one Step")
    if not isinstance(batch_size, int) or batch_size < 2:
        raise ValueError(f"batch_size must be an int >= 2 (batch norm), got {batch_size!r}")
    if not isinstance(checkpoint_every, int) or checkpoint_every < 0:
        raise ValueError(f"checkpoint_every must be an int >= 0, got {checkpoint_every!r}")
    directory = Path(directory)
    if params is None:
        params = dict(steps=[s.as_dict() for s in steps], seed=seed, name=name, batch_size=batch_size, lr=lr,
                      adam_betas=list(adam_betas), hamiltonian=hamiltonian.as_dict(), model=model.config())
    params = _jsonable(params)
    history_path = directory / HISTORY
    if history_path.exists():
        done = load_json(history_path)
        if done.get("params") != params:
            raise ValueError(f"{history_path} was written for other parameters; delete {directory} to retrain")
        model.load_state_dict(torch.load(directory / _step_file(len(steps) - 1), map_location="cpu"))
        return done["history"]

    device = resolve_device(device)
    model.to(device)
    train = torch.as_tensor(np.asarray(train) if not torch.is_tensor(train) else train,
                            dtype=torch.float32).to(device)
    validation = torch.as_tensor(np.asarray(validation) if not torch.is_tensor(validation) else validation,
                                 dtype=torch.float32).to(device)
    key = series_key(name)
    n = len(train)
    if n < 2:
        raise ValueError(f"train must hold at least 2 states, got {n}")

    history, start_step, start_epoch, partial, opt_state = [], 0, 0, None, None
    ckpt = _load_checkpoint(directory, params)
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        history, start_step, start_epoch = ckpt["history"], ckpt["step"], ckpt["epoch"]
        partial, opt_state = ckpt.get("partial"), ckpt.get("optimizer")
        torch.set_rng_state(ckpt["rng"])
    energies = dict(train_energy=_mean_energy(train, hamiltonian), validation_energy=_mean_energy(validation,
                                                                                                  hamiltonian))

    def checkpoint(step, epoch, optimizer, partial):
        _save(dict(params=json.dumps(params, sort_keys=True), step=step, epoch=epoch, model=model.state_dict(),
                   optimizer=None if optimizer is None else optimizer.state_dict(), partial=partial,
                   history=history, rng=torch.get_rng_state()), directory / CHECKPOINT)

    bar = None
    if progress:
        done_epochs = sum(s.epochs for s in steps[:start_step]) + start_epoch
        bar = tqdm(total=sum(s.epochs for s in steps), initial=done_epochs, desc=name, unit="epoch")
    try:
        for k in range(start_step, len(steps)):
            step = steps[k]
            optimizer = torch.optim.Adam(model.parameters(), lr=lr, betas=tuple(adam_betas))
            first = start_epoch if k == start_step else 0
            if k == start_step and opt_state is not None and first > 0:
                optimizer.load_state_dict(opt_state)
            epoch_train = partial if (k == start_step and partial is not None and first > 0) else \
                {t: [] for t in LOSS_TERMS}
            if bar is not None:
                bar.set_description(f"{name}: beta={step.beta:g}, gamma={step.gamma:g}")
            model.train()
            for epoch in range(first, step.epochs):
                s = _seed(seed, key, k, epoch)
                torch.manual_seed(s)
                gen = torch.Generator().manual_seed(s)
                order = torch.randperm(n, generator=gen).to(device)
                if n % batch_size == 1:  # a batch of one breaks batch norm: drop that state this epoch
                    order = order[:-1]
                sums = dict.fromkeys(LOSS_TERMS, 0.0)
                for b, i in enumerate(range(0, len(order), batch_size)):
                    x = train[order[i:i + batch_size]]
                    out, mu, logvar = model(x)
                    terms = vae_losses(x, out, mu, logvar, hamiltonian)
                    loss = total_loss(terms, step.beta, step.gamma)
                    values = {t: terms[t].item() for t in ("rc", "kl", "h")}
                    values["total"] = loss.item()
                    if not all(math.isfinite(v) for v in values.values()):
                        raise TrainingDivergedError(
                            f"{name}: non-finite loss in step {k} (beta={step.beta:g}, gamma={step.gamma:g}), "
                            f"epoch {epoch}, batch {b}: "
                            + ", ".join(f"L_{t.upper()}={v}" for t, v in values.items())
                            + f"; the last checkpoint in {directory} is unchanged")
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    for t in LOSS_TERMS:
                        sums[t] += values[t] * len(x)
                for t in LOSS_TERMS:
                    epoch_train[t].append(sums[t] / len(order))
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(rc=f"{epoch_train['rc'][-1]:.3g}", kl=f"{epoch_train['kl'][-1]:.3g}",
                                    h=f"{epoch_train['h'][-1]:.4g}")
                last = epoch + 1 == step.epochs
                if not last and checkpoint_every and (epoch + 1) % checkpoint_every == 0:
                    checkpoint(k, epoch + 1, optimizer, epoch_train)
                if callback is not None and not last:
                    callback("epoch", k, epoch, history)

            gen = torch.Generator(device=device).manual_seed(_seed(seed, key, k, _EVAL_EPOCH))
            entry = dict(step=k, beta=step.beta, gamma=step.gamma, epochs=step.epochs,
                         train=evaluate(model, train, hamiltonian, beta=step.beta, gamma=step.gamma,
                                        batch_size=batch_size, generator=gen),
                         validation=evaluate(model, validation, hamiltonian, beta=step.beta, gamma=step.gamma,
                                             batch_size=batch_size, generator=gen),
                         **energies, epoch_train=epoch_train)
            for split in ("train", "validation"):
                bad = {t: v for t, v in entry[split].items() if not math.isfinite(v)}
                if bad:
                    raise TrainingDivergedError(f"{name}: non-finite {split} loss after step {k} "
                                                f"(beta={step.beta:g}, gamma={step.gamma:g}), epoch "
                                                f"{step.epochs - 1}: {bad}")
            history.append(entry)
            _save(model.state_dict(), directory / _step_file(k))
            checkpoint(k + 1, 0, None, None)
            if callback is not None:
                callback("step", k, step.epochs - 1, history)
    finally:
        if bar is not None:
            bar.close()
    with atomic_path(history_path) as tmp:
        save_json(dict(params=params, history=history), tmp)
    return history


# ----------------------------------------------------------------------------- supervised fitting
FIT_CHECKPOINT = "fit.pt"


@dataclass
class FitResult:
    """What :func:`fit` returns.

    Attributes
    ----------
    model : torch.nn.Module
        The trained model (the one passed in), in eval mode, on the training device.
    history : dict of str to list of float
        Per-epoch mean losses: ``"train"`` (mean over the epoch's batches,
        weighted by batch size) and ``"validation"`` (whole set after the
        epoch; empty without validation data).
    directory : pathlib.Path or None
        Where the checkpoint lies.
    """

    model: torch.nn.Module
    history: dict
    directory: Path | None = None


def _as_tensors(data, name):
    if isinstance(data, (torch.Tensor, np.ndarray)) or not isinstance(data, (tuple, list)) or len(data) < 2:
        raise TypeError(f"{name} must be a tuple (inputs..., target) of arrays, got {type(data).__name__}")
    out = []
    for k, a in enumerate(data):
        t = torch.as_tensor(np.asarray(a) if not isinstance(a, torch.Tensor) else a)
        out.append(t.float() if t.is_floating_point() else t)
        if len(out[-1]) != len(out[0]):
            raise ValueError(f"{name}[{k}] has {len(out[-1])} rows, {name}[0] has {len(out[0])}")
    if len(out[0]) == 0:
        raise ValueError(f"{name} holds no samples")
    return out


def _fingerprint(tensors):
    crc = 0
    for t in tensors:
        crc = zlib.crc32(t.detach().cpu().contiguous().numpy().tobytes(), crc)
    return crc


def _mse(model, *batch):
    return torch.nn.functional.mse_loss(model(*batch[:-1]), batch[-1])


def fit(model, train, *, validation=None, loss=None, epochs, batch_size=64, lr=1e-3, weight_decay=0.0,
        directory=None, seed=0, device="auto", progress=True, desc=None):
    """Mini-batch Adam training of any model on ``(inputs..., target)`` tuples, resumable per epoch.

    The supervised loop of the estimator and defect chapters (Wang et al.,
    Adv. Sci. 2020: MSE on min-max scaled parameters; Eagan et al. 2026:
    dispersion and wall networks, PINN losses).  Epoch ``e``'s shuffling and
    any randomness inside the model (dropout) are seeded from ``(seed, e)``
    only, so an interrupted run resumed from its checkpoint ends, on the CPU,
    with exactly the weights and history of an uninterrupted one.

    Parameters
    ----------
    model : torch.nn.Module
        Trained in place (initial weights are ignored when resuming).
    train : tuple of array_like or torch.Tensor
        ``(input_1, ..., input_m, target)`` with equal first dimensions n;
        floating arrays become float32.
    validation : tuple, optional
        Same layout; its loss is recorded after every epoch (no gradient
        step; autograd stays on so that losses with derivatives work).
    loss : callable, optional
        ``loss(model, *batch) -> scalar tensor``.  Default: the mean squared
        error of ``model(*inputs)`` against ``target``.
    epochs : int
        Total number of epochs, >= 1 (a resumed run trains the missing ones;
        a finished checkpoint with as many epochs is loaded without training).
    batch_size : int
    lr, weight_decay : float
        Adam's learning rate and L2 weight decay.
    directory : str or os.PathLike, optional
        Checkpoint folder (``fit.pt``, written atomically after every epoch);
        None trains without checkpoints.
    seed : int
    device : str or torch.device
        ``"auto"``: CUDA when available, else CPU.
    progress : bool
        tqdm bar over epochs with the last losses.
    desc : str, optional
        Bar label.

    Returns
    -------
    FitResult

    Raises
    ------
    TypeError
        ``train``/``validation`` not tuples of arrays.
    ValueError
        Mismatched row counts, empty data, ``epochs`` or ``batch_size`` < 1,
        a checkpoint written for other data or settings.
    TrainingDivergedError
        A non-finite loss (the last checkpoint is kept).
    """
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        check_int(value, name, minimum=1)
    device = resolve_device(device)
    train = [t.to(device) for t in _as_tensors(train, "train")]
    validation = None if validation is None else [t.to(device) for t in _as_tensors(validation, "validation")]
    loss = loss or _mse
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    settings = dict(model=type(model).__name__, batch_size=int(batch_size), lr=float(lr),
                    weight_decay=float(weight_decay), seed=int(seed), train=_fingerprint(train),
                    validation=None if validation is None else _fingerprint(validation))
    history = {"train": [], "validation": []}
    path = None if directory is None else Path(directory) / FIT_CHECKPOINT
    if path is not None and path.exists():
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as err:  # noqa: BLE001 - any unreadable file is a corrupted artifact
            raise ValueError(f"checkpoint {path} cannot be read ({type(err).__name__}: {err}); delete it") from err
        if ckpt["settings"] != settings:
            raise ValueError(f"checkpoint {path} was written for other data or settings "
                             f"({ckpt['settings']}, now {settings}); delete it or use another directory")
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        history = ckpt["history"]
    n = len(train[0])
    key = series_key(desc or "fit")
    start = len(history["train"])
    with tqdm(total=epochs, initial=min(start, epochs), desc=desc or "fit", unit="epoch",
              disable=not progress) as bar:
        for epoch in range(start, epochs):
            s = _seed(seed, key, 0, epoch)
            torch.manual_seed(s)
            order = torch.randperm(n, generator=torch.Generator().manual_seed(s)).to(device)
            model.train()
            total = 0.0
            for i in range(0, n, batch_size):
                idx = order[i:i + batch_size]
                value = loss(model, *(t[idx] for t in train))
                if not torch.isfinite(value):
                    raise TrainingDivergedError(f"{desc or 'fit'}: non-finite loss {value.item()} in epoch "
                                                f"{epoch}, batch {i // batch_size}; the last checkpoint is kept")
                optimizer.zero_grad(set_to_none=True)
                value.backward()
                optimizer.step()
                total += value.item() * len(idx)
            history["train"].append(total / n)
            if validation is not None:
                model.eval()
                m = len(validation[0])
                history["validation"].append(sum(
                    loss(model, *(t[i:i + batch_size] for t in validation)).item() * len(validation[0][i:i + batch_size])
                    for i in range(0, m, batch_size)) / m)
            if path is not None:
                _save(dict(settings=settings, model=model.state_dict(), optimizer=optimizer.state_dict(),
                           history=history), path)
            bar.update(1)
            bar.set_postfix(train=f"{history['train'][-1]:.3g}",
                            **({"val": f"{history['validation'][-1]:.3g}"} if validation is not None else {}))
    model.eval()
    return FitResult(model=model, history=history, directory=None if directory is None else Path(directory))


# ----------------------------------------------------------------------------- the E-VAE series
#: Schedules of the chapter per profile.  ``betas``: the standard VAE's steps;
#: ``gammas``: the E-VAE's, run from each of ``from_betas``; ``epochs``:
#: epochs per step, ``first_epochs`` for the very first step (from random
#: weights).  Paper: Kwon et al. 2021, 100 epochs per step, batch 100, i.e.
#: 30,000 Adam updates per step.  Quick: 240 training states; batches of 24
#: give 10 updates per epoch (batches of 100 would give 2.4, too few for the
#: trends to show in a few epochs), 50 per step, 200 for the first step; the
#: ``gamma`` range skips the steps below 1e-2, where ``gamma L_H`` is
#: negligible (``L_H`` is a few hundredths per spin), and goes to 1e5 so
#: the collapse shows.  About 125 epochs of 0.5-1 s on 2 idle CPU cores.
EVAE_TRAINING = {
    "quick": dict(betas=tenfold(1e-5, 1.0), gammas=tenfold(1e-2, 1e5), from_betas=(1e-3, 1e-4),
                  epochs=5, first_epochs=20, batch_size=24, lr=1e-3, checkpoint_every=10),
    "paper": dict(betas=tenfold(1e-6, 1.0), gammas=tenfold(1e-4, 1e6), from_betas=(1e-3, 1e-4),
                  epochs=100, first_epochs=100, batch_size=100, lr=1e-3, checkpoint_every=10),
}


def evae_training_spec(profile):
    """The schedule of :data:`EVAE_TRAINING` for ``profile`` (a copy); ValueError for an unknown profile."""
    check_profile(profile)
    return dict(EVAE_TRAINING[profile])


class SeriesResult:
    """One trained series: its steps, history and saved weights.

    Attributes
    ----------
    name : str
    directory : pathlib.Path
    steps : list of Step
    history : list of dict
        As returned by :func:`train_schedule`.
    model_config : dict
        Arguments of :class:`SpinVAE`.
    """

    def __init__(self, name, directory, steps, history, model_config):
        self.name, self.directory, self.steps = name, Path(directory), list(steps)
        self.history, self.model_config = history, model_config

    def __repr__(self):
        return f"SeriesResult({self.name!r}, {len(self.steps)} steps, {self.directory})"

    def __len__(self):
        return len(self.steps)

    def values(self, name):
        """Array of ``beta`` or ``gamma`` (the step parameter), one per step."""
        return np.array([h[name] for h in self.history])

    def loss(self, split, term):
        """Array of a loss term (``rc``, ``kl``, ``h``, ``total``) of ``split`` per step."""
        return np.array([h[split][term] for h in self.history])

    def index(self, *, beta=None, gamma=None):
        """Index of the step with the given ``beta`` and/or ``gamma`` (relative tolerance 1e-6)."""
        hits = [k for k, s in enumerate(self.steps)
                if (beta is None or math.isclose(s.beta, beta, rel_tol=1e-6))
                and (gamma is None or math.isclose(s.gamma, gamma, rel_tol=1e-6))]
        if not hits:
            raise KeyError(f"{self.name}: no step with beta={beta!r}, gamma={gamma!r}; "
                           f"steps are {[(s.beta, s.gamma) for s in self.steps]}")
        return hits[0]

    def model(self, step=None, *, beta=None, gamma=None, device="cpu"):
        """The :class:`SpinVAE` at the end of a step, in eval mode.

        Parameters
        ----------
        step : int, optional
            Step index (negative counts from the end).
        beta, gamma : float, optional
            Alternatively, select the step by its weights.
        device : str or torch.device, default "cpu"
        """
        if step is None:
            step = self.index(beta=beta, gamma=gamma)
        step = range(len(self.steps))[step]
        model = SpinVAE(**self.model_config)
        model.load_state_dict(torch.load(self.directory / _step_file(step), map_location="cpu"))
        return model.to(resolve_device(device)).eval()


class EVAESeries:
    """The chapter's trained models: one standard VAE series and E-VAE series.

    Attributes
    ----------
    profile : str
    vae : SeriesResult
        ``beta`` series at ``gamma = 0``.
    evae : dict of float to SeriesResult
        ``gamma`` series, keyed by their fixed ``beta``.
    dataset : pathlib.Path
        The HDF5 dataset they were trained on.
    """

    def __init__(self, profile, vae, evae, dataset):
        self.profile, self.vae, self.evae, self.dataset = profile, vae, evae, Path(dataset)

    def __repr__(self):
        return (f"EVAESeries({self.profile!r}, vae={len(self.vae)} steps, "
                f"evae={{{', '.join(f'{b:g}: {len(s)} steps' for b, s in self.evae.items())}}})")

    def model(self, *, beta, gamma=0.0, device="cpu"):
        """The model trained with ``beta`` and ``gamma`` (``gamma = 0``: the standard VAE step)."""
        if gamma == 0:
            return self.vae.model(beta=beta, device=device)
        for b, series in self.evae.items():
            if math.isclose(b, beta, rel_tol=1e-6):
                return series.model(gamma=gamma, device=device)
        raise KeyError(f"no E-VAE series with beta={beta!r}; have {list(self.evae)}")


def train_evae_series(profile, *, seed=0, device="auto", progress=True, root=None, spec=None,
                      checkpoint_every=None, callback=None):
    """Train (or load) the standard VAE and E-VAE series of a profile.

    Whatever is already finished under ``data/<profile>/`` is loaded, an
    interrupted series resumes from its checkpoint, and the rest is trained:
    first the standard VAE through ``spec["betas"]`` (``gamma = 0``), then,
    for each ``beta`` in ``spec["from_betas"]``, an E-VAE series through
    ``spec["gammas"]`` starting from the VAE's weights at that ``beta``.

    Parameters
    ----------
    profile : {"quick", "paper"}
        Sizes of :data:`mag_ml.data.evae.EVAE_PROFILES` and schedule of
        :data:`EVAE_TRAINING`.  Quick: 48 x 48, 240 training states, about
        1.5-2.5 minutes on 2 CPU cores.  Paper: 128 x 128, 30,000 states, 100
        epochs per step (GPU).
    seed : int
        Seed of the dataset (:func:`mag_ml.data.evae.evae_dataset`) and of the
        training.
    device : "auto", str or torch.device
    progress : bool
    root : path, optional
        Artifact root (default ``data/``).
    spec : dict, optional
        Override of the schedule (keys of :data:`EVAE_TRAINING`), e.g. for
        tests; it is part of the artifacts' hash.
    checkpoint_every : int, optional
        Overrides the spec's value (not part of the hash).
    callback : callable, optional
        Passed to :func:`train_schedule` (``callback(event, step, epoch, history)``).

    Returns
    -------
    EVAESeries

    Raises
    ------
    ValueError
        Unknown profile, a ``from_betas`` value not among ``betas``.
    TrainingDivergedError
        See :func:`train_schedule`.
    """
    from mag_ml.data import load_states
    from mag_ml.data.evae import EVAE_HAMILTONIAN, evae_dataset, evae_dataset_spec
    from mag_ml.data.storage import dataset_params

    spec = evae_training_spec(profile) if spec is None else {**evae_training_spec(profile), **spec}
    for b in spec["from_betas"]:
        if not any(math.isclose(b, x, rel_tol=1e-6) for x in spec["betas"]):
            raise ValueError(f"from_betas value {b!r} is not among betas {spec['betas']!r}")
    every = spec["checkpoint_every"] if checkpoint_every is None else checkpoint_every
    data_path = evae_dataset(profile, seed=seed, progress=progress, root=root)
    data_spec = evae_dataset_spec(profile, seed)
    size = data_spec["shape"][0]
    model_config = SpinVAE(size).config()
    train = load_states(data_path, "train")
    validation = load_states(data_path, "validation")
    common = dict(dataset=dataset_params(**data_spec), model=model_config, seed=seed,
                  batch_size=spec["batch_size"], lr=spec["lr"], adam_betas=[0.9, 0.999])
    H = EVAE_HAMILTONIAN
    kw = dict(seed=seed, batch_size=spec["batch_size"], lr=spec["lr"], device=device, checkpoint_every=every,
              callback=callback, progress=progress)

    vae_steps = [Step(b, 0.0, spec["first_epochs"] if k == 0 else spec["epochs"])
                 for k, b in enumerate(spec["betas"])]
    vae_params = _jsonable(dict(common, name="vae", steps=[s.as_dict() for s in vae_steps]))
    vae_dir = artifact_path(profile, "vae_series", vae_params, root=root, suffix="")
    torch.manual_seed(_seed(seed, series_key("vae"), 0, _EVAL_EPOCH - 1))
    model = SpinVAE(size)
    history = train_schedule(model, vae_steps, train, validation, H, vae_dir, name="vae", params=vae_params, **kw)
    vae = SeriesResult("vae", vae_dir, vae_steps, history, model_config)

    evae = {}
    for b in spec["from_betas"]:
        name = f"evae_beta{b:g}"
        steps = [Step(b, g, spec["epochs"]) for g in spec["gammas"]]
        params = _jsonable(dict(common, name=name, start=vae_params, start_beta=b,
                                steps=[s.as_dict() for s in steps]))
        directory = artifact_path(profile, "evae_series", params, root=root, suffix="")
        model = vae.model(beta=b)
        history = train_schedule(model, steps, train, validation, H, directory, name=name, params=params, **kw)
        evae[b] = SeriesResult(name, directory, steps, history, model_config)
    return EVAESeries(profile, vae, evae, data_path)


def load_series(profile, *, seed=0, root=None, device="auto", progress=True):
    """The chapter's series of ``profile``, trained first where missing (same as :func:`train_evae_series`).

    For later chapters: ``load_series("quick").model(beta=1e-3, gamma=1.0)``.
    """
    return train_evae_series(profile, seed=seed, root=root, device=device, progress=progress)


# ----------------------------------------------------------------------------- figures and tables
def series_table(series, parameter):
    """Rows of ``(value, train rc, kl, h, validation rc, kl, h)`` for printing, one per step."""
    return [(h[parameter], h["train"]["rc"], h["train"]["kl"], h["train"]["h"],
             h["validation"]["rc"], h["validation"]["kl"], h["validation"]["h"]) for h in series.history]


def loss_regions(series, parameter, *, kl_collapse=1.0, rc_factor=1.5):
    """Named ranges of ``beta`` or ``gamma`` for the loss figure, found from a series' history.

    * ``beta`` (standard VAE): "posterior collapse" where the training ``L_KL``
      is below ``kl_collapse`` nats per sample (the latent code carries almost
      no information about the input), "VAE" below that.
    * ``gamma`` (E-VAE): "reconstruction-dominated" while the training
      ``L_RC`` has not yet risen beyond ``rc_factor`` times its smallest
      value in the series, "energy-dominated" from the first step after that
      minimum where it has.

    Region edges lie halfway (geometrically) between steps; the outer edges
    half a step beyond the first and last ones.

    Returns
    -------
    list of (float, float, str)
        ``(lo, hi, label)`` spans, in order, as taken by :func:`mag_ml.plotting.plot_series_losses`.
    """
    x = series.values(parameter)
    if len(x) == 0 or np.any(x <= 0):
        raise ValueError(f"{parameter} values must be positive for log-spaced regions, got {x!r}")
    mids = np.sqrt(x[1:] * x[:-1])
    ratio = x[1] / x[0] if len(x) > 1 else 10.0
    edges = np.concatenate([[x[0] / math.sqrt(ratio)], mids, [x[-1] * math.sqrt(ratio)]])
    if parameter == "beta":
        labels = np.where(series.loss("train", "kl") < kl_collapse, "posterior collapse", "VAE")
    elif parameter == "gamma":
        rc = series.loss("train", "rc")
        k = int(np.argmin(rc))
        beyond = np.zeros(len(rc), dtype=bool)
        beyond[k:] = np.maximum.accumulate(rc[k:] > rc_factor * rc[k])
        labels = np.where(beyond, "energy-dominated", "reconstruction-dominated")
    else:
        raise ValueError(f"parameter must be 'beta' or 'gamma', got {parameter!r}")
    regions = []
    for i, label in enumerate(labels):
        if regions and regions[-1][2] == label:
            regions[-1] = (regions[-1][0], float(edges[i + 1]), label)
        else:
            regions.append((float(edges[i]), float(edges[i + 1]), str(label)))
    return regions
