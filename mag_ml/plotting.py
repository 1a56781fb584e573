"""Figures of spin configurations, scalar maps and annealing runs.

One function per kind of figure. Every function draws with matplotlib only:
functions that take an ``ax`` (or ``fig``) draw into it and return it; when
none is given they create a new figure with :func:`matplotlib.pyplot.subplots`
(so it shows inline in a notebook like any other figure) and return it. No
function changes ``rcParams``, calls ``plt.show`` or keeps a hidden figure
open; :func:`animate_states` builds its figure outside pyplot entirely.

Colour code of spin images
--------------------------
Spin images follow the visual style of Kwon et al., "Magnetic state
generation using Hamiltonian guided variational autoencoder with spin
structure stabilization", Adv. Sci. 8, 2004795 (2021), Figs. 1, 3-5: the
in-plane direction of a spin is the hue on a colour wheel and the
out-of-plane component is the lightness, white for :math:`S_z = +1` and black
for :math:`S_z = -1`. Precisely, :func:`spin_rgb` uses the HSL model with

.. math::

    h = \\frac{\\operatorname{atan2}(S_y, S_x)}{2\\pi} \\bmod 1, \\qquad
    s = 1, \\qquad
    l = \\frac{1 + S_z}{2},

so that +x is red (h = 0), +y chartreuse (h = 1/4), -x cyan (h = 1/2) and
-y violet (h = 3/4), all at full saturation and mid lightness when the spin
lies in the plane. :func:`plot_colour_wheel` draws the legend.

Conventions: one state has shape ``(3, H, W)``, a batch
``(N, 3, H, W)``, channels first; row index is y, column index is x, and all
images use ``origin="lower"`` so that +y points up.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "VACANCY_RGB",
    "spin_rgb",
    "spins_from_rgb",
    "plot_spins",
    "plot_colour_wheel",
    "plot_map",
    "plot_gallery",
    "charge_text",
    "plot_samples",
    "plot_reconstructions",
    "plot_histories",
    "plot_anneal_summary",
    "animate_states",
    "plot_series_losses",
    "animate_curves",
    "plot_defect_realisation",
]

#: RGB colour of vacant sites (``mask`` False) in spin images: mid grey. No
#: unit spin maps to it, since every spin colour has saturation 1.
VACANCY_RGB = (0.5, 0.5, 0.5)


# --------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------
def _short_repr(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _as_spins(spins, name="spins", *, batch=None):
    """Return ``spins`` as a finite float64 array of shape (..., 3, H, W).

    ``batch=None`` accepts (3, H, W) and (N, 3, H, W); True only the latter;
    False only the former.
    """
    try:
        arr = np.asarray(spins, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{name} must be an array of spins of shape (3, H, W) or (N, 3, H, W); "
            f"got {type(spins).__name__}"
        ) from exc
    allowed = {None: (3, 4), True: (4,), False: (3,)}[batch]
    wanted = {None: "(3, H, W) or (N, 3, H, W)", True: "(N, 3, H, W)", False: "(3, H, W)"}[batch]
    if arr.ndim not in allowed or arr.shape[-3] != 3 or arr.shape[-1] < 1 or arr.shape[-2] < 1:
        raise ValueError(
            f"{name} must have shape {wanted} (channels first: Sx, Sy, Sz); "
            f"got shape {arr.shape}"
        )
    if batch is not False and arr.ndim == 4 and arr.shape[0] < 1:
        raise ValueError(f"{name} must hold at least one state; got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        n_bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise ValueError(f"{name} must be finite; got {n_bad} NaN or infinite entries")
    return arr


def _as_mask(mask, hw, name="mask"):
    """Return ``mask`` as a bool array of shape ``hw`` (or None)."""
    if mask is None:
        return None
    m = np.asarray(mask)
    if m.shape != tuple(hw):
        raise ValueError(
            f"{name} must be None or a bool array of shape (H, W) = {tuple(hw)}; "
            f"got shape {m.shape}"
        )
    if m.dtype != bool:
        if not np.all(np.isin(m, (0, 1))):
            raise ValueError(f"{name} must hold only True/False (or 1/0); got values {np.unique(m)[:5]}")
        m = m.astype(bool)
    return m


def _as_map(values, name="values"):
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric array of shape (H, W); got {type(values).__name__}") from exc
    if arr.ndim != 2 or 0 in arr.shape:
        raise ValueError(f"{name} must have shape (H, W); got shape {arr.shape}")
    return arr


def _as_history(x, name):
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array (one value per step); got shape {arr.shape}")
    return arr


def _new_axes(ax, figsize):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _extent(h, w):
    # pixel centres on integer lattice coordinates: site (x, y) at (x, y)
    return (-0.5, w - 0.5, -0.5, h - 0.5)


# --------------------------------------------------------------------------
# colour code
# --------------------------------------------------------------------------
def spin_rgb(spins, *, mask=None):
    """Colour spins as RGB: hue = in-plane angle, lightness = S_z.

    The visual style of Kwon et al., Adv. Sci. 8, 2004795 (2021), Figs. 1
    and 3-5. Each spin is first normalised to unit length, then coloured in
    the HSL model with hue ``h = atan2(Sy, Sx) / (2 pi) mod 1``, saturation
    ``s = 1`` and lightness ``l = (1 + Sz) / 2``, and converted to RGB. Hence
    ``Sz = +1`` is white, ``Sz = -1`` black, and in-plane spins have full
    colour at mid lightness: +x red ``(1, 0, 0)``, +y chartreuse
    ``(0.5, 1, 0)``, -x cyan ``(0, 1, 1)``, -y violet ``(0.5, 0, 1)``.

    Parameters
    ----------
    spins : array_like, shape (3, H, W) or (N, 3, H, W)
        Spin components (Sx, Sy, Sz), channels first, row index y, column
        index x; dimensionless. Any float dtype; vectors need not be exactly
        unit length (e.g. decoder outputs or coarse-grained fields): the
        direction is used. Zero vectors are coloured as vacancies.
    mask : array_like of bool, shape (H, W), optional
        True where a site is occupied. Vacant sites (False) get
        :data:`VACANCY_RGB` (grey). Applies to every state of a batch.

    Returns
    -------
    rgb : numpy.ndarray, shape (H, W, 3) or (N, H, W, 3), float64
        RGB values in [0, 1], ready for ``imshow(rgb, origin="lower")``.

    Raises
    ------
    ValueError
        If ``spins`` is not of shape (3, H, W) or (N, 3, H, W) or holds NaN
        or infinite values, or ``mask`` is not of shape (H, W).
    TypeError
        If ``spins`` is not numeric.

    Examples
    --------
    >>> spin_rgb(np.array([0.0, 0.0, 1.0]).reshape(3, 1, 1))[0, 0]
    array([1., 1., 1.])
    >>> spin_rgb(np.array([1.0, 0.0, 0.0]).reshape(3, 1, 1))[0, 0]
    array([1., 0., 0.])
    """
    s = _as_spins(spins)
    m = _as_mask(mask, s.shape[-2:])
    norm = np.sqrt(np.sum(s * s, axis=-3))  # (..., H, W)
    empty = norm == 0.0
    safe = np.where(empty, 1.0, norm)
    sx, sy, sz = (np.moveaxis(s, -3, 0) / safe)  # each (..., H, W)
    hue = np.mod(np.arctan2(sy, sx) / (2.0 * np.pi), 1.0)
    light = np.clip(0.5 * (1.0 + sz), 0.0, 1.0)
    # HSL -> RGB with s = 1 (vectorised form of the standard formula):
    # channel n in (0, 8, 4) for (R, G, B): k = (n + 12 h) mod 12,
    # value = l - a * clip(min(k - 3, 9 - k), -1, 1), a = min(l, 1 - l).
    a = np.minimum(light, 1.0 - light)
    rgb = np.empty(s.shape[:-3] + s.shape[-2:] + (3,), dtype=np.float64)
    for c, n in enumerate((0.0, 8.0, 4.0)):
        k = np.mod(n + 12.0 * hue, 12.0)
        rgb[..., c] = light - a * np.clip(np.minimum(k - 3.0, 9.0 - k), -1.0, 1.0)
    np.clip(rgb, 0.0, 1.0, out=rgb)
    vacant = empty if m is None else (empty | ~m)
    if np.any(vacant):
        rgb[vacant] = VACANCY_RGB
    return rgb


def spins_from_rgb(rgb):
    """Invert :func:`spin_rgb`: unit spins from RGB pixels in the book's colour code.

    HSL lightness ``l = (max + min) / 2`` gives ``Sz = 2 l - 1``; the hue of
    the RGB triplet gives the in-plane angle, and the in-plane length is
    ``sqrt(1 - Sz^2)``.  Grey pixels with ``0 < l < 1`` (no hue, which no
    unit spin has: every spin colour has saturation 1) are vacancies and
    become zero vectors.  8-bit images (PNG) recover ``Sz`` to 1/255 and the
    angle to about ``1 / (255 sqrt(1 - Sz^2))`` rad.

    Parameters
    ----------
    rgb : array_like, shape (H, W, 3) or (N, H, W, 3)
        Values in [0, 1] (float) or 0-255 (uint8).

    Returns
    -------
    spins : ndarray, shape (3, H, W) or (N, 3, H, W), float64
        Unit vectors (zero on vacancies).

    Raises
    ------
    ValueError
        If the last axis is not 3 or floats lie outside [0, 1].
    """
    c = np.asarray(rgb)
    if c.ndim not in (3, 4) or c.shape[-1] != 3:
        raise ValueError(f"rgb must have shape (H, W, 3) or (N, H, W, 3), got {c.shape}")
    c = c / 255.0 if c.dtype == np.uint8 else c.astype(np.float64)
    if not np.all((c >= 0) & (c <= 1)):
        raise ValueError("rgb floats must lie in [0, 1] (uint8 images: 0-255)")
    r, g, b = np.moveaxis(c, -1, 0)
    hi, lo = c.max(axis=-1), c.min(axis=-1)
    chroma = hi - lo
    light = 0.5 * (hi + lo)
    safe = np.where(chroma > 0, chroma, 1.0)
    sector = np.where(hi == r, np.mod((g - b) / safe, 6.0), np.where(hi == g, (b - r) / safe + 2.0,
                                                                     (r - g) / safe + 4.0))
    phi = sector * (np.pi / 3.0)
    sz = np.clip(2.0 * light - 1.0, -1.0, 1.0)
    inplane = np.sqrt(1.0 - sz * sz)
    spins = np.stack([inplane * np.cos(phi), inplane * np.sin(phi), sz], axis=-3)
    vacant = (chroma == 0) & (light > 0) & (light < 1)
    return np.where(vacant[..., None, :, :], 0.0, spins)


def _skyrmion_like_wheel(n):
    """Spins on an n x n grid covering the colour wheel disk (outside: zero)."""
    c = (np.arange(n) + 0.5) / n * 2.0 - 1.0
    x, y = np.meshgrid(c, c)  # row index y
    r = np.hypot(x, y)
    phi = np.arctan2(y, x)
    theta = np.pi * np.clip(r, 0.0, 1.0)  # centre +z, r = 1/2 in-plane, rim -z
    spins = np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])
    return spins, r <= 1.0


# --------------------------------------------------------------------------
# single panels
# --------------------------------------------------------------------------
def plot_spins(spins, ax=None, *, arrows=False, title=None, mask=None,
               arrow_color="k", figsize=(4.0, 4.0)):
    """Draw one spin configuration in the colour code of :func:`spin_rgb`.

    Style of the spin images of Kwon et al., Adv. Sci. 8, 2004795 (2021),
    Figs. 1 and 3-5 (hue = in-plane direction, white = +z, black = -z).
    Lattice site (x, y) is the pixel centred at (x, y); ``origin="lower"``.

    Parameters
    ----------
    spins : array_like, shape (3, H, W)
        One spin configuration (Sx, Sy, Sz), dimensionless unit vectors.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into. If None, a new figure of size ``figsize`` is
        created with pyplot.
    arrows : bool or int, default False
        Draw the in-plane components (Sx, Sy) as arrows (``quiver``) on every
        ``stride``-th site in x and y. ``True`` picks ``stride = max(1,
        min(H, W) // 16)``; a positive int is the stride itself. Arrow length
        is proportional to the in-plane magnitude; an in-plane spin's arrow
        spans 0.8 stride.
    title : str, optional
        Axes title.
    mask : array_like of bool, shape (H, W), optional
        True where a site is occupied; vacant sites are drawn grey
        (:data:`VACANCY_RGB`) and get no arrow.
    arrow_color : color, default "k"
        Colour of the arrows.
    figsize : (float, float), default (4, 4)
        Figure size in inches when ``ax`` is None.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes drawn into; ``ax.images[-1]`` is the spin image.

    Raises
    ------
    ValueError
        If ``spins`` is not of shape (3, H, W) or not finite, ``mask`` has
        the wrong shape, or ``arrows`` is a non-positive int.
    """
    s = _as_spins(spins, batch=False)
    h, w = s.shape[1:]
    if isinstance(arrows, (bool, np.bool_)):
        stride = max(1, min(h, w) // 16) if arrows else 0
    elif isinstance(arrows, (int, np.integer)) and arrows > 0:
        stride = int(arrows)
    else:
        raise ValueError(f"arrows must be True, False or a positive int stride; got {arrows!r}")
    m = _as_mask(mask, (h, w))
    ax = _new_axes(ax, figsize)
    ax.imshow(spin_rgb(s, mask=m), origin="lower", interpolation="nearest",
              extent=_extent(h, w))
    if stride:
        ys, xs = np.mgrid[0:h:stride, 0:w:stride]
        u = s[0, ::stride, ::stride].copy()
        v = s[1, ::stride, ::stride].copy()
        if m is not None:
            keep = m[::stride, ::stride]
            u[~keep] = np.nan
            v[~keep] = np.nan
        ax.quiver(xs, ys, u, v, color=arrow_color, pivot="mid", angles="xy",
                  scale_units="xy", scale=1.0 / (0.8 * stride), width=0.004 * 32 / max(8, w / stride),
                  headwidth=4, headlength=4, headaxislength=3.5, minlength=0.0)
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(-0.5, h - 0.5)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title)
    return ax


def plot_colour_wheel(ax=None, *, resolution=201, labels=True, figsize=(2.2, 2.2)):
    """Draw the legend of the spin colour code used by :func:`spin_rgb`.

    A disk whose polar angle is the in-plane spin angle atan2(Sy, Sx) and
    whose radius r in [0, 1] is the polar angle theta = pi r of the spin:
    the centre is +z (white), the circle r = 1/2 is in-plane (full hue) and
    the rim is -z (black). This is the colour-wheel legend beside the spin
    images of Kwon et al., Adv. Sci. 8, 2004795 (2021), Fig. 1.

    Parameters
    ----------
    ax : matplotlib.axes.Axes, optional
        Axes to draw into (e.g. a small inset). If None, a new figure of
        size ``figsize`` is created with pyplot.
    resolution : int, default 201
        Pixels across the disk (>= 16).
    labels : bool, default True
        Annotate +x, +y, and the +z (centre) / -z (rim) meaning.
    figsize : (float, float), default (2.2, 2.2)
        Figure size in inches when ``ax`` is None.

    Returns
    -------
    ax : matplotlib.axes.Axes

    Raises
    ------
    ValueError
        If ``resolution`` is not an int >= 16.
    """
    if not isinstance(resolution, (int, np.integer)) or resolution < 16:
        raise ValueError(f"resolution must be an int >= 16; got {resolution!r}")
    from matplotlib.patches import Circle

    ax = _new_axes(ax, figsize)
    spins, inside = _skyrmion_like_wheel(int(resolution))
    rgba = np.ones(spins.shape[1:] + (4,))
    rgba[..., :3] = spin_rgb(spins)
    rgba[~inside, 3] = 0.0  # transparent outside the disk
    ax.imshow(rgba, origin="lower", extent=(-1, 1, -1, 1), interpolation="bilinear")
    ax.add_patch(Circle((0, 0), 1.0, fill=False, lw=0.8, color="0.3"))
    ax.set_xlim(-1.45, 1.45)
    ax.set_ylim(-1.45, 1.45)
    ax.set_aspect("equal")
    ax.axis("off")
    if labels:
        kw = dict(ha="center", va="center", fontsize="small")
        ax.annotate("", xy=(1.4, 0), xytext=(1.02, 0), arrowprops=dict(arrowstyle="->", lw=0.8))
        ax.annotate("", xy=(0, 1.4), xytext=(0, 1.02), arrowprops=dict(arrowstyle="->", lw=0.8))
        ax.text(1.3, -0.17, "+x", **kw)
        ax.text(0.22, 1.3, "+y", **kw)
        ax.text(0.0, 0.0, "+z", color="0.25", **kw)
        ax.text(-1.05, -1.2, "rim: -z", **{**kw, "ha": "left"})
    return ax


def plot_map(values, ax=None, *, cmap="viridis", vmin=None, vmax=None, label=None,
             title=None, mask=None, colorbar=True, figsize=(4.6, 4.0)):
    """Draw a scalar field on the lattice with a colour bar.

    For maps such as the local correlation cos(theta) between spin and
    effective field (Kwon et al., Adv. Sci. 8, 2004795 (2021), Fig. 3),
    S_z, or the energy density per site. ``origin="lower"``; site (x, y) is
    the pixel centred at (x, y).

    Parameters
    ----------
    values : array_like, shape (H, W)
        The scalar per site, in the units stated by ``label``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into. If None, a new figure is created with pyplot.
    cmap : str or matplotlib.colors.Colormap, default "viridis"
        Colour map; e.g. "RdBu_r" with ``vmin=-1, vmax=1`` for S_z.
    vmin, vmax : float, optional
        Colour limits; default the data range (of occupied sites).
    label : str, optional
        Colour-bar label, with units (e.g. ``r"$\\cos\\theta$"``,
        ``"energy per site [J]"``).
    title : str, optional
        Axes title.
    mask : array_like of bool, shape (H, W), optional
        True where a site is occupied; vacant sites are left blank (grey).
    colorbar : bool, default True
        Add a colour bar beside the axes.
    figsize : (float, float), default (4.6, 4.0)
        Figure size in inches when ``ax`` is None.

    Returns
    -------
    ax : matplotlib.axes.Axes
        ``ax.images[-1]`` is the image (its ``.colorbar`` the colour bar).

    Raises
    ------
    ValueError
        If ``values`` is not 2-D, ``mask`` has the wrong shape, or
        ``vmin > vmax``.
    """
    v = _as_map(values)
    m = _as_mask(mask, v.shape)
    if vmin is not None and vmax is not None and vmin > vmax:
        raise ValueError(f"vmin must be <= vmax; got vmin={vmin!r}, vmax={vmax!r}")
    data = np.ma.masked_array(v, mask=None if m is None else ~m)
    data = np.ma.masked_invalid(data)
    ax = _new_axes(ax, figsize)
    ax.set_facecolor(VACANCY_RGB)
    im = ax.imshow(data, origin="lower", interpolation="nearest", cmap=cmap,
                   vmin=vmin, vmax=vmax, extent=_extent(*v.shape))
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if colorbar:
        ax.figure.colorbar(im, ax=ax, label=label, shrink=0.85)
    if title is not None:
        ax.set_title(title)
    return ax


# --------------------------------------------------------------------------
# multi-panel figures
# --------------------------------------------------------------------------
def plot_gallery(states, ncols=4, titles=None, *, mask=None, arrows=False,
                 panel_size=2.0, suptitle=None, colour_wheel=False):
    """Draw a grid of spin configurations in the colour code of :func:`spin_rgb`.

    Like the panels of generated and test states in Kwon et al., Adv. Sci.
    8, 2004795 (2021), Figs. 4 and 5.

    Parameters
    ----------
    states : array_like, shape (N, 3, H, W)
        A batch of spin configurations (a single (3, H, W) is accepted as
        N = 1).
    ncols : int, default 4
        Panels per row (>= 1); the number of rows is ``ceil(N / ncols)``.
    titles : sequence of str, optional
        One title per state (length N).
    mask : array_like of bool, shape (H, W), optional
        Occupied sites (see :func:`plot_spins`).
    arrows : bool or int, default False
        Passed to :func:`plot_spins`.
    panel_size : float, default 2.0
        Width and height of one panel in inches.
    suptitle : str, optional
        Figure title.
    colour_wheel : bool, default False
        Add a colour-wheel legend (:func:`plot_colour_wheel`): in the first
        empty grid cell if there is one, else as a small inset in the upper
        right corner of the last panel.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Created with pyplot; ``fig.axes[:N]`` are the state panels.

    Raises
    ------
    ValueError
        If ``states`` has the wrong shape, ``ncols`` < 1, or ``titles`` has
        a length other than N.
    """
    import matplotlib.pyplot as plt

    s = _as_spins(states, "states")
    if s.ndim == 3:
        s = s[None]
    n = s.shape[0]
    if not isinstance(ncols, (int, np.integer)) or ncols < 1:
        raise ValueError(f"ncols must be a positive int; got {ncols!r}")
    if titles is not None:
        titles = list(titles)
        if len(titles) != n:
            raise ValueError(f"titles must have one entry per state (N = {n}); got {len(titles)}")
    ncols = int(min(ncols, n))
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_size * ncols, panel_size * nrows + (0.3 if suptitle else 0)),
                             squeeze=False, layout="constrained")
    for i, ax in enumerate(axes.flat):
        if i < n:
            plot_spins(s[i], ax, arrows=arrows, mask=mask,
                       title=None if titles is None else titles[i])
        else:
            ax.axis("off")
    if colour_wheel:
        # in the first empty grid cell if there is one, else an inset in the
        # upper right corner of the last panel
        host = axes.flat[n] if n < axes.size else axes.flat[n - 1]
        bounds = (0.2, 0.2, 0.6, 0.6) if n < axes.size else (0.76, 0.76, 0.24, 0.24)
        plot_colour_wheel(host.inset_axes(bounds), labels=n < axes.size, resolution=101)
    if suptitle is not None:
        fig.suptitle(suptitle)
    return fig


#: Widest figure (inches) the grid functions draw: at the inline backend's 100 dpi it shows on the book's
#: 1280 px page (a column of about 690 px) nearly unscaled, so 10 pt text stays above 9 px.
MAX_FIGURE_WIDTH = 7.5


def charge_text(q, tol=1e-3):
    """A topological charge as text: an integer when it is one within ``tol`` (relaxed states), else 2 decimals.

    Parameters
    ----------
    q : float
    tol : float, default 1e-3

    Returns
    -------
    str
        ``"-5"`` for -5.000000001, ``"-4.97"`` for -4.9712.
    """
    return f"{round(q):d}" if abs(q - round(q)) < tol else f"{q:.2f}"


def plot_samples(rows, titles=None, *, row_labels=None, state_map=None, map_kw=None,
                 panel_size=(2.0, 2.0), suptitle=None, max_width=MAX_FIGURE_WIDTH):
    """Draw rows of spin states, e.g. generated states of one model or of one latent vector per row.

    The grid of the model-output figures of Kwon et al., Adv. Sci. 8,
    2004795 (2021), Figs. 2-5: one row per model (or per lattice size),
    states in the colour code of :func:`spin_rgb`, each optionally followed
    by a scalar map of it (e.g. the local correlation cos(theta) of Fig. 3A).
    Rows may hold states of different lattice sizes and different numbers of
    states; ``None`` leaves a blank cell.

    Parameters
    ----------
    rows : sequence of sequences of array_like, each state of shape (3, H, W)
        The states, row by row (``None`` for a blank cell).
    titles : sequence of sequences of str, optional
        Panel titles, in the shape of ``rows``.
    row_labels : sequence of str, optional
        One y-axis label per row, on its first panel.
    state_map : callable, optional
        ``state_map(state) -> (values, title)``: a scalar map of shape (H, W)
        drawn with :func:`plot_map` in a panel right of each state, with its
        title; the colour bar is drawn beside the last map of each row.
    map_kw : dict, optional
        Further arguments of :func:`plot_map` (``cmap``, ``vmin``, ``vmax``,
        ``label``).
    panel_size : (float, float), default (2.0, 2.0)
        Width and height of one panel (state or map) in inches.
    suptitle : str, optional
        Figure title.
    max_width : float, default MAX_FIGURE_WIDTH
        Widest figure in inches: a longer row is wrapped onto as many figure
        rows as it needs (its label on the first), so panels keep their size
        and their text stays readable at page width.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Created with pyplot.

    Raises
    ------
    ValueError
        No state at all, a state of the wrong shape, ``titles`` or
        ``row_labels`` not matching ``rows``, ``map_kw`` without
        ``state_map``, or a ``max_width`` narrower than one panel.
    """
    import matplotlib.pyplot as plt

    rows = [[None if s is None else _as_spins(s, "state", batch=False) for s in row] for row in rows]
    if not any(s is not None for row in rows for s in row):
        raise ValueError("rows must hold at least one state")
    if titles is not None:
        titles = [list(t) for t in titles]
        if [len(t) for t in titles] != [len(r) for r in rows]:
            raise ValueError(f"titles must have the shape of rows ({[len(r) for r in rows]} per row); "
                             f"got {[len(t) for t in titles]}")
    if row_labels is not None:
        row_labels = list(row_labels)
        if len(row_labels) != len(rows):
            raise ValueError(f"row_labels must have one entry per row ({len(rows)}); got {len(row_labels)}")
    if map_kw is not None and state_map is None:
        raise ValueError("map_kw is given but state_map is not")
    map_kw = dict(map_kw or {})
    per = 2 if state_map is not None else 1
    w, h = panel_size
    columns = int(max_width // (w * per)) if max_width is not None else max(len(r) for r in rows)
    if columns < 1:
        raise ValueError(f"max_width must hold at least one panel of {w * per:g} inches, got {max_width!r}")
    wrapped = [(i, k) for i, r in enumerate(rows) for k in range(0, max(len(r), 1), columns)]
    titles = None if titles is None else [titles[i][k:k + columns] for i, k in wrapped]
    row_labels = None if row_labels is None else [row_labels[i] if k == 0 else "" for i, k in wrapped]
    rows = [rows[i][k:k + columns] for i, k in wrapped]
    width = max(len(r) for r in rows)
    fig, axes = plt.subplots(len(rows), per * width,
                             figsize=(w * per * width, h * len(rows) + (0.3 if suptitle else 0)),
                             squeeze=False, layout="constrained")
    for i, row in enumerate(rows):
        last = max((j for j, s in enumerate(row) if s is not None), default=-1)
        for j in range(width):
            cells = axes[i, per * j:per * (j + 1)]
            state = row[j] if j < len(row) else None
            if state is None:
                for ax in cells:
                    ax.axis("off")
                continue
            plot_spins(state, cells[0], title=None if titles is None else titles[i][j])
            if state_map is not None:
                values, map_title = state_map(state)
                plot_map(values, cells[1], title=map_title, colorbar=(j == last), **map_kw)
        if row_labels is not None:
            axes[i, 0].set_ylabel(row_labels[i])
    if suptitle is not None:
        fig.suptitle(suptitle)
    return fig


def plot_reconstructions(originals, reconstructions, samples=None, *, labels=None, inputs="row",
                         state_map=None, map_kw=None, panel_size=(1.6, 1.75), suptitle=None,
                         max_width=MAX_FIGURE_WIDTH):
    """Inputs X_in, their reconstructions X_out and generated states X'_out of several models.

    One row per model: its reconstructions of ``originals``, then its
    generated states (decoded from ``z ~ N(0, I)``), titled ``X_out`` and
    ``X'_out`` with the model's label, as in the galleries of Kwon et al.,
    Adv. Sci. 8, 2004795 (2021), Figs. 2 and 3A.  Drawn by
    :func:`plot_samples`.

    Parameters
    ----------
    originals : array_like, shape (M, 3, H, W)
        The inputs X_in.
    reconstructions : sequence of array_like, each (M, 3, H, W)
        One entry per model (row): its X_out of ``originals``.
    samples : sequence of array_like, each (K, 3, H, W), optional
        One entry per model: its generated states X'_out.
    labels : sequence of str, optional
        One per model, appended to its panels' titles (e.g. ``r"$\beta$=0.001"``).
    inputs : {"row", "each"}, default "row"
        ``"row"``: the originals in a first row of their own; ``"each"``: at
        the start of every model's row (with the model's label).
    state_map, map_kw
        A scalar map beside every state, see :func:`plot_samples`.
    panel_size : (float, float), default (1.6, 1.75)
        Width and height of one panel in inches.
    suptitle : str, optional
    max_width : float, default MAX_FIGURE_WIDTH
        Passed to :func:`plot_samples` (wide rows wrap).

    Returns
    -------
    fig : matplotlib.figure.Figure
        Created with pyplot.

    Raises
    ------
    ValueError
        ``reconstructions`` (or ``samples``, ``labels``) not one entry per
        model, a reconstruction not of the originals' count, an unknown
        ``inputs``, or the errors of :func:`plot_samples`.
    """
    x_in = _as_spins(originals, "originals")
    if x_in.ndim == 3:
        x_in = x_in[None]
    recs = [_as_spins(r, "reconstructions", batch=True) for r in reconstructions]
    n_models = len(recs)
    if n_models == 0:
        raise ValueError("reconstructions must hold one entry per model; got none")
    if any(len(r) != len(x_in) for r in recs):
        raise ValueError(f"every entry of reconstructions must hold {len(x_in)} states (one per original); "
                         f"got {[len(r) for r in recs]}")
    gens = [[] for _ in recs] if samples is None else [_as_spins(g, "samples", batch=True) for g in samples]
    if len(gens) != n_models:
        raise ValueError(f"samples must have one entry per model ({n_models}); got {len(gens)}")
    labels = [None] * n_models if labels is None else list(labels)
    if len(labels) != n_models:
        raise ValueError(f"labels must have one entry per model ({n_models}); got {len(labels)}")
    if inputs not in ("row", "each"):
        raise ValueError(f"inputs must be 'row' or 'each'; got {inputs!r}")

    def title(name, label):
        return name if label is None else f"{name}, {label}"

    rows, titles = [], []
    if inputs == "row":
        rows.append(list(x_in))
        titles.append([r"$X_{in}$"] * len(x_in))
    for rec, gen, label in zip(recs, gens, labels):
        row = ([*x_in] if inputs == "each" else []) + [*rec, *gen]
        names = ([r"$X_{in}$"] * len(x_in) if inputs == "each" else []) + \
            [r"$X_{out}$"] * len(rec) + [r"$X'_{out}$"] * len(gen)
        rows.append(row)
        titles.append([title(n, label) for n in names])
    return plot_samples(rows, titles, state_map=state_map, map_kw=map_kw, panel_size=panel_size, suptitle=suptitle,
                        max_width=max_width)


def plot_histories(temperatures, energy_history, charge_history, *, n_sites=None,
                   axes=None, figsize=(5.0, 4.2)):
    """Plot an annealing run: energy per spin and topological charge vs step.

    Top panel: energy per spin (left axis) and temperature (right twin axis,
    log scale, dashed grey) against the temperature step; bottom panel: the
    Berg-Luscher topological charge Q. Follows the simulated-annealing
    protocol used to build the E-VAE dataset (Kwon et al., Adv. Sci. 8,
    2004795 (2021), Methods); the figure itself is this book's.

    Parameters
    ----------
    temperatures : array_like, shape (n_steps,)
        Temperature of each step, in units of J / k_B (> 0 for the log axis;
        non-positive values fall back to a linear axis).
    energy_history : array_like, shape (n_steps,)
        Energy at the end of each step, in units of J: total energy if
        ``n_sites`` is given, else already per spin.
    charge_history : array_like, shape (n_steps,)
        Topological charge at the end of each step (dimensionless).
    n_sites : int, optional
        Number of (occupied) sites N; energies are divided by it.
    axes : (Axes, Axes), optional
        Two axes (energy, charge) to draw into; if None a new figure with
        two stacked panels sharing x is created with pyplot.
    figsize : (float, float), default (5, 4.2)
        Figure size in inches when ``axes`` is None.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure holding the axes (the energy axes, its temperature twin,
        and the charge axes).

    Raises
    ------
    ValueError
        If the three histories are not 1-D of the same non-zero length, or
        ``n_sites`` is not a positive int.
    """
    from matplotlib.ticker import MaxNLocator

    t = _as_history(temperatures, "temperatures")
    e = _as_history(energy_history, "energy_history")
    q = _as_history(charge_history, "charge_history")
    if not (t.size == e.size == q.size):
        raise ValueError(
            "temperatures, energy_history and charge_history must have the same length; "
            f"got {t.size}, {e.size}, {q.size}"
        )
    if n_sites is not None:
        if not isinstance(n_sites, (int, np.integer)) or n_sites < 1:
            raise ValueError(f"n_sites must be a positive int or None; got {n_sites!r}")
        e = e / n_sites
    if axes is None:
        import matplotlib.pyplot as plt

        fig, (ax_e, ax_q) = plt.subplots(2, 1, sharex=True, figsize=figsize, layout="constrained",
                                         height_ratios=(3, 2))
    else:
        ax_e, ax_q = axes
        fig = ax_e.figure
    step = np.arange(1, t.size + 1)
    ax_e.plot(step, e, "-o", ms=2.5, color="C0", lw=1.2)
    ax_e.set_ylabel("energy per spin [J]", color="C0")
    ax_t = ax_e.twinx()
    ax_t.plot(step, t, "--", color="0.45", lw=1.0)
    if np.all(t > 0):
        ax_t.set_yscale("log")
    ax_t.set_ylabel(r"$T$ [$J/k_B$]", color="0.35")
    ax_q.plot(step, q, "-o", ms=2.5, color="C3", lw=1.2, drawstyle="steps-mid")
    ax_q.set_ylabel(r"charge $Q$")
    ax_q.set_xlabel("temperature step")
    ax_q.axhline(0.0, color="0.7", lw=0.6, zorder=0)
    # Q is (near) integer: show at least -1..1 so rounding noise stays flat
    ax_q.set_ylim(min(-1.2, np.nanmin(q) - 0.5), max(1.2, np.nanmax(q) + 0.5))
    ax_q.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    return fig


def plot_anneal_summary(spins, temperatures, energy_history, charge_history, *,
                        n_sites=None, mask=None, title=None, fig=None, arrows=False,
                        figsize=(8.4, 3.6)):
    """Final spin state beside its annealing histories.

    Left: the state in the colour code of :func:`spin_rgb` and a small
    colour-wheel legend beside it; right: :func:`plot_histories`. Used by
    :func:`mag_ml.widgets.anneal_explorer` and for the static copy of its
    figure in chapters.

    Parameters
    ----------
    spins : array_like, shape (3, H, W)
        Final spin configuration (unit vectors).
    temperatures, energy_history, charge_history : array_like, shape (n_steps,)
        As in :func:`plot_histories` (temperature in J / k_B, energy in J,
        charge dimensionless).
    n_sites : int, optional
        Divide energies by it (energy per spin). Default: total energies are
        divided by the number of occupied sites (``H * W`` or
        ``mask.sum()``); pass 1 if ``energy_history`` is already per spin.
    mask : array_like of bool, shape (H, W), optional
        Occupied sites.
    title : str, optional
        Figure title (e.g. parameters and final E/N, Q).
    fig : matplotlib.figure.Figure, optional
        Figure to draw into (it is cleared first), e.g. a
        ``matplotlib.figure.Figure()`` outside pyplot. If None, a new one is
        created with pyplot.
    arrows : bool or int, default False
        Passed to :func:`plot_spins`.
    figsize : (float, float), default (8.4, 3.6)
        Size in inches of a new figure.

    Returns
    -------
    fig : matplotlib.figure.Figure

    Raises
    ------
    ValueError
        As :func:`plot_spins` and :func:`plot_histories`.
    """
    s = _as_spins(spins, batch=False)
    m = _as_mask(mask, s.shape[1:])
    if n_sites is None:
        n_sites = int(s.shape[1] * s.shape[2] if m is None else max(1, m.sum()))
    if fig is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=figsize, layout="constrained")
    else:
        fig.clear()
    gs = fig.add_gridspec(2, 3, width_ratios=(1.0, 0.2, 1.25), height_ratios=(3, 2))
    ax_s = fig.add_subplot(gs[:, 0])
    plot_spins(s, ax_s, mask=m, arrows=arrows)
    # colour-wheel legend in its own narrow column, beside the lower edge of the image
    plot_colour_wheel(fig.add_subplot(gs[1, 1]), labels=False, resolution=81)
    ax_e = fig.add_subplot(gs[0, 2])
    ax_q = fig.add_subplot(gs[1, 2], sharex=ax_e)
    ax_e.tick_params(labelbottom=False)
    plot_histories(temperatures, energy_history, charge_history, n_sites=n_sites, axes=(ax_e, ax_q))
    if title is not None:
        fig.suptitle(title)
    return fig


# --------------------------------------------------------------------------
# animation
# --------------------------------------------------------------------------
def animate_states(snapshots, titles=None, interval=200, *, max_frames=40, dpi=72,
                   size=3.0, mask=None, default_mode="once"):
    """Animate spin configurations as self-contained HTML with a frame slider.

    Each frame is drawn as in :func:`plot_spins` (colour code of Kwon et
    al., Adv. Sci. 8, 2004795 (2021)). The result is
    ``matplotlib.animation.FuncAnimation(...).to_jshtml()``: PNG frames
    embedded as base64 plus matplotlib's JavaScript player (play/step
    buttons and an ``<input type="range">`` frame slider), so it plays
    offline in a static page. matplotlib's link to the Font Awesome CDN
    for the button icons is removed and the icons are written as text
    glyphs, so the fragment makes no network request. Display it with
    ``IPython.display.HTML(animate_states(...))``. The figure is built
    outside pyplot, so no static duplicate appears in a notebook.

    Size: the HTML grows linearly with the number of frames and with
    ``(size * dpi)**2``. At most ``max_frames`` frames are kept (evenly
    spaced, first and last always included); with the defaults (216 x 216
    px frames) a 48 x 48 lattice costs about 15-30 kB per frame, i.e.
    about 1 MB for 40 frames.

    Parameters
    ----------
    snapshots : array_like, shape (n_frames, 3, H, W)
        Spin configurations in time order (e.g. ``AnnealResult.snapshots``).
    titles : sequence of str, optional
        One title per snapshot (length n_frames), e.g. the temperature;
        thinned together with the frames.
    interval : float, default 200
        Delay between frames in milliseconds (> 0).
    max_frames : int, default 40
        Upper bound on the number of frames embedded (>= 1).
    dpi : float, default 72
        Resolution of the frame images (pixels per inch).
    size : float, default 3.0
        Frame width and height in inches (a title adds a little height).
    mask : array_like of bool, shape (H, W), optional
        Occupied sites; vacancies are grey.
    default_mode : {"once", "loop", "reflect"}, default "once"
        Initial play mode of the player.

    Returns
    -------
    html : str
        HTML fragment (``<div>`` + ``<script>``) with the embedded frames.

    Raises
    ------
    ValueError
        If ``snapshots`` is not (n_frames, 3, H, W) with n_frames >= 1,
        ``titles`` has the wrong length, or ``interval``, ``max_frames``,
        ``dpi``, ``size`` or ``default_mode`` are out of range.
    """
    from matplotlib.animation import FuncAnimation
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    s = _as_spins(snapshots, "snapshots", batch=True)
    n = s.shape[0]
    if titles is not None:
        titles = list(titles)
        if len(titles) != n:
            raise ValueError(f"titles must have one entry per snapshot (n_frames = {n}); got {len(titles)}")
    if not isinstance(max_frames, (int, np.integer)) or max_frames < 1:
        raise ValueError(f"max_frames must be a positive int; got {max_frames!r}")
    for name, val in (("interval", interval), ("dpi", dpi), ("size", size)):
        if not np.isfinite(val) or val <= 0:
            raise ValueError(f"{name} must be a positive number; got {val!r}")
    if default_mode not in ("once", "loop", "reflect"):
        raise ValueError(f"default_mode must be 'once', 'loop' or 'reflect'; got {default_mode!r}")
    m = _as_mask(mask, s.shape[-2:])
    idx = np.unique(np.round(np.linspace(0, n - 1, min(n, int(max_frames)))).astype(int))
    rgb = spin_rgb(s[idx], mask=m)
    frame_titles = None if titles is None else [str(titles[i]) for i in idx]

    h, w = s.shape[-2:]
    fig = Figure(figsize=(size, size + (0.3 if frame_titles else 0.0)), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.02, 0.02, 0.96, 0.96 * size / (size + (0.3 if frame_titles else 0.0))))
    im = ax.imshow(rgb[0], origin="lower", interpolation="nearest", extent=_extent(h, w))
    ax.set_xticks([])
    ax.set_yticks([])
    txt = fig.suptitle(frame_titles[0] if frame_titles else "", fontsize="medium", y=0.995, va="top")

    def update(i):
        im.set_data(rgb[i])
        if frame_titles:
            txt.set_text(frame_titles[i])
        return (im, txt)

    anim = FuncAnimation(fig, update, frames=len(idx), interval=float(interval), blit=False)
    html = _offline_player(anim.to_jshtml(default_mode=default_mode))
    fig.clear()
    return html


def animate_curves(panels, titles, interval=300, *, dpi=72, figsize=(9.0, 3.2), default_mode="loop"):
    """Animate families of curves side by side as self-contained HTML (offline player).

    Each panel draws one curve per frame, ``y[i]`` against ``x``, over
    fixed reference curves; the player is matplotlib's ``to_jshtml`` made
    offline as in :func:`animate_states` (no network request).  Used for
    predictions that change with a parameter (e.g. the dispersion and wall
    profile as the vacancy statistics vary, chapter 9).

    Parameters
    ----------
    panels : sequence of dict
        One per panel, with keys ``x`` (n,), ``y`` (n_frames, n) and
        optionally ``label`` (legend of the animated curve), ``reference``
        (list of ``(x, y, kwargs)`` drawn in every frame), ``y_ref``
        ((n_frames, n) second animated curve, e.g. data, drawn as points,
        NaN rows hidden) with ``ref_label``, ``xlabel``, ``ylabel``,
        ``ylim``.
    titles : sequence of str
        One per frame (length n_frames).
    interval : float
        Delay between frames [ms], > 0.
    dpi : float
    figsize : (float, float)
    default_mode : {"once", "loop", "reflect"}

    Returns
    -------
    str
        HTML fragment; display with ``IPython.display.HTML``.

    Raises
    ------
    ValueError
        Empty panels, frame counts that differ between panels and titles,
        or a non-positive interval.
    """
    from matplotlib.animation import FuncAnimation
    from matplotlib.figure import Figure

    if not panels:
        raise ValueError("panels must hold at least one panel")
    ys = [np.asarray(p["y"], dtype=float) for p in panels]
    n_frames = len(titles)
    if n_frames < 1 or any(y.ndim != 2 or y.shape[0] != n_frames for y in ys):
        raise ValueError(f"every panel's y must be (n_frames, n) with n_frames = len(titles) = {n_frames}, got "
                         f"{[y.shape for y in ys]}")
    if not interval > 0:
        raise ValueError(f"interval must be > 0 ms, got {interval!r}")
    fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    lines, points = [], []
    for ax, p, y in zip(axes, panels, ys):
        x = np.asarray(p["x"], dtype=float)
        for rx, ry, kw in p.get("reference", []):
            ax.plot(rx, ry, **kw)
        lines.append(ax.plot(x, y[0], "C0-", lw=2, label=p.get("label"))[0])
        ref = p.get("y_ref")
        points.append(None if ref is None else
                      (ax.plot(x, np.asarray(ref, dtype=float)[0], "k.", ms=4, label=p.get("ref_label"))[0],
                       np.asarray(ref, dtype=float)))
        finite = y[np.isfinite(y)]
        lo, hi = p.get("ylim", (finite.min(), finite.max()))
        pad = 0.05 * (hi - lo or 1.0)
        ax.set(xlabel=p.get("xlabel"), ylabel=p.get("ylabel"), ylim=(lo - pad, hi + pad))
        if p.get("label") or p.get("reference"):
            ax.legend(fontsize="small", loc="best")
    title = fig.suptitle(titles[0])

    def draw(i):
        for line, y, pt in zip(lines, ys, points):
            line.set_ydata(y[i])
            if pt is not None:
                pt[0].set_ydata(pt[1][i])
        title.set_text(titles[i])
        return lines

    anim = FuncAnimation(fig, draw, frames=n_frames, interval=interval, blit=False)
    return _offline_player(anim.to_jshtml(default_mode=default_mode))


def plot_defect_realisation(real, axes=None, *, figsize=(7.5, 3.2), title=True):
    """One vacancy realisation: its pinned domain wall and its magnon spectrum (chapter 8).

    Left: the wall chain's m_z around the first wall (line: the direction
    field, dots: occupied sites), the tanh fit (dashed) and the occupation
    as a strip (dark = vacant).  Right: the space-time power spectrum of
    the dispersion chain (log scale) with the defect-free analytic
    dispersion (white) and the peak frequencies (dots).

    Parameters
    ----------
    real : mag_ml.chapters.defects.DefectRealisation
    axes : (Axes, Axes), optional
        Where to draw; default a new figure.
    figsize : (float, float)
        Size of a new figure [inches].
    title : bool
        Put sigma, tau and the fitted width in the left panel's title.

    Returns
    -------
    (Axes, Axes)

    Raises
    ------
    TypeError
        ``real`` is not a DefectRealisation (anything without its wall,
        dispersion and occupation, e.g. None).
    """
    missing = [a for a in ("x", "wall", "occupied", "dispersion", "sigma", "tau", "realisation")
               if not hasattr(real, a)]
    if missing:
        raise TypeError(f"real must be a DefectRealisation (from mag_ml.chapters.defects.defect_realisation), "
                        f"got {type(real).__name__} {_short_repr(real)} without {', '.join(missing)}")
    if axes is None:
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, 2, figsize=figsize, layout="constrained")
    ax, bx = axes
    x, mz, occ, fit = real.x, real.wall.m[2], real.occupied, real.wall.fit
    half = x < x[-1] / 2 + 0.5 * (x[1] - x[0])
    ax.imshow(occ[half][None, :].astype(float), extent=(x[0], x[half][-1], -1.35, -1.15), aspect="auto",
              cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.plot(x[half], mz[half], "C0-", lw=1, label="$m_z$ (direction field)")
    ax.plot(x[half & occ], mz[half & occ], "C0.", ms=3)
    ax.plot(x[half], fit.sign * np.tanh((x[half] - fit.x0) / fit.width), "C3--", lw=1.2,
            label=rf"tanh fit, $\Delta$ = {fit.width:.2f} nm")
    ax.set(xlabel="x (nm)", ylabel="$m_z$", ylim=(-1.4, 1.1))
    ax.legend(fontsize="small", loc="upper right")
    if title:
        ax.set_title(rf"$\sigma$ = {real.sigma:.3g} a, $\tau$ = {real.tau:.3g} a, realisation {real.realisation}",
                     fontsize="small")
    d = real.dispersion
    p = np.log10(np.maximum(d.power, d.power.max() * 1e-6))
    bx.pcolormesh(d.k, d.freqs * 1e-3, p.T, shading="nearest", cmap="magma")
    bx.plot(d.k, d.analytic * 1e-3, "w-", lw=1, label="defect-free (analytic)")
    bx.plot(d.k, d.f * 1e-3, "c.", ms=4, label="spectral peak")
    bx.set(xlabel="k (rad/nm)", ylabel="f (THz)", ylim=(0, 1.15 * d.analytic.max() * 1e-3))
    bx.legend(fontsize="small", loc="upper left")
    return ax, bx


#: Text glyphs replacing the Font Awesome icons of matplotlib's JS player.
_PLAYER_GLYPHS = {
    "fa-minus": "&minus;", "fa-plus": "+",
    "fa-fast-backward": "|&#9664;&#9664;", "fa-step-backward": "|&#9664;",
    "fa-play fa-flip-horizontal": "&#9664;", "fa-pause": "&#10074;&#10074;",
    "fa-play": "&#9654;", "fa-step-forward": "&#9654;|", "fa-fast-forward": "&#9654;&#9654;|",
}


def _offline_player(html):
    """Make matplotlib's ``to_jshtml`` output self-contained.

    matplotlib links the Font Awesome stylesheet from a CDN for the player's
    button icons; offline those buttons are blank and the page makes a
    request that leaves the machine. Drop the link and write the icons as
    text glyphs (the buttons keep their ``title`` tooltips).
    """
    import re

    html = re.sub(r'<link rel="stylesheet"\s+href="[^"]*font-awesome[^"]*">\s*', "", html)
    return re.sub(r'<i class="fa ([^"]*)"></i>',
                  lambda m: _PLAYER_GLYPHS.get(m.group(1), "&#8226;"), html)


def plot_series_losses(series, parameter=None, *, axes=None, regions=None, title=None, figsize=(7.5, 3.0)):
    r"""Loss terms against ``beta`` or ``gamma``: the panels of Fig. 2 of Kwon et al. 2021.

    Three panels, ``L_RC``, ``L_KL`` and ``L_H`` (log x axis), each with the
    training (solid) and validation (dashed) values of the end-of-step
    models; the ``L_H`` panel also shows the training set's own mean energy
    (grey line).  ``L_H`` is linear (it can be negative), the others log.

    Parameters
    ----------
    series : SeriesResult or sequence of SeriesResult
        Several series (e.g. E-VAEs from two ``beta``, or an E-VAE and its
        gamma = 0 control, drawn against the gammas it parallels) are drawn
        in turn.
    parameter : {"beta", "gamma"}
        Required (the default None is refused after ``series`` is checked).
    axes : sequence of 3 Axes, optional
    regions : list of (lo, hi, label), optional
        Shaded spans of the x axis with their names (e.g. posterior
        collapse).
    title : str, optional
    figsize : (float, float)

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    TypeError
        ``series`` is not a SeriesResult or a sequence of them (e.g. None).
    ValueError
        An empty sequence, or ``parameter`` not "beta" or "gamma".
    """
    import matplotlib.pyplot as plt

    many = list(series) if isinstance(series, (list, tuple)) else [series]
    if not many:
        raise ValueError("series must hold at least one SeriesResult, got an empty sequence")
    for s in many:
        if not all(hasattr(s, a) for a in ("values", "loss", "history", "steps")):
            raise TypeError(f"series must be a SeriesResult (from mag_ml.chapters.evae) or a sequence of them, "
                            f"got {type(s).__name__} {_short_repr(s)}")
    if not isinstance(parameter, str) or parameter not in ("beta", "gamma"):
        raise ValueError(f"parameter must be 'beta' or 'gamma' (required), got {parameter!r}")
    own = axes is None
    if own:
        fig, axes = plt.subplots(1, 3, figsize=figsize, layout="constrained")
    fig = axes[0].figure
    labels = {"rc": r"$L_\mathrm{RC}$", "kl": r"$L_\mathrm{KL}$", "h": r"$L_\mathrm{H}$"}
    for j, s in enumerate(many):
        x = s.values(parameter)
        control = getattr(s, "paired_gammas", None) is not None  # a gamma = 0 control, drawn at its paired gammas
        tag = ("" if len(many) == 1 else rf" ($\gamma$ = 0 control)" if control
               else rf" ($\beta$={s.steps[0].beta:g})")
        for ax, term in zip(axes, ("rc", "kl", "h")):
            ax.plot(x, s.loss("train", term), "o-", color=f"C{j}", ms=3, label="train" + tag)
            ax.plot(x, s.loss("validation", term), "s--", color=f"C{j}", ms=3, mfc="none",
                    label="validation" + tag)
    energy = many[0].history[0]["train_energy"]
    axes[2].axhline(energy, color="0.4", lw=1, ls=":", label="training set")
    for ax, term in zip(axes, ("rc", "kl", "h")):
        ax.set_xscale("log")
        if term != "h":
            ax.set_yscale("log")
        ax.set_xlabel(rf"$\{parameter}$")
        ax.set_title(labels[term])
        if regions:  # head room for the region names above the curves
            lo, hi = ax.get_ylim()
            ax.set_ylim(lo, hi * (hi / lo) ** 0.3 if ax.get_yscale() == "log" else hi + 0.3 * (hi - lo))
        for i, (lo, hi, label) in enumerate(regions or []):
            ax.axvspan(lo, hi, color=("0.94", "0.86")[i % 2], zorder=0, lw=0)
            ax.text(math.sqrt(lo * hi), 0.98, label.replace(" ", "\n").replace("-", "-\n"),
                    transform=ax.get_xaxis_transform(), ha="center", va="top", fontsize="small", color="0.25")
    if own:  # below the panels: a legend beside them would widen the figure beyond the page
        handles, names = axes[2].get_legend_handles_labels()
        fig.legend(handles, names, fontsize="small", loc="outside lower center", ncol=min(len(names), 3))
    else:
        axes[2].legend(fontsize="small", loc="center left", bbox_to_anchor=(1.02, 0.5))
    if title:
        fig.suptitle(title)
    return fig


# --------------------------------------------------------------------------
# thermodynamics and the phase diagram (chapter 2)
# --------------------------------------------------------------------------
_THERMO_PANELS = (("energy", r"$\langle E\rangle/N$ [J]"), ("specific_heat", r"$C/N$ [$k_B$]"),
                  ("magnetisation", r"$\langle|\mathbf{m}|\rangle$, $\langle m_z\rangle$"),
                  ("susceptibility", r"$\chi_{zz}$ [1/J]"), ("binder", r"Binder $U_4$"),
                  ("charge_density", r"$\langle Q\rangle/N$"))


def plot_thermodynamics(table, axes=None, *, figsize=(7.5, 5.6)):
    """Observables of a temperature scan with their error bars, against T (log axis).

    Panels: energy per spin; specific heat, with the finite-difference
    derivative of the energy drawn over it (the two agree where the scan is
    in equilibrium); ``<|m|>`` and ``<m_z>``; susceptibility; Binder cumulant
    (2/3 ordered, 4/9 for independent spins, dotted); charge density.

    Parameters
    ----------
    table : dict of str to ndarray (n_T,)
        From :func:`mag_ml.analysis.thermodynamics.scan_table` (``T``, each
        observable and its ``_error``).
    axes : array of 6 Axes, optional
        Drawn into if given; else a new 2 x 3 pyplot figure.
    figsize : (float, float)

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        A table without ``T`` or one of the observables and their errors.
    """
    missing = [k for k in ["T", *(f"{n}{s}" for n, _ in _THERMO_PANELS for s in ("", "_error"))] if k not in table]
    if missing:
        raise ValueError(f"table lacks {missing}; make it with mag_ml.analysis.thermodynamics.scan_table")
    if axes is None:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(2, 3, figsize=figsize, sharex=True, layout="constrained")
    axes = np.asarray(axes).ravel()
    T = np.asarray(table["T"], dtype=float)
    for ax, (name, label) in zip(axes, _THERMO_PANELS):
        ax.errorbar(T, table[name], yerr=table[f"{name}_error"], fmt="o", ms=3, capsize=2, lw=1,
                    label=r"$|\mathbf{m}|$" if name == "magnetisation" else "Monte Carlo")
        ax.set(xscale="log", ylabel=label)
    order = np.argsort(T)
    Ts, Es = T[order], np.asarray(table["energy"])[order]
    axes[1].plot(0.5 * (Ts[1:] + Ts[:-1]), np.diff(Es) / np.diff(Ts), "k--", lw=1,
                 label=r"$d\langle E\rangle/dT$ / N")
    axes[1].legend(fontsize="small")
    axes[2].errorbar(T, table["mz"], yerr=table["mz_error"], fmt="s", ms=3, capsize=2, lw=1, color="C3",
                     label=r"$m_z$")
    axes[2].legend(fontsize="small")
    for value in (2 / 3, 4 / 9):
        axes[4].axhline(value, color="0.6", ls=":", lw=1)
    from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

    for ax in axes:
        ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
    for ax in axes[3:]:
        ax.set_xlabel(r"$T$ [$J/k_B$]")
    return axes[0].figure


def plot_phase_diagram(diagram, ax=None, *, anneal=None, anneal_label="dataset", reference=True, figsize=(7.6, 3.8)):
    """The (B, T) phase diagram of field-cooled scans, with the zero-temperature boundaries of the theory.

    Cells are coloured by phase (:data:`mag_ml.analysis.phases.PHASES`);
    an ``x`` marks the lowest-temperature cells whose texture, relaxed at
    T = 0, lies above the uniform state (metastable: the ferromagnet is the
    ground state there).  Dashed lines: the zero-temperature boundaries
    :data:`mag_ml.analysis.phases.ZERO_T_BOUNDARIES` (Han et al., Phys. Rev. B
    82, 094429 (2010)).  The top axis gives B in units of D^2/J.

    Parameters
    ----------
    diagram : mag_ml.analysis.phases.PhaseDiagram
    ax : matplotlib.axes.Axes, optional
    anneal : (float, float, float), optional
        ``(B, T_start, T_end)`` of an annealing schedule, e.g. the dataset's:
        a dotted line from ``T_start`` down and a star at ``T_end`` (at the
        bottom edge if ``T_end`` lies below the grid).
    anneal_label : str
    reference : bool
        Draw the zero-temperature boundaries.
    figsize : (float, float)

    Returns
    -------
    matplotlib.axes.Axes
    """
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    from .analysis.phases import PHASES, ZERO_T_BOUNDARIES

    ax = _new_axes(ax, figsize)
    colours = ["0.85", "#4c72b0", "#dd8452", "#55a868"]
    cmap = ListedColormap(colours)
    B, T = diagram.fields, diagram.temperatures

    def edges(x, log=False):
        x = np.log(x) if log else np.asarray(x, dtype=float)
        order = np.argsort(x)
        xs = x[order]
        mid = 0.5 * (xs[1:] + xs[:-1]) if xs.size > 1 else np.array([])
        first = xs[0] - (mid[0] - xs[0] if mid.size else 0.5)
        last = xs[-1] + (xs[-1] - mid[-1] if mid.size else 0.5)
        e = np.concatenate([[first], mid, [last]])
        return (np.exp(e) if log else e), order

    bx, bo = edges(B)
    ty, to = edges(T, log=True)
    codes = diagram.phase[np.ix_(bo, to)].T  # (n_T, n_B)
    ax.pcolormesh(bx, ty, codes, cmap=cmap, norm=BoundaryNorm(np.arange(-0.5, 4), 4), shading="flat")
    low = int(np.argmin(T))
    meta = diagram.metastable() & (diagram.phase[:, low] >= 2)
    ax.plot(B[meta], np.full(meta.sum(), T[low]), "kx", ms=6, label="metastable at T = 0")
    if reference:
        for b in ZERO_T_BOUNDARIES:
            ax.axvline(b * diagram.field_unit, color="k", ls="--", lw=1)
    if anneal is not None:
        b, t_start, t_end = (float(v) for v in anneal)
        t_star = max(t_end, ty[0] * 1.08)
        ax.plot([b, b], [min(t_start, ty[-1]), t_star], ":", color="k", lw=1.2)
        ax.plot(b, t_star, "*", color="gold", mec="k", ms=14,
                label=f"{anneal_label}: annealed {t_start:g} $\\to$ {t_end:g}, relaxed")
    ax.set(yscale="log", xlabel=r"$B$ [$J$]", ylabel=r"$T$ [$J/k_B$]", xlim=(bx[0], bx[-1]), ylim=(ty[0], ty[-1]))
    top = ax.secondary_xaxis("top", functions=(lambda b: b / diagram.field_unit, lambda h: h * diagram.field_unit))
    top.set_xlabel(r"$B/(D^2/J)$")
    handles = [Patch(color=c, label=p) for c, p in zip(colours, PHASES)]
    ax.legend(handles=handles + ax.get_legend_handles_labels()[0], fontsize="small", loc="upper left",
              bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    return ax
