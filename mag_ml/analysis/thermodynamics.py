r"""Thermodynamic observables of an equilibrium run, each with an error bar and an autocorrelation time.

From the series of :func:`mag_ml.physics.measurement.measure` (total energy
:math:`E`, mean spin :math:`\mathbf m`, charge :math:`Q` on :math:`N` sites,
reduced units :math:`J = k_B = 1`):

* ``energy``: :math:`\langle E\rangle/N` [J];
* ``specific_heat``: :math:`(\langle E^2\rangle-\langle E\rangle^2)/(NT^2)` [k_B];
* ``magnetisation``: :math:`\langle|\mathbf m|\rangle` [1];
* ``mz``: :math:`\langle m_z\rangle` [1];
* ``susceptibility``: :math:`N(\langle m_z^2\rangle-\langle m_z\rangle^2)/T` [1/J];
* ``binder``: :math:`1-\langle|\mathbf m|^4\rangle/(3\langle|\mathbf m|^2\rangle^2)` [1];
* ``charge_density``: :math:`\langle Q\rangle/N` [1].

The specific heat and susceptibility are the fluctuation-dissipation forms
of :math:`d\langle E\rangle/dT/N` and :math:`d\langle m_z\rangle/dB` (Landau &
Binder, *A Guide to Monte Carlo Simulations in Statistical Physics*, 2014,
Sec. 2.1); the Binder cumulant (Binder, Z. Phys. B 43, 119 (1981)) of the
three-component order parameter is 2/3 in an ordered state and
:math:`1 - (1 + 2(N-1)/(3N))/3 \to 4/9` for independent spins.

Errors: means by :func:`mag_ml.analysis.blocking.blocking`; nonlinear
combinations by the blocked jackknife with blocks as long as the blocking
analysis of their series asks.  Each observable's ``tau`` is the integrated
autocorrelation time (Sokal window) of the series it averages (for the
fluctuations: of :math:`E^2`, :math:`m_z^2`, :math:`|\mathbf m|^2`), in
measurements.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..io.netcdf import table_to_xarray
from .blocking import autocorrelation_time, blocking, jackknife

__all__ = ["Estimate", "OBSERVABLES", "UNITS", "thermodynamics", "scan_table", "scan_to_xarray"]

#: The observables of :func:`thermodynamics`, in order.
OBSERVABLES = ("energy", "specific_heat", "magnetisation", "mz", "susceptibility", "binder", "charge_density")
#: Their units (reduced units J = k_B = 1).
UNITS = {"energy": "J", "specific_heat": "k_B", "magnetisation": "1", "mz": "1", "susceptibility": "1/J",
         "binder": "1", "charge_density": "1"}


@dataclass(frozen=True)
class Estimate:
    """An observable with its standard error and the integrated autocorrelation time of its series."""

    value: float
    error: float
    tau: float


def _mean(x):
    r = blocking(x)
    return Estimate(r.mean, r.error, autocorrelation_time(x)[0]), r.block_size


def _combination(f, series, tau_series):
    block = max(blocking(s).block_size for s in series)
    value, error, _ = jackknife(f, series, block_size=block)
    return Estimate(value, error, autocorrelation_time(tau_series)[0])


def thermodynamics(series):
    """Observables of one run, each an :class:`Estimate` (value, error, tau).

    Parameters
    ----------
    series : ThermalSeries
        From :func:`mag_ml.physics.measurement.measure` (at least 16 measurements).

    Returns
    -------
    dict of str to Estimate
        Keys :data:`OBSERVABLES`, units :data:`UNITS` (module table).

    Raises
    ------
    ValueError
        Series shorter than 16 measurements or not finite.
    """
    T, N = float(series.T), int(series.n_sites)
    E = np.asarray(series.energy, dtype=np.float64)
    m = np.asarray(series.magnetisation, dtype=np.float64)
    mz = m[:, 2]
    m2 = np.einsum("ij,ij->i", m, m)
    e = E / N
    out = {"energy": _mean(e)[0]}
    # C = N (<e^2> - <e>^2) / T^2 with e = E/N; shifted by the mean for precision
    e0 = e - e.mean()
    out["specific_heat"] = _combination(lambda a, b: N * (b - a * a) / T ** 2, [e0, e0 ** 2], e0 ** 2)
    out["magnetisation"] = _mean(np.sqrt(m2))[0]
    out["mz"] = _mean(mz)[0]
    z0 = mz - mz.mean()
    out["susceptibility"] = _combination(lambda a, b: N * (b - a * a) / T, [z0, z0 ** 2], z0 ** 2)
    out["binder"] = _combination(lambda a, b: 1.0 - b / (3.0 * a * a), [m2, m2 * m2], m2)
    out["charge_density"] = _mean(np.asarray(series.charge, dtype=np.float64) / N)[0]
    return out


def scan_table(runs):
    r"""Observables of a temperature scan as columns: ``T`` and, per observable, value, error and tau.

    Parameters
    ----------
    runs : sequence of ThermalSeries
        E.g. from :func:`mag_ml.physics.measurement.temperature_scan`.

    Returns
    -------
    dict of str to ndarray (n_T,) float64
        ``"T"``, ``"acceptance"``, ``"energy_naive_error"`` (the error of
        the mean energy per spin if the measurements were independent,
        :math:`\sigma/\sqrt n`), and for each name of :data:`OBSERVABLES`
        ``name``, ``name_error``, ``name_tau`` (ready for
        :func:`mag_ml.io.netcdf.table_to_xarray` with ``dim="T"``).

    Raises
    ------
    ValueError
        No runs, or a run that :func:`thermodynamics` refuses.
    """
    runs = list(runs)
    if not runs:
        raise ValueError("runs must hold at least one ThermalSeries, got none")
    rows = [thermodynamics(r) for r in runs]
    table = {"T": np.array([r.T for r in runs]), "acceptance": np.array([r.acceptance for r in runs]),
             "energy_naive_error": np.array([np.std(r.energy / r.n_sites) / np.sqrt(r.energy.size) for r in runs])}
    for name in OBSERVABLES:
        table[name] = np.array([row[name].value for row in rows])
        table[f"{name}_error"] = np.array([row[name].error for row in rows])
        table[f"{name}_tau"] = np.array([row[name].tau for row in rows])
    return table


def scan_to_xarray(table, hamiltonian, *, shape, source="", attrs=None):
    """A :func:`scan_table` as an ``xarray.Dataset`` along ``T``, with units and the Hamiltonian as attributes.

    Parameters
    ----------
    table : dict of str to ndarray (n_T,)
        From :func:`scan_table`.
    hamiltonian : Hamiltonian
        The model of the scan.
    shape : tuple (H, W)
        Its lattice (the attribute ``lattice_shape``).
    source : str
        Where the scan comes from.
    attrs : dict, optional
        More global attributes (seed, sweeps, ...).

    Returns
    -------
    xarray.Dataset
        Coordinate ``T`` (J/k_B); per observable the value, ``_error`` (same
        unit) and ``_tau`` (measurements) with ``units`` attributes; ``acceptance``.

    Raises
    ------
    ValueError
        A table without ``T`` (see :func:`mag_ml.io.netcdf.table_to_xarray`).
    """
    if "T" not in table:
        raise ValueError("table lacks the temperatures 'T'; make it with scan_table")
    columns = {k: v for k, v in table.items() if k != "T"}
    units = {"T": "J/k_B", "acceptance": "1", "energy_naive_error": "J"}
    for name in OBSERVABLES:
        units.update({name: UNITS[name], f"{name}_error": UNITS[name], f"{name}_tau": "measurements"})
    units = {k: u for k, u in units.items() if k in columns or k == "T"}
    return table_to_xarray(columns, dim="T", coords={"T": table["T"]}, units=units, hamiltonian=hamiltonian,
                           source=source or "mag_ml temperature scan: fixed-cone Metropolis, blocking errors",
                           attrs={"lattice_shape": list(shape), **(attrs or {})})
