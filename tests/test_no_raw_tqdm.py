"""Every progress bar of the package goes through mag_ml.progress (so none reaches a built page)."""

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "mag_ml"


def test_bars_come_from_mag_ml_progress():
    raw = [f"{p.relative_to(PACKAGE.parent)}:{i}" for p in PACKAGE.rglob("*.py") if p.name != "progress.py"
           for i, line in enumerate(p.read_text().splitlines(), 1)
           if re.match(r"\s*(from tqdm|import tqdm)", line)]
    assert not raw, f"tqdm imported directly (use mag_ml.progress.progress_bar): {raw}"
