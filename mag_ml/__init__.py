"""mag_ml: the helper package of the book *Machine learning for magnetic spin systems*.

The top level exposes the physics core; learning, data and plotting live in
sub-packages (``mag_ml.data``, ``mag_ml.plotting``, ``mag_ml.widgets``).
Importing it has no side effects (torch is imported only when a tensor is
passed in).
"""

from importlib.metadata import PackageNotFoundError, version

from .physics import (AnnealResult, AnnealSchedule, Hamiltonian, MetropolisResult, MonteCarloChain, anneal,
                      charge_density, metropolis, random_spins, relax, topological_charge)

try:
    __version__ = version("mag_ml")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"

__all__ = ["Hamiltonian", "AnnealSchedule", "AnnealResult", "MetropolisResult", "MonteCarloChain", "anneal",
           "metropolis", "relax", "random_spins", "charge_density", "topological_charge", "__version__"]
