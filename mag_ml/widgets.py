"""Interactive explorers for the chapters (ipywidgets 8), thin wrappers over plotting.

Widgets render the figures of :mod:`mag_ml.plotting` to PNG themselves (on a
``matplotlib.figure.Figure`` with the Agg canvas, outside pyplot) and put the
PNG into an :class:`ipywidgets.Output` by setting its ``outputs``. So they work
under any matplotlib backend, in JupyterLab, under papermill/nbclient (the
widget state holding the PNG is saved with the notebook) and in plain Python
(tests), and they never leave a pyplot figure behind.

Offline pages. In the rendered book a widget shows and its sliders move, but
without a kernel its output does not update (the embedded widget state holds
the last output, no Python runs). Every explorer
therefore runs once with its default values when it is created, and every
widget cell of a chapter also leaves a static figure of that default run::

    explorer = anneal_explorer(shape=(32, 32))
    display(explorer)      # interactive (cell tagged ``nbval-ignore-output``)
    explorer.static()      # static PNG of the same figure, seen offline

Importing this module imports ipywidgets but runs nothing.
"""

from __future__ import annotations

import base64
import io
import time

import ipywidgets as widgets
import numpy as np

from .plotting import charge_text

__all__ = ["AnnealExplorer", "anneal_explorer", "figure_png", "DefectExplorer", "defect_explorer",
           "LatentExplorer", "latent_explorer", "PhaseExplorer", "phase_explorer"]


