"""The pipelines of chapters 8-9 (mag_ml.chapters.defects): illustration sizes, the wall protocol, the five networks."""

import numpy as np
import pytest
import torch

from mag_ml.chapters.defects import (DEFECT_DEMOS, DEFECT_NETWORKS, WALL_MAX_STEPS, defect_chains,
                                     defect_dataset_spec, defect_demo_spec, defect_networks_directory,
                                     defect_wall_ensemble, train_defect_networks, train_dispersion_cnn,
                                     train_dispersion_pinn, train_inverse_cnn, train_wall_cnn)
from mag_ml.physics.walls import wall_width_ensemble

try:  # tests/ as a plain folder (pytest's default "prepend" import mode) or as a package
    from test_defect_networks import A, TINY, synthetic_dataset
except ImportError:  # pragma: no cover
    from .test_defect_networks import A, TINY, synthetic_dataset


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_demo_sizes_of_chapter_8():
    """The quick profile keeps the sizes chapter 8 had as literals; the paper profile averages more."""
    q, p = defect_demo_spec("quick"), defect_demo_spec("paper")
    assert q == dict(n_statistics=2**15, n_statistics_realisations=16, n_integration=256, integration_duration=20.0,
                     n_dispersion_realisations=8, n_wall=256, n_wall_realisations=6, n_packet=512,
                     packet_duration=24.0, packet_sample_every=200, coarse_factor=4, coarse_duration=150.0)
    assert set(p) == set(q) == set(DEFECT_DEMOS["paper"])
    for key in ("n_statistics_realisations", "n_dispersion_realisations", "n_wall_realisations"):
        assert p[key] >= q[key]
    q["n_wall"] = 1  # a copy
    assert DEFECT_DEMOS["quick"]["n_wall"] == 256
    with pytest.raises(ValueError, match="profile"):
        defect_demo_spec("huge")


def test_wall_ensemble_is_the_datasets_protocol():
    spec = dict(defect_dataset_spec("quick", seed=5), n_wall=128, n_dispersion=16, n_realisations=2,
                sigma_range=(2.0, 8.0), tau_range=(1.0, 4.0))
    ens = defect_wall_ensemble(spec, 4.0, 2.0, seed=11)
    direct = wall_width_ensemble(defect_chains(spec)[1], 4.0, 2.0, n_realisations=2, seed=11,
                                 torque_tol=spec["torque_tol"], max_steps=WALL_MAX_STEPS, batch=spec["batch"])
    np.testing.assert_array_equal(ens.widths, direct.widths)
    np.testing.assert_array_equal(ens.m_z, direct.m_z)
    # realisation r is the same vacancy draw however many are asked for (relaxed alone here, in a batch above)
    one = defect_wall_ensemble(spec, 4.0, 2.0, seed=11, n_realisations=1)
    assert one.widths[0] == pytest.approx(direct.widths[0], abs=0.05)
    with pytest.raises(ValueError, match="tau"):
        defect_wall_ensemble(spec, 4.0, -1.0, seed=0)


def test_train_defect_networks_trains_the_five_networks_like_the_drivers(tmp_path, monkeypatch):
    monkeypatch.setitem(DEFECT_NETWORKS, "quick", TINY)
    d = synthetic_dataset()
    kw = dict(seed=3, a=A, kernel="discrete", dataset_key="synthetic", root=tmp_path, progress=False)
    nets = train_defect_networks("quick", d, **kw)
    assert nets.directory == defect_networks_directory("quick", a=A, kernel="discrete", seed=3,
                                                       dataset_key="synthetic", root=tmp_path)
    assert sorted(p.name for p in nets.directory.iterdir()) == ["cnn", "inverse", "pinn", "tfc_only", "wall"]
    assert set(nets.seconds) == {"cnn", "pinn", "tfc_only", "wall", "inverse"} and min(nets.seconds.values()) >= 0
    direct = dict(cnn=train_dispersion_cnn(d, TINY, seed=3, progress=False),
                  pinn=train_dispersion_pinn(d, TINY, a=A, seed=3, progress=False),
                  tfc_only=train_dispersion_pinn(d, TINY, a=A, weight=0.0, seed=3, progress=False),
                  wall=train_wall_cnn(d, TINY, seed=3, progress=False),
                  inverse=train_inverse_cnn(d, TINY, seed=3, progress=False))
    for name, res in direct.items():
        got = getattr(nets, name)
        assert len(got.history["train"]) == TINY[name if name != "tfc_only" else "pinn"]["epochs"]
        np.testing.assert_allclose(got.history["train"], res.history["train"], rtol=1e-5, err_msg=name)
    assert nets.pinn.history != nets.tfc_only.history  # the residual weight matters
    again = train_defect_networks("quick", d, **kw)  # finished checkpoints: loaded
    for name in direct:
        assert getattr(again, name).history == getattr(nets, name).history
        for p, q in zip(getattr(again, name).model.parameters(), getattr(nets, name).model.parameters()):
            assert torch.equal(p, q)
    with pytest.raises(ValueError, match="profile"):
        train_defect_networks("huge", d, **kw)
