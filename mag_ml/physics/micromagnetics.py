r"""SI micromagnetic parameters and their finite-difference map onto the lattice core.

A thin film of thickness :math:`t`, discretised in square cells
:math:`\Delta x \times \Delta x \times t` (one cell through the thickness),
has the micromagnetic energy (SI units, :math:`\mathbf m = \mathbf M / M_s`)

.. math::

    E[\mathbf m] = t \int \mathrm d^2 r \Big[ A_{ex} |\nabla\mathbf m|^2
        - D\,\big(m_z\,\nabla\!\cdot\mathbf m - (\mathbf m\cdot\nabla)\,m_z\big)
        - K_{eff}\, m_z^2 - M_s B\, m_z \Big],
    \qquad K_{eff} = K_u - \tfrac{\mu_0}{2} M_s^2 \ \text{(thin-film demag)} .

Its finite-difference discretisation on the cell centres, with first
neighbours only, is the lattice Hamiltonian of :class:`mag_ml.Hamiltonian`

.. math::

    \mathcal H = -J\sum_{\langle ij\rangle}\mathbf S_i\cdot\mathbf S_j
        - \sum_{\langle ij\rangle}\mathbf D_{ij}\cdot(\mathbf S_i\times\mathbf S_j)
        - B_{lat}\sum_i S_i^z - K_{lat}\sum_i (S_i^z)^2,
    \qquad \mathbf D_{ij} = D_{lat}\,\hat z\times\hat r_{ij},

with the couplings (derivation below)

=============  ========================================  ===========================================
term           lattice coupling [J]                      reduced (units of J)
=============  ========================================  ===========================================
exchange       :math:`J = 2 A_{ex} t`                    1
DMI            :math:`D_{lat} = D\,\Delta x\,t`           :math:`D\,\Delta x / (2A_{ex})`
Zeeman         :math:`M_s B\,\Delta x^2 t`                :math:`M_s B\,\Delta x^2/(2A_{ex})`
anisotropy     :math:`K_{eff}\,\Delta x^2 t`              :math:`K_{eff}\,\Delta x^2/(2A_{ex})`
temperature    :math:`k_B T`                             :math:`k_B T / (2 A_{ex} t)`
=============  ========================================  ===========================================

The energy scale that makes the lattice model reduced (J = 1) is the bond
exchange :math:`J = 2A_{ex}t`; a reduced energy times this scale is joules.

Sign of the DMI: D is the constant of the energy density
:math:`-D\,(m_z\nabla\!\cdot\mathbf m - (\mathbf m\cdot\nabla)m_z)`, the
convention of Cortés-Ortuño et al. 2018 and of the lattice core; MuMax3 users
set ``Dind = -D``.  A positive SI D is a positive lattice D.

Derivation
----------
Exchange
    Neighbours a distance :math:`\Delta x` apart along x:
    :math:`\mathbf S_j = \mathbf S_i + \Delta x\,\partial_x\mathbf m + \dots`;
    unit length gives :math:`\mathbf S_i\cdot\mathbf S_j = 1 - \tfrac12
    |\mathbf S_j - \mathbf S_i|^2 \approx 1 - \tfrac{\Delta x^2}{2}
    |\partial_x\mathbf m|^2`.  One x bond and one y bond per cell of volume
    :math:`\Delta x^2 t`, so :math:`-J\sum\mathbf S_i\cdot\mathbf S_j =
    -J N_{bonds} + \tfrac{J}{2t}\int |\nabla\mathbf m|^2 \mathrm dV`, and
    :math:`J/(2t) = A_{ex}` gives :math:`J = 2A_{ex}t`.  The constant
    :math:`-J N_{bonds}` (``-2JN`` on a periodic lattice) is the reference of
    the lattice energy; :func:`micromagnetic_energy` removes it.
DMI
    For the +x bond :math:`\mathbf D_{ij} = D_{lat}\hat y`:
    :math:`-D_{lat}\hat y\cdot(\mathbf S_i\times\mathbf S_j) \approx
    -D_{lat}\Delta x\,(m_z\partial_x m_x - m_x\partial_x m_z)`; the +y bond
    (:math:`\mathbf D = -D_{lat}\hat x`) gives
    :math:`-D_{lat}\Delta x\,(m_z\partial_y m_y - m_y\partial_y m_z)`.  Per
    cell volume the sum is :math:`-\tfrac{D_{lat}}{\Delta x\,t}
    \big(m_z\nabla\!\cdot\mathbf m - (\mathbf m\cdot\nabla)m_z\big)`, so the
    density above needs :math:`D_{lat} = D\,\Delta x\,t`: SI D > 0 is lattice
    D > 0.  This module's D is that of the energy density
    :math:`-D\,(m_z\nabla\!\cdot\mathbf m - (\mathbf m\cdot\nabla)m_z)`, the
    convention of Cortés-Ortuño et al., New J. Phys. 20, 113015 (2018) and of
    the lattice core (Kwon et al. 2021).  MuMax3 (Vansteenkiste et al., AIP
    Advances 4, 107133 (2014)) writes the density as
    :math:`+D_{ind}(m_z\nabla\!\cdot\mathbf m - (\mathbf m\cdot\nabla)m_z)`,
    so MuMax3 users set ``Dind = -D`` (Cortés-Ortuño et al.'s
    :math:`D = +3\,\mathrm{mJ/m^2}` is their supplement's MuMax3 input
    ``Dind = -3e-3``).  Only the chirality depends on the sign: D > 0
    favours the cycloid :math:`\mathbf m = (\sin qx, 0, \cos qx)` with
    :math:`q > 0` (:math:`w_{DMI} = -Dq`) and skyrmions with in-plane spins
    pointing to the core (helicity pi), as the lattice core with its
    ``D > 0`` does.
Bulk DMI (``dmi="bulk"``, B20 magnets such as FeGe)
    The lattice vectors are :math:`\mathbf D_{ij} = D_{lat}\hat r_{ij}`.
    For the +x bond :math:`-D_{lat}\hat x\cdot(\mathbf S_i\times\mathbf S_j)
    \approx -D_{lat}\Delta x\,\hat x\cdot(\mathbf m\times\partial_x\mathbf m)`,
    and with the +y bond the sum per cell volume is
    :math:`+\tfrac{D_{lat}}{\Delta x\,t}\,\mathbf m\cdot(\nabla\times\mathbf m)`
    (in 2D, :math:`\partial_z = 0`): the same map :math:`D_{lat} = D\,\Delta x\,t`
    gives the density :math:`D\,\mathbf m\cdot(\nabla\times\mathbf m)`,
    MuMax3's ``Dbulk = D``.  D > 0 favours the helix
    :math:`\mathbf m = (0, -\sin qx, \cos qx)` with q > 0 (:math:`w_{DMI} = -Dq`)
    and Bloch skyrmions; spiral period, lengths and convergence are those of
    the interfacial case (tested alike).
Zeeman and anisotropy
    Local terms: the energy density times the cell volume
    :math:`\Delta x^2 t`, per cell.  ``B`` is the flux density
    :math:`\mu_0 H` in tesla along +z, so the Zeeman density is
    :math:`-\mu_0 M_s H m_z = -M_s B m_z`.
Thin-film demagnetisation (``demag="thin_film"``)
    An infinite film magnetised uniformly along :math:`\mathbf m` has the
    demagnetising field :math:`-M_s m_z\hat z` and energy density
    :math:`\tfrac{\mu_0}{2}M_s^2 m_z^2`: a hard-axis anisotropy that lowers
    :math:`K_u` to :math:`K_{eff} = K_u - \mu_0 M_s^2/2`.  This *local*
    approximation is exact for uniform states of an infinite film and good
    for textures much wider than the thickness (film thickness << exchange
    length, wall width, skyrmion size).  It neglects the volume charges
    :math:`-M_s\nabla\!\cdot\mathbf m` of Néel walls and skyrmions (they
    raise the energy of Néel walls, working against the DMI, by a relative
    amount of order thickness / wall width), the non-local stray field
    between oppositely magnetised regions (which favours stripe and bubble
    domains and enlarges skyrmions, growing with thickness), and the
    in-plane shape anisotropy near the edges of finite samples.

The lattice keeps the first neighbours only (the 5-point Laplacian and a
centred first derivative): energies of smooth textures converge to the
continuum as :math:`O(\Delta x^2)`, the flat-spiral wavevector is
:math:`|q| = \arctan(|D_{lat}|/J)/\Delta x \to |D|/(2A_{ex})` (period
:math:`4\pi A_{ex}/|D|`), and free edges of the lattice (vacancies, open
boundaries) reproduce the DMI boundary condition, in this sign convention
:math:`2A_{ex}\partial_n\mathbf m = D\,(\hat z\times\hat n)\times\mathbf m`
(Rohart and Thiaville, PRB 88, 184422 (2013)), without further input: the
missing bonds of an edge cell are the discrete form of this natural
boundary condition, and edge profiles converge as :math:`O(\Delta x^2)`
(:mod:`mag_ml.analysis.standard_problem`).  :func:`characteristic_lengths`
gives the lengths the cell must resolve.

Finite temperature
------------------
The Boltzmann weight of the film, :math:`\exp(-E/k_BT)`, is the lattice
weight :math:`\exp(-\mathcal H_{red}/T_{red})` with
:math:`T_{red} = k_BT/(2A_{ex}t)`, so the lattice core's Metropolis kernel
samples the film at a temperature in kelvin (:func:`thermal_run`,
:func:`thermal_state`).  This stands in for the stochastic LLG of MuMax3 at
300 K used by Wang et al. (Adv. Sci. 2020) for their training images: the
same distribution, without dynamics.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import scipy.constants

from ..checks import check_int, check_real
from .hamiltonian import DMI_KINDS, Hamiltonian
from .lattice import check_boundary, check_mask, check_shape
from .monte_carlo import ADAPT_BLOCK, MonteCarloChain, adapted_cone

MU_0 = scipy.constants.mu_0  #: vacuum permeability [T m / A] (CODATA, scipy.constants)
K_B = scipy.constants.k  #: Boltzmann constant [J / K] (exact)
DEMAG_KINDS = ("thin_film", None)

__all__ = ["MicromagneticParameters", "CharacteristicLengths", "to_lattice", "from_lattice",
           "temperature_to_reduced", "temperature_to_kelvin", "micromagnetic_energy", "characteristic_lengths",
           "ThermalRun", "thermal_run", "thermal_state", "MU_0", "K_B",
           "DEMAG_KINDS"]


@dataclass(frozen=True, kw_only=True)
class MicromagneticParameters:
    r"""Material, field and discretisation of a thin film, in SI units.

    Parameters
    ----------
    A_ex : float
        Exchange stiffness [J/m], > 0.
    D : float
        DMI constant [J/m^2].  Interfacial: the energy density
        :math:`-D\,(m_z\nabla\cdot\mathbf m - (\mathbf m\cdot\nabla)m_z)`,
        the convention of Cortés-Ortuño et al. 2018 and of the lattice core;
        MuMax3 users set ``Dind = -D``.  D > 0 maps to a lattice D > 0
        (helicity-pi Néel skyrmions).  Bulk: the energy density
        :math:`D\,\mathbf m\cdot(\nabla\times\mathbf m)`, MuMax3's
        ``Dbulk = D`` (Bloch skyrmions, as in B20 FeGe); module notes.
    M_s : float
        Saturation magnetisation [A/m], > 0.
    K_u : float
        Uniaxial anisotropy along z [J/m^3] (> 0 easy axis), default 0.
    B : float
        Applied flux density :math:`\mu_0 H` along +z [T], default 0.
    dx : float
        Cell size in x and y [m], > 0.
    thickness : float
        Film thickness, the cell size in z [m], > 0.
    demag : {"thin_film", None}
        ``"thin_film"``: demagnetisation as the local shape anisotropy
        :math:`-\mu_0 M_s^2/2` (module notes: approximation and limits);
        ``None``: no demagnetisation (as in the DMI standard problem).
    dmi : {"interfacial", "bulk"}
        Symmetry of the DMI (default interfacial, thin films on a heavy metal).

    Raises
    ------
    ValueError
        Naming the argument: A_ex or M_s not positive (a negative exchange
        stiffness or magnetisation is unphysical here), dx or thickness not
        positive, a non-finite value, an unknown ``demag`` or ``dmi``.

    Examples
    --------
    >>> p = MicromagneticParameters(A_ex=13e-12, D=3e-3, M_s=0.86e6, K_u=0.4e6,
    ...                             dx=1e-9, thickness=2e-9, demag=None)
    >>> H, scale = to_lattice(p)
    >>> round(H.D, 6), f"{scale:.3g} J"
    (0.115385, '5.2e-20 J')
    """

    A_ex: float
    D: float
    M_s: float
    K_u: float = 0.0
    B: float = 0.0
    dx: float
    thickness: float
    demag: str | None = "thin_film"
    dmi: str = "interfacial"

    def __post_init__(self):
        checks = {"A_ex": dict(positive=True, unit="J/m"), "D": dict(unit="J/m^2"),
                  "M_s": dict(positive=True, unit="A/m"), "K_u": dict(unit="J/m^3"), "B": dict(unit="T"),
                  "dx": dict(positive=True, unit="m"), "thickness": dict(positive=True, unit="m")}
        for name, kw in checks.items():
            object.__setattr__(self, name, check_real(getattr(self, name), name, **kw))
        if self.demag not in DEMAG_KINDS:
            raise ValueError(f"demag must be one of {DEMAG_KINDS}, got {self.demag!r}")
        if self.dmi not in DMI_KINDS:
            raise ValueError(f"dmi must be one of {DMI_KINDS}, got {self.dmi!r}")

    # -- derived quantities ---------------------------------------------------
    @property
    def K_eff(self):
        """Effective anisotropy [J/m^3]: ``K_u - mu0 M_s^2 / 2`` with thin-film demag, else ``K_u``."""
        return self.K_u - (0.5 * MU_0 * self.M_s**2 if self.demag == "thin_film" else 0.0)

    @property
    def cell_volume(self):
        """Volume of one cell ``dx^2 * thickness`` [m^3]."""
        return self.dx * self.dx * self.thickness

    @property
    def energy_scale(self):
        """Bond exchange ``J = 2 A_ex thickness`` [J], the unit of reduced energies."""
        return 2.0 * self.A_ex * self.thickness

    def as_dict(self):
        """Fields as a flat dict (artifact keys, HDF5 attributes; ``demag=None`` stays None)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d):
        """Inverse of :meth:`as_dict`; unknown keys raise TypeError."""
        return cls(**{k: (v.item() if hasattr(v, "item") else v) for k, v in d.items()})

    def replace(self, **changes):
        """A copy with some fields changed (validated again)."""
        return type(self)(**{**self.as_dict(), **changes})


