"""Overlapping sliding windows: the data augmentation of Wang et al. (Adv. Sci. 2020).

Wang et al. (arXiv 1908.05829, "Data augmentation") cut every simulated
512 x 512 image into overlapping 32 x 32 windows with a stride of 8 cells and
train the CNN on the windows, each labelled with the parameters of its
image; an observation is estimated window by window, and the spread of the
window estimates is the uncertainty.  An ``H x W`` image gives

.. math::

    n = \\Big(\\Big\\lfloor\\frac{H - s}{t}\\Big\\rfloor + 1\\Big)
        \\Big(\\Big\\lfloor\\frac{W - s}{t}\\Big\\rfloor + 1\\Big)

windows of size ``s`` and stride ``t`` (3721 for the paper's images).
"""

from __future__ import annotations

import numpy as np

__all__ = ["sliding_windows", "window_count"]


def _check_size(value, name):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer (cells), got {value!r}")
    return int(value)


def window_count(shape, size=32, stride=8):
    """Number of windows along each axis and in all, ``((H-size)//stride+1) * ((W-size)//stride+1)``.

    Parameters
    ----------
    shape : tuple (H, W)
        Image shape in cells.
    size, stride : int
        Window side and step in cells, >= 1.

    Returns
    -------
    (n_rows, n_cols, n) : tuple of int

    Raises
    ------
    ValueError
        Non-positive ``size`` or ``stride``, or an image side smaller than ``size``.
    """
    size, stride = _check_size(size, "size"), _check_size(stride, "stride")
    h, w = (int(n) for n in shape)
    if h < size or w < size:
        raise ValueError(f"image of {h} x {w} cells is smaller than a window of size={size}; "
                         f"images must be at least {size} x {size}")
    rows, cols = (h - size) // stride + 1, (w - size) // stride + 1
    return rows, cols, rows * cols


def sliding_windows(images, size=32, stride=8, *, channels=None):
    """Cut images into overlapping square windows (Wang et al. 2020, data augmentation).

    Parameters
    ----------
    images : array_like, shape (C, H, W) or (N, C, H, W)
        One image or a batch, channels first (e.g. ``m_z`` as ``C = 1`` or
        ``(m_x, m_y, m_z)`` as ``C = 3``); any dtype, kept.
    size : int
        Window side in cells (paper: 32), >= 1.
    stride : int
        Step between window corners in cells (paper: 8), >= 1.
    channels : int, optional
        Required channel count ``C`` (e.g. the network's input channels).

    Returns
    -------
    windows : ndarray, shape (n, C, size, size) or (N, n, C, size, size)
        ``windows[..., k, :, :, :] == images[..., :, r:r + size, c:c + size]``
        with ``(r, c) = positions[k]``, in row-major order of the corners; a
        copy (C-contiguous).
    positions : ndarray of int64, shape (n, 2)
        ``(row, col)`` of each window's first cell: ``row = stride * i`` for
        ``i < (H - size) // stride + 1``, likewise for columns.  Cells past
        the last full window are not covered.

    Raises
    ------
    ValueError
        ``images`` not 3-D or 4-D, a channel count other than ``channels``,
        images smaller than a window, or non-positive ``size`` or ``stride``.
    """
    x = np.asarray(images)
    if x.ndim not in (3, 4):
        raise ValueError(f"images must have shape (C, H, W) or (N, C, H, W), got shape {x.shape}; "
                         "pass one m_z map as m_z[None]")
    if channels is not None and x.shape[-3] != channels:
        raise ValueError(f"images must have {channels} channel(s) (axis -3), got {x.shape[-3]} "
                         f"(shape {x.shape})")
    rows, cols, _ = window_count(x.shape[-2:], size, stride)
    view = np.lib.stride_tricks.sliding_window_view(x, (size, size), axis=(-2, -1))
    view = view[..., ::stride, ::stride, :, :][..., :rows, :cols, :, :]  # (..., C, rows, cols, s, s)
    view = np.moveaxis(view, -5, -3)  # (..., rows, cols, C, s, s)
    windows = np.array(view.reshape(x.shape[:-3] + (rows * cols, x.shape[-3], size, size)), order="C")
    r, c = np.meshgrid(np.arange(rows) * stride, np.arange(cols) * stride, indexing="ij")
    positions = np.stack([r.ravel(), c.ravel()], axis=1).astype(np.int64)
    return windows, positions
