"""Chapter parameters are checked in the cell right after the `parameters` cell (mag_ml.chapters.check_parameters).

A bad papermill parameter (``-p seed -3``) or an unknown one (``-p sead 1``, which papermill only warns
about) stops the run in that cell with a message naming it; every chapter has the cell, naming exactly
the parameters of its `parameters` cell.  The papermill runs use a tiny notebook (seconds each).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys

import nbformat
import numpy as np
import pytest

from mag_ml.chapters import PARAMETER_RULES, UnknownProfileError, check_parameters, injected_parameters
from mag_ml.checks import ArgumentTypeError

try:  # tests/ as a plain folder (pytest's default "prepend" import mode) or as a package
    from book_toc import ROOT, require, toc_chapters
except ImportError:  # pragma: no cover
    from .book_toc import ROOT, require, toc_chapters

KERNEL = "mag_ml"
CHECK_IMPORT = "from mag_ml.chapters import check_parameters"


def _tags(cell):
    return cell.get("metadata", {}).get("tags", [])


def _parameters_cell(cells):
    return next(i for i, c in enumerate(cells) if "parameters" in _tags(c))


# ----------------------------------------------------------------------------- the helper
def test_values_are_checked_by_their_rules():
    check_parameters(profile="quick", seed=0)
    check_parameters(profile="paper", seed=np.int64(7), J=np.float32(1.0), D=0, B=-0.1, K=np.float64(0.02))
    cases = [
        (dict(profile="fast"), UnknownProfileError, r"profile must be one of \('quick', 'paper'\), got 'fast'"),
        (dict(profile=3), UnknownProfileError, r"profile must be one of"),
        (dict(seed=-3), ValueError, r"seed must be a non-negative integer .*got -3"),
        (dict(seed=1.5), TypeError, r"seed must be a non-negative integer .*got 1\.5 \(float\)"),
        (dict(seed=True), TypeError, r"seed must be .*True \(a bool"),
        (dict(seed="0"), TypeError, r"seed must be .*'0' \(str\)"),
        (dict(J=0.0), ValueError, r"J must be a finite real number > 0.*got 0\.0"),
        (dict(J=True), TypeError, r"J must be .*True"),
        (dict(D=float("nan")), ValueError, r"D must be a finite real number \(units of J\), got nan"),
        (dict(B="0.05"), TypeError, r"B must be .*'0\.05'"),
        (dict(K=None), TypeError, r"K must be .*None"),
    ]
    for params, error, pattern in cases:
        with pytest.raises(error, match=pattern):
            check_parameters(**params)
    with pytest.raises(TypeError, match="no rule for the parameter 'lattice'"):
        check_parameters(lattice=64)


def test_injected_names_are_read_from_the_input_history():
    """Papermill's injected cell starts with '# Parameters'; only its assignments count."""
    history = ["", 'profile = "quick"\nseed = 0', '# Parameters\nsead = 1\nprofile = "paper"\n',
               "L = 64  # a chapter variable, not a parameter", "# Parameters are explained below\nx = (",
               "# Parameters\nPAPERMILL_INPUT_PATH = 'a.ipynb'\n"]
    ns = {"In": history, "L": 64}
    assert injected_parameters(ns) == ["sead", "profile", "PAPERMILL_INPUT_PATH"]
    with pytest.raises(ValueError, match=r"unknown parameter 'sead' \(did you mean 'seed'\?\) set by papermill"):
        check_parameters(ns, profile="paper", seed=0)
    ns["In"] = history[:2] + ['# Parameters\nseed = 2\nprofile = "paper"\n']
    check_parameters(ns, profile="paper", seed=2)  # declared names only: fine
    assert injected_parameters({}) == [] and injected_parameters({"In": "not a list"}) == []
    check_parameters({"L": 64, "x": 1.0}, profile="quick", seed=0)  # outside IPython: values only


def test_every_chapter_checks_its_parameters_in_the_next_cell():
    """The cell after `parameters` is the one check, naming exactly the parameters cell's names."""
    chapters = toc_chapters()
    assert chapters
    for chapter in chapters:
        cells = json.loads((ROOT / f"{chapter}.ipynb").read_text(encoding="utf-8"))["cells"]
        k = _parameters_cell(cells)
        declared = [node.targets[0].id for node in ast.parse("".join(cells[k]["source"])).body]
        assert set(declared) <= set(PARAMETER_RULES), f"{chapter}: parameters without a rule"
        check = cells[k + 1]
        source = "".join(check["source"])
        assert check["cell_type"] == "code" and CHECK_IMPORT in source, f"{chapter}: no check after the parameters"
        calls = [node for node in ast.walk(ast.parse(source))
                 if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "check_parameters"]
        assert len(calls) == 1, f"{chapter}: expected one check_parameters call"
        call = calls[0]
        assert [ast.unparse(a) for a in call.args] == ["globals()"], f"{chapter}: check_parameters(globals(), ...)"
        assert [(kw.arg, ast.unparse(kw.value)) for kw in call.keywords] == [(n, n) for n in declared], (
            f"{chapter}: the check must name every parameter of the parameters cell: {declared}")
        assert not check["outputs"] and check["execution_count"] is None
        others = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        assert "check_profile" not in others, f"{chapter}: check_profile is replaced by check_parameters"


