"""The chapter layer: one module per source work, holding its profiles and cached pipelines.

* :mod:`mag_ml.chapters.evae`: chapters 2-5, the Hamiltonian-guided VAE of
  Kwon et al. (Adv. Sci. 2021): dataset, training series, open-boundary runs;
* :mod:`mag_ml.chapters.estimation`: chapters 6-7, the SI films and the CNN
  parameter estimation of Wang et al. (Adv. Sci. 2020);
* :mod:`mag_ml.chapters.defects`: chapters 8-9, the vacancy statistics and
  defect networks of Eagan, Copus & Iacocca (arXiv 2603.10182).

Every table of sizes is a *profile table*: a dict from profile name to the
settings of that profile, read with :func:`profile_spec`, which raises
:class:`~mag_ml.artifacts.UnknownProfileError` for an unknown profile (the
profile names are those of the artifact folders, :data:`mag_ml.artifacts.PROFILES`).  The
layers below (physics, io, models, analysis, data, training) know nothing of
profiles.  Importing this package imports no chapter module.

Chapter parameters
    Every chapter's ``parameters`` cell (the one papermill's ``-p`` overrides)
    is followed by one cell calling :func:`check_parameters` with
    ``globals()`` and each of its parameters by name, so a bad value
    (``-p seed -3``) or an unknown name (``-p sead 1``, which papermill only
    warns about) stops the run there, with a message naming the parameter,
    before anything is imported or computed.
"""

from __future__ import annotations

import ast
import copy
import difflib
import sys

from mag_ml.artifacts import PROFILES, UnknownProfileError, check_profile, data_root
from mag_ml.checks import check_int, check_real

__all__ = ["PROFILES", "UnknownProfileError", "check_profile", "profile_spec", "install_interrupt_message", "PARAMETER_RULES",
           "check_parameters", "injected_parameters"]


def _seed(value):
    return check_int(value, "seed", minimum=0, maximum=2**63 - 1, allowed="a non-negative integer (< 2**63)")


def _coupling(name, positive=False):
    allowed = ("a finite real number > 0 (the exchange J is the unit of energy)" if positive
               else "a finite real number (units of J)")

    def check(value):
        value = check_real(value, name, allowed=allowed)
        if positive and value <= 0:
            raise ValueError(f"{name} must be {allowed}, got {value!r}")
        return value

    return check


#: The parameters a chapter's ``parameters`` cell may declare, each with its check: a function of
#: the value that returns it (normalised) or raises ValueError / TypeError naming the parameter.
#: ``profile`` is one of :data:`PROFILES`; ``seed`` a non-negative integer (NumPy integers accepted,
#: bools and floats refused); ``J`` (> 0), ``D``, ``B``, ``K`` (chapter 1) finite real numbers in
#: units of J (bools refused).
PARAMETER_RULES = {
    "profile": check_profile,
    "seed": _seed,
    "J": _coupling("J", positive=True),
    "D": _coupling("D"),
    "B": _coupling("B"),
    "K": _coupling("K"),
}

#: Names papermill itself may inject (``--inject-paths``); never reported as unknown.
PAPERMILL_NAMES = ("PAPERMILL_INPUT_PATH", "PAPERMILL_OUTPUT_PATH")
_INJECTED_HEADER = "# Parameters"  # the first line of papermill's injected-parameters cell (Python)


def injected_parameters(namespace):
    """Names assigned by papermill's injected-parameters cell(s) in an IPython session.

    Papermill inserts, after the cell tagged ``parameters``, a cell whose source is
    ``# Parameters`` followed by one ``name = value`` line per ``-p`` option. The
    kernel keeps the source of every executed cell in its input history ``In``
    (papermill, nbclient and Jupyter store history), so the names are read from the
    executed cells of that form.  This is exact: a variable a chapter defines later
    is never mistaken for a parameter, and re-running cells interactively is safe.

    Parameters
    ----------
    namespace : dict
        The notebook's ``globals()``.

    Returns
    -------
    list of str
        Names in order of first assignment; empty outside IPython (no ``In``)
        or when no parameters were injected.
    """
    history = namespace.get("In") if isinstance(namespace, dict) else None
    names = []
    for source in history if isinstance(history, list) else ():
        if not isinstance(source, str) or source.splitlines()[:1] != [_INJECTED_HEADER]:
            continue
        try:
            body = ast.parse(source).body
        except SyntaxError:
            continue
        for node in body:
            if isinstance(node, ast.Assign):
                names += [t.id for t in node.targets if isinstance(t, ast.Name) and t.id not in names]
    return names


