"""Dataset generation: any executor gives the same file; interrupted runs resume exactly (mag_ml.data.generation)."""

import concurrent.futures as cf
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import h5py
import numpy as np
import pytest

from mag_ml import AnnealSchedule, Hamiltonian, anneal, topological_charge
from mag_ml.data import (DatasetBusyError, DatasetCorruptError, DatasetMismatchError, dataset_params,
                         generate_dataset, load_observables, load_states, open_dataset)
from mag_ml.data import generation
from mag_ml.data.generation import work_path

H = Hamiltonian(J=1.0, D=0.3, B=0.05)
SHAPE = (12, 12)
SCHEDULE = AnnealSchedule(T_start=1.0, T_end=0.05, n_steps=10, sweeps_per_step=300)  # ~0.15 s a state
N, SPLITS, SEED = 12, (8, 2, 2), 5
# small lattices relax slowly along soft (translation) modes; 1e-7 converges in a few hundred sweeps
RELAX_TOL = 1e-7
KW = dict(hamiltonian=H, shape=SHAPE, schedule=SCHEDULE, n_states=N, splits=SPLITS, seed=SEED, relax_tol=RELAX_TOL,
          progress=False)


class CountingExecutor(cf.ThreadPoolExecutor):
    """Thread pool that counts the samples it is asked to anneal and can fail after a number of tasks."""

    def __init__(self, max_workers=1, fail_after=None):
        super().__init__(max_workers)
        self.samples, self.tasks, self.fail_after = 0, 0, fail_after

    def submit(self, fn, /, *args, **kwargs):
        if self.fail_after is not None and self.tasks >= self.fail_after:
            raise RuntimeError("cluster lost")
        self.tasks += 1
        self.samples += len(args[-1])
        return super().submit(fn, *args, **kwargs)


def all_arrays(path):
    with h5py.File(path, "r") as f:
        return {name: f[name][()] for name in ("spins", "energy", "energy_per_spin", "topological_charge",
                                                "done", "split")}