def to_lattice(params, *, boundary="periodic"):
    r"""Finite-difference map of SI parameters onto the reduced lattice Hamiltonian.

    Parameters
    ----------
    params : MicromagneticParameters
    boundary : {"periodic", "open"}
        Boundary of the lattice (confined shapes: a mask of vacancies).

    Returns
    -------
    hamiltonian : Hamiltonian
        The film's DMI symmetry (``params.dmi``), reduced units: ``J = 1``,
        ``D = D dx / (2 A_ex)`` (same sign as the SI D), ``B = M_s B dx^2 / (2 A_ex)``,
        ``K = K_eff dx^2 / (2 A_ex)``.
    energy_scale : float
        ``J = 2 A_ex thickness`` [J]: reduced energy x energy_scale = joules,
        and ``T_reduced = k_B T / energy_scale``
        (:func:`temperature_to_reduced`).

    Raises
    ------
    TypeError
        If ``params`` is not a :class:`MicromagneticParameters`.
    ValueError
        Unknown ``boundary``.

    Notes
    -----
    Derivation and the sign of the DMI (energy density
    ``-D (m_z div m - (m.grad) m_z)``, the convention of Cortés-Ortuño et al.
    2018 and of the lattice core; MuMax3 users set ``Dind = -D``): module
    notes.  The lattice energy of
    a state is ``-J N_bonds`` plus the discretised continuum energy;
    :func:`micromagnetic_energy` returns the latter in joules.

    References
    ----------
    Finite-difference micromagnetics as in MuMax3 (Vansteenkiste et al., AIP
    Advances 4, 107133 (2014)) with first-neighbour stencils.
    """
    if not isinstance(params, MicromagneticParameters):
        raise TypeError(f"params must be a MicromagneticParameters, got {type(params).__name__}")
    check_boundary(boundary)
    scale = params.energy_scale
    hamiltonian = Hamiltonian(
        J=1.0,
        D=params.D * params.dx * params.thickness / scale,
        B=params.M_s * params.B * params.cell_volume / scale,
        K=params.K_eff * params.cell_volume / scale,
        dmi=params.dmi,
        boundary=boundary,
    )
    return hamiltonian, scale


