"""Berg-Luscher topological charge: integers, signs, masks."""

import numpy as np
import pytest

from mag_ml import Hamiltonian, relax, topological_charge
from tests.conftest import neel_skyrmion, random_unit


def test_uniform_has_zero_charge():
    s = np.zeros((3, 8, 8))
    s[2] = 1
    assert topological_charge(s) == 0.0


@pytest.mark.parametrize("core,expected", [(-1, -1.0), (1, 1.0)])
def test_skyrmion_charge_sign(core, expected):
    s = neel_skyrmion((32, 32), radius=3.0, core=core)
    # the hand-built profile is not a minimum: relax it (B along the background)
    s, _ = relax(Hamiltonian(J=1, D=0.3, B=-0.05 * core), s)
    assert topological_charge(s) == pytest.approx(expected, abs=1e-9)


def test_random_states_have_integer_charge_on_periodic_lattice(rng):
    for _ in range(5):
        q = topological_charge(random_unit(rng, (10, 12)))
        assert q == pytest.approx(round(q), abs=1e-9)


def test_batch_and_open_boundary():
    s = neel_skyrmion((24, 24), radius=3.0)
    batch = np.stack([s, s[:, ::-1, :]])  # mirror image flips the charge
    q = topological_charge(batch)
    assert q.shape == (2,)
    assert q[0] == pytest.approx(-q[1])
    # the open-boundary sum differs from the periodic one only by the boundary plaquettes
    assert topological_charge(s, boundary="open") == pytest.approx(q[0], abs=0.1)


def test_mask_removes_plaquettes():
    s = neel_skyrmion((16, 16), radius=2.0)
    mask = np.ones((16, 16), bool)
    mask[7:9, 7:9] = False  # punch out the core
    q_masked = topological_charge(s * mask, mask=mask)
    assert abs(q_masked) < abs(topological_charge(s))


def test_bad_input():
    with pytest.raises(ValueError, match="boundary must be one of"):
        topological_charge(np.zeros((3, 4, 4)), boundary="twisted")
    with pytest.raises(ValueError, match="shape"):
        topological_charge(np.zeros((2, 4, 4)))
