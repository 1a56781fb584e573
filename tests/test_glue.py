"""Numbers in the prose come from the run: every glue role of a chapter has its glued value in the executed chapter.

Reads papermill's executed chapters (``_build/executed/book``); skips without a
build outside CI.  Chapter-specific contracts (the names an issue or a reader
relies on) are listed in ``REQUIRED``.
"""

from __future__ import annotations

import re

import nbformat
import numpy as np
import pytest

try:
    from book_toc import ROOT, require, toc_chapters
except ImportError:  # pragma: no cover
    from .book_toc import ROOT, require, toc_chapters

pytestmark = pytest.mark.notebooks

EXECUTED = ROOT / "_build" / "executed"
ROLE = re.compile(r"\{glue(?::\w+)?\}`([A-Za-z_][\w]*)")
REQUIRED = {
    "04_latent_space": ["barrier_width_gamma0", "barrier_width_gamma100", "barrier_seeds_total",
                        "barrier_seeds_narrower", "barrier_width_diff_mean", "barrier_width_diff_se",
                        "barrier_seeds_lower"],
    "05_ground_state": ["ground_state_in_training", "lowest_training_energy_per_spin",
                        "direct_minimisation_energy_per_spin", "collapsed_raw_energy_per_spin",
                        "collapsed_relaxed_energy_per_spin", "collapse_threshold_percent"],
    "02_monte_carlo": ["c_peak_T", "blocking_factor", "b_sky_onset", "b_fm_onset", "b_dataset", "below_uniform_pct",
                       "theory_sequence"],
    "07_parameter_estimation": [f"{stem}_{p}" for stem in ("testB_nrmse", "testB_nrmse_constant", "coverage")
                                for p in ("A_ex", "D", "M_s")]
                               + [f"testB_gain_{p}" for p in ("A_ex", "D", "M_s")]
                               + ["coverage_nominal", "coverage_nominal_pct", "bootstrap_level_pct"]
                               + [f"{stem}_{p}" for stem in ("shift_worst_nrmse", "aug_worst_nrmse", "aug_clean_nrmse",
                                                             "fege_nrmse", "fege_nrmse_centre", "fege_in_interval")
                                  for p in ("A_ex", "D", "M_s")]
                               + ["moment_volume_true", "moment_volume_estimated", "ms_estimate", "ms_true",
                                  "fege_period_true_nm", "fege_period_estimated_nm", "fege_moment_volume"],
    "08_defects": ["grid_wall_error_pct", "grid_dispersion_error_pct", "periodogram_deviation_pct",
                   "rk4_energy_ratio"],
    "09_defect_networks": ["dispersion_mae_best_network", "dispersion_mae_sum_rule", "wall_std_network",
                           "wall_std_dilution_law", "depinning_mae_network", "depinning_mae_best_baseline",
                           "lineshape_w1_network", "lineshape_w1_best_baseline"],
}


def glued(nb):
    """``{name: text/plain}`` of every glued output."""
    out = {}
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            name = o.get("metadata", {}).get("scrapbook", {}).get("name")
            if name is not None:
                prefix = o["metadata"]["scrapbook"].get("mime_prefix", "")
                out[name] = o["data"].get(prefix + "text/plain")
    return out


def executed(chapter):
    path = EXECUTED / f"{chapter}.ipynb"
    require(path.exists(), f"{path} not built (run make book)")
    return nbformat.read(path, as_version=4)


@pytest.mark.parametrize("chapter", toc_chapters())
def test_every_glue_role_has_a_glued_number(chapter):
    nb = executed(chapter)
    values = glued(nb)
    roles = {m for c in nb.cells if c.cell_type == "markdown" for m in ROLE.findall(c.source)}
    missing = sorted(roles - set(values))
    assert not missing, f"{chapter}: glue roles without a glued value: {missing}"
    for name in REQUIRED.get(chapter.split("/")[-1], []):
        assert name in values, f"{chapter}: {name} is not glued"
    for name, text in values.items():  # plain numbers, so that format specs like :.3f apply
        if name in roles:
            float(text)


