"""The package's layers run one way: no module imports from a layer above its own, no two folders import each other.

The order is the one the README's "Layout" section states; it is parsed from
the README here, so the documentation and the check cannot drift apart.
Imports are read with ``ast`` (module-level and function-level alike), so a
lazy import inside a function counts too.
"""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "mag_ml"


def readme_layers():
    """Layers from the README: lines ``N. `mag_ml.x`, `mag_ml.y`: ...`` under "Package layers"."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### Package layers", 1)[1].split("\n## ", 1)[0]
    layers = [re.findall(r"`(mag_ml(?:\.\w+)*)`", line.split(":", 1)[0])
              for line in section.splitlines() if re.match(r"^\d+\. ", line)]
    assert layers and all(layers), "README: no numbered layers under '### Package layers'"
    return layers


def module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path):
    """Every ``mag_ml`` module imported by the file at ``path`` (absolute names)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "mag_ml"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "mag_ml":
                continue
            if node.module is None:  # from . import x: x may be a submodule
                out |= {f"{target}.{a.name}" for a in node.names}
            else:
                out.add(target)
    return out


def layer_of(module, layers):
    """Index of the layer that holds ``module`` (the longest matching prefix); the root package is its facade."""
    best = None
    for i, names in enumerate(layers):
        for n in names:
            if (module == n or module.startswith(n + ".")) and (best is None or len(n) > len(best[1])):
                best = (i, n)
    return best


def unit(module, layers):
    """The layer entry (module or folder) that holds ``module``."""
    return layer_of(module, layers)[1]


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_is_in_a_layer():
    layers = readme_layers()
    missing = [module_name(p) for p in MODULES if module_name(p) != "mag_ml" and layer_of(module_name(p), layers) is None]
    assert not missing, f"modules in no README layer: {missing}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_no_upward_import(path):
    layers = readme_layers()
    name = module_name(path)
    if name == "mag_ml":  # the root re-exports the physics core (a facade of layer 'physics')
        here = layer_of("mag_ml.physics", layers)[0]
    else:
        here = layer_of(name, layers)[0]
    for target in imports(path):
        if target == "mag_ml":
            target = "mag_ml.physics"  # what the facade holds
        where = layer_of(target, layers)
        if where is None and target.rsplit(".", 1)[0] != target:
            where = layer_of(target.rsplit(".", 1)[0], layers)  # from pkg import name
        assert where is not None, f"{name} imports {target}, which is in no layer"
        assert where[0] <= here, (f"{name} (layer {here + 1}) imports {target} from layer {where[0] + 1} above it")


def test_no_two_units_import_each_other():
    """Folders and top-level modules form an acyclic graph (a loop through a third unit counts)."""
    layers = readme_layers()
    graph = {}
    for path in MODULES:
        name = module_name(path)
        if name == "mag_ml":
            continue
        src = unit(name, layers)
        for target in imports(path):
            if target == "mag_ml":
                continue
            where = layer_of(target, layers) or layer_of(target.rsplit(".", 1)[0], layers)
            if where and where[1] != src:
                graph.setdefault(src, set()).add(where[1])
    state = {}

    def visit(node, trail):
        if state.get(node) == "done":
            return
        assert state.get(node) != "open", f"import loop: {' -> '.join(trail + [node])}"
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            visit(nxt, trail + [node])
        state[node] = "done"

    for node in sorted(graph):
        visit(node, [])


def test_profile_tables_live_in_the_chapter_layer():
    """No module outside mag_ml/chapters defines a profile table (a dict keyed by "quick" and "paper")."""
    offenders = []
    for path in MODULES:
        if "chapters" in path.relative_to(PACKAGE).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Dict):
                keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
                if {"quick", "paper"} <= keys:
                    offenders.append(f"{module_name(path)}:{node.lineno}")
    assert not offenders, f"profile tables outside mag_ml/chapters: {offenders}"


def test_lower_layers_know_nothing_of_profiles_or_the_cache():
    for folder in ("physics", "io", "models", "analysis"):
        for path in (PACKAGE / folder).rglob("*.py"):
            bad = {t for t in imports(path) if t.startswith(("mag_ml.artifacts", "mag_ml.data", "mag_ml.training",
                                                             "mag_ml.chapters"))}
            assert not bad, f"{module_name(path)} imports {sorted(bad)}"
            assert "check_profile" not in path.read_text(encoding="utf-8"), module_name(path)


def test_the_check_can_fail(tmp_path):
    """The parser sees relative, absolute and function-level imports (else the tests above prove nothing)."""
    f = tmp_path / "mag_ml" / "physics" / "x.py"
    f.parent.mkdir(parents=True)
    f.write_text("from ..training import fit\ndef g():\n    import mag_ml.chapters.evae\n")
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        found = imports(f)
    finally:
        ROOT = saved
    assert found == {"mag_ml.training", "mag_ml.chapters.evae"}
    layers = readme_layers()
    assert layer_of("mag_ml.training", layers)[0] > layer_of("mag_ml.physics.x", layers)[0]


def test_chapters_hold_no_profile_table():
    """Sizes come from the chapter layer: no chapter cell defines a dict keyed by "quick" and "paper"."""
    import json

    offenders = []
    for nb_path in sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb")):
        for k, cell in enumerate(json.loads(nb_path.read_text(encoding="utf-8"))["cells"]):
            if cell["cell_type"] != "code":
                continue
            source = "\n".join(line for line in "".join(cell["source"]).splitlines()
                               if not line.lstrip().startswith(("%", "!")))
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Dict) and {"quick", "paper"} <= {
                        key.value for key in node.keys if isinstance(key, ast.Constant)}:
                    offenders.append(f"{nb_path.name} cell {k}")
    assert not offenders, f"profile tables in chapter cells: {offenders}"
