"""Field sweeps (mag_ml.physics.hysteresis): Stoner-Wohlfarth switching, a paramagnet, resume, bad input."""

import math

import numpy as np
import pytest

import mag_ml.physics.hysteresis as hysteresis
from mag_ml.physics.hysteresis import coercive_field, hysteresis_loop, saturation_field
from mag_ml.physics.micromagnetics import MicromagneticParameters, temperature_to_reduced, to_lattice

NM = 1e-9
# no DMI, no demag: a uniaxial ferromagnet with K_lat = K_u dx^2 / (2 A_ex) = 0.1 J, B_lat = 8e-6 M_s B / J
UNIAXIAL = MicromagneticParameters(A_ex=1e-12, D=0.0, M_s=1e5, K_u=1.25e4, dx=4 * NM, thickness=1 * NM, demag=None)


def test_single_domain_switches_at_the_anisotropy_field():
    # 4 x 4 cells, much smaller than the wall width pi sqrt(J / 2K) = 7 cells: coherent rotation, and the
    # uniform state loses stability at B_K = 2 K_eff / M_s (lattice: B_lat = 2 K_lat, Stoner-Wohlfarth along
    # the easy axis).  At 1 K (T_red = 0.007 J, barrier 16 K_lat (1 - B/B_K)^2) thermal activation lowers the
    # switching field and the finite sweeps per step delay it; both stay below 10 % here.
    p = UNIAXIAL
    H, scale = to_lattice(p)
    B_K = 2 * p.K_u / p.M_s
    assert H.K == pytest.approx(0.1) and B_K * p.M_s * p.cell_volume / scale == pytest.approx(2 * H.K)
    assert temperature_to_reduced(1.0, scale) < 0.01
    # field steps of 0.05 B_K; over seeds 0-5 the switching fields lie within 0.92-1.03 B_K
    loop = hysteresis_loop(p, (4, 4), 1.0, 1.6 * B_K, 65, n_sweeps=1000, seed=3, progress=False)
    down, up = loop.coercive_fields
    assert down == pytest.approx(-B_K, rel=0.1) and up == pytest.approx(B_K, rel=0.1)
    assert loop.coercivity == pytest.approx(B_K, rel=0.1)
    # a square loop: saturated on both sides of the switch
    (B_d, m_d), (B_u, m_u) = loop.branches
    assert np.all(m_d[B_d > -0.8 * B_K] > 0.95) and np.all(m_d[B_d < -1.2 * B_K] < -0.95)
    assert np.all(m_u[B_u < 0.8 * B_K] < -0.95) and np.all(m_u[B_u > 1.2 * B_K] > 0.95)
    assert 0.9 * B_K < loop.saturation_field < 1.2 * B_K
    assert loop.B.shape == loop.m_z.shape == (130,) and loop.final_state.shape == (3, 4, 4)


def test_paramagnet_has_no_hysteresis():
    # T_red = 3.1 J, far above ordering: m_z(B) is reversible, odd, and unsaturated at 1 T
    p = UNIAXIAL.replace(M_s=1e6)
    loop = hysteresis_loop(p, (32, 32), 450.0, 1.0, 21, n_sweeps=400, seed=1, progress=False)
    step = 0.1
    assert abs(loop.coercive_fields[0]) < step / 4 and abs(loop.coercive_fields[1]) < step / 4
    assert abs(loop.coercivity) < step / 4
    (B_d, m_d), (B_u, m_u) = loop.branches
    np.testing.assert_allclose(B_d[::-1], B_u)
    np.testing.assert_allclose(m_d[::-1], m_u, atol=0.05)  # same curve both ways
    np.testing.assert_allclose(m_u, -m_u[::-1], atol=0.05)  # odd in B
    assert 0.5 < m_u[-1] < 0.9 and math.isnan(loop.saturation_field)


def test_resumes_from_a_checkpoint(tmp_path, monkeypatch):
    p = UNIAXIAL
    args = ((4, 4), 1.0, 0.5, 5)
    kwargs = dict(n_sweeps=40, n_anneal=50, seed=2, progress=False)
    reference = hysteresis_loop(p, *args, **kwargs)
    real, calls = hysteresis.thermal_run, []

    def interrupted(*a, **kw):
        calls.append(1)
        if len(calls) == 6:
            raise KeyboardInterrupt
        return real(*a, **kw)

    path = tmp_path / "loop.npz"
    monkeypatch.setattr(hysteresis, "thermal_run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        hysteresis_loop(p, *args, checkpoint=path, **kwargs)
    monkeypatch.setattr(hysteresis, "thermal_run", real)
    assert path.exists() and not list(tmp_path.glob(".*tmp*"))
    resumed = hysteresis_loop(p, *args, checkpoint=path, **kwargs)
    np.testing.assert_array_equal(resumed.m_z, reference.m_z)
    np.testing.assert_array_equal(resumed.final_state, reference.final_state)
    with pytest.raises(ValueError, match="other settings"):
        hysteresis_loop(p, *args, checkpoint=path, **{**kwargs, "seed": 5})


def test_coercive_and_saturation_fields_of_a_known_curve():
    B = np.linspace(-1, 1, 21)
    m = np.tanh((B - 0.3) / 0.1)  # crosses 0 at 0.3, reaches 0.95 at 0.3 + 0.1 artanh(0.95)
    assert coercive_field(B, m) == pytest.approx(0.3, abs=1e-12)
    assert coercive_field(B[::-1], -m[::-1]) == pytest.approx(0.3, abs=1e-12)
    assert saturation_field(B, m) == pytest.approx(0.3 + 0.1 * math.atanh(0.95), abs=0.02)
    assert math.isnan(coercive_field(B, np.ones_like(B))) and math.isnan(saturation_field(B, 0.5 * m))
    assert saturation_field(B, np.ones_like(B)) == -1.0
    assert coercive_field([0.2, 0.1, 0.0], [0.0, 0.5, 0.0]) == 0.0  # leading zeros skipped, exact zero hit


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(B_max=0.0), ValueError, "B_max"), (dict(n_steps=1), ValueError, "n_steps"),
    (dict(T=-1.0), ValueError, "T must"), (dict(shape=(3, 4)), ValueError, "shape"),
    (dict(params={"A_ex": 1e-12}), TypeError, "MicromagneticParameters"),
])
def test_bad_input_raises(kwargs, error, match):
    args = dict(params=UNIAXIAL, shape=(4, 4), T=1.0, B_max=0.5, n_steps=5)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        hysteresis_loop(args.pop("params"), args.pop("shape"), args.pop("T"), args.pop("B_max"),
                        args.pop("n_steps"), n_sweeps=10, progress=False)


def test_knee_field_is_the_kink_of_a_linear_rise():
    from mag_ml.physics.hysteresis import knee_field

    B = np.linspace(-1.0, 1.0, 41)
    m = np.clip((B - 0.1) / 0.4, -1, 1)  # rises linearly from B = -0.3 to the kink at B = 0.5
    assert knee_field(B, m) == pytest.approx(0.5, abs=1e-12)
    smooth = np.tanh((B - 0.1) / 0.2)
    k = knee_field(B, smooth)
    assert 0.1 < k < 0.45  # the tangent at the inflection meets the plateau before saturation
    assert np.isnan(knee_field(B, -np.ones_like(B)))
    with pytest.raises(ValueError, match="increase"):
        knee_field(B[::-1], m)