def check_parameters(namespace=None, /, **params):
    """Check a chapter's parameters at once: call it in the cell right after the ``parameters`` cell.

    Each chapter calls, after its ``parameters`` cell (and papermill's injected
    cell, which papermill puts between the two)::

        check_parameters(globals(), profile=profile, seed=seed)

    naming every parameter of its ``parameters`` cell.

    Parameters
    ----------
    namespace : dict, optional
        The notebook's ``globals()``: names set by papermill's injected cell
        (:func:`injected_parameters`) that are not among ``params`` are refused
        (papermill itself only warns and the chapter would run with the
        default).  Omit it to check values only.
    **params
        The chapter's parameters by name, each checked by its rule in
        :data:`PARAMETER_RULES`.

    Raises
    ------
    ValueError
        A parameter out of range (``seed=-3``; ``profile`` not one of
        :data:`PROFILES`, an :class:`UnknownProfileError`), or an injected name
        the chapter does not declare (``-p sead 1``), with the close matches.
    TypeError
        A parameter of the wrong type (``seed=1.5``, ``J=True``): an
        :class:`mag_ml.checks.ArgumentTypeError`, also a ValueError; or a
        declared parameter without a rule (a chapter's mistake).
    """
    rules = {}
    for name in params:
        if name not in PARAMETER_RULES:
            raise TypeError(f"check_parameters has no rule for the parameter {name!r}; known: "
                            f"{', '.join(PARAMETER_RULES)} (add one to PARAMETER_RULES)")
        rules[name] = PARAMETER_RULES[name]
    if namespace is not None:
        unknown = [n for n in injected_parameters(namespace) if n not in params and n not in PAPERMILL_NAMES]
        if unknown:
            hints = [f"{n!r} (did you mean {m[0]!r}?)" if (m := difflib.get_close_matches(n, params, 1)) else repr(n)
                     for n in unknown]
            raise ValueError(f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(hints)} set by "
                             f"papermill (-p); this chapter's parameters are {', '.join(params)}")
    for name, value in params.items():
        rules[name](value)
    if namespace is not None:
        install_interrupt_message()


def install_interrupt_message(shell=None):
    """In IPython, answer Ctrl-C (KeyboardInterrupt) with one line instead of a traceback.

    The line says that the finished work is kept (datasets, checkpoints and
    artifacts are written as they complete) and that running the cell again
    resumes.  The cell still ends in error, so papermill and nbval see the
    interruption.  Called by :func:`check_parameters` with a namespace; a
    no-op outside IPython.

    Parameters
    ----------
    shell : IPython.core.interactiveshell.InteractiveShell, optional
        Default: the running shell.
    """
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:  # pragma: no cover - IPython is a dependency of the book
            return
        shell = get_ipython()
    if shell is None:
        return

    def handler(shell, etype, evalue, tb, tb_offset=None):
        where = data_root()
        print(f"Interrupted{f' ({evalue})' if str(evalue) else ''}: the finished work is kept (datasets, "
              f"checkpoints and artifacts under {where}); run the cell again to resume where it stopped.",
              file=sys.stderr)

    shell.set_custom_exc((KeyboardInterrupt,), handler)

def profile_spec(table, profile):
    """A deep copy of ``table[profile]``: the one lookup of every profile table.

    Parameters
    ----------
    table : dict of str to dict
        A profile table (keys: profile names).
    profile : str

    Returns
    -------
    dict
        A copy the caller may change.

    Raises
    ------
    UnknownProfileError
        ``profile`` is not one of :data:`PROFILES`.
    """
    check_profile(profile)
    return copy.deepcopy(table[profile])
