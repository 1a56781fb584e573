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
"""

from __future__ import annotations

import re

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


def setup(app):
    app.connect("html-page-context", _make_offline)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
