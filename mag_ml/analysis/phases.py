r"""The (T, B) phase diagram of the 2D chiral magnet from field-cooled Monte Carlo scans.

Each point (T, B) of :func:`mag_ml.physics.measurement.field_cooling` is
classified from three measurements:

* the **structure factor** :math:`S_z(q)` of the last state
  (:func:`mag_ml.analysis.structure_factor.structure_factor`): a peak
  :math:`S_\text{peak} \ge` :data:`MODULATION_MIN` at :math:`q > 0` means a
  modulated (spiral or skyrmion) texture; uncorrelated spins give
  :math:`S_z \approx 1/3` at every q;
* the **charge density** :math:`-\langle Q\rangle/N` in units of the density
  of the ideal triangular skyrmion lattice built from three spirals of
  wavevector :math:`q^* = \arctan(D/J)` (one skyrmion per cell of area
  :math:`8\pi^2/(\sqrt3\,q^{*2})`, 537 sites for D = 0.3 J): a modulated
  state at :data:`SKYRMION_FRACTION_MIN` of that density or more is a
  skyrmion lattice;
* the **magnetisation** :math:`\langle m_z\rangle`: any other state above
  :data:`FERROMAGNET_MZ_MIN` is a (field-polarised) ferromagnet, possibly
  with isolated skyrmions; below it a modulated state is a spiral (possibly
  with a few skyrmions) and an unmodulated one a paramagnet.

The **energy** decides what is stable at the lowest temperature: the last
state of each field is relaxed at T = 0 (:func:`mag_ml.physics.monte_carlo.relax`)
and compared with the uniform state (:math:`E/N = -2J - B` on a periodic lattice
without anisotropy).  A textured
state above it is only metastable (the ferromagnet is the ground state).

Zero-temperature reference (Bogdanov & Hubert, J. Magn. Magn. Mater. 138,
255 (1994); for this lattice model Han et al., Phys. Rev. B 82, 094429
(2010)): spiral, then skyrmion lattice from :data:`ZERO_T_BOUNDARIES` ``[0]``
D^2/J, then the ferromagnet above ``[1]`` D^2/J.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields as dataclass_fields

import numpy as np

from ..physics.monte_carlo import relax
from .spirals import spiral_wavevector
from .structure_factor import structure_factor
from .thermodynamics import thermodynamics

__all__ = ["PHASES", "MODULATION_MIN", "SKYRMION_FRACTION_MIN", "FERROMAGNET_MZ_MIN", "ZERO_T_BOUNDARIES",
           "skyrmion_cell_area", "classify", "PhaseDiagram", "phase_diagram"]

#: Phase names, indexed by the codes of :attr:`PhaseDiagram.phase`.
PHASES = ("paramagnet", "ferromagnet", "spiral", "skyrmion lattice")
#: Smallest S_z peak (q > 0) of a modulated texture: uncorrelated spins give 1/3, the paramagnet near ordering
#: stays below about 6 on the 48 x 48 lattice of the quick profile (a long-range peak grows with N).
MODULATION_MIN = 8.0
#: Smallest skyrmion density, in units of the ideal lattice's, of a skyrmion lattice.
SKYRMION_FRACTION_MIN = 0.5
#: Smallest <m_z> of a field-polarised ferromagnet.
FERROMAGNET_MZ_MIN = 0.5
#: Zero-temperature phase boundaries B / (D^2/J) of the 2D chiral magnet: spiral -> skyrmion lattice, skyrmion
#: lattice -> ferromagnet (about 0.2 and 0.8; Han et al., Phys. Rev. B 82, 094429 (2010)).
ZERO_T_BOUNDARIES = (0.2, 0.8)
_ENERGY_TOL = 1e-9  # J per spin: a relaxed state this close to the uniform one is the uniform state


def skyrmion_cell_area(J=1.0, D=0.3):
    """Sites per skyrmion in the ideal triangular lattice of three spirals of wavevector atan(D/J).

    The lattice constant is ``a = 4 pi / (sqrt(3) q*)``, the cell area
    ``sqrt(3) a^2 / 2 = 8 pi^2 / (sqrt(3) q*^2)`` (537 sites for D = 0.3 J).

    Raises
    ------
    ValueError
        J not positive, or D zero or not finite (no spiral).
    """
    q = spiral_wavevector(J, D)
    if q == 0:
        raise ValueError(f"D must be nonzero (no spiral, no skyrmion lattice), got {D!r}")
    return 8 * np.pi ** 2 / (np.sqrt(3) * q ** 2)


def classify(s_peak, skyrmion_fraction, mz):
    """Phase code (index into :data:`PHASES`) from the structure-factor peak, skyrmion fraction and <m_z>.

    Parameters
    ----------
    s_peak, skyrmion_fraction, mz : array_like float
        Broadcast together; see the module notes for the thresholds.

    Returns
    -------
    ndarray of int64
    """
    s_peak, frac, mz = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in (s_peak, skyrmion_fraction, mz)))
    modulated = s_peak >= MODULATION_MIN
    polarised = mz >= FERROMAGNET_MZ_MIN
    return np.select([modulated & (frac >= SKYRMION_FRACTION_MIN), polarised, modulated], [3, 1, 2], 0).astype(np.int64)


@dataclass
class PhaseDiagram:
    """A (T, B) grid of field-cooled measurements and their phases.

    Attributes
    ----------
    fields : ndarray (n_B,)
        B in units of J.
    temperatures : ndarray (n_T,)
        T in units of J/k_B, in the (decreasing) order of the scans.
    J, D : float
        Couplings (units of J).
    energy, energy_error, mz, mz_error, charge_density, charge_density_error : ndarray (n_B, n_T)
        Observables with blocking errors (:func:`mag_ml.analysis.thermodynamics.thermodynamics`).
    skyrmion_fraction : ndarray (n_B, n_T)
        ``-<Q>/N`` times :func:`skyrmion_cell_area`.
    s_peak, q_peak : ndarray (n_B, n_T)
        Height and wavenumber (radians per site) of the S_z peak of the last state.
    phase : ndarray (n_B, n_T) int64
        Index into :data:`PHASES`.
    states : ndarray (n_B, n_T, 3, H, W) float64
        Last state of each point.
    relaxed_energy, uniform_energy : ndarray (n_B,)
        Energy per spin of the lowest-temperature state relaxed at T = 0, and
        of the uniform +z state (``-2J - B - K`` on a periodic lattice).
    """

    fields: np.ndarray
    temperatures: np.ndarray
    J: float
    D: float
    energy: np.ndarray
    energy_error: np.ndarray
    mz: np.ndarray
    mz_error: np.ndarray
    charge_density: np.ndarray
    charge_density_error: np.ndarray
    skyrmion_fraction: np.ndarray
    s_peak: np.ndarray
    q_peak: np.ndarray
    phase: np.ndarray
    states: np.ndarray
    relaxed_energy: np.ndarray
    uniform_energy: np.ndarray

    def as_arrays(self):
        """Every attribute as a dict of arrays (``J`` and ``D`` 0-d), e.g. for :func:`mag_ml.files.save_npz`."""
        return {k: np.asarray(v) for k, v in asdict(self).items()}

    @classmethod
    def from_arrays(cls, arrays):
        """Inverse of :meth:`as_arrays`.

        Raises
        ------
        KeyError
            An attribute is missing (a file of another layout).
        ValueError
            Arrays whose shapes do not fit one (n_B, n_T) grid.
        """
        names = [f.name for f in dataclass_fields(cls)]
        missing = [n for n in names if n not in arrays]
        if missing:
            raise KeyError(f"phase diagram arrays lack {missing}")
        d = {n: np.asarray(arrays[n]) for n in names}
        d["J"], d["D"] = float(d["J"]), float(d["D"])
        grid = (d["fields"].size, d["temperatures"].size)
        bad = [n for n in ("energy", "mz", "charge_density", "phase") if d[n].shape != grid]
        if bad or d["states"].shape[:2] != grid:
            raise ValueError(f"phase diagram arrays do not fit a {grid} grid: {bad or ['states']}")
        return cls(**d)

    @property
    def field_unit(self):
        """D^2/J, the natural field unit of the chiral magnet (units of J)."""
        return self.D ** 2 / self.J

    def metastable(self):
        """Fields whose relaxed lowest-T texture lies above the uniform state: ndarray (n_B,) bool.

        A state that relaxed to the uniform state itself (equal to 1e-9 J per spin) is not metastable.
        """
        return self.relaxed_energy > self.uniform_energy + _ENERGY_TOL

    def low_temperature_sequence(self):
        """Phases at the lowest temperature with growing field, repeats merged: e.g. ``["spiral", "skyrmion lattice",
        "ferromagnet"]``, the zero-temperature sequence of the 2D chiral magnet."""
        low = int(np.argmin(self.temperatures))
        codes = self.phase[np.argsort(self.fields), low]
        return [PHASES[c] for k, c in enumerate(codes) if k == 0 or c != codes[k - 1]]

    def boundaries(self):
        """Low-temperature boundaries in units of D^2/J, from the lowest-T column and the energies.

        Returns
        -------
        dict
            ``"skyrmion_onset"``: the midpoint between the last field below
            the first skyrmion lattice and that field (NaN if none);
            ``"ferromagnet_onset"``: where the relaxed texture's energy
            crosses the uniform state's, linearly interpolated between the
            fields that bracket it (NaN if it never does).
        """
        b = self.fields / self.field_unit
        sk = np.flatnonzero(self.phase[:, -1] == 3)
        onset = np.nan
        if sk.size and sk[0] > 0:
            onset = 0.5 * (b[sk[0] - 1] + b[sk[0]])
        gap = self.relaxed_energy - self.uniform_energy
        up = np.flatnonzero((gap[:-1] <= 0) & (gap[1:] > _ENERGY_TOL))
        fm = np.nan
        if up.size:
            k = up[0]
            fm = b[k] + (b[k + 1] - b[k]) * (-gap[k]) / (gap[k + 1] - gap[k])
        return {"skyrmion_onset": float(onset), "ferromagnet_onset": float(fm)}


def phase_diagram(scans, fields, *, relax_tol=1e-6):
    """Classify field-cooled scans into a :class:`PhaseDiagram`.

    Parameters
    ----------
    scans : list of list of ThermalSeries
        From :func:`mag_ml.physics.measurement.field_cooling`: ``[field][temperature]``,
        one temperature list for all fields.
    fields : array_like (n_B,)
        The fields of the scans (units of J).
    relax_tol : float
        Tolerance of the T = 0 relaxation of each field's last state.

    Returns
    -------
    PhaseDiagram

    Raises
    ------
    ValueError
        Scans and fields of different lengths, scans over different
        temperatures, or series the error analysis refuses.
    """
    fields = np.asarray(fields, dtype=np.float64)
    if len(scans) != fields.size or not len(scans):
        raise ValueError(f"scans must hold one temperature scan per field: {len(scans)} scans, {fields.size} fields")
    temps = np.array([r.T for r in scans[0]])
    if any(len(s) != temps.size or not np.allclose([r.T for r in s], temps) for s in scans):
        raise ValueError("scans must all run over the same temperatures")
    n_b, n_t = fields.size, temps.size
    keys = ("energy", "mz", "charge_density")
    values = {k: np.empty((n_b, n_t)) for k in keys}
    errors = {k: np.empty((n_b, n_t)) for k in keys}
    s_peak, q_peak = np.empty((n_b, n_t)), np.empty((n_b, n_t))
    states = np.stack([np.stack([r.spins for r in scan]) for scan in scans])
    J, D = scans[0][0].hamiltonian.J, scans[0][0].hamiltonian.D
    area = skyrmion_cell_area(J, D)
    relaxed, uniform = np.empty(n_b), np.empty(n_b)
    for i, scan in enumerate(scans):
        for j, run in enumerate(scan):
            obs = thermodynamics(run)
            for k in keys:
                values[k][i, j], errors[k][i, j] = obs[k].value, obs[k].error
            q, S = structure_factor(run.spins, 1.0, component="z")
            m = int(np.argmax(S[1:])) + 1
            s_peak[i, j], q_peak[i, j] = S[m], q[m]
        last = scan[-1]
        state, _ = relax(last.hamiltonian, last.spins, tol=relax_tol)
        relaxed[i] = last.hamiltonian.energy(state) / last.n_sites
        up = np.zeros_like(state)
        up[2] = 1.0
        uniform[i] = last.hamiltonian.energy(up) / last.n_sites  # -2J - B - K on a periodic lattice
    fraction = -values["charge_density"] * area
    return PhaseDiagram(fields=fields, temperatures=temps, J=J, D=D, energy=values["energy"],
                        energy_error=errors["energy"], mz=values["mz"], mz_error=errors["mz"],
                        charge_density=values["charge_density"], charge_density_error=errors["charge_density"],
                        skyrmion_fraction=fraction, s_peak=s_peak, q_peak=q_peak,
                        phase=classify(s_peak, fraction, values["mz"]), states=states, relaxed_energy=relaxed,
                        uniform_energy=uniform)
