"""Argument checks shared by the whole package.

Bad input raises an exception that names the argument, its value and what is
allowed.  The rules, in one place:

* **numbers**: Python and NumPy scalars (``np.float32(0.5)``, ``np.int64(3)``,
  0-d arrays) are accepted wherever Python numbers are; bools are not numbers
  (``True`` is refused, not read as 1); a float is not an integer (``2.5`` and
  ``1e11`` are refused where a count is expected);
* **shapes**: a tuple (or list, or 1-D integer array) of positive integers,
  :func:`check_shape`;
* **sizes**: a request whose arrays would not fit in this machine's memory is
  refused before anything is allocated, with the estimate in the message,
  :func:`check_memory`.

A value of the wrong *type* raises :class:`ArgumentTypeError`, a
:class:`TypeError` that is also a :class:`ValueError` (these checks raised
ValueError for every bad input before the distinction was made, so code
catching ValueError keeps working); a value of the right type outside the
allowed range raises :class:`ValueError`; a request too large for the machine
raises :class:`TooLargeError`, a ValueError that is also a
:class:`MemoryError`.
"""

from __future__ import annotations

import math
import os

import numpy as np

__all__ = ["ArgumentTypeError", "TooLargeError", "describe", "is_real", "is_int", "check_real", "check_int",
           "check_shape", "machine_memory", "format_bytes", "check_memory", "resolve_device", "device_memory"]


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type (a TypeError that is also a ValueError)."""


class TooLargeError(ValueError, MemoryError):
    """A request whose arrays would not fit in memory, refused before allocating (also a MemoryError)."""


def describe(value, limit=80):
    """``repr(value)`` (shortened to ``limit`` characters) and its type, for error messages."""
    text = repr(value)
    if len(text) > limit:
        text = text[:limit - 3] + "..."
    if isinstance(value, (bool, np.bool_)):
        return f"{text} (a bool; bools are not accepted as numbers)"
    return f"{text} ({type(value).__name__})"


def _scalar(value):
    """A 0-d array as its NumPy scalar; anything else unchanged."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value[()]
    return value


def is_real(value):
    """True for a Python or NumPy real number (int or float; bools and complex excluded)."""
    value = _scalar(value)
    return (isinstance(value, (int, float, np.integer, np.floating))
            and not isinstance(value, (bool, np.bool_)))


def is_int(value):
    """True for a Python or NumPy integer (bools excluded; ``2.0`` is a float, not an integer)."""
    value = _scalar(value)
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_real(value, name, *, positive=False, nonneg=False, unit="", allowed=None):
    """Return ``value`` as a float after checking it is a finite real number.

    Parameters
    ----------
    value : object
        Candidate number (Python or NumPy real scalar, or a 0-d array; bools
        are refused).
    name : str
        Argument name for the error message.
    positive, nonneg : bool
        Require ``value > 0`` or ``value >= 0``.
    unit : str
        Unit named in the error message, e.g. ``"J/m"``.
    allowed : str, optional
        What is allowed, in words, for the message (default "a finite real
        number > 0" etc.).

    Raises
    ------
    ArgumentTypeError
        If the value is not a real number (a TypeError and a ValueError).
    ValueError
        If it is not finite or violates the bound.
    """
    if allowed is None:
        bound = " > 0" if positive else " >= 0" if nonneg else ""
        allowed = f"a finite real number{bound}{' ' + unit if unit else ''}"
    if not is_real(value):
        raise ArgumentTypeError(f"{name} must be {allowed}, got {describe(value)}")
    value = _scalar(value)
    if not math.isfinite(value) or (positive and value <= 0) or (nonneg and value < 0):
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return float(value)


def check_int(value, name, *, minimum=None, maximum=None, allowed=None):
    """Return ``value`` as an int after checking it is an integer in ``[minimum, maximum]``.

    Parameters
    ----------
    value : object
        Candidate (Python or NumPy integer, or a 0-d integer array; bools and
        floats, even integral ones such as ``1e11``, are refused).
    name : str
        Argument name for the error message.
    minimum, maximum : int, optional
        Bounds, inclusive.
    allowed : str, optional
        What is allowed, in words, for the message (default "an integer >= m").

    Raises
    ------
    ArgumentTypeError
        If the value is not an integer (a TypeError and a ValueError).
    ValueError
        If it is outside the bounds.
    """
    if allowed is None:
        bounds = [f">= {minimum}"] if minimum is not None else []
        bounds += [f"<= {maximum}"] if maximum is not None else []
        allowed = "an integer" + (" " + " and ".join(bounds) if bounds else "")
    if not is_int(value):
        hint = "; a float is not an integer" if isinstance(_scalar(value), (float, np.floating)) else ""
        raise ArgumentTypeError(f"{name} must be {allowed}, got {describe(value)}{hint}")
    value = int(_scalar(value))
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return value


_COUNT_WORDS = {1: "one", 2: "two", 3: "three", 4: "four"}