def from_lattice(hamiltonian, energy_scale, *, dx, thickness, M_s, demag=None):
    """Inverse of :func:`to_lattice`: SI parameters of a reduced Hamiltonian (interfacial or bulk DMI).

    Parameters
    ----------
    hamiltonian : Hamiltonian
        Interfacial or bulk DMI, ``J > 0``.  A ``J != 1`` is allowed: the bond
        exchange in joules is then ``J * energy_scale``.
    energy_scale : float
        Joules per reduced energy unit, > 0.
    dx, thickness : float
        Cell size and film thickness [m], > 0.
    M_s : float
        Saturation magnetisation [A/m], > 0 (the lattice fixes only the
        products ``M_s B`` and ``K``).
    demag : {"thin_film", None}
        With ``"thin_film"``, ``K_u = K_eff + mu0 M_s^2 / 2``.

    Returns
    -------
    MicromagneticParameters
        ``to_lattice(from_lattice(H, s, ...))`` returns ``H`` (J scaled to 1)
        and ``s * H.J`` up to rounding.  ``D = H.D * s / (dx thickness)``
        keeps the sign of ``H.D`` (interfacial: energy density
        ``-D (m_z div m - (m.grad) m_z)``, MuMax3 users set ``Dind = -D``;
        bulk: ``D m . curl m``, MuMax3's ``Dbulk = D``), and ``dmi = H.dmi``.

    Raises
    ------
    TypeError
        If ``hamiltonian`` is not a :class:`mag_ml.Hamiltonian`.
    ValueError
        Non-positive J, energy scale or geometry.
    """
    if not isinstance(hamiltonian, Hamiltonian):
        raise TypeError(f"hamiltonian must be a mag_ml.Hamiltonian, got {type(hamiltonian).__name__}")
    if hamiltonian.J <= 0:
        raise ValueError(f"hamiltonian.J must be > 0 (ferromagnetic exchange), got {hamiltonian.J!r}")
    energy_scale = check_real(energy_scale, "energy_scale", positive=True, unit="J")
    dx = check_real(dx, "dx", positive=True, unit="m")
    thickness = check_real(thickness, "thickness", positive=True, unit="m")
    M_s = check_real(M_s, "M_s", positive=True, unit="A/m")
    if demag not in DEMAG_KINDS:
        raise ValueError(f"demag must be one of {DEMAG_KINDS}, got {demag!r}")
    J = hamiltonian.J * energy_scale  # bond exchange [J]
    volume = dx * dx * thickness
    K_eff = hamiltonian.K * energy_scale / volume
    return MicromagneticParameters(
        A_ex=J / (2.0 * thickness),
        D=hamiltonian.D * energy_scale / (dx * thickness),
        M_s=M_s,
        K_u=K_eff + (0.5 * MU_0 * M_s**2 if demag == "thin_film" else 0.0),
        B=hamiltonian.B * energy_scale / (M_s * volume),
        dx=dx,
        thickness=thickness,
        demag=demag,
        dmi=hamiltonian.dmi,
    )


