"""Nothing corrupt is used: training files carry a SHA-256 digest checked before every load; one writer per folder.

Every corruption of a checkpoint, a step's weights or a finished history (a flipped bit in the weights, zeroed
optimizer state, a truncated or edited file, a missing or garbled digest) raises
:class:`mag_ml.files.CorruptFileError` naming the file, what failed and what to delete.  A second training into
a directory fails at once; a killed writer's temporary files are removed by the next start.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import threading

import pytest
import torch

from mag_ml import Hamiltonian, files
from mag_ml.files import (CorruptFileError, InUseError, atomic_path, check_digest, digest_path, directory_lock,
                          remove_stale_temporaries, write_digest)
from mag_ml.models import SpinVAE
from mag_ml.training import (CHECKPOINT, HISTORY, Step, fit, load_checkpoint, load_history, load_step_weights,
                             step_weights, train_schedule)

torch.set_num_threads(1)

H = Hamiltonian(J=1.0, D=0.3, B=0.05)
STEPS = [Step(1e-3, 0.0, 2), Step(1e-3, 1.0, 2)]


class Interrupt(Exception):
    pass


def states(n, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, 16, 16, generator=g)
    return x / x.norm(dim=1, keepdim=True)


DATA = (states(20, 0), states(6, 1))


def fresh_model():
    torch.manual_seed(0)
    return SpinVAE(16, latent_dim=8, hidden=32)


def run(directory, **kw):
    model = fresh_model()
    history = train_schedule(model, STEPS, *DATA, H, directory,
                             **dict(dict(seed=3, batch_size=8, checkpoint_every=1, progress=False), **kw))
    return model, history


def _stop_in_step_1(event, step, epoch, history):
    if (event, step, epoch) == ("epoch", 1, 0):
        raise Interrupt


@pytest.fixture(scope="module")
def templates(tmp_path_factory):
    """A finished series and one interrupted within step 1 (its checkpoint holds an optimizer state)."""
    root = tmp_path_factory.mktemp("templates")
    _, history = run(root / "finished")
    with pytest.raises(Interrupt):
        run(root / "interrupted", callback=_stop_in_step_1)
    return {"finished": root / "finished", "interrupted": root / "interrupted", "history": history}


# ----------------------------------------------------------------------------- the corruptions
def _tensor_offset(raw, tensor):
    """Where the bytes of ``tensor`` lie in a torch.save file (stored uncompressed)."""
    offset = raw.find(tensor.contiguous().numpy().tobytes())
    assert offset > 0
    return offset


def flip_weight_bit(path):
    """The lowest mantissa bit of one weight: torch.load reads it without complaint."""
    raw = bytearray(path.read_bytes())
    ckpt = torch.load(path, weights_only=False)
    weights = ckpt["model"] if "model" in ckpt else ckpt
    name = next(n for n, t in weights.items() if t.is_floating_point() and t.numel() > 8)
    raw[_tensor_offset(raw, weights[name]) + 4] ^= 0x01
    path.write_bytes(bytes(raw))
    damaged = torch.load(path, weights_only=False)  # still loads: only the digest tells
    damaged = damaged["model"] if "model" in damaged else damaged
    assert not torch.equal(damaged[name], weights[name])


def zero_optimizer_state(path):
    raw = bytearray(path.read_bytes())
    exp_avg = torch.load(path, weights_only=False)["optimizer"]["state"][0]["exp_avg"]
    start = _tensor_offset(raw, exp_avg)
    raw[start:start + exp_avg.numel() * 4] = bytes(exp_avg.numel() * 4)
    path.write_bytes(bytes(raw))


def flip_byte(path):
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))


def truncate(path):
    path.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 2])


def empty(path):
    path.write_bytes(b"")


def edit_history(path):  # valid JSON, one number changed
    done = json.loads(path.read_text())
    done["history"][0]["train"]["rc"] += 1.0
    path.write_text(json.dumps(done))


def drop_digest(path):  # as written by a version without digests
    digest_path(path).unlink()


def garble_digest(path):
    digest_path(path).write_text("not a digest\n")


MISMATCH = "damaged: digest mismatch"
CASES = [  # template, file, corruption, what the message says
    ("interrupted", CHECKPOINT, flip_weight_bit, MISMATCH),
    ("interrupted", CHECKPOINT, zero_optimizer_state, MISMATCH),
    ("interrupted", CHECKPOINT, flip_byte, MISMATCH),
    ("interrupted", CHECKPOINT, truncate, MISMATCH),
    ("interrupted", CHECKPOINT, empty, MISMATCH),
    ("interrupted", CHECKPOINT, drop_digest, "has no SHA-256 digest file checkpoint.pt.sha256"),
    ("interrupted", CHECKPOINT, garble_digest, "cannot be verified: its digest file .* is unreadable"),
    ("interrupted", "step_000.pt", flip_weight_bit, MISMATCH),  # a finished step of an unfinished series
    ("finished", "step_000.pt", flip_weight_bit, MISMATCH),
    ("finished", "step_001.pt", flip_byte, MISMATCH),
    ("finished", "step_001.pt", truncate, MISMATCH),
    ("finished", "step_000.pt", drop_digest, "has no SHA-256 digest"),
    ("finished", HISTORY, truncate, MISMATCH),
    ("finished", HISTORY, edit_history, MISMATCH),
    ("finished", HISTORY, empty, MISMATCH),
    ("finished", HISTORY, drop_digest, "has no SHA-256 digest"),
]


@pytest.mark.parametrize("template, name, corrupt, message", CASES,
                         ids=[f"{t}-{n}-{c.__name__}" for t, n, c, _ in CASES])
def test_corruption_is_detected_with_a_clear_error(templates, tmp_path, template, name, corrupt, message):
    directory = tmp_path / template
    shutil.copytree(templates[template], directory)
    target = directory / name
    corrupt(target)
    with pytest.raises(CorruptFileError, match=message) as err:
        run(directory)
    text = str(err.value)
    assert str(target) in text and err.value.path == target  # names the file
    assert "Delete" in text  # and what to do
    if name != CHECKPOINT:
        assert f"Delete the directory {directory}" in text


def test_following_the_advice_recovers_the_same_result(templates, tmp_path):
    """A damaged checkpoint deleted as the message says: the rerun ends with the uninterrupted history."""
    directory = tmp_path / "run"
    shutil.copytree(templates["interrupted"], directory)
    flip_weight_bit(directory / CHECKPOINT)
    with pytest.raises(CorruptFileError, match="Delete it to restart"):
        run(directory)
    (directory / CHECKPOINT).unlink()
    _, history = run(directory)
    assert history == templates["history"]


def test_loaders_verify(templates, tmp_path):
    directory = tmp_path / "finished"
    shutil.copytree(templates["finished"], directory)
    assert set(load_step_weights(directory, 1)) == set(fresh_model().state_dict())
    assert load_history(directory / HISTORY)["history"] == json.loads(json.dumps(templates["history"]))
    assert load_checkpoint(directory / CHECKPOINT)["settings"]["step"] == 2
    flip_weight_bit(step_weights(directory, 1))
    with pytest.raises(CorruptFileError, match="step weights .*step_001.pt is damaged: digest mismatch") as err:
        load_step_weights(directory, 1)
    assert err.value.reason == "digest mismatch"
    with pytest.raises(FileNotFoundError, match="step 5"):
        load_step_weights(directory, 5)
    (directory / CHECKPOINT).write_bytes(b"junk")
    write_digest(directory / CHECKPOINT)  # verified, yet not a checkpoint: still a clear error
    with pytest.raises(CorruptFileError, match="checkpoint .*checkpoint.pt cannot be read"):
        load_checkpoint(directory / CHECKPOINT)


def _linear():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Linear(8, 1))


def test_fit_checkpoint_is_verified(tmp_path):
    x = torch.randn(32, 3, generator=torch.Generator().manual_seed(0))
    y = x.sum(1, keepdim=True)
    fit(_linear(), (x, y), epochs=2, batch_size=8, directory=tmp_path, progress=False)
    assert check_digest(tmp_path / CHECKPOINT) == hashlib.sha256((tmp_path / CHECKPOINT).read_bytes()).hexdigest()
    flip_weight_bit(tmp_path / CHECKPOINT)
    with pytest.raises(CorruptFileError, match="digest mismatch"):
        fit(_linear(), (x, y), epochs=3, batch_size=8, directory=tmp_path, progress=False)


# ----------------------------------------------------------------------------- the digest helpers
def test_digest_file_format_and_check(tmp_path):
    path = tmp_path / "a.bin"
    with atomic_path(path, digest=True) as tmp:
        tmp.write_bytes(b"hello")
    want = hashlib.sha256(b"hello").hexdigest()
    assert digest_path(path).read_text() == f"{want}  a.bin\n"  # sha256sum -c works
    assert check_digest(path) == want
    path.write_bytes(b"hellO")
    with pytest.raises(CorruptFileError, match=r"file .*a.bin is damaged: digest mismatch") as err:
        check_digest(path)
    assert err.value.reason == "digest mismatch"
    assert write_digest(path) == check_digest(path)
    with pytest.raises(FileNotFoundError, match="missing"):
        check_digest(tmp_path / "none.bin")
    other = tmp_path / "plain.bin"
    other.write_bytes(b"x")
    with pytest.raises(CorruptFileError, match="older version") as err:
        check_digest(other, what="weights", hint="Retrain.")
    assert err.value.reason == "no digest" and "Retrain." in str(err.value)
    assert f"mag_ml.files.write_digest({str(other)!r})" in str(err.value)  # adopting it is a deliberate act
    write_digest(other)
    assert check_digest(other)


def test_a_kill_around_the_rename_leaves_a_file_that_verifies(tmp_path, monkeypatch):
    """The digest file lists old and new digests while the file is renamed: either content verifies."""
    path = tmp_path / "c.pt"
    with atomic_path(path, digest=True) as tmp:
        tmp.write_bytes(b"old")

    original_move = files.move_into_place

    def killed(src, dst):  # the digest file is renamed, the kill comes before the file's own rename
        if dst == path:
            raise KeyboardInterrupt
        original_move(src, dst)

    with monkeypatch.context() as m:  # killed before the rename: the old file, and it verifies
        m.setattr(files, "move_into_place", killed)
        with pytest.raises(KeyboardInterrupt), atomic_path(path, digest=True) as tmp:
            tmp.write_bytes(b"new")
    assert path.read_bytes() == b"old" and check_digest(path)
    assert len(digest_path(path).read_text().splitlines()) == 2

    calls = []
    original = files._write_digests

    def second_write_killed(*args):
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt
        original(*args)

    with monkeypatch.context() as m:  # killed after the rename, before the digest file is tidied: the new one
        m.setattr(files, "_write_digests", second_write_killed)
        with pytest.raises(KeyboardInterrupt), atomic_path(path, digest=True) as tmp:
            tmp.write_bytes(b"newer")
    assert path.read_bytes() == b"newer" and check_digest(path)
    with atomic_path(path, digest=True) as tmp:
        tmp.write_bytes(b"newest")
    assert check_digest(path) and len(digest_path(path).read_text().splitlines()) == 1
    path.write_bytes(b"old")  # an older version is no longer accepted once tidied
    with pytest.raises(CorruptFileError, match="digest mismatch"):
        check_digest(path)


# ----------------------------------------------------------------------------- one writer per directory
def test_second_training_in_a_thread_fails_at_once(tmp_path):
    x = torch.randn(32, 3, generator=torch.Generator().manual_seed(0))
    y = x.sum(1, keepdim=True)
    inside, release, errors = threading.Event(), threading.Event(), []

    def hold(epoch):
        inside.set()
        release.wait(30)

    def first():
        try:
            fit(_linear(), (x, y), epochs=1, batch_size=8, directory=tmp_path, progress=False, callback=hold)
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert inside.wait(30)
        with pytest.raises(InUseError, match="another process is training there") as err:
            fit(_linear(), (x, y), epochs=1, batch_size=8, directory=tmp_path, progress=False)
        assert str(tmp_path) in str(err.value) and err.value.directory == tmp_path
        with pytest.raises(InUseError, match=str(tmp_path)):
            run(tmp_path)
    finally:
        release.set()
        thread.join()
    assert not errors
    fit(_linear(), (x, y), epochs=2, batch_size=8, directory=tmp_path, progress=False)  # free again


HOLDER = """
import fcntl, os, sys, time
fd = os.open(os.path.join(sys.argv[1], ".lock"), os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="fcntl")
def test_lock_held_by_another_process(tmp_path):
    """A live holder refuses the training; killed (-9), it leaves no stale lock."""
    tmp_path.mkdir(exist_ok=True)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(InUseError, match=f"{tmp_path} is in use: another process is training there"):
            run(tmp_path)
        assert not (tmp_path / CHECKPOINT).exists()
    finally:
        holder.kill()
        holder.wait()
    _, history = run(tmp_path)
    assert len(history) == 2


