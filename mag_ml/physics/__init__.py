"""Physics core: Hamiltonian, topology, counter-based RNG, Monte Carlo."""

from .hamiltonian import Hamiltonian
from .monte_carlo import AnnealResult, AnnealSchedule, MetropolisResult, anneal, metropolis, relax
from .rng import random_spins
from .topology import charge_density, topological_charge

__all__ = ["Hamiltonian", "AnnealSchedule", "AnnealResult", "MetropolisResult", "anneal", "metropolis",
           "relax", "random_spins", "charge_density", "topological_charge"]