# ----------------------------------------------------------------------------- papermill runs
def _kernel_available():
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        return KERNEL in KernelSpecManager().find_kernel_specs()
    except Exception:  # pragma: no cover - no jupyter_client
        return False


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A notebook shaped like a chapter: title, parameters, the check, a cell that must not run on bad input."""
    require(_kernel_available(), f"no Jupyter kernel {KERNEL!r} (run `make venv`)")
    pytest.importorskip("papermill")
    folder = tmp_path_factory.mktemp("chapter")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python (mag_ml)", "language": "python"}
    params = nbformat.v4.new_code_cell('profile = "quick"\nseed = 0\nJ = 1.0')
    params.metadata["tags"] = ["parameters"]
    check = nbformat.v4.new_code_cell(f"{CHECK_IMPORT}\n\ncheck_parameters(globals(), profile=profile, seed=seed, J=J)")
    nb.cells = [nbformat.v4.new_markdown_cell("# Tiny"), params, check,
                nbformat.v4.new_code_cell('print(f"ran with {profile} {seed} {J}")')]
    path = folder / "tiny.ipynb"
    nbformat.write(nb, path)
    return path


def _papermill(path, *params):
    out = path.with_name(f"out{len(list(path.parent.glob('out*.ipynb')))}.ipynb")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
    args = [sys.executable, "-m", "papermill", str(path), str(out), "-k", KERNEL, "--cwd", str(path.parent)]
    for name, value in params:
        args += ["-p", name, value]
    run = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    return run, nbformat.read(out, as_version=4)


def _cells(nb):
    """The notebook's cells without the markdown banners papermill adds around an error."""
    return [c for c in nb.cells if "papermill-error-cell-tag" not in _tags(c)]


def _failure(run, nb):
    """(index of the failing cell in :func:`_cells`, ename, evalue), checking that no later cell ran."""
    assert run.returncode != 0, f"papermill succeeded:\n{run.stderr[-2000:]}"
    cells = _cells(nb)
    failed = [(i, out) for i, c in enumerate(cells) if c.cell_type == "code"
              for out in c.get("outputs", []) if out.get("output_type") == "error"]
    assert len(failed) == 1, failed
    i, out = failed[0]
    assert all(c.get("execution_count") is None for c in cells[i + 1:] if c.cell_type == "code")
    return i, out["ename"], out["evalue"]


def _check_cell_index(nb):
    """The check cell: right after papermill's injected cell, itself right after `parameters`."""
    cells = _cells(nb)
    k = _parameters_cell(cells)
    assert "injected-parameters" in _tags(cells[k + 1])
    assert CHECK_IMPORT in cells[k + 2].source
    return k + 2


def test_papermill_bad_seed_fails_in_the_check_cell(tiny):
    run, nb = _papermill(tiny, ("seed", "-3"))
    i, ename, evalue = _failure(run, nb)
    assert i == _check_cell_index(nb)
    assert ename == "ValueError" and "seed must be a non-negative integer" in evalue and "got -3" in evalue
    assert "seed must be a non-negative integer" in run.stderr + run.stdout  # the message reaches the terminal


def test_papermill_misspelt_parameter_fails_in_the_check_cell(tiny):
    run, nb = _papermill(tiny, ("sead", "1"))
    i, ename, evalue = _failure(run, nb)
    assert i == _check_cell_index(nb)
    assert ename == "ValueError" and "unknown parameter 'sead' (did you mean 'seed'?)" in evalue
    assert "this chapter's parameters are profile, seed, J" in evalue


def test_papermill_good_parameters_run_through(tiny):
    run, nb = _papermill(tiny, ("seed", "2"), ("profile", "paper"), ("J", "0.5"))
    assert run.returncode == 0, run.stderr[-2000:]
    assert "ran with paper 2 0.5" in "".join(o.get("text", "") for o in nb.cells[-1].outputs)


def test_papermill_bad_type_fails_in_the_check_cell(tiny):
    run, nb = _papermill(tiny, ("J", "one"))  # papermill passes it as the string 'one'
    i, ename, evalue = _failure(run, nb)
    assert i == _check_cell_index(nb)
    assert ename == ArgumentTypeError.__name__ and "J must be a finite real number > 0" in evalue
    assert "got 'one' (str)" in evalue


def test_interrupt_prints_one_line_and_still_fails(capsys):
    from IPython.core.interactiveshell import InteractiveShell

    from mag_ml.chapters import install_interrupt_message

    shell = InteractiveShell.instance()
    try:
        install_interrupt_message(shell)
        result = shell.run_cell("raise KeyboardInterrupt")
    finally:
        shell.set_custom_exc((), None)
    err = capsys.readouterr()
    text = err.err + err.out
    assert "Interrupted" in text and "run the cell again to resume" in text and "Traceback" not in text
    assert not result.success  # papermill and nbval still see the interruption
