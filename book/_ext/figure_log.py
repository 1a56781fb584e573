"""Record the smallest text of every figure a chapter draws, for the readability test (tests/test_book.py).

The book's build runs each chapter with ``MATPLOTLIBRC`` pointing at
``book/_ext/matplotlibrc``, whose ``figure.hooks`` calls :func:`install` on
every figure pyplot creates, and with ``MAG_ML_FIGURE_LOG`` naming a JSON-lines
file.  Each draw (the inline backend's ``savefig``) appends one line: the
execution count of the cell that drew it, the figure's number, the dpi it was drawn at, the width of its tight bounding box
in pixels and the smallest visible text in pixels (matplotlib's own font size
in points times dpi / 72), with that text.  Without the variable nothing is
recorded.
"""

from __future__ import annotations

import json
import os

from matplotlib.text import Text


def _record(fig, renderer):
    path = os.environ.get("MAG_ML_FIGURE_LOG")
    if not path:
        return
    texts = [t for t in fig.findobj(Text)
             if t.get_visible() and t.get_text().strip() and (t.axes is None or t.axes.get_visible())]
    if not texts:
        return
    dpi = fig.dpi
    smallest = min(texts, key=lambda t: t.get_fontsize())
    width = fig.get_tightbbox(renderer).width * dpi  # inches -> pixels of the saved image (bbox_inches="tight")
    try:  # the cell that drew it, for the test's message
        from IPython import get_ipython
        cell = get_ipython().execution_count
    except (ImportError, AttributeError):
        cell = None
    line = dict(cell=cell, figure=fig.number, dpi=dpi, width_px=width, min_text_px=smallest.get_fontsize() * dpi / 72,
                text=smallest.get_text()[:40])
    with open(path, "a") as f:
        f.write(json.dumps(line) + "\n")


def install(fig):
    """``figure.hooks`` entry: record the figure's smallest text at each draw."""
    fig.canvas.mpl_connect("draw_event", lambda event: _record(fig, event.renderer))