def assert_same_dataset(a, b):
    ra, rb = all_arrays(a), all_arrays(b)
    for name in ra:
        assert ra[name].tobytes() == rb[name].tobytes(), name


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Uninterrupted serial run, the file every other run must reproduce byte for byte."""
    path = tmp_path_factory.mktemp("ref") / "ref.h5"
    return generate_dataset(path, executor="serial", **KW)


def test_reference_content(reference):
    params = dataset_params(hamiltonian=H, shape=SHAPE, schedule=SCHEDULE, n_states=N, splits=SPLITS, seed=SEED,
                            relax_tol=RELAX_TOL)
    with open_dataset(reference, params) as f:
        assert f["done"][()].all()
    assert load_states(reference, "validation").shape == (2, 3, 12, 12)
    spins = load_states(reference, "all")
    # state i is sample i of the seed; energy and charge from the float64 state
    for i in (0, N - 1):
        state = anneal(H, SHAPE, SCHEDULE, seed=SEED, sample=i, relax_tol=RELAX_TOL).spins
        np.testing.assert_array_equal(spins[i], state.astype(np.float32))
        obs = load_observables(reference, "all")
        assert obs["energy"][i] == H.energy(state)
        assert obs["topological_charge"][i] == topological_charge(state)
    q = load_observables(reference, "all")["topological_charge"]
    np.testing.assert_allclose(q, np.round(q), atol=1e-6)  # integer charge on a periodic lattice
    e = load_observables(reference, "all")["energy_per_spin"]
    assert np.all(e >= -2.0 - 0.05 - 0.3) and np.all(e < -1.5)  # relaxed, near the ferromagnetic -2J - B
    assert not work_path(reference).exists()


def test_executors_give_identical_files(reference, tmp_path):
    with cf.ThreadPoolExecutor(2) as pool:
        assert_same_dataset(reference, generate_dataset(tmp_path / "threads.h5", executor=pool, chunk=3, **KW))
    # default: local process pool (forkserver, one numba thread per worker)
    assert_same_dataset(reference, generate_dataset(tmp_path / "procs.h5", executor=None, **KW))


def test_dask_executor(reference, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        path = generate_dataset(tmp_path / "dask.h5", executor=client.get_executor(), chunk=2, **KW)
    assert_same_dataset(reference, path)


def test_existing_file_is_reused_or_refused(reference, tmp_path):
    counter = CountingExecutor()
    assert generate_dataset(reference, executor=counter, **KW) == reference
    assert counter.tasks == 0  # nothing recomputed
    mtime = reference.stat().st_mtime_ns
    with pytest.raises(DatasetMismatchError, match="seed = 5 in the file, expected 6"):
        generate_dataset(reference, executor=counter, **{**KW, "seed": 6})
    assert reference.stat().st_mtime_ns == mtime and counter.tasks == 0
    # overwrite=True replaces it, but only once the new file is complete
    copy = tmp_path / "copy.h5"
    copy.write_bytes(reference.read_bytes())
    failing = CountingExecutor(fail_after=2)
    with pytest.raises(RuntimeError, match="cluster lost"):
        generate_dataset(copy, executor=failing, overwrite=True, **{**KW, "n_states": 4, "splits": None})
    assert copy.read_bytes() == reference.read_bytes()
    generate_dataset(copy, executor="serial", overwrite=True, **{**KW, "n_states": 2, "splits": None})
    assert load_states(copy, "all").shape == (2, 3, 12, 12)


def test_failed_run_resumes_exactly(reference, tmp_path):
    path = tmp_path / "resume.h5"
    with pytest.raises(RuntimeError, match="cluster lost"):
        generate_dataset(path, executor=CountingExecutor(fail_after=5), max_in_flight=1, **KW)
    assert not path.exists()
    with h5py.File(work_path(path), "r") as f:
        assert f["done"][()].sum() == 5
    counter = CountingExecutor()
    generate_dataset(path, executor=counter, **KW)
    assert counter.samples == N - 5  # finished work is kept
    assert_same_dataset(reference, path)
    # a work file with other parameters is refused, a damaged one discarded
    other = tmp_path / "other.h5"
    with pytest.raises(RuntimeError):
        generate_dataset(other, executor=CountingExecutor(fail_after=1), **KW)
    with pytest.raises(DatasetMismatchError, match="unfinished run"):
        generate_dataset(other, executor="serial", **{**KW, "seed": 9})
    work_path(other).write_bytes(b"\0" * 100)
    with pytest.warns(RuntimeWarning, match="discarding the unreadable work file"):
        generate_dataset(other, executor="serial", **KW)
    assert_same_dataset(reference, other)


CHILD = """
import sys
from mag_ml import AnnealSchedule, Hamiltonian
from mag_ml.data import generate_dataset
generate_dataset(sys.argv[1], hamiltonian=Hamiltonian(J=1.0, D=0.3, B=0.05), shape={shape},
                 schedule=AnnealSchedule(T_start=1.0, T_end=0.05, n_steps={n_steps}, sweeps_per_step={sweeps}),
                 n_states={n}, splits={splits}, seed={seed}, relax_tol={relax_tol}, executor=None, progress=False)
