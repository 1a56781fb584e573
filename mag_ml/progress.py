"""Progress bars that stay out of the saved notebooks.

In JupyterLab and a terminal the bars are ``tqdm.auto``'s, as usual.  When
the book is built, papermill runs each chapter with ``MAG_ML_PROGRESS=log``
(set by the Makefile): the bars then go as plain text lines, at most one
every :data:`LOG_INTERVAL` seconds, to papermill's own standard error (the
terminal of ``make book``), never into the executed notebook and so never
onto a rendered page.  Where that stream cannot be opened the bars are off.
"""

from __future__ import annotations

import os

from tqdm.auto import tqdm as _auto_bar
from tqdm.std import tqdm as Bar  # the base class of every bar made here (for isinstance checks)

__all__ = ["Bar", "progress_bar", "PROGRESS_ENV", "LOG_INTERVAL"]

#: Environment variable: "log" sends bars to the parent process's standard error as text lines.
PROGRESS_ENV = "MAG_ML_PROGRESS"
#: Seconds between two logged lines of one bar.
LOG_INTERVAL = 15.0
_log_stream = None


def _parent_stderr():
    """The standard error of the process that started this one (papermill, for a chapter's kernel), or None."""
    global _log_stream
    if _log_stream is None:
        try:  # Linux: the kernel's own stderr is captured into the notebook, its parent's is the terminal
            _log_stream = open(f"/proc/{os.getppid()}/fd/2", "w", buffering=1)
        except OSError:
            _log_stream = False
    return _log_stream or None


class _LogBar(Bar):
    """A text bar whose postfix and description changes wait for the next timed line (no line per update)."""

    def set_postfix(self, ordered_dict=None, refresh=True, **kwargs):
        super().set_postfix(ordered_dict, refresh=False, **kwargs)

    def set_description(self, desc=None, refresh=True):
        super().set_description(desc, refresh=False)


def progress_bar(iterable=None, **kwargs):
    """A tqdm bar over ``iterable`` (or with ``total=``), routed as the module notes say.

    Parameters
    ----------
    iterable : iterable, optional
    **kwargs
        Passed to tqdm (``total``, ``desc``, ``unit``, ``initial``,
        ``disable``, ``leave``, ...).

    Returns
    -------
    tqdm.std.tqdm
        A :class:`Bar`; disabled when ``MAG_ML_PROGRESS=log`` and the
        parent's standard error is not writable.

    Raises
    ------
    ValueError
        ``MAG_ML_PROGRESS`` set to something other than "log" or "".
    """
    mode = os.environ.get(PROGRESS_ENV, "")
    if mode not in ("", "log"):
        raise ValueError(f"environment variable {PROGRESS_ENV} must be 'log' or unset, got {mode!r}")
    if mode == "":
        return _auto_bar(iterable, **kwargs)
    stream = _parent_stderr()
    kwargs.update(file=stream, mininterval=LOG_INTERVAL, maxinterval=LOG_INTERVAL, ascii=True, ncols=100, leave=True,
                  disable=kwargs.get("disable", False) or stream is None)
    return _LogBar(iterable, **kwargs)
