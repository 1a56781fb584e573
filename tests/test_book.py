"""Rendered-page tests: the built book (``_build/html``, from ``make book``) opened in
headless Chromium shows every chapter's figures, typeset equations and offline
interactive elements, with no request leaving the machine.

The pages and chapters are read from ``_toc.yml``. A screenshot of each page is
written to ``_build/screenshots/`` for humans. Without a build (or without
Chromium) the tests skip, except under ``CI`` where that is a failure.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

try:  # tests/ as a plain folder (pytest's default "prepend" import mode) or as a package
    from book_toc import CHAPTER_RE, ROOT, require, toc_chapters, toc_pages
except ImportError:  # pragma: no cover
    from .book_toc import CHAPTER_RE, ROOT, require, toc_chapters, toc_pages

pytestmark = pytest.mark.browser

HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_SCHEMES = {"file", "data", "blob", "about"}
# Written by book/_ext/figure_log.py while `make book` executes each chapter: one line per figure drawn.
FIGURE_LOGS = ROOT / "_build" / "executed" / ".figures"
MIN_TEXT_PX = 9.0  # the smallest text a figure may show on the 1280 px page
PAGES = toc_pages()
CHAPTERS = toc_chapters()

def test_toc_lists_chapters():
    assert PAGES[0] == "book/intro", f"_toc.yml root should be book/intro, got {PAGES[0]!r}"
    assert CHAPTERS, "_toc.yml lists no book/NN_*.ipynb chapter"
    for chapter in CHAPTERS:
        assert (ROOT / f"{chapter}.ipynb").is_file(), f"{chapter}.ipynb is in _toc.yml but missing"


# Elements whose URL the browser fetches while the page loads (not plain <a href> links).
_FETCHING = re.compile(
    r"<(?:script|img|iframe|source|video|audio|embed)\b[^>]*\bsrc=[\"']([^\"']+)[\"']"
    r"|<link\b[^>]*\bhref=[\"']([^\"']+)[\"']",
    re.IGNORECASE,
)


def test_built_pages_reference_only_local_files():
    """Static check of every built page: no script, stylesheet, image or frame is remote."""
    require(HTML.joinpath("index.html").is_file(), f"no built book at {HTML} (run `make book`)")
    remote = []
    for page in sorted(HTML.rglob("*.html")):
        for match in _FETCHING.finditer(page.read_text(errors="replace")):
            url = match.group(1) or match.group(2)
            if re.match(r"^(?:https?:)?//", url):
                remote.append(f"{page.relative_to(HTML)}: {url}")
    assert not remote, "pages load remote resources:\n" + "\n".join(remote)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_offers_its_notebooks_for_download(chapter):
    """Each chapter page links its output-free source and its executed notebook, and both files are there."""
    import nbformat

    page = HTML / f"{chapter}.html"
    require(page.is_file(), f"no built page {page} (run `make book`)")
    html = page.read_text(errors="replace")
    name = Path(chapter).name + ".ipynb"
    clean = re.search(r'href="([^"]*_downloads/source/' + re.escape(name) + ')"', html)
    executed = re.search(r'href="([^"]*_sources/' + re.escape(chapter) + r'\.ipynb)"', html)
    assert clean and executed, f"{chapter}: download links missing (source {bool(clean)}, executed {bool(executed)})"
    clean_nb = nbformat.read((page.parent / clean.group(1)).resolve(), as_version=4)
    executed_nb = nbformat.read((page.parent / executed.group(1)).resolve(), as_version=4)
    code = [c for c in clean_nb.cells if c.cell_type == "code"]
    assert code and not any(c.outputs for c in code), f"{chapter}: the source download carries outputs"
    assert any(c.outputs for c in executed_nb.cells if c.cell_type == "code"), f"{chapter}: executed has no outputs"


@pytest.mark.parametrize("page_name", PAGES)
def test_pages_show_no_progress_bars(page_name):
    """Build-time progress bars (tqdm's "NN%|...| n/m") never reach a rendered page (they go to the terminal)."""
    page = HTML / f"{page_name}.html"
    require(page.is_file(), f"no built page {page} (run `make book`)")
    text = re.sub(r"<[^>]+>", " ", page.read_text(errors="replace"))
    bars = re.findall(r"\d{1,3}%\|[^|\n]{0,80}\|\s*\d+/\d+", text)
    assert not bars, f"{page_name}: progress bar text on the page: {bars[:3]}"


@pytest.fixture(scope="module")
def browser():
    require(HTML.joinpath("index.html").is_file(), f"no built book at {HTML} (run `make book`)")
    require(CHROMIUM.is_file(), f"{CHROMIUM} missing (apt-get install -y chromium, or `make venv` as root)")
    from playwright.sync_api import sync_playwright

    # playwright gives the browser a fresh temporary profile (no --user-data-dir here).
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class PageReport:
    """What happened while one page loaded."""

    def __init__(self):
        self.external: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []


def _open(browser, page_name: str):
    """Load ``page_name`` from the build, wait for MathJax, widgets and images."""
    path = HTML / f"{page_name}.html"
    assert path.is_file(), f"{page_name} is in _toc.yml but {path} was not built"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    report = PageReport()

    def route(route):
        url = route.request.url
        if urlparse(url).scheme in LOCAL_SCHEMES:
            route.continue_()
        else:
            report.external.append(url)
            route.abort()

    page.route("**/*", route)
    page.on("requestfailed", lambda r: report.failed.append(f"{r.url} ({r.failure})"))
    page.on("pageerror", lambda e: report.errors.append(str(e)))
    page.goto(path.as_uri(), wait_until="load")
    # MathJax 3 (loaded by Sphinx on pages with math) typesets after load; its startup
    # promise resolves when done.
    if page.locator(".math").count():
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=30_000)
        page.evaluate("() => MathJax.startup.promise")
    # Widgets: the embed manager replaces each view script by a rendered view.
    n_views = page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count()
    if n_views:
        page.wait_for_function(
            "() => document.querySelectorAll('.jupyter-widgets, .widget-container, [class*=\"widget-\"]').length > 0",
            timeout=30_000,
        )
    # Load lazy images now, then wait for every image to finish.
    page.evaluate(
        """() => Promise.all([...document.images].map(img => {
               img.loading = 'eager';
               return img.complete ? null : new Promise(r => { img.onload = img.onerror = r; });
           }))"""
    )
    return context, page, report, n_views


