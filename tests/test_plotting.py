"""Tests of mag_ml.plotting: the spin colour code, figure builders, animation HTML."""

import colorsys
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mag_ml import plotting  # noqa: E402
from mag_ml.plotting import (animate_states, plot_anneal_summary, plot_colour_wheel,  # noqa: E402
                             plot_gallery, plot_histories, plot_map, plot_spins, spin_rgb)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def one(v):
    """A 1x1 lattice holding the spin v, shape (3, 1, 1)."""
    return np.asarray(v, dtype=float).reshape(3, 1, 1)


def skyrmion(n=24, radius=5.0, width=2.0):
    """Hand-built Neel skyrmion: core -z in a +z background, spins pointing outward."""
    y, x = np.mgrid[0:n, 0:n] - (n - 1) / 2
    r, phi = np.hypot(x, y), np.arctan2(y, x)
    theta = 2 * np.arctan2(np.sinh(radius / width), np.sinh(r / width))
    return np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])


# ----------------------------------------------------------------- spin_rgb
def test_out_of_plane_is_white_and_black():
    np.testing.assert_allclose(spin_rgb(one([0, 0, 1]))[0, 0], [1, 1, 1])
    np.testing.assert_allclose(spin_rgb(one([0, 0, -1]))[0, 0], [0, 0, 0])


@pytest.mark.parametrize("v, hue", [([1, 0, 0], 0.0), ([0, 1, 0], 0.25), ([-1, 0, 0], 0.5),
                                    ([0, -1, 0], 0.75), ([1, 1, 0], 0.125)])
def test_in_plane_hue_at_mid_lightness(v, hue):
    rgb = spin_rgb(one(np.asarray(v) / np.linalg.norm(v)))[0, 0]
    h, lightness, s = colorsys.rgb_to_hls(*rgb)  # independent HSL implementation
    assert lightness == pytest.approx(0.5)
    assert s == pytest.approx(1.0)
    assert h == pytest.approx(hue, abs=1e-12)


def test_plus_x_and_plus_y_colours_distinct():
    red = spin_rgb(one([1, 0, 0]))[0, 0]
    green = spin_rgb(one([0, 1, 0]))[0, 0]
    np.testing.assert_allclose(red, [1, 0, 0])
    np.testing.assert_allclose(green, [0.5, 1, 0])
    assert np.abs(red - green).max() >= 0.5


def test_lightness_follows_sz():
    theta = np.linspace(0, np.pi, 7)
    spins = np.stack([np.sin(theta), 0 * theta, np.cos(theta)])[:, None, :]  # (3, 1, 7)
    rgb = spin_rgb(spins)[0]
    lightness = [colorsys.rgb_to_hls(*c)[1] for c in rgb]
    np.testing.assert_allclose(lightness, (1 + np.cos(theta)) / 2, atol=1e-12)


def test_shapes_dtype_and_range():
    s = skyrmion(10)
    rgb = spin_rgb(s)
    assert rgb.shape == (10, 10, 3) and rgb.dtype == np.float64
    assert rgb.min() >= 0 and rgb.max() <= 1
    batch = spin_rgb(np.stack([s, -s, s]))
    assert batch.shape == (3, 10, 10, 3)
    np.testing.assert_allclose(batch[0], rgb)
    # row index y: a non-square lattice keeps (H, W)
    assert spin_rgb(np.ones((3, 4, 6)) / np.sqrt(3)).shape == (4, 6, 3)


def test_direction_only_and_vacancies():
    np.testing.assert_allclose(spin_rgb(one([0, 0, 0.3]))[0, 0], [1, 1, 1])  # normalised
    np.testing.assert_allclose(spin_rgb(one([0, 0, 0]))[0, 0], plotting.VACANCY_RGB)
    s = skyrmion(6)
    mask = np.ones((6, 6), bool)
    mask[2, 3] = False
    rgb = spin_rgb(s, mask=mask)
    np.testing.assert_allclose(rgb[2, 3], plotting.VACANCY_RGB)
    np.testing.assert_allclose(rgb[mask], spin_rgb(s)[mask])


