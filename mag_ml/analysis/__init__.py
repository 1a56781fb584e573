"""Analysis of spin configurations: chiral textures (spirals, skyrmions) and their checks.

Importing this package runs nothing; :mod:`mag_ml.analysis.spirals` holds the
flat-spiral and skyrmion helpers used by chapter 1 of the book.
"""

from .spirals import (SpiralScan, flat_spiral, line_profile, measured_wavevector, perturb, refine_minimum,
                      rotate_in_plane, skyrmion, skyrmion_centre, skyrmion_radius, spiral_energy, spiral_scan,
                      spiral_wavevector)

__all__ = ["SpiralScan", "flat_spiral", "line_profile", "measured_wavevector", "perturb", "refine_minimum",
           "rotate_in_plane", "skyrmion", "skyrmion_centre", "skyrmion_radius", "spiral_energy", "spiral_scan",
           "spiral_wavevector"]
