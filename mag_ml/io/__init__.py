"""File formats for exchanging spin states with other simulators.

:mod:`mag_ml.io.ovf` reads and writes OVF 2.0 (OOMMF, MuMax3).  Importing this
package has no side effects.
"""

from .ovf import CHECK_VALUES, FORMATS, OVFError, read_ovf, write_ovf

__all__ = ["read_ovf", "write_ovf", "OVFError", "FORMATS", "CHECK_VALUES"]