@pytest.mark.parametrize("bad", [np.zeros((2, 4, 4)), np.zeros((4, 4, 3)), np.zeros((4, 4)),
                                 np.zeros((1, 2, 3, 4, 4)), np.zeros((3, 0, 4))])
def test_bad_shape_raises(bad):
    with pytest.raises(ValueError, match=r"spins must have shape .*got shape"):
        spin_rgb(bad)


def test_nan_and_bad_mask_raise():
    s = skyrmion(4)
    s[0, 1, 1] = np.nan
    with pytest.raises(ValueError, match="spins must be finite"):
        spin_rgb(s)
    with pytest.raises(ValueError, match=r"mask .*shape \(H, W\) = \(4, 4\).*\(3, 3\)"):
        spin_rgb(skyrmion(4), mask=np.ones((3, 3), bool))
    with pytest.raises(TypeError, match="spins"):
        spin_rgb("abc")


# ----------------------------------------------------------------- figures
def test_plot_spins_image_origin_and_arrows():
    s = skyrmion(16)
    ax = plot_spins(s, arrows=4, title="sk")
    (im,) = ax.images
    assert im.origin == "lower"
    np.testing.assert_allclose(im.get_array(), spin_rgb(s))
    (quiver,) = [c for c in ax.collections if isinstance(c, matplotlib.quiver.Quiver)]
    assert quiver.N == 16  # 4 x 4 arrows at stride 4
    assert ax.get_title() == "sk"
    assert not plot_spins(s).collections  # no arrows by default


def test_plot_spins_mask_grey_and_into_given_axes():
    fig, axes = plt.subplots(1, 2)
    mask = np.ones((8, 8), bool)
    mask[:2] = False
    ax = plot_spins(skyrmion(8), axes[1], mask=mask, arrows=True)
    assert ax is axes[1]
    np.testing.assert_allclose(ax.images[0].get_array()[0, 0], plotting.VACANCY_RGB)


@pytest.mark.parametrize("arrows", [0, -2, 1.5, "yes"])
def test_plot_spins_bad_arrows(arrows):
    with pytest.raises(ValueError, match="arrows must be"):
        plot_spins(skyrmion(8), arrows=arrows)


def test_plot_spins_rejects_batch():
    with pytest.raises(ValueError, match=r"\(3, H, W\).*got shape \(2, 3, 8, 8\)"):
        plot_spins(np.stack([skyrmion(8)] * 2))


def test_colour_wheel_centre_white_rim_black():
    ax = plot_colour_wheel(resolution=41)
    rgba = ax.images[0].get_array()
    np.testing.assert_allclose(rgba[20, 20, :3], [1, 1, 1], atol=0.02)  # centre: +z
    assert rgba[20, 0, :3].max() < 0.1  # rim: -z
    assert rgba[0, 0, 3] == 0  # transparent outside the disk
    with pytest.raises(ValueError, match="resolution"):
        plot_colour_wheel(resolution=3)


def test_plot_map_colorbar_and_limits():
    ax = plot_map(skyrmion(8)[2], cmap="RdBu_r", vmin=-1, vmax=1, label=r"$S_z$")
    im = ax.images[0]
    assert im.origin == "lower" and im.get_clim() == (-1, 1)
    assert im.colorbar is not None and im.colorbar.ax.get_ylabel() == r"$S_z$"
    with pytest.raises(ValueError, match=r"values must have shape \(H, W\); got shape \(3, 8, 8\)"):
        plot_map(skyrmion(8))
    with pytest.raises(ValueError, match="vmin must be <= vmax"):
        plot_map(np.zeros((4, 4)), vmin=1, vmax=0)


