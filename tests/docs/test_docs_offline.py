"""The user guide and the front page read as formulas, not LaTeX, with no network at all.

The site is ``docs_site`` (tests/docs/conftest.py): built from a copy of the sources with the real
``conf.py``, so the real math renderer, MathJax 3 from the ``sphinx-mathjax-offline`` package,
served from the site's ``_static``.

Each guide page and the index is then opened from disk (``file://``, as ``make docs`` says to open
it) in headless Chromium with every non-local request refused (``offline_page`` in
``tests/conftest.py``), and must show typeset math: every math element holds a MathJax container,
none is a MathJax error, no LaTeX source is left in the visible text, MathJax's fonts load, no
request was refused and no local file was missing, display formulas sit in the middle of the
text column, and no formula or table is wider than the column (at 1280 px: it would scroll).
"""
import re
from pathlib import Path

import pytest

#: builds the site (tests/docs/conftest.py): 10 s of CPU, 20 to 45 s on this busy 2-core machine
SLOW = pytest.mark.slow

SOURCE = Path(__file__).resolve().parents[2] / "docs" / "source"
PAGES = ["index"] + [f"guide/{p.stem}" for p in sorted((SOURCE / "guide").glob("*.rst"))]

#: what LaTeX source looks like when nothing typeset it
RAW_TEX = re.compile(r"\\(?:[a-zA-Z]+|\[|\]|\(|\)|\{|\})|\$\$")


@SLOW
def test_the_site_serves_its_own_math_renderer(docs_site):
    assert (docs_site / "_static" / "mathjax" / "tex-chtml.js").is_file()
    assert list((docs_site / "_static" / "mathjax" / "output" / "chtml" / "fonts").rglob("*.woff"))
    html = (docs_site / "guide" / "losses.html").read_text(encoding="utf-8")
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', html)
    assert "../_static/mathjax/tex-chtml.js" in scripts
    assert not [s for s in scripts if s.startswith(("http:", "https:", "//"))], scripts


_READ_PAGE = """() => {
    const maths = [...document.querySelectorAll('span.math, div.math')];
    const displays = [...document.querySelectorAll('div.math')].filter(d => !d.querySelector('span.eqno'));
    const offCentre = [], tooWide = [];
    for (const d of displays) {
        const m = d.querySelector('mjx-container > mjx-math');
        if (!m) continue;
        const box = d.getBoundingClientRect(), r = m.getBoundingClientRect();
        if (r.width > box.width + 1) { tooWide.push((d.textContent || '').slice(0, 60)); continue; }   // would scroll
        if (r.width >= box.width - 2) continue;
        const shift = (r.left + r.right) / 2 - (box.left + box.right) / 2;
        if (Math.abs(shift) > 2) offCentre.push(Math.round(shift));
    }
    for (const t of document.querySelectorAll('.bd-article table')) {
        const w = t.parentElement;
        if (w.scrollWidth > w.clientWidth + 1) tooWide.push('table: ' + t.textContent.trim().slice(0, 40));
    }
    const main = document.querySelector('main') || document.body;
    return {
        math: maths.length,
        typeset: maths.filter(e => e.querySelector('mjx-container')).length,
        errors: document.querySelectorAll('mjx-merror').length,
        displays: displays.length,
        offCentre: offCentre,
        tooWide: tooWide,
        text: main.innerText,
        fonts: [...document.fonts].filter(f => f.family.startsWith('MJX')).map(f => f.status),
    };
}"""


@SLOW
@pytest.mark.parametrize("page", PAGES)
def test_page_shows_formulas_offline(docs_site, offline_page, page):
    failed = []
    offline_page.on("requestfailed", lambda r: failed.append(r.url))
    offline_page.goto((docs_site / f"{page}.html").as_uri())       # returns after the load event: deferred
    has_math = offline_page.evaluate("() => document.querySelectorAll('span.math, div.math').length") > 0
    loaded = offline_page.evaluate("() => typeof window.MathJax === 'object'")   # scripts have run by now
    if has_math and loaded:
        offline_page.wait_for_function("() => MathJax.startup && MathJax.startup.promise", timeout=30_000)
        offline_page.evaluate("() => MathJax.startup.promise")      # resolves once the page is typeset
    seen = offline_page.evaluate(_READ_PAGE)

    assert offline_page.refused == [], f"{page}: requests to the network: {offline_page.refused}"
    assert loaded or not has_math, f"{page}: MathJax did not load"
    assert failed == [], f"{page}: local files that did not load: {failed}"
    raw = sorted(set(RAW_TEX.findall(seen["text"])))
    assert raw == [], f"{page}: LaTeX source left in the visible text: {raw}"
    assert seen["typeset"] == seen["math"], f"{page}: {seen['math'] - seen['typeset']} formulas not typeset"
    assert seen["errors"] == 0, f"{page}: {seen['errors']} formulas MathJax could not read"
    assert seen["offCentre"] == [], f"{page}: display formulas off centre by {seen['offCentre']} px"
    assert seen["tooWide"] == [], f"{page}: wider than the text column (they scroll): {seen['tooWide']}"
    if has_math:
        assert "loaded" in seen["fonts"], f"{page}: MathJax's fonts did not load: {seen['fonts']}"
        assert "error" not in seen["fonts"]


@SLOW
def test_the_pages_read_carry_the_guide_s_formulas(docs_site):
    """The checks above could pass on pages without math: these pages hold the guide's formulas."""
    html = "".join((docs_site / f"{page}.html").read_text(encoding="utf-8") for page in PAGES)
    assert html.count('<div class="math notranslate nohighlight"') >= 30      # 32 display formulas
    assert html.count('<span class="math notranslate nohighlight"') >= 120    # and 136 inline ones