def test_stale_temporaries_are_removed_on_the_next_start(templates, tmp_path):
    directory = tmp_path / "run"
    shutil.copytree(templates["interrupted"], directory)
    stale = [directory / ".checkpoint.pt.0123abcd.tmp.pt", directory / ".step_001.pt.deadbeef.tmp.pt",
             directory / ".checkpoint.pt.sha256.00ff00ff.tmp.sha256", directory / ".history.json.a1b2c3d4.tmp.json"]
    for p in stale:
        p.write_bytes(b"")  # 0-byte leftovers of a kill during a write
    keep = [directory / "notes.txt", directory / ".hidden", directory / ".x.tmp.pt"]
    for p in keep:
        p.write_text("mine")
    _, history = run(directory)
    assert history == templates["history"]
    assert not any(p.exists() for p in stale) and all(p.exists() for p in keep)
    assert not [p.name for p in directory.iterdir() if ".tmp" in p.name and p not in keep]


def test_directory_lock_helper(tmp_path):
    (tmp_path / ".a.bin.0badf00d.tmp.bin").write_bytes(b"")
    with directory_lock(tmp_path):
        assert not (tmp_path / ".a.bin.0badf00d.tmp.bin").exists()
        with pytest.raises(InUseError, match="another process is writing tables there"):
            with directory_lock(tmp_path, what="writing tables"):
                pass
    with directory_lock(tmp_path):  # released
        pass
    assert remove_stale_temporaries(tmp_path / "absent") == []


