"""Depinning of a domain wall from cut vacancies under a ramped field: the protocol against physics, the dataset."""

import numpy as np
import pytest

from mag_ml.chapters.defects import (defect_split, depinning_dataset_spec, depinning_record, load_depinning_dataset,
                                     train_depinning_network, write_depinning_dataset)
from mag_ml.physics.pseudospectral import PSLLChain, uniform_state
from mag_ml.physics.walls import (analytic_wall_width, depinning_ensemble, depinning_field, free_wall_detection_field,
                                  switching_field)

MAT = dict(A_ex=1e-11, M_s=1e6, K_u=5e5)
A = 0.5
DELTA = analytic_wall_width(1e-11, 5e5)


def chain(n, occupied=None, **kw):
    return PSLLChain(n, A, **MAT, occupied=occupied, **kw)


def two_vacancies(n):
    occ = np.ones(n, dtype=bool)
    occ[[n // 4, 3 * n // 4]] = False
    return occ


def test_defect_free_wall_moves_at_any_field():
    # no pinning in a defect-free chain: the walls move at v = alpha gamma Delta B / (1 + alpha^2) from B = 0 on,
    # so the field at which the wall has moved by Delta falls as sqrt(ramp rate), as the 1D wall model says
    fields = []
    for rate in (4e-3, 1e-3):
        b = depinning_field(chain(128), ramp_rate=rate).fields[0]
        expected = free_wall_detection_field(ramp_rate=rate, distance=DELTA, alpha=0.5, width=DELTA)
        assert b == pytest.approx(expected, rel=0.03)
        fields.append(b)
    assert fields[0] / fields[1] == pytest.approx(2.0, rel=0.03)
    assert fields[1] < 0.2 * switching_field(5e5, 1e6, 1.0)


def test_single_cut_vacancy_pins_until_the_segment_switches():
    # one cut vacancy under each wall: a finite depinning field that falls as the ramp slows, towards the
    # Stoner-Wohlfarth field of the decoupled segment (overshoot ~ rate^(2/3): delayed saddle-node passage)
    rates = (8e-3, 4e-3, 2e-3)
    b = np.array([depinning_field(chain(32, two_vacancies(32)), ramp_rate=r).fields[0] for r in rates])
    sw = switching_field(5e5, 1e6, 1.0)
    assert np.all(np.diff(b) < 0) and np.all(b > sw)
    limit = b[2] - (b[1] - b[2]) / (2 ** (2 / 3) - 1)  # Richardson extrapolation to rate -> 0
    assert limit == pytest.approx(sw, rel=0.01)
    # the overshoot scales as rate^(2/3)
    assert (b[0] - sw) / (b[1] - sw) == pytest.approx(2 ** (2 / 3), rel=0.1)


def test_depinning_is_reproducible_and_blocks_are_independent():
    occ = two_vacancies(32)
    one = depinning_field(chain(32, occ), ramp_rate=8e-3)
    again = depinning_field(chain(32, occ), ramp_rate=8e-3)
    assert one.fields.tolist() == again.fields.tolist() and one.x0.tolist() == again.x0.tolist()
    both = depinning_field(chain(64, np.concatenate([occ, occ]), blocks=2), ramp_rate=8e-3)
    assert both.fields == pytest.approx(np.repeat(one.fields, 2), rel=1e-9)
    assert one.relaxed and one.x0[0] == pytest.approx((32 // 4 + 0.5) * A, abs=A / 2)  # at the vacancy


def test_telegraph_chain_depins_at_the_single_vacancy_field():
    # every segment between cut vacancies is a free macrospin: the depinning field does not depend on (sigma, tau)
    single = depinning_field(chain(64, two_vacancies(64)), ramp_rate=8e-3).fields[0]
    for sigma, tau in ((2.0, 1.0), (16.0, 8.0)):
        res = depinning_ensemble(chain(64), sigma, tau, n_realisations=3, seed=1, ramp_rate=8e-3)
        assert np.all(np.isfinite(res.fields)) and np.all(np.isfinite(res.x0))
        assert res.fields == pytest.approx(np.full(3, single), rel=0.03)


def test_bad_input_raises():
    with pytest.raises(ValueError, match="cut"):
        depinning_field(chain(32, two_vacancies(32), vacancy_model="bridged"))
    with pytest.raises(ValueError, match="ramp_rate"):
        depinning_field(chain(32), ramp_rate=-1.0)
    with pytest.raises(ValueError, match="tilt"):
        depinning_field(chain(32), tilt=90.0)
    with pytest.raises(ValueError, match="8 sites"):
        depinning_field(chain(8, blocks=2))
    with pytest.raises(ValueError, match="easy-axis"):
        depinning_field(PSLLChain(32, A, A_ex=1e-11, M_s=1e6))
    with pytest.raises(ValueError, match="rate"):
        chain(32).ramp(uniform_state(32), 0.0, 1.0)
    with pytest.raises(ValueError, match="tilt"):
        switching_field(5e5, 1e6, 95.0)


TINY = dict(depinning_dataset_spec("quick", seed=2), n_grid=3, sigma_range=(2.0, 8.0), tau_range=(1.0, 4.0),
            n_validation=1, n_sites=64, n_realisations=2, ramp_rate=8e-3)


def test_depinning_dataset_layout_references_and_network(tmp_path):
    path = write_depinning_dataset(tmp_path / "dep.h5", TINY, executor="serial", progress=False)
    d = load_depinning_dataset(path)
    assert d.fields.shape == (9, 2) and d.field.shape == (9,) and np.all(np.isfinite(d.fields))
    assert d.split.tolist() == defect_split(TINY).tolist()
    assert d.single_vacancy == depinning_record(TINY, 9)["field_r"][0]
    assert d.defect_free < 0.5 * d.single_vacancy  # a free wall moves long before a pinned one
    assert d.single_vacancy > d.switching  # a finite ramp overshoots the quasi-static field
    assert np.allclose(d.fields, d.single_vacancy, rtol=0.05)
    # the same call finds the finished file
    assert write_depinning_dataset(tmp_path / "dep.h5", TINY, executor="serial", progress=False) == path
    with pytest.raises(ValueError, match="item"):
        depinning_record(TINY, 11)
    with pytest.raises(ValueError, match="n_sites"):
        write_depinning_dataset(tmp_path / "bad.h5", dict(TINY, n_sites=10), executor="serial", progress=False)
    fitted = train_depinning_network("quick", d, seed=0, progress=False, root=tmp_path)
    assert np.isfinite(fitted.history["train"][-1])
