"""The user guide and the front page read as formulas, not LaTeX, with no network at all.

The site is built from a copy of ``docs/source`` and ``examples/`` (the real ``conf.py``, so the real
math renderer: MathJax 3 from the ``sphinx-mathjax-offline`` package, served from the site's
``_static``), without executing the gallery (``plot_gallery=0``: the guide pages do not show its
figures) and without the API reference (``api/**`` excluded: it is not what this test reads, and
autodoc over every package would triple the build time). Nothing is written into the repository.

Each guide page and the index is then opened from disk (``file://``, as ``make docs`` says to open
it) in headless Chromium with every non-local request refused (``offline_page`` in
``tests/conftest.py``), and must show typeset math: every math element holds a MathJax container,
none is a MathJax error, no LaTeX source is left in the visible text, MathJax's fonts load, no
request was refused and no local file was missing, and display formulas sit in the middle of the
text column.
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "docs" / "source"
PAGES = ["index"] + [f"guide/{p.stem}" for p in sorted((SOURCE / "guide").glob("*.rst"))]
GENERATED = ("api", "auto_examples", "sg_execution_times.rst", "_build")   # written by a build, not sources

#: what LaTeX source looks like when nothing typeset it
RAW_TEX = re.compile(r"\\(?:[a-zA-Z]+|\[|\]|\(|\)|\{|\})|\$\$")


def _require(module: str):
    """Import ``module`` or skip; where the browser tests must run (CI), a missing package fails."""
    if os.environ.get("CHAINRULE_REQUIRE_BROWSER") == "1":
        __import__(module)
        return
    pytest.importorskip(module)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The built HTML of the guide and the index (a copy of the sources, built in a temporary folder)."""
    for module in ("sphinx", "sphinx_gallery", "numpydoc", "pydata_sphinx_theme", "sphinx-mathjax-offline"):
        _require(module)
    work = tmp_path_factory.mktemp("docs")
    src = work / "docs" / "source"          # _gallery.py finds examples/ two folders up, as in the repository
    shutil.copytree(SOURCE, src, ignore=lambda d, names: [n for n in names if n in GENERATED])
    shutil.copytree(ROOT / "examples", work / "examples")
    out = work / "html"
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-D", "plot_gallery=0",
           "-D", "exclude_patterns=_build,api/**,**.ipynb_checkpoints", str(src), str(out)]
    env = dict(os.environ, MPLBACKEND="Agg")
    done = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"sphinx failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return out


def test_the_site_serves_its_own_math_renderer(site):
    assert (site / "_static" / "mathjax" / "tex-chtml.js").is_file()
    assert list((site / "_static" / "mathjax" / "output" / "chtml" / "fonts").rglob("*.woff"))
    html = (site / "guide" / "losses.html").read_text(encoding="utf-8")
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', html)
    assert "../_static/mathjax/tex-chtml.js" in scripts
    assert not [s for s in scripts if s.startswith(("http:", "https:", "//"))], scripts


_READ_PAGE = """() => {
    const maths = [...document.querySelectorAll('span.math, div.math')];
    const displays = [...document.querySelectorAll('div.math')].filter(d => !d.querySelector('span.eqno'));
    const offCentre = [];
    for (const d of displays) {
        const m = d.querySelector('mjx-container > mjx-math');
        if (!m) continue;
        const box = d.getBoundingClientRect(), r = m.getBoundingClientRect();
        if (r.width >= box.width - 2) continue;          // as wide as the column: scrolls, cannot be centred
        const shift = (r.left + r.right) / 2 - (box.left + box.right) / 2;
        if (Math.abs(shift) > 2) offCentre.push(Math.round(shift));
    }
    const main = document.querySelector('main') || document.body;
    return {
        math: maths.length,
        typeset: maths.filter(e => e.querySelector('mjx-container')).length,
        errors: document.querySelectorAll('mjx-merror').length,
        displays: displays.length,
        offCentre: offCentre,
        text: main.innerText,
        fonts: [...document.fonts].filter(f => f.family.startsWith('MJX')).map(f => f.status),
    };
}"""


@pytest.mark.parametrize("page", PAGES)
def test_page_shows_formulas_offline(site, offline_page, page):
    failed = []
    offline_page.on("requestfailed", lambda r: failed.append(r.url))
    offline_page.goto((site / f"{page}.html").as_uri())       # returns after the load event: deferred
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
    if has_math:
        assert "loaded" in seen["fonts"], f"{page}: MathJax's fonts did not load: {seen['fonts']}"
        assert "error" not in seen["fonts"]


def test_the_pages_read_carry_the_guide_s_formulas(site):
    """The checks above could pass on pages without math: these pages hold the guide's formulas."""
    html = "".join((site / f"{page}.html").read_text(encoding="utf-8") for page in PAGES)
    assert html.count('<div class="math notranslate nohighlight"') >= 30      # 32 display formulas
    assert html.count('<span class="math notranslate nohighlight"') >= 120    # and 136 inline ones
