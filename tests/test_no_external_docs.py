"""The project's own files hold what they cite: no reference to design documents outside the repository."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTSIDE = re.compile(r"\b(DESIGN|TOOLCHAIN|STYLE)\.md\b")


def test_no_citation_of_documents_outside_the_repository():
    files = [p for folder in ("mag_ml", "book", "benchmarks", "studies", ".ci") for p in (ROOT / folder).rglob("*")
             if p.suffix in {".py", ".ipynb", ".md", ".yml", ".cfg", ""} and p.is_file()
             and "_static_offline" not in p.parts]
    files += [ROOT / name for name in ("README.md", "Makefile", "_config.yml", "_toc.yml")]
    cited = [f"{p.relative_to(ROOT)}:{i}" for p in files if p.exists()
             for i, line in enumerate(p.read_text(errors="replace").splitlines(), 1) if OUTSIDE.search(line)]
    assert not cited, f"citations of documents that are not in the repository: {cited}"
