import numpy as np
import pytest


def neel_skyrmion(shape, radius, core=-1.0, centre=None, helicity=np.pi):
    """Hand-built skyrmion, polar angle theta(r) = 2 atan(radius / r) about ``centre``.

    ``core = -1``: core along -z in a +z background; ``core = +1`` is its time
    reverse -S.  Helicity pi (in-plane spins pointing to the core) is the chirality
    that interfacial DMI with D > 0 favours.  Returns (3, H, W) float64.
    """
    h, w = shape
    cy, cx = centre if centre is not None else ((h - 1) / 2, (w - 1) / 2)
    y, x = np.mgrid[0:h, 0:w].astype(float)
    dy, dx = y - cy, x - cx
    r = np.hypot(dx, dy)
    theta = 2 * np.arctan2(radius, r)  # pi at the core, 0 far away
    phi = np.arctan2(dy, dx) + helicity
    s = np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)])
    return s if core < 0 else -s


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def random_unit(rng, shape):
    v = rng.normal(size=(3, *shape))
    return v / np.linalg.norm(v, axis=0)