def _screenshot(page, page_name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / (page_name.replace("/", "__") + ".png")), full_page=True)


@pytest.mark.parametrize("page_name", PAGES)
def test_page_renders_offline(browser, page_name):
    context, page, report, n_views = _open(browser, page_name)
    try:
        _screenshot(page, page_name)
        assert not report.external, f"{page_name}: requests left the machine: {report.external}"
        assert not report.failed, f"{page_name}: local requests failed: {report.failed}"
        assert not report.errors, f"{page_name}: JavaScript errors: {report.errors}"

        broken = page.evaluate(
            "() => [...document.images].filter(i => !(i.complete && i.naturalWidth > 0))"
            ".map(i => i.src.slice(0, 120))"
        )
        assert not broken, f"{page_name}: images did not load: {broken}"

        # Equations: every math node typeset by MathJax, no raw TeX delimiters in the text.
        n_math = page.locator(".math").count()
        n_typeset = page.locator("mjx-container").count()
        assert n_math > 0, f"{page_name}: no equation on the page"
        assert n_typeset >= n_math, f"{page_name}: {n_math} math nodes but {n_typeset} typeset"
        prose = page.evaluate(
            """() => {
                const main = document.querySelector('article') || document.body;
                const copy = main.cloneNode(true);
                copy.querySelectorAll('pre, code, script, style, mjx-container, .cell_input')
                    .forEach(e => e.remove());
                return copy.innerText;
            }"""
        )
        for raw in ("$$", "\\[", "\\(", "\\begin{"):
            assert raw not in prose, f"{page_name}: raw TeX {raw!r} left on the page"
        raw_rows = re.findall(r"^\|.*\|$", prose, flags=re.M)
        assert not raw_rows, f"{page_name}: Markdown table rows left unrendered: {raw_rows[:2]}"

        if CHAPTER_RE.match(page_name):
            n_figures = page.evaluate(
                "() => [...document.querySelectorAll('.cell_output img, .output img')]"
                ".filter(i => i.naturalWidth > 0).length"
            )
            assert n_figures > 0, f"{page_name}: no figure in the cell outputs"
            n_animations = page.locator(".animation input[type=range]").count()
            n_widgets = page.locator(".jupyter-widgets, .widget-container").count()
            assert n_animations + n_widgets > 0, (
                f"{page_name}: no offline interactive element (jshtml animation or rendered widget)"
            )
            if n_views:
                assert n_widgets > 0, f"{page_name}: {n_views} widget views stored but none rendered"
    finally:
        context.close()