def test_plot_gallery_grid():
    states = np.stack([skyrmion(8)] * 5)
    fig = plot_gallery(states, ncols=3, titles=list("abcde"), colour_wheel=True)
    panels = [ax for ax in fig.axes if ax.images and ax.get_title()]
    assert [ax.get_title() for ax in panels] == list("abcde")
    assert len(fig.axes) >= 6
    with pytest.raises(ValueError, match="titles must have one entry per state"):
        plot_gallery(states, 3, titles=["a"])
    with pytest.raises(ValueError, match="ncols"):
        plot_gallery(states, 0)
    with pytest.raises(ValueError, match=r"states must have shape"):
        plot_gallery(states[:, :2], 3)


def test_plot_histories_and_summary():
    t = np.geomspace(1.0, 0.01, 10)
    e = np.linspace(-100.0, -200.0, 10)
    q = np.r_[np.zeros(5), np.ones(5)]
    fig = plot_histories(t, e, q, n_sites=100)
    ax_e = fig.axes[0]
    np.testing.assert_allclose(ax_e.lines[0].get_ydata(), e / 100)
    assert any(ax.get_yscale() == "log" for ax in fig.axes)  # temperature twin axis
    with pytest.raises(ValueError, match="same length"):
        plot_histories(t, e[:5], q)
    with pytest.raises(ValueError, match="n_sites"):
        plot_histories(t, e, q, n_sites=0)
    fig = plot_anneal_summary(skyrmion(10), t, e, q, title="run")
    assert fig._suptitle.get_text() == "run"
    assert any(ax.images for ax in fig.axes)


def test_functions_given_axes_create_no_figure():
    fig, ax = plt.subplots()
    before = plt.get_fignums()
    plot_spins(skyrmion(8), ax)
    plot_map(np.zeros((4, 4)), ax, colorbar=False)
    plot_colour_wheel(ax)
    assert plt.get_fignums() == before


# ----------------------------------------------------------------- animation
def test_animate_states_html_offline():
    snaps = np.stack([np.roll(skyrmion(12), k, axis=2) for k in range(5)])
    before = plt.get_fignums()
    html = animate_states(snaps, titles=[f"step {k}" for k in range(5)], interval=100, dpi=30, size=1.5)
    assert isinstance(html, str)
    assert re.search(r'<input[^>]*type="range"', html)
    assert html.count("data:image/png;base64") == 5
    assert "://" not in html  # no CDN link (base64 never holds ':')
    assert plt.get_fignums() == before  # no static duplicate left behind


def test_animate_states_thins_frames_and_validates():
    snaps = np.stack([skyrmion(6)] * 30)
    html = animate_states(snaps, max_frames=7, dpi=20, size=1.0)
    assert html.count("data:image/png;base64") == 7
    with pytest.raises(ValueError, match=r"snapshots must have shape \(N, 3, H, W\)"):
        animate_states(skyrmion(6))
    with pytest.raises(ValueError, match="titles must have one entry per snapshot"):
        animate_states(snaps, titles=["a"])
    with pytest.raises(ValueError, match="max_frames"):
        animate_states(snaps, max_frames=0)
    with pytest.raises(ValueError, match="interval"):
        animate_states(snaps, interval=-1)


# ----------------------------------------------------------------- model-output grids
def test_plot_samples_rows_of_different_sizes_and_blanks():
    from mag_ml.plotting import plot_samples

    small, large = skyrmion(8), skyrmion(12)
    fig = plot_samples([[small, None, small], [large, large]], [["a", "", "c"], ["d", "e"]],
                       row_labels=["row 0", "row 1"], suptitle="grid")
    axes = np.array(fig.axes).reshape(2, 3)
    assert [ax.get_title() for ax in axes[0] if ax.images] == ["a", "c"]
    assert not axes[0, 1].axison and not axes[1, 2].axison  # blank cells
    assert axes[1, 0].images[-1].get_array().shape == (12, 12, 3)
    assert axes[1, 0].get_ylabel() == "row 1" and fig.get_suptitle() == "grid"
    with pytest.raises(ValueError, match="titles must have the shape of rows"):
        plot_samples([[small, small]], [["a"]])
    with pytest.raises(ValueError, match="at least one state"):
        plot_samples([[None]])
    with pytest.raises(ValueError, match="map_kw"):
        plot_samples([[small]], map_kw=dict(cmap="magma"))


