"""Sphinx extension of the mag_ml book: keep the rendered pages offline.

Notebook outputs are rendered verbatim. Matplotlib's ``FuncAnimation.to_jshtml()``
(the book's "plays without a kernel" element) embeds a stylesheet link to
Font Awesome 4.4 on maxcdn.bootstrapcdn.com for its button icons. The theme
(pydata-sphinx-theme) already ships Font Awesome locally and draws the same
``fa fa-*`` icons, so the CDN link is removed from every page body here.

Jupyter Book 1.0.4 registers sphinx-thebe's inline configuration script twice
(``const THEBE_JS_URL = ...``), a JavaScript error on every page; duplicate
scripts are dropped here.

Any other external stylesheet, script, image or frame left in a page body is
reported as a Sphinx warning (an error under ``jupyter-book build -W``), so a
chapter cannot silently make the book depend on the network.

Downloads: the theme's download menu offers each chapter's executed notebook
(``_sources/``, the notebook the page was rendered from); this extension adds
the chapter's source notebook without outputs, copied from the folder named by
the ``mag_ml_clean_sources`` setting (relative to the source folder) into
``_downloads/source/``.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from sphinx.util import logging

__all__ = ["setup"]

#: ``<link ... href="http(s)://...font-awesome...">`` written by matplotlib's HTMLWriter.
_FONT_AWESOME_CDN = re.compile(
    r"<link\b[^>]*\bhref=[\"']https?://[^\"']*font-?awesome[^\"']*[\"'][^>]*>\s*",
    re.IGNORECASE,
)

#: Elements that make the browser fetch a URL as soon as the page loads.
_EXTERNAL_FETCH = re.compile(
    r"<(script|img|iframe|source|video|audio|embed)\b[^>]*\bsrc=[\"'](?:https?:)?//[^\"']+[\"']"
    r"|<link\b[^>]*\bhref=[\"'](?:https?:)?//[^\"']+[\"']",
    re.IGNORECASE,
)

_LOGGER = logging.getLogger(__name__)


def _script_key(script):
    attributes = getattr(script, "attributes", {}) or {}
    filename = getattr(script, "filename", script) or ""  # None and "" both mean inline
    return (str(filename), str(attributes.get("body", "")))


def _make_offline(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if scripts:
        seen, unique = set(), []
        for script in scripts:
            key = _script_key(script)
            if key not in seen:
                seen.add(key)
                unique.append(script)
        scripts[:] = unique
    body = context.get("body")
    if not body:
        return
    body = _FONT_AWESOME_CDN.sub("", body)
    context["body"] = body
    for match in _EXTERNAL_FETCH.finditer(body):
        snippet = match.group(0)[:160]
        _LOGGER.warning(
            "page %r loads an external resource (the book must render offline): %s",
            pagename,
            snippet,
            location=pagename,
        )


_CLEAN = "_downloads/source"


def _clean_source(app, docname):
    """The output-free source notebook of ``docname``, or None."""
    if not app.config.mag_ml_clean_sources:
        return None
    path = Path(app.srcdir, app.config.mag_ml_clean_sources, Path(docname).name + ".ipynb").resolve()
    return path if path.is_file() else None


def _add_source_download(app, pagename, templatename, context, doctree):
    source = _clean_source(app, pagename)
    if source is None:
        return
    for group in context.get("header_buttons", []):
        if group.get("label") == "download-buttons":
            group["buttons"].insert(1, {
                "type": "link", "url": f"{context['pathto'](_CLEAN, 1)}/{source.name}",
                "text": ".ipynb (source, no outputs)", "icon": "fas fa-book",
                "tooltip": "Download the chapter's notebook without outputs", "label": "download-clean-button"})
            for b in group["buttons"]:
                if b.get("label") == "download-notebook-button":
                    b["text"] = ".ipynb (executed)"


def _copy_clean_sources(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir, _CLEAN)
    for docname in app.env.found_docs:
        source = _clean_source(app, docname)
        if source is not None:
            out.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, out / source.name)


def setup(app):
    app.add_config_value("mag_ml_clean_sources", "", "html")
    app.connect("html-page-context", _make_offline)
    app.connect("html-page-context", _add_source_download, priority=600)  # after the theme's buttons (501)
    app.connect("build-finished", _copy_clean_sources)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