def check_shape(shape, name="shape", *, ndim=2, minimum=1, even=False, layout="(H, W)", note=""):
    """Return ``shape`` as a tuple of ints after checking it is ``ndim`` integers >= ``minimum``.

    A shape is a tuple (a list or a 1-D integer array is accepted the same
    way) of Python or NumPy integers; bools, floats (``4.7``), strings and bare
    integers (``5``) are refused.

    Parameters
    ----------
    shape : object
        Candidate shape.
    name : str
        Argument name for the error message.
    ndim : int
        Number of entries.
    minimum : int
        Smallest allowed entry.
    even : bool
        Require even entries.
    layout : str
        The entries' meaning for the message, e.g. ``"(H, W)"``.
    note : str
        Appended to the allowed values in the message, e.g. the reason for ``even``.

    Returns
    -------
    tuple of int

    Raises
    ------
    ArgumentTypeError
        Not a tuple/list of integers (a TypeError and a ValueError).
    ValueError
        Wrong number of entries, entries below ``minimum`` or odd where ``even``.
    """
    kind = "even integers" if even else "integers"
    kind = f"positive {kind}" if minimum == 1 else f"{kind} >= {minimum}"
    allowed = f"{_COUNT_WORDS.get(ndim, ndim)} {kind} {layout}{note}"
    if isinstance(shape, np.ndarray):
        ok = shape.ndim == 1 and (np.issubdtype(shape.dtype, np.integer) or shape.size == 0)
        entries = tuple(shape.tolist()) if ok else None
    elif isinstance(shape, (tuple, list)):
        entries = tuple(shape)
    else:
        entries = None
    if entries is None:
        raise ArgumentTypeError(f"{name} must be a tuple of {allowed}, got {describe(shape)}")
    if len(entries) != ndim:
        raise ValueError(f"{name} must be a tuple of {allowed}, got {tuple(entries)!r} ({len(entries)} entries)")
    for entry in entries:
        if not is_int(entry):
            raise ArgumentTypeError(f"{name} must be a tuple of {allowed}, got {tuple(entries)!r}: "
                                    f"entry {describe(entry)} is not an integer")
    out = tuple(int(_scalar(e)) for e in entries)
    if any(e < minimum or (even and e % 2) for e in out):
        raise ValueError(f"{name} must be {allowed}, got {out}")
    return out


def machine_memory():
    """This machine's physical memory in bytes, or None where the platform does not report it.

    ``os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")`` (POSIX).
    """
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):  # pragma: no cover - not POSIX
        return None
    return pages * size if pages > 0 and size > 0 else None


def format_bytes(n):
    """``n`` bytes in words with binary prefixes, e.g. ``"24 TiB"``."""
    n = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if abs(n) < 1024 or unit == "EiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} EiB"  # pragma: no cover - unreachable


def check_memory(nbytes, request, *, hint="", limit=None):
    """Refuse, before allocating, a request whose arrays need more than this machine's memory.

    Parameters
    ----------
    nbytes : int or float
        Estimated bytes the request allocates (a lower bound: the arrays it
        must hold at once).
    request : str
        The request with its arguments, e.g. ``"random_spins(shape=(1000000, 1000000))"``;
        it starts the message.
    hint : str
        What to do instead, appended to the message.
    limit : int, optional
        Bytes allowed; default :func:`machine_memory` (no check where the
        platform does not report it).

    Returns
    -------
    float
        ``nbytes``.

    Raises
    ------
    TooLargeError
        ``nbytes > limit`` (a ValueError and a MemoryError), the message giving
        both sizes.
    """
    limit = machine_memory() if limit is None else limit
    if limit is not None and nbytes > limit:
        raise TooLargeError(f"{request} needs about {format_bytes(nbytes)} of memory, more than this machine's "
                            f"{format_bytes(limit)}; refused before allocating{'; ' + hint if hint else ''}")
    return nbytes


def resolve_device(device="auto"):
    """The torch device a run uses: the one parser of ``device`` arguments in the package.

    Parameters
    ----------
    device : str, torch.device or None
        ``"auto"`` or None (CUDA when available, else the CPU), ``"cpu"``,
        ``"cuda"`` or ``"cuda:K"``.

    Returns
    -------
    torch.device

    Raises
    ------
    ValueError
        An unknown device, or CUDA asked for on a machine without a usable
        CUDA device (the message names it and says what to use instead).
    """
    import torch

    if device is None or (isinstance(device, str) and device == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:K', got {device!r}") from None
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:K', got {device!r}")
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if (dev.index or 0) >= count:
            raise ValueError(f"device={device!r} was asked for, but this machine has "
                             f"{'no CUDA device' if count == 0 else f'{count} CUDA device(s)'} "
                             "(use device='auto' or 'cpu')")
    return dev


def device_memory(device):
    """Bytes a run on ``device`` can still allocate: free GPU memory, or this machine's available memory.

    Parameters
    ----------
    device : torch.device
        As returned by :func:`resolve_device`.

    Returns
    -------
    int or None
        ``torch.cuda.mem_get_info(device)[0]`` on CUDA; on the CPU the
        available physical memory (``SC_AVPHYS_PAGES * SC_PAGE_SIZE``, POSIX),
        else :func:`machine_memory`; None where neither is reported.
    """
    if device.type == "cuda":
        import torch

        return int(torch.cuda.mem_get_info(device)[0])
    try:
        pages, size = os.sysconf("SC_AVPHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):  # pragma: no cover - not POSIX
        return machine_memory()
    return pages * size if pages > 0 and size > 0 else machine_memory()
