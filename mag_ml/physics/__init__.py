"""Physics: the lattice model and its Monte Carlo, SI films, and the pseudo-spectral LL chain.

* :mod:`.hamiltonian`, :mod:`.lattice`, :mod:`.topology`, :mod:`.rng`: the
  classical Heisenberg model with DMI of Kwon et al. (Adv. Sci. 2021), its
  neighbour shifts, topological charge and counter-based random streams;
* :mod:`.monte_carlo`: Metropolis sampling, annealing and T = 0 relaxation;
  :mod:`.measurement`: equilibrium time series and temperature scans on it;
  :mod:`.monte_carlo_torch`: the same chain batched in torch (CPU or CUDA);
* :mod:`.micromagnetics`: SI films mapped on the lattice and their thermal
  runs (Wang et al., Adv. Sci. 2020); :mod:`.hysteresis`: field sweeps on them;
* :mod:`.pseudospectral`: the PS-LL chain (Rockwell et al., arXiv
  2312.14068); :mod:`.magnons` and :mod:`.walls`: its spin-wave and
  domain-wall protocols; :mod:`.defects`: random telegraph vacancies
  (Eagan, Copus & Iacocca, arXiv 2603.10182).

Nothing here knows about profiles, artifacts or training.  Importing this
package imports the lattice core (no torch).
"""

from .hamiltonian import Hamiltonian
from .monte_carlo import AnnealResult, AnnealSchedule, MetropolisResult, MonteCarloChain, anneal, metropolis, relax
from .rng import random_spins
from .topology import charge_density, topological_charge

__all__ = ["Hamiltonian", "AnnealSchedule", "AnnealResult", "MetropolisResult", "MonteCarloChain", "anneal",
           "metropolis", "relax", "random_spins", "charge_density", "topological_charge"]