@pytest.mark.parametrize("page_name", CHAPTERS)
def test_animation_slider_changes_frame(browser, page_name):
    """A jshtml animation moves without a kernel: setting the slider shows another frame."""
    context, page, report, _ = _open(browser, page_name)
    try:
        sliders = page.locator(".animation input[type=range]")
        if sliders.count() == 0:
            pytest.skip(f"{page_name} has no jshtml animation")
        for i in range(sliders.count()):
            slider = sliders.nth(i)
            anim = slider.locator("xpath=ancestor::div[contains(@class, 'animation')][1]")
            img = anim.locator("img").first
            before = img.get_attribute("src")
            maximum = slider.get_attribute("max")
            slider.evaluate(
                "(s, v) => { s.value = v; s.dispatchEvent(new Event('input', {bubbles: true})); }", maximum
            )
            after = img.get_attribute("src")
            assert after and after != before, f"{page_name}: animation {i} did not change frame"
        assert not report.errors, f"{page_name}: JavaScript errors: {report.errors}"
    finally:
        context.close()


# Every control of a rendered widget: inside the box that lays it out, no readout or label cut, no two
# controls of one box on top of each other.
_CONTROL_CHECK = """() => {
  const sel = '.widget-inline-hbox, .widget-button, .widget-readout, .widget-label, .widget-text, .widget-dropdown';
  const boxOf = el => el.parentElement && el.parentElement.closest('.widget-gridbox, .widget-box, .widget-container');
  const name = el => (el.className + ' ' + (el.textContent || '').trim()).slice(0, 80);
  const bad = [];
  const controls = [...document.querySelectorAll(sel)].filter(el => el.getClientRects().length);
  for (const el of controls) {
    const box = boxOf(el);
    if (!box) continue;
    const r = el.getBoundingClientRect(), b = box.getBoundingClientRect();
    if (r.left < b.left - 1 || r.right > b.right + 1 || r.top < b.top - 1 || r.bottom > b.bottom + 1)
      bad.push('outside its box: ' + name(el));
    if ((el.classList.contains('widget-readout') || el.classList.contains('widget-label'))
        && el.scrollWidth > el.clientWidth + 1)
      bad.push('text cut: ' + name(el));
  }
  const tops = controls.filter(el => el.classList.contains('widget-inline-hbox') || el.classList.contains('widget-button'));
  for (let i = 0; i < tops.length; i++) for (let j = i + 1; j < tops.length; j++) {
    const a = tops[i].getBoundingClientRect(), c = tops[j].getBoundingClientRect();
    const w = Math.min(a.right, c.right) - Math.max(a.left, c.left), h = Math.min(a.bottom, c.bottom) - Math.max(a.top, c.top);
    if (w > 1 && h > 1 && !tops[i].contains(tops[j]) && !tops[j].contains(tops[i]))
      bad.push('overlapping: ' + name(tops[i]) + ' / ' + name(tops[j]));
  }
  return bad;
}"""


@pytest.mark.parametrize("page_name", CHAPTERS)
def test_figures_are_readable_and_controls_fit(browser, page_name):
    """At 1280 px: every figure's smallest text, scaled as the page shows the image, is at least MIN_TEXT_PX
    (matplotlib's own font sizes at the saved dpi, logged by book/_ext/figure_log.py during the build); no widget
    control is clipped or hidden. Each figure and widget is screenshotted to _build/screenshots/<page>/."""
    log = FIGURE_LOGS / f"{Path(page_name).name}.jsonl"
    require(log.is_file(), f"no figure log {log} (run make book)")
    context, page, report, _ = _open(browser, page_name)
    try:
        width = page.evaluate("() => Math.max(0, ...[...document.querySelectorAll('.cell_output')]"
                              ".map(e => e.clientWidth))")
        assert width > 0, f"{page_name}: no cell output area"
        small = {}
        for entry in map(json.loads, log.read_text().splitlines()):
            shown = entry["min_text_px"] * min(1.0, width / entry["width_px"])
            if shown < MIN_TEXT_PX:
                small[f"cell {entry.get('cell')}: {entry['text']!r}"] = round(shown, 1)
        assert not small, f"{page_name}: figure text under {MIN_TEXT_PX} px at page width {width} px: {small}"
        clipped = page.evaluate(_CONTROL_CHECK)
        assert not clipped, f"{page_name}: widget controls clipped or hidden: {clipped[:5]}"
        folder = SCREENSHOTS / page_name.replace("/", "__")
        folder.mkdir(parents=True, exist_ok=True)
        page.add_style_tag(content=".bd-header, .skip-link { visibility: hidden !important; }")  # sticky header

        items = page.locator(".cell_output img:not(.animation img), .cell_output .widget-container.jupyter-widgets")
        for i in range(items.count()):
            item = items.nth(i)
            if item.is_visible():
                item.screenshot(path=str(folder / f"item_{i:02d}.png"))
    finally:
        context.close()
