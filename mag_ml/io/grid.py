"""The regular grid of an exported state: site spacing and origin, checked once for every format."""

from __future__ import annotations

from ..checks import check_real

__all__ = ["check_grid"]


def check_grid(spacing, origin):
    """Validated ``(spacing, (x0, y0))`` of a regular 2D grid of sites.

    Parameters
    ----------
    spacing : float
        Distance between neighbouring sites, > 0 (the caller's length unit).
    origin : (float, float)
        Position of site (0, 0).

    Returns
    -------
    spacing : float
    origin : tuple of 2 float

    Raises
    ------
    ValueError
        A non-positive or non-finite spacing, an origin that is not two
        finite numbers (values that are not numbers raise
        :class:`mag_ml.checks.ArgumentTypeError`, a TypeError and a ValueError).
    """
    spacing = check_real(spacing, "spacing", positive=True, allowed="a positive finite distance between sites")
    try:
        x0, y0 = origin
    except (TypeError, ValueError):
        raise ValueError(f"origin must be two numbers (x0, y0), got {origin!r}") from None
    return spacing, (check_real(x0, "origin[0]"), check_real(y0, "origin[1]"))
