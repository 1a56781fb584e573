"""The (T, B) phase diagram: classification rules, field-cooled scans that find the spiral at B = 0 and the
ferromagnet at high field, and the explorer with its static twin."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mag_ml import Hamiltonian  # noqa: E402
from mag_ml.analysis.phases import PHASES, PhaseDiagram, classify, phase_diagram, skyrmion_cell_area  # noqa: E402
from mag_ml.files import load_npz, save_npz  # noqa: E402
from mag_ml.analysis.spirals import spiral_wavevector  # noqa: E402
from mag_ml.physics.measurement import field_cooling  # noqa: E402
from mag_ml.plotting import plot_phase_diagram, plot_thermodynamics  # noqa: E402
from mag_ml.widgets import phase_explorer  # noqa: E402

H = Hamiltonian(J=1.0, D=0.3, B=0.0)
FIELDS = np.array([0.0, 0.25])  # 0 and 2.8 D^2/J: spiral and ferromagnet at low T
SHAPE = (32, 32)


@pytest.fixture(scope="module")
def diagram():
    scans = field_cooling(H, SHAPE, FIELDS, [1.5, 0.4, 0.1], 200, burn_in=300, seed=1)
    return phase_diagram(scans, FIELDS)


def test_skyrmion_cell_of_three_spirals():
    q = spiral_wavevector(1.0, 0.3)
    a = 4 * np.pi / (np.sqrt(3) * q)  # triangular lattice of the three Bragg vectors of length q
    assert skyrmion_cell_area(1.0, 0.3) == pytest.approx(np.sqrt(3) / 2 * a ** 2)
    assert skyrmion_cell_area(1.0, 0.3) == pytest.approx(536.6, abs=0.1)
    with pytest.raises(ValueError, match="D must be nonzero"):
        skyrmion_cell_area(1.0, 0.0)


def test_classification_rules():
    codes = classify([0.5, 0.5, 20.0, 20.0, 20.0], [0.0, 0.0, 0.1, 0.9, 0.2], [0.1, 0.9, 0.1, 0.5, 0.8])
    assert [PHASES[c] for c in codes] == ["paramagnet", "ferromagnet", "spiral", "skyrmion lattice", "ferromagnet"]


def test_field_cooling_finds_spiral_and_ferromagnet(diagram):
    assert [PHASES[c] for c in diagram.phase[:, 0]] == ["paramagnet", "paramagnet"]  # T = 1.5
    assert PHASES[diagram.phase[0, -1]] == "spiral" and PHASES[diagram.phase[1, -1]] == "ferromagnet"
    dq = 2 * np.pi / SHAPE[0]  # one shell of the structure factor
    assert abs(diagram.q_peak[0, -1] - spiral_wavevector(1.0, 0.3)) <= dq
    # energy criterion: the spiral lies below the uniform state, the high-field state relaxes onto it
    assert diagram.relaxed_energy[0] < diagram.uniform_energy[0] - 0.01
    assert diagram.relaxed_energy[1] == pytest.approx(diagram.uniform_energy[1], abs=1e-9)
    assert not diagram.metastable().any()
    assert np.isnan(diagram.boundaries()["skyrmion_onset"])
    assert diagram.low_temperature_sequence() == ["spiral", "ferromagnet"]
    assert diagram.states.shape == (2, 3, 3, *SHAPE)


def test_phase_explorer_and_static_twin(diagram):
    explorer = phase_explorer(diagram, B=0.25, anneal=(0.05, 1.0, 0.01), dpi=30)
    assert explorer.png.startswith(b"\x89PNG") and "ferromagnet" in explorer.status.value
    old = explorer.png
    explorer.sliders["B"].value = 0
    assert "spiral" in explorer.status.value and explorer.png != old
    assert explorer.static().data.startswith(b"\x89PNG")
    assert plt.get_fignums() == []
    with pytest.raises(TypeError, match="diagram must be"):
        phase_explorer({"fields": FIELDS})
    with pytest.raises(ValueError, match="B must be a finite number"):
        phase_explorer(diagram, B="high")


def test_plots_draw_and_refuse_incomplete_tables(diagram):
    ax = plot_phase_diagram(diagram, anneal=(0.05, 1.0, 0.01))
    assert ax.get_legend() is not None
    plt.close("all")
    with pytest.raises(ValueError, match="table lacks"):
        plot_thermodynamics({"T": np.ones(3)})


def test_phase_diagram_round_trips_through_npz(diagram, tmp_path):
    save_npz(diagram.as_arrays(), tmp_path / "d.npz")
    back = PhaseDiagram.from_arrays(load_npz(tmp_path / "d.npz"))
    np.testing.assert_array_equal(back.states, diagram.states)
    np.testing.assert_array_equal(back.phase, diagram.phase)
    assert back.boundaries().keys() == diagram.boundaries().keys() and back.field_unit == diagram.field_unit
    arrays = diagram.as_arrays()
    with pytest.raises(KeyError, match="lack"):
        PhaseDiagram.from_arrays({k: v for k, v in arrays.items() if k != "phase"})
    with pytest.raises(ValueError, match="do not fit"):
        PhaseDiagram.from_arrays({**arrays, "phase": arrays["phase"][:1]})
