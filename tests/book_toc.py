"""The book's pages and chapters, read from ``_toc.yml`` (shared by the book tests)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTER_RE = re.compile(r"^book/\d\d_[^/]+$")
IN_CI = os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def toc_pages(toc_path: Path = ROOT / "_toc.yml") -> list[str]:
    """Every document of the table of contents in reading order, without extension."""
    toc = yaml.safe_load(toc_path.read_text())
    pages = [os.path.splitext(toc["root"])[0]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                pages.append(os.path.splitext(entry["file"])[0])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return pages


def toc_chapters() -> list[str]:
    """The chapter notebooks (``book/NN_topic``, no extension) in reading order."""
    return [page for page in toc_pages() if CHAPTER_RE.match(page)]


def require(condition: bool, reason: str) -> None:
    """Skip a test whose prerequisite (a build, Chromium) is missing; fail under CI."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)")
    pytest.skip(reason)