def test_plot_samples_maps_beside_states():
    from mag_ml.plotting import plot_samples

    s = skyrmion(8)
    fig = plot_samples([[s, s]], state_map=lambda x: (x[2], "Sz"), map_kw=dict(cmap="RdBu_r", vmin=-1, vmax=1),
                       max_width=None)
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 4 and [ax.get_title() for ax in panels[1::2]] == ["Sz", "Sz"]
    np.testing.assert_allclose(panels[1].images[-1].get_array(), s[2])
    assert panels[1].images[-1].colorbar is None and panels[3].images[-1].colorbar is not None  # last of the row


def test_plot_samples_wraps_wide_rows():
    """A row wider than max_width continues on the next figure row, its label on the first; panels keep
    their size, so the figure is never wider than max_width."""
    from mag_ml.plotting import plot_samples

    s = skyrmion(8)
    fig = plot_samples([[s] * 7, [s] * 2], [[f"a{k}" for k in range(7)], ["b0", "b1"]], row_labels=["A", "B"],
                       panel_size=(2.0, 2.0), max_width=6.0)
    assert fig.get_figwidth() <= 6.0
    axes = np.array(fig.axes).reshape(-1, 3)
    assert axes.shape == (4, 3)  # 7 panels -> 3 + 3 + 1, then the 2 of row B
    assert [ax.get_title() for ax in axes[:3].ravel() if ax.axison] == [f"a{k}" for k in range(7)]
    assert [axes[k, 0].get_ylabel() for k in range(4)] == ["A", "", "", "B"]
    with pytest.raises(ValueError, match="max_width must hold at least one panel"):
        plot_samples([[s]], panel_size=(2.0, 2.0), max_width=1.0)


def test_plot_reconstructions_layouts():
    from mag_ml.plotting import plot_reconstructions

    x = np.stack([skyrmion(8)] * 3)
    recs, gens = [x, -x], [x[:2], x[:2]]
    fig = plot_reconstructions(x, recs, gens, labels=["m1", "m2"], max_width=None)  # inputs, then a row per model
    axes = np.array(fig.axes).reshape(3, 5)
    assert [ax.get_title() for ax in axes[0, :3]] == [r"$X_{in}$"] * 3 and not axes[0, 3].axison
    assert [ax.get_title() for ax in axes[2]] == [r"$X_{out}$, m2"] * 3 + [r"$X'_{out}$, m2"] * 2
    np.testing.assert_allclose(axes[2, 0].images[-1].get_array(), spin_rgb(-x[0]))

    fig = plot_reconstructions(x[:1], [x[:1]], [x[:1]], labels=["g"], inputs="each",
                               state_map=lambda s: (s[2], "Sz"))  # inputs in every row, maps beside
    titles = [ax.get_title() for ax in fig.axes if ax.images]
    assert titles == [r"$X_{in}$, g", "Sz", r"$X_{out}$, g", "Sz", r"$X'_{out}$, g", "Sz"]
    with pytest.raises(ValueError, match="every entry of reconstructions must hold 3 states"):
        plot_reconstructions(x, [x[:2]])
    with pytest.raises(ValueError, match="labels must have one entry per model"):
        plot_reconstructions(x, recs, labels=["a"])
    with pytest.raises(ValueError, match="inputs must be"):
        plot_reconstructions(x, recs, inputs="none")


def test_charge_text_prints_integers_as_integers():
    from mag_ml.plotting import charge_text

    assert charge_text(-6.000000000000001) == "-6" and charge_text(-5.0) == "-5" and charge_text(0.0) == "0"
    assert charge_text(-4.9712) == "-4.97" and charge_text(0.5) == "0.50"
