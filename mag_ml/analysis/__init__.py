"""Analyses of configurations and predictions; no simulation protocol, no profile, no cache.

* :mod:`.spirals`: flat spirals and skyrmions (chapter 1) and their checks;
* :mod:`.collapse`: skyrmion lattices, Fourier similarity and the collapse of
  the E-VAE (chapters 4-5);
* :mod:`.latent`: paths and barriers in the latent space (chapter 4);
* :mod:`.structure_factor`: structure factors of spin images (chapters 6-7);
* :mod:`.standard_problem`: the DMI standard problem, lattice against ODE (chapter 6);
* :mod:`.blocking` and :mod:`.thermodynamics`: error bars of Markov-chain
  averages (blocking, autocorrelation times, jackknife) and the thermodynamic
  observables of a temperature scan (chapter 2); :mod:`.phases`: the (T, B)
  phase diagram from field-cooled scans (chapter 2);
* :mod:`.defect_networks`: losses, predictions, metrics and inverse design of
  the defect networks (chapter 9).

The simulations they analyse live in :mod:`mag_ml.physics`.  Importing this
package imports :mod:`.spirals` only.
"""

from .spirals import (SpiralScan, flat_spiral, line_profile, measured_wavevector, perturb, refine_minimum,
                      rotate_in_plane, skyrmion, skyrmion_centre, skyrmion_radius, spiral_energy, spiral_scan,
                      spiral_wavevector)

__all__ = ["SpiralScan", "flat_spiral", "line_profile", "measured_wavevector", "perturb", "refine_minimum",
           "rotate_in_plane", "skyrmion", "skyrmion_centre", "skyrmion_radius", "spiral_energy", "spiral_scan",
           "spiral_wavevector"]
