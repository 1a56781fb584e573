"""Resumable, executor-agnostic generation of spin-state datasets.

The E-VAE dataset of Kwon et al. (Adv. Sci. 2021) is 39,300 metastable states
of the 2D Heisenberg model with DMI, each from an independent Monte Carlo
simulated anneal (30,000 / 5,000 / 4,300 for training / validation / test).
:func:`generate_dataset` maps :func:`mag_ml.physics.monte_carlo.anneal` over
the samples through any :class:`concurrent.futures.Executor` and writes an
HDF5 file in the layout of :mod:`mag_ml.data.storage`.

Sample ``i`` is ``anneal(hamiltonian, shape, schedule, seed=seed, sample=i, relax_tol=relax_tol)``,
whose random stream depends only on ``(seed, i)``: the file holds the same
numbers whether it is made serially, by local processes, threads or a dask
cluster, in one run or in several interrupted ones.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import os
import queue
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from mag_ml.progress import progress_bar

import mag_ml.files as files
from mag_ml.files import move_into_place
from mag_ml.checks import check_int, check_memory, format_bytes, resolve_device
from mag_ml.data.storage import (DatasetBusyError, DatasetCorruptError, DatasetError, create_dataset_file,
                                 create_records_file, dataset_params, find_bad_records, find_bad_states, load_records,
                                 open_dataset, open_records, records_params, write_record, write_state)
from mag_ml.physics.hamiltonian import Hamiltonian
from mag_ml.physics.monte_carlo import AnnealSchedule, anneal
from mag_ml.physics.topology import topological_charge

__all__ = ["generate_dataset", "generate_records", "load_records", "work_path", "anneal_samples",
           "anneal_samples_torch", "monte_carlo_backend", "estimate_generation", "measure_update_rate",
           "GenerationEstimate", "LongRunWarning", "SerialExecutor", "remove_stale_temporaries"]


class SerialExecutor(cf.Executor):
    """Executor that runs each task at once in the calling thread.

    For debugging and small runs: no processes, tracebacks point at the task.
    The generators write each result as soon as its ``submit`` returns, so an
    interruption (Ctrl-C) keeps every finished item.  Exceptions of a task
    are stored in its future; ``KeyboardInterrupt`` and ``SystemExit``
    propagate from ``submit`` at once.
    """

    def submit(self, fn, /, *args, **kwargs):
        future = cf.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as err:  # stored like any executor's; re-raised by .result()
            future.set_exception(err)
        return future


def anneal_samples(hamiltonian, shape, schedule, seed, relax_tol, samples):
    """Anneal the given samples; the task that :func:`generate_dataset` maps.

    Parameters
    ----------
    hamiltonian : Hamiltonian
    shape : tuple of int
        Lattice shape (H, W).
    schedule : AnnealSchedule
    seed : int
    relax_tol : float
        Threshold of the final T = 0 relaxation (see :func:`anneal`).
    samples : list of int
        Sample indices; sample i depends only on (seed, i).

    Returns
    -------
    list of (int, ndarray, float, float)
        ``(i, spins, energy, charge)`` per sample: the relaxed state
        ``(3, H, W)`` float64, its total energy (units of J) from
        :meth:`Hamiltonian.energy` and its Berg-Luscher charge from
        :func:`topological_charge`, both on the float64 state.
    """
    return [_item(hamiltonian, i, anneal(hamiltonian, tuple(shape), schedule, seed=seed, sample=int(i),
                                         relax_tol=relax_tol).spins) for i in samples]


def anneal_samples_torch(hamiltonian, shape, schedule, seed, relax_tol, device, samples):
    """Anneal the given samples as one batch with the torch backend (:func:`mag_ml.physics.monte_carlo_torch.anneal_batch`).

    Parameters
    ----------
    hamiltonian, shape, schedule, seed, relax_tol, samples
        As :func:`anneal_samples`.
    device : str
        Torch device of the batch, ``"cpu"`` or ``"cuda[:K]"``; on CUDA the
        Metropolis update is compiled (``torch.compile``, eager if that fails).

    Returns
    -------
    list of (int, ndarray, float, float)
        As :func:`anneal_samples`; state i depends only on (seed, i) and the
        device kind (CPU or CUDA round differently), not on the batch.
    """
    from mag_ml.physics.monte_carlo_torch import anneal_batch

    states = anneal_batch(hamiltonian, tuple(shape), schedule, seed=seed, samples=[int(i) for i in samples],
                          relax_tol=relax_tol, device=device, compile=device.startswith("cuda")).spins.cpu().numpy()
    return [_item(hamiltonian, i, s) for i, s in zip(samples, states)]


def _item(hamiltonian, i, spins):
    """``(i, spins, energy, charge)`` of one relaxed state, observables on the float64 state."""
    spins = np.ascontiguousarray(spins, dtype=np.float64)
    return (int(i), spins, float(hamiltonian.energy(spins)),
            float(topological_charge(spins, boundary=hamiltonian.boundary)))


#: ``device`` values of :func:`generate_dataset`.
DEVICES = ("auto", "cpu", "numba", "torch-cpu", "cuda", "cuda:K")


def monte_carlo_backend(device="auto"):
    """The Monte Carlo backend that a ``device`` of :func:`generate_dataset` selects.

    Parameters
    ----------
    device : str
        ``"auto"``: the torch backend on CUDA when a GPU is present, else
        numba on the CPU; ``"cpu"`` or ``"numba"``: numba; ``"torch-cpu"``:
        the torch backend on the CPU; ``"cuda"`` or ``"cuda:K"``: the torch
        backend on that GPU.

    Returns
    -------
    (str, str or None)
        ``("numba", None)`` or ``("torch", torch_device_name)``.

    Raises
    ------
    ValueError
        An unknown value, or a CUDA device this machine does not have (named
        in the message).
    """
    if not isinstance(device, str) or not (device in DEVICES[:5] or device.startswith("cuda:")):
        raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
    if device in ("cpu", "numba"):
        return "numba", None
    if device == "torch-cpu":
        return "torch", "cpu"
    if device == "auto":
        dev = resolve_device("auto")
        return ("torch", str(dev)) if dev.type == "cuda" else ("numba", None)
    return "torch", str(resolve_device(device))


def work_path(path):
    """Work file of an unfinished dataset: ``<path>.partial`` in the same folder."""
    path = Path(path)
    return path.with_name(path.name + ".partial")


def remove_stale_temporaries(path):
    """Remove temporary files a killed run left beside ``path`` and its work file; return the paths removed.

    The names are those :func:`mag_ml.files.atomic_path` gives
    (``.<name>.<8 hex>.tmp<suffix>``); one that another process holds locked
    (an open HDF5 writer) is left alone (:func:`mag_ml.files.remove_stale_temporaries`).
    The work file itself is not a temporary: it is resumed.
    """
    path = Path(path)
    return files.remove_stale_temporaries(path.parent, names={path.name, work_path(path).name})


def _single_thread_worker(parent=None):
    """Initializer of the default worker processes: one numba thread each (no oversubscription).

    With ``parent`` (the pid of the process that made the pool) the worker
    also exits when that process is gone (:func:`_exit_with_parent`).
    """
    import numba

    numba.set_num_threads(1)
    if parent is not None:
        _exit_with_parent(parent)


def _exit_with_parent(pid, interval=0.5):
    """Start a daemon thread that ends this process (``os._exit``) once process ``pid`` has died.

    The pool's workers are children of the forkserver, which lives as long as
    they do, so neither notices a main process killed with SIGKILL (or by the
    out-of-memory killer): this watchdog does.  It waits on a pidfd (Linux),
    else polls ``pid`` every ``interval`` seconds (a zombie counts as dead).
    """
    import threading
    import time

    def alive():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                return f.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
        except (OSError, IndexError):
            return True

    def watch():
        try:
            fd = os.pidfd_open(pid)
        except (AttributeError, OSError):
            fd = None
        if fd is not None:
            import select

            select.select([fd], [], [])  # readable once pid has exited
        else:
            while alive():
                time.sleep(interval)
        os._exit(1)

    threading.Thread(target=watch, name="mag_ml-parent-watchdog", daemon=True).start()


class _WorkerPool(cf.ProcessPoolExecutor):
    """The default pool: SIGTERM interrupts like Ctrl-C while it is open, workers end with a failed run.

    From creation to :meth:`shutdown` (the generating call's ``finally``)
    SIGTERM raises :class:`KeyboardInterrupt` in the main thread, as SIGINT
    does; the previous handler is restored at shutdown.  A shutdown that
    does not wait (after a failure or an interruption) also terminates the
    workers, whose results would be discarded anyway.
    """

    def __init__(self, *args, **kwargs):
        import signal
        import threading

        super().__init__(*args, **kwargs)
        self._sigterm = None  # (previous handler,) while ours is installed
        if threading.current_thread() is threading.main_thread():
            self._sigterm = (signal.signal(signal.SIGTERM, _sigterm_as_interrupt),)

    def shutdown(self, wait=True, *, cancel_futures=False):
        import signal

        try:
            workers = list((getattr(self, "_processes", None) or {}).values())
            super().shutdown(wait=wait, cancel_futures=cancel_futures)
            if not wait:
                for process in workers:
                    if process.is_alive():
                        process.terminate()
        finally:
            saved, self._sigterm = self._sigterm, None
            if saved is not None:
                signal.signal(signal.SIGTERM, signal.SIG_DFL if saved[0] is None else saved[0])


def _sigterm_as_interrupt(signum, frame):
    raise KeyboardInterrupt(f"terminated by signal {signum} (SIGTERM)")


def _default_executor(n_tasks):
    # forkserver/spawn: a forked child of a process that already ran OpenMP (numba) or torch can hang
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    workers = max(1, min(os.cpu_count() or 1, n_tasks))
    return _WorkerPool(max_workers=workers, mp_context=multiprocessing.get_context(method),
                       initializer=_single_thread_worker, initargs=(os.getpid(),))


def _open_work_file(work, params, overwrite, *, open_file, find_bad, create):
    """Open the work file for resuming, or create it exclusively; return an h5py.File in write mode.

    Finished items of a resumed work file are verified; those that fail are
    computed again (with a warning).  A damaged work file is discarded.
    Returns None when another process created the work file between the
    existence check and the creation (the caller looks again).
    """
    if work.exists():
        try:
            f = open_file(work, params, require_complete=False, mode="r+",
                          hint=" It holds an unfinished run with other parameters: pass "
                               "overwrite=True to discard it, or use another path.")
        except DatasetCorruptError as err:
            warnings.warn(f"discarding the unreadable work file {work} and starting again ({err})",
                          RuntimeWarning, stacklevel=4)
        except DatasetError:
            if not overwrite:
                raise
        else:
            try:
                bad = find_bad(f, work)
                if bad:
                    warnings.warn(f"work file {work}: {len(bad)} finished item(s) fail verification and are "
                                  f"computed again ({'; '.join(f'{i}: {why}' for i, why in bad[:3])})",
                                  RuntimeWarning, stacklevel=4)
                    done = f["done"][()]
                    done[[i for i, _ in bad]] = False
                    f["done"][...] = done
                    f.flush()
                return f
            except DatasetCorruptError as err:
                f.close()
                warnings.warn(f"discarding the unreadable work file {work} and starting again ({err})",
                              RuntimeWarning, stacklevel=4)
            except BaseException:
                f.close()
                raise
        with contextlib.suppress(FileNotFoundError):
            work.unlink()
    try:
        return create(work, params)
    except FileExistsError:  # another process created it in the meantime
        return None


#: Relaxation sweeps of a state, as a fraction of its annealing sweeps, allowed for in estimates (the T = 0
#: relaxation stops at convergence, so its length is not known in advance; about 0.1-0.3 in the quick profiles).
RELAX_FRACTION = 0.3
#: Working memory of the torch backend per site of each state in a batch (state, field, proposals, draws).
TORCH_BYTES_PER_SITE = 480
#: Estimated runs longer than this (seconds) print their estimate, and warn when they run on a CPU.
LONG_RUN_SECONDS = 180.0
_LONG_RUN_UPDATES = 1e10  # below this, a run takes minutes at most at any backend's rate: no measurement


class LongRunWarning(UserWarning):
    """A dataset generation estimated to take long on this machine (a paper-size run on a CPU)."""


@dataclass(frozen=True)
class GenerationEstimate:
    """Estimated cost of a dataset generation (:func:`estimate_generation`).

    Attributes
    ----------
    seconds : float
        Wall time of the whole run.
    updates_per_s : float
        Single-spin Metropolis updates per second of all workers together, measured.
    working_bytes : int
        Memory of the running batches (torch: on the device) or workers (numba).
    file_bytes : int
        Size of the dataset's spins on disk.
    backend : str
        ``"numba"`` or ``"torch"``.
    device : str
        ``"cpu"`` or the CUDA device.
    workers : int
        Processes (numba) or 1 (torch).
    """

    seconds: float
    updates_per_s: float
    working_bytes: int
    file_bytes: int
    backend: str
    device: str
    workers: int

    def __str__(self):
        hours = self.seconds / 3600
        when = f"{hours:.3g} h" if hours >= 1 else f"{self.seconds / 60:.3g} min"
        where = (f"numba on {self.workers} CPU worker(s)" if self.backend == "numba" else f"torch on {self.device}")
        return (f"about {when} with {where} ({self.updates_per_s / 1e6:.3g} M updates/s measured), "
                f"{format_bytes(self.working_bytes)} working memory, {format_bytes(self.file_bytes)} of spins on disk")


def measure_update_rate(hamiltonian, shape, *, device="cpu", batch=1, seconds=0.3):
    """Measured Metropolis updates per second of one worker (numba, one thread) or one torch batch.

    Parameters
    ----------
    hamiltonian : Hamiltonian
    shape : tuple (H, W)
        Lattice shape, two even integers.
    device : str
        A ``device`` of :func:`generate_dataset` (see :func:`monte_carlo_backend`).
    batch : int
        States per torch batch (the rate of a GPU grows with it); ignored by numba.
    seconds : float
        Rough duration of the measurement, after one warm-up sweep.

    Returns
    -------
    float
        Attempted single-spin updates per second (sweeps x sites x states / s).

    Raises
    ------
    ValueError
        Bad shape, batch or device.
    """
    import numba
    import torch

    from mag_ml.physics.monte_carlo import MonteCarloChain
    from mag_ml.physics.monte_carlo_torch import BatchChain

    h, w = shape
    check_int(batch, "batch", minimum=1)
    backend, torch_device = monte_carlo_backend(device)
    if backend == "numba":
        chain, batch = MonteCarloChain(hamiltonian, (h, w)), 1
    else:
        chain = BatchChain(hamiltonian, (h, w), samples=range(batch), device=torch_device,
                           compile=torch_device.startswith("cuda"))  # as anneal_samples_torch
    before = numba.get_num_threads()
    numba.set_num_threads(1)  # the dataset's numba workers run one thread each
    try:
        chain.sweep(0.5, 1)  # warm-up (and compile)
        n, per_call, start = 0, 1, time.perf_counter()
        while time.perf_counter() - start < seconds:
            t = time.perf_counter()
            chain.sweep(0.5, per_call)
            if torch_device is not None and torch_device.startswith("cuda"):
                torch.cuda.synchronize(torch_device)
            n += per_call
            if time.perf_counter() - t < 0.05:
                per_call *= 2  # calls of >= 50 ms: the per-call cost stays small
    finally:
        numba.set_num_threads(before)
    return n * h * w * batch / (time.perf_counter() - start)


def estimate_generation(*, hamiltonian, shape, schedule, n_states, device="auto", workers=None, chunk=None,
                        dtype="float32", rate=None):
    """Estimate the time and memory of :func:`generate_dataset` from a measured update rate.

    Time = ``n_states`` x sites x annealing sweeps x (1 + :data:`RELAX_FRACTION`)
    / rate, where the rate is measured here (:func:`measure_update_rate`, about
    a second) unless given, times the workers for numba.

    Parameters
    ----------
    hamiltonian, shape, schedule, n_states, device, chunk, dtype
        As :func:`generate_dataset`.
    workers : int, optional
        Numba worker processes; default ``os.cpu_count()`` (the default executor's).
    rate : float, optional
        Updates per second of one worker or batch (e.g. from ``benchmarks/paper_scale.py``).

    Returns
    -------
    GenerationEstimate

    Raises
    ------
    ValueError
        Bad sizes, device or rate.
    """
    h, w = shape
    n_states = check_int(n_states, "n_states", minimum=1)
    backend, torch_device = monte_carlo_backend(device)
    if backend == "numba":
        workers = max(1, min(n_states, os.cpu_count() or 1)) if workers is None else check_int(workers, "workers",
                                                                                               minimum=1)
        batch = 1
        working = workers * 8 * 24 * h * w  # a worker's state, its packed copy, snapshots of the result
    else:
        workers = 1
        batch = min(n_states, chunk or (1024 if torch_device.startswith("cuda") else 64))
        working = batch * TORCH_BYTES_PER_SITE * h * w
    if rate is None:
        rate = measure_update_rate(hamiltonian, (h, w), device=device, batch=batch if backend == "torch" else 1)
    if not (rate > 0 and np.isfinite(rate)):
        raise ValueError(f"rate must be a positive number of updates per second, got {rate!r}")
    updates = n_states * h * w * schedule.n_sweeps * (1.0 + RELAX_FRACTION)
    total_rate = rate * workers
    return GenerationEstimate(seconds=updates / total_rate, updates_per_s=total_rate, working_bytes=int(working),
                              file_bytes=int(n_states * 3 * h * w * np.dtype(dtype).itemsize), backend=backend,
                              device=torch_device or "cpu", workers=workers)


def _announce(estimate, n_states, progress):
    """Print a long run's estimate; warn when it runs on a CPU; refuse a batch larger than the device's memory."""
    if estimate.device.startswith("cuda"):
        import torch

        free, _ = torch.cuda.mem_get_info(torch.device(estimate.device))
        check_memory(estimate.working_bytes, f"generate_dataset(n_states={n_states}) on {estimate.device}",
                     hint=f"{estimate}; pass a smaller chunk (states per batch)", limit=free)
    if estimate.seconds <= LONG_RUN_SECONDS:
        return
    if progress:
        print(f"generate_dataset: {n_states} states (less the finished ones when resuming), {estimate}")
    if estimate.device == "cpu":
        warnings.warn(f"this dataset generation ({n_states} states) is estimated to take {estimate} on this CPU; "
                      "a paper-size dataset wants a GPU (device='auto' uses one when present). "
                      "It can be interrupted and resumed.", LongRunWarning, stacklevel=3)


def generate_dataset(path, *, hamiltonian, shape, schedule, n_states, splits=None, seed, dtype="float32",
                     relax_tol=None, executor=None, chunk=None, max_in_flight=256, progress=True, overwrite=False,
                     device="auto"):
    """Generate (or find) an HDF5 dataset of annealed spin states.

    Reproduces the dataset construction of Kwon et al., Adv. Sci. 2021 (E-VAE):
    independent Monte Carlo simulated anneals from random states, each relaxed
    at T = 0 to a metastable state (paper: 128 x 128, J = 1, D = 0.3,
    B = 0.05, periodic, 39,300 states split 30,000 / 5,000 / 4,300).

    Parameters
    ----------
    path : str or os.PathLike
        Destination ``.h5`` file, e.g. from :func:`mag_ml.artifacts.artifact_path`.
    hamiltonian : Hamiltonian
        Model, reduced units (J = 1).
    shape : tuple of int
        Lattice shape ``(H, W)``, two even integers (checkerboard updates).
    schedule : AnnealSchedule
        Cooling schedule of every anneal.
    n_states : int
        Number of states N >= 1.
    splits : tuple of 3 int or dict, optional
        ``(train, validation, test)`` counts summing to ``n_states``; default
        all train.  Splits are contiguous blocks in that order.
    seed : int
        State i is ``anneal(hamiltonian, shape, schedule, seed=seed, sample=i)``.
    dtype : {"float32", "float64"}
        Storage dtype of ``spins`` (energies and charges are always computed
        on the float64 states and stored as float64).
    relax_tol : float, optional
        Threshold of the final T = 0 relaxation of each anneal; default that
        of :func:`mag_ml.physics.monte_carlo.anneal`.  Recorded in the file.
    executor : concurrent.futures.Executor or "serial", optional
        Where the anneals run.  Default ``None``: with numba a local
        ``ProcessPoolExecutor`` with ``os.cpu_count()`` workers (one numba
        thread each), shut down at the end; with the torch backend
        ``"serial"`` (the batches run on the device from this process).  Any
        executor works, e.g. a ``ThreadPoolExecutor`` or a dask cluster's
        ``Client.get_executor()`` (workers must be able to import ``mag_ml``);
        a given executor is not shut down.  ``"serial"`` runs in this thread.
    chunk : int, optional
        Samples per task (larger chunks amortise task overhead on clusters);
        with the torch backend, the batch annealed at once.  Default 1 with
        numba, 1024 on CUDA and 64 with torch on the CPU.
    max_in_flight : int, optional
        Most tasks submitted at once; bounds the memory held by finished but
        not yet written results.  Raise it above the worker count of a large
        cluster.
    progress : bool, optional
        Show a tqdm progress bar (states done, including resumed ones).
    overwrite : bool, optional
        Replace a file at ``path`` (or a work file) made with other
        parameters or damaged.  The old file stays in place until the new one
        is complete.
    device : str, optional
        Monte Carlo backend (:func:`monte_carlo_backend`): ``"auto"`` (the
        torch backend, :mod:`mag_ml.physics.monte_carlo_torch`, on a GPU
        when one is present, else numba), ``"cpu"``/``"numba"``,
        ``"torch-cpu"``, ``"cuda"``/``"cuda:K"``.  Both backends sample the
        same distribution with the same random keys, but a GPU rounds
        differently, so its states are other draws (a different file); the
        backend is not part of the file's parameters, so a file made by
        either is found and used.

    Returns
    -------
    pathlib.Path
        ``path``, a complete dataset (see :mod:`mag_ml.data.storage`).

    Raises
    ------
    ValueError
        Bad sizes: ``n_states < 1``, splits not summing to ``n_states``,
        odd or non-positive lattice sides, bad seed, dtype, chunk; an
        unknown ``device`` or a CUDA device this machine does not have.
    TypeError
        ``hamiltonian`` not a Hamiltonian, ``schedule`` not an AnnealSchedule,
        ``executor`` not an Executor.
    IsADirectoryError
        ``path`` is a directory.
    DatasetMismatchError
        A file or work file at ``path`` was made with other parameters (names
        the attribute) and ``overwrite`` is False.
    DatasetCorruptError
        A damaged, edited, older-format or incomplete file sits at ``path``
        and ``overwrite`` is False (the message names the file and what
        failed).
    DatasetBusyError
        Another process is writing the work file of ``path`` (an ``OSError``;
        its work is left untouched).
    TooLargeError
        A torch batch (``chunk`` states) would not fit in the GPU's free
        memory; the message gives the estimate.

    Warns
    -----
    LongRunWarning
        A run estimated (:func:`estimate_generation`, from an update rate
        measured first) to take more than :data:`LONG_RUN_SECONDS` on a CPU,
        such as the paper's 39,300 states of 128 x 128; the estimate is also
        printed (with ``progress``) on any device.

    Notes
    -----
    Resuming: results are written to ``<path>.partial`` as they arrive (with
    ``"serial"`` right after each task), each state's digest and ``done``
    flag flushed after its data.  After an interruption (Ctrl-C, a killed
    kernel or job) the same call skips the states already done, after
    verifying them (one that fails is computed again, with a warning; an
    unreadable work file is discarded), and ends with exactly the file an
    uninterrupted run gives.  The work file is created exclusively (never
    truncating a file another process holds), verified completely
    (checksums, digests, energies and charges recomputed from the stored
    spins, see :mod:`mag_ml.data.storage`), flushed to disk and renamed to
    ``path`` (atomically) once every state is done.  A file at ``path`` with
    the same parameters is verified the same way and returned.  Temporary
    files a killed run left beside ``path`` are removed first.  A task that
    raises does not stop the others: every other state is still written, then
    the first error is raised, and the same call computes only what is missing.
    """
    if not isinstance(hamiltonian, Hamiltonian):
        raise TypeError(f"hamiltonian must be a Hamiltonian, got {type(hamiltonian).__name__}")
    if not isinstance(schedule, AnnealSchedule):
        raise TypeError(f"schedule must be an AnnealSchedule, got {type(schedule).__name__}")
    params = dataset_params(hamiltonian=hamiltonian, shape=shape, schedule=schedule, n_states=n_states,
                            splits=splits, seed=seed, dtype=dtype, relax_tol=relax_tol)
    backend, torch_device = monte_carlo_backend(device)
    task_args = (hamiltonian, tuple(params["shape"]), schedule, params["seed"], params["relax_tol"])
    task = anneal_samples
    if backend == "torch":
        task, task_args = anneal_samples_torch, task_args + (torch_device,)
        executor = "serial" if executor is None else executor
        chunk = (1024 if torch_device.startswith("cuda") else 64) if chunk is None else chunk
    chunk = 1 if chunk is None else chunk
    h, w = params["shape"]
    if params["n_states"] * h * w * schedule.n_sweeps > _LONG_RUN_UPDATES and not Path(path).exists():
        workers = getattr(executor, "_max_workers", None) if executor not in (None, "serial") else (
            1 if executor == "serial" else None)
        _announce(estimate_generation(hamiltonian=hamiltonian, shape=(h, w), schedule=schedule,
                                      n_states=params["n_states"], device=device, workers=workers, chunk=chunk,
                                      dtype=dtype), params["n_states"], progress)

    def write_item(f, item):
        i, spins, energy, charge = item
        write_state(f, i, spins, energy=energy, topological_charge=charge)

    return _generate(path, params, params["n_states"], open_file=open_dataset, find_bad=find_bad_states,
                     create=create_dataset_file, task=task, task_args=task_args, write_item=write_item,
                     chunk=chunk, executor=executor, max_in_flight=max_in_flight, progress=progress,
                     overwrite=overwrite, desc=None, unit="state")


def generate_records(path, *, params, fields, n_items, task, task_args=(), chunk=1, executor=None,
                     max_in_flight=256, progress=True, overwrite=False, desc=None):
    """Generate (or find) an HDF5 table of independent records, resumably, on any executor.

    The generic form of :func:`generate_dataset` for datasets that are not
    annealed spin states (micromagnetic images over a parameter grid, defect
    statistics over (sigma, tau), ...): record ``i`` is computed by
    ``task(*task_args, [i, ...])`` somewhere, written here with its ``done``
    flag, and skipped when the same call is made again after an interruption.

    Parameters
    ----------
    path : str or os.PathLike
        Destination ``.h5`` file, e.g. from :func:`mag_ml.artifacts.artifact_path`.
    params : dict
        JSON-able parameters that determine every record (seed included);
        stored in the file and verified when it is found again.
    fields : dict
        ``{name: (item_shape, dtype)}``: each record holds one array of that
        shape and dtype per field, e.g. ``{"spins": ((3, 64, 64), "float32"),
        "width": ((), "float64")}``.
    n_items : int
        Number of records, >= 1.
    task : callable
        Module-level (picklable) function ``task(*task_args, indices)`` returning
        ``[(i, {name: array}), ...]`` for the given record indices.  Record
        ``i`` must depend only on ``(params, i)`` (derive its random stream
        from ``(seed, i)``), so the file is the same on any executor and after
        any interruption.
    task_args : tuple, optional
        Leading arguments of every ``task`` call (picklable).
    chunk, executor, max_in_flight, progress, overwrite
        As in :func:`generate_dataset` (default executor: local processes, one
        numba thread each).
    desc : str, optional
        Progress-bar label (default: the file name).

    Returns
    -------
    pathlib.Path
        ``path``, a complete table; read it with :func:`load_records`.

    Raises
    ------
    ValueError
        Bad ``fields``, ``n_items``, ``chunk`` or ``max_in_flight``; a record
        of the wrong shape, dtype or index, or missing a field; a task that
        returns other indices than it was given.
    TypeError
        ``task`` not callable, ``params`` not a dict, a bad ``executor``.
    DatasetMismatchError, DatasetCorruptError
        A file at ``path`` made with other parameters, or damaged (a failing
        checksum, a record not matching its digest, an edited attribute), and
        ``overwrite`` is False.
    DatasetBusyError, IsADirectoryError
        As in :func:`generate_dataset`.
    """
    stored = records_params(params, fields, n_items)
    if not callable(task):
        raise TypeError(f"task must be callable, got {task!r}")
    return _generate(path, stored, stored["n_items"], open_file=open_records, find_bad=find_bad_records,
                     create=lambda p, st: create_records_file(p, st["params"], st["fields"], st["n_items"]),
                     task=task, task_args=tuple(task_args), write_item=lambda f, item: write_record(f, *item),
                     chunk=chunk, executor=executor, max_in_flight=max_in_flight, progress=progress,
                     overwrite=overwrite, desc=desc, unit="item")


def _generate(path, params, n, *, open_file, find_bad, create, task, task_args, write_item, chunk, executor,
              max_in_flight, progress, overwrite, desc, unit):
    """Shared body of the generators: return a complete file, resume a work file, or start one; run the tasks."""
    for name, value in (("chunk", chunk), ("max_in_flight", max_in_flight)):
        check_int(value, name, minimum=1)
    if not (executor is None or executor == "serial" or isinstance(executor, cf.Executor)):
        raise TypeError(f"executor must be None, 'serial' or a concurrent.futures.Executor, got {executor!r}")
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"path must be a file name, but {path} is a directory")
    work = work_path(path)
    remove_stale_temporaries(path)
    for _ in range(3):  # look again if another process creates the work file under our feet
        if path.exists():
            try:
                open_file(path, params, verify_data=True,
                          hint=" Pass overwrite=True to regenerate it, or use another path.").close()
                return path
            except DatasetError:
                if not overwrite:
                    raise
        path.parent.mkdir(parents=True, exist_ok=True)
        f = _open_work_file(work, params, overwrite, open_file=open_file, find_bad=find_bad, create=create)
        if f is not None:
            break
    else:
        raise DatasetBusyError(f"{work} is in use by another process, which keeps creating and removing it")
    try:
        todo = np.flatnonzero(~f["done"][()])
        tasks = [todo[k:k + chunk].tolist() for k in range(0, len(todo), chunk)]
        with progress_bar(total=n, initial=n - len(todo), desc=desc or path.name, unit=unit, disable=not progress) as bar:

            def write(result):
                for item in result:
                    write_item(f, item)
                    bar.update(1)

            if tasks:
                _run(task, task_args, tasks, write, executor, max_in_flight)
    finally:
        f.close()
    open_file(work, params, verify_data=True).close()  # every item done and verified, checksums included
    move_into_place(work, path)  # fsync, then atomic rename
    return path


def _indices(result, samples, fn):
    """The item indices of a task's result; they must be exactly the samples it was given."""
    try:
        got = [item[0] for item in result]
    except (TypeError, IndexError, KeyError):
        raise TypeError(f"task {getattr(fn, '__name__', fn)!r} must return a list of (index, ...) items, got "
                        f"{type(result).__name__}") from None
    integers = [int(i) for i in got if isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_))]
    if len(integers) != len(got) or sorted(integers) != sorted(samples):
        raise ValueError(f"task {getattr(fn, '__name__', fn)!r} returned items for the indices {got} when asked "
                         f"for {samples}; it must return one item per index asked")