def temperature_to_reduced(T, energy_scale):
    """Temperature in kelvin -> reduced lattice temperature ``k_B T / energy_scale``.

    Parameters
    ----------
    T : float or array_like
        Temperature [K], >= 0.
    energy_scale : float
        Joules per reduced unit (from :func:`to_lattice`), > 0.

    Returns
    -------
    float or ndarray
        Temperature in units of J / k_B, for :func:`mag_ml.metropolis` and
        :func:`mag_ml.anneal` with the Hamiltonian of :func:`to_lattice`.

    Raises
    ------
    ValueError
        Negative or non-finite temperature, non-positive energy scale.
    """
    energy_scale = check_real(energy_scale, "energy_scale", positive=True, unit="J")
    t = np.asarray(T, dtype=np.float64)
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError(f"T must be finite and >= 0 K, got {T!r}")
    out = K_B * t / energy_scale
    return float(out) if out.ndim == 0 else out


def temperature_to_kelvin(T_reduced, energy_scale):
    """Reduced lattice temperature -> kelvin, ``T_reduced * energy_scale / k_B``.

    Inverse of :func:`temperature_to_reduced`; same arguments and errors.
    """
    energy_scale = check_real(energy_scale, "energy_scale", positive=True, unit="J")
    t = np.asarray(T_reduced, dtype=np.float64)
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError(f"T_reduced must be finite and >= 0, got {T_reduced!r}")
    out = t * energy_scale / K_B
    return float(out) if out.ndim == 0 else out