def figure_png(fig, *, dpi=80):
    """Render a matplotlib figure to PNG bytes with the Agg canvas.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        Any figure (pyplot-managed or not); its canvas is not replaced.
    dpi : float, default 80
        Resolution in pixels per inch.

    Returns
    -------
    png : bytes
        The PNG file's bytes.
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _png_output(png, text):
    """One nbformat ``display_data`` output holding a PNG."""
    return {
        "output_type": "display_data",
        "data": {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": text},
        "metadata": {},
    }


def _text_output(text, name="stdout"):
    return {"output_type": "stream", "name": name, "text": text}


#: Shown above every explorer: on a rendered page the controls move but no Python runs.
KERNEL_NOTE = ("<i>Live explorer: it recomputes only with a running Python kernel (JupyterLab). On the "
               "rendered page the controls move but nothing runs; the figure under the explorer shows its "
               "default run.</i>")


def _grid(children, min_width="19em"):
    """Controls in as many columns of at least ``min_width`` as the page affords (no fixed pixel widths)."""
    return widgets.GridBox(children, layout=widgets.Layout(
        grid_template_columns=f"repeat(auto-fill, minmax({min_width}, 1fr))", grid_gap="4px 16px", width="100%"))


def _fill():
    """Layout and style of a control that fills its grid cell with its whole label visible."""
    return dict(layout=widgets.Layout(width="auto"), style={"description_width": "initial"})


class AnnealExplorer(widgets.VBox):
    """Sliders for J, D, B, T_end, a "run anneal" button and the result figure.

    Built by :func:`anneal_explorer`; see there. Attributes beyond those
    of :class:`ipywidgets.VBox`:

    Attributes
    ----------
    sliders : dict of str to ipywidgets.FloatSlider
        ``{"J", "D", "B", "T_end"}``.
    seed : ipywidgets.BoundedIntText
        Seed of the annealing run.
    button : ipywidgets.Button
        "run anneal".
    status : ipywidgets.HTML
        One line: final energy per spin, charge and run time, or the error.
    output : ipywidgets.Output
        Holds the figure of the last run (a PNG display_data output).
    result : mag_ml.AnnealResult or None
        Result of the last successful run.
    png : bytes or None
        PNG of the last figure.
    """

    def __init__(self, shape, params, ranges, *, T_start, n_steps, sweeps_per_step, seed,
                 relax_tol, dmi, boundary, dpi, figsize):
        self.shape = shape
        self._fixed = dict(T_start=T_start, n_steps=n_steps, sweeps_per_step=sweeps_per_step,
                           relax_tol=relax_tol, dmi=dmi, boundary=boundary)
        self._dpi = dpi
        self._figsize = figsize
        self.result = None
        self.png = None
        self.sliders = {}
        for name in ("J", "D", "B", "T_end"):
            lo, hi, step = ranges[name]
            self.sliders[name] = widgets.FloatSlider(
                value=params[name], min=lo, max=hi, step=step, description=name,
                continuous_update=False, readout_format=".3f", **_fill())
        self.seed = widgets.BoundedIntText(value=seed, min=0, max=2**31 - 1, description="seed", **_fill())
        self.button = widgets.Button(description="run anneal", button_style="primary",
                                     icon="play", tooltip="anneal a random state with these parameters")
        self.status = widgets.HTML()
        self.output = widgets.Output(layout=widgets.Layout(min_height="200px"))
        self.button.on_click(lambda _button: self.run())
        self.button.layout = widgets.Layout(width="auto")
        controls = _grid([*self.sliders.values(), self.seed, self.button])
        super().__init__([widgets.HTML(KERNEL_NOTE), controls, self.status, self.output])

    @property
    def values(self):
        """Current parameters: dict with J, D, B, T_end (float) and seed (int)."""
        out = {k: float(s.value) for k, s in self.sliders.items()}
        out["seed"] = int(self.seed.value)
        return out

    def run(self):
        """Anneal with the current widget values and redraw the output.

        Errors of the physics layer (e.g. ``T_end`` above ``T_start``) are
        shown in ``status`` and ``output`` instead of being raised, so a
        click never leaves a traceback in the page.

        Returns
        -------
        result : mag_ml.AnnealResult or None
            None if the run failed.
        """
        import mag_ml
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        from .plotting import plot_anneal_summary

        v = self.values
        self.button.disabled = True
        self.status.value = "<i>running&hellip;</i>"
        t0 = time.perf_counter()
        try:
            ham = mag_ml.Hamiltonian(J=v["J"], D=v["D"], B=v["B"], dmi=self._fixed["dmi"],
                                     boundary=self._fixed["boundary"])
            sched = mag_ml.AnnealSchedule(T_start=self._fixed["T_start"], T_end=v["T_end"],
                                          n_steps=self._fixed["n_steps"],
                                          sweeps_per_step=self._fixed["sweeps_per_step"])
            res = mag_ml.anneal(ham, self.shape, sched, seed=v["seed"], progress=False,
                                relax_tol=self._fixed["relax_tol"])
            n_sites = int(np.prod(self.shape))
            e_per_spin = res.energy / n_sites
            q = round(float(mag_ml.topological_charge(res.spins, boundary=self._fixed["boundary"])), 6) + 0.0
            dt = time.perf_counter() - t0
            title = (f"J={v['J']:.2f}, D={v['D']:.2f}, B={v['B']:.3f}, "
                     f"T_end={v['T_end']:.3f}, seed={v['seed']}:  "
                     f"E/N = {e_per_spin:.4f} J,  Q = {charge_text(q)}")
            fig = Figure(figsize=self._figsize, layout="constrained")
            FigureCanvasAgg(fig)
            plot_anneal_summary(res.spins, res.temperatures, res.energy_history, res.charge_history,
                                n_sites=n_sites, title=title, fig=fig)
            png = figure_png(fig, dpi=self._dpi)
            fig.clear()
        except (ValueError, TypeError) as exc:
            msg = f"{type(exc).__name__}: {exc}"
            self.status.value = f"<span style='color:#b00'>{_escape(msg)}</span>"
            self.output.outputs = (_text_output(msg + "\n", "stderr"),)
            return None
        finally:
            self.button.disabled = False
        self.result, self.png = res, png
        self.output.outputs = (_png_output(png, title),)
        self.status.value = (f"E/N = <b>{e_per_spin:.4f}</b> J, Q = <b>{charge_text(q)}</b> "
                             f"({self.shape[0]}&times;{self.shape[1]}, "
                             f"{sched.n_sweeps} sweeps, {dt:.2f} s)")
        return res

    def static(self):
        """Static copy of the last figure, for pages viewed without a kernel.

        Returns
        -------
        image : IPython.display.Image or None
            PNG of the last successful run (None before any).
        """
        from IPython.display import Image

        return None if self.png is None else Image(data=self.png, format="png")



def _escape(text):
    import html

    return html.escape(text)


_DEFAULTS = {"J": 1.0, "D": 0.6, "B": 0.15, "T_end": 0.02}
_RANGES = {"J": (0.1, 2.0, 0.05), "D": (0.0, 1.0, 0.01), "B": (-0.5, 0.5, 0.005), "T_end": (0.005, 0.5, 0.005)}


def anneal_explorer(shape=(32, 32), *, T_start=1.0, n_steps=20, sweeps_per_step=50, seed=0,
                    relax_tol=1e-6, dmi="interfacial", boundary="periodic", dpi=80,
                    figsize=(8.4, 3.6), **defaults):
    """Interactive simulated annealing: sliders, a "run anneal" button and a figure.

    FloatSliders set J, D, B (units of J) and the final temperature T_end
    (units of J / k_B); a seed box and the button "run anneal" start
    :func:`mag_ml.anneal` from a random state keyed by the seed, cooling
    geometrically from ``T_start`` to ``T_end`` and relaxing at T = 0. The
    output shows :func:`mag_ml.plotting.plot_anneal_summary`: the final
    state in the colour code of Kwon et al., Adv. Sci. 8, 2004795 (2021)
    (hue = in-plane angle, white = +z, black = -z), energy per spin and
    topological charge per temperature step, and the final E/N and Q in the
    title.

    The default sliders (J = 1, D = 0.6, B = 0.15, interfacial DMI,
    periodic) give a spiral period 2 pi / atan(D / J) of about 11.6 sites,
    so that a 32 x 32 lattice holds a few periods of labyrinth or skyrmion
    textures. The E-VAE Hamiltonian itself (D = 0.3, B = 0.05, period about
    21.6 sites) anneals to the uniform state on 32 x 32; use it with
    ``shape=(64, 64)`` or larger: ``anneal_explorer((64, 64), D=0.3, B=0.05)``.

    The explorer runs once with the default values when it is created, so a
    headless execution (papermill) stores a figure in the widget state. A
    chapter cell shows both the widget and a static copy of that figure,
    because a rendered page without a kernel cannot update the widget::

        explorer = anneal_explorer(shape=(32, 32))
        display(explorer)
        explorer.static()

    Parameters
    ----------
    shape : (int, int), default (32, 32)
        Lattice (H, W); both even and >= 2 (checkerboard updates).
    T_start : float, default 1.0
        Initial temperature in units of J / k_B (> 0), above the ordering
        temperature (~0.7 J for D = 0.3, B = 0.05).
    n_steps : int, default 20
        Temperature steps of the geometric schedule.
    sweeps_per_step : int, default 50
        Metropolis sweeps per step. The defaults (1000 sweeps) take about
        0.1 s on a 32 x 32 lattice after numba's first compilation.
    seed : int, default 0
        Initial value of the seed box.
    relax_tol : float, default 1e-6
        Convergence threshold of the final T = 0 relaxation (``relax_tol``
        of :func:`mag_ml.anneal`), looser than the dataset default so that a
        click stays short; relaxation stops anyway after 100,000 sweeps.
    dmi : {"interfacial", "bulk"}, default "interfacial"
        DMI kind (Neel skyrmions for interfacial), see
        :class:`mag_ml.Hamiltonian`.
    boundary : str, default "periodic"
        Boundary kind, see :class:`mag_ml.Hamiltonian`.
    dpi : float, default 80
        Resolution of the figure PNG.
    figsize : (float, float), default (8.4, 3.6)
        Figure size in inches.
    **defaults : float
        Initial slider values, any of ``J``, ``D``, ``B``, ``T_end``
        (defaults 1.0, 0.6, 0.15, 0.02). A value outside a slider's range
        (J 0.1..2, D 0..1, B -0.5..0.5, T_end 0.005..0.5) widens the range.

    Returns
    -------
    explorer : AnnealExplorer
        An :class:`ipywidgets.VBox` subclass with ``run()``, ``static()``,
        ``result`` (the last :class:`mag_ml.AnnealResult`), ``png``,
        ``sliders``, ``seed``, ``button``, ``status`` and ``output``.

    Raises
    ------
    ValueError
        If ``shape`` is not two even ints >= 2, ``T_start``, ``n_steps`` or
        ``sweeps_per_step`` are not positive, a key of ``defaults`` is not one
        of J, D, B, T_end or its value is not finite, or the default run fails
        (e.g. ``T_end > T_start``, unknown ``dmi`` or ``boundary``).
    """
    try:
        hw = tuple(int(n) for n in shape)
        ok = len(hw) == 2 and all(n == m for n, m in zip(hw, shape))
    except (TypeError, ValueError):
        ok = False
    if not ok or any(n < 2 or n % 2 for n in hw):
        raise ValueError(f"shape must be two even ints >= 2 (H, W); got {shape!r}")
    unknown = set(defaults) - set(_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown slider default(s) {sorted(unknown)}; allowed: J, D, B, T_end")
    params = dict(_DEFAULTS)
    ranges = dict(_RANGES)
    for name, value in defaults.items():
        if not isinstance(value, (int, float, np.integer, np.floating)) or not np.isfinite(value):
            raise ValueError(f"{name} must be a finite number; got {value!r}")
        params[name] = float(value)
        lo, hi, step = ranges[name]
        ranges[name] = (min(lo, float(value)), max(hi, float(value)), step)
    if not (isinstance(T_start, (int, float, np.integer, np.floating)) and np.isfinite(T_start) and T_start > 0):
        raise ValueError(f"T_start must be a positive temperature in units of J/k_B; got {T_start!r}")
    for name, value in (("n_steps", n_steps), ("sweeps_per_step", sweeps_per_step)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive int; got {value!r}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative int; got {seed!r}")

    if not (isinstance(relax_tol, (int, float, np.floating)) and relax_tol > 0):
        raise ValueError(f"relax_tol must be a positive number; got {relax_tol!r}")
    explorer = AnnealExplorer(hw, params, ranges, T_start=float(T_start), n_steps=int(n_steps),
                              sweeps_per_step=int(sweeps_per_step), seed=int(seed),
                              relax_tol=float(relax_tol), dmi=dmi, boundary=boundary,
                              dpi=dpi, figsize=figsize)
    if explorer.run() is None:
        msg = explorer.output.outputs[0]["text"].strip()
        explorer.close()
        raise ValueError(f"anneal_explorer: the default run failed: {msg}")
    return explorer


class DefectExplorer(widgets.VBox):
    """Sliders for sigma, tau and the realisation; a realisation's wall and spectrum (chapter 8).

    Built by :func:`defect_explorer`; see there.

    Attributes
    ----------
    sliders : dict of str to ipywidgets widget
        ``{"sigma", "tau"}`` (FloatLogSlider, units of a) and
        ``"realisation"`` (IntSlider).
    status : ipywidgets.HTML
        Width, occupied fraction and run time, or the error.
    output : ipywidgets.Output
        The figure of the last run (PNG).
    result : mag_ml.chapters.defects.DefectRealisation or None
    png : bytes or None
    """

    def __init__(self, spec, sigma, tau, *, presets, dpi, figsize):
        self.spec = spec
        self.presets = presets
        self._dpi, self._figsize = dpi, figsize
        self.result, self.png = None, None
        lo_s, hi_s = spec["sigma_range"]
        lo_t, hi_t = spec["tau_range"]
        common = dict(base=2, step=0.25, continuous_update=False, readout_format=".3g", **_fill())
        self.sliders = {
            "sigma": widgets.FloatLogSlider(value=sigma, min=np.log2(lo_s), max=np.log2(hi_s),
                                            description="sigma (a)", **common),
            "tau": widgets.FloatLogSlider(value=tau, min=np.log2(lo_t), max=np.log2(hi_t),
                                          description="tau (a)", **common),
            "realisation": widgets.IntSlider(value=0, min=0, max=19, description="realisation",
                                             continuous_update=False, **_fill()),
        }
        self.status = widgets.HTML()
        self.output = widgets.Output(layout=widgets.Layout(min_height="200px"))
        for slider in self.sliders.values():
            slider.observe(lambda _change: self.run(), names="value")
        super().__init__([widgets.HTML(KERNEL_NOTE), _grid(list(self.sliders.values())), self.status, self.output])

    def _figure(self, rows):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=(self._figsize[0], self._figsize[1] * rows), layout="constrained")
        FigureCanvasAgg(fig)
        return fig, fig.subplots(rows, 2, squeeze=False)

    def run(self):
        """Simulate the realisation of the current slider values and redraw.

        Errors (e.g. sigma + tau longer than the chain) are shown in
        ``status`` instead of being raised.

        Returns
        -------
        mag_ml.chapters.defects.DefectRealisation or None
        """
        from .chapters.defects import defect_realisation
        from .plotting import plot_defect_realisation

        sigma, tau = float(self.sliders["sigma"].value), float(self.sliders["tau"].value)
        r = int(self.sliders["realisation"].value)
        self.status.value = "<i>running&hellip;</i>"
        t0 = time.perf_counter()
        try:
            res = defect_realisation(self.spec, sigma, tau, realisation=r)
        except ValueError as exc:
            msg = f"{type(exc).__name__}: {exc}"
            self.status.value = f"<span style='color:#b00'>{_escape(msg)}</span>"
            self.output.outputs = (_text_output(msg + "\n", "stderr"),)
            return None
        fig, axes = self._figure(1)
        plot_defect_realisation(res, axes[0])
        png = figure_png(fig, dpi=self._dpi)
        fig.clear()
        self.result, self.png = res, png
        text = (f"sigma = {sigma:.3g} a, tau = {tau:.3g} a, realisation {r}: wall width {res.wall.width:.2f} nm, "
                f"occupied fraction {res.occupied.mean():.2f}")
        self.output.outputs = (_png_output(png, text),)
        self.status.value = _escape(text) + f" ({time.perf_counter() - t0:.1f} s)"
        return res

    def static(self):
        """Static grid for pages viewed without a kernel: one row per preset (sigma, tau), realisation 0.

        Returns
        -------
        IPython.display.Image
        """
        from IPython.display import Image

        from .chapters.defects import defect_realisation
        from .plotting import plot_defect_realisation

        fig, axes = self._figure(len(self.presets))
        for row, (sigma, tau) in zip(axes, self.presets):
            plot_defect_realisation(defect_realisation(self.spec, sigma, tau), row)
        png = figure_png(fig, dpi=self._dpi)
        fig.clear()
        return Image(data=png, format="png")


def defect_explorer(spec, *, sigma=8.0, tau=4.0, presets=((16.0, 2.0), (8.0, 8.0), (2.0, 4.0)), dpi=80,
                    figsize=(9.0, 2.8)):
    """Interactive vacancy chains: sliders for sigma, tau and the realisation (chapter 8).

    Each change simulates one realisation with the dataset's protocols
    (:func:`mag_ml.chapters.defects.defect_realisation`: a pinned wall with
    bridged vacancies, relaxed and fitted; the magnon spectrum of a chain
    with cut vacancies) and draws
    :func:`mag_ml.plotting.plot_defect_realisation`.  It runs once when
    created; ``static()`` draws a grid of ``presets`` for the rendered book::

        explorer = defect_explorer(spec)
        display(explorer)
        explorer.static()

    Parameters
    ----------
    spec : dict
        From :func:`mag_ml.chapters.defects.defect_dataset_spec`; the sliders
        span its ``sigma_range`` and ``tau_range``.
    sigma, tau : float
        Initial values [a], inside the ranges.
    presets : sequence of (float, float)
        (sigma, tau) rows of :meth:`DefectExplorer.static`.
    dpi : float
    figsize : (float, float)
        Size of one row [inches].

    Returns
    -------
    DefectExplorer

    Raises
    ------
    ValueError
        Initial values outside the ranges, or a failing default run.
    """
    for name, value, (lo, hi) in (("sigma", sigma, spec["sigma_range"]), ("tau", tau, spec["tau_range"])):
        if not (isinstance(value, (int, float, np.integer, np.floating)) and lo <= value <= hi):
            raise ValueError(f"{name} must be in [{lo:g}, {hi:g}] (units of a), got {value!r}")
    explorer = DefectExplorer(spec, float(sigma), float(tau), presets=tuple(presets), dpi=dpi, figsize=figsize)
    if explorer.run() is None:
        msg = explorer.status.value
        explorer.close()
        raise ValueError(f"defect_explorer: the default run failed: {msg}")
    return explorer


class LatentExplorer(widgets.HBox):
    """Sliders along the leading latent directions and the decoded state (chapter 4).

    Built by :func:`latent_explorer`; see there.

    Attributes
    ----------
    directions : mag_ml.chapters.evae.LatentDirections
        The principal directions of the encoder means (``variance_share``,
        ``decode``).
    hamiltonian : mag_ml.Hamiltonian
        Energy of the titles.
    sliders : list of ipywidgets.FloatSlider
        One per direction, in units of its standard deviation.
    status : ipywidgets.HTML
        Energy per spin and charge of the decoded state, or the error.
    output : ipywidgets.Output
        The figure of the last state (PNG).
    state : numpy.ndarray or None
        The last decoded state, float64 (3, L, L).
    png : bytes or None
    cut : tuple of float
        Coordinates along the first direction of :meth:`static`.
    """

    def __init__(self, directions, hamiltonian, n_sliders, *, value_range, step, cut, dpi, figsize, cut_figsize):
        self.directions, self.hamiltonian = directions, hamiltonian
        self.cut = tuple(cut)
        self._dpi, self._figsize, self._cut_figsize = dpi, figsize, cut_figsize
        self.state, self.png = None, None
        lo, hi = value_range
        self.sliders = [widgets.FloatSlider(value=0.0, min=lo, max=hi, step=step, description=f"PC {k + 1}",
                                            continuous_update=False, **_fill())
                        for k in range(n_sliders)]
        self.status = widgets.HTML()
        self.output = widgets.Output(layout=widgets.Layout(min_height="200px"))
        for slider in self.sliders:
            slider.observe(lambda _change: self.run(), names="value")
        super().__init__([widgets.VBox([widgets.HTML(KERNEL_NOTE), _grid(self.sliders, min_width="14em"), self.status],
                                       layout=widgets.Layout(width="40%", min_width="18em")), self.output])

    @property
    def values(self):
        """Current slider values (list of float), one per direction."""
        return [float(s.value) for s in self.sliders]

    def decode(self, coords):
        """The state decoded at ``coords`` and its label ``"E/N = ..., Q = ..."``."""
        from mag_ml.physics.topology import topological_charge

        x = self.directions.decode(coords)
        n = x.shape[-1] * x.shape[-2]
        q = topological_charge(x, boundary=self.hamiltonian.boundary)
        return x, f"E/N = {self.hamiltonian.energy(x) / n:.4f},  Q = {charge_text(q)}"

    @staticmethod
    def _figure(ncols, size):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=(size[0] * ncols, size[1]), layout="constrained")
        FigureCanvasAgg(fig)
        return fig, fig.subplots(1, ncols, squeeze=False)[0]

    def run(self):
        """Decode the state of the current slider values and redraw.

        Returns
        -------
        numpy.ndarray or None
            The state, or None when decoding failed (the error is shown in ``status``).
        """
        from .plotting import plot_spins

        coords = self.values
        try:
            x, label = self.decode(coords)
        except (ValueError, RuntimeError) as exc:
            msg = f"{type(exc).__name__}: {exc}"
            self.status.value = f"<span style='color:#b00'>{_escape(msg)}</span>"
            self.output.outputs = (_text_output(msg + "\n", "stderr"),)
            return None
        fig, axes = self._figure(1, self._figsize)
        plot_spins(x, axes[0], title=label)
        png = figure_png(fig, dpi=self._dpi)
        fig.clear()
        self.state, self.png = x, png
        text = ", ".join(f"PC {k + 1} = {c:+.2f}" for k, c in enumerate(coords)) + f":  {label}"
        self.output.outputs = (_png_output(png, text),)
        self.status.value = _escape(label)
        return x

    def static(self):
        """Static cut for pages viewed without a kernel: the states at ``cut`` along the first direction.

        Returns
        -------
        IPython.display.Image
            One panel per value of ``cut`` (in standard deviations), titled
            with it, the energy per spin and the charge.
        """
        from IPython.display import Image

        from .plotting import plot_spins

        fig, axes = self._figure(len(self.cut), self._cut_figsize)
        for ax, c in zip(axes, self.cut):
            x, label = self.decode([c])
            plot_spins(x, ax, title=f"PC 1 = {c:+g} std\n{label}")
        png = figure_png(fig, dpi=self._dpi)
        fig.clear()
        return Image(data=png, format="png")


def latent_explorer(model, states, hamiltonian, *, n_directions=4, value_range=(-3.0, 3.0), step=0.25,
                    cut=(-2, -1, 0, 1, 2), dpi=80, figsize=(3.2, 3.4), cut_figsize=(2.3, 2.7)):
    """Interactive latent space: sliders along the leading directions of the encoder means (chapter 4).

    The principal components of the encoder means ``mu(X)`` of ``states``
    (:func:`mag_ml.chapters.evae.latent_directions`) give the leading
    directions of the latent space that the data occupy.  One slider per
    direction sets the coordinate ``c_k`` (in units of the standard deviation
    along it) of ``z = mean + sum_k c_k std_k v_k``; each change decodes ``z``
    with ``model`` and draws the state with its energy per spin and
    topological charge.  It decodes the mean code when created;
    ``static()`` draws a cut along the first direction for the rendered
    book::

        explorer = latent_explorer(model, train, H)
        display(explorer)
        explorer.static()

    Parameters
    ----------
    model : mag_ml.models.SpinVAE
        In eval mode.
    states : array_like or torch.Tensor, shape (n, 3, L, L)
        The states whose codes span the directions (e.g. the training set);
        at least two.
    hamiltonian : mag_ml.Hamiltonian
        Energy of the titles (and boundary of the charge).
    n_directions : int, default 4
        Sliders, at most ``min(n, latent_dim)``.
    value_range : (float, float), default (-3, 3)
        Slider range in standard deviations.
    step : float, default 0.25
    cut : sequence of float, default (-2, -1, 0, 1, 2)
        Coordinates along the first direction drawn by ``static()``.
    dpi : float
    figsize : (float, float)
        Size of the interactive figure [inches].
    cut_figsize : (float, float)
        Size of one panel of ``static()`` [inches].

    Returns
    -------
    LatentExplorer
        An :class:`ipywidgets.HBox` with ``directions``, ``sliders``,
        ``run()``, ``static()``, ``state``, ``png``, ``status`` and ``output``.

    Raises
    ------
    ValueError
        Fewer than two states, ``n_directions`` out of range, a bad
        ``value_range`` or ``step``, an empty ``cut``, or a failing default run.
    """
    from .chapters.evae import latent_directions

    directions = latent_directions(model, states)
    if not isinstance(n_directions, (int, np.integer)) or not 1 <= n_directions <= len(directions):
        raise ValueError(f"n_directions must be an int in [1, {len(directions)}], got {n_directions!r}")
    lo, hi = (float(v) for v in value_range)
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < 0 < hi):
        raise ValueError(f"value_range must be finite with lo < 0 < hi, got {value_range!r}")
    if not (isinstance(step, (int, float, np.integer, np.floating)) and 0 < step <= hi - lo):
        raise ValueError(f"step must be positive and at most the range, got {step!r}")
    if len(tuple(cut)) == 0:
        raise ValueError("cut must hold at least one coordinate")
    explorer = LatentExplorer(directions, hamiltonian, int(n_directions), value_range=(lo, hi), step=float(step),
                              cut=cut, dpi=dpi, figsize=figsize, cut_figsize=cut_figsize)
    if explorer.run() is None:
        msg = explorer.status.value
        explorer.close()
        raise ValueError(f"latent_explorer: the default run failed: {msg}")
    return explorer


class PhaseExplorer(widgets.VBox):
    """Sliders for B and T over a phase diagram; the diagram with the chosen point and its state (chapter 2).

    Built by :func:`phase_explorer`; see there.

    Attributes
    ----------
    diagram : mag_ml.analysis.phases.PhaseDiagram
    sliders : dict of str to ipywidgets.SelectionSlider
        ``{"B", "T"}`` over the diagram's fields and temperatures.
    status : ipywidgets.HTML
        Phase, energy, <m_z> and skyrmion count of the chosen point.
    output : ipywidgets.Output
        The figure (PNG).
    png : bytes or None
    """

    def __init__(self, diagram, B, T, *, anneal, dpi, figsize):
        self.diagram, self._anneal, self._dpi, self._figsize = diagram, anneal, dpi, figsize
        self.png = None
        common = dict(continuous_update=False, **_fill())
        self.sliders = {
            "B": widgets.SelectionSlider(options=[(f"{b:.3f}", i) for i, b in enumerate(diagram.fields)],
                                         value=B, description="B (J)", **common),
            "T": widgets.SelectionSlider(options=[(f"{t:.3f}", j) for j, t in enumerate(diagram.temperatures)],
                                         value=T, description="T (J/k_B)", **common),
        }
        self.status = widgets.HTML()
        self.output = widgets.Output(layout=widgets.Layout(min_height="200px"))
        for slider in self.sliders.values():
            slider.observe(lambda _change: self.run(), names="value")
        super().__init__([widgets.HTML(KERNEL_NOTE.replace("recomputes", "redraws")),
                          _grid(list(self.sliders.values())), self.status, self.output])

    def _describe(self, i, j):
        from .analysis.phases import PHASES

        d = self.diagram
        n_sk = -d.charge_density[i, j] * d.states.shape[-1] * d.states.shape[-2]
        return (f"B = {d.fields[i]:.3f} J ({d.fields[i] / d.field_unit:.2f} D^2/J), T = {d.temperatures[j]:.3f}: "
                f"{PHASES[d.phase[i, j]]}; E/N = {d.energy[i, j]:.4f} +- {d.energy_error[i, j]:.4f} J, "
                f"<m_z> = {d.mz[i, j]:.3f}, -<Q> = {n_sk:.1f}")

    def run(self):
        """Redraw for the current slider values.

        Returns
        -------
        bytes
            The PNG.
        """
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        from .plotting import plot_phase_diagram, plot_spins

        i, j = int(self.sliders["B"].value), int(self.sliders["T"].value)
        d = self.diagram
        fig = Figure(figsize=self._figsize, layout="constrained")
        FigureCanvasAgg(fig)
        ax_d, ax_s = fig.subplots(1, 2, width_ratios=(1.5, 1))
        plot_phase_diagram(d, ax_d, anneal=self._anneal)
        ax_d.plot(d.fields[i], d.temperatures[j], "o", mfc="none", mec="r", ms=12, mew=2)
        plot_spins(d.states[i, j], ax_s, title=f"B = {d.fields[i]:.3f}, T = {d.temperatures[j]:.3f}")
        png = figure_png(fig, dpi=self._dpi)
        fig.clear()
        text = self._describe(i, j)
        self.png = png
        self.output.outputs = (_png_output(png, text),)
        self.status.value = _escape(text)
        return png

    def static(self, n_fields=4):
        """Static figure for pages without a kernel: the diagram and the lowest-T state of ``n_fields`` fields.

        Returns
        -------
        IPython.display.Image
        """
        from IPython.display import Image
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        from .analysis.phases import PHASES
        from .plotting import plot_phase_diagram, plot_spins

        d = self.diagram
        picks = np.unique(np.linspace(0, d.fields.size - 1, n_fields).round().astype(int))
        low = int(np.argmin(d.temperatures))
        fig = Figure(figsize=(self._figsize[0], self._figsize[1] * 1.7), layout="constrained")
        FigureCanvasAgg(fig)
        top, bottom = fig.subfigures(2, 1, height_ratios=(1.3, 1))
        plot_phase_diagram(d, top.subplots(), anneal=self._anneal)
        for ax, i in zip(bottom.subplots(1, picks.size, squeeze=False)[0], picks):
            plot_spins(d.states[i, low], ax, title=f"B = {d.fields[i]:.3f}\n{PHASES[d.phase[i, low]]}")
        png = figure_png(fig, dpi=self._dpi)
        fig.clear()
        return Image(data=png, format="png")


def phase_explorer(diagram, *, B=None, T=None, anneal=None, dpi=80, figsize=(9.0, 3.6)):
    """Explore a (T, B) phase diagram: pick a field and a temperature, see the state there (chapter 2).

    Nothing is simulated: the sliders select among the diagram's points, so
    the explorer redraws at once in JupyterLab.  It draws the default point
    when created; ``static()`` draws the diagram with the lowest-temperature
    states of a few fields for the rendered book::

        explorer = phase_explorer(diagram, anneal=(0.05, 1.0, 0.01))
        display(explorer)
        explorer.static()

    Parameters
    ----------
    diagram : mag_ml.analysis.phases.PhaseDiagram
    B, T : float, optional
        Initial field and temperature (the nearest grid points are chosen);
        default: the middle field and the lowest temperature.
    anneal : (float, float, float), optional
        ``(B, T_start, T_end)`` of an annealing schedule drawn on the diagram
        (e.g. the dataset's; see :func:`mag_ml.plotting.plot_phase_diagram`).
    dpi : float
    figsize : (float, float)
        Figure size [inches].

    Returns
    -------
    PhaseExplorer

    Raises
    ------
    TypeError
        ``diagram`` is not a PhaseDiagram.
    ValueError
        ``B`` or ``T`` not a finite number.
    """
    from .analysis.phases import PhaseDiagram

    if not isinstance(diagram, PhaseDiagram):
        raise TypeError(f"diagram must be a mag_ml.analysis.phases.PhaseDiagram, got {type(diagram).__name__}")
    for name, value in (("B", B), ("T", T)):
        if value is not None and not (isinstance(value, (int, float, np.integer, np.floating))
                                      and np.isfinite(value)):
            raise ValueError(f"{name} must be a finite number or None, got {value!r}")
    i = diagram.fields.size // 2 if B is None else int(np.argmin(np.abs(diagram.fields - B)))
    j = int(np.argmin(diagram.temperatures)) if T is None else int(np.argmin(np.abs(diagram.temperatures - T)))
    explorer = PhaseExplorer(diagram, i, j, anneal=anneal, dpi=dpi, figsize=figsize)
    explorer.run()
    return explorer
