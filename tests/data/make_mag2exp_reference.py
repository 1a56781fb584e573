"""Writes tests/data/mag2exp_ltem_reference.npz: Lorentz TEM phase and image of mag2exp for one magnetisation.

mag2exp (ubermag's simulation of LTEM, MFM, MOKE and X-ray images) is the
field's library for image formation.  It is not a dependency of the book
(``pip install mag2exp`` brings 172 packages, 1.6 GB, about 3 minutes: the
discretisedfield / oommfc / vtk / pyvista stack); this script runs it once in
a separate environment on the state that tests/test_imaging.py rebuilds, and
the test compares :mod:`mag_ml.physics.imaging` against the stored result::

    python3 -m venv /tmp/m2e && /tmp/m2e/bin/pip install mag2exp==0.64.0
    /tmp/m2e/bin/python tests/data/make_mag2exp_reference.py
"""

from pathlib import Path

import discretisedfield as df
import mag2exp
import numpy as np

N, PIXEL, T, MS, DEFOCUS, KC = 48, 2e-9, 20e-9, 3.84e5, 50e-6, 1e-3


def bloch_skyrmion(n, radius):
    """theta(r) = 2 atan(radius / r), helicity pi / 2, core -z (the test's conftest.neel_skyrmion)."""
    y, x = np.mgrid[0:n, 0:n].astype(float)
    dy, dx = y - (n - 1) / 2, x - (n - 1) / 2
    theta = 2 * np.arctan2(radius, np.hypot(dx, dy))
    phi = np.arctan2(dy, dx) + np.pi / 2
    return np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])


spins = bloch_skyrmion(N, 6.0)  # (3, y, x)
mesh = df.Mesh(p1=(0, 0, 0), p2=(N * PIXEL, N * PIXEL, T), cell=(PIXEL, PIXEL, T))
field = df.Field(mesh, nvdim=3, value=MS * np.transpose(spins, (2, 1, 0))[:, :, None, :])  # (x, y, z, 3)
phase, _ = mag2exp.ltem.phase(field, kcx=KC, kcy=KC)
# mag2exp's df_length has the opposite sign of a propagation distance (mag_ml's defocus)
image = mag2exp.ltem.defocus_image(phase, cs=0, df_length=-DEFOCUS, voltage=300e3)
np.savez(Path(__file__).with_name("mag2exp_ltem_reference.npz"), spins=spins,
         phase=np.asarray(phase.array)[:, :, 0].T, image=np.asarray(image.array)[:, :, 0].T,
         settings=np.array([PIXEL, T, MS, DEFOCUS, KC]), version=np.array(mag2exp.__version__))
print("mag2exp", mag2exp.__version__, "phase range", np.ptp(phase.array), "image range", np.ptp(image.array))
