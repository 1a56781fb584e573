"""Argument checks shared by the whole package.

Bad input raises an exception that names the argument, its value and what is
allowed (DESIGN.md, "Behaviour that users rely on").
"""

from __future__ import annotations

import math

import numpy as np


def check_real(value, name, *, positive=False, nonneg=False, unit=""):
    """Return ``value`` as a float after checking it is a finite real number.

    Parameters
    ----------
    value : object
        Candidate number (Python or NumPy real scalar; bools are refused).
    name : str
        Argument name for the error message.
    positive, nonneg : bool
        Require ``value > 0`` or ``value >= 0``.
    unit : str
        Unit named in the error message, e.g. ``"J/m"``.

    Raises
    ------
    ValueError
        If the value is not a finite real number or violates the bound.
    """
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or (positive and value <= 0) or (nonneg and value < 0):
        allowed = "> 0" if positive else ">= 0" if nonneg else "finite"
        raise ValueError(f"{name} must be a finite real number {allowed}{' ' + unit if unit else ''}, "
                         f"got {value!r}")
    return float(value)


def check_int(value, name, *, minimum=None):
    """Return ``value`` as an int after checking it is an integer (bools refused) ``>= minimum``.

    Parameters
    ----------
    value : object
        Candidate (Python or NumPy integer).
    name : str
        Argument name for the error message.
    minimum : int, optional
        Smallest allowed value.

    Raises
    ------
    ValueError
        If the value is not an integer or is below ``minimum``.
    """
    if (not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_))
            or (minimum is not None and value < minimum)):
        bound = "" if minimum is None else f" >= {minimum}"
        raise ValueError(f"{name} must be an integer{bound}, got {value!r}")
    return int(value)
