r"""A spin state as VTK image data (``.vti``) for ParaView, VisIt or any VTK reader.

The file is VTK's XML ``ImageData`` format (VTK User's Guide, "VTK File
Formats", XML formats: ``<ImageData WholeExtent Origin Spacing>``), written by
pyevtk (``pyevtk.hl.imageToVTK``, binary data appended raw with UInt64 block
headers).  Lattice site ``(y, x)`` is the grid *point* ``(x, y, 0)`` at
``origin + spacing * (x, y, 0)``, so the spin field is point data: the vector
array ``spins`` (the 3 components of a site together, x fastest, then y, as
VTK orders points), plus the scalar ``m_z`` and any extra scalar maps given
(e.g. ``cos_theta`` or a charge density).  In ParaView, *Glyph* by ``spins``
draws arrows and colouring by ``m_z`` gives the book's pictures.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pyevtk.hl import imageToVTK

from ..files import atomic_path
from .grid import check_grid

__all__ = ["write_vti"]


def write_vti(path, spins, *, spacing=1.0, origin=(0.0, 0.0), scalars=None):
    """Write one spin state to a VTK XML image-data file (``.vti``).

    Parameters
    ----------
    path : str or os.PathLike
        Destination; must end in ``.vti``.  Written atomically (replaced if it
        exists, untouched if writing fails).
    spins : array_like, shape (3, H, W), float
        The state, channels first, row index y; written as float64.
    spacing : float
        Distance between sites, > 0, in the unit of the caller (lattice
        spacings for the lattice model, metres for SI films).
    origin : (float, float)
        Position ``(x0, y0)`` of site (0, 0).
    scalars : dict of str to array_like (H, W), optional
        Extra point data, e.g. ``{"cos_theta": c}``.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        A path without the ``.vti`` suffix; spins not of shape (3, H, W) or
        not finite; a bad spacing or origin; a scalar map of another shape,
        non-finite, or named ``spins`` or ``m_z``.
    """
    path = Path(path)
    if path.suffix != ".vti":
        raise ValueError(f"path must end in .vti (VTK image data), got {str(path)!r}")
    arr = np.asarray(spins, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[0] != 3:
        raise ValueError(f"spins must be one state of shape (3, H, W), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("spins must be finite, got NaN or inf values")
    spacing, (x0, y0) = check_grid(spacing, origin)

    def grid(a):  # (H, W) -> (nx, ny, 1), which pyevtk writes in Fortran order: x fastest, as VTK wants
        return np.ascontiguousarray(a.T[:, :, None])

    point_data = {"spins": tuple(grid(arr[k]) for k in range(3)), "m_z": grid(arr[2])}
    for name, values in (scalars or {}).items():
        if not isinstance(name, str) or not name or name in point_data:
            raise ValueError(f"scalars names must be non-empty strings other than 'spins' and 'm_z', got {name!r}")
        values = np.asarray(values, dtype=np.float64)
        if values.shape != arr.shape[1:] or not np.isfinite(values).all():
            raise ValueError(f"scalars[{name!r}] must be a finite map of shape {arr.shape[1:]}, got shape "
                             f"{values.shape}")
        point_data[name] = grid(values)
    with atomic_path(path) as tmp:
        imageToVTK(str(tmp.with_suffix("")), origin=(x0, y0, 0.0), spacing=(spacing, spacing, spacing),
                   pointData=point_data)
    return path