def _bond_count(shape, mask, boundary):
    """Nearest-neighbour bonds between occupied sites, as the core counts them."""
    occ = np.ones(shape, dtype=bool) if mask is None else mask
    if boundary == "periodic":
        return int((occ & np.roll(occ, -1, axis=1)).sum() + (occ & np.roll(occ, -1, axis=0)).sum())
    return int((occ[:, :-1] & occ[:, 1:]).sum() + (occ[:-1, :] & occ[1:, :]).sum())


def micromagnetic_energy(params, spins, *, mask=None, boundary="periodic"):
    r"""Discretised micromagnetic energy of a state, in joules.

    The lattice energy of :func:`to_lattice`'s Hamiltonian times the energy
    scale, plus ``J N_bonds`` so that the uniform state has zero exchange
    energy as in the continuum: the finite-difference approximation of
    :math:`t\int[A_{ex}|\nabla\mathbf m|^2 + w_{DMI} - K_{eff}m_z^2 - M_s B m_z]\,\mathrm d^2r`.

    Parameters
    ----------
    params : MicromagneticParameters
    spins : ndarray, shape (3, H, W), float
        Unit vectors on cell centres (row y, column x); 0 on vacancies.
    mask : ndarray of bool, shape (H, W), optional
        Occupied cells.
    boundary : {"periodic", "open"}

    Returns
    -------
    float
        Energy [J].

    Raises
    ------
    ValueError
        Bad spins, mask or boundary.
    """
    hamiltonian, scale = to_lattice(params, boundary=boundary)
    spins = np.asarray(spins)
    mask = check_mask(mask, spins.shape[-2:])
    e = hamiltonian.energy(spins, mask)
    return float((e + hamiltonian.J * _bond_count(spins.shape[-2:], mask, boundary)) * scale)