"""


def _done_count(work):
    try:  # the child holds the file open for writing: read without the HDF5 lock, retry on a torn read
        with h5py.File(work, "r", locking=False) as f:
            return int(f["done"][()].sum())
    except (OSError, KeyError):
        return 0


def test_killed_run_resumes_byte_for_byte(reference, tmp_path):
    path = tmp_path / "killed.h5"
    script = CHILD.format(shape=SHAPE, n_steps=SCHEDULE.n_steps, sweeps=SCHEDULE.sweeps_per_step, n=N,
                          splits=SPLITS, seed=SEED, relax_tol=RELAX_TOL)
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script), str(path)],
                             start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    work = work_path(path)
    deadline = time.monotonic() + 120
    try:
        while child.poll() is None and time.monotonic() < deadline:
            if work.exists() and _done_count(work) >= 2:
                break
            time.sleep(0.005)
    finally:  # the child's whole session: the generator and its worker processes
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL, child.stderr.read().decode()[-2000:]
    assert not path.exists()
    with h5py.File(work, "r") as f:
        done_at_kill = int(f["done"][()].sum())
    assert 2 <= done_at_kill < N
    counter = CountingExecutor(max_workers=2)
    generate_dataset(path, executor=counter, **KW)
    assert counter.samples == N - done_at_kill
    assert_same_dataset(reference, path)


def test_bad_input(tmp_path):
    p = tmp_path / "bad.h5"
    cases = [
        (dict(n_states=0), ValueError, "n_states must be an integer >= 1, got 0"),
        (dict(splits=(8, 2, 1)), ValueError, r"splits must sum to n_states = 12, got \(8, 2, 1\)"),
        (dict(shape=(12, 13)), ValueError, "shape must be two even integers"),
        (dict(seed=-3), ValueError, "seed"),
        (dict(relax_tol=0.0), ValueError, "relax_tol must be a positive finite number, got 0.0"),
        (dict(chunk=0), ValueError, "chunk must be an integer >= 1, got 0"),
        (dict(executor="cluster"), TypeError, "executor must be None, 'serial' or a concurrent.futures.Executor"),
        (dict(hamiltonian=H.as_dict()), TypeError, "hamiltonian must be a Hamiltonian"),
        (dict(schedule=SCHEDULE.as_dict()), TypeError, "schedule must be an AnnealSchedule"),
    ]
    for change, error, message in cases:
        with pytest.raises(error, match=message):
            generate_dataset(p, **{**KW, **change})
    assert not p.exists() and not work_path(p).exists()
    p.write_bytes(b"junk")
    with pytest.raises(DatasetCorruptError, match="cannot be opened"):
        generate_dataset(p, executor="serial", **KW)
    assert p.read_bytes() == b"junk"


# -- issue 15: exclusive creation, prompt writes, stale temporaries, verified results ----------------
SERIAL_CHILD = CHILD.replace("executor=None", "executor='serial'")


def test_race_for_the_work_file_keeps_the_first_runs_work(reference, tmp_path, monkeypatch):
    """Another run creates the work file between our existence check and our creation: it is left alone."""
    path = tmp_path / "race.h5"
    script = SERIAL_CHILD.format(shape=SHAPE, n_steps=SCHEDULE.n_steps, sweeps=SCHEDULE.sweeps_per_step, n=N,
                                 splits=SPLITS, seed=SEED, relax_tol=RELAX_TOL)
    children = []
    real_create = generation.create_dataset_file

    def widened_gap(work, params):  # called after this run found no work file, before it creates one
        child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script), str(path)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        children.append(child)
        deadline = time.monotonic() + 120
        while child.poll() is None and time.monotonic() < deadline and not (work.exists() and _done_count(work) >= 2):
            time.sleep(0.005)
        assert child.poll() is None, "the other run finished before the race"
        return real_create(work, params)

    monkeypatch.setattr(generation, "create_dataset_file", widened_gap)
    try:
        with pytest.raises(DatasetBusyError, match="in use by another process") as info:
            generate_dataset(path, executor="serial", **KW)
        assert str(work_path(path)) in str(info.value) and not isinstance(info.value, BlockingIOError)
        children[0].wait(timeout=120)
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    assert children[0].returncode == 0, children[0].stderr.read().decode()[-2000:]
    assert_same_dataset(reference, path)  # the other run finished every state, undamaged
    assert generate_dataset(path, executor="serial", **KW) == path


def test_serial_interrupt_keeps_finished_states(reference, tmp_path, monkeypatch):
    """Ctrl-C half-way through a serial run: the states finished so far are on disk, and a rerun resumes."""
    path, k = tmp_path / "interrupted.h5", 5
    real_task, asked = generation.anneal_samples, []

    def interrupted_after_k(*args):
        if len(asked) == k:
            raise KeyboardInterrupt
        asked.extend(args[-1])
        return real_task(*args)

    monkeypatch.setattr(generation, "anneal_samples", interrupted_after_k)
    with pytest.raises(KeyboardInterrupt):
        generate_dataset(path, executor="serial", **KW)
    with h5py.File(work_path(path), "r") as f:
        assert f["done"][()].tolist() == [True] * k + [False] * (N - k)
    asked.clear()
    monkeypatch.setattr(generation, "anneal_samples", lambda *args: asked.extend(args[-1]) or real_task(*args))
    generate_dataset(path, executor="serial", **KW)
    assert asked == list(range(k, N))  # only the unfinished states are computed
    assert_same_dataset(reference, path)


def test_resume_recomputes_a_damaged_finished_state(reference, tmp_path):
    path = tmp_path / "damaged_work.h5"
    with pytest.raises(RuntimeError, match="cluster lost"):
        generate_dataset(path, executor=CountingExecutor(fail_after=4), max_in_flight=1, **KW)
    with h5py.File(work_path(path), "r+") as f:
        f["energy"][2] += 1.0
    counter = CountingExecutor()
    with pytest.warns(RuntimeWarning, match=r"1 finished item\(s\) fail verification and are computed again"):
        generate_dataset(path, executor=counter, **KW)
    assert counter.samples == N - 4 + 1
    assert_same_dataset(reference, path)


def test_stale_temporaries_are_removed(reference, tmp_path):
    fcntl = pytest.importorskip("fcntl")
    path = tmp_path / "ref.h5"
    shutil.copyfile(reference, path)
    stale = [tmp_path / ".ref.h5.0123abcd.tmp.h5", tmp_path / ".ref.h5.partial.89abcdef.tmp.partial"]
    kept = [tmp_path / ".other.h5.0123abcd.tmp.h5", tmp_path / "ref.h5.tmp"]
    held = tmp_path / ".ref.h5.fedcba98.tmp.h5"  # open and locked: another process is writing it
    for p in stale + kept + [held]:
        p.write_bytes(b"half written")
    fd = os.open(held, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert generate_dataset(path, executor="serial", **KW) == path
        assert not any(p.exists() for p in stale) and all(p.exists() for p in kept) and held.exists()
    finally:
        os.close(fd)
    assert generation.remove_stale_temporaries(path) == [held]


def test_finished_file_is_verified_and_fsynced(reference, tmp_path, monkeypatch):
    moved = []
    real_move = generation.move_into_place
    monkeypatch.setattr(generation, "move_into_place", lambda src, dst: moved.append((src, dst)) or real_move(src, dst))
    path = generate_dataset(tmp_path / "small.h5", executor="serial", **{**KW, "n_states": 2, "splits": None})
    assert moved == [(work_path(path), path)]  # move_into_place: fsync, then rename
    # a result that a task computed wrongly never becomes a complete file
    real_task = generation.anneal_samples

    def wrong_energy(*args):
        return [(i, s, e + 0.5, q) for i, s, e, q in real_task(*args)]

    monkeypatch.setattr(generation, "anneal_samples", wrong_energy)
    with pytest.raises(DatasetCorruptError, match=r"state 0: energy .* recomputed from its spins"):
        generate_dataset(tmp_path / "wrong.h5", executor="serial", **{**KW, "n_states": 2, "splits": None})
    assert not (tmp_path / "wrong.h5").exists()


def test_task_returning_other_indices_and_directory_path(tmp_path, monkeypatch):
    real_task = generation.anneal_samples
    monkeypatch.setattr(generation, "anneal_samples",
                        lambda *args: [(i + 1, s, e, q) for i, s, e, q in real_task(*args)])
    with pytest.raises(ValueError, match=r"returned items for the indices \[1\] when asked for \[0\]"):
        generate_dataset(tmp_path / "shifted.h5", executor="serial", **{**KW, "n_states": 2, "splits": None})
    (tmp_path / "folder.h5").mkdir()
    with pytest.raises(IsADirectoryError, match="is a directory"):
        generate_dataset(tmp_path / "folder.h5", executor="serial", **KW)
