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
* the series of the E-VAE chapters for a profile, as artifacts under
  ``data/<profile>/``, are in :mod:`mag_ml.chapters.evae`.

Speed on a GPU: :func:`fit` takes ``precision``
(bf16 autocast of the network), ``channels_last`` and ``compile``
(``torch.compile``), which :func:`train_schedule` turns on for CUDA only, so
CPU float32 training is unchanged; a training set given as a dataset split
(:class:`mag_ml.data.SplitStates`) that does not fit the device is read from
its HDF5 file in shuffled blocks of consecutive states, verified as it is read.

Reproducibility: at the start of every epoch the global torch generator and
the shuffling generator are seeded from ``(seed, series, step, epoch)``, and
the end-of-step evaluation uses its own generator seeded the same way, so
an epoch's randomness (batch order, reparameterisation noise) depends only
on where it is in the schedule, never on what ran before in the process.
Each step starts a fresh Adam optimiser (as re-compiling a Keras model with
new loss weights does); its state is checkpointed within a step.

Integrity: every file of a training directory (``checkpoint.pt``,
``step_NNN.pt``, ``history.json``) is written atomically with its SHA-256 in
``<file>.sha256`` (:func:`mag_ml.files.atomic_path` with ``digest=True``) and
verified before it is read (:func:`load_checkpoint`,
:func:`load_step_weights`, :func:`load_history`); a damaged, truncated or
unverifiable file raises :class:`mag_ml.files.CorruptFileError` naming it
and saying what to delete.  A file without a digest (written before digests
existed) is refused the same way, never trusted: delete the directory and
retrain.  One process at a time trains into a directory: :func:`fit` and
:func:`train_schedule` hold ``<directory>/.lock``
(:func:`mag_ml.files.directory_lock`) for the whole call, a second one
fails at once with :class:`mag_ml.files.InUseError`, and the temporary files
left by a killed run are removed when the next one starts.
"""

from __future__ import annotations

import contextlib
import json
import math
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from mag_ml.progress import Bar, progress_bar

from mag_ml.files import (CorruptFileError, atomic_path, check_digest, check_matches, directory_lock, save_json,
                          to_jsonable)
from mag_ml.checks import check_int, check_memory, device_memory, format_bytes, resolve_device
from mag_ml.data.storage import SplitStates
from mag_ml.models.vae import LOSS_TERMS, NORMALISATIONS, energy_losses, state_batch, total_loss, vae_losses

__all__ = ["Step", "TrainingDivergedError", "tenfold", "train_schedule", "evaluate", "fit",
           "FitResult", "step_weights", "derived_seed", "series_key", "load_checkpoint", "load_step_weights",
           "load_history", "CHECKPOINT", "HISTORY"]

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


def derived_seed(seed, series_key, step, epoch):
    """64-bit seed that depends only on (seed, series, step, epoch) (``epoch`` may be any int slot)."""
    ss = np.random.SeedSequence(int(seed), spawn_key=(int(series_key), int(step), int(epoch)))
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def series_key(name):
    """Stable integer key of a series name (CRC-32), part of every derived seed."""
    return zlib.crc32(str(name).encode("utf-8"))


# ----------------------------------------------------------------------------- evaluation
@torch.no_grad()
def evaluate(model, states, hamiltonian, *, beta, gamma, batch_size=100, generator=None, normalisation="per_spin"):
    """Mean loss terms of ``model`` (eval mode) over a whole set of states.

    Parameters
    ----------
    model : SpinVAE
    states : torch.Tensor or mag_ml.data.SplitStates, shape (n, 3, L, L)
        On the model's device, or a dataset split read ``batch_size`` states
        at a time (moved to the model's device batch by batch).
    hamiltonian : mag_ml.Hamiltonian
    beta, gamma : float
        Weights of the total.
    batch_size : int
    generator : torch.Generator, optional
        Source of the reparameterisation noise (seeded by the caller for
        reproducible numbers).
    normalisation : {"per_spin", "sum"}, default "per_spin"
        Of the loss terms (:func:`mag_ml.models.vae_losses`).

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
        device = next(model.parameters()).device
        for i in range(0, len(states), batch_size):
            x = state_batch(states, i, i + batch_size, device, _dtype(states))
            out, mu, logvar = model(x, generator=generator)
            terms = vae_losses(x, out, mu, logvar, hamiltonian, normalisation=normalisation)
            terms["total"] = total_loss(terms, beta, gamma)
            for k in LOSS_TERMS:
                sums[k] += float(terms[k]) * len(x)
            n += len(x)
    finally:
        model.train(was_training)
    return {k: v / n for k, v in sums.items()}


# ----------------------------------------------------------------------------- checkpoints
#: The checkpoint file of :func:`fit` and :func:`train_schedule` (one format, see :func:`load_checkpoint`).
CHECKPOINT = "checkpoint.pt"
#: The finished history of a :func:`train_schedule` series (its presence marks the series as done).
HISTORY = "history.json"


def _step_file(k):
    return f"step_{k:03d}.pt"


def step_weights(directory, k):
    """Path of the ``state_dict`` saved at the end of step ``k`` of :func:`train_schedule` in ``directory``."""
    return Path(directory) / _step_file(k)


def _save(obj, path):
    with atomic_path(path, digest=True) as tmp:
        torch.save(obj, tmp)


def _training_lock(directory):
    return directory_lock(directory, what="training")


def _corrupt(path, what, hint, err):
    """A verified file that still cannot be parsed (written by something else under our name)."""
    return CorruptFileError(path, "unreadable", f"{what} {path} cannot be read ({type(err).__name__}: {err}). {hint}")


def load_step_weights(directory, k):
    """The verified ``state_dict`` saved at the end of step ``k`` of :func:`train_schedule` (on the CPU).

    Raises
    ------
    FileNotFoundError
        No such step file.
    mag_ml.files.CorruptFileError
        The file does not match its digest (flipped or truncated), has no
        digest (an older version) or cannot be read; the message names it.
    """
    path = step_weights(directory, k)
    if not path.exists():
        raise FileNotFoundError(f"no weights of step {k} in {Path(directory)}: {path} does not exist")
    hint = f"Delete the directory {Path(directory)} and rerun to retrain the series."
    check_digest(path, what="step weights", hint=hint)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - verified but unparsable
        raise _corrupt(path, "step weights", hint, err) from err


def _check_steps(directory, n):
    """Verify the digests of ``step_000.pt`` ... ``step_{n-1}.pt`` (the finished steps of a series)."""
    for k in range(n):
        check_digest(step_weights(directory, k), what="step weights",
                     hint=f"Delete the directory {Path(directory)} and rerun to retrain the series.")


def load_history(path):
    """The verified content (``params``, ``history``) of a finished series' ``history.json``.

    Raises
    ------
    mag_ml.files.CorruptFileError
        Digest mismatch (an edited or truncated file), no digest, or not
        the JSON of a finished series; the message names the file.
    """
    path = Path(path)
    hint = f"Delete the directory {path.parent} and rerun to retrain the series."
    check_digest(path, what="series history", hint=hint)
    try:
        done = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(done, dict) or not {"params", "history"} <= set(done):
            raise ValueError("expected an object with 'params' and 'history'")
    except Exception as err:  # noqa: BLE001 - verified but unparsable
        raise _corrupt(path, "series history", hint, err) from err
    return done


def load_checkpoint(path, settings=None):
    """Read a training checkpoint and check that it was written for ``settings``.

    A checkpoint is a dict ``settings`` (everything that determines the run:
    model, data fingerprint, hyper-parameters, schedule position), ``model``
    and ``optimizer`` (state dicts; ``optimizer`` None at the start of a
    step), ``history`` (per-epoch losses so far) and ``extra`` (what the
    caller keeps with it), written atomically by :func:`fit` and
    :func:`train_schedule`.

    Parameters
    ----------
    path : str or os.PathLike
    settings : dict, optional
        JSON-like settings of the request; None only reads the file.

    Returns
    -------
    dict or None
        The checkpoint, or None when there is no file.

    Raises
    ------
    mag_ml.files.CorruptFileError
        A ``ValueError`` naming the file: it does not match the SHA-256
        recorded beside it (``checkpoint.pt.sha256``: a flipped, zeroed or
        truncated byte), it has no digest (written by an older version: it
        is not trusted) or it cannot be read; delete it to restart.
    ValueError
        :class:`mag_ml.files.MismatchError` naming each differing setting.
    """
    path = Path(path)
    if not path.exists():
        return None
    hint = "Delete it to restart the training, or use another directory."
    check_digest(path, what="checkpoint", hint=hint)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # noqa: BLE001 - any unreadable file is a corrupted artifact
        raise _corrupt(path, "checkpoint", hint, err) from err
    if not isinstance(ckpt, dict) or not isinstance(ckpt.get("settings"), dict):
        raise CorruptFileError(path, "unreadable", f"checkpoint {path} is not a mag_ml training checkpoint. {hint}")
    if settings is not None:
        check_matches(path, ckpt["settings"], settings, what="checkpoint", hint=" Delete it or use another directory.")
    return ckpt


# ----------------------------------------------------------------------------- the loop
@dataclass
class FitResult:
    """What :func:`fit` returns.

    Attributes
    ----------
    model : torch.nn.Module
        The trained model (the one passed in), in eval mode, on the training device.
    history : dict
        Per-epoch mean losses: ``"train"`` (mean over the epoch's batches,
        weighted by batch size), ``"validation"`` (whole set after the
        epoch; empty without validation data) and, for a loss that returns
        a dict of terms, ``"terms"``: each term's per-epoch training mean.
    directory : pathlib.Path or None
        Where the checkpoint lies.
    """

    model: torch.nn.Module
    history: dict
    directory: Path | None = None


def _as_tensors(data, name):
    if isinstance(data, (torch.Tensor, np.ndarray)) or not isinstance(data, (tuple, list)) or len(data) < 1:
        raise TypeError(f"{name} must be a tuple (inputs..., target) of arrays, got {type(data).__name__}")
    out = []
    for k, a in enumerate(data):
        if isinstance(a, SplitStates):  # a dataset split: read in blocks while training, never whole
            out.append(a)
        else:
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
        if isinstance(t, SplitStates):  # the file's parameters and split name (its states carry their digests)
            crc = zlib.crc32(json.dumps([t.params, t.split], sort_keys=True, default=str).encode("utf-8"), crc)
        else:
            crc = zlib.crc32(t.detach().cpu().contiguous().numpy().tobytes(), crc)
    return crc


def _dtype(data):
    """The dtype rows of ``data`` train in: float32 for a dataset split (as arrays become in :func:`fit`), else own."""
    return torch.float32 if isinstance(data, SplitStates) else None


def _nbytes(data):
    """Bytes of a tensor, array or dataset split in memory (not read)."""
    return int(data.nbytes) if not torch.is_tensor(data) else data.element_size() * data.nelement()


def _epoch_order(n, block, generator):
    """Sample order of one epoch: a random permutation, or (``block``) blocks of consecutive samples in random order.

    With ``block = k`` the ``ceil(n / k)`` blocks ``[jk, (j+1)k)`` come in a random order and each is shuffled
    inside, so a batch needs at most two blocks of a file: the order of training streamed from HDF5.
    """
    if block is None:
        return torch.randperm(n, generator=generator)
    n_blocks = -(-n // block)
    parts = []
    for j in torch.randperm(n_blocks, generator=generator).tolist():
        size = min(block, n - j * block)
        parts.append(j * block + torch.randperm(size, generator=generator))
    return torch.cat(parts)


class _BlockReader:
    """Batches of an epoch in block order (:func:`_epoch_order`), reading each block once, on the device.

    Holds the blocks the current batch needs (at most two when ``block >= batch_size``); a block the order has left
    is dropped, so memory stays at a few blocks whatever the size of the set.
    """

    def __init__(self, data, block, device, prepare):
        self.data, self.block, self.device, self.prepare, self.cache = data, block, device, prepare, {}

    def take(self, idx):
        blocks = torch.unique(idx // self.block)  # sorted
        wanted = blocks.tolist()
        self.cache = {j: v for j, v in self.cache.items() if j in wanted}
        for j in wanted:
            if j not in self.cache:
                self.cache[j] = [state_batch(t, j * self.block, (j + 1) * self.block, self.device, _dtype(t))
                                 for t in self.data]
        sizes = torch.tensor([len(self.cache[j][0]) for j in wanted])
        starts = torch.cumsum(sizes, 0) - sizes
        pos = (starts[torch.searchsorted(blocks, idx // self.block)] + idx % self.block).to(self.device)
        return [self.prepare(torch.cat([self.cache[j][k] for j in wanted])[pos]) for k in range(len(self.data))]


#: Precisions of :func:`fit`: float32 throughout, or the model's forward under bfloat16 autocast.
PRECISIONS = ("float32", "bf16", "auto")


def _float32(value):
    """``value`` (a tensor or nested tuple/list/dict of them) with bfloat16 tensors cast to float32."""
    if torch.is_tensor(value):
        return value.float() if value.dtype == torch.bfloat16 else value
    if isinstance(value, (tuple, list)):
        return type(value)(_float32(v) for v in value)
    if isinstance(value, dict):
        return {k: _float32(v) for k, v in value.items()}
    return value


class _Forward:
    """What a loss sees as the model: its forward, compiled and/or under bfloat16 autocast; its other attributes.

    The network runs under ``torch.autocast(device_type, torch.bfloat16)`` (convolutions and matrix products in
    bfloat16) and its outputs are cast back to float32, so every loss term (the Hamiltonian's energy among them)
    is computed in float32.  A compiled forward that fails on its first call falls back to the eager one with a
    warning.
    """

    def __init__(self, model, compiled, autocast):
        self._model, self._autocast, self._checked = model, autocast, compiled is None
        self._forward = model if compiled is None else compiled

    def _call(self, *args, **kwargs):
        if self._autocast is None:
            return self._forward(*args, **kwargs)
        with torch.autocast(self._autocast, dtype=torch.bfloat16):
            out = self._forward(*args, **kwargs)
        return _float32(out)

    def __call__(self, *args, **kwargs):
        if self._checked:
            return self._call(*args, **kwargs)
        try:
            out = self._call(*args, **kwargs)
        except Exception as err:  # noqa: BLE001 - any compiler failure: train eagerly instead
            import warnings

            warnings.warn(f"torch.compile of {type(self._model).__name__} failed ({type(err).__name__}: {err}); "
                          "training eagerly", RuntimeWarning, stacklevel=2)
            self._forward = self._model
            out = self._call(*args, **kwargs)
        self._checked = True
        return out

    def __getattr__(self, name):
        return getattr(self._model, name)


def _speed_options(device, precision, channels_last, compile):
    """``(autocast device type or None, channels_last, compile)`` for ``device`` from :func:`fit`'s options."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    for arg, value in (("channels_last", channels_last), ("compile", compile)):
        if value not in (True, False, "auto"):
            raise ValueError(f"{arg} must be True, False or 'auto', got {value!r}")
    cuda = device.type == "cuda"
    bf16 = precision == "bf16" or (precision == "auto" and cuda)
    return (device.type if bf16 else None, channels_last is True or (channels_last == "auto" and cuda),
            compile is True or (compile == "auto" and cuda))


def _prepare_model(model, device, autocast, channels_last, compile):
    """Move ``model`` to ``device`` (channels-last if asked) and return what the loss calls (:class:`_Forward`)."""
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    if autocast is None and not compile:
        return model  # the plain float32 path: the loss calls the model itself
    return _Forward(model, torch.compile(model) if compile else None, autocast)


def _batch_layout(channels_last):
    """Function putting a batch tensor in the model's memory format (4-D floating tensors channels-last)."""
    if not channels_last:
        return lambda t: t
    return lambda t: t.contiguous(memory_format=torch.channels_last) if t.ndim == 4 and t.is_floating_point() else t


def _mse(model, *batch):
    return torch.nn.functional.mse_loss(model(*batch[:-1]), batch[-1])


def _terms(value):
    """``(total tensor, dict of float terms)`` of a loss that returns a tensor or a dict with ``"total"``."""
    if isinstance(value, dict):
        return value["total"], {t: v.item() for t, v in value.items()}
    return value, {"total": value.item()}


def fit(model, train, *, validation=None, loss=None, epochs, batch_size=64, lr=1e-3, weight_decay=0.0,
        adam_betas=(0.9, 0.999), directory=None, seed=0, device="auto", progress=True, desc=None, name=None,
        step=0, checkpoint_every=1, settings=None, extra=None, callback=None, precision="float32",
        channels_last=False, compile=False, shuffle_block=None):
    """Mini-batch Adam training of any model, resumable per epoch: the one training loop of the book.

    The supervised networks (Wang et al., Adv. Sci. 2020: MSE on min-max
    scaled parameters; Eagan et al. 2026: dispersion and wall networks, PINN
    losses) call it directly; each step of an E-VAE schedule (Kwon et al.,
    Adv. Sci. 2021) is one call of it (:func:`train_schedule`).  Epoch
    ``e``'s shuffling and any randomness inside the model (dropout,
    reparameterisation noise) are seeded from ``(seed, name, step, e)``
    only, so an interrupted run resumed from its checkpoint ends, on the
    CPU, with exactly the weights and history of an uninterrupted one.
    When ``n % batch_size == 1`` the epoch's last sample is left out (a batch
    of one breaks batch norm).

    Parameters
    ----------
    model : torch.nn.Module
        Trained in place (initial weights are ignored when resuming).
    train : tuple of array_like, torch.Tensor or mag_ml.data.SplitStates
        ``(input_1, ..., input_m, target)`` with equal first dimensions n
        (or just ``(inputs,)`` for a loss without target); floating arrays
        become float32.  An element that is a dataset split
        (:class:`mag_ml.data.SplitStates`) is never read whole: each epoch
        reads it in blocks of ``shuffle_block`` states (verified like
        :func:`mag_ml.data.load_states`), so a training set larger than the
        device's memory trains in a few blocks of it.
    validation : tuple, optional
        Same layout; its loss is recorded after every epoch (no gradient
        step; autograd stays on so that losses with derivatives work).
    loss : callable, optional
        ``loss(model, *batch)`` returning a scalar tensor, or a dict of
        scalar tensors with the key ``"total"`` (the one minimised; every
        term is recorded).  Default: the mean squared error of
        ``model(*inputs)`` against ``target``.
    epochs : int
        Total number of epochs, >= 1 (a resumed run trains the missing ones;
        a checkpoint with as many epochs is loaded without training).
    batch_size : int
    lr, weight_decay : float
        Adam's learning rate and L2 weight decay.
    adam_betas : (float, float)
    directory : str or os.PathLike, optional
        Checkpoint folder (:data:`CHECKPOINT`, written atomically with its
        digest every ``checkpoint_every`` epochs and after the last, verified
        when resuming); None trains without checkpoints.  The folder is
        locked for the whole call (one training per folder).
    seed : int
    device : str or torch.device
        ``"auto"``: CUDA when available, else CPU.
    progress : bool or tqdm.tqdm
        A tqdm bar over epochs with the last losses, or an open bar to update.
    desc : str, optional
        Bar label and, without ``name``, the seed key.
    name : str, optional
        Seed key of the run (default ``desc`` or ``"fit"``).
    step : int
        Position in a schedule (part of the seeds and of the settings).
    checkpoint_every : int
        Epochs between checkpoints (the last epoch is always written).
    settings : dict, optional
        JSON-like description of the run that the checkpoint must match
        (default: the model class, hyper-parameters and a fingerprint of
        the data).
    extra : dict, optional
        Stored with each checkpoint (for :func:`train_schedule`: the history
        of the finished steps).
    callback : callable, optional
        ``callback(epoch)`` after each epoch's checkpoint (an exception
        there stops training; tests use it to simulate an interruption).
    precision : {"float32", "bf16", "auto"}, default "float32"
        ``"bf16"``: the model's forward under ``torch.autocast`` with
        bfloat16 (convolutions and matrix products; the outputs cast back to
        float32, so the loss is float32); ``"auto"``: bf16 on CUDA, float32
        on the CPU.  Float32 training on the CPU is bit-identical to the
        loop without these options.
    channels_last : bool or "auto", default False
        Model and 4-D batches in ``torch.channels_last`` (faster
        convolutions on CUDA); ``"auto"``: on CUDA only.
    compile : bool or "auto", default False
        The forward through ``torch.compile`` (eager with a warning if it
        fails); ``"auto"``: on CUDA only (on the 2-core CPU it does not pay:
        ``benchmarks/paper_scale.py``).
    shuffle_block : int, optional
        Epoch order.  None: a random permutation of all samples.  ``k``: the
        blocks of ``k`` consecutive samples in random order, each shuffled
        inside (the order in which a :class:`mag_ml.data.SplitStates` is
        read; the default for one is the largest multiple of ``batch_size``
        within 64 MiB of states).  In-memory data with the same ``k`` gets
        the same batches, hence on the CPU the same result.

    Returns
    -------
    FitResult

    Raises
    ------
    TypeError
        ``train``/``validation`` not tuples of arrays.
    ValueError
        Mismatched row counts, empty data, ``epochs``, ``batch_size`` or
        ``shuffle_block`` < 1, an unknown ``precision``, ``channels_last`` or
        ``compile``, a ``device`` not available (``"cuda"`` without a GPU),
        a checkpoint written for other data or settings
        (:class:`mag_ml.files.MismatchError`), a damaged or unverifiable
        checkpoint (:class:`mag_ml.files.CorruptFileError`).
    mag_ml.files.InUseError
        Another process is training in ``directory``.
    TrainingDivergedError
        A non-finite loss (the last checkpoint is kept).
    """
    for arg, value in (("epochs", epochs), ("batch_size", batch_size), ("checkpoint_every", checkpoint_every)):
        check_int(value, arg, minimum=1)
    if shuffle_block is not None:
        check_int(shuffle_block, "shuffle_block", minimum=1)
    speed = (precision, channels_last, compile, shuffle_block)
    if directory is None:
        return _fit(model, train, validation, loss, epochs, batch_size, lr, weight_decay, adam_betas, None, seed,
                    device, progress, desc, name, step, checkpoint_every, settings, extra, callback, speed)
    with _training_lock(directory):
        return _fit(model, train, validation, loss, epochs, batch_size, lr, weight_decay, adam_betas, directory,
                    seed, device, progress, desc, name, step, checkpoint_every, settings, extra, callback, speed)


def _adam(model, lr, adam_betas=(0.9, 0.999), weight_decay=0.0):
    """The training loop's optimiser: Adam, with the fused kernel where every parameter allows it.

    Fused: one pass over all parameters instead of a dozen small ops each (25x faster steps on the CPU for the
    E-VAE); deterministic, so a resumed run still ends with the uninterrupted one's weights.
    """
    params = list(model.parameters())
    fused = all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)
    return torch.optim.Adam(params, lr=lr, betas=tuple(adam_betas), weight_decay=weight_decay, fused=fused)


def _stream_block(item_bytes, batch_size, limit=64 << 20):
    """Samples per streamed block: the largest multiple of ``batch_size`` within ``limit`` bytes (>= one batch)."""
    return batch_size * max(1, limit // max(1, item_bytes) // batch_size)


def _fit(model, train, validation, loss, epochs, batch_size, lr, weight_decay, adam_betas, directory, seed, device,
         progress, desc, name, step, checkpoint_every, settings, extra, callback,
         speed=("float32", False, False, None)):
    """:func:`fit` with its arguments checked, ``directory`` (if any) locked by the caller."""
    precision, channels_last, compile, block = speed
    device = resolve_device(device)
    autocast, channels_last, compile = _speed_options(device, precision, channels_last, compile)
    train = _as_tensors(train, "train")
    streamed = any(isinstance(t, SplitStates) for t in train)
    if streamed and block is None:
        block = _stream_block(max(_nbytes(t) // len(t) for t in train), batch_size)
    if not streamed:
        train = [t.to(device) for t in train]
    validation = None if validation is None else [t if isinstance(t, SplitStates) else t.to(device)
                                                  for t in _as_tensors(validation, "validation")]
    loss = loss or _mse
    label = desc or name or "fit"
    forward = _prepare_model(model, device, autocast, channels_last, compile)
    layout = _batch_layout(channels_last)
    optimizer = _adam(model, lr, adam_betas, weight_decay)
    if settings is None:
        settings = dict(model=type(model).__name__, batch_size=int(batch_size), lr=float(lr),
                        weight_decay=float(weight_decay), seed=int(seed), train=_fingerprint(train),
                        validation=None if validation is None else _fingerprint(validation))
    settings = to_jsonable(settings)
    history = {"train": [], "validation": []}
    path = None if directory is None else Path(directory) / CHECKPOINT
    ckpt = None if path is None else load_checkpoint(path, settings)
    if ckpt is not None and ckpt["history"]["train"]:  # a checkpoint before the first epoch is the model as given
        model.load_state_dict(ckpt["model"])
        if ckpt["optimizer"] is not None:
            optimizer.load_state_dict(ckpt["optimizer"])
        history = ckpt["history"]
    n = len(train[0])
    key = series_key(name or desc or "fit")
    start = len(history["train"])
    bar = progress if isinstance(progress, Bar) else progress_bar(total=epochs, initial=min(start, epochs), desc=label,
                                                          unit="epoch", disable=not progress)
    try:
        for epoch in range(start, epochs):
            s = derived_seed(seed, key, step, epoch)
            torch.manual_seed(s)
            order = _epoch_order(n, block, torch.Generator().manual_seed(s))
            if not streamed:
                order = order.to(device)
            if n % batch_size == 1 and n > 1:  # a batch of one breaks batch norm: leave that sample out
                order = order[:-1]
            reader = _BlockReader(train, block, device, layout) if streamed else None
            model.train()
            sums = {}
            for b, i in enumerate(range(0, len(order), batch_size)):
                idx = order[i:i + batch_size]
                batch = reader.take(idx) if streamed else [layout(t[idx]) for t in train]
                value, terms = _terms(loss(forward, *batch))
                if not all(math.isfinite(v) for v in terms.values()):
                    raise TrainingDivergedError(
                        f"{label}, epoch {epoch}, batch {b}: non-finite loss: "
                        + ", ".join(f"{t}={v}" for t, v in terms.items())
                        + ("" if path is None else f"; the last checkpoint {path} is kept"))
                optimizer.zero_grad(set_to_none=True)
                value.backward()
                optimizer.step()
                for t, v in terms.items():
                    sums[t] = sums.get(t, 0.0) + v * len(idx)
            history["train"].append(sums["total"] / len(order))
            if len(sums) > 1:
                for t, v in sums.items():
                    history.setdefault("terms", {}).setdefault(t, []).append(v / len(order))
            if validation is not None:
                model.eval()
                m = len(validation[0])
                history["validation"].append(sum(
                    _terms(loss(forward, *(layout(state_batch(t, i, i + batch_size, device, _dtype(t)))
                                         for t in validation)))[1]["total"]
                    * min(batch_size, m - i) for i in range(0, m, batch_size)) / m)
            if path is not None and ((epoch + 1) % checkpoint_every == 0 or epoch + 1 == epochs):
                _save(dict(settings=settings, model=model.state_dict(), optimizer=optimizer.state_dict(),
                           history=history, extra=extra), path)
            bar.update(1)
            bar.set_postfix({t: f"{v[-1]:.3g}" for t, v in history.get("terms", {}).items()} or
                            dict(train=f"{history['train'][-1]:.3g}",
                                 **({"val": f"{history['validation'][-1]:.3g}"} if validation is not None else {})))
            if callback is not None:
                callback(epoch)
    finally:
        if bar is not progress:
            bar.close()
    model.eval()
    return FitResult(model=model, history=history, directory=None if directory is None else Path(directory))


def _vae_loss(hamiltonian, beta, gamma, normalisation):
    def loss(model, x):
        out, mu, logvar = model(x)
        terms = vae_losses(x, out, mu, logvar, hamiltonian, normalisation=normalisation)
        terms["total"] = total_loss(terms, beta, gamma)
        return terms
    return loss


class ScheduleEstimate:
    """Time and memory a training schedule will take, from one timed update (:func:`estimate_schedule`).

    Attributes
    ----------
    seconds : float
        Estimated wall time of the remaining epochs (updates only, evaluations excluded).
    data_bytes : int
        The training states held on the device (0 when they are streamed from their file).
    working_bytes : int
        Memory of one update: weights, gradients and Adam's two moments (4 x the
        parameters), the tensors the forward pass keeps for the backward pass
        (measured with ``torch.autograd.graph.saved_tensors_hooks``) and the batch.
    device : str
    """

    def __init__(self, seconds, data_bytes, device, working_bytes=0):
        self.seconds, self.data_bytes, self.device = float(seconds), int(data_bytes), str(device)
        self.working_bytes = int(working_bytes)

    def __str__(self):
        t = self.seconds
        when = f"{t:.0f} s" if t < 120 else f"{t / 60:.0f} min" if t < 7200 else f"{t / 3600:.1f} h"
        data = (f"{self.data_bytes / 2**30:.2f} GiB of training states on the device" if self.data_bytes else
                "training states streamed from their file")
        return (f"about {when} of training on {self.device} (from one timed update), {data}, "
                f"{format_bytes(self.working_bytes)} per update")


#: Estimated training time (s) above which running on a CPU draws a warning: the paper profile wants a GPU.
CPU_WARNING_SECONDS = 3600.0
#: Share of the device's free memory the training states may take to be held there whole (else they stream).
RESIDENT_SHARE = 0.5


def estimate_schedule(model, train, steps, batch_size, hamiltonian, normalisation="per_spin", *,
                      precision="float32", channels_last=False, data_bytes=None):
    """Estimate the time and memory of training ``model`` through ``steps`` before it starts.

    One Adam update of a copy of the model on one batch is timed (after a
    warm-up update) and scaled by the number of updates of the remaining
    epochs; the model itself is not changed.  The memory of an update is
    counted during the warm-up (see :class:`ScheduleEstimate`).  On a CPU an
    estimate above :data:`CPU_WARNING_SECONDS` also warns that the run wants
    a GPU.

    Parameters
    ----------
    model : SpinVAE
        On its training device.
    train : torch.Tensor or mag_ml.data.SplitStates, shape (n, 3, L, L)
        The training states (only the first batch is read).
    steps : sequence of Step
    batch_size : int
    hamiltonian : mag_ml.Hamiltonian
    normalisation : {"per_spin", "sum"}
    precision, channels_last
        As in :func:`fit` (the timed update is the loop's, without compilation).
    data_bytes : int, optional
        Bytes of training states held on the device; default: all of ``train``.

    Returns
    -------
    ScheduleEstimate

    Warns
    -----
    RuntimeWarning
        The estimate exceeds :data:`CPU_WARNING_SECONDS` on a CPU.
    """
    import copy
    import time
    import warnings

    device = next(model.parameters()).device
    autocast, channels_last, _ = _speed_options(device, precision, channels_last, False)
    probe = copy.deepcopy(model).train()
    forward = _prepare_model(probe, device, autocast, channels_last, False)
    optimizer = _adam(probe, 1e-3)  # the loop's own optimiser, so the timed update is the loop's
    loss = _vae_loss(hamiltonian, 1e-3, 1.0, normalisation)
    batch = _batch_layout(channels_last)(state_batch(train, 0, min(batch_size, len(train)), device, _dtype(train)))
    saved = []

    def pack(t):
        saved.append(t.element_size() * t.nelement())
        return t

    times = []
    for k in range(2):  # the first update warms the kernels up and counts the saved tensors
        t0 = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t) if k == 0 else contextlib.nullcontext():
            total = loss(forward, batch)["total"]
        total.backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - t0)
    updates = sum(s.epochs for s in steps) * math.ceil(len(train) / batch_size)
    weights = sum(p.element_size() * p.nelement() for p in probe.parameters())
    working = 4 * weights + sum(saved) + _nbytes(batch)
    estimate = ScheduleEstimate(times[-1] * updates, _nbytes(train) if data_bytes is None else data_bytes,
                                device.type, working)
    if device.type == "cpu" and estimate.seconds > CPU_WARNING_SECONDS:
        warnings.warn(f"this training needs {estimate} -- the profile is meant for a GPU "
                      "(device='cuda'); on this CPU it will take that long", RuntimeWarning, stacklevel=3)
    return estimate


def train_schedule(model, steps, train, validation, hamiltonian, directory, *, seed=0, name="series",
                   batch_size=100, lr=1e-3, adam_betas=(0.9, 0.999), device="auto", checkpoint_every=10,
                   params=None, callback=None, progress=True, normalisation="per_spin", precision="auto",
                   channels_last="auto", compile="auto", desc=None):
    """Train ``model`` through ``steps`` in order, resumably; return the history.

    Each step is one :func:`fit` of ``step.epochs`` epochs of mini-batch
    Adam (a fresh optimiser, as re-compiling a Keras model with new loss
    weights does) on ``L_RC + beta L_KL + gamma L_H``
    (:func:`mag_ml.models.vae_losses`), starting from the weights the
    previous step ended with (the first step from ``model`` as given), then
    evaluates the model on the whole training and validation sets.

    Files in ``directory`` (each written atomically):

    * ``checkpoint.pt``: :func:`fit`'s checkpoint (format of
      :func:`load_checkpoint`; its settings hold ``params`` and the step,
      its ``extra`` the history of the finished steps), every
      ``checkpoint_every`` epochs within a step and at its end; after a
      step it is rewritten for the start of the next one;
    * ``step_NNN.pt``: the model's ``state_dict`` at the end of step NNN;
    * ``history.json``: the complete history, written last: its presence
      marks the series as finished, and a call then only loads it;
    * ``<file>.sha256`` beside each: its SHA-256, verified before any of
      them is read (a damaged file raises
      :class:`mag_ml.files.CorruptFileError`);
    * ``.lock``: held for the whole call (a second training into the same
      directory raises :class:`mag_ml.files.InUseError` at once).

    A call finding a ``checkpoint.pt`` resumes from it; on the CPU the
    resumed run ends with exactly the history and weights of an
    uninterrupted one.

    Parameters
    ----------
    model : SpinVAE
        Initial weights (ignored when resuming); trained in place and left
        with the final weights.
    steps : sequence of Step
    train, validation : array_like, torch.Tensor or mag_ml.data.SplitStates, shape (n, 3, L, L), float32
        Unit-vector spin states.  Arrays are moved to ``device`` once; a
        dataset split is read whole onto the device when both splits take
        at most :data:`RESIDENT_SHARE` of its free memory
        (:func:`mag_ml.checks.device_memory`), else it streams from its file
        in blocks (:func:`fit`'s ``shuffle_block``; evaluations and energies
        in batches).
    hamiltonian : mag_ml.Hamiltonian
        Energy of ``L_H``.
    directory : str or os.PathLike
        Where the files above go (created).
    seed : int
        Base of every derived seed (initial shuffles, noise, evaluation).
    name : str
        Series name: part of the derived seeds (and, without ``desc``, the
        label of the estimate line and progress bar).
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
    normalisation : {"per_spin", "sum"}, default "per_spin"
        Of the loss terms (:func:`mag_ml.models.vae_losses`); the history's
        losses are in the same normalisation.
    precision, channels_last, compile : default "auto"
        As in :func:`fit`: on CUDA bf16 autocast, channels-last and
        ``torch.compile``; on the CPU none of them (float32, bit-identical
        on resume).
    desc : str, optional
        Label of the estimate line and progress bar (default ``name``); not
        part of the seeds or of the checkpoint's settings.

    Returns
    -------
    list of dict
        One entry per step: ``step``, ``beta``, ``gamma``, ``epochs``;
        ``train`` and ``validation``: dicts of the loss terms ``rc``, ``kl``,
        ``h``, ``total`` of the end-of-step model (eval mode, whole set);
        ``train_energy`` and ``validation_energy``: mean ``L_H`` of the
        input states themselves (:func:`mag_ml.models.energy_losses`, float64);
        ``epoch_train``: per-epoch training means of each
        term (lists, in train mode, averaged over the epoch's batches).

    Raises
    ------
    TrainingDivergedError
        A NaN or infinite loss; the message names step, epoch and batch; the
        last checkpoint is left untouched.
    mag_ml.checks.TooLargeError
        One update (plus the states held on the device) needs more memory
        than the device has free: raised before training starts, with the
        estimate.
    ValueError
        Bad arguments (a ``device`` not available among them), or a checkpoint written for other parameters
        (:class:`mag_ml.files.MismatchError`), or a damaged or unverifiable
        file in ``directory`` (:class:`mag_ml.files.CorruptFileError`: the
        message names it and says what to delete).
    mag_ml.files.InUseError
        Another process is training in ``directory``.
    """
    steps = [s if isinstance(s, Step) else Step(**s) for s in steps]
    if not steps:
        raise ValueError("steps must hold at least one Step")
    if not isinstance(batch_size, int) or batch_size < 2:
        raise ValueError(f"batch_size must be an int >= 2 (batch norm), got {batch_size!r}")
    if not isinstance(checkpoint_every, int) or checkpoint_every < 0:
        raise ValueError(f"checkpoint_every must be an int >= 0, got {checkpoint_every!r}")
    if normalisation not in NORMALISATIONS:
        raise ValueError(f"normalisation must be one of {NORMALISATIONS}, got {normalisation!r}")
    device = resolve_device(device)  # an unavailable device fails here, even for a finished series
    _speed_options(device, precision, channels_last, compile)
    directory = Path(directory)
    if params is None:
        params = dict(steps=[s.as_dict() for s in steps], seed=seed, name=name, batch_size=batch_size, lr=lr,
                      adam_betas=list(adam_betas), hamiltonian=hamiltonian.as_dict(), model=model.config())
    # the normalisation changes what a step trains, so a checkpoint of the other one never matches
    params = to_jsonable(dict(params, normalisation=normalisation))
    with _training_lock(directory):
        return _train_schedule(model, steps, train, validation, hamiltonian, directory, seed, name, batch_size, lr,
                               adam_betas, device, checkpoint_every, params, callback, progress, normalisation,
                               (precision, channels_last, compile), desc or name)


def _states(data, device, resident):
    """A split as :func:`train_schedule` trains on it: a float32 tensor on ``device``, or the split (streamed)."""
    if isinstance(data, SplitStates):
        if not resident:
            return data
        data = data[:]
    return torch.as_tensor(np.asarray(data) if not torch.is_tensor(data) else data, dtype=torch.float32).to(device)


def _train_schedule(model, steps, train, validation, hamiltonian, directory, seed, name, batch_size, lr, adam_betas,
                    device, checkpoint_every, params, callback, progress, normalisation, speed, label):
    """:func:`train_schedule` with its arguments checked, under the directory's lock."""
    history_path = directory / HISTORY
    if history_path.exists():
        done = load_history(history_path)
        check_matches(history_path, done.get("params"), params, what="series",
                      hint=f" Delete {directory} to retrain.")
        _check_steps(directory, len(steps) - 1)  # every finished file verified, the last one loaded
        model.load_state_dict(load_step_weights(directory, len(steps) - 1))
        return done["history"]

    precision, channels_last, compile = speed
    model.to(device)
    free = device_memory(device)
    data_bytes = _nbytes(train) + _nbytes(validation)
    resident = free is None or data_bytes <= RESIDENT_SHARE * free
    train, validation = _states(train, device, resident), _states(validation, device, resident)
    if len(train) < 2:
        raise ValueError(f"train must hold at least 2 states, got {len(train)}")
    key = series_key(name)

    # where an interrupted run stopped: the checkpoint's step (its settings) and the finished steps' history
    history, start = [], 0
    path = directory / CHECKPOINT
    ckpt = load_checkpoint(path)
    if ckpt is not None:
        check_matches(path, ckpt["settings"].get("params"), params, what="checkpoint",
                      hint=f" Delete {directory} to restart the series.")
        history, start = ckpt["extra"]["history"], ckpt["settings"]["step"]
        model.load_state_dict(ckpt["model"])
        _check_steps(directory, start)  # the finished steps' files are kept: verify them before going on
    energies = {f"{split}_energy": float(energy_losses(x, hamiltonian, batch_size=batch_size, device=device).mean())
                for split, x in (("train", train), ("validation", validation))}
    if start < len(steps):  # time and memory known before the run starts; too much memory fails here
        held = _nbytes(train) + _nbytes(validation) if not isinstance(train, SplitStates) else 0
        estimate = estimate_schedule(model, train, steps[start:], batch_size, hamiltonian, normalisation,
                                     precision=precision, channels_last=channels_last, data_bytes=held)
        if free is not None:
            check_memory(estimate.working_bytes + held, f"train_schedule({name!r}) on {device}", limit=free,
                         hint=f"estimate: {estimate}; use a smaller batch_size or a device with more memory")
        if progress:
            print(f"{label}: {estimate}", flush=True)
    bar = progress_bar(total=sum(s.epochs for s in steps), desc=label, unit="epoch", disable=not progress,
                       initial=sum(s.epochs for s in steps[:start]))
    try:
        for k in range(start, len(steps)):
            step = steps[k]
            bar.set_description(f"{label}: beta={step.beta:g}, gamma={step.gamma:g}")
            result = _fit(model, (train,), None, _vae_loss(hamiltonian, step.beta, step.gamma, normalisation),
                          step.epochs,
                          batch_size, lr, 0.0, adam_betas, directory, seed, device, bar,
                          f"{label}: step {k} (beta={step.beta:g}, gamma={step.gamma:g})", name, k,
                          checkpoint_every or step.epochs, dict(params=params, step=k), dict(history=history),
                          None if callback is None else
                          lambda e, k=k, n=step.epochs: e + 1 < n and callback("epoch", k, e, history),
                          (precision, channels_last, compile, None))
            gen = torch.Generator(device=device).manual_seed(derived_seed(seed, key, k, _EVAL_EPOCH))
            entry = dict(step=k, beta=step.beta, gamma=step.gamma, epochs=step.epochs,
                         train=evaluate(model, train, hamiltonian, beta=step.beta, gamma=step.gamma,
                                        batch_size=batch_size, generator=gen, normalisation=normalisation),
                         validation=evaluate(model, validation, hamiltonian, beta=step.beta, gamma=step.gamma,
                                             batch_size=batch_size, generator=gen, normalisation=normalisation),
                         **energies, epoch_train={t: result.history["terms"][t] for t in LOSS_TERMS})
            for split in ("train", "validation"):
                bad = {t: v for t, v in entry[split].items() if not math.isfinite(v)}
                if bad:
                    raise TrainingDivergedError(f"{name}: non-finite {split} loss after step {k} "
                                                f"(beta={step.beta:g}, gamma={step.gamma:g}), epoch "
                                                f"{step.epochs - 1}: {bad}")
            history.append(entry)
            _save(model.state_dict(), step_weights(directory, k))
            # the start of the next step: same format, no optimiser state, no epochs yet
            _save(dict(settings=dict(params=params, step=k + 1), model=model.state_dict(), optimizer=None,
                       history={"train": [], "validation": []}, extra=dict(history=history)), path)
            if callback is not None:
                callback("step", k, step.epochs - 1, history)
    finally:
        bar.close()
    with atomic_path(history_path, digest=True) as tmp:
        save_json(dict(params=params, history=history), tmp)
    return history
