r"""Magnetisation loops M(B) of an SI film at finite temperature.

The field along z is swept down from :math:`+B_{max}` to :math:`-B_{max}` and
back up, each step starting from the last state of the previous one
(:func:`mag_ml.physics.micromagnetics.thermal_run` with ``spins=``), as in
the hysteresis loops predicted from estimated parameters by Wang et al.
(Adv. Sci. 2020, arXiv 1908.05829).  Monte Carlo sweeps stand in for time:
the loop depends on the sweeps per step as a measured loop depends on the
sweep rate, through thermally activated switching.

Definitions used here (stated in :class:`HysteresisLoop`):

* coercive field: the field where the thermal average :math:`\langle m_z\rangle`
  first changes sign on a branch, linearly interpolated between steps;
* saturation field: the field on the up branch above which
  :math:`\langle m_z\rangle \ge 0.95` at every later step (interpolated);
* knee field (:func:`knee_field`, the saturation field as Wang et al. read
  it off their loops): where the tangent at the steepest rise of the up
  branch above its coercive field meets the saturated plateau.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from mag_ml.progress import progress_bar

from ..files import atomic_path, check_digest, check_matches, load_npz, save_npz
from ..checks import check_int, check_real
from .micromagnetics import MicromagneticParameters, thermal_run

__all__ = ["HysteresisLoop", "hysteresis_loop", "coercive_field", "saturation_field", "knee_field"]


@dataclass
class HysteresisLoop:
    """An M(B) loop: the down branch, then the up branch.

    Attributes
    ----------
    B : ndarray (2 n_steps,) float64
        Applied field [T]: ``n_steps`` values from +B_max to -B_max, then
        ``n_steps`` from -B_max to +B_max.
    m_z : ndarray (2 n_steps,) float64
        Thermal average of the mean :math:`m_z` at each step (over the
        equilibrium half of the sweeps; the relaxed state at T = 0).
    n_steps : int
        Steps per branch.
    coercive_fields : tuple of float
        (down, up) [T]: where :math:`\\langle m_z\\rangle` first changes
        sign on each branch (:func:`coercive_field`); nan if it does not.
    saturation_field : float
        [T]: :func:`saturation_field` of the up branch (threshold 0.95).
    knee_field : float
        [T]: :func:`knee_field` of the up branch (nan below KNEE_PLATEAU + 2 steps per branch).
    final_state : ndarray (3, H, W) float64
        The state at the end of the up branch.
    """

    B: np.ndarray
    m_z: np.ndarray
    n_steps: int
    coercive_fields: tuple
    saturation_field: float
    final_state: np.ndarray
    knee_field: float = float("nan")

    @property
    def coercivity(self):
        """Half the width of the loop at m_z = 0, ``(B_c_up - B_c_down) / 2`` [T]."""
        return 0.5 * (self.coercive_fields[1] - self.coercive_fields[0])

    @property
    def branches(self):
        """((B_down, m_down), (B_up, m_up)), each ndarray (n_steps,)."""
        n = self.n_steps
        return (self.B[:n], self.m_z[:n]), (self.B[n:], self.m_z[n:])


#: Points of a rising branch that define its saturated plateau in :func:`knee_field`.
KNEE_PLATEAU = 3


def coercive_field(B, m_z):
    """Field where ``m_z`` first changes sign along a branch, linearly interpolated.

    Parameters
    ----------
    B, m_z : array_like (n,)
        One branch in sweep order.

    Returns
    -------
    float
        [T], nan if ``m_z`` never changes sign (or never leaves zero).
    """
    B, m = np.asarray(B, dtype=float), np.asarray(m_z, dtype=float)
    sign = np.sign(m)
    start = np.flatnonzero(sign != 0)
    if len(start) == 0:
        return float("nan")
    for i in range(start[0], len(m) - 1):
        if sign[i + 1] != sign[start[0]]:  # zero or the other sign: m[i + 1] != m[i]
            return float(B[i] - m[i] * (B[i + 1] - B[i]) / (m[i + 1] - m[i]))
    return float("nan")


def saturation_field(B, m_z, threshold=0.95):
    """Field on a rising branch above which ``m_z >= threshold`` at every later step.

    Parameters
    ----------
    B, m_z : array_like (n,)
        The up branch in sweep order (B increasing).
    threshold : float
        Saturation level of :math:`\\langle m_z\\rangle`, default 0.95.

    Returns
    -------
    float
        [T], linearly interpolated between the last step below ``threshold``
        and the next; ``B[0]`` if the whole branch is saturated; nan if the
        last step is below ``threshold``.
    """
    B, m = np.asarray(B, dtype=float), np.asarray(m_z, dtype=float)
    below = np.flatnonzero(m < threshold)
    if len(below) == 0:
        return float(B[0])
    i = below[-1]
    if i == len(m) - 1:
        return float("nan")
    return float(B[i] + (threshold - m[i]) * (B[i + 1] - B[i]) / (m[i + 1] - m[i]))


def knee_field(B, m_z, *, plateau=KNEE_PLATEAU):
    r"""Knee of a rising branch: the tangent at its steepest rise meets the saturated plateau.

    Construction (stated so that it can be checked): the plateau level
    :math:`m_{sat}` is the mean of the last ``plateau`` points; the
    steepest rise is the largest finite-difference slope
    :math:`\mathrm dm_z/\mathrm dB` (``numpy.gradient``) among the points
    at or above :math:`m_z = 0` (the part of the branch above its coercive
    field); the knee is where the tangent there reaches :math:`m_{sat}`,
    :math:`B_k = B_i + (m_{sat} - m_i)/m'_i`.  For a branch that rises
    linearly and then saturates, this is exactly the kink.

    Parameters
    ----------
    B, m_z : array_like (n,)
        The up branch in sweep order (B increasing), n > ``plateau``.
    plateau : int
        Points that define the plateau, >= 1.

    Returns
    -------
    float
        [T]; nan when the branch never reaches m_z >= 0 or does not rise there.

    Raises
    ------
    ValueError
        Mismatched lengths, fewer than ``plateau + 2`` points, or B not increasing.
    """
    B, m = np.asarray(B, dtype=float), np.asarray(m_z, dtype=float)
    plateau = check_int(plateau, "plateau", minimum=1)
    if B.shape != m.shape or B.ndim != 1 or len(B) < plateau + 2:
        raise ValueError(f"B and m_z must be 1D of equal length >= plateau + 2, got {B.shape} and {m.shape}")
    if not np.all(np.diff(B) > 0):
        raise ValueError("B must increase along the branch (pass the up branch)")
    m_sat = m[-plateau:].mean()
    slope = np.gradient(m, B)
    above = np.flatnonzero(m >= 0)
    if len(above) == 0:
        return float("nan")
    i = above[np.argmax(slope[above])]
    if slope[i] <= 0:
        return float("nan")
    return float(B[i] + (m_sat - m[i]) / slope[i])


def _config(params, shape, T, B_max, n_steps, n_sweeps, seed, n_anneal, boundary):
    return json.dumps(dict(params=params.as_dict(), shape=list(shape), T=T, B_max=B_max, n_steps=n_steps,
                           n_sweeps=n_sweeps, seed=seed, n_anneal=n_anneal, boundary=boundary), sort_keys=True)


def hysteresis_loop(params, shape, T, B_max, n_steps, *, n_sweeps=200, seed=0, n_anneal=1000,
                    boundary="periodic", checkpoint=None, progress=True):
    """Sweep the field down and up at temperature ``T`` and record :math:`\\langle m_z\\rangle`.

    The loop starts from a state annealed at ``+B_max`` from random spins
    (``n_anneal`` sweeps, :func:`~mag_ml.physics.micromagnetics.thermal_run`,
    random stream (seed, 0)); step ``i`` (0-based over both branches) then
    runs ``n_sweeps`` Metropolis sweeps at its field from the previous step's
    state with the random stream (seed, i + 1) and the cone width the anneal
    adapted to ``T`` (fixed, so every step is an exact Metropolis chain), and
    records the average of :math:`m_z` over the second half of those sweeps.  At ``T = 0``
    each step is a relaxation (:func:`mag_ml.relax`), the Stoner-Wohlfarth
    limit, in which a perfectly uniform state never leaves an unstable
    equilibrium; use a small T for switching.

    Parameters
    ----------
    params : MicromagneticParameters
        The film; its ``B`` is replaced by the sweep's fields.
    shape : tuple (H, W)
        Two even integers (cells).
    T : float
        Temperature [K], >= 0.
    B_max : float
        Largest field of the sweep [T], > 0.
    n_steps : int
        Fields per branch, >= 2.
    n_sweeps : int
        Sweeps per field step.
    seed : int
    n_anneal : int
        Anneal sweeps of the initial state.
    boundary : {"periodic", "open"}
    checkpoint : str or os.PathLike, optional
        ``.npz`` file written atomically after every step (fields done,
        averages, last state, the call's settings); a rerun with the same
        settings resumes from it, with other settings raises ValueError.
    progress : bool
        tqdm progress bar over the steps.

    Returns
    -------
    HysteresisLoop

    Raises
    ------
    ValueError
        Naming the argument: non-positive ``B_max``, ``n_steps < 2``, bad
        temperature or shape (:func:`~mag_ml.physics.micromagnetics.thermal_run`),
        a checkpoint made with other settings.
    TypeError
        If ``params`` is not a :class:`MicromagneticParameters`.
    """
    if not isinstance(params, MicromagneticParameters):
        raise TypeError(f"params must be a MicromagneticParameters, got {type(params).__name__}")
    B_max = check_real(B_max, "B_max", positive=True, unit="T")
    T = check_real(T, "T", nonneg=True, unit="K")
    if not isinstance(n_steps, (int, np.integer)) or isinstance(n_steps, bool) or n_steps < 2:
        raise ValueError(f"n_steps must be an integer >= 2, got {n_steps!r}")
    n_steps = int(n_steps)
    fields = np.concatenate([np.linspace(B_max, -B_max, n_steps), np.linspace(-B_max, B_max, n_steps)])
    config = _config(params, tuple(int(s) for s in shape), T, B_max, n_steps, n_sweeps, seed, n_anneal, boundary)

    m_z = np.full(len(fields), np.nan)
    done, state = 0, None
    if checkpoint is not None and Path(checkpoint).exists():
        check_digest(checkpoint, what="hysteresis checkpoint",
                     hint=" Delete it to sweep the loop again.")
        saved = load_npz(checkpoint)
        check_matches(checkpoint, json.loads(str(saved["config"])), json.loads(config), what="hysteresis checkpoint",
                      hint=" It holds a loop for other settings: remove it or pass another path.")
        done, state = int(saved["done"]), saved["state"]
        m_z[:done] = saved["m_z"][:done]
    if state is None:
        start = thermal_run(params.replace(B=B_max), shape, T, seed=seed, sample=0, n_anneal=n_anneal,
                            n_sweeps=n_sweeps, boundary=boundary)
        state, delta = start.spins, start.delta
    else:
        delta = float(saved["delta"])
    bar = progress_bar(total=len(fields), initial=done, desc="field sweep", disable=not progress, leave=False)
    for i in range(done, len(fields)):
        run = thermal_run(params.replace(B=float(fields[i])), shape, T, seed=seed, sample=i + 1, spins=state,
                          n_anneal=0, n_sweeps=n_sweeps, boundary=boundary, delta=delta if T > 0 else None)
        state = run.spins
        m_z[i] = run.magnetisation[n_sweeps // 2:, 2].mean() if T > 0 else run.mean_magnetisation[2]
        if checkpoint is not None:
            with atomic_path(checkpoint, digest=True) as tmp:
                save_npz(dict(config=np.array(config), done=np.array(i + 1), m_z=m_z, state=state,
                              delta=np.array(delta)), tmp)
        bar.update()
    bar.close()
    down, up = slice(0, n_steps), slice(n_steps, None)
    return HysteresisLoop(
        B=fields, m_z=m_z, n_steps=n_steps,
        coercive_fields=(coercive_field(fields[down], m_z[down]), coercive_field(fields[up], m_z[up])),
        saturation_field=saturation_field(fields[up], m_z[up]), final_state=state,
        knee_field=knee_field(fields[up], m_z[up]) if n_steps >= KNEE_PLATEAU + 2 else float("nan"),
    )