@dataclass(frozen=True)
class CharacteristicLengths:
    """Lengths of a thin film [m] and their ratios to the cell size (see :func:`characteristic_lengths`).

    Attributes
    ----------
    exchange_length : float
        ``sqrt(2 A_ex / (mu0 M_s^2))``.
    wall_width : float
        Bloch parameter ``sqrt(A_ex / K_eff)`` (inf when ``K_eff <= 0``).
    dmi_length : float
        ``2 A_ex / |D|``: the flat-spiral wavelength is ``2 pi`` times it
        (inf when D = 0).
    D_critical : float
        ``4 sqrt(A_ex K_eff) / pi`` [J/m^2]: above it, at B = 0, walls have
        negative energy and the spiral replaces the uniform state (nan when
        ``K_eff <= 0``).
    cell_ratios : dict
        ``dx`` over each length; the discretisation is accurate when these
        are well below 1 (e.g. < 0.5).
    """

    exchange_length: float
    wall_width: float
    dmi_length: float
    D_critical: float
    cell_ratios: dict = field(default_factory=dict)


def characteristic_lengths(params):
    """Exchange length, wall width and DMI length of ``params``, and ``dx`` relative to them.

    Parameters
    ----------
    params : MicromagneticParameters

    Returns
    -------
    CharacteristicLengths

    Notes
    -----
    The lattice map is a good finite-difference model only when the cell
    resolves these lengths; in reduced units ``|D_lat| / J = dx / dmi_length``
    and the lattice spiral wavevector ``atan(dx / dmi_length) / dx`` deviates
    from the continuum ``1 / dmi_length`` by ``(dx / dmi_length)^2 / 3``
    relative.
    """
    if not isinstance(params, MicromagneticParameters):
        raise TypeError(f"params must be a MicromagneticParameters, got {type(params).__name__}")
    l_ex = math.sqrt(2.0 * params.A_ex / (MU_0 * params.M_s**2))
    wall = math.sqrt(params.A_ex / params.K_eff) if params.K_eff > 0 else math.inf
    l_dmi = 2.0 * params.A_ex / abs(params.D) if params.D != 0 else math.inf
    d_c = 4.0 * math.sqrt(params.A_ex * params.K_eff) / math.pi if params.K_eff > 0 else math.nan
    ratios = {"exchange_length": params.dx / l_ex, "wall_width": params.dx / wall,
              "dmi_length": params.dx / l_dmi}
    return CharacteristicLengths(l_ex, wall, l_dmi, d_c, ratios)


@dataclass
class ThermalRun:
    """Outcome of :func:`thermal_run`.

    Attributes
    ----------
    spins : ndarray (3, H, W) float64
        Final snapshot (unit vectors, 0 on vacancies).
    magnetisation : ndarray (n_sweeps, 3) float64
        Mean spin per occupied cell after each sweep at ``T`` (empty at T = 0).
    n_equilibrium : int
        The last ``n_equilibrium`` rows of ``magnetisation`` come from a
        Metropolis chain with a fixed cone width (exact Boltzmann sampling):
        average over these.
    T_reduced : float
        ``k_B T / (2 A_ex t)``, the temperature in units of the bond exchange.
    T_hot : float
        Reduced temperature the anneal started from (``T_reduced`` when
        there was no anneal).
    hamiltonian : Hamiltonian
        The reduced lattice Hamiltonian of :func:`to_lattice`.
    energy_scale : float
        ``2 A_ex t`` [J].
    delta : float
        Cone width of the proposal at the end (the adapted one unless fixed):
        pass it as ``delta`` to continue at the same temperature with a fixed
        cone (e.g. a field sweep).
    snapshots : ndarray (n_snapshots, 3, H, W) or None
        States spread evenly over the anneal and the sweeps at ``T``.
    snapshot_temperatures : ndarray (n_snapshots,) or None
        Their temperatures [K].
    """

    spins: np.ndarray
    magnetisation: np.ndarray
    n_equilibrium: int
    T_reduced: float
    T_hot: float
    hamiltonian: Hamiltonian
    energy_scale: float
    delta: float
    snapshots: np.ndarray | None = None
    snapshot_temperatures: np.ndarray | None = None

    @property
    def mean_magnetisation(self):
        """Thermal average of the mean spin, ndarray (3,): the last ``n_equilibrium`` sweeps (final state at T = 0)."""
        if self.n_equilibrium == 0:
            occupied = np.any(self.spins != 0, axis=0)
            return self.spins[:, occupied].mean(axis=1)
        return self.magnetisation[-self.n_equilibrium:].mean(axis=0)