def test_estimation_claims():
    """Chapter 7's ranking sentence agrees with its glued errors; coverage is a fraction."""
    nb = executed("book/07_parameter_estimation")
    values = {k: float(v) for k, v in glued(nb).items()}
    for p in ("A_ex", "D", "M_s"):
        assert values[f"testB_gain_{p}"] == pytest.approx(values[f"testB_nrmse_constant_{p}"]
                                                         / values[f"testB_nrmse_{p}"])
        assert 0.0 <= values[f"coverage_{p}"] <= 1.0
    assert values["coverage_nominal"] == 0.9
    assert values["coverage_nominal_pct"] == pytest.approx(100 * values["coverage_nominal"])  # the level the prose states
    assert 0.0 < values["bootstrap_level_pct"] < 100.0
    ranking = next(o["data"]["text/markdown"] for c in nb.cells for o in c.get("outputs", [])
                   if "text/markdown" in o.get("data", {}) and "ranks the predictors" in o["data"]["text/markdown"])
    for p, label in (("A_ex", "$A_{ex}$"), ("D", "$D$"), ("M_s", "$M_s$")):
        line = next(li for li in ranking.splitlines() if li.startswith(f"* {label}:"))
        assert f"{values[f'testB_gain_{p}']:.1f} times better" in line
        order = [s.strip() for s in line.split(":", 1)[1].split("(")[0].split("<")]
        errors = {"CNN": values[f"testB_nrmse_{p}"], "grid centre": values[f"testB_nrmse_constant_{p}"],
                  "texture regression": values[f"testB_nrmse_texture_{p}"]}
        assert order == sorted(errors, key=errors.get)


PARAMETER_LABELS = (("A_ex", "$A_{ex}$"), ("D", "$D$"), ("M_s", "$M_s$"))


def estimation_verdicts(phrase):
    """Chapter 7's glued numbers, the generated Markdown holding ``phrase``, and its line per parameter."""
    nb = executed("book/07_parameter_estimation")
    text = generated_markdown(nb, phrase)
    lines = {p: next(li for li in text.splitlines() if li.startswith(f"* {label}:")) for p, label in PARAMETER_LABELS}
    return nb, {k: float(v) for k, v in glued(nb).items()}, text, lines


def test_domain_shift_claims():
    """Chapter 7's verdicts on augmentation agree with its glued errors (both directions of the shift)."""
    _, values, _, lines = estimation_verdicts("against the constant predictor and each other")
    for p, line in lines.items():
        aug, clean = values[f"aug_clean_nrmse_{p}"], values[f"testB_nrmse_{p}"]
        verdict = "worse" if aug > clean else "no worse"
        assert f"on clean images it is {verdict} than the clean-trained estimator ({aug:.3f} against {clean:.3f})" in line
        const = values[f"testB_nrmse_constant_{p}"]
        n_worse_aug = int(line.split("when trained on clean images, under ")[1].split(" ")[0])
        assert (n_worse_aug == 0) == (values[f"aug_worst_nrmse_{p}"] <= const)
        n_worse_clean = int(line.split("worse than the grid centre under ")[1].split(" ")[0])
        assert (n_worse_clean == 0) == (values[f"shift_worst_nrmse_{p}"] <= const)


def test_fege_and_magnetometry_claims():
    """Chapter 7's FeGe verdicts and its magnetometry sentence agree with the glued numbers."""
    nb, values, text, lines = estimation_verdicts("simulated micrograph, not an experiment")
    for p, line in lines.items():
        cnn, centre = values[f"fege_nrmse_{p}"], values[f"fege_nrmse_centre_{p}"]
        claim = f"{centre / cnn:.1f} times better than" if cnn < centre else "no better than"
        assert f"the CNN is {claim} the range centre ({cnn:.3f} against {centre:.3f})" in line
        assert ("that holds the literature" in line) == bool(values[f"fege_in_interval_{p}"])
    assert f"{values['fege_period_estimated_nm']:.1f} nm from the estimate, {values['fege_period_true_nm']:.1f} nm true" in text
    # the literature FeGe helix period 4 pi A / D = 69.8 nm (Beg et al. 2015: A = 8.78 pJ/m, D = 1.58 mJ/m^2)
    assert values["fege_period_true_nm"] == pytest.approx(4 * np.pi * 8.78e-12 / 1.58e-3 * 1e9)
    mag = generated_markdown(nb, "a magnetometer on the true film would report")
    assert values["moment_volume_true"] <= values["ms_true"]  # M_s <m_z> with <m_z> <= 1
    closer = ("the magnetometer's value" if abs(values["ms_estimate"] - values["moment_volume_true"])
              < abs(values["ms_estimate"] - values["ms_true"]) else "the parameter $M_s$")
    assert f"is closer to {closer}" in mag