def test_cached_artifacts_and_hysteresis_checkpoints_carry_digests(tmp_path):
    """A flipped byte in a cached npz artifact is recomputed (with a warning), never read; in a loop checkpoint, refused."""
    import warnings

    import numpy as np

    from mag_ml.artifacts import load_or_compute
    from mag_ml.files import CorruptFileError, load_npz, save_npz
    from mag_ml.physics.hysteresis import hysteresis_loop
    from mag_ml.physics.micromagnetics import MicromagneticParameters

    path = tmp_path / "a.npz"
    calls = []

    def compute():
        calls.append(1)
        return {"x": np.arange(1000.0)}

    first = load_or_compute(path, compute, save=save_npz, load=load_npz)
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(raw))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = load_or_compute(path, compute, save=save_npz, load=load_npz)
    assert len(calls) == 2 and any("digest" in str(w.message) or "SHA" in str(w.message) for w in caught)
    np.testing.assert_array_equal(first["x"], again["x"])

    film = MicromagneticParameters(A_ex=10e-12, D=2e-3, M_s=0.6e6, K_u=0.5e6, dx=2e-9, thickness=1e-9)
    ckpt = tmp_path / "loop.npz"
    hysteresis_loop(film, (8, 8), 300.0, 1.0, 3, n_sweeps=4, n_anneal=10, checkpoint=ckpt, progress=False)
    raw = bytearray(ckpt.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    ckpt.write_bytes(bytes(raw))
    with pytest.raises(CorruptFileError, match="loop.npz"):
        hysteresis_loop(film, (8, 8), 300.0, 1.0, 3, n_sweeps=4, n_anneal=10, checkpoint=ckpt, progress=False)