def thermal_run(params, shape, T, *, seed=0, sample=0, spins=None, n_anneal=None, n_sweeps=200,
                boundary="periodic", mask=None, delta=None, n_snapshots=0):
    r"""Finite-temperature Monte Carlo of an SI film: anneal to ``T``, then sample at ``T``.

    The film's discretised energy (:func:`to_lattice`) over :math:`k_BT` is
    the reduced lattice energy over :math:`T_{red} = k_BT/(2A_{ex}t)`, so
    the Boltzmann distribution of the film is sampled by the lattice core's
    Metropolis chain: one :class:`mag_ml.MonteCarloChain` (the engine of
    :func:`mag_ml.metropolis` and :func:`mag_ml.anneal`) for the whole run,
    driven block by block.  Without ``spins`` the chain starts from random
    spins (infinite temperature) and cools geometrically in blocks of 10
    sweeps from ``T_hot`` (reduced) down to ``T_red``, with
    ``T_hot = max(1.5 sqrt(1 + D_lat^2), T_red)``, above the ordering
    (spiral/skyrmion) crossover of the lattice; the cone width of the
    proposal adapts between blocks as in :func:`mag_ml.anneal`.  Then
    ``n_sweeps`` sweeps at ``T``: with ``delta=None`` the cone width keeps
    adapting during the first half (thermalisation) and is frozen for the
    second half, which is therefore an exact Metropolis chain
    (``n_equilibrium`` sweeps).  At ``T = 0`` the anneal ends at
    ``T_hot / 100`` and :meth:`mag_ml.MonteCarloChain.relax` (:func:`mag_ml.relax`)
    takes the state to the nearest metastable minimum.

    Stands in for the stochastic LLG at 300 K of MuMax3 used by Wang et al.
    (Adv. Sci. 2020, arXiv 1908.05829, Methods) to make their training
    images: Monte Carlo samples the same Boltzmann distribution of the same
    energy but has no dynamics (no precession, damping or time scale), so
    snapshots are thermal states, not states after a given time.  Which
    metastable states (skyrmion counts, labyrinth patterns) a finite run
    reaches depends on the cooling, as it depends on the relaxation time in
    a stochastic LLG run.

    Parameters
    ----------
    params : MicromagneticParameters
        Film, field and cells (``dx``, ``thickness``).
    shape : tuple (H, W)
        Lattice shape in cells, two even integers.
    T : float
        Temperature [K], >= 0.
    seed, sample : int
        The random stream (initial state and every sweep) depends only on
        (seed, sample): sample i of a dataset is reproducible on its own.
    spins : ndarray (3, H, W), optional
        Initial state (not modified) instead of random spins, e.g. the last
        state of a field sweep.
    n_anneal : int, optional
        Anneal sweeps; default 1000 from a random start and 0 when
        ``spins`` is given (continuing from a state keeps its history).
    n_sweeps : int
        Sweeps at ``T`` (ignored at T = 0), default 200.
    boundary : {"periodic", "open"}
    mask : ndarray of bool (H, W), optional
        Occupied cells (vacancies carry no moment).
    delta : float, optional
        Fixed cone width of the proposal (no adaptation); ``None`` adapts.
        With ``n_anneal=0`` and a fixed delta, the result equals
        ``mag_ml.metropolis(H, spins, T_red, n_sweeps, seed=seed,
        sample=sample, delta=delta)``.
    n_snapshots : int
        States to keep for animations, spread over the whole run.

    Returns
    -------
    ThermalRun

    Raises
    ------
    ValueError
        Naming the argument: negative or non-finite ``T``, a shape that is
        not two even integers, ``spins`` or ``mask`` of another shape,
        negative sweep counts, ``n_sweeps = 0`` at T > 0, bad seeds.
    TypeError
        If ``params`` is not a :class:`MicromagneticParameters`.
    """
    hamiltonian, scale = to_lattice(params, boundary=boundary)
    shape = check_shape(shape, name="shape")
    T = check_real(T, "T", nonneg=True, unit="K")
    t_red = temperature_to_reduced(T, scale)
    if spins is None:
        n_anneal = 1000 if n_anneal is None else n_anneal
    else:
        spins = np.asarray(spins, dtype=np.float64)
        if spins.shape != (3, *shape):
            raise ValueError(f"spins must have shape (3, {shape[0]}, {shape[1]}) like shape, got {spins.shape}")
        n_anneal = 0 if n_anneal is None else n_anneal
    n_anneal = check_int(n_anneal, "n_anneal", minimum=0)
    n_sweeps = check_int(n_sweeps, "n_sweeps", minimum=0)
    if t_red > 0 and n_sweeps == 0:
        raise ValueError("n_sweeps must be >= 1 at T > 0")
    if delta is not None:
        delta = check_real(delta, "delta", positive=True)

    t_hot = max(1.5 * math.hypot(1.0, hamiltonian.D), t_red)
    t_end = t_red if t_red > 0 else t_hot / 100
    n_blocks = -(-n_anneal // ADAPT_BLOCK)
    anneal_temps = np.geomspace(t_hot, t_end, n_blocks) if n_blocks else np.empty(0)
    sample_temps = np.full(-(-n_sweeps // ADAPT_BLOCK) if t_red > 0 else 0, t_red)
    temps = np.concatenate([anneal_temps, sample_temps])
    n_adapt = n_blocks + len(sample_temps) // 2  # blocks whose acceptance updates the cone
    snap_at = set(np.linspace(0, len(temps) - 1, n_snapshots).round().astype(int)) if n_snapshots else set()

    step = delta if delta is not None else (1.0 if n_blocks else 0.5)
    remaining = [min(ADAPT_BLOCK, n_anneal - ADAPT_BLOCK * i) for i in range(n_blocks)]
    remaining += [min(ADAPT_BLOCK, n_sweeps - ADAPT_BLOCK * i) for i in range(len(sample_temps))]
    # one chain for the whole run; a shape starts it from random_spins(shape, seed, sample)
    chain = MonteCarloChain(hamiltonian, shape if spins is None else spins, mask=mask, seed=seed, sample=sample)
    m_history, snapshots = [], []
    for i, (t, m) in enumerate(zip(temps, remaining)):
        moment = chain.moment
        _, dM, accepted = chain.sweep(float(t), m, step)
        if i >= n_blocks:
            m_history.append((moment + np.cumsum(dM, axis=0)) / chain.n_sites)
        if delta is None and i < n_adapt:
            step = adapted_cone(step, accepted.sum() / (m * chain.n_sites))
        if i in snap_at:
            snapshots.append(chain.spins)
    if t_red == 0:
        chain.relax()
        if snapshots:
            snapshots[-1] = chain.spins
    magnetisation = np.concatenate(m_history) if m_history else np.empty((0, 3))
    # sweeps at T with a frozen cone: all of them for a fixed delta, else those after the adapting blocks
    n_equilibrium = len(magnetisation) if delta is not None else sum(remaining[n_adapt:])
    return ThermalRun(
        spins=chain.spins, magnetisation=magnetisation, n_equilibrium=int(n_equilibrium), T_reduced=t_red,
        T_hot=float(t_hot if n_blocks else t_red), hamiltonian=hamiltonian, energy_scale=scale,
        delta=float(step), snapshots=np.stack(snapshots) if snapshots else None,
        snapshot_temperatures=(temperature_to_kelvin(temps[sorted(snap_at)], scale) if snapshots else None),
    )


def thermal_state(params, shape, T, *, seed=0, sample=0, spins=None, n_anneal=None, n_sweeps=200,
                  boundary="periodic", mask=None):
    """A thermal snapshot of an SI film at temperature ``T``: :func:`thermal_run`'s final state.

    The training images of Wang et al. (Adv. Sci. 2020): MuMax3's stochastic
    LLG at 300 K there, Monte Carlo sampling of the same Boltzmann
    distribution here (:func:`thermal_run`, notes).

    Parameters
    ----------
    params : MicromagneticParameters
    shape : tuple (H, W)
        Two even integers (cells).
    T : float
        Temperature [K], >= 0 (T = 0: anneal, then relax).
    seed, sample : int
        Sample i's state depends only on (seed, sample).
    spins : ndarray (3, H, W), optional
        Start from this state (field sweeps); then no anneal by default.
    n_anneal : int, optional
        Anneal sweeps (default 1000 from random spins, 0 from ``spins``).
    n_sweeps : int
        Metropolis sweeps at ``T``.
    boundary : {"periodic", "open"}
    mask : ndarray of bool (H, W), optional

    Returns
    -------
    ndarray (3, H, W) float64
        Unit vectors (row y, column x), 0 on vacancies.

    Raises
    ------
    ValueError, TypeError
        As :func:`thermal_run` (negative T, bad shape, mismatched spins).
    """
    return thermal_run(params, shape, T, seed=seed, sample=sample, spins=spins, n_anneal=n_anneal,
                       n_sweeps=n_sweeps, boundary=boundary, mask=mask).spins