def generated_markdown(nb, phrase):
    """The text of the generated Markdown output that contains ``phrase``."""
    return next(o["data"]["text/markdown"] for c in nb.cells for o in c.get("outputs", [])
                if phrase in o.get("data", {}).get("text/markdown", ""))


def test_vae_control_claim():
    """Chapter 3 says whether the fall of L_RC at small gamma is the energy term's or the extra training's."""
    nb = executed("book/03_vae")
    values = {k: float(v) for k, v in glued(nb).items()}
    text = generated_markdown(nb, "E-VAE against its control")
    training = values["rc_small_gamma_control"] <= 1.1 * values["rc_small_gamma_evae"]
    assert ("the fall is the extra training, not the energy term" in text) is training
    assert f"{values['rc_small_gamma_evae']:.3f} with the energy term" in text


def test_barrier_claims():
    """Chapter 4's sharpness verdict agrees with its glued widths and slopes."""
    nb = executed("book/04_latent_space")
    values = {k: float(v) for k, v in glued(nb).items()}
    text = generated_markdown(nb, "barrier is")
    w100, w0 = values["barrier_width_gamma100"], values["barrier_width_gamma0"]
    s100, s0 = values["barrier_slope_top"], values["barrier_slope_gamma0"]
    assert w100 > 0 and w0 > 0
    control = "the gamma = 0 control trained as long"
    if w100 < 0.8 * w0 and s100 > 1.2 * s0:
        expected = f"sharper than {control} (narrower and steeper)"
    elif w100 > 1.25 * w0 and s100 < 0.8 * s0:
        expected = f"broader than {control}"
    else:
        expected = f"not clearly sharper than {control}"
    assert expected in text, (expected, text)
    # the seed study: its first training is the one above, its verdict counts the trainings it states
    total, narrower = int(values["barrier_seeds_total"]), int(values["barrier_seeds_narrower"])
    assert total >= 3 and 0 <= narrower <= total
    study = generated_markdown(nb, "trainings the gamma")
    if narrower == total:
        assert f"narrower than its control's in all {total} trainings" in study, study
    elif narrower == 0:
        assert f"broader than its control's in all {total} trainings: no sharpening" in study, study
    else:
        assert f"in {narrower} of {total} trainings: no consistent sharpening" in study, study
    assert f"{values['barrier_width_diff_mean']:+.2f} $\\pm$ {values['barrier_width_diff_se']:.2f}" in study, study
    lower = int(values["barrier_seeds_lower"])
    assert 0 <= lower <= total and f"lower than the control's in {lower} of {total} trainings" in study, study


def test_ground_state_claims():
    """Chapter 5's glued energies are the HDF5 training data's and the direct minimisation's, and its verdict on
    the paper's claim follows from them."""
    from mag_ml.chapters.evae import GROUND_STATE_TOL, evae_training_dataset, ground_state_search
    from mag_ml.data import load_observables

    nb = executed("book/05_ground_state")
    values = {k: float(v) for k, v in glued(nb).items()}
    ground = ground_state_search("quick").energy
    e_train = load_observables(evae_training_dataset("quick", progress=False), "train")["energy_per_spin"]
    assert values["ground_state_in_training"] == np.sum(e_train <= ground + GROUND_STATE_TOL) == 0
    assert values["lowest_training_energy_per_spin"] == pytest.approx(e_train.min(), abs=1e-9)
    assert values["direct_minimisation_energy_per_spin"] == pytest.approx(ground, abs=1e-12)
    raw, rel = values["collapsed_raw_energy_per_spin"], values["collapsed_relaxed_energy_per_spin"]
    assert ground - 1e-9 <= rel <= raw + 1e-12
    text = generated_markdown(nb, "held out of the training data")
    assert ("positive instance" in text) is (rel <= ground + GROUND_STATE_TOL)
    assert f"{raw:.6f}" in text and f"{rel:.6f}" in text
