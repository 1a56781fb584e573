r"""Equilibrium measurements: time series of energy, magnetisation and topological charge.

:func:`measure` runs the Metropolis chain of :func:`mag_ml.physics.monte_carlo.metropolis`
(the same :class:`~mag_ml.physics.monte_carlo.MonteCarloChain`, the same random
streams): ``burn_in`` sweeps to equilibrate, during which the cone width may
adapt (:func:`~mag_ml.physics.monte_carlo.adapted_cone`, blocks of 10 sweeps,
as in :func:`~mag_ml.physics.monte_carlo.anneal`), then ``n_measure``
measurements ``thin`` sweeps apart with the cone **fixed**, so the measured
chain satisfies detailed balance.  Each measurement records the total energy
(tracked from accepted moves) and the mean spin; the Berg-Luscher charge is
measured every ``charge_thin`` sweeps (it needs the state itself).
:func:`temperature_scan` chains such runs over a list of temperatures, each
starting from the last state (a slow cooling or heating), and
:mod:`mag_ml.analysis.thermodynamics` turns the series into observables with
error bars.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from mag_ml.progress import progress_bar

from ..checks import check_int, check_memory, check_real
from .hamiltonian import Hamiltonian
from .monte_carlo import ADAPT_BLOCK, MonteCarloChain, adapted_cone, check_temperature
from .topology import topological_charge

__all__ = ["ThermalSeries", "measure", "temperature_scan", "field_cooling"]



@dataclass
class ThermalSeries:
    """Measurements of one equilibrium run (:func:`measure`).

    Attributes
    ----------
    hamiltonian : Hamiltonian
        The model sampled.
    T : float
        Temperature (units of J/k_B).
    n_sites : int
        Occupied sites N.
    thin : int
        Sweeps between measurements of energy and magnetisation.
    charge_thin : int
        Sweeps between measurements of the charge.
    delta : float
        The fixed cone width of the measurement sweeps.
    acceptance : float
        Mean acceptance of the measurement sweeps.
    energy : ndarray (n_measure,) float64
        Total energy (units of J).
    magnetisation : ndarray (n_measure, 3) float64
        Mean spin per site.
    charge : ndarray (ceil(n_measure * thin / charge_thin),) float64
        Topological charge Q of the whole lattice, every ``charge_thin`` sweeps.
    spins : ndarray (3, H, W) float64
        The last state.
    next_sweep : int
        Sweep index after the run (continue the chain with fresh numbers there).
    """

    hamiltonian: Hamiltonian
    T: float
    n_sites: int
    thin: int
    charge_thin: int
    delta: float
    acceptance: float
    energy: np.ndarray
    magnetisation: np.ndarray
    charge: np.ndarray
    spins: np.ndarray
    next_sweep: int


def measure(hamiltonian, spins, T, n_measure, *, burn_in, thin=1, charge_thin=10, delta=None, seed=0, sample=0,
            sweep_offset=0, target_acceptance=0.5, start_delta=1.0):
    """Equilibrate at temperature ``T``, then record ``n_measure`` measurements with a fixed cone.

    Parameters
    ----------
    hamiltonian : Hamiltonian
    spins : ndarray (3, H, W) float64 or tuple (H, W)
        Initial state (not modified) or a lattice shape (random start).
    T : float
        Temperature in units of J/k_B, > 0.
    n_measure : int
        Measurements, >= 16 (what the error analysis needs).
    burn_in : int
        Equilibration sweeps, >= 0, not measured.
    thin : int
        Sweeps between measurements of energy and magnetisation, >= 1
        (they come from every sweep's records at no cost).
    charge_thin : int
        Sweeps between measurements of the charge (which needs the state
        unpacked), >= 1; at least 16 charge measurements are required.
    delta : float, optional
        Fixed cone width for the whole run.  Default: adapt during burn-in
        towards ``target_acceptance`` (from ``start_delta``), then keep the
        last value fixed while measuring.
    seed, sample, sweep_offset : int
        Key and first sweep of the random stream (as in :func:`metropolis`).
    target_acceptance : float in (0, 1)
    start_delta : float
        First cone width of the adaptation, > 0.

    Returns
    -------
    ThermalSeries

    Raises
    ------
    ValueError
        Bad temperature, counts, cone width or acceptance target; bad spins,
        seed or shape (as :class:`MonteCarloChain`).
    TooLargeError
        The series would not fit in memory.

    References
    ----------
    Metropolis et al., J. Chem. Phys. 21, 1087 (1953); measurement and
    equilibration as in Landau & Binder, A Guide to Monte Carlo Simulations in
    Statistical Physics (Cambridge, 2014), Sec. 4.
    """
    T = check_temperature(T)
    n_measure = check_int(n_measure, "n_measure", minimum=16, allowed="an integer >= 16 (the error analysis needs it)")
    burn_in = check_int(burn_in, "burn_in", minimum=0)
    thin = check_int(thin, "thin", minimum=1)
    charge_thin = check_int(charge_thin, "charge_thin", minimum=1)
    if -(-n_measure * thin // charge_thin) < 16:
        raise ValueError(f"charge_thin={charge_thin} leaves fewer than 16 charge measurements in {n_measure * thin} "
                         "sweeps; lower it or measure longer")
    target_acceptance = check_real(target_acceptance, "target_acceptance", allowed="a real number in (0, 1)")
    if not 0 < target_acceptance < 1:
        raise ValueError(f"target_acceptance must lie in (0, 1), got {target_acceptance!r}")
    if delta is not None:
        delta = check_real(delta, "delta", positive=True, allowed="a positive finite cone width")
    start = check_real(start_delta, "start_delta", positive=True, allowed="a positive finite cone width")
    check_memory(72 * n_measure * thin, f"measure(n_measure={n_measure}, thin={thin})",
                 hint="the per-sweep records and series take 72 bytes a sweep: measure in several runs")
    chain = MonteCarloChain(hamiltonian, spins, seed=seed, sample=sample, sweep_offset=sweep_offset)
    cone = start if delta is None else delta
    for block in range(0, burn_in, ADAPT_BLOCK):
        m = min(ADAPT_BLOCK, burn_in - block)
        _, _, acc = chain.sweep(T, m, cone)
        if delta is None:
            cone = adapted_cone(cone, acc.sum() / (m * chain.n_sites), target_acceptance)
    total = n_measure * thin
    energy, moment, charges, accepted = [], [], [], 0
    for first in range(0, total, charge_thin):  # E and M from every sweep's records, Q from each chunk's last state
        e0, m0 = chain.energy, chain.moment
        dE, dM, acc = chain.sweep(T, min(charge_thin, total - first), cone)
        accepted += acc.sum()
        energy.append(e0 + np.cumsum(dE))
        moment.append(m0 + np.cumsum(dM, axis=0))
        charges.append(topological_charge(chain.spins, boundary=hamiltonian.boundary))
    energy = np.concatenate(energy)[thin - 1::thin]
    mag = np.concatenate(moment)[thin - 1::thin] / chain.n_sites
    charge = np.array(charges)
    return ThermalSeries(hamiltonian=hamiltonian, T=T, n_sites=chain.n_sites, thin=thin, charge_thin=charge_thin,
                         delta=float(cone), acceptance=float(accepted / (total * chain.n_sites)), energy=energy,
                         magnetisation=mag, charge=charge, spins=chain.spins, next_sweep=chain.sweep_index)


def temperature_scan(hamiltonian, spins, temperatures, n_measure, *, burn_in, thin=1, charge_thin=10, seed=0,
                     sample=0, progress=False):
    """:func:`measure` at each temperature in turn, each run starting from the last state.

    Parameters
    ----------
    hamiltonian : Hamiltonian
    spins : ndarray (3, H, W) or tuple (H, W)
        Start of the first run.
    temperatures : array_like (n_T,) float
        In the order to visit (decreasing: a slow field-cooling).
    n_measure, burn_in, thin, charge_thin, seed, sample
        As in :func:`measure`; the cone adapts during each burn-in, starting
        from the previous temperature's cone, and is fixed while measuring.
    progress : bool
        A tqdm progress bar over temperatures.

    Returns
    -------
    list of ThermalSeries
        One per temperature, in the order given.

    Raises
    ------
    ValueError
        An empty or non-1D list of temperatures, a non-positive one, or bad
        arguments of :func:`measure`.
    """
    temps = np.asarray(temperatures, dtype=np.float64)
    if temps.ndim != 1 or temps.size == 0:
        raise ValueError(f"temperatures must be a non-empty 1D list, got shape {temps.shape}")
    for k, T in enumerate(temps):
        check_temperature(T, f"temperatures[{k}]")
    out, state, sweep, cone = [], spins, 0, 1.0
    for T in progress_bar(temps, desc="temperatures", disable=not progress, leave=False):
        run = measure(hamiltonian, state, T, n_measure, burn_in=burn_in, thin=thin, charge_thin=charge_thin,
                      seed=seed, sample=sample, sweep_offset=sweep, start_delta=cone)
        out.append(run)
        state, sweep, cone = run.spins, run.next_sweep, run.delta
    return out


def field_cooling(hamiltonian, shape, fields, temperatures, n_measure, *, burn_in, thin=1, charge_thin=10, seed=0,
                  progress=False):
    """Field-cooled scans: for each field B, a :func:`temperature_scan` from a random state down ``temperatures``.

    The raw material of a (T, B) phase diagram (:func:`mag_ml.analysis.phases.phase_diagram`):
    cooling at fixed field, as in the field-cooled measurements of chiral magnets.
    Field ``k`` uses sample ``k`` of ``seed``, so the scans are independent and each
    is reproducible on its own.

    Parameters
    ----------
    hamiltonian : Hamiltonian
        Couplings J, D, K, boundary; its B is replaced by each field.
    shape : tuple (H, W)
        Lattice (two even integers).
    fields : array_like (n_B,) float
        Out-of-plane fields in units of J.
    temperatures : array_like (n_T,) float
        Decreasing temperatures of each scan (units of J/k_B).
    n_measure, burn_in, thin, charge_thin, seed
        As in :func:`measure`.
    progress : bool
        A tqdm progress bar over fields.

    Returns
    -------
    list of list of ThermalSeries
        ``[field][temperature]``.

    Raises
    ------
    TypeError
        ``hamiltonian`` is not a Hamiltonian.
    ValueError
        An empty, non-1D or non-finite list of fields; bad temperatures,
        shape or counts (as :func:`temperature_scan`).
    """
    if not isinstance(hamiltonian, Hamiltonian):
        raise TypeError(f"hamiltonian must be a mag_ml.Hamiltonian, got {type(hamiltonian).__name__}")
    fields = np.asarray(fields, dtype=np.float64)
    if fields.ndim != 1 or fields.size == 0 or not np.isfinite(fields).all():
        raise ValueError(f"fields must be a non-empty 1D list of finite fields (units of J), got {fields!r}")
    return [temperature_scan(replace(hamiltonian, B=float(B)), tuple(shape), temperatures, n_measure,
                             burn_in=burn_in, thin=thin, charge_thin=charge_thin, seed=seed, sample=k)
            for k, B in enumerate(progress_bar(fields, desc="fields", disable=not progress, leave=False))]