def _run(fn, task_args, tasks, write, executor, max_in_flight):
    """Submit ``fn(*task_args, samples)`` per task with at most ``max_in_flight`` pending; ``write`` each result.

    Results are written as soon as they complete, also while tasks are still
    being submitted (a :class:`SerialExecutor` completes each task inside
    ``submit``), so an interruption keeps every finished item.  A task that
    raises does not stop the others: every other result is still written,
    then the first task error is raised (a rerun computes only what failed).
    An error of the executor itself (``submit`` raising, a lost cluster) and
    ``KeyboardInterrupt`` stop at once.
    """
    own = executor is None
    if own:
        executor = _default_executor(len(tasks))
    elif executor == "serial":
        executor = SerialExecutor()
    pending = {}  # future -> samples
    completed = queue.SimpleQueue()  # futures, put by their done-callbacks (in any thread)
    remaining = iter(tasks)
    errors = []  # (samples, exception) of failed tasks
    failed = True

    def drain(block):
        """Write every completed result (waiting for one first if ``block``)."""
        batch = [completed.get()] if block else []
        while True:
            try:
                batch.append(completed.get_nowait())
            except queue.Empty:
                break
        for future in batch:
            samples = pending.pop(future)
            if future.cancelled():
                errors.append((samples, cf.CancelledError(f"the task for samples {samples} was cancelled")))
            elif future.exception() is not None:
                errors.append((samples, future.exception()))
            else:
                result = future.result()
                try:
                    _indices(result, samples, fn)
                except (TypeError, ValueError) as err:
                    errors.append((samples, err))
                    continue
                write(result)  # keep every finished item

    try:
        exhausted = False
        while True:
            while not exhausted and len(pending) < max_in_flight:
                samples = next(remaining, None)
                if samples is None:
                    exhausted = True
                    break
                future = executor.submit(fn, *task_args, samples)
                pending[future] = samples
                future.add_done_callback(completed.put)
                future = None
                drain(block=False)
            if not pending:
                break
            drain(block=True)
        if errors:
            samples, error = errors[0]
            if hasattr(error, "add_note"):
                error.add_note(f"{len(errors)} of {len(tasks)} tasks failed (first: samples {samples}); every other "
                               "result was written, and the same call computes only the missing ones")
            raise error
        failed = False
    finally:
        for future in pending:
            future.cancel()
        if own:  # after a failure or Ctrl-C do not wait for running tasks
            executor.shutdown(wait=not failed, cancel_futures=True)
