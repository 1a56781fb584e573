"""File formats for exchanging spin states with other simulators.

:mod:`mag_ml.io.ovf` reads OVF 1.0 and OVF 2.0 (OOMMF, MuMax3) and writes
either.  Importing this package has no side effects.
"""

from .ovf import CHECK_VALUES, FORMATS, METRES_PER_MESHUNIT, VERSIONS, OVFError, read_ovf, write_ovf

__all__ = ["read_ovf", "write_ovf", "OVFError", "FORMATS", "VERSIONS", "CHECK_VALUES", "METRES_PER_MESHUNIT"]
