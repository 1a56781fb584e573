"""Progress bars: tqdm.auto by default; under MAG_ML_PROGRESS=log, text lines to the parent's stderr, none in the
notebook (the book build); a bad value of the variable is refused."""

import subprocess
import sys
import textwrap

import pytest

from mag_ml import progress
from mag_ml.progress import Bar, progress_bar


def test_default_bar_is_tqdm_auto(monkeypatch):
    monkeypatch.delenv(progress.PROGRESS_ENV, raising=False)
    bar = progress_bar(range(3), disable=True)
    assert isinstance(bar, Bar) and list(bar) == [0, 1, 2]


def test_log_mode_writes_to_the_parent_stderr_not_to_the_own():
    """A child process (the chapter's kernel) logs its bar to the stderr of its parent (papermill, here this
    test's python), which the child's own captured stderr never sees."""
    child = textwrap.dedent("""
        import os, sys
        os.environ["MAG_ML_PROGRESS"] = "log"
        from mag_ml.progress import progress_bar
        bar = progress_bar(total=200, desc="steps-of-the-child")
        for k in range(200):
            bar.update(1)
            bar.set_postfix(loss=k)  # must not force a line per update
        bar.close()
        print("child done")
    """)
    parent = textwrap.dedent(f"""
        import subprocess, sys
        r = subprocess.run([sys.executable, "-c", {child!r}], capture_output=True, text=True)
        print("CHILD-STDERR:" + r.stderr + "|CHILD-STDOUT:" + r.stdout)
    """)
    out = subprocess.run([sys.executable, "-c", parent], capture_output=True, text=True, check=True)
    assert "steps-of-the-child" in out.stderr and "200/200" in out.stderr  # on the parent's stderr ...
    assert out.stderr.count("steps-of-the-child") <= 3  # timed lines: the first, the last, few between
    captured = out.stdout.split("CHILD-STDERR:")[1].split("|CHILD-STDOUT:")[0]
    assert "steps-of-the-child" not in captured  # ... not in what the child itself printed
    assert "child done" in out.stdout


def test_bad_mode_is_refused(monkeypatch):
    monkeypatch.setenv(progress.PROGRESS_ENV, "notebook")
    with pytest.raises(ValueError, match="MAG_ML_PROGRESS must be 'log' or unset, got 'notebook'"):
        progress_bar(range(2))
