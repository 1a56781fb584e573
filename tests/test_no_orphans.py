"""The default process pool of the dataset generators leaves no orphans: its workers end with the main process.

A main process killed with SIGKILL (or the out-of-memory killer) cannot clean up: the workers' watchdog sees
it gone and exits them (the forkserver follows).  SIGTERM interrupts the generating call like Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mag_ml.data import generation

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process tree checks use /proc")

ROOT = Path(__file__).resolve().parents[1]

TASK = """
import os
import time
from pathlib import Path


def hang(folder, indices):
    Path(folder, str(os.getpid())).touch()  # this worker has started a task
    time.sleep(120)
    return [(i, {"x": 0.0}) for i in indices]
"""

CHILD = """
import sys

from orphan_task import hang
from mag_ml.data.generation import generate_records

if __name__ == "__main__":
    generate_records(sys.argv[1], params={"case": "orphans"}, fields={"x": ((), "float64")}, n_items=2,
                     task=hang, task_args=(sys.argv[2],), progress=False)
"""


def _alive(pid):
    """Running (a zombie, already dead but not reaped, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except (OSError, IndexError):
        return False


def _descendants(pid):
    try:
        import psutil
    except ImportError:  # the workers' own pids are checked anyway
        return []
    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


def _wait(condition, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_pool_workers_exit_when_the_main_process_dies(tmp_path, sig):
    (tmp_path / "orphan_task.py").write_text(textwrap.dedent(TASK))
    (tmp_path / "child.py").write_text(textwrap.dedent(CHILD))
    started = tmp_path / "started"
    started.mkdir()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(tmp_path), str(ROOT),
                                                                    os.environ.get("PYTHONPATH")])))
    log = tmp_path / "stderr.txt"  # a file, not a pipe: surviving workers hold it open and a read would block
    with open(log, "wb") as err:
        child = subprocess.Popen([sys.executable, str(tmp_path / "child.py"), str(tmp_path / "t.h5"),
                                  str(started)], env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                                 stderr=err)
    try:
        assert _wait(lambda: len(list(started.iterdir())) >= 2 or child.poll() is not None, 60), "no worker started"
        assert child.poll() is None, log.read_text()[-2000:]
        workers = [int(p.name) for p in started.iterdir()]
        tree = set(workers) | set(_descendants(child.pid))  # forkserver, resource tracker, workers
        assert all(_alive(p) for p in workers)
        os.kill(child.pid, sig)
        child.wait(timeout=20)
        if sig == signal.SIGTERM:  # handled like Ctrl-C: an interrupt, the pool shut down
            assert "KeyboardInterrupt" in log.read_text(), log.read_text()[-2000:]
        else:
            assert child.returncode == -signal.SIGKILL
        assert _wait(lambda: not any(_alive(p) for p in tree), 10), \
            f"still running after the main process died: {sorted(p for p in tree if _alive(p))}"
    finally:  # never leave anything behind, whatever failed (all of them are in the child's session)
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        child.wait()


def test_sigterm_handler_is_restored():
    before = signal.getsignal(signal.SIGTERM)
    pool = generation._default_executor(1)  # no worker is started before a submit
    try:
        assert signal.getsignal(signal.SIGTERM) is generation._sigterm_as_interrupt
    finally:
        pool.shutdown()
    assert signal.getsignal(signal.SIGTERM) is before
    with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
        generation._sigterm_as_interrupt(signal.SIGTERM, None)
