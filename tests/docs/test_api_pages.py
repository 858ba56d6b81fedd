"""The API reference's pages, as built (``docs_site``, tests/docs/conftest.py): a class's page
documents its own members and links once to the public base class that documents the rest;
signatures read as the source writes them; titles fit the page.

docs/source/api_stubs.py writes the pages; these tests read the HTML Sphinx made of them.
"""
import re
import sys
from pathlib import Path

import pytest

from chainrule import nn

SOURCE = Path(__file__).resolve().parents[2] / "docs" / "source"
sys.path.insert(0, str(SOURCE))
try:
    import api_stubs
    from api_pages import PACKAGES, public_names
finally:
    sys.path.remove(str(SOURCE))

PUBLIC = api_stubs.public_classes([m for m, _, _ in PACKAGES], public_names)
#: builds the site (tests/docs/conftest.py): 10 s of CPU, 20 to 45 s on this busy 2-core machine
SLOW = pytest.mark.slow


def _page(site, fullname) -> str:
    return (site / "api" / "generated" / f"{fullname}.html").read_text(encoding="utf-8")


def _documented(html, fullname) -> set[str]:
    """The members the page documents (the ids of their entries)."""
    return set(re.findall(rf'<dt class="sig[^"]*" id="{re.escape(fullname)}\.(\w+)"', html))


def _page_toc(html) -> list[str]:
    """The entries of the page's "On this page" list."""
    nav = html[html.index('id="pst-page-toc-nav"') if 'id="pst-page-toc-nav"' in html else html.index("page-toc"):]
    nav = nav[:nav.index("</nav>")]
    return re.findall(r'<a class="reference internal nav-link" href="#([^"]+)"', nav)


@SLOW
def test_a_layer_documents_its_own_members_and_links_the_inherited_once(docs_site):
    html = _page(docs_site, "chainrule.nn.Linear")
    own = _documented(html, "chainrule.nn.Linear")
    assert {"forward", "backward", "reset_parameters", "get_config"} <= own
    assert not own & {"parameters", "zero_grad", "state_dict", "train", "eval", "named_parameters"}
    toc = _page_toc(html)
    assert "chainrule.nn.Linear.forward" in toc and len(toc) <= 12, toc      # was about 30
    for member in ("parameters", "zero_grad", "state_dict", "named_parameters", "train"):
        link = f'href="chainrule.nn.Module.html#chainrule.nn.Module.{member}"'
        assert html.count(link) == 1, member                                   # linked once
    assert 'href="chainrule.nn.Module.html#chainrule.nn.Module"' in html       # "Bases: Module", linked


@SLOW
def test_the_base_class_documents_what_its_private_helpers_define(docs_site):
    """``state_dict`` and ``summary`` live in private helper classes of ``nn.Module``: its page is
    where they are documented, so the layers' links land somewhere."""
    own = _documented(_page(docs_site, "chainrule.nn.Module"), "chainrule.nn.Module")
    assert {"parameters", "zero_grad", "state_dict", "load_state_dict", "summary", "train"} <= own


@SLOW
def test_no_layer_repeats_what_module_documents(docs_site):
    module_members = _documented(_page(docs_site, "chainrule.nn.Module"), "chainrule.nn.Module")
    for name in nn.__all__:
        cls = getattr(nn, name)
        if not (isinstance(cls, type) and issubclass(cls, nn.Module) and cls is not nn.Module):
            continue
        fullname = f"chainrule.nn.{name}"
        # a member the layer (or a private class of its own) overrides is its own
        repeated = {m for m in _documented(_page(docs_site, fullname), fullname) & module_members
                    if next(k for k in cls.__mro__ if m in vars(k)) in nn.Module.__mro__}
        assert not repeated, f"{fullname} repeats {sorted(repeated)}"


def test_an_estimator_documents_the_methods_it_gets_from_private_classes():
    """MLPClassifier has no public chainrule base: its page documents fit, predict, partial_fit...
    which it gets from private classes (scikit-learn's get_params is left to scikit-learn,
    conf.py's ``_skip_foreign_members``)."""
    from chainrule.models import MLPClassifier
    page = api_stubs.class_page("chainrule.models.MLPClassifier", MLPClassifier, PUBLIC)
    assert "   :inherited-members:\n" in page and "Inherited from" not in page


@SLOW
def test_signatures_show_defaults_as_written(docs_site):
    pages = list((docs_site / "api" / "generated").glob("*.html"))
    assert len(pages) > 20
    evaluated = [p.name for p in pages if "&lt;class &#39;" in p.read_text(encoding="utf-8")]
    assert evaluated == [], f"signatures with an evaluated default (<class '...'>): {evaluated}"
    assert "np.float32" in _page(docs_site, "chainrule.nn.Linear")


def test_inherited_links_name_the_documenting_class():
    """Unit check of the rule: a member defined by a private helper of a public base links to the
    most basic public class that has it (Sequential's state_dict is documented on Module)."""
    links = api_stubs.inherited_links(nn.Sequential, PUBLIC)
    assert list(links) == ["chainrule.nn.Module"]
    names = dict(links["chainrule.nn.Module"])
    assert names["state_dict"] == "meth" and names["dtype"] == "attr" and "forward" not in names
    assert api_stubs.inherited_links(nn.Module, PUBLIC) == {}


def _longest_names(site, n=6) -> list[Path]:
    """The API pages whose title or previous/next link is longest (where overflow would show)."""
    def longest(path):
        html = path.read_text(encoding="utf-8")
        texts = re.findall(r"<h1>(.*?)<", html) + re.findall(r'class="prev-next-title">(.*?)</p>', html, re.S)
        return max((len(re.sub(r"<[^>]+>", "", t)) for t in texts), default=0)
    return sorted((site / "api").rglob("*.html"), key=longest, reverse=True)[:n]


@SLOW
def test_titles_fit_the_page(docs_site, offline_page):
    """The pages with the longest names, at a desktop's width (three columns) and a narrow one."""
    offline_page.route("**/*.js", lambda route: route.abort())     # layout only: the stylesheets suffice
    pages = _longest_names(docs_site)
    assert "chainrule.regularizers.add_penalty_gradients.html" in [p.name for p in pages]
    overflowing = []
    for width in (1280, 800):
        offline_page.set_viewport_size({"width": width, "height": 900})
        for path in pages:
            offline_page.goto(path.as_uri())
            wide = offline_page.evaluate("""() => [...document.querySelectorAll('.bd-article h1, .prev-next-title')]
                .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent.trim())""")
            overflowing += [f"{width} px, {path.name}: {t}" for t in wide]
    assert overflowing == []
